//! The `tokenward` binary, run as an operator would: exit status and message of every command's
//! success path and of its bad inputs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tokenward::clock::ManualClock;
use tokenward::keys::KeySet;
use tokenward::token::{Scopes, TokenCodec};

fn tokenward() -> Command {
    let mut command = Command::cargo_bin("tokenward").unwrap();
    command.env_remove("TOKENWARD_DATABASE_URL");
    command.env_remove("TOKENWARD_REDIS_URL");
    command
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

#[test]
fn help_on_every_command() {
    for args in [
        &["--help"][..],
        &["hash", "--help"],
        &["verify", "--help"],
        &["check-policy", "--help"],
        &["keygen", "--help"],
        &["keys", "rotate", "--help"],
        &["keys", "retire", "--help"],
        &["jwks", "--help"],
        &["token", "decode", "--help"],
        &["token", "verify", "--help"],
        &["users", "import", "--help"],
        &["users", "list", "--help"],
        &["users", "add", "--help"],
        &["users", "disable", "--help"],
        &["users", "enable", "--help"],
        &["users", "set-password", "--help"],
        &["users", "revoke-all", "--help"],
        &["users", "links", "--help"],
        &["users", "unlink", "--help"],
        &["clients", "--help"],
        &["clients", "add", "--help"],
        &["clients", "list", "--help"],
        &["clients", "remove", "--help"],
        &["clients", "rotate-secret", "--help"],
    ] {
        tokenward()
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage:"));
    }
    tokenward().arg("no-such-command").assert().code(2);
    tokenward()
        .args(["keygen", "--alg", "none", "--out", "x.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--alg"));
}

#[test]
fn hash_then_verify_and_policy() {
    let output = tokenward()
        .arg("hash")
        .write_stdin("correct horse battery staple\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let hash = String::from_utf8(output).unwrap().trim().to_owned();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );

    tokenward()
        .args(["verify", &hash])
        .write_stdin("correct horse battery staple\n")
        .assert()
        .success()
        .stdout("ok\n");
    tokenward()
        .args(["verify", &hash])
        .write_stdin("correct horse battery stapler\n")
        .assert()
        .code(1)
        .stdout("invalid\n");
    tokenward()
        .args(["--json", "verify", &hash])
        .write_stdin("correct horse battery staple")
        .assert()
        .success()
        .stdout(predicate::str::contains("\"needs_rehash\":false"));
    // A malformed hash is a usage error, and the hash is not echoed.
    tokenward()
        .args([
            "verify",
            "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        ])
        .write_stdin("pw\n")
        .assert()
        .code(2)
        .stderr(
            predicate::str::starts_with("error: HASH:")
                .and(predicate::str::contains("aGFzaGhhc2g").not()),
        );
    tokenward()
        .args(["verify", "plaintext"])
        .write_stdin("pw\n")
        .assert()
        .code(2);
    // A password containing NUL, or empty, is refused before hashing.
    tokenward()
        .arg("hash")
        .write_stdin("a\0b\n")
        .assert()
        .code(2);
    tokenward().arg("hash").write_stdin("\n").assert().code(2);

    tokenward()
        .args(["check-policy", "--username", "alice"])
        .write_stdin("a long and unusual passphrase\n")
        .assert()
        .success()
        .stdout("ok\n");
    tokenward()
        .args(["check-policy", "--username", "alice"])
        .write_stdin("password\n")
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("rejected:"));
    tokenward()
        .args(["check-policy", "--username", "alice-in-wonderland"])
        .write_stdin("alice-in-wonderland\n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("username"));
}

#[test]
fn python_made_hashes_verify() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/password_vectors.json");
    let vectors = json_of(&std::fs::read(path).unwrap());
    let vectors = vectors["vectors"]
        .as_array()
        .or(vectors.as_array())
        .unwrap()
        .clone();
    assert!(vectors.len() >= 20);
    for vector in vectors {
        let hash = vector["hash"].as_str().unwrap();
        let password = vector["password"].as_str().unwrap();
        let right = tokenward()
            .args(["verify", hash])
            .write_stdin(format!("{password}\n"))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let right = String::from_utf8(right).unwrap();
        assert!(
            right == "ok\n" || right == "ok (needs rehash)\n",
            "{hash}: {right}"
        );
        // Anything but argon2id v0x13 is upgraded on login (weaker argon2id too, but these
        // vectors use parameters at least as strong as the defaults).
        if !hash.starts_with("$argon2id$v=19$") {
            assert_eq!(right, "ok (needs rehash)\n", "{hash}");
        }
        let wrong = vector["wrong_password"].as_str().unwrap();
        tokenward()
            .args(["verify", hash])
            .write_stdin(format!("{wrong}\n"))
            .assert()
            .code(1)
            .stdout("invalid\n");
    }
}

fn key_file(dir: &Path, alg: &str) -> PathBuf {
    let path = dir.join(format!("{alg}.json"));
    tokenward()
        .args(["keygen", "--alg", alg, "--out"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains(alg));
    path
}

fn sign(keys: &Path, iss: &str, aud: &str, offset: time::Duration) -> String {
    let keys = KeySet::load(keys).unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc() + offset));
    let codec = TokenCodec::builder(keys, iss, aud)
        .clock(clock)
        .build()
        .unwrap();
    let issued = codec
        .issue_access("user-1", &Scopes::parse("items:read").unwrap(), "session-1")
        .unwrap();
    secrecy::ExposeSecret::expose_secret(&issued.token).to_owned()
}

fn verify_token(token: &str, keys: &Path) -> assert_cmd::assert::Assert {
    tokenward()
        .args([
            "token",
            "verify",
            token,
            "--iss",
            "https://auth",
            "--aud",
            "api",
            "--keys",
        ])
        .arg(keys)
        .assert()
}

#[test]
fn keygen_token_verify_rotate_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let keys = key_file(dir.path(), "EdDSA");
    tokenward()
        .args(["keygen", "--alg", "EdDSA", "--out"])
        .arg(&keys)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists"));

    let first = sign(&keys, "https://auth", "api", time::Duration::ZERO);
    verify_token(&first, &keys).success().stdout(
        predicate::str::starts_with("valid").and(predicate::str::contains("\"sub\": \"user-1\"")),
    );

    let rotated = tokenward()
        .args(["--json", "keys", "rotate"])
        .arg(&keys)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rotated = json_of(&rotated);
    let old_kid = rotated["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .find(|k| k != rotated["active"].as_str().unwrap())
        .unwrap();
    verify_token(&first, &keys).success();
    let second = sign(&keys, "https://auth", "api", time::Duration::ZERO);
    verify_token(&second, &keys).success();

    let jwks = tokenward()
        .arg("jwks")
        .arg(&keys)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let jwks = json_of(&jwks);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private key in the JWKS"
    );

    let active = rotated["active"].as_str().unwrap().to_owned();
    tokenward()
        .args(["keys", "retire"])
        .arg(&keys)
        .arg(&active)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("active key"));
    tokenward()
        .args(["keys", "retire"])
        .arg(&keys)
        .arg(&old_kid)
        .assert()
        .success();
    verify_token(&first, &keys).code(1).stdout(
        predicate::str::starts_with("invalid: unknown kid").and(predicate::str::contains(&active)),
    );
    verify_token(&second, &keys).success();
    tokenward()
        .args(["keys", "retire"])
        .arg(&keys)
        .arg("no-such-kid")
        .assert()
        .code(1);
}

