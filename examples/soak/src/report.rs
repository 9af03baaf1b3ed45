//! The report: the findings worded as markdown tables (also printed), framed by what ran and how
//! the figures are obtained, for `docs/RELIABILITY.md`. Wording only; what passes is decided in
//! `checks.rs`.

use std::fmt::Write as _;
use std::path::Path;

use crate::checks::{Findings, RECOVERY_BOUND, RSS_GROWTH_KIB, RSS_GROWTH_PCT};
use crate::config::{RSS_EVERY, USERS};
use crate::faults::Fault;
use crate::records::RssSample;

/// How the figures below are obtained, for the markdown report.
pub const METHOD: &str = "## What runs and what is checked

Each of the workers loops: a password login (8%), a validation `GET /users/me` of one of its
live sessions' access token (42%), a refresh (12%, or whenever the session's access token was
revoked), a concurrent duplicate refresh (6%: the same refresh token sent at once to both
instances), `POST /revoke` of an access token (6%) or of a refresh token (3%), `POST
/users/me/logout-all` (2%), and a probe (21%) re-sending a token it saw refused or spent (an
access token to `/users/me`, a refresh token to `/token`). Every request is recorded with the
instance, the token, the time it was sent and answered, and the answer. A `GET /health` of each
instance once a second is recorded too. The checks run on these records after the load:

1. A use (validation, refresh, logout-all) sent after a refusal point may not be answered 2xx.
   Refusal points: the 200 answer to `/revoke` of that access token; the 200 answer to `/revoke`
   of any refresh token of the same login (a refresh token revokes its whole login); the 204
   answer to a logout-all of the token's user, for tokens whose issuing answer came before that
   logout-all was sent; a 200 redemption of that refresh token; the completion of a Redis restart
   (all data lost), for tokens whose issuing answer came before the restart began. Tokens issued
   while the refusal was in flight are not judged. Refusals of valid tokens are not failures.
2. No refresh token has more than one 200 redemption (of the concurrent duplicates, at most one).
3. Every answer is 2xx, 4xx or 503; a connection error, a timeout (30 s) or a 5xx other than 503
   fails.
4. After each restart completes, each instance answers 200 to a `GET /health` sent after it
   within 5 s, and both answer 200 after the load.
5. VmRSS of both server processes (`/proc/PID/status`, every 5 s): the growth from the sample
   nearest 50% of the run to the last (after the load) may not exceed both 10% and 8 MiB.

";

/// Reading the figures, and running it; appended to the markdown report.
pub const NOTES: &str = "## Notes

- A Redis restart is SIGTERM to the private redis-server and a new one on the same port, with no
  persistence: every key is lost, which the servers must detect (the revocation epoch) and answer
  by refusing every earlier token (check 1's last figure counts such uses, all of which must be
  refused). The outage lasts tens of milliseconds, so the 50 ms health polls may see no 503.
- `pg_ctlcluster ... restart` (fast shutdown) returns a few seconds after PostgreSQL accepts
  connections again, so \"restart took\" overstates the outage; the window of non-200 health
  answers shows the outage as the servers saw it.
- 503 answers during a store outage are allowed (never a pass, never a 401); refusals of tokens
  that were valid (after a Redis data loss, or because a duplicate refresh revoked the login) are
  correct behaviour and not counted as failures.
- Not covered: restarts of the server processes themselves, network faults other than a stopped
  store, the actix-web server (`SOAK_SERVER_BIN=.../tokenward-actix`), release builds
  (`SOAK_SERVER_BIN=.../release/tokenward-axum`).
- CI: `bash scripts/soak.sh 60` (one restart of each store), with psql, redis-server and
  pg_ctlcluster installed, PostgreSQL on 127.0.0.1:5432 (trust, user postgres, database `test`)
  and a user allowed to restart it (root). Exit status 0 only when every check passes; the
  servers' and redis-server's logs are kept in `$TMPDIR/tw_soak_<pid>` when one fails
  (`SOAK_KEEP=1` keeps them always).
";

/// The findings as markdown, and whether every check passed.
pub struct Report {
    pub text: String,
    pub pass: bool,
}

