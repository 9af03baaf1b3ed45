//! The faults injected while the load runs: Redis and PostgreSQL restarts on a fixed schedule,
//! with each instance's `/health` polled around every restart so that the checks can judge how
//! soon the servers recovered.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::load::Ctx;
use crate::processes::{Redis, restart_postgres};

/// One store restart and what the health polls saw around it.
pub struct Fault {
    pub what: &'static str,
    pub at: f64,
    pub completed: f64,
    pub ok: bool,
    pub recovery: [Option<f64>; 2],
    /// Non-200 health answers (or no answer) while polling around the restart.
    pub unhealthy_seen: [usize; 2],
    /// Per instance: first non-200 health request sent, last non-200 answered.
    pub outage: [Option<(f64, f64)>; 2],
}

/// When (as a fraction of the run) each store restarts: once each in a short run, twice each
/// otherwise.
pub fn schedule(duration: f64) -> Vec<(f64, &'static str)> {
    if duration < 120.0 {
        vec![(0.3, "redis"), (0.6, "postgres")]
    } else {
        vec![
            (0.15, "redis"),
            (0.35, "postgres"),
            (0.55, "redis"),
            (0.75, "postgres"),
        ]
    }
}

/// Restarts the stores on `schedule(duration)` and records how the instances recovered.
pub async fn inject(
    duration: f64,
    ctx: &Arc<Ctx>,
    probe: &reqwest::Client,
    redis: &mut Redis,
) -> Vec<Fault> {
    let mut faults = Vec::new();
    for (fraction, what) in schedule(duration) {
        let at = fraction * duration;
        tokio::time::sleep_until((ctx.start + Duration::from_secs_f64(at)).into()).await;
        let began = ctx.now();
        // Each instance's /health polled every 50 ms from before the restart until it answers
        // 200 to a request sent after the restart completed (at most 60 s after).
        let completed_at: Arc<Mutex<Option<f64>>> = Arc::new(Mutex::new(None));
        let pollers: Vec<_> = (0..2)
            .map(|inst| {
                let (probe, ctx, completed_at) = (probe.clone(), ctx.clone(), completed_at.clone());
                tokio::spawn(async move {
                    let mut seen: Vec<(f64, f64, Option<u16>)> = Vec::new();
                    loop {
                        let sent = ctx.now();
                        let status = probe
                            .get(format!("{}/health", ctx.bases[inst]))
                            .send()
                            .await
                            .ok()
                            .map(|r| r.status().as_u16());
                        let answered = ctx.now();
                        seen.push((sent, answered, status));
                        let completed = *completed_at.lock().unwrap();
                        if let Some(c) = completed
                            && ((status == Some(200) && sent >= c) || answered - c > 60.0)
                        {
                            return seen;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                })
            })
            .collect();
        let ok = if what == "redis" {
            redis.stop().await;
            redis.start().await;
            true
        } else {
            restart_postgres().await
        };
        let completed = ctx.now();
        *completed_at.lock().unwrap() = Some(completed);
        let mut recovery = [None, None];
        let mut unhealthy_seen = [0usize, 0usize];
        let mut outage = [None, None];
        for (inst, poller) in pollers.into_iter().enumerate() {
            let seen = poller.await.unwrap();
            recovery[inst] = seen
                .iter()
                .find(|(sent, _, st)| *st == Some(200) && *sent >= completed)
                .map(|(_, answered, _)| answered - completed);
            let bad: Vec<_> = seen.iter().filter(|(_, _, st)| *st != Some(200)).collect();
            unhealthy_seen[inst] = bad.len();
            if let (Some(first), Some(last)) = (bad.first(), bad.last()) {
                outage[inst] = Some((first.0, last.1));
            }
        }
        println!(
            "soak: {what} restarted at {began:.1} s (took {:.2} s{}), healthy again after {:?} s, non-200 health answers {:?}",
            completed - began,
            if ok { "" } else { ", FAILED" },
            recovery.map(|r| r.map(|r| (r * 1000.0).round() / 1000.0)),
            unhealthy_seen
        );
        faults.push(Fault {
            what,
            at: began,
            completed,
            ok,
            recovery,
            unhealthy_seen,
            outage,
        });
    }
    faults
}
