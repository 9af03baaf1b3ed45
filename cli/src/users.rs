//! `users ...`: the user store the servers use, by the same URLs. Hashes are never printed.

use std::path::Path;

use serde_json::{Value, json};
use tokenward::password::{PasswordError, PasswordHasher};
use tokenward::store::{self, ImportMode, Stores, User};
use tokenward::token::Scopes;

use crate::outcome::{Answer, Failure, Outcome, fail};
use crate::password::read_password;

/// Where the users live, and (for cutoffs) where the servers check revocations.
pub struct Target<'a> {
    /// `sqlite://PATH`, `postgres://...`.
    pub database_url: &'a str,
    /// The servers' Redis, if they use one: cutoffs must be written where they are read.
    pub redis_url: Option<&'a str>,
}

/// Opens the stores of `target` (also for `clients`), refusing `memory:`, and checks that
/// the database answers.
pub async fn open(target: &Target<'_>) -> Result<Stores, Failure> {
    if target.database_url == "memory:" {
        return Err(Failure::new(
            "--database-url memory: keeps nothing; name a SQLite file or a PostgreSQL database",
        ));
    }
    let stores = store::open(target.database_url, target.redis_url)
        .await
        .map_err(fail("cannot open store"))?;
    stores.users.ping().await.map_err(fail("--database-url"))?;
    Ok(stores)
}

/// [`open`], for a command that writes a cutoff: refused when the servers keep revocations in
/// Redis (they record that in the database at start) and no `--redis-url` was given, since the
/// cutoff would land where no server looks.
async fn open_for_cutoff(target: &Target<'_>) -> Result<Stores, Failure> {
    let stores = open(target).await?;
    let recorded = stores
        .users
        .setting(store::REVOCATION_STORE_SETTING)
        .await
        .map_err(fail("--database-url"))?;
    match (recorded.as_deref(), target.redis_url) {
        (Some(store::REVOCATION_IN_REDIS), None) => Err(Failure::new(
            "the servers keep revocations in Redis: pass the same --redis-url, or this cutoff would not reach them",
        )),
        (Some(store::REVOCATION_IN_DATABASE), Some(_)) => Err(Failure::new(
            "the servers keep revocations in the database: drop --redis-url, or this cutoff would not reach them",
        )),
        _ => Ok(stores),
    }
}

async fn find(stores: &Stores, username: &str) -> Result<Option<User>, Failure> {
    stores
        .users
        .find_by_username(username)
        .await
        .map_err(fail("--database-url"))
}

fn no_such_user(username: &str) -> Outcome {
    Outcome::no(
        format!("no user {username:?}"),
        json!({"ok": false, "reason": "no such user", "username": username}),
    )
}

fn public(user: &User) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "scopes": user.scopes.iter().collect::<Vec<_>>(),
        "disabled": user.disabled,
        "full_name": user.full_name,
        "email": user.email,
        "hash_format": user.password_hash.format().to_string(),
    })
}

/// `users import FILE [--update]`.
pub async fn import(target: &Target<'_>, file: &Path, update: bool) -> Answer {
    let bytes = std::fs::read(file).map_err(fail(file.display()))?;
    let users = store::parse_users_file(&bytes).map_err(fail(file.display()))?;
    let stores = if update {
        open_for_cutoff(target).await?
    } else {
        open(target).await?
    };
    let mode = if update {
        ImportMode::Update
    } else {
        ImportMode::InsertMissing
    };
    let report = store::import_users(
        stores.users.as_ref(),
        stores.revocation.as_ref(),
        users,
        mode,
    )
    .await
    .map_err(fail("--database-url"))?;
    let cut_off = report.security_changed.len();
    let human = if update {
        format!(
            "created {}, updated {} ({} with a new hash, scopes or disabled flag: their earlier tokens no longer work), unchanged {}",
            report.created,
            report.updated + cut_off,
            cut_off,
            report.unchanged
        )
    } else {
        format!(
            "created {}, left {} existing users as they are (use --update to change them)",
            report.created, report.unchanged
        )
    };
    Ok(Outcome::ok(
        human,
        json!({
            "created": report.created,
            "updated": report.updated + cut_off,
            "cut_off": cut_off,
            "unchanged": report.unchanged,
        }),
    ))
}