#[test]
fn token_verify_names_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let keys = key_file(dir.path(), "HS256");
    let hour = time::Duration::hours(1);
    let expired = sign(&keys, "https://auth", "api", -hour * 3);
    verify_token(&expired, &keys).code(1).stdout(
        predicate::str::starts_with("invalid: expired at 20").and(predicate::str::contains("now ")),
    );
    let early = sign(&keys, "https://auth", "api", hour * 3);
    verify_token(&early, &keys)
        .code(1)
        .stdout(predicate::str::starts_with("invalid: not valid before 20"));
    let wrong_aud = sign(&keys, "https://auth", "other-api", time::Duration::ZERO);
    verify_token(&wrong_aud, &keys).code(1).stdout(
        predicate::str::contains("wrong audience").and(predicate::str::contains("other-api")),
    );
    let wrong_iss = sign(&keys, "https://evil", "api", time::Duration::ZERO);
    verify_token(&wrong_iss, &keys).code(1).stdout(
        predicate::str::contains("wrong issuer").and(predicate::str::contains("https://evil")),
    );
    let other_keys = key_file(dir.path(), "EdDSA");
    verify_token(
        &sign(&other_keys, "https://auth", "api", time::Duration::ZERO),
        &keys,
    )
    .code(1)
    .stdout(predicate::str::contains("unknown kid"));

    let good = sign(&keys, "https://auth", "api", time::Duration::ZERO);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    verify_token(&parts.join("."), &keys)
        .code(1)
        .stdout(predicate::str::starts_with("invalid:"));
    for garbage in ["garbage", "a.b.c", "", "....."] {
        verify_token(garbage, &keys)
            .code(1)
            .stdout(predicate::str::starts_with("invalid:"));
        tokenward()
            .args(["token", "decode", garbage])
            .assert()
            .code(1)
            .stdout(predicate::str::starts_with("invalid:"));
    }
    tokenward()
        .args(["token", "decode", &good])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("UNVERIFIED")
                .and(predicate::str::contains("\"typ\": \"at+jwt\"")),
        );
    let decoded = tokenward()
        .args(["--json", "token", "decode", &good])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let decoded = json_of(&decoded);
    assert_eq!(decoded["verified"], false);
    assert_eq!(decoded["claims"]["aud"], serde_json::json!("api"));
}

