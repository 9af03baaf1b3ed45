//! `clients ...`: the OAuth clients the authorization server reads, in the same database as the
//! users. A new secret is printed once, when it is made; hashes are never printed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokenward::password::PasswordHasher;
use tokenward::provider::{Client, GrantType};
use tokenward::store::{StoreError, Stores};
use tokenward::token::Scopes;

use crate::outcome::{Answer, Failure, Outcome, fail};
use crate::users::{self, Target};

/// Random bytes in a new client secret (256 bits: nothing to guess, so argon2 is a formality).
const SECRET_BYTES: usize = 32;

/// What `clients add` registers, as given on the command line.
pub struct Registration {
    /// The id the client will send.
    pub client_id: String,
    /// Where codes may be sent.
    pub redirect_uris: Vec<String>,
    /// What it may ask the token endpoint for.
    pub grant_types: Vec<GrantType>,
    /// Scopes (each may hold several, space-separated).
    pub scopes: Vec<String>,
    /// Shown on the consent page (default: the id).
    pub name: Option<String>,
    /// No consent page.
    pub first_party: bool,
    /// No secret (a browser or native app, relying on PKCE alone).
    pub public: bool,
}

/// clap's parser for `--grant-type`.
pub fn grant_type(name: &str) -> Result<GrantType, String> {
    GrantType::from_name(name).ok_or_else(|| {
        "expected authorization_code, refresh_token, client_credentials or password".into()
    })
}

/// A new secret: 32 bytes from the OS, base64url without padding (43 characters that need no
/// escaping in a form, a header or a shell).
fn new_secret() -> Result<SecretString, Failure> {
    let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
    OsRng
        .try_fill_bytes(bytes.as_mut())
        .map_err(fail("the OS random generator"))?;
    Ok(SecretString::from(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
}

/// The argon2id PHC string of `secret`, as the authorization server verifies it.
async fn hash(secret: &SecretString) -> Result<String, Failure> {
    let hash = PasswordHasher::default()
        .hash_async(secret)
        .await
        .map_err(fail("hashing the secret"))?;
    Ok(hash.expose_secret().to_owned())
}

/// The lines that show a new secret, once.
fn secret_lines(client_id: &str, secret: &SecretString) -> String {
    format!(
        "client_secret: {}\nThis secret is shown once and cannot be recovered (only its hash is \
         stored): keep it now. `tokenward clients rotate-secret --client-id {client_id}` makes a \
         new one.",
        secret.expose_secret()
    )
}

fn no_such_client(client_id: &str) -> Outcome {
    Outcome::no(
        format!("no client {client_id:?}"),
        json!({"ok": false, "reason": "no such client", "client_id": client_id}),
    )
}

fn kind(client: &Client) -> &'static str {
    if client.is_confidential() {
        "confidential"
    } else {
        "public"
    }
}

fn grant_names(client: &Client) -> Vec<&'static str> {
    client.grant_types.iter().map(|g| g.as_str()).collect()
}

/// A client as listed: everything but its secret hash.
fn public(client: &Client) -> Value {
    json!({
        "client_id": client.client_id,
        "confidential": client.is_confidential(),
        "first_party": client.first_party,
        "grant_types": grant_names(client),
        "scopes": client.scopes.iter().collect::<Vec<_>>(),
        "redirect_uris": client.redirect_uris,
        "name": client.name,
    })
}

fn or_dash(text: String) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text
    }
}

async fn open(target: &Target<'_>) -> Result<Stores, Failure> {
    users::open(target).await
}

async fn find(stores: &Stores, client_id: &str) -> Result<Option<Client>, Failure> {
    stores
        .clients
        .find_client(client_id)
        .await
        .map_err(fail("--database-url"))
}