/// `users list`: every user, a page at a time, without hashes.
pub async fn list(target: &Target<'_>) -> Answer {
    const PAGE: usize = 500;
    let stores = open(target).await?;
    let mut users = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = stores
            .users
            .list(after.as_deref(), PAGE)
            .await
            .map_err(fail("--database-url"))?;
        let full = page.len() == PAGE;
        after = page.last().map(|u| u.username.clone());
        users.extend(page);
        if !full {
            break;
        }
    }
    let human = users
        .iter()
        .map(|u| {
            format!(
                "{}\t{}\t{}\t{}\t{}",
                u.username,
                if u.disabled { "disabled" } else { "enabled" },
                u.scopes,
                u.full_name.as_deref().unwrap_or("-"),
                u.email.as_deref().unwrap_or("-"),
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let json = Value::Array(users.iter().map(public).collect());
    Ok(Outcome::ok(human, json))
}

/// The password for `username`, checked against the policy and hashed; `Err(Outcome)` is the
/// "weak password" answer.
fn new_hash(username: &str) -> Result<Result<tokenward::password::PasswordHash, Outcome>, Failure> {
    let password = read_password(&format!("New password for {username}: "))?;
    match PasswordHasher::default().hash_new_password(username, &password) {
        Ok(hash) => Ok(Ok(hash)),
        Err(PasswordError::Policy(violation)) => Ok(Err(Outcome::no(
            format!("rejected: {violation}"),
            json!({"ok": false, "reason": violation.to_string()}),
        ))),
        Err(err) => Err(Failure::new(format!("password: {err}"))),
    }
}

/// `users add USER --scope ...`: password from stdin or a prompt, checked against the policy.
pub async fn add(
    target: &Target<'_>,
    username: &str,
    scopes: &[String],
    full_name: Option<String>,
    email: Option<String>,
) -> Answer {
    let scopes = Scopes::parse(&scopes.join(" ")).map_err(fail("--scope"))?;
    let stores = open(target).await?;
    if find(&stores, username).await?.is_some() {
        return Ok(Outcome::no(
            format!("user {username:?} already exists"),
            json!({"ok": false, "reason": "already exists"}),
        ));
    }
    let hash = match new_hash(username)? {
        Ok(hash) => hash,
        Err(weak) => return Ok(weak),
    };
    let user = stores
        .users
        .upsert(User {
            id: String::new(),
            username: username.to_owned(),
            password_hash: hash,
            scopes,
            disabled: false,
            full_name,
            email,
        })
        .await
        .map_err(fail("--database-url"))?;
    Ok(Outcome::ok(
        format!("added {username} ({})", user.scopes),
        public(&user),
    ))
}

/// `users disable USER` / `users enable USER`.
pub async fn set_disabled(target: &Target<'_>, username: &str, disabled: bool) -> Answer {
    let stores = open(target).await?;
    let Some(user) = find(&stores, username).await? else {
        return Ok(no_such_user(username));
    };
    stores
        .users
        .set_disabled(&user.id, disabled)
        .await
        .map_err(fail("--database-url"))?;
    let state = if disabled { "disabled" } else { "enabled" };
    Ok(Outcome::ok(
        format!("{username} is {state}"),
        json!({"ok": true, "username": username, "disabled": disabled}),
    ))
}

/// `users set-password USER`: new password (policy-checked); every earlier token stops working.
pub async fn set_password(target: &Target<'_>, username: &str) -> Answer {
    let stores = open_for_cutoff(target).await?;
    let Some(user) = find(&stores, username).await? else {
        return Ok(no_such_user(username));
    };
    let hash = match new_hash(username)? {
        Ok(hash) => hash,
        Err(weak) => return Ok(weak),
    };
    // Cut off, write, cut off again, as the issuer does: a failure in between never leaves old
    // tokens valid under a new password, and a login that read the old hash is cut off too.
    let cut_off = || async {
        stores
            .revocation
            .bump_user_generation(&user.id)
            .await
            .map_err(fail("revocation store"))
    };
    cut_off().await?;
    stores
        .users
        .update_password_hash(&user.id, &hash)
        .await
        .map_err(fail("--database-url"))?;
    cut_off().await?;
    Ok(Outcome::ok(
        format!("password of {username} changed; earlier tokens no longer work"),
        json!({"ok": true, "username": username}),
    ))
}

/// `users revoke-all USER`: every token the user holds stops working; new logins still work.
pub async fn revoke_all(target: &Target<'_>, username: &str) -> Answer {
    let stores = open_for_cutoff(target).await?;
    let Some(user) = find(&stores, username).await? else {
        return Ok(no_such_user(username));
    };
    let generation = stores
        .revocation
        .bump_user_generation(&user.id)
        .await
        .map_err(fail("revocation store"))?;
    Ok(Outcome::ok(
        format!("revoked every token of {username}"),
        json!({"ok": true, "username": username, "generation": generation}),
    ))
}

/// `users rotate-epoch`: every token issued so far stops working (after restoring a backup of
/// the database or Redis, whose revocations may be older than the tokens in circulation).
pub async fn rotate_epoch(target: &Target<'_>) -> Answer {
    let stores = open_for_cutoff(target).await?;
    stores
        .revocation
        .rotate_epoch()
        .await
        .map_err(fail("revocation store"))?;
    Ok(Outcome::ok(
        "every token issued so far no longer works; users log in again",
        json!({"ok": true}),
    ))
}

/// `users links USER`: the upstream identities (issuer, subject) that log in as the user.
pub async fn links(target: &Target<'_>, username: &str) -> Answer {
    let stores = open(target).await?;
    let Some(user) = find(&stores, username).await? else {
        return Ok(no_such_user(username));
    };
    let links = stores
        .authorizations
        .identity_links(&user.id)
        .await
        .map_err(fail("--database-url"))?;
    let human = if links.is_empty() {
        format!("{username} has no links to upstream identities")
    } else {
        links
            .iter()
            .map(|l| format!("{}\t{}\t{}", l.issuer, l.subject, linked_at(l.created_at)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let json = Value::Array(
        links
            .iter()
            .map(|l| {
                json!({
                    "issuer": l.issuer,
                    "subject": l.subject,
                    "linked_at": l.created_at,
                })
            })
            .collect(),
    );
    Ok(Outcome::ok(human, json))
}

/// When a link was made, RFC 3339 (the raw number if it is out of range).
fn linked_at(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// Which links `users unlink` removes.
pub enum Unlink {
    /// Every link of the user.
    All,
    /// The user's links from this issuer, or only the one with this subject there.
    From {
        /// The upstream provider's issuer, exactly as `users links` shows it.
        issuer: String,
        /// One identity there.
        subject: Option<String>,
    },
}

/// `users unlink USER (--issuer ISS [--subject SUB] | --all)`: the user no longer logs in
/// through those upstream identities (their sessions and tokens are left as they are; `users
/// revoke-all` ends them). A first login through such an identity afterwards is linked again
/// only as the servers' settings allow.
pub async fn unlink(target: &Target<'_>, username: &str, which: Unlink) -> Answer {
    let stores = open(target).await?;
    let Some(user) = find(&stores, username).await? else {
        return Ok(no_such_user(username));
    };
    let links = stores
        .authorizations
        .identity_links(&user.id)
        .await
        .map_err(fail("--database-url"))?;
    let chosen = links.iter().filter(|l| match &which {
        Unlink::All => true,
        Unlink::From { issuer, subject } => {
            &l.issuer == issuer && subject.as_ref().is_none_or(|s| &l.subject == s)
        }
    });
    let mut removed = Vec::new();
    for link in chosen {
        if stores
            .authorizations
            .unlink_identity(&user.id, &link.issuer, &link.subject)
            .await
            .map_err(fail("--database-url"))?
        {
            removed.push(json!({"issuer": link.issuer, "subject": link.subject}));
        }
    }
    if removed.is_empty() {
        return Ok(Outcome::no(
            format!("{username} has no such link"),
            json!({"ok": false, "reason": "no such link", "username": username}),
        ));
    }
    Ok(Outcome::ok(
        format!("removed {} link(s) of {username}", removed.len()),
        json!({"ok": true, "username": username, "removed": removed}),
    ))
}
