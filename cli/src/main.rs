//! `tokenward`: the operator's tool for the tokenward library. Exit status 0 = yes/ok,
//! 1 = no/invalid, 2 = usage or I/O error (one line on stderr).

#![forbid(unsafe_code)]

mod clients;
mod keys;
mod outcome;
mod password;
mod token;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokenward::keys::KeyAlgorithm;

use outcome::{Answer, Failure};

#[derive(Parser)]
#[command(
    name = "tokenward",
    version,
    about = "Passwords, keys, tokens, users and OAuth clients for tokenward"
)]
struct Cli {
    /// Print JSON for scripts instead of text for humans.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hash a password (read from stdin, or a prompt without echo) with argon2id.
    Hash,
    /// Check a password (stdin or prompt) against HASH: `ok`, `ok (needs rehash)` or `invalid`.
    Verify {
        /// A stored hash: argon2 PHC, bcrypt, Django or passlib PBKDF2-SHA256.
        hash: String,
    },
    /// Check a password (stdin or prompt) against the default policy for new passwords.
    CheckPolicy {
        /// The account it is for (a password may not contain its username).
        #[arg(long, default_value = "")]
        username: String,
    },
    /// Create a key file with one new signing key.
    Keygen {
        /// HS256, HS384, HS512, EdDSA, ES256 or RS256.
        #[arg(long, default_value = "EdDSA")]
        alg: KeyAlgorithm,
        /// The key file to create (refused if it exists).
        #[arg(long)]
        out: PathBuf,
        /// Also an RS256 key for OpenID Connect id_tokens (the servers add one at start when
        /// the file has none).
        #[arg(long)]
        id_token: bool,
    },
    /// Rotate or retire keys in a key file.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the public keys of a key file as a JWKS.
    Jwks {
        /// The key file.
        file: PathBuf,
    },
    /// Inspect tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage users in a server's database.
    Users {
        /// sqlite://PATH or postgres://... (as the servers' --database-url).
        #[arg(long, env = "TOKENWARD_DATABASE_URL", global = true)]
        database_url: Option<String>,
        /// The servers' Redis, if they use one (cutoffs are written there).
        #[arg(long, env = "TOKENWARD_REDIS_URL", global = true)]
        redis_url: Option<String>,
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Manage the OAuth clients of the authorization server, in its database.
    Clients {
        /// sqlite://PATH or postgres://... (as the servers' --database-url).
        #[arg(long, env = "TOKENWARD_DATABASE_URL", global = true)]
        database_url: Option<String>,
        #[command(subcommand)]
        command: ClientsCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new active key; the previous ones keep verifying until retired.
    Rotate {
        /// The key file.
        file: PathBuf,
        /// Algorithm of the new key (default: that of the current active key).
        #[arg(long)]
        alg: Option<KeyAlgorithm>,
    },
    /// Remove a verification key; tokens it signed stop verifying.
    Retire {
        /// The key file.
        file: PathBuf,
        /// The key id to retire (not the active one).
        // Generated kids are base64url, so one in 64 starts with '-'.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a token's header and claims WITHOUT verifying anything.
    Decode {
        /// The token.
        token: String,
    },
    /// Verify a token and print the exact reason if it is rejected.
    Verify {
        /// The token.
        token: String,
        /// The key file.
        #[arg(long)]
        keys: PathBuf,
        /// The expected issuer.
        #[arg(long)]
        iss: String,
        /// The expected audience.
        #[arg(long)]
        aud: String,
        /// Verify a refresh token (typ rt+jwt) instead of an access token.
        #[arg(long)]
        refresh: bool,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create the users of a JSON users file (the servers' --users format) that do not exist;
    /// with --update, also bring existing users in line with the file. One transaction.
    Import {
        /// The users file.
        file: PathBuf,
        /// Also change existing users; those whose hash, scopes or disabled flag change lose
        /// every token issued so far.
        #[arg(long)]
        update: bool,
    },
    /// List users (never their hashes).
    List,
    /// Add a user; the password comes from stdin or a prompt.
    Add {
        /// The username.
        username: String,
        /// Scopes (repeat the flag or separate with spaces).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Display name.
        #[arg(long)]
        full_name: Option<String>,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
    },
    /// Disable a user: no logins, and their tokens stop working.
    Disable {
        /// The username.
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        /// The username.
        username: String,
    },
    /// Set a user's password (stdin or prompt); their earlier tokens stop working.
    SetPassword {
        /// The username.
        username: String,
    },
    /// Revoke every token the user holds.
    RevokeAll {
        /// The username.
        username: String,
    },
    /// List the identities at other OpenID providers that log in as the user (issuer, subject,
    /// when linked).
    Links {
        /// The username.
        username: String,
    },
    /// Remove links of the user to identities at other OpenID providers: those logins no
    /// longer reach this user (their current sessions and tokens stay; see revoke-all).
    Unlink {
        /// The username.
        username: String,
        /// The provider's issuer, as `users links` shows it: every link from there.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        issuer: Option<String>,
        /// Only the identity with this subject at --issuer.
        #[arg(long, requires = "issuer")]
        subject: Option<String>,
        /// Every link of the user.
        #[arg(long)]
        all: bool,
    },
    /// Refuse every token issued so far, of every user (after restoring a backup of the
    /// database or of Redis: their revocations may be older than the tokens in circulation).
    RotateEpoch,
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register a client. Confidential unless --public: a new secret is printed once, and only
    /// its argon2id hash is stored. An existing id is refused and left as it is.
    Add {
        /// The id the client sends (1 to 128 printable ASCII characters, no spaces).
        #[arg(long)]
        client_id: String,
        /// Where codes may be sent, compared as exact strings: https, or http to 127.0.0.1 or
        /// [::1] (any port); no fragment or wildcard. Repeat for several.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// authorization_code, refresh_token, client_credentials (confidential clients only) or
        /// password (the resource owner's password: only for a client you trust with it).
        /// Repeat for several.
        #[arg(
            long = "grant-type",
            value_name = "GRANT",
            value_parser = clients::grant_type,
            default_values = ["authorization_code", "refresh_token"]
        )]
        grant_types: Vec<tokenward::provider::GrantType>,
        /// The most it may be granted (repeat the flag or separate with spaces).
        #[arg(long = "scope", visible_alias = "scopes", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Shown on the consent page (default: the client id).
        #[arg(long)]
        name: Option<String>,
        /// The deployment's own app: no consent page.
        #[arg(long)]
        first_party: bool,
        /// A browser or native app that cannot keep a secret: no secret, PKCE only.
        #[arg(long)]
        public: bool,
    },
    /// List clients (never their secret hashes).
    List,
    /// Remove a client.
    Remove {
        /// The client id.
        #[arg(long)]
        client_id: String,
    },
    /// Give a confidential client a new secret (printed once); the old one stops working.
    RotateSecret {
        /// The client id.
        #[arg(long)]
        client_id: String,
    },
}

fn main() -> ExitCode {
    // clap exits with status 2 on usage errors and 0 for --help / --version.
    let cli = Cli::parse();
    let answer = match cli.command {
        Command::Hash => password::hash(),
        Command::Verify { hash } => password::verify(&hash),
        Command::CheckPolicy { username } => password::check_policy(&username),
        Command::Keygen { alg, out, id_token } => keys::keygen(alg, &out, id_token),
        Command::Keys { command } => match command {
            KeysCommand::Rotate { file, alg } => keys::rotate(&file, alg),
            KeysCommand::Retire { file, kid } => keys::retire(&file, &kid),
        },
        Command::Jwks { file } => keys::jwks(&file),
        Command::Token { command } => match command {
            TokenCommand::Decode { token } => token::decode(&token),
            TokenCommand::Verify {
                token,
                keys,
                iss,
                aud,
                refresh,
            } => token::verify(&token, &keys, &iss, &aud, refresh),
        },
        Command::Users {
            database_url,
            redis_url,
            command,
        } => run_users(database_url, redis_url, command),
        Command::Clients {
            database_url,
            command,
        } => run_clients(database_url, command),
    };
    match answer {
        Ok(outcome) => outcome.finish(cli.json),
        Err(failure) => failure.finish(),
    }
}

fn run_users(
    database_url: Option<String>,
    redis_url: Option<String>,
    command: UsersCommand,
) -> Answer {
    let database_url = database_url.ok_or_else(|| {
        Failure::new("--database-url (or TOKENWARD_DATABASE_URL) is required for users commands")
    })?;
    let target = users::Target {
        database_url: &database_url,
        redis_url: redis_url.as_deref(),
    };
    let runtime = tokio::runtime::Runtime::new().map_err(outcome::fail("starting the runtime"))?;
    runtime.block_on(async {
        match command {
            UsersCommand::Import { file, update } => users::import(&target, &file, update).await,
            UsersCommand::List => users::list(&target).await,
            UsersCommand::Add {
                username,
                scopes,
                full_name,
                email,
            } => users::add(&target, &username, &scopes, full_name, email).await,
            UsersCommand::Disable { username } => {
                users::set_disabled(&target, &username, true).await
            }
            UsersCommand::Enable { username } => {
                users::set_disabled(&target, &username, false).await
            }
            UsersCommand::SetPassword { username } => users::set_password(&target, &username).await,
            UsersCommand::RevokeAll { username } => users::revoke_all(&target, &username).await,
            UsersCommand::Links { username } => users::links(&target, &username).await,
            UsersCommand::Unlink {
                username,
                issuer,
                subject,
                all,
            } => {
                let which = match (all, issuer) {
                    (true, _) => users::Unlink::All,
                    (false, Some(issuer)) => users::Unlink::From { issuer, subject },
                    (false, None) => return Err(Failure::new("unlink needs --issuer or --all")),
                };
                users::unlink(&target, &username, which).await
            }
            UsersCommand::RotateEpoch => users::rotate_epoch(&target).await,
        }
    })
}

fn run_clients(database_url: Option<String>, command: ClientsCommand) -> Answer {
    let database_url = database_url.ok_or_else(|| {
        Failure::new("--database-url (or TOKENWARD_DATABASE_URL) is required for clients commands")
    })?;
    // Clients live in the database only; Redis holds none of them.
    let target = users::Target {
        database_url: &database_url,
        redis_url: None,
    };
    let runtime = tokio::runtime::Runtime::new().map_err(outcome::fail("starting the runtime"))?;
    runtime.block_on(async {
        match command {
            ClientsCommand::Add {
                client_id,
                redirect_uris,
                grant_types,
                scopes,
                name,
                first_party,
                public,
            } => {
                let registration = clients::Registration {
                    client_id,
                    redirect_uris,
                    grant_types,
                    scopes,
                    name,
                    first_party,
                    public,
                };
                clients::add(&target, registration).await
            }
            ClientsCommand::List => clients::list(&target).await,
            ClientsCommand::Remove { client_id } => clients::remove(&target, &client_id).await,
            ClientsCommand::RotateSecret { client_id } => {
                clients::rotate_secret(&target, &client_id).await
            }
        }
    })
}
