//! The five checks, computed from the records alone after the load: nothing refused was accepted,
//! no refresh token redeemed twice, only 2xx/4xx/503 answers, recovery within the bound after
//! every restart, flat memory. Separate from the report so that what passes is decided in one
//! place and the report only words it.

use std::collections::{BTreeMap, HashMap};

use crate::faults::Fault;
use crate::records::{Kind, Log, Req, RssSample, is_ok, status_name};

/// Recovery bound after a store restart completes.
pub const RECOVERY_BOUND: f64 = 5.0;

/// Memory bound over the second half: growth above both fails.
pub const RSS_GROWTH_PCT: f64 = 10.0;

pub const RSS_GROWTH_KIB: u64 = 8 * 1024;

/// What the checks found: the figures the report shows, and each check's verdict.
pub struct Findings<'a> {
    /// Answers by request kind and status.
    pub counts: BTreeMap<Kind, BTreeMap<String, usize>>,
    pub requests: usize,
    pub tokens: usize,
    /// Check 1: uses accepted after their refusal point, by reason.
    pub violations: BTreeMap<&'static str, Vec<String>>,
    pub n_viol: usize,
    /// Check 1: uses judged, by refusal point (revoked access token, revoked login, logout-all,
    /// earlier redemption, Redis data loss).
    pub checked: [usize; 5],
    /// Check 2: refresh tokens with more than one 200 redemption, and their redemptions.
    pub twice: Vec<(usize, Vec<&'a Req>)>,
    pub redeemed: usize,
    pub dup_pairs: usize,
    pub dup_one: usize,
    pub dup_both: usize,
    /// Check 3: answers other than 2xx, 4xx and 503, and connection errors.
    pub bad: Vec<&'a Req>,
    /// Check 5: the samples nearest 25, 50, 75 and 100 % of the run, and each instance's
    /// second-half growth (KiB, %).
    pub quarters: Vec<(f64, Option<&'a RssSample>)>,
    pub growth: [Option<(f64, f64)>; 2],
    /// Verdicts of checks 1 to 5.
    pub passed: [bool; 5],
    pub exits_ok: bool,
}

impl Findings<'_> {
    /// Whether every check passed (the servers' exit statuses are reported, not judged).
    pub fn pass(&self) -> bool {
        self.passed.iter().all(|ok| *ok)
    }
}

