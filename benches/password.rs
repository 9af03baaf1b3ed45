//! Password hashing throughput: argon2id at the default (OWASP) parameters, bcrypt cost 12, and
//! many concurrent verifications through the bounded async API.

use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use tokenward::password::{PasswordHash, PasswordHasher};

fn password_benches(c: &mut Criterion) {
    let hasher = PasswordHasher::default();
    let password = SecretString::from("correct horse battery staple");
    let hash = hasher.hash(&password).expect("hash");
    let bcrypt_hash =
        PasswordHash::parse(bcrypt::hash("correct horse battery staple", 12).expect("bcrypt hash"))
            .expect("parse bcrypt");

    let mut group = c.benchmark_group("password");
    group.sample_size(20);
    group.bench_function("argon2id_hash_default", |b| {
        b.iter(|| hasher.hash(&password).expect("hash"))
    });
    group.bench_function("argon2id_verify_default", |b| {
        b.iter(|| assert!(hasher.verify(&password, &hash).expect("verify")))
    });
    group.sample_size(10);
    group.bench_function("bcrypt_cost12_verify", |b| {
        b.iter(|| assert!(hasher.verify(&password, &bcrypt_hash).expect("verify")))
    });

    // 32 verifications started at once through the async API: the figure is the wall time for
    // all of them, which the permit count (one per core) bounds from below.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    group.bench_function("argon2id_verify_default_32_concurrent_async", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut tasks = Vec::with_capacity(32);
            for _ in 0..32 {
                let (hasher, password, hash) = (hasher.clone(), password.clone(), hash.clone());
                tasks.push(tokio::spawn(async move {
                    hasher.verify_async(&password, &hash).await
                }));
            }
            for task in tasks {
                assert!(task.await.expect("join").expect("verify"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, password_benches);
criterion_main!(benches);
