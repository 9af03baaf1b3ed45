//! Start-up: everything that can fail happens here, before the first request, and fails with a
//! one-line message that names the flag, file or URL (never a password).

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use rand::Rng;
use rand::distributions::Alphanumeric;
use secrecy::SecretString;
use tokenward::TokenIssuer;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::password::PasswordHasher;
use tokenward::provider::{self, AuthorizationServer, Client, GrantType, UpstreamProvider};
use tokenward::store::{self, StoreError, User, UserStore};
use tokenward::token::{Scopes, TokenCodec};

use crate::api::{App, HealthCheck};
use crate::config::{Config, Switch};

/// The audience of access tokens; every instance of a deployment must agree on it (and on
/// `--issuer`).
pub const AUDIENCE: &str = "tokenward-example-api";

/// The demo user created in an empty store.
pub const DEMO_USER: &str = "johndoe";
/// The public client created when no client is registered, for `/demo`.
pub const DEMO_CLIENT: &str = "demo";
/// Where the demo client's codes go, under the issuer URL.
pub const DEMO_CALLBACK_PATH: &str = "/demo/callback";

/// A start-up failure: print it on one line and exit with status 2.
#[derive(Debug)]
pub struct StartupError(String);

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartupError {}

fn fail(message: impl Into<String>) -> StartupError {
    StartupError(message.into())
}

/// A server ready to accept connections.
pub struct Started {
    /// The shared application state and handlers.
    pub app: Arc<App>,
    /// The bound, non-blocking listener.
    pub listener: TcpListener,
    /// The address actually bound (useful with port 0).
    pub address: SocketAddr,
}

