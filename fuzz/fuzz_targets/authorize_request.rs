//! `GET /authorize`: `AuthorizationQuery::parse`, `client_id`, `check`, the redirect locations
//! and the PKCE challenge.
//!
//! Input: the query string (lossy UTF-8). The clients are fixed: a public code-flow client with
//! an https redirect URI, one with its own query, and loopback URIs (any port); a confidential
//! client that may not use the code flow.
//!
//! Invariants:
//! - queries over `MAX_QUERY_BYTES` are refused; `client_id` is the single `client_id` sent;
//! - without a known client, or before the redirect URI is known to be registered, the error is
//!   never a redirect; every redirected error goes to a registered redirect URI of the named
//!   client (the open-redirect property), carries the request's `state`, and its location is
//!   that URI with `error`, `error_description`, `state`, `iss` appended to its own query;
//! - an accepted request has every parameter exactly once, `response_type=code`, a client
//!   allowed the code flow, an S256 challenge of 43 base64url characters (32 bytes), scopes
//!   within the client's (the client's own when none are asked for), `state` and `nonce` within
//!   `MAX_STATE_BYTES`, and `prompt` and `max_age` as sent; its success location is the redirect
//!   URI with `code`, `state`, `iss` appended;
//! - the challenge accepts a `code_verifier` from the query only if it is 43 to 128 unreserved
//!   characters whose S256 is the challenge.

#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use tokenward::provider::{
    AuthorizationQuery, AuthorizeError, Client, CodeChallenge, GrantType, MAX_QUERY_BYTES,
    MAX_STATE_BYTES, Prompt, UnredirectableError, parse_clients_file,
};
use tokenward::token::Scopes;
use url::Url;

const ISSUER: &str = "https://auth.example";
const CLIENTS: &str = r#"[
  {"client_id": "app",
   "redirect_uris": ["https://app.example/cb", "https://app.example/cb2?tenant=a%20b",
                     "http://127.0.0.1/native", "http://[::1]:8080/cb"],
   "grant_types": ["authorization_code", "refresh_token"],
   "scopes": ["openid", "items:read", "items:write"]},
  {"client_id": "svc",
   "client_secret_hash":
     "$argon2id$v=19$m=7168,t=1,p=1$c2FsdHNhbHRzYWx0$cGFzc3dvcmRoYXNoaGFzaGhhc2g",
   "redirect_uris": ["https://svc.example/cb"], "grant_types": ["client_credentials"],
   "scopes": ["items:read"]}
]"#;

