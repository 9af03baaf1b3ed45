//! The flags and environment variables of the servers (docs/API.md).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;

/// Server configuration. No `Debug`: database and Redis URLs can carry passwords.
#[derive(Parser, Clone)]
#[command(version, about = "A tokenward example server (the API: docs/API.md)")]
pub struct Config {
    /// Listen address (port 0 picks a free port; the address is printed on start).
    #[arg(long, env = "TOKENWARD_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// User store and, without Redis, revocation store: sqlite://PATH, postgres://..., memory:.
    #[arg(
        long,
        env = "TOKENWARD_DATABASE_URL",
        default_value = "sqlite://tokenward.db"
    )]
    pub database_url: String,

    /// Revocations, refresh-token use and login throttling go here, shared by every instance.
    #[arg(long, env = "TOKENWARD_REDIS_URL")]
    pub redis_url: Option<String>,

    /// JSON array of users created at start when absent (existing users are left as they are).
    #[arg(long, env = "TOKENWARD_USERS")]
    pub users: Option<PathBuf>,

    /// Signing keys; generated on first start and kept. Default: tokenward-key.json next to the
    /// SQLite database (the working directory for PostgreSQL; in memory for `memory:`).
    #[arg(long, env = "TOKENWARD_KEY_FILE")]
    pub key_file: Option<PathBuf>,

    /// Access token lifetime in seconds.
    #[arg(long, env = "TOKENWARD_ACCESS_TTL", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub access_ttl: u64,

    /// Refresh token lifetime in seconds.
    #[arg(long, env = "TOKENWARD_REFRESH_TTL", default_value_t = 1_209_600,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub refresh_ttl: u64,

    /// Failed password attempts per username from one client address per window before 429
    /// (ten times as many from all addresses lock the username everywhere).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_failed_logins: u32,

    /// Throttle window in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub throttle_window: u64,

    /// Login attempts per client address per window before 429, whatever usernames it tries
    /// (counted before the check; a successful login gives its attempt back). Behind a reverse proxy, also pass --trusted-proxy, or every
    /// client counts as the proxy.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_logins_per_client: u32,

    /// A reverse proxy whose `X-Forwarded-For` names the client (repeat for several). Requests
    /// from other peers are counted by their own address, whatever they send.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Logins that may wait for a password-hashing slot (default: 32 per core); past that a
    /// login is answered 503 with `Retry-After` at once instead of queueing without end.
    #[arg(long)]
    pub max_queued_logins: Option<usize>,

    /// Seconds a client has to send a request's headers, the first on a connection or the next
    /// on a kept-alive one; a connection that sends nothing for this long is closed, so slow or
    /// idle clients cannot hold the server's connections.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_timeout: u64,

    /// Open connections the server accepts at once; past it new connections are closed (axum) or
    /// wait in the listen backlog (actix-web).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Serve Prometheus metrics at `GET /metrics` (logins, validations, refresh reuse, the
    /// hashing queue, store call latency). Off by default: put it behind your network's edge.
    #[arg(long)]
    pub metrics: bool,

    /// How log lines look on standard error: `pretty` for people, `json` for collectors. Which
    /// lines: `RUST_LOG` (default `info`; security events have target `tokenward::security`).
    #[arg(long, value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Seconds a request may take, body included, before it is answered 503.
    #[arg(long, env = "TOKENWARD_REQUEST_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub request_timeout: u64,

    /// The issuer URL: the `iss` of every token and of authorization responses (default
    /// `http://<bound address>`). No trailing slash.
    #[arg(long, env = "TOKENWARD_ISSUER")]
    pub issuer: Option<String>,

    /// Accept a plain-http --issuer or --upstream-issuer on a host that is not loopback
    /// (127.0.0.0/8, ::1, localhost). For closed test networks only: codes, tokens and cookies
    /// would cross the network in clear.
    #[arg(long)]
    pub allow_insecure_http_issuer: bool,

    /// JSON array of OAuth clients inserted at start when absent (docs/API.md, "Clients").
    #[arg(long, env = "TOKENWARD_CLIENTS")]
    pub clients: Option<PathBuf>,

    /// A client that is a resource server (an API that accepts this server's tokens): it may
    /// introspect any token and learns its username. Repeat for several. Other confidential
    /// clients introspect only their own tokens.
    #[arg(long = "resource-server", value_name = "CLIENT_ID")]
    pub resource_servers: Vec<String>,

    /// The first-party password grant at /token; `off` leaves only the code flow.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub password_grant: Switch,

    /// An OpenID provider users may log in with (its issuer URL; discovery from
    /// `<URL>/.well-known/openid-configuration`). Register `<issuer>/upstream/callback` there.
    #[arg(long, env = "TOKENWARD_UPSTREAM_ISSUER")]
    pub upstream_issuer: Option<String>,

    /// This server's client id at the upstream provider.
    #[arg(
        long,
        env = "TOKENWARD_UPSTREAM_CLIENT_ID",
        requires = "upstream_issuer"
    )]
    pub upstream_client_id: Option<String>,

    /// This server's client secret there (prefer the environment variable: flags show in `ps`).
    #[arg(long, env = "TOKENWARD_UPSTREAM_CLIENT_SECRET", hide_env_values = true)]
    pub upstream_client_secret: Option<String>,

    /// The login page's button label (default: the provider's host).
    #[arg(long)]
    pub upstream_name: Option<String>,

    /// Create a local user at a first upstream login that matches no user; `off` refuses such
    /// a login (an error page).
    #[arg(long, value_enum, default_value_t = Switch::Off)]
    pub upstream_create_users: Switch,

    /// Link a first upstream login to the one local user whose email the provider says it
    /// verified (never to a user with a link from that provider already). Off by default:
    /// whoever controls that address there would log in as the local user for good.
    #[arg(long, value_enum, default_value_t = Switch::Off, num_args = 0..=1,
          default_missing_value = "on")]
    pub upstream_link_by_email: Switch,

    /// With --upstream-link-by-email: ask for the local user's password once, in the same
    /// browser, before the link is written.
    #[arg(long, value_enum, default_value_t = Switch::Off, num_args = 0..=1,
          default_missing_value = "on")]
    pub upstream_link_needs_password: Switch,

    /// Scopes of the users --upstream-create-users creates (space-separated; default none, so
    /// they get only the OpenID identity scopes until an operator grants more).
    #[arg(long, default_value = "")]
    pub upstream_user_scopes: String,
}

