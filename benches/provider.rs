//! The authorization server's token endpoint on SQLite, as a server calls it: authorization-code
//! exchanges (a public client: spend the code, check the login, sign two tokens), client
//! credentials (a confidential client: an argon2id verification of its secret, then one token),
//! and the password grant beside them. Production argon2 parameters throughout.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, StatusCode};
use secrecy::SecretString;
use tokenward::TokenIssuer;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::provider::{
    AuthorizationServer, AuthorizationStore, Client, CodeChallenge, CodeGrant, GrantType,
    secret_digest,
};
use tokenward::store::{Issuance, ThrottlePolicy, User};
use tokenward::token::{Scopes, TokenCodec};

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "http://127.0.0.1/cb";
const SECRET: &str = "service secret for the benchmark";

/// Times `iters` calls of `op` from one task on `runtime` (as `benches/issuer.rs` does, so a
/// store's replies do not cross threads twice).
fn in_runtime_task<S: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    iters: u64,
    state: S,
    op: for<'a> fn(&'a S) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
) -> Duration {
    runtime
        .block_on(runtime.spawn(async move {
            let start = Instant::now();
            for _ in 0..iters {
                op(&state).await;
            }
            start.elapsed()
        }))
        .expect("benchmark task")
}

struct Setup {
    server: AuthorizationServer,
    codes: Arc<dyn AuthorizationStore>,
    user_id: String,
    issuance: Issuance,
    next: AtomicU64,
}

fn form_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers
}

fn setup(runtime: &tokio::runtime::Runtime, url: &str) -> Setup {
    runtime.block_on(async {
        let stores = tokenward::store::open(url, None).await.expect("stores");
        let mut keys = KeySet::generate(KeyAlgorithm::DEFAULT).expect("keys");
        keys.ensure_id_token_key().expect("id_token key");
        let codec = TokenCodec::builder(keys, "https://auth.example", "api")
            .build()
            .expect("codec");
        let issuer = TokenIssuer::builder(codec, stores.users.clone(), stores.revocation.clone())
            .throttle(
                stores.throttle.clone(),
                ThrottlePolicy {
                    max_failures: u32::MAX,
                    window_secs: 1,
                },
            )
            .client_throttle(ThrottlePolicy {
                max_failures: u32::MAX,
                window_secs: 1,
            })
            .build()
            .expect("issuer");
        let hash = issuer
            .hasher()
            .hash(&SecretString::from("correct horse battery staple"))
            .expect("hash");
        let user = stores
            .users
            .upsert(User {
                id: String::new(),
                username: "alice".into(),
                password_hash: hash,
                scopes: Scopes::parse("items:read items:write").expect("scopes"),
                disabled: false,
                full_name: None,
                email: None,
            })
            .await
            .expect("user");
        let secret_hash = issuer
            .hasher()
            .hash(&SecretString::from(SECRET))
            .expect("secret hash");
        for client in [
            Client {
                client_id: "app".into(),
                secret_hash: None,
                redirect_uris: vec![REDIRECT.into()],
                grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
                scopes: Scopes::parse("openid items:read").expect("scopes"),
                name: "App".into(),
                first_party: true,
            },
            Client {
                client_id: "svc".into(),
                secret_hash: Some(secret_hash.expose_secret().to_owned()),
                redirect_uris: Vec::new(),
                grant_types: vec![GrantType::ClientCredentials],
                scopes: Scopes::parse("items:read").expect("scopes"),
                name: "Service".into(),
                first_party: false,
            },
        ] {
            stores.clients.insert_client(&client).await.expect("client");
        }
        let issuance = stores
            .revocation
            .issuance(&user.id)
            .await
            .expect("issuance");
        let server = AuthorizationServer::builder(
            issuer,
            stores.clients.clone(),
            stores.authorizations.clone(),
            "https://auth.example",
        )
        .build()
        .expect("server");
        Setup {
            server,
            codes: stores.authorizations,
            user_id: user.id,
            issuance,
            next: AtomicU64::new(0),
        }
    })
}

fn provider_benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let setup = Arc::new(setup(&runtime, &url));

    // Storing the code is part of each iteration: a code is issued once and exchanged once.
    // With `openid` the answer carries an RS256 id_token too.
    let mut group = c.benchmark_group("provider_code_exchange");
    for (name, scope) in [
        ("sqlite", "items:read"),
        ("sqlite_openid", "openid items:read"),
    ] {
        let state = (setup.clone(), Scopes::parse(scope).expect("scopes"));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                in_runtime_task(&runtime, iters, state.clone(), |(setup, scope)| {
                    Box::pin(async move {
                        let n = setup.next.fetch_add(1, Ordering::Relaxed);
                        let code = format!("bench-code-{n}-0123456789abcdef");
                        let grant = CodeGrant {
                            client_id: "app".into(),
                            redirect_uri: REDIRECT.into(),
                            code_challenge: CodeChallenge::of_verifier(VERIFIER)
                                .as_str()
                                .to_owned(),
                            scope: scope.clone(),
                            nonce: None,
                            user_id: setup.user_id.clone(),
                            auth_time: 0,
                            session_id: format!("bench-session-{n}"),
                            generation: setup.issuance.generation,
                            epoch: setup.issuance.epoch,
                            expires_at: i64::MAX / 2,
                        };
                        setup
                            .codes
                            .put_code(&secret_digest(&code), &grant)
                            .await
                            .expect("code");
                        let body = format!(
                            "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&code_verifier={VERIFIER}&client_id=app"
                        );
                        let answer = setup
                            .server
                            .token(PEER, &form_headers(), body.as_bytes())
                            .await;
                        assert_eq!(answer.status(), StatusCode::OK);
                    })
                })
            })
        });
    }
    group.finish();

    c.benchmark_group("provider_client_credentials")
        .sample_size(20)
        .bench_function("sqlite", |b| {
            b.iter_custom(|iters| {
                in_runtime_task(&runtime, iters, setup.clone(), |setup| {
                    Box::pin(async move {
                        let mut headers = form_headers();
                        let basic = base64::engine::general_purpose::STANDARD
                            .encode(format!("svc:{}", SECRET.replace(' ', "+")));
                        headers.insert(
                            AUTHORIZATION,
                            HeaderValue::from_str(&format!("Basic {basic}")).expect("header"),
                        );
                        let answer = setup
                            .server
                            .token(PEER, &headers, b"grant_type=client_credentials")
                            .await;
                        assert_eq!(answer.status(), StatusCode::OK);
                    })
                })
            })
        });

    c.benchmark_group("provider_password_grant")
        .sample_size(20)
        .bench_function("sqlite", |b| {
            b.iter_custom(|iters| {
                in_runtime_task(&runtime, iters, setup.clone(), |setup| {
                    Box::pin(async move {
                        let answer = setup
                            .server
                            .token(
                                PEER,
                                &form_headers(),
                                b"grant_type=password&username=alice&password=correct+horse+battery+staple",
                            )
                            .await;
                        assert_eq!(answer.status(), StatusCode::OK);
                    })
                })
            })
        });
}

criterion_group!(benches, provider_benches);
criterion_main!(benches);