#[test]
fn key_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    tokenward()
        .arg("jwks")
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.json"));
    let malformed = dir.path().join("malformed.json");
    std::fs::write(&malformed, r#"{"format": "tokenward-keys/1", "active": "a", "keys": [{"kid": "a", "alg": "HS256", "key": "!!"}]}"#).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&malformed, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    for args in [vec!["jwks"], vec!["keys", "rotate"]] {
        tokenward()
            .args(&args)
            .arg(&malformed)
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("malformed.json").and(predicate::str::contains("keys[0]")),
            );
    }
    verify_token("a.b.c", &malformed).code(2);
}

/// Generated kids are base64url: one in 64 starts with '-', which must not read as a flag.
#[test]
fn retire_a_kid_that_starts_with_a_hyphen() {
    let dir = tempfile::tempdir().unwrap();
    let keys = key_file(dir.path(), "EdDSA");
    tokenward()
        .args(["keys", "rotate"])
        .arg(&keys)
        .assert()
        .success();
    let mut file = json_of(&std::fs::read(&keys).unwrap());
    let active = file["active"].as_str().unwrap().to_owned();
    let old = file["keys"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|k| k["kid"] != active.as_str())
        .unwrap();
    old["kid"] = Value::from("-i2z_OKVOOI-cIaT");
    std::fs::write(&keys, serde_json::to_vec(&file).unwrap()).unwrap();

    tokenward()
        .args(["keys", "retire"])
        .arg(&keys)
        .arg("-i2z_OKVOOI-cIaT")
        .assert()
        .success()
        .stdout(predicate::str::contains("retired -i2z_OKVOOI-cIaT"));
    let jwks = tokenward()
        .arg("--json")
        .arg("jwks")
        .arg(&keys)
        .assert()
        .success();
    let jwks = json_of(&jwks.get_output().stdout);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], active.as_str());
}

fn users(db: &str) -> Command {
    let mut command = tokenward();
    command.args(["users", "--database-url", db]);
    command
}

