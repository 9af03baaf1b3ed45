//! Starting, restarting and stopping the server process: what the first start creates, what a
//! restart keeps (the keys, and everything done since the `--users` import), refusals at start-up
//! (exit status 2, one line, no secret), the permissions of files holding secrets, SIGTERM. These
//! clauses are about the process and its files rather than any one endpoint.

use std::path::Path;

use serde_json::json;
use tokenward::store::UserStore;

use crate::client::{Client, tokens};
use crate::error_shapes::assert_oauth_error;
use crate::fixture::{Fixture, open_store};
use crate::server::{Server, Workdir};

pub async fn demo_user_on_first_start_and_keys_kept_across_restarts(bin: &Path) {
    let dir = Workdir::new();
    let args = vec![
        "--database-url".to_owned(),
        dir.sqlite_url(),
        "--issuer".to_owned(),
        crate::fixture::ISSUER.to_owned(),
        "--allow-insecure-http-issuer".to_owned(),
    ];
    let server = Server::start(bin, &args).await;
    let password = server
        .demo_password()
        .expect("the demo password is printed once");
    let client = Client::new(&server);
    let reply = client.password_grant("johndoe", &password, None).await;
    let first = tokens(reply);
    assert_eq!(first.body["scope"], "items:read items:write");
    assert!(
        dir.path("tokenward-key.json").exists(),
        "key file next to the database"
    );
    drop(server);

    let server = Server::start(bin, &args).await;
    assert_eq!(server.demo_password(), None, "no second demo user");
    let client = Client::new(&server);
    assert_eq!(
        client.get("/users/me", &first.access).await.status,
        200,
        "a restart keeps the keys, so tokens stay valid"
    );
    tokens(client.password_grant("johndoe", &password, None).await);
}

pub async fn startup_errors_exit_2_with_one_line(bin: &Path) {
    let dir = Workdir::new();
    let db = dir.sqlite_url();
    let missing = dir.path("missing.json").display().to_string();
    let exit = Server::refused(
        bin,
        &[
            "--database-url".into(),
            db.clone(),
            "--users".into(),
            missing.clone(),
        ],
    )
    .await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains(&missing), "{}", exit.stderr);
    assert_eq!(exit.stderr.trim().lines().count(), 1, "{}", exit.stderr);
    assert!(
        !dir.path("tokenward.db").exists(),
        "nothing written before the users file checks out"
    );

    let unknown = dir.path("unknown.json");
    std::fs::write(
        &unknown,
        r#"[{"username": "mallory", "password_hash": "{MD5}X03MO1qnZdYdgyfeuILPmQ=="}]"#,
    )
    .unwrap();
    let exit = Server::refused(
        bin,
        &[
            "--database-url".into(),
            db.clone(),
            "--users".into(),
            unknown.display().to_string(),
        ],
    )
    .await;
    assert_eq!(exit.code, Some(2));
    assert!(
        exit.stderr.contains("mallory"),
        "names the user: {}",
        exit.stderr
    );
    assert!(
        !exit.stderr.contains("X03MO1qnZdYdgyfeuILPmQ"),
        "never the hash"
    );
    assert!(!dir.path("tokenward.db").exists());

    let exit = Server::refused(bin, &["--access-ttl".into(), "soon".into()]).await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains("--access-ttl"), "{}", exit.stderr);

    let exit = Server::refused(
        bin,
        &[
            "--database-url".into(),
            "postgres://admin:hunter2@127.0.0.1:1/app".into(),
        ],
    )
    .await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains("127.0.0.1:1"), "{}", exit.stderr);
    assert!(
        !exit.stderr.contains("hunter2"),
        "password leaked: {}",
        exit.stderr
    );
    assert_eq!(exit.stderr.trim().lines().count(), 1, "{}", exit.stderr);

    let exit = Server::refused(
        bin,
        &["--database-url".into(), "mysql://localhost/db".into()],
    )
    .await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains("mysql://"), "{}", exit.stderr);

    let garbage_keys = dir.path("keys.json");
    std::fs::write(&garbage_keys, "{not json").unwrap();
    set_mode(&garbage_keys, 0o600);
    let exit = Server::refused(
        bin,
        &[
            "--database-url".into(),
            "memory:".into(),
            "--key-file".into(),
            garbage_keys.display().to_string(),
        ],
    )
    .await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains("keys.json"), "{}", exit.stderr);
    assert_eq!(
        std::fs::read_to_string(&garbage_keys).unwrap(),
        "{not json",
        "never replaced"
    );

    // Issue 27.10: a plain-http issuer off loopback, here or upstream, needs the explicit flag.
    for flag in ["--issuer", "--upstream-issuer"] {
        let mut args = vec![
            "--database-url".to_owned(),
            "memory:".to_owned(),
            flag.to_owned(),
            "http://auth.example".to_owned(),
        ];
        if flag == "--upstream-issuer" {
            args.extend(["--upstream-client-id".to_owned(), "here".to_owned()]);
        }
        let exit = Server::refused(bin, &args).await;
        assert_eq!(exit.code, Some(2), "{flag}");
        assert!(
            exit.stderr.contains("not loopback") && exit.stderr.contains(flag),
            "{flag}: {}",
            exit.stderr
        );
        assert_eq!(exit.stderr.trim().lines().count(), 1, "{}", exit.stderr);
    }
}

