//! What a run is told from outside (its arguments and the `SOAK_*` environment) and the fixed
//! settings the servers run with, in one place so that `scripts/soak.sh`, the servers' command
//! lines and the report's description of them cannot drift apart.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub const PG: &str = "postgres://postgres@127.0.0.1:5432";

pub const ISSUER: &str = "http://soak.test";

pub const USERS: usize = 8;
pub const RSS_EVERY: Duration = Duration::from_secs(5);

/// The run as `scripts/soak.sh` asks for it.
pub struct Config {
    pub duration: f64,
    pub out_md: Option<PathBuf>,
    pub bin: PathBuf,
    pub command: String,
    pub workers: usize,
    pub profile: &'static str,
}

impl Config {
    /// Reads `SECONDS [OUT_MD]` and the environment; panics on what it cannot use.
    pub fn from_env() -> Self {
        let args: Vec<String> = std::env::args().collect();
        let duration: f64 = args.get(1).map_or(600.0, |s| s.parse().expect("SECONDS"));
        let out_md = args.get(2).filter(|s| !s.is_empty()).map(PathBuf::from);
        let bin = PathBuf::from(std::env::var("SOAK_SERVER_BIN").expect("SOAK_SERVER_BIN"));
        let command = std::env::var("SOAK_COMMAND").unwrap_or_else(|_| args.join(" "));
        let workers: usize = std::env::var("SOAK_WORKERS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(6);
        let profile = if bin.components().any(|c| c.as_os_str() == "release") {
            "release"
        } else if bin.components().any(|c| c.as_os_str() == "debug") {
            "debug"
        } else {
            "unknown profile"
        };
        Config {
            duration,
            out_md,
            bin,
            command,
            workers,
            profile,
        }
    }
}

/// The command line both server instances get: the shared database, Redis and key file, and
/// limits high enough that the load never meets the login throttle.
pub fn server_args(db: &str, redis_port: u16, work: &Path) -> Vec<String> {
    [
        "--database-url",
        &format!("{PG}/{db}"),
        "--redis-url",
        &format!("redis://127.0.0.1:{redis_port}"),
        "--issuer",
        ISSUER,
        // soak.test is no loopback name: plain http allowed explicitly.
        "--allow-insecure-http-issuer",
        "--users",
        &work.join("users.json").display().to_string(),
        "--key-file",
        &work.join("key.json").display().to_string(),
        "--max-failed-logins",
        "1000",
        "--max-logins-per-client",
        "100000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
