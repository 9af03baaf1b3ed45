//! Printing store URLs without their secrets: the password in the user-info and any query
//! parameter that carries one (`?password=`, `sslpassword=`, `token=`, ...).

use url::Url;

/// Query parameters whose values are secrets (matched case-insensitively, as substrings).
const SECRET_PARAMETERS: &[&str] = &["pass", "secret", "token", "key", "auth", "credential"];

/// `url` with every secret replaced by `***`, for error messages. A string that does not parse
/// as a URL is shown only up to its scheme when it could hold a secret.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else {
        return match raw.split_once("://") {
            Some((scheme, rest)) if rest.contains(['@', '?']) => format!("{scheme}://***"),
            _ => raw.to_owned(),
        };
    };
    if url.password().is_some() {
        // Only fails for URLs that cannot have a password, which this one has.
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let lower = name.to_ascii_lowercase();
                let secret = SECRET_PARAMETERS.iter().any(|s| lower.contains(s));
                let shown = if secret {
                    "***".to_owned()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), shown)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // The `***` markers come back percent-encoded; show them as written.
    url.to_string().replace("%2A%2A%2A", "***")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_hidden_wherever_they_are() {
        for (raw, shown) in [
            (
                "redis://user:hunter2@host:6379/0",
                "redis://user:***@host:6379/0",
            ),
            ("postgres://app:s3cret@db/app", "postgres://app:***@db/app"),
            ("redis://host:6379", "redis://host:6379"),
            ("redis://:pw@host", "redis://:***@host"),
            (
                "postgres://app@db/app?password=s3cret&sslmode=require",
                "postgres://app@db/app?password=***&sslmode=require",
            ),
            (
                "postgres://db/app?sslpassword=x1&user=app",
                "postgres://db/app?sslpassword=***&user=app",
            ),
            ("postgres://app:pa ss@db", "postgres://app:***@db"),
            ("postgres://app:s3cret@[::1/db", "postgres://***"),
            ("tokenward.db", "tokenward.db"),
        ] {
            assert_eq!(redact_url(raw), shown, "{raw}");
        }
    }
}