/// Checks the configuration, opens the stores and keys, imports users and binds the listener.
/// The users file is checked before anything is opened or written.
pub async fn start(config: &Config) -> Result<Started, StartupError> {
    let imported = match &config.users {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| fail(format!("--users {}: {e}", path.display())))?;
            let users = store::parse_users_file(&bytes)
                .map_err(|e| fail(format!("--users {}: {e}", path.display())))?;
            Some(users)
        }
        None => None,
    };

    let clients = match &config.clients {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| fail(format!("--clients {}: {e}", path.display())))?;
            let clients = provider::parse_clients_file(&text)
                .map_err(|e| fail(format!("--clients {}: {e}", path.display())))?;
            Some(clients)
        }
        None => None,
    };

    let listener = TcpListener::bind(config.bind)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| fail(format!("--bind {}: {e}", config.bind)))?;
    let address = listener
        .local_addr()
        .map_err(|e| fail(format!("--bind {}: {e}", config.bind)))?;

    let stores = store::open(&config.database_url, config.redis_url.as_deref())
        .await
        .map_err(|e| match e {
            StoreError::Unavailable(what) => fail(format!(
                "cannot open store: {what} ({})",
                store_urls(config)
            )),
            other => fail(format!(
                "cannot open store: {other} ({})",
                store_urls(config)
            )),
        })?;
    // Opening a pool can succeed lazily; ask each store once so a wrong URL fails here.
    stores
        .users
        .ping()
        .await
        .map_err(|e| fail(format!("--database-url: {e}")))?;
    if config.redis_url.is_some() {
        stores
            .revocation
            .ping()
            .await
            .map_err(|e| fail(format!("--redis-url: {e}")))?;
    }

    // EdDSA signs access tokens; the RS256 key beside it signs OpenID Connect id_tokens.
    let keys = match config.key_file_path() {
        Some(path) => KeySet::load_or_generate_with_id_token(&path, KeyAlgorithm::DEFAULT)
            .map_err(|e| fail(format!("--key-file {}: {e}", path.display())))?,
        None => {
            let mut keys =
                KeySet::generate(KeyAlgorithm::DEFAULT).map_err(|e| fail(e.to_string()))?;
            keys.ensure_id_token_key()
                .map_err(|e| fail(e.to_string()))?;
            keys
        }
    };
    let issuer_url = match &config.issuer {
        Some(url) => url.clone(),
        None => format!("http://{address}"),
    };
    let codec = TokenCodec::builder(keys, issuer_url.clone(), AUDIENCE)
        .access_ttl(time::Duration::seconds(to_i64(config.access_ttl)))
        .build()
        .map_err(|e| fail(format!("token settings: {e}")))?;
    let policy = store::ThrottlePolicy {
        max_failures: config.max_failed_logins,
        window_secs: config.throttle_window,
    };
    let mut hasher = PasswordHasher::builder();
    if let Some(waiting) = config.max_queued_logins {
        hasher = hasher.max_waiting(waiting);
    }
    let hasher = hasher
        .build()
        .map_err(|e| fail(format!("password hashing: {e}")))?;
    let issuer = TokenIssuer::builder(codec, stores.users.clone(), stores.revocation.clone())
        .password_hasher(hasher)
        .throttle(stores.throttle.clone(), policy)
        .client_throttle(store::ThrottlePolicy {
            max_failures: config.max_logins_per_client,
            window_secs: config.throttle_window,
        })
        .refresh_ttl(time::Duration::seconds(to_i64(config.refresh_ttl)))
        .build()
        .map_err(|e| fail(format!("token settings: {e}")))?;

    // Recorded once everything else has checked out, so a start that fails on its
    // configuration neither records a switch nor logs anyone out. Tools that write cutoffs
    // (`tokenward users revoke-all`) read the record to write where the servers look.
    let revocation_store = store::RevocationStoreKind::for_redis_url(config.redis_url.as_deref());
    let change = stores
        .adopt_revocation_store(revocation_store)
        .await
        .map_err(|e| {
            fail(format!(
                "recording the revocation store: {e} ({})",
                store_urls(config)
            ))
        })?;
    if let store::RevocationStoreChange::Switched { from, to, .. } = &change {
        eprintln!("revocations moved from {from} to {to}: tokens issued before are refused");
    }

    let mut builder = AuthorizationServer::builder(
        issuer.clone(),
        stores.clients.clone(),
        stores.authorizations.clone(),
        issuer_url.clone(),
    )
    .password_grant(config.password_grant == Switch::On)
    .resource_servers(config.resource_servers.iter().cloned());
    if config.allow_insecure_http_issuer {
        builder = builder.allow_insecure_http_issuer();
    }
    if let Some(upstream) = upstream_provider(config)? {
        builder = builder.upstream(upstream);
    }
    let server = builder
        .build()
        .map_err(|e| fail(format!("--issuer {issuer_url:?}: {e}")))?;
    register_clients(&server, clients, &issuer_url).await?;

    match imported {
        Some(users) => {
            // Users that exist are left alone: a restart never undoes a password change, a
            // hash upgrade or a disable (`tokenward users import --update` applies a file).
            let report = store::import_users(
                stores.users.as_ref(),
                stores.revocation.as_ref(),
                users,
                store::ImportMode::InsertMissing,
            )
            .await
            .map_err(|e| fail(format!("--users: {e}")))?;
            println!(
                "imported {} new users ({} already existed and were left as they are)",
                report.created, report.unchanged
            );
        }
        None => create_demo_user(&issuer, stores.users.as_ref()).await?,
    }

    let mut health = vec![HealthCheck::Users("database", stores.users.clone())];
    if config.redis_url.is_some() {
        health.push(HealthCheck::Revocation("redis", stores.revocation.clone()));
    }
    let metrics = if config.metrics {
        let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| fail(format!("--metrics: {e}")))?;
        Some(handle)
    } else {
        None
    };
    println!("listening on http://{address}");
    Ok(Started {
        app: Arc::new(App::new(server, health, metrics)),
        listener,
        address,
    })
}

/// The store flags with their URLs, passwords hidden: a timeout's message cannot say which it was.
fn store_urls(config: &Config) -> String {
    let mut urls = format!("--database-url {}", store::redact_url(&config.database_url));
    if let Some(redis) = &config.redis_url {
        urls.push_str(&format!(", --redis-url {}", store::redact_url(redis)));
    }
    urls
}