#[test]
fn users_lifecycle_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("users.db").display());
    let file = dir.path().join("users.json");
    let bcrypt_hash = "$2b$04$W5K2YfBv6dBHrRcTNhmX5ur7wDZn8XSrjrxEFfIXSnbGhMzt7lJF2";
    std::fs::write(
        &file,
        format!(r#"[{{"username": "bob", "password_hash": "{bcrypt_hash}", "scopes": ["items:read"], "email": "bob@example.com"}}]"#),
    )
    .unwrap();
    users(&db)
        .arg("import")
        .arg(&file)
        .assert()
        .success()
        .stdout("created 1, left 0 existing users as they are (use --update to change them)\n");
    users(&db)
        .args([
            "add",
            "alice",
            "--scope",
            "items:read items:write",
            "--full-name",
            "Alice",
        ])
        .write_stdin("a long and unusual passphrase\n")
        .assert()
        .success();
    users(&db)
        .args(["add", "alice", "--scope", "items:read"])
        .write_stdin("another long passphrase\n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("already exists"));
    users(&db)
        .args(["add", "carol"])
        .write_stdin("password\n")
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("rejected:"));
    users(&db)
        .args(["add", "dave", "--scope", "bad\"scope"])
        .write_stdin("a long and unusual passphrase\n")
        .assert()
        .code(2);

    let listed = users(&db)
        .arg("list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = String::from_utf8(listed).unwrap();
    assert!(
        listed.starts_with("alice\tenabled\titems:read items:write\tAlice"),
        "{listed}"
    );
    assert!(
        listed.contains("bob\tenabled\titems:read\t-\tbob@example.com"),
        "{listed}"
    );
    assert!(!listed.contains('$'), "hashes never listed: {listed}");
    let json = users(&db)
        .args(["list"])
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json = json_of(&json);
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[1]["hash_format"], "bcrypt");
    assert!(!json.to_string().contains("$2b$"));

    users(&db)
        .args(["disable", "bob"])
        .assert()
        .success()
        .stdout("bob is disabled\n");
    let json = json_of(
        &users(&db)
            .args(["--json", "list"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    assert_eq!(json[1]["disabled"], true);
    // Issue #13.1: importing the file again leaves bob disabled; --update applies it (bob is
    // enabled again, and as his disabled flag changed, his earlier tokens are cut off).
    users(&db)
        .arg("import")
        .arg(&file)
        .assert()
        .success()
        .stdout("created 0, left 1 existing users as they are (use --update to change them)\n");
    let disabled = json_of(
        &users(&db)
            .args(["--json", "list"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    assert_eq!(disabled[1]["disabled"], true);
    let update = json_of(
        &users(&db)
            .args(["--json", "import", "--update"])
            .arg(&file)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    assert_eq!(update["updated"], 1);
    assert_eq!(update["cut_off"], 1);
    let enabled = json_of(
        &users(&db)
            .args(["--json", "list"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    assert_eq!(enabled[1]["disabled"], false);
    users(&db).args(["disable", "bob"]).assert().success();
    users(&db).args(["enable", "bob"]).assert().success();
    users(&db)
        .args(["set-password", "bob"])
        .write_stdin("bob's brand new passphrase\n")
        .assert()
        .success();
    let json = json_of(
        &users(&db)
            .args(["--json", "list"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    assert_eq!(json[1]["hash_format"], "argon2id");
    users(&db)
        .args(["set-password", "bob"])
        .write_stdin("bob\n")
        .assert()
        .code(1);
    users(&db)
        .args(["revoke-all", "bob"])
        .assert()
        .success()
        .stdout(predicate::str::contains("revoked every token of bob"));

    for command in [
        &["disable", "nobody"][..],
        &["enable", "nobody"],
        &["revoke-all", "nobody"],
    ] {
        users(&db)
            .args(command)
            .assert()
            .code(1)
            .stdout(predicate::str::contains("no user \"nobody\""));
    }
    users(&db)
        .args(["set-password", "nobody"])
        .write_stdin("whatever long pass\n")
        .assert()
        .code(1);
}

#[test]
fn users_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("users.db").display());
    tokenward()
        .args(["users", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--database-url"));
    users("mysql://root@localhost/db")
        .arg("list")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("mysql://"));
    users("postgres://admin:hunter2@127.0.0.1:1/app")
        .arg("list")
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("127.0.0.1:1").and(predicate::str::contains("hunter2").not()),
        );
    users(&db)
        .arg("import")
        .arg(dir.path().join("missing.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.json"));
    let unknown = dir.path().join("unknown.json");
    std::fs::write(
        &unknown,
        r#"[{"username": "mallory", "password_hash": "{SSHA}abcdefgh"}]"#,
    )
    .unwrap();
    users(&db)
        .arg("import")
        .arg(&unknown)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("mallory").and(predicate::str::contains("abcdefgh").not()),
        );
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "not json").unwrap();
    users(&db)
        .arg("import")
        .arg(&garbage)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 1"));
}

/// Issue #13.2: when the servers keep revocations in Redis (they record it in the database at
/// start), a cutoff without --redis-url is refused with a one-line error naming the flag,
/// instead of being written where no server looks and reported as done.
#[test]
fn cutoffs_refuse_to_miss_the_servers_revocation_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("users.db").display());
    users(&db)
        .args(["add", "erin"])
        .write_stdin("a long and unusual passphrase\n")
        .assert()
        .success();
    // What a server started with --redis-url records.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = tokenward::store::sqlite::SqliteStore::open(&db)
            .await
            .unwrap();
        use tokenward::store::UserStore;
        store
            .put_setting(
                tokenward::store::REVOCATION_STORE_SETTING,
                tokenward::store::REVOCATION_IN_REDIS,
            )
            .await
            .unwrap();
    });
    for (args, stdin) in [
        (&["revoke-all", "erin"][..], ""),
        (&["set-password", "erin"], "another long passphrase\n"),
    ] {
        let output = users(&db)
            .args(args)
            .write_stdin(stdin)
            .assert()
            .code(2)
            .get_output()
            .stderr
            .clone();
        let stderr = String::from_utf8(output).unwrap();
        assert!(stderr.contains("--redis-url"), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    // Commands that write no cutoff still work.
    users(&db).args(["list"]).assert().success();
}

fn clients(db: &str) -> Command {
    let mut command = tokenward();
    command.args(["clients", "--database-url", db]);
    command
}

/// The client as stored, read the way the authorization server reads it.
fn stored_client(db: &str, client_id: &str) -> Option<tokenward::provider::Client> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let stores = tokenward::store::open(db, None).await.unwrap();
        stores.clients.find_client(client_id).await.unwrap()
    })
}

/// Whether `secret` verifies against the client's stored hash, as the token endpoint checks it.
fn secret_verifies(client: &tokenward::provider::Client, secret: &str) -> bool {
    let hash = client
        .secret_hash
        .as_deref()
        .expect("a confidential client");
    assert!(hash.starts_with("$argon2id$"), "an argon2id PHC string");
    let hash = tokenward::password::PasswordHash::parse(hash).unwrap();
    tokenward::password::PasswordHasher::default()
        .verify(&secrecy::SecretString::from(secret.to_owned()), &hash)
        .unwrap()
}

/// The secret a successful `clients add` or `rotate-secret` printed, checking it is shown once
/// with the warning, and that no hash is printed.
fn printed_secret(assert: assert_cmd::assert::Assert) -> String {
    let output = assert.get_output();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let secrets: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("client_secret: "))
        .collect();
    assert_eq!(secrets.len(), 1, "{stdout}");
    let secret = secrets[0].to_owned();
    assert_eq!(stdout.matches(&secret).count(), 1, "printed once: {stdout}");
    assert!(stdout.contains("shown once"), "{stdout}");
    assert!(!stdout.contains("$argon2"), "no hash printed: {stdout}");
    assert!(output.stderr.is_empty());
    // 32 random bytes, base64url without padding.
    assert_eq!(secret.len(), 43, "{secret}");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{secret}"
    );
    secret
}

#[test]
fn clients_add_list_remove_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("clients.db").display());

    // Confidential by default: a secret printed once, its argon2id hash stored.
    let secret = printed_secret(
        clients(&db)
            .args([
                "add",
                "--client-id",
                "web-app",
                "--redirect-uri",
                "https://app.example/cb",
                "--scope",
                "items:read",
                "--scope",
                "items:write",
                "--name",
                "The Web App",
            ])
            .assert()
            .success(),
    );
    let web_app = stored_client(&db, "web-app").expect("stored");
    assert!(secret_verifies(&web_app, &secret));
    assert!(!secret_verifies(&web_app, "not-the-secret"));
    assert_eq!(web_app.redirect_uris, ["https://app.example/cb"]);
    assert_eq!(
        web_app.grant_types,
        [
            tokenward::provider::GrantType::AuthorizationCode,
            tokenward::provider::GrantType::RefreshToken
        ]
    );
    assert_eq!(
        web_app.scopes,
        Scopes::parse("items:read items:write").unwrap()
    );
    assert_eq!(web_app.name, "The Web App");
    assert!(!web_app.first_party);
    assert!(
        !format!("{web_app:?}").contains("$argon2"),
        "Debug never shows the hash"
    );

    // Public: no secret printed or stored. Also through TOKENWARD_DATABASE_URL and --scopes.
    tokenward()
        .env("TOKENWARD_DATABASE_URL", &db)
        .args([
            "clients",
            "add",
            "--client-id",
            "spa",
            "--public",
            "--first-party",
            "--redirect-uri",
            "http://127.0.0.1/callback",
            "--scopes",
            "items:read profile",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("added public client spa")
                .and(predicate::str::contains("client_secret").not()),
        );
    let spa = stored_client(&db, "spa").expect("stored");
    assert_eq!(spa.secret_hash, None);
    assert!(spa.first_party);
    assert_eq!(spa.name, "spa", "the name defaults to the id");
    assert_eq!(spa.scopes, Scopes::parse("items:read profile").unwrap());

    // A service with client credentials only needs no redirect URI.
    let service_secret = printed_secret(
        clients(&db)
            .args([
                "add",
                "--client-id",
                "service",
                "--grant-type",
                "client_credentials",
                "--scope",
                "items:read",
            ])
            .assert()
            .success(),
    );
    let service = stored_client(&db, "service").unwrap();
    assert!(secret_verifies(&service, &service_secret));
    assert_eq!(
        service.grant_types,
        [tokenward::provider::GrantType::ClientCredentials]
    );

    // An existing id is refused and left exactly as it was, public or not.
    for extra in [&[][..], &["--public"]] {
        clients(&db)
            .args([
                "add",
                "--client-id",
                "web-app",
                "--redirect-uri",
                "https://evil.example/cb",
            ])
            .args(extra)
            .assert()
            .code(1)
            .stdout(
                predicate::str::contains("\"web-app\" already exists")
                    .and(predicate::str::contains("client_secret").not()),
            );
    }
    assert_eq!(stored_client(&db, "web-app").unwrap(), web_app);
    assert!(secret_verifies(&web_app, &secret));

    // Listing: every field but the hash, ordered by id.
    let listed = clients(&db)
        .arg("list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = String::from_utf8(listed).unwrap();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(
        lines,
        [
            "service\tconfidential\tthird-party\tclient_credentials\titems:read\t-\tservice",
            "spa\tpublic\tfirst-party\tauthorization_code refresh_token\titems:read profile\thttp://127.0.0.1/callback\tspa",
            "web-app\tconfidential\tthird-party\tauthorization_code refresh_token\titems:read items:write\thttps://app.example/cb\tThe Web App",
        ],
        "{listed}"
    );
    assert!(!listed.contains('$'), "hashes never listed: {listed}");
    assert!(!listed.contains(&secret));
    let json = json_of(
        &clients(&db)
            .args(["--json", "list"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(json[2]["client_id"], "web-app");
    assert_eq!(json[2]["confidential"], true);
    assert_eq!(json[1]["confidential"], false);
    assert_eq!(json[1]["first_party"], true);
    assert_eq!(
        json[2]["redirect_uris"],
        serde_json::json!(["https://app.example/cb"])
    );
    assert!(!json.to_string().contains("$argon2"), "{json}");
    assert!(!json.to_string().contains("hash"), "{json}");

    // Removing.
    clients(&db)
        .args(["remove", "--client-id", "spa"])
        .assert()
        .success()
        .stdout("removed client spa\n");
    assert_eq!(stored_client(&db, "spa"), None);
    clients(&db)
        .args(["remove", "--client-id", "spa"])
        .assert()
        .code(1)
        .stdout("no client \"spa\"\n");
    clients(&db)
        .args(["remove", "--client-id", "nobody"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"nobody\""));
    let listed = clients(&db).arg("list").assert().success();
    let listed = String::from_utf8(listed.get_output().stdout.clone()).unwrap();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(!listed.contains("spa"), "{listed}");

    // JSON for scripts: the secret once, under client_secret.
    let json = json_of(
        &clients(&db)
            .args([
                "--json",
                "add",
                "--client-id",
                "scripted",
                "--redirect-uri",
                "https://scripted.example/cb",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    let scripted_secret = json["client_secret"].as_str().unwrap();
    assert_eq!(json["client"]["client_id"], "scripted");
    assert!(secret_verifies(
        &stored_client(&db, "scripted").unwrap(),
        scripted_secret
    ));
    assert!(!json.to_string().contains("$argon2"), "{json}");
}

#[test]
fn clients_rotate_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("clients.db").display());
    let old = printed_secret(
        clients(&db)
            .args([
                "add",
                "--client-id",
                "web-app",
                "--redirect-uri",
                "https://app.example/cb",
                "--scope",
                "items:read",
            ])
            .assert()
            .success(),
    );
    let before = stored_client(&db, "web-app").unwrap();
    assert!(secret_verifies(&before, &old));

    let new = printed_secret(
        clients(&db)
            .args(["rotate-secret", "--client-id", "web-app"])
            .assert()
            .success()
            .stdout(predicate::str::contains("the old one no longer works")),
    );
    assert_ne!(new, old);
    let after = stored_client(&db, "web-app").unwrap();
    assert!(secret_verifies(&after, &new));
    assert!(!secret_verifies(&after, &old), "the old secret is dead");
    // Only the secret changed.
    assert_eq!(
        tokenward::provider::Client {
            secret_hash: before.secret_hash.clone(),
            ..after
        },
        before
    );

    // A public client has no secret to rotate, and is left public.
    clients(&db)
        .args([
            "add",
            "--client-id",
            "spa",
            "--public",
            "--redirect-uri",
            "https://spa.example/cb",
        ])
        .assert()
        .success();
    clients(&db)
        .args(["rotate-secret", "--client-id", "spa"])
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("\"spa\" is public")
                .and(predicate::str::contains("client_secret").not()),
        );
    assert_eq!(stored_client(&db, "spa").unwrap().secret_hash, None);
    clients(&db)
        .args(["rotate-secret", "--client-id", "nobody"])
        .assert()
        .code(1)
        .stdout("no client \"nobody\"\n");
}

#[test]
fn clients_bad_registrations() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("clients.db").display());
    let refused = |args: &[&str], message: &str| {
        let output = clients(&db)
            .args(["add", "--client-id", "bad"])
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .get_output()
            .stderr
            .clone();
        let stderr = String::from_utf8(output).unwrap();
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("$argon2"), "{args:?}: {stderr}");
    };
    // Redirect URIs: plain http to a non-loopback host, a fragment, a wildcard, a relative one.
    refused(
        &["--redirect-uri", "http://example.com/cb"],
        "redirect URI \"http://example.com/cb\": redirect URI must be https",
    );
    refused(
        &["--redirect-uri", "https://app.example/cb#frag"],
        "redirect URI has a fragment",
    );
    refused(
        &["--redirect-uri", "https://*.example/cb"],
        "redirect URI contains a wildcard",
    );
    refused(&["--redirect-uri", "/cb"], "not an absolute URL");
    // The code flow needs a redirect URI.
    refused(&[], "needs a redirect URI");
    // A public client cannot use client credentials: Client::check's error.
    refused(
        &["--public", "--grant-type", "client_credentials"],
        "client_credentials needs a confidential client",
    );
    // Unknown grants and malformed scopes are usage errors too.
    refused(
        &[
            "--redirect-uri",
            "https://app.example/cb",
            "--grant-type",
            "implicit",
        ],
        "--grant-type",
    );
    refused(
        &[
            "--redirect-uri",
            "https://app.example/cb",
            "--scope",
            "bad\"scope",
        ],
        "--scope",
    );
    let output = clients(&db)
        .args(["add", "--client-id", "has space", "--public"])
        .args(["--grant-type", "refresh_token"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8(output).unwrap().contains("client_id"));
    // Nothing was stored.
    clients(&db).arg("list").assert().success().stdout("");

    // The database is required, and memory: keeps nothing.
    tokenward()
        .args(["clients", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--database-url"));
    clients("memory:")
        .arg("list")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("memory:"));
}

/// Links `user_id` to (`issuer`, `subject`) as an upstream login would.
fn link(db: &str, issuer: &str, subject: &str, user_id: &str, at: i64) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let stores = tokenward::store::open(db, None).await.unwrap();
        assert!(
            stores
                .authorizations
                .link_identity(issuer, subject, user_id, at)
                .await
                .unwrap()
        );
    });
}