/// Words the findings of a run.
pub fn render(
    findings: Findings<'_>,
    faults: &[Fault],
    rss: &[RssSample],
    final_health: [Option<u16>; 2],
    exits: &[Option<i32>],
) -> Report {
    let pass = findings.pass();
    let Findings {
        counts,
        requests,
        tokens,
        violations,
        n_viol,
        checked,
        twice,
        redeemed,
        dup_pairs,
        dup_one,
        dup_both,
        bad,
        quarters,
        growth,
        passed: [c1, c2, c3, c4, c5],
        exits_ok,
    } = findings;
    let mut out = String::new();

    let _ = writeln!(out, "## Requests by kind and answer\n");
    let _ = writeln!(out, "| kind | total | answers |");
    let _ = writeln!(out, "|---|---:|---|");
    for (kind, by) in &counts {
        let total: usize = by.values().sum();
        let answers: Vec<String> = by.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        let _ = writeln!(
            out,
            "| {} | {total} | {} |",
            kind.name(),
            answers.join(", ")
        );
    }
    let _ = writeln!(out, "| all | {} | {} tokens issued |\n", requests, tokens);

    let verdict = |ok: bool| if ok { "pass" } else { "**FAIL**" };
    let _ = writeln!(out, "## Checks\n");
    let _ = writeln!(out, "| # | check | figure | result |");
    let _ = writeln!(out, "|---|---|---|---|");
    let _ = writeln!(
        out,
        "| 1 | no token accepted that should have been refused | {n_viol} accepted; uses checked after the refusal point: {} of revoked access tokens, {} of tokens of revoked logins, {} of tokens from before a completed logout-all, {} redemptions of refresh tokens already redeemed, {} of tokens from before a Redis data loss | {} |",
        checked[0],
        checked[1],
        checked[2],
        checked[3],
        checked[4],
        verdict(c1)
    );
    let _ = writeln!(
        out,
        "| 2 | no refresh token redeemed twice | {} of {} redeemed refresh tokens redeemed more than once; concurrent duplicate pairs: {dup_pairs} sent, {dup_one} with exactly one 200, {dup_both} with two | {} |",
        twice.len(),
        redeemed,
        verdict(c2)
    );
    let _ = writeln!(
        out,
        "| 3 | every answer 2xx, 4xx or 503; no connection error | {} of {} otherwise | {} |",
        bad.len(),
        requests,
        verdict(c3)
    );
    let _ = writeln!(
        out,
        "| 4 | both instances healthy (GET /health 200) within {RECOVERY_BOUND} s after each restart completes | slowest {}; after the load: {:?} | {} |",
        faults
            .iter()
            .flat_map(|f| f.recovery)
            .map(|r| r.map_or("never (60 s)".to_owned(), |r| format!("{r:.3} s")))
            .max_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)))
            .unwrap_or_default(),
        final_health,
        verdict(c4)
    );
    let _ = writeln!(
        out,
        "| 5 | memory flat: second-half RSS growth not over {RSS_GROWTH_PCT}% and {} MiB | instance 0: {}, instance 1: {} | {} |",
        RSS_GROWTH_KIB / 1024,
        fmt_growth(growth[0]),
        fmt_growth(growth[1]),
        verdict(c5)
    );
    let _ = writeln!(
        out,
        "\nServer exit statuses after SIGTERM: {exits:?}{}.\n",
        if exits_ok { "" } else { " (expected 0)" }
    );

    let _ = writeln!(out, "## Restarts and recovery\n");
    let _ = writeln!(
        out,
        "Recovery: from the restart's completion (redis-server accepting connections again after SIGTERM and a fresh start on the same port, which loses every key; `pg_ctlcluster ... restart` returned) to the answer of the first `GET /health` sent after it that answered 200. Each instance's `/health` is polled every 50 ms from the restart's start; \"non-200 health answers\" counts the answers other than 200 (or none within 10 s) meanwhile, and the window runs from the first such request sent to the last such answer.\n"
    );
    let _ = writeln!(
        out,
        "| store | restart began | restart took | instance 0 healthy after | instance 1 healthy after | non-200 health answers (instance 0, 1) | their window |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|---|");
    for f in faults {
        let rec = |r: Option<f64>| r.map_or("not within 60 s".to_owned(), |r| format!("{r:.3} s"));
        let _ = writeln!(
            out,
            "| {} | {:.1} s | {:.2} s{} | {} | {} | {}, {} | {} |",
            f.what,
            f.at,
            f.completed - f.at,
            if f.ok { "" } else { " (command failed)" },
            rec(f.recovery[0]),
            rec(f.recovery[1]),
            f.unhealthy_seen[0],
            f.unhealthy_seen[1],
            f.outage
                .iter()
                .map(|o| o.map_or("-".to_owned(), |(a, b)| format!("{a:.2}-{b:.2} s")))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(out, "\n## Memory (VmRSS, MiB)\n");
    let _ = writeln!(out, "| point | time | instance 0 | instance 1 |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for (f, s) in &quarters {
        if let Some((t, v)) = s {
            let _ = writeln!(
                out,
                "| {:.0}% | {t:.0} s | {} | {} |",
                f * 100.0,
                mib(v[0]),
                mib(v[1])
            );
        }
    }
    let _ = writeln!(
        out,
        "\nAll samples (every {} s; time s: instance 0 / instance 1 MiB): {}\n",
        RSS_EVERY.as_secs(),
        rss.iter()
            .map(|(t, v)| format!("{t:.0}: {}/{}", mib(v[0]), mib(v[1])))
            .collect::<Vec<_>>()
            .join(", ")
    );

    if n_viol > 0 || !twice.is_empty() || !bad.is_empty() {
        let _ = writeln!(out, "## Failures (first 10 of each)\n");
        for (what, list) in &violations {
            let _ = writeln!(out, "- {what}: {}", list.len());
            for v in list.iter().take(10) {
                let _ = writeln!(out, "  - {v}");
            }
        }
        for (t, rs) in twice.iter().take(10) {
            let _ = writeln!(
                out,
                "- refresh token #{t} redeemed {} times: {}",
                rs.len(),
                rs.iter()
                    .map(|r| format!(
                        "{} instance {} sent {:.3} s answered {:.3} s",
                        r.kind.name(),
                        r.inst,
                        r.sent,
                        r.done
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        for r in bad.iter().take(10) {
            let _ = writeln!(
                out,
                "- {} to instance {} sent {:.3} s: {:?} {:?}",
                r.kind.name(),
                r.inst,
                r.sent,
                r.status,
                r.error
            );
        }
        let _ = writeln!(out);
    }
    Report { text: out, pass }
}

/// The facts about a run that head the markdown report.
pub struct Run<'a> {
    pub command: &'a str,
    pub started_at: &'a str,
    pub duration: f64,
    pub workers: usize,
    pub total: f64,
    pub startup: f64,
    pub bin: &'a Path,
    pub profile: &'a str,
    pub faults: &'a [Fault],
}

/// The whole markdown report: what ran, how it is checked, the findings, notes.
pub fn markdown(run: &Run<'_>, report: &Report) -> String {
    let Run {
        command,
        started_at,
        duration,
        workers,
        total,
        startup,
        bin,
        profile,
        faults,
    } = *run;
    let mut md = String::new();
    let _ = writeln!(md, "# Reliability: soak test with store restarts\n");
    let _ = writeln!(
        md,
        "Produced by `{command}` (`scripts/soak.sh`, driver `examples/soak`), {started_at}.\n"
    );
    let _ = writeln!(
        md,
        "- Load: {duration} s, {workers} concurrent workers, each request to one of two instances at random (duplicate refreshes: one to each, at once); end to end {total:.0} s including {startup:.1} s start-up."
    );
    let _ = writeln!(
        md,
        "- Server: `{}` ({profile} build), two instances, one PostgreSQL database (`tw_soak_<pid>` on 127.0.0.1:5432) and one private redis-server (no persistence), `--max-failed-logins 1000 --max-logins-per-client 100000`, {USERS} users (argon2id).",
        bin.display()
    );
    let _ = writeln!(
        md,
        "- Faults: {}.",
        faults
            .iter()
            .map(|f| format!("{} restart at {:.0} s", f.what, f.at))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Ok(revision) = std::env::var("SOAK_REVISION") {
        let _ = writeln!(md, "- Source: {revision}.");
    }
    let _ = writeln!(
        md,
        "- Machine: {} cores.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    md.push_str(METHOD);
    md.push_str(&report.text);
    md.push_str(NOTES);
    md
}

fn mib(k: Option<u64>) -> String {
    k.map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
}

fn fmt_growth(g: Option<(f64, f64)>) -> String {
    g.map_or("no samples".to_owned(), |(k, pct)| {
        format!("{:+.1} MiB ({pct:+.1}%)", k / 1024.0)
    })
}
