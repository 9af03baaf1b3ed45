//! Redirect URIs: what a client may register, and whether a presented one is registered.
//!
//! Registered URIs are compared with presented ones as exact strings (RFC 9700 §4.1.3): no
//! prefix, case, path or query normalisation, because every such leniency has let an attacker
//! steer a code to a URI they control. The one exception is RFC 8252 §7.3: a native app's
//! loopback URI (`http://127.0.0.1/...`, `http://[::1]/...`) matches with any port, since the
//! app binds whatever port is free.

use url::{Host, Url};

/// Why a redirect URI cannot be registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectUriError {
    /// Not an absolute URL.
    #[error("redirect URI is not an absolute URL")]
    NotAbsolute,
    /// Has a `#fragment` (RFC 6749 §3.1.2).
    #[error("redirect URI has a fragment")]
    Fragment,
    /// Contains `*`: wildcards are never matched.
    #[error("redirect URI contains a wildcard")]
    Wildcard,
    /// Carries user information (`user@host`), a way to disguise the real host.
    #[error("redirect URI has user information")]
    UserInfo,
    /// Not `https`, and not `http` to a loopback IP literal.
    #[error("redirect URI must be https (plain http only to 127.0.0.1 or [::1])")]
    NotHttps,
    /// Longer than [`MAX_REDIRECT_URI_BYTES`].
    #[error("redirect URI is too long")]
    TooLong,
}

/// The longest redirect URI registered or accepted.
pub const MAX_REDIRECT_URI_BYTES: usize = 2048;

/// Checks that `uri` may be registered: absolute, no fragment, no wildcard, no user
/// information, `https` or `http` to a loopback IP literal (`localhost` is not accepted: a
/// name can resolve elsewhere, RFC 8252 §8.3). The string is kept exactly as given; the check
/// also refuses strings the URL parser would rewrite (so what is compared is what was meant).
pub fn check_registrable(uri: &str) -> Result<(), RedirectUriError> {
    if uri.len() > MAX_REDIRECT_URI_BYTES {
        return Err(RedirectUriError::TooLong);
    }
    if uri.contains('*') {
        return Err(RedirectUriError::Wildcard);
    }
    let url = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectUriError::UserInfo);
    }
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if is_loopback_literal(&url) => {}
        _ => return Err(RedirectUriError::NotHttps),
    }
    // A URI the parser normalises (`HTTPS://`, `/a/../b`, default ports) would be registered in
    // one spelling and compared in another: refuse it so the registered string is canonical.
    if url.as_str() != uri {
        return Err(RedirectUriError::NotAbsolute);
    }
    Ok(())
}

/// Whether `presented` is one of `registered`: the same string, or, for a registered loopback
/// URI, the same string but for the port.
pub fn matches(registered: &[String], presented: &str) -> bool {
    if presented.len() > MAX_REDIRECT_URI_BYTES {
        return false;
    }
    registered.iter().any(|uri| {
        uri == presented
            || (is_loopback_uri(uri)
                && without_port(uri).is_some_and(|r| Some(r) == without_port(presented)))
    })
}

fn is_loopback_literal(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// Whether `a` and `b` are URLs of one origin (scheme, host and port).
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// Whether `uri` is `http` to a loopback IP literal: a native app's redirect (RFC 8252 §7.3).
pub(crate) fn is_loopback_uri(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| url.scheme() == "http" && is_loopback_literal(&url))
}

/// The URI as the parser writes it with the port removed, for loopback URIs only; `None` for
/// anything else, or for a string the parser would rewrite (it is then not the registered one).
fn without_port(uri: &str) -> Option<String> {
    let mut url = Url::parse(uri).ok()?;
    if url.scheme() != "http" || !is_loopback_literal(&url) || url.fragment().is_some() {
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    if url.as_str() != uri {
        return None;
    }
    url.set_port(None).ok()?;
    Some(url.into())
}
