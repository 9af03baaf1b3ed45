//! The issuer's hot paths: `validate` (in-memory revocation, user check on) against a raw
//! `jsonwebtoken` decode of the same token; `login` against a bare argon2id verify (what it must
//! cost anyway), and unknown-user against wrong-password logins (their ratio is the timing side
//! channel, ideally 1.0); `refresh`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde_json::Value;
use tokenward::keys::{KeyAlgorithm, KeySet, SigningKey};
use tokenward::store::{RevocationQuery, ThrottlePolicy, User};
use tokenward::token::{Scopes, TokenCodec};
use tokenward::{Error, TokenIssuer};

const SECRET: [u8; 32] = [42; 32];

fn issuer(runtime: &tokio::runtime::Runtime) -> TokenIssuer {
    let stores = runtime
        .block_on(tokenward::store::open("memory:", None))
        .expect("memory stores");
    issuer_on(runtime, stores)
}

/// An issuer on `stores`, with user "alice" created in them.
fn issuer_on(runtime: &tokio::runtime::Runtime, stores: tokenward::store::Stores) -> TokenIssuer {
    issuer_with(runtime, stores, true)
}

fn issuer_with(
    runtime: &tokio::runtime::Runtime,
    stores: tokenward::store::Stores,
    check_user: bool,
) -> TokenIssuer {
    let key = SigningKey::from_secret(
        "hs",
        KeyAlgorithm::HS256,
        SecretBox::new(Box::from(&SECRET[..])),
    )
    .expect("key");
    let codec = TokenCodec::builder(KeySet::new(key), "https://auth.example", "api.example")
        .build()
        .expect("codec");
    let users = stores.users.clone();
    let issuer = TokenIssuer::builder(codec, users.clone(), stores.revocation)
        // The benchmark logs in thousands of times with wrong passwords; never lock.
        .throttle(
            stores.throttle,
            ThrottlePolicy {
                max_failures: u32::MAX,
                window_secs: 1,
            },
        )
        .check_user_on_validate(check_user)
        .build()
        .expect("issuer");
    let hash = issuer
        .hasher()
        .hash(&SecretString::from("correct horse battery staple"))
        .expect("hash");
    runtime
        .block_on(users.upsert(User {
            id: String::new(),
            username: "alice".into(),
            password_hash: hash,
            scopes: Scopes::parse("items:read items:write").expect("scopes"),
            disabled: false,
            full_name: None,
            email: None,
        }))
        .expect("upsert");
    issuer
}

fn issuer_benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let issuer = issuer(&runtime);
    let password = SecretString::from("correct horse battery staple");
    let pair = runtime
        .block_on(issuer.login("alice", &password, None))
        .expect("login");
    let token = pair.access_token.expose_secret().to_owned();

    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["https://auth.example"]);
    validation.set_audience(&["api.example"]);
    let decoding = DecodingKey::from_secret(&SECRET);
    let mut group = c.benchmark_group("issuer_validate_hs256");
    group.bench_function("tokenward", |b| {
        b.to_async(&runtime)
            .iter(|| async { issuer.validate(&token).await.expect("valid") })
    });
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| jsonwebtoken::decode::<Value>(&token, &decoding, &validation).expect("valid"))
    });
    group.finish();

    let mut group = c.benchmark_group("login");
    group.sample_size(20);
    let stored = runtime
        .block_on(issuer.users().find_by_username("alice"))
        .expect("store")
        .expect("alice");
    group.bench_function("argon2_verify", |b| {
        b.to_async(&runtime).iter(|| async {
            assert!(
                issuer
                    .hasher()
                    .verify_async(&password, &stored.password_hash)
                    .await
                    .expect("verify")
            )
        })
    });
    group.bench_function("tokenward", |b| {
        b.to_async(&runtime)
            .iter(|| async { issuer.login("alice", &password, None).await.expect("login") })
    });
    let wrong = SecretString::from("wrong password");
    group.bench_function("wrong_password", |b| {
        b.to_async(&runtime).iter(|| async {
            assert!(matches!(
                issuer.login("alice", &wrong, None).await,
                Err(Error::InvalidCredentials)
            ))
        })
    });
    group.bench_function("unknown_user", |b| {
        b.to_async(&runtime).iter(|| async {
            assert!(matches!(
                issuer.login("nobody", &wrong, None).await,
                Err(Error::InvalidCredentials)
            ))
        })
    });
    group.finish();

    // Each refresh spends its token, so every iteration uses the one the previous returned.
    let current = Mutex::new(pair.refresh_token.expose_secret().to_owned());
    let mut group = c.benchmark_group("issuer_refresh_hs256");
    group.bench_function("tokenward", |b| {
        b.to_async(&runtime).iter(|| async {
            let token = current.lock().expect("lock").clone();
            let next = issuer.refresh(&token, None).await.expect("refresh");
            *current.lock().expect("lock") = next.refresh_token.expose_secret().to_owned();
        })
    });
    group.finish();
}