/// Runs the checks on the records of a run.
pub fn check<'a>(
    log: &'a Log,
    faults: &[Fault],
    rss: &'a [RssSample],
    duration: f64,
    final_health: [Option<u16>; 2],
    exits: &[Option<i32>],
) -> Findings<'a> {
    // Counts by kind and status.
    let mut counts: BTreeMap<Kind, BTreeMap<String, usize>> = BTreeMap::new();
    for r in &log.reqs {
        *counts
            .entry(r.kind)
            .or_default()
            .entry(status_name(r))
            .or_default() += 1;
    }

    // Check 1: tokens accepted that should have been refused.
    let mut revoked_at: HashMap<usize, f64> = HashMap::new();
    let mut lineage_revoked_at: HashMap<usize, f64> = HashMap::new();
    let mut logouts: HashMap<usize, Vec<(f64, f64)>> = HashMap::new();
    let mut redeemed: HashMap<usize, Vec<&Req>> = HashMap::new();
    for r in &log.reqs {
        let Some(t) = r.token else { continue };
        match r.kind {
            Kind::RevokeAccess if r.status == Some(200) => {
                let e = revoked_at.entry(t).or_insert(f64::MAX);
                *e = e.min(r.done);
            }
            Kind::RevokeRefresh if r.status == Some(200) => {
                let e = lineage_revoked_at
                    .entry(log.toks[t].lineage)
                    .or_insert(f64::MAX);
                *e = e.min(r.done);
            }
            Kind::LogoutAll if is_ok(r.status) => {
                logouts.entry(r.user).or_default().push((r.sent, r.done));
            }
            k if k.redeems() && r.status == Some(200) => redeemed.entry(t).or_default().push(r),
            _ => {}
        }
    }
    let first_redeem: HashMap<usize, f64> = redeemed
        .iter()
        .map(|(t, rs)| (*t, rs.iter().map(|r| r.done).fold(f64::MAX, f64::min)))
        .collect();
    let mut violations: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut checked = [0usize; 5];
    for r in &log.reqs {
        let Some(t) = r.token else { continue };
        if !r.kind.accepts_token() {
            continue;
        }
        let tok = &log.toks[t];
        let accepted = is_ok(r.status);
        let describe = |why: &str| {
            format!(
                "{why}: {} of token #{t} ({} of user {}, login #{}, issued {:.3}-{:.3} s) to instance {} sent {:.3} s, answered {} at {:.3} s",
                r.kind.name(),
                if tok.access { "access" } else { "refresh" },
                tok.user,
                tok.lineage,
                tok.issued_sent,
                tok.issued_done,
                r.inst,
                r.sent,
                status_name(r),
                r.done
            )
        };
        if let Some(at) = revoked_at.get(&t).filter(|at| **at < r.sent) {
            checked[0] += 1;
            if accepted {
                violations
                    .entry("revoked access token accepted")
                    .or_default()
                    .push(describe(&format!("revoked at {at:.3} s")));
            }
        }
        if let Some(at) = lineage_revoked_at
            .get(&tok.lineage)
            .filter(|at| **at < r.sent)
        {
            checked[1] += 1;
            if accepted {
                violations
                    .entry("token of a revoked login accepted")
                    .or_default()
                    .push(describe(&format!("login revoked at {at:.3} s")));
            }
        }
        // After Redis lost its data, tokens issued before must be refused (the epoch).
        if let Some(f) = faults
            .iter()
            .find(|f| f.what == "redis" && tok.issued_done < f.at && f.completed < r.sent)
        {
            checked[4] += 1;
            if accepted {
                violations
                    .entry("token from before a Redis data loss accepted")
                    .or_default()
                    .push(describe(&format!(
                        "redis restarted {:.3}-{:.3} s",
                        f.at, f.completed
                    )));
            }
        }
        if let Some(list) = logouts.get(&tok.user)
            && let Some((s, d)) = list
                .iter()
                .find(|(s, d)| tok.issued_done < *s && *d < r.sent)
        {
            checked[2] += 1;
            if accepted {
                violations
                    .entry("token from before a logout-all accepted")
                    .or_default()
                    .push(describe(&format!(
                        "logout-all sent {s:.3} s, done {d:.3} s"
                    )));
            }
        }
        if r.kind.redeems()
            && let Some(at) = first_redeem.get(&t).filter(|at| **at < r.sent)
        {
            checked[3] += 1;
            if accepted {
                violations
                    .entry("refresh token redeemed again after a redemption")
                    .or_default()
                    .push(describe(&format!("first redeemed by {at:.3} s")));
            }
        }
    }
    // Check 2: at most one redemption per refresh token.
    let twice: Vec<(usize, Vec<&Req>)> = redeemed
        .iter()
        .filter(|(_, rs)| rs.len() > 1)
        .map(|(t, rs)| (*t, rs.clone()))
        .collect();
    let dup_pairs = log
        .reqs
        .iter()
        .filter(|r| r.kind == Kind::RefreshDup)
        .count()
        / 2;
    let dup_both = {
        let mut by: HashMap<usize, usize> = HashMap::new();
        for r in log
            .reqs
            .iter()
            .filter(|r| r.kind == Kind::RefreshDup && r.status == Some(200))
        {
            *by.entry(r.token.unwrap()).or_default() += 1;
        }
        by.values().filter(|n| **n > 1).count()
    };
    let dup_one = {
        let mut by: HashMap<usize, usize> = HashMap::new();
        for r in log
            .reqs
            .iter()
            .filter(|r| r.kind == Kind::RefreshDup && r.status == Some(200))
        {
            *by.entry(r.token.unwrap()).or_default() += 1;
        }
        by.values().filter(|n| **n == 1).count()
    };
    // Check 3: answers.
    let bad: Vec<&Req> = log
        .reqs
        .iter()
        .filter(|r| match r.status {
            Some(s) if r.error.is_none() => {
                !((200..300).contains(&s) || (400..500).contains(&s) || s == 503)
            }
            _ => true,
        })
        .collect();

    let n_viol: usize = violations.values().map(Vec::len).sum();
    let c1 = n_viol == 0;
    let c2 = twice.is_empty();
    let c3 = bad.is_empty();
    let c4 = faults.iter().all(|f| {
        f.ok && f
            .recovery
            .iter()
            .all(|r| r.is_some_and(|r| r <= RECOVERY_BOUND))
    }) && final_health == [Some(200), Some(200)];
    // Check 5: memory, samples nearest to 25, 50, 75 and 100 % of the run.
    let nearest = |f: f64| -> Option<&'a (f64, [Option<u64>; 2])> {
        rss.iter().min_by(|a, b| {
            (a.0 - f * duration)
                .abs()
                .total_cmp(&(b.0 - f * duration).abs())
        })
    };
    let quarters: Vec<(f64, Option<&'a RssSample>)> = [0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|f| (*f, nearest(*f)))
        .collect();
    let mut growth = [None, None];
    let mut c5 = true;
    for (inst, grown) in growth.iter_mut().enumerate() {
        let half = quarters[1].1.and_then(|s| s.1[inst]);
        let end = rss.last().and_then(|s| s.1[inst]);
        match (half, end) {
            (Some(h), Some(e)) => {
                let g = e as f64 - h as f64;
                let pct = 100.0 * g / h as f64;
                *grown = Some((g, pct));
                if pct > RSS_GROWTH_PCT && g > RSS_GROWTH_KIB as f64 {
                    c5 = false;
                }
            }
            _ => c5 = false,
        }
    }
    let exits_ok = exits.iter().all(|e| *e == Some(0));

    Findings {
        counts,
        requests: log.reqs.len(),
        tokens: log.toks.len(),
        violations,
        n_viol,
        checked,
        redeemed: redeemed.len(),
        twice,
        dup_pairs,
        dup_one,
        dup_both,
        bad,
        quarters,
        growth,
        passed: [c1, c2, c3, c4, c5],
        exits_ok,
    }
}