fn to_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// In an empty store, creates `johndoe` with a random password printed once.
/// The `--upstream-*` flags as a provider (discovered at the first login, so a provider that is
/// down now does not stop this server).
fn upstream_provider(config: &Config) -> Result<Option<UpstreamProvider>, StartupError> {
    let Some(issuer) = &config.upstream_issuer else {
        if config.upstream_client_id.is_some() || config.upstream_client_secret.is_some() {
            return Err(fail("--upstream-client-id/-secret need --upstream-issuer"));
        }
        return Ok(None);
    };
    let Some(client_id) = &config.upstream_client_id else {
        return Err(fail("--upstream-issuer needs --upstream-client-id"));
    };
    let scopes = Scopes::parse(&config.upstream_user_scopes)
        .map_err(|e| fail(format!("--upstream-user-scopes: {e}")))?;
    let link_by_email = config.upstream_link_by_email == Switch::On;
    let needs_password = config.upstream_link_needs_password == Switch::On;
    if needs_password && !link_by_email {
        return Err(fail(
            "--upstream-link-needs-password needs --upstream-link-by-email",
        ));
    }
    let mut builder = UpstreamProvider::builder(issuer.clone(), client_id.clone())
        .create_users(config.upstream_create_users == Switch::On)
        .link_by_email(link_by_email)
        .email_link_needs_password(needs_password)
        .new_user_scopes(scopes);
    if let Some(secret) = &config.upstream_client_secret {
        builder = builder.client_secret(SecretString::from(secret.clone()));
    }
    if let Some(name) = &config.upstream_name {
        builder = builder.name(name.clone());
    }
    if config.allow_insecure_http_issuer {
        builder = builder.allow_insecure_http_issuer();
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| fail(format!("--upstream-issuer {issuer:?}: {e}")))
}

async fn create_demo_user(issuer: &TokenIssuer, users: &dyn UserStore) -> Result<(), StartupError> {
    let existing = users
        .list(None, 1)
        .await
        .map_err(|e| fail(format!("--database-url: {e}")))?;
    if !existing.is_empty() {
        return Ok(());
    }
    let password: String = rand::thread_rng()
        .sample_iter(Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    let password = SecretString::from(password);
    let hash = issuer
        .hasher()
        .hash_async(&password)
        .await
        .map_err(|e| fail(format!("hashing the demo password: {e}")))?;
    let scopes = Scopes::parse("items:read items:write").map_err(|e| fail(e.to_string()))?;
    users
        .upsert(User {
            id: String::new(),
            username: DEMO_USER.into(),
            password_hash: hash,
            scopes,
            disabled: false,
            full_name: Some("John Doe".into()),
            email: Some("johndoe@example.com".into()),
        })
        .await
        .map_err(|e| fail(format!("--database-url: {e}")))?;
    println!(
        "created user {DEMO_USER} with password {} (shown once; scopes items:read items:write)",
        secrecy::ExposeSecret::expose_secret(&password)
    );
    Ok(())
}

/// Inserts the clients of `--clients` that are not registered yet (existing ones are left as
/// they are, like users). Without `--clients` and with no client at all, registers the public
/// client `demo` for `/demo`.
async fn register_clients(
    server: &AuthorizationServer,
    clients: Option<Vec<Client>>,
    issuer_url: &str,
) -> Result<(), StartupError> {
    let store = server.clients();
    let store_error = |e: StoreError| fail(format!("--database-url: {e}"));
    if let Some(clients) = clients {
        let total = clients.len();
        let mut created = 0;
        for client in &clients {
            if store.insert_client(client).await.map_err(store_error)? {
                created += 1;
            }
        }
        println!(
            "registered {created} new clients ({} already existed and were left as they are)",
            total - created
        );
        return Ok(());
    }
    if !store.list_clients().await.map_err(store_error)?.is_empty() {
        return Ok(());
    }
    let demo = Client {
        client_id: DEMO_CLIENT.into(),
        secret_hash: None,
        redirect_uris: vec![format!("{issuer_url}{DEMO_CALLBACK_PATH}")],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: Scopes::parse("openid profile email items:read items:write")
            .map_err(|e| fail(e.to_string()))?,
        name: "tokenward demo".into(),
        first_party: true,
    };
    // Codes may only go to https or a loopback address; an issuer on another http host gets
    // no demo client rather than an insecure one.
    if let Err(reason) = demo.check() {
        eprintln!("no demo client registered: {reason}");
        return Ok(());
    }
    store.insert_client(&demo).await.map_err(store_error)?;
    println!("registered the demo client: open {issuer_url}/demo");
    Ok(())
}
