//! Soak test with faults (issue 18, part 3); run through `scripts/soak.sh`.
//!
//! Starts a private redis-server, a fresh PostgreSQL database and two instances of an example
//! server sharing both, drives mixed load at the two instances (logins, validations, refreshes,
//! concurrent duplicate refreshes, revocations, logout-alls, and probes of tokens that must stay
//! refused), restarts Redis and PostgreSQL meanwhile, then checks its own records:
//!
//! 1. no token accepted that should have been refused (revoked access token, token of a revoked
//!    login, token from before a completed logout-all, refresh token redeemed before);
//! 2. no refresh token redeemed twice;
//! 3. every answer 2xx, 4xx or 503, and no connection error;
//! 4. both instances healthy within 5 s after each store restart completes;
//! 5. resident memory flat over the second half of the run.
//!
//! Arguments: `SECONDS [OUT_MD]`. Environment: `SOAK_SERVER_BIN` (required), `SOAK_COMMAND` (the
//! command line written into the report), `SOAK_WORKERS` (default 6), `SOAK_KEEP=1` (keep the work
//! directory with the logs even when every check passes).
//!
//! The driver's parts: `config` (arguments, environment, server command line), `users`, `load`
//! (workers and the requests they record into `records`), `processes` (servers, Redis,
//! PostgreSQL), `faults` (the store restarts), `checks` and `report`.

mod checks;
mod config;
mod faults;
mod load;
mod processes;
mod records;
mod report;
mod users;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use config::Config;
use load::{Ctx, health_poller, worker};
use processes::{Cleanup, Redis, free_port, psql, rss_kib, sample_rss, start_server};
use records::RssSample;

#[tokio::main]
async fn main() {
    let Config {
        duration,
        out_md,
        bin,
        command,
        workers,
        profile,
    } = Config::from_env();
    let pid = std::process::id();
    let work = std::env::temp_dir().join(format!("tw_soak_{pid}"));
    std::fs::create_dir_all(&work).unwrap();
    let db = format!("tw_soak_{pid}");
    let wall_start = Instant::now();
    let started_at = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();

    assert!(
        psql(&format!("CREATE DATABASE {db}")),
        "could not create database {db}"
    );
    let mut cleanup = Cleanup {
        db: db.clone(),
        dropped: false,
    };

    let mut redis = Redis {
        child: None,
        port: free_port(),
        log: work.join("redis.log"),
    };
    redis.start().await;

    let users = users::soak_users(pid);
    users::write_users_file(&work.join("users.json"), &users);

    let server_args = config::server_args(&db, redis.port, &work);
    // One after the other: the first creates the schema, the users and the shared key file.
    let s0 = start_server(&bin, &server_args, &work.join("server-0.log")).await;
    let s1 = start_server(&bin, &server_args, &work.join("server-1.log")).await;
    let startup = wall_start.elapsed().as_secs_f64();
    let pids = [s0.pid, s1.pid];
    println!(
        "soak: servers {} (pid {}) and {} (pid {}), redis port {}, database {db}, {duration} s, {workers} workers",
        s0.base, s0.pid, s1.base, s1.pid, redis.port
    );

    let ctx = Arc::new(Ctx::new([s0.base.clone(), s1.base.clone()], users));

    // Memory samples.
    let rss: Arc<Mutex<Vec<RssSample>>> = Arc::new(Mutex::new(Vec::new()));
    let sampler = tokio::spawn(sample_rss(ctx.clone(), rss.clone(), pids));
    let poller = tokio::spawn(health_poller(ctx.clone()));
    let handles: Vec<_> = (0..workers)
        .map(|i| tokio::spawn(worker(ctx.clone(), i)))
        .collect();

    let probe = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let faults = faults::inject(duration, &ctx, &probe, &mut redis).await;
    tokio::time::sleep_until((ctx.start + Duration::from_secs_f64(duration)).into()).await;
    ctx.stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.await;
    }
    let _ = poller.await;
    let _ = sampler.await;
    let load_end = ctx.now();
    rss.lock().unwrap().push((load_end, pids.map(rss_kib)));
    let mut final_health = [None, None];
    for (health, base) in final_health.iter_mut().zip(&ctx.bases) {
        *health = probe
            .get(format!("{base}/health"))
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
    }

    // Shut down: SIGTERM, exit status 0 expected.
    let mut exits = Vec::new();
    for s in [s0, s1] {
        exits.push(s.terminate().await);
    }
    redis.stop().await;
    cleanup.dropped = psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));

    let log = std::mem::take(&mut *ctx.log.lock().unwrap());
    let rss = rss.lock().unwrap().clone();
    let findings = checks::check(&log, &faults, &rss, duration, final_health, &exits);
    let report = report::render(findings, &faults, &rss, final_health, &exits);
    let total = wall_start.elapsed().as_secs_f64();

    let md = report::markdown(
        &report::Run {
            command: &command,
            started_at: &started_at,
            duration,
            workers,
            total,
            startup,
            bin: &bin,
            profile,
            faults: &faults,
        },
        &report,
    );
    print!("{}", report.text);
    println!(
        "soak: start-up {startup:.1} s, end to end {total:.1} s; work directory {}",
        work.display()
    );
    if let Some(path) = out_md {
        std::fs::write(&path, md).expect("write the report");
        println!("soak: wrote {}", path.display());
    }
    if report.pass {
        println!("soak: PASS");
        if std::env::var_os("SOAK_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&work);
        }
    } else {
        println!("soak: FAIL (logs kept in {})", work.display());
        std::process::exit(1);
    }
}