/// `on` or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// The shape of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, with the request's span fields.
    Json,
}

impl Config {
    /// Where the signing keys live; `None` means in memory only (`memory:` without a key file).
    pub fn key_file_path(&self) -> Option<PathBuf> {
        if let Some(path) = &self.key_file {
            return Some(path.clone());
        }
        let name = "tokenward-key.json";
        if self.database_url == "memory:" {
            return None;
        }
        let Some(rest) = self.database_url.strip_prefix("sqlite:") else {
            return Some(PathBuf::from(name));
        };
        let path = rest.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() || path == ":memory:" {
            return None;
        }
        let dir = Path::new(path).parent().unwrap_or(Path::new(""));
        Some(dir.join(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        let mut argv = vec!["server"];
        argv.extend_from_slice(args);
        Config::try_parse_from(argv).unwrap()
    }

    #[test]
    fn key_file_sits_next_to_the_database() {
        assert_eq!(
            config(&[]).key_file_path(),
            Some(PathBuf::from("tokenward-key.json"))
        );
        assert_eq!(
            config(&["--database-url", "sqlite:///var/lib/tw/users.db?mode=rwc"]).key_file_path(),
            Some(PathBuf::from("/var/lib/tw/tokenward-key.json"))
        );
        assert_eq!(config(&["--database-url", "memory:"]).key_file_path(), None);
        assert_eq!(
            config(&["--database-url", "memory:", "--key-file", "k.json"]).key_file_path(),
            Some(PathBuf::from("k.json"))
        );
    }

    #[test]
    fn upstream_linking_by_email_is_off_unless_asked_for() {
        let default = config(&[]);
        assert_eq!(default.upstream_link_by_email, Switch::Off);
        assert_eq!(default.upstream_link_needs_password, Switch::Off);
        let bare = config(&["--upstream-link-by-email", "--upstream-link-needs-password"]);
        assert_eq!(bare.upstream_link_by_email, Switch::On);
        assert_eq!(bare.upstream_link_needs_password, Switch::On);
        let off = config(&["--upstream-link-by-email", "off"]);
        assert_eq!(off.upstream_link_by_email, Switch::Off);
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for args in [
            &["--access-ttl", "0"][..],
            &["--bind", "nowhere"],
            &["--max-failed-logins", "-1"],
            &["--no-such-flag"],
        ] {
            let mut argv = vec!["server"];
            argv.extend_from_slice(args);
            let err = Config::try_parse_from(argv).err().unwrap();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }
}
