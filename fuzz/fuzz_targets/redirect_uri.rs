//! `provider::redirect_uri`: `check_registrable` (what a client may register) and `matches`
//! (whether a presented URI is one of the registered ones).
//!
//! Input: NUL-separated: registered URIs (newline-separated), then the presented URI.
//!
//! Invariants: a registrable URI is at most 2048 bytes, has no `*`, `#` or user information,
//! is `https` with a host or `http` to a loopback IP literal, and is exactly what the URL parser
//! writes for it; a presented URI matches a list of registrable URIs only if it is one of them
//! or differs from a registered loopback URI in the port alone, and then it is registrable
//! itself (so matching never lets a URI through that could not have been registered).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenward::provider::redirect_uri::{MAX_REDIRECT_URI_BYTES, check_registrable, matches};
use url::{Host, Url};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (registered, presented) = text.split_once('\0').unwrap_or((&text, ""));
    let mut ok = Vec::new();
    for uri in registered.split('\n') {
        let verdict = check_registrable(uri);
        assert_eq!(
            verdict.is_ok(),
            registrable(uri),
            "check_registrable({uri:?}) = {verdict:?}"
        );
        if verdict.is_ok() {
            ok.push(uri.to_owned());
        }
    }
    let matched = matches(&ok, presented);
    let expected = ok
        .iter()
        .any(|r| r == presented || same_but_port(r, presented));
    assert_eq!(
        matched,
        expected && presented.len() <= MAX_REDIRECT_URI_BYTES,
        "matches"
    );
    if matched {
        assert!(
            check_registrable(presented).is_ok(),
            "matched {presented:?}, which could not be registered"
        );
    }
});

fn loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

fn registrable(uri: &str) -> bool {
    if uri.len() > MAX_REDIRECT_URI_BYTES || uri.contains('*') || uri.contains('#') {
        return false;
    }
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    let scheme_ok = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => loopback(&url),
        _ => false,
    };
    scheme_ok && url.username().is_empty() && url.password().is_none() && url.as_str() == uri
}

fn same_but_port(registered: &str, presented: &str) -> bool {
    let strip = |s: &str| {
        let mut url = Url::parse(s).ok()?;
        if url.scheme() != "http" || !loopback(&url) || url.as_str() != s {
            return None;
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return None;
        }
        url.set_port(None).ok()?;
        Some(url.to_string())
    };
    strip(registered).is_some_and(|r| Some(r) == strip(presented))
}