fn linked_subjects(db: &str, user_id: &str) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let stores = tokenward::store::open(db, None).await.unwrap();
        let links = stores.authorizations.identity_links(user_id).await.unwrap();
        links.into_iter().map(|l| l.subject).collect()
    })
}

#[test]
fn users_links_list_and_unlink_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("users.db").display());
    for name in ["bob", "carol"] {
        users(&db)
            .args(["add", name])
            .write_stdin("a long and unusual passphrase\n")
            .assert()
            .success();
    }
    let listed = json_of(
        &users(&db)
            .args(["--json", "list"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    let bob = listed[0]["id"].as_str().unwrap().to_owned();
    let carol = listed[1]["id"].as_str().unwrap().to_owned();
    users(&db)
        .args(["links", "bob"])
        .assert()
        .success()
        .stdout("bob has no links to upstream identities\n");
    link(&db, "https://idp.example", "bob-1", &bob, 1_700_000_000);
    link(&db, "https://idp.example", "bob-2", &bob, 1_700_000_001);
    link(&db, "https://other.example", "bob-3", &bob, 1_700_000_002);
    link(&db, "https://idp.example", "carol-1", &carol, 1_700_000_003);

    users(&db).args(["links", "bob"]).assert().success().stdout(
        "https://idp.example\tbob-1\t2023-11-14T22:13:20Z\n\
             https://idp.example\tbob-2\t2023-11-14T22:13:21Z\n\
             https://other.example\tbob-3\t2023-11-14T22:13:22Z\n",
    );
    let json = json_of(
        &users(&db)
            .args(["--json", "links", "bob"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    );
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(json[0]["issuer"], "https://idp.example");
    assert_eq!(json[0]["subject"], "bob-1");
    assert_eq!(json[0]["linked_at"], 1_700_000_000);

    // One identity; then every link from one issuer; then the rest.
    users(&db)
        .args([
            "unlink",
            "bob",
            "--issuer",
            "https://idp.example",
            "--subject",
            "bob-2",
        ])
        .assert()
        .success()
        .stdout("removed 1 link(s) of bob\n");
    assert_eq!(linked_subjects(&db, &bob), ["bob-1", "bob-3"]);
    // Carol's link is not bob's to remove.
    users(&db)
        .args([
            "unlink",
            "bob",
            "--issuer",
            "https://idp.example",
            "--subject",
            "carol-1",
        ])
        .assert()
        .code(1)
        .stdout("bob has no such link\n");
    assert_eq!(linked_subjects(&db, &carol), ["carol-1"]);
    users(&db)
        .args(["unlink", "bob", "--issuer", "https://idp.example"])
        .assert()
        .success();
    assert_eq!(linked_subjects(&db, &bob), ["bob-3"]);
    users(&db)
        .args(["--json", "unlink", "bob", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("bob-3"));
    assert!(linked_subjects(&db, &bob).is_empty());
    assert_eq!(linked_subjects(&db, &carol), ["carol-1"]);

    // Nothing left to remove; no user; no --issuer or --all; --subject without --issuer.
    users(&db).args(["unlink", "bob", "--all"]).assert().code(1);
    users(&db)
        .args(["links", "nobody"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no user \"nobody\""));
    users(&db)
        .args(["unlink", "nobody", "--all"])
        .assert()
        .code(1);
    users(&db).args(["unlink", "bob"]).assert().code(2);
    users(&db)
        .args(["unlink", "bob", "--subject", "bob-1"])
        .assert()
        .code(2);
    users(&db)
        .args(["unlink", "bob", "--all", "--issuer", "https://idp.example"])
        .assert()
        .code(2);
}