fn clients() -> &'static Vec<Client> {
    static CLIENTS_PARSED: OnceLock<Vec<Client>> = OnceLock::new();
    CLIENTS_PARSED.get_or_init(|| parse_clients_file(CLIENTS).expect("fixture clients"))
}

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    let parsed = AuthorizationQuery::parse(&query);
    if query.len() > MAX_QUERY_BYTES {
        assert_eq!(parsed.unwrap_err(), UnredirectableError::TooLong);
        return;
    }
    let parsed = parsed.expect("a short query parses");
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        params
            .entry(name.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    let single = |name: &str| match params.get(name).map(Vec::as_slice) {
        Some([one]) => Some(one.as_str()),
        _ => None,
    };
    assert_eq!(parsed.client_id().ok(), single("client_id"), "client_id");

    // No client: never a redirect.
    assert!(
        matches!(parsed.check(None), Err(AuthorizeError::Unredirectable(_))),
        "redirected without a client"
    );
    let client = parsed
        .client_id()
        .ok()
        .and_then(|id| clients().iter().find(|c| c.client_id == id));
    let result = parsed.check(client);
    let registered = |client: &Client, uri: &str| {
        client.redirect_uris.iter().any(|r| r == uri)
            || client.redirect_uris.iter().any(|r| same_but_port(r, uri))
    };
    match &result {
        Err(AuthorizeError::Unredirectable(_)) => {}
        Err(AuthorizeError::Redirect(error)) => {
            let client = client.expect("redirected for an unknown client");
            assert_eq!(Some(error.redirect_uri.as_str()), single("redirect_uri"));
            assert!(
                registered(client, &error.redirect_uri),
                "error redirected to an unregistered URI {:?}",
                error.redirect_uri
            );
            if let Some(state) = &error.state {
                assert_eq!(Some(state.as_str()), single("state"), "state");
            }
            let location = error.location(ISSUER);
            let mut appended = vec![
                ("error", error.error),
                ("error_description", &error.description),
            ];
            if let Some(state) = &error.state {
                appended.push(("state", state));
            }
            appended.push(("iss", ISSUER));
            check_location(&error.redirect_uri, &location, &appended);
        }
        Ok(request) => {
            let client = client.expect("accepted for an unknown client");
            for (name, values) in &params {
                assert_eq!(values.len(), 1, "accepted with {name} repeated");
            }
            assert_eq!(request.client_id, client.client_id);
            assert_eq!(Some(request.redirect_uri.as_str()), single("redirect_uri"));
            assert!(
                registered(client, &request.redirect_uri),
                "unregistered redirect URI"
            );
            assert_eq!(single("response_type"), Some("code"));
            assert!(client.allows(GrantType::AuthorizationCode));
            assert_eq!(single("code_challenge_method"), Some("S256"));
            let challenge = request.code_challenge.as_str();
            assert_eq!(Some(challenge), single("code_challenge"));
            assert_eq!(challenge.len(), 43);
            assert_eq!(URL_SAFE_NO_PAD.decode(challenge).map(|d| d.len()), Ok(32));
            assert_eq!(
                CodeChallenge::from_stored(challenge).as_ref(),
                Some(&request.code_challenge)
            );
            let scope = match single("scope").filter(|s| !s.is_empty()) {
                None => client.scopes.clone(),
                Some(text) => Scopes::parse(text).expect("accepted scope parses"),
            };
            assert_eq!(request.scope, scope, "scope");
            assert!(
                request.scope.is_subset(&client.scopes),
                "scope beyond the client's"
            );
            assert_eq!(request.state.as_deref(), single("state"));
            assert_eq!(request.nonce.as_deref(), single("nonce"));
            assert!(
                request
                    .state
                    .as_ref()
                    .is_none_or(|s| s.len() <= MAX_STATE_BYTES)
            );
            assert!(
                request
                    .nonce
                    .as_ref()
                    .is_none_or(|s| s.len() <= MAX_STATE_BYTES)
            );
            let prompt = match single("prompt") {
                None | Some("") => Prompt::Default,
                Some("none") => Prompt::None,
                Some("login") => Prompt::Login,
                Some("consent") => Prompt::Consent,
                Some(other) => panic!("accepted prompt {other:?}"),
            };
            assert_eq!(request.prompt, prompt);
            assert_eq!(
                request.max_age,
                single("max_age").map(|m| m.parse::<u64>().unwrap())
            );

            let code = single("code").unwrap_or("the-code");
            let location = request.success_location(code, ISSUER);
            let mut appended = vec![("code", code)];
            if let Some(state) = &request.state {
                appended.push(("state", state));
            }
            appended.push(("iss", ISSUER));
            check_location(&request.redirect_uri, &location, &appended);

            if let Some(verifier) = single("code_verifier") {
                let ok = request.code_challenge.verify(verifier).is_ok();
                let well_formed = (43..=128).contains(&verifier.len())
                    && verifier
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
                let matches = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier)) == challenge;
                assert_eq!(ok, well_formed && matches, "PKCE verification");
                if well_formed {
                    assert!(
                        CodeChallenge::of_verifier(verifier)
                            .verify(verifier)
                            .is_ok()
                    );
                }
            }
        }
    }
});

/// Whether `a` and `b` are the same loopback `http` URI but for the port (RFC 8252 §7.3), each
/// written as the URL parser writes it.
fn same_but_port(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        let mut url = Url::parse(s).ok()?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        };
        if url.scheme() != "http" || !loopback || url.as_str() != s {
            return None;
        }
        url.set_port(None).ok()?;
        Some(url.to_string())
    };
    strip(a).is_some_and(|a| Some(a) == strip(b))
}

/// `location` is `base` with exactly `appended` added after its own query parameters: the same
/// scheme, host, port and path, no fragment.
fn check_location(base: &str, location: &str, appended: &[(&str, &str)]) {
    let base = Url::parse(base).expect("redirect URI parses");
    let location = Url::parse(location).expect("location parses");
    assert_eq!(
        (
            location.scheme(),
            location.host_str(),
            location.port(),
            location.path()
        ),
        (base.scheme(), base.host_str(), base.port(), base.path()),
        "location goes elsewhere than the redirect URI"
    );
    assert_eq!(location.fragment(), None);
    let mut expected: Vec<(String, String)> = base.query_pairs().into_owned().collect();
    expected.extend(appended.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let actual: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(actual, expected, "location query");
}