pub async fn graceful_shutdown_on_sigterm(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    assert_eq!(
        Client::new(&server).get_anonymous("/health").await.status,
        200
    );
    assert_eq!(server.terminate().await, Some(0), "clean exit on SIGTERM");
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

/// Issue #13.4: the SQLite database (password hashes) is created readable by its owner only, and
/// a key file others can read stops the start with a one-line error saying how to fix it.
pub async fn files_holding_secrets_are_private(bin: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    client.login(&fixture.alice).await;
    drop(server);
    for name in ["tokenward.db", "tokenward-key.json"] {
        let path = fixture.dir.path(name);
        let mode = std::fs::metadata(&path).expect(name).permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{name} has mode {mode:o}");
    }
    let key_file = fixture.dir.path("tokenward-key.json");
    set_mode(&key_file, 0o644);
    let exit = Server::refused(bin, &fixture.args(&[])).await;
    assert_eq!(exit.code, Some(2));
    assert!(
        exit.stderr.contains("chmod 600") && exit.stderr.trim().lines().count() == 1,
        "{}",
        exit.stderr
    );
}

/// Issue #13.1: a restart with the same `--users` file never undoes what happened since: a
/// password change, a hash upgrade at login, a disable.
pub async fn restart_with_the_users_file_undoes_nothing(bin: &Path) {
    let fixture = Fixture::new();
    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    // alice changes her password; bob's bcrypt hash is upgraded by his login; carol (disabled
    // in the file) is enabled and dave disabled by an operator.
    let alice = client.login(&fixture.alice).await;
    let changed = client
        .post_json(
            "/users/me/password",
            &alice.access,
            &json!({"current_password": fixture.alice.password,
                    "new_password": "alice's brand new passphrase"}),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text());
    client.login(&fixture.bob).await;
    drop(server);
    let store = open_store(&fixture).await;
    let bob_hash = store
        .find_by_username(&fixture.bob.username)
        .await
        .unwrap()
        .expect("bob")
        .password_hash;
    assert_eq!(
        bob_hash.format().to_string(),
        "argon2id",
        "upgraded at login"
    );
    let dave = store
        .find_by_username(&fixture.dave.username)
        .await
        .unwrap()
        .expect("dave");
    store.set_disabled(&dave.id, true).await.unwrap();
    drop(store);

    let server = fixture.start(bin, &[]).await;
    let client = Client::new(&server);
    assert_oauth_error(
        &client
            .password_grant(&fixture.alice.username, fixture.alice.password, None)
            .await,
        400,
        "invalid_grant",
        "alice's old password came back",
    );
    assert_eq!(
        client
            .password_grant(
                &fixture.alice.username,
                "alice's brand new passphrase",
                None
            )
            .await
            .status,
        200
    );
    assert_oauth_error(
        &client
            .password_grant(&fixture.dave.username, fixture.dave.password, None)
            .await,
        400,
        "invalid_grant",
        "dave was enabled again",
    );
    drop(server);
    let store = open_store(&fixture).await;
    let bob_after = store
        .find_by_username(&fixture.bob.username)
        .await
        .unwrap()
        .expect("bob");
    assert_eq!(
        bob_after.password_hash.expose_secret(),
        bob_hash.expose_secret(),
        "bob's upgraded hash was replaced by the file's bcrypt"
    );
}

/// Issue #13.1: two instances starting at once with the same `--users` file on one database end
/// with one row per user.
pub async fn two_instances_importing_at_once_make_one_row_per_user(bin: &Path) {
    let fixture = Fixture::new();
    let key_file = fixture.dir.path("shared-key.json").display().to_string();
    let args = fixture.args(&["--key-file", &key_file]);
    let (a, b) = tokio::join!(Server::start(bin, &args), Server::start(bin, &args));
    let (on_a, on_b) = (Client::new(&a), Client::new(&b));
    let pair = on_a.login(&fixture.alice).await;
    assert_eq!(on_b.get("/users/me", &pair.access).await.status, 200);
    drop((a, b));
    let store = open_store(&fixture).await;
    let users = store.list(None, 100).await.unwrap();
    let mut names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(users.len(), 4, "one row per user: {names:?}");
    assert_eq!(names.len(), 4);
}