/// `clients add --client-id ID ...`: confidential (a new secret, printed once) unless
/// `--public`. Checked against the registration rules before anything is stored; an existing
/// id is left as it is.
pub async fn add(target: &Target<'_>, registration: Registration) -> Answer {
    let Registration {
        client_id,
        redirect_uris,
        grant_types,
        scopes,
        name,
        first_party,
        public: is_public,
    } = registration;
    let scopes = Scopes::parse(&scopes.join(" ")).map_err(fail("--scope"))?;
    let mut grants: Vec<GrantType> = Vec::with_capacity(grant_types.len());
    for grant in grant_types {
        if !grants.contains(&grant) {
            grants.push(grant);
        }
    }
    let mut uris: Vec<String> = Vec::with_capacity(redirect_uris.len());
    for uri in redirect_uris {
        if !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    let mut client = Client {
        name: name.unwrap_or_else(|| client_id.clone()),
        client_id,
        secret_hash: None,
        redirect_uris: uris,
        grant_types: grants,
        scopes,
        first_party,
    };
    let secret = if is_public {
        None
    } else {
        let secret = new_secret()?;
        client.secret_hash = Some(hash(&secret).await?);
        Some(secret)
    };
    // The registration rules, before the database is touched. Their messages name the client
    // and the offending URI or grant, never the secret or its hash.
    client.check().map_err(|e| Failure::new(e.to_string()))?;
    let stores = open(target).await?;
    let inserted = stores
        .clients
        .insert_client(&client)
        .await
        .map_err(fail("--database-url"))?;
    let client_id = client.client_id.as_str();
    if !inserted {
        return Ok(Outcome::no(
            format!("client {client_id:?} already exists (left unchanged)"),
            json!({"ok": false, "reason": "already exists", "client_id": client_id}),
        ));
    }
    let mut json = json!({"ok": true, "client": public(&client)});
    let human = match &secret {
        Some(secret) => {
            json["client_secret"] = Value::from(secret.expose_secret());
            format!(
                "added confidential client {client_id}\n{}",
                secret_lines(client_id, secret)
            )
        }
        None => format!("added public client {client_id} (no secret: PKCE only)"),
    };
    Ok(Outcome::ok(human, json))
}

/// `clients list`: every client, ordered by id, without secret hashes.
pub async fn list(target: &Target<'_>) -> Answer {
    let stores = open(target).await?;
    let clients = stores
        .clients
        .list_clients()
        .await
        .map_err(fail("--database-url"))?;
    let human = clients
        .iter()
        .map(|c| {
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                c.client_id,
                kind(c),
                if c.first_party {
                    "first-party"
                } else {
                    "third-party"
                },
                or_dash(grant_names(c).join(" ")),
                or_dash(c.scopes.to_string()),
                or_dash(c.redirect_uris.join(" ")),
                c.name,
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let json = Value::Array(clients.iter().map(public).collect());
    Ok(Outcome::ok(human, json))
}

/// `clients remove --client-id ID`.
pub async fn remove(target: &Target<'_>, client_id: &str) -> Answer {
    let stores = open(target).await?;
    let removed = stores
        .clients
        .remove_client(client_id)
        .await
        .map_err(fail("--database-url"))?;
    if !removed {
        return Ok(no_such_client(client_id));
    }
    Ok(Outcome::ok(
        format!("removed client {client_id}"),
        json!({"ok": true, "client_id": client_id}),
    ))
}

/// `clients rotate-secret --client-id ID`: a new secret for a confidential client, printed
/// once; the old one stops working at once.
pub async fn rotate_secret(target: &Target<'_>, client_id: &str) -> Answer {
    let stores = open(target).await?;
    let Some(mut client) = find(&stores, client_id).await? else {
        return Ok(no_such_client(client_id));
    };
    if !client.is_confidential() {
        return Ok(Outcome::no(
            format!("client {client_id:?} is public: it has no secret to rotate"),
            json!({"ok": false, "reason": "public client", "client_id": client_id}),
        ));
    }
    // Only the hash changes, and a fresh argon2id hash is well-formed: no `Client::check`, so
    // a leaked secret can be replaced even if the stored registration predates a newer rule.
    let secret = new_secret()?;
    client.secret_hash = Some(hash(&secret).await?);
    match stores.clients.update_client(&client).await {
        Ok(()) => {}
        // Removed since it was read.
        Err(StoreError::NotFound) => return Ok(no_such_client(client_id)),
        Err(err) => return Err(fail("--database-url")(err)),
    }
    Ok(Outcome::ok(
        format!(
            "new secret for client {client_id}; the old one no longer works\n{}",
            secret_lines(client_id, &secret)
        ),
        json!({
            "ok": true,
            "client_id": client_id,
            "client_secret": secret.expose_secret(),
        }),
    ))
}