/// Times `iters` calls of `op`, made one after another from one task on `runtime`'s workers,
/// as a server's request handler makes them. Criterion's `to_async` instead drives the future
/// from the benchmark's own thread, outside the runtime: every reply from a store whose
/// connection is driven by a runtime task (redis-rs, sqlx) then crosses threads twice, which
/// cost ~30 us per call on the 2-core machine, more than the loopback round trip itself.
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

/// `validate` and `refresh` through the issuer on each backend, called from a runtime task (see
/// [`in_runtime_task`]). Redis holds revocation and throttling only, so its users stay in
/// memory; it runs when `TOKENWARD_TEST_REDIS_URL` is set.
fn backend_benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut backends = vec![
        ("memory", "memory:".to_owned(), None),
        (
            "sqlite",
            format!("sqlite://{}", dir.path().join("bench.db").display()),
            None,
        ),
    ];
    match std::env::var("TOKENWARD_TEST_REDIS_URL") {
        Ok(url) => backends.push(("redis", "memory:".to_owned(), Some(url))),
        Err(_) => eprintln!("skipped: TOKENWARD_TEST_REDIS_URL is not set, no Redis figures"),
    }
    let password = SecretString::from("correct horse battery staple");
    for (name, database, redis) in backends {
        let stores = runtime
            .block_on(tokenward::store::open(&database, redis.as_deref()))
            .expect("stores");
        // The floor under `validate`: one request through the same client that answers without
        // looking anything up.
        let revocation = stores.revocation.clone();
        c.benchmark_group("revocation_store_ping")
            .bench_function(name, |b| {
                b.iter_custom(|iters| {
                    in_runtime_task(&runtime, iters, revocation.clone(), |revocation| {
                        Box::pin(async move { revocation.ping().await.expect("ping") })
                    })
                })
            });
        // The store's revocation check alone, no token work around it.
        c.benchmark_group("revocation_store_check")
            .bench_function(name, |b| {
                b.iter_custom(|iters| {
                    in_runtime_task(&runtime, iters, revocation.clone(), |revocation| {
                        Box::pin(async move {
                            let query = RevocationQuery {
                                jti: "bench-jti",
                                session_id: "bench-session",
                                user_id: "bench-user",
                            };
                            revocation.check(query).await.expect("check");
                        })
                    })
                })
            });
        let issuer = issuer_on(&runtime, stores);
        let pair = runtime
            .block_on(issuer.login("alice", &password, None))
            .expect("login");
        let token = pair.access_token.expose_secret().to_owned();
        c.benchmark_group("issuer_validate_backend")
            .bench_function(name, |b| {
                b.iter_custom(|iters| validate_loop(&runtime, iters, &issuer, &token))
            });
        // The same without the user-exists check: the revocation round trip alone.
        let lean_stores = runtime
            .block_on(tokenward::store::open(&database, redis.as_deref()))
            .expect("stores");
        let lean = issuer_with(&runtime, lean_stores, false);
        let lean_token = runtime
            .block_on(lean.login("alice", &password, None))
            .expect("login")
            .access_token;
        let lean_token = lean_token.expose_secret().to_owned();
        c.benchmark_group("issuer_validate_revocation_only")
            .bench_function(name, |b| {
                b.iter_custom(|iters| validate_loop(&runtime, iters, &lean, &lean_token))
            });
        let current = Arc::new(Mutex::new(pair.refresh_token.expose_secret().to_owned()));
        c.benchmark_group("issuer_refresh_backend")
            .bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let state = (issuer.clone(), current.clone());
                    in_runtime_task(&runtime, iters, state, |(issuer, current)| {
                        Box::pin(async move {
                            let token = current.lock().expect("lock").clone();
                            let next = issuer.refresh(&token, None).await.expect("refresh");
                            *current.lock().expect("lock") =
                                next.refresh_token.expose_secret().to_owned();
                        })
                    })
                })
            });
    }
}

fn validate_loop(
    runtime: &tokio::runtime::Runtime,
    iters: u64,
    issuer: &TokenIssuer,
    token: &str,
) -> Duration {
    let state = (issuer.clone(), token.to_owned());
    in_runtime_task(runtime, iters, state, |(issuer, token)| {
        Box::pin(async move {
            issuer.validate(token).await.expect("valid");
        })
    })
}

criterion_group!(benches, issuer_benches, backend_benches);
criterion_main!(benches);
