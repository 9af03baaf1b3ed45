//! The authorization server's framework-free parts, probed as an attacker would: redirect URIs
//! that only look registered, PKCE downgrades, repeated parameters, error redirects.
#![cfg(feature = "provider")]

use tokenward::provider::redirect_uri::{self, RedirectUriError};
use tokenward::provider::{
    AuthorizationQuery, AuthorizeError, Client, ClientError, CodeChallenge, GrantType, PkceError,
    Prompt, UnredirectableError, parse_clients_file,
};
use tokenward::token::Scopes;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn client(redirect_uris: &[&str]) -> Client {
    Client {
        client_id: "app".into(),
        secret_hash: None,
        redirect_uris: redirect_uris.iter().map(|s| s.to_string()).collect(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: Scopes::parse("openid items:read items:write").unwrap(),
        name: "App".into(),
        first_party: false,
    }
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn query(redirect_uri: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id=app&redirect_uri={}&state=s%26t&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        encode(redirect_uri)
    )
}

fn check(
    client: &Client,
    query: &str,
) -> Result<tokenward::provider::AuthorizationRequest, AuthorizeError> {
    AuthorizationQuery::parse(query)
        .unwrap()
        .check(Some(client))
}

#[test]
fn registration_rules() {
    use RedirectUriError::*;
    for ok in [
        "https://app.example/cb",
        "https://app.example/cb?tenant=1",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:8080/cb",
        "http://[::1]:9000/cb",
    ] {
        assert_eq!(redirect_uri::check_registrable(ok), Ok(()), "{ok}");
    }
    for (bad, why) in [
        ("/cb", NotAbsolute),
        ("https://app.example/cb#frag", Fragment),
        ("https://*.app.example/cb", Wildcard),
        ("https://user@app.example/cb", UserInfo),
        ("http://app.example/cb", NotHttps),
        ("http://localhost:8080/cb", NotHttps),
        ("com.example.app:/cb", NotHttps),
        ("HTTPS://app.example/cb", NotAbsolute),
        ("https://app.example/a/../cb", NotAbsolute),
        ("https://app.example:443/cb", NotAbsolute),
    ] {
        assert_eq!(redirect_uri::check_registrable(bad), Err(why), "{bad}");
    }
    let long = format!("https://app.example/{}", "a".repeat(3000));
    assert_eq!(redirect_uri::check_registrable(&long), Err(TooLong));
}

#[test]
fn only_the_exact_registered_string_matches() {
    let registered = vec!["https://app.example/cb".to_owned()];
    assert!(redirect_uri::matches(&registered, "https://app.example/cb"));
    for attack in [
        "https://app.example/cb/",
        "https://app.example/cbx",
        "https://app.example/c",
        "https://app.example/cb/../evil",
        "https://app.example/cb?x=1",
        "https://App.example/cb",
        "HTTPS://app.example/cb",
        "https://app.example@evil.example/cb",
        "https://app.example.evil.example/cb",
        "https://app.example/cb#x",
        "https://app.example:443/cb",
        "http://app.example/cb",
        "https://app.example/CB",
        "https://app.example/%63b",
    ] {
        assert!(!redirect_uri::matches(&registered, attack), "{attack}");
    }
}

#[test]
fn loopback_uris_match_on_any_port_and_nothing_else() {
    let registered = vec![
        "http://127.0.0.1/cb".to_owned(),
        "http://[::1]:1/cb".to_owned(),
    ];
    for ok in [
        "http://127.0.0.1/cb",
        "http://127.0.0.1:51234/cb",
        "http://[::1]/cb",
        "http://[::1]:40000/cb",
    ] {
        assert!(redirect_uri::matches(&registered, ok), "{ok}");
    }
    for attack in [
        "http://127.0.0.1:51234/cb/",
        "http://127.0.0.1:51234/cb?x=1",
        "http://127.0.0.2:51234/cb",
        "http://localhost:51234/cb",
        "https://127.0.0.1:51234/cb",
        "http://user@127.0.0.1:51234/cb",
        "http://127.0.0.1:51234/other",
    ] {
        assert!(!redirect_uri::matches(&registered, attack), "{attack}");
    }
    // A registered https URI gets no port leniency.
    let https = vec!["https://app.example/cb".to_owned()];
    assert!(!redirect_uri::matches(
        &https,
        "https://app.example:8443/cb"
    ));
}

#[test]
fn pkce_is_s256_only_and_checks_the_verifier() {
    // RFC 7636 appendix B.
    assert_eq!(CodeChallenge::of_verifier(VERIFIER).as_str(), CHALLENGE);
    let challenge = CodeChallenge::from_request(Some(CHALLENGE), Some("S256")).unwrap();
    assert_eq!(challenge.verify(VERIFIER), Ok(()));
    let other = format!("{}A", &VERIFIER[..VERIFIER.len() - 1]);
    assert_eq!(challenge.verify(&other), Err(PkceError::Mismatch));
    assert_eq!(challenge.verify("short"), Err(PkceError::MalformedVerifier));
    assert_eq!(
        challenge.verify(&format!("{VERIFIER}!")),
        Err(PkceError::MalformedVerifier)
    );
    assert_eq!(
        challenge.verify(&"a".repeat(129)),
        Err(PkceError::MalformedVerifier)
    );
    // Downgrades and malformed challenges.
    assert_eq!(
        CodeChallenge::from_request(Some(CHALLENGE), None),
        Err(PkceError::MethodNotS256)
    );
    assert_eq!(
        CodeChallenge::from_request(Some(VERIFIER), Some("plain")),
        Err(PkceError::MethodNotS256)
    );
    assert_eq!(
        CodeChallenge::from_request(None, Some("S256")),
        Err(PkceError::MissingChallenge)
    );
    assert_eq!(
        CodeChallenge::from_request(Some("abc"), Some("S256")),
        Err(PkceError::MalformedChallenge)
    );
}

#[test]
fn untrusted_client_or_redirect_uri_is_never_redirected() {
    let app = client(&["https://app.example/cb"]);
    let unredirectable = |q: &str, client: Option<&Client>| match AuthorizationQuery::parse(q)
        .unwrap()
        .check(client)
    {
        Err(AuthorizeError::Unredirectable(why)) => why,
        other => panic!("{q}: {other:?}"),
    };
    use UnredirectableError::*;
    assert_eq!(
        unredirectable(&query("https://app.example/cb", ""), None),
        UnknownClient
    );
    assert_eq!(
        unredirectable(&query("https://evil.example/cb", ""), Some(&app)),
        UnregisteredRedirectUri
    );
    assert_eq!(
        unredirectable(
            &query("https://app.example/cb", "&client_id=app"),
            Some(&app)
        ),
        ClientId
    );
    assert_eq!(
        unredirectable(
            &query(
                "https://app.example/cb",
                "&redirect_uri=https%3A%2F%2Fevil.example%2Fcb"
            ),
            Some(&app)
        ),
        RedirectUri
    );
    let no_redirect = query("https://app.example/cb", "").replace("redirect_uri=", "x=");
    assert_eq!(unredirectable(&no_redirect, Some(&app)), RedirectUri);
    assert_eq!(
        AuthorizationQuery::parse(&"a=b&".repeat(3000)).err(),
        Some(TooLong)
    );
}

#[test]
fn later_errors_redirect_with_state_and_iss_keeping_the_uri_query() {
    let app = client(&["https://app.example/cb?tenant=1"]);
    let redirected =
        |extra: &str| match check(&app, &query("https://app.example/cb?tenant=1", extra)) {
            Err(AuthorizeError::Redirect(redirect)) => redirect,
            other => panic!("{extra}: {other:?}"),
        };
    let plain = query("https://app.example/cb?tenant=1", "")
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    match check(&app, &plain) {
        Err(AuthorizeError::Redirect(redirect)) => {
            assert_eq!(redirect.error, "invalid_request");
            assert_eq!(
                redirect.location("https://auth.example"),
                format!(
                    "https://app.example/cb?tenant=1&error=invalid_request&error_description={}&state=s%26t&iss=https%3A%2F%2Fauth.example",
                    encode("code_challenge_method must be S256")
                )
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(redirected("&scope=a&scope=b").error, "invalid_request");
    // A repeated parameter of the attacker's naming is not echoed back to the client.
    let named = redirected("&%3Cscript%3E%22=1&%3Cscript%3E%22=2");
    assert_eq!(named.error, "invalid_request");
    assert_eq!(named.description, "a parameter is repeated");
    // Whatever a description holds, the redirect carries only RFC 6749 §5.2 characters.
    let mut odd = named.clone();
    odd.description = "quote \" backslash \\ newline \n é".into();
    let location = odd.location("https://auth.example");
    let sent = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "error_description")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    assert_eq!(sent, "quote ? backslash ? newline ? ?");
    assert_eq!(redirected("&scope=admin").error, "invalid_scope");
    assert_eq!(redirected("&prompt=bogus").error, "invalid_request");
    assert_eq!(redirected("&max_age=-1").error, "invalid_request");
    let token_flow = query("https://app.example/cb?tenant=1", "")
        .replace("response_type=code", "response_type=token");
    match check(&app, &token_flow) {
        Err(AuthorizeError::Redirect(r)) => assert_eq!(r.error, "unsupported_response_type"),
        other => panic!("{other:?}"),
    }
    let mut no_code_flow = app.clone();
    no_code_flow.grant_types = vec![GrantType::RefreshToken];
    match check(&no_code_flow, &query("https://app.example/cb?tenant=1", "")) {
        Err(AuthorizeError::Redirect(r)) => assert_eq!(r.error, "unauthorized_client"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_good_request_is_checked_and_answered_with_code_state_and_iss() {
    let app = client(&["http://127.0.0.1/cb"]);
    let request = check(
        &app,
        &query(
            "http://127.0.0.1:49152/cb",
            "&scope=openid+items%3Aread&nonce=n-1&prompt=none&max_age=300",
        ),
    )
    .unwrap();
    assert_eq!(request.redirect_uri, "http://127.0.0.1:49152/cb");
    assert_eq!(request.scope, Scopes::parse("openid items:read").unwrap());
    assert_eq!(request.state.as_deref(), Some("s&t"));
    assert_eq!(request.nonce.as_deref(), Some("n-1"));
    assert_eq!(request.prompt, Prompt::None);
    assert_eq!(request.max_age, Some(300));
    assert_eq!(
        request.success_location("c0de", "http://127.0.0.1:8000"),
        "http://127.0.0.1:49152/cb?code=c0de&state=s%26t&iss=http%3A%2F%2F127.0.0.1%3A8000"
    );
    // `scope=` empty is no scope parameter: the client's scopes.
    let all = check(&app, &query("http://127.0.0.1/cb", "&scope=")).unwrap();
    assert_eq!(all.scope, app.scopes);
}

#[test]
fn clients_file_rules() {
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0W2xRJmDNjQ5Jj6R3gQqYc7fRZkBvKJK8Qw0yQmQmQk";
    let ok = format!(
        r#"[{{"client_id": "svc", "client_secret_hash": "{hash}", "grant_types": ["client_credentials"], "scopes": ["items:read"]}},
            {{"client_id": "spa", "redirect_uris": ["https://spa.example/cb"], "grant_types": ["authorization_code", "refresh_token"], "scopes": ["openid"], "name": "SPA", "first_party": true}}]"#
    );
    let clients = parse_clients_file(&ok).unwrap();
    assert_eq!(clients.len(), 2);
    assert!(clients[0].is_confidential() && !clients[1].is_confidential());
    assert_eq!(clients[0].name, "svc");
    let debug = format!("{:?}", clients[0]);
    assert!(
        !debug.contains("argon2id") && debug.contains("confidential: true"),
        "{debug}"
    );

    let public_credentials = r#"[{"client_id": "x", "grant_types": ["client_credentials"]}]"#;
    assert_eq!(
        parse_clients_file(public_credentials),
        Err(ClientError::PublicClientCredentials("x".into()))
    );
    let bcrypt = r#"[{"client_id": "x", "client_secret_hash": "$2b$10$abcdefghijklmnopqrstuv", "grant_types": ["client_credentials"]}]"#;
    assert_eq!(
        parse_clients_file(bcrypt),
        Err(ClientError::SecretHash("x".into()))
    );
    let no_uri = r#"[{"client_id": "x", "grant_types": ["authorization_code"]}]"#;
    assert_eq!(
        parse_clients_file(no_uri),
        Err(ClientError::NoRedirectUri("x".into()))
    );
    let wildcard = r#"[{"client_id": "x", "redirect_uris": ["https://*.example/cb"], "grant_types": ["authorization_code"]}]"#;
    assert!(matches!(
        parse_clients_file(wildcard),
        Err(ClientError::RedirectUri {
            reason: RedirectUriError::Wildcard,
            ..
        })
    ));
    let twice = r#"[{"client_id": "x", "redirect_uris": ["https://a.example/cb"], "grant_types": ["authorization_code"]},
                    {"client_id": "x", "redirect_uris": ["https://a.example/cb"], "grant_types": ["authorization_code"]}]"#;
    assert_eq!(
        parse_clients_file(twice),
        Err(ClientError::Duplicate("x".into()))
    );
    let unknown_field = r#"[{"client_id": "x", "grant_types": [], "secret": "hunter2"}]"#;
    let err = parse_clients_file(unknown_field).unwrap_err();
    assert!(matches!(err, ClientError::File(_)) && !err.to_string().contains("hunter2"));
    assert_eq!(
        parse_clients_file(r#"[{"client_id": "has space", "grant_types": []}]"#),
        Err(ClientError::InvalidId)
    );
}

#[test]
fn client_credentials_are_read_one_way_only_and_url_decoded() {
    use base64::Engine as _;
    use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
    use secrecy::ExposeSecret;
    use tokenward::provider::{ClientAuthError, PresentedClient, presented_client};

    let basic = |raw: &str| {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        headers
    };
    // RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
    match presented_client(&basic("my%3Aclient:s3cr%2Bt+x"), None, None).unwrap() {
        PresentedClient::Basic { client_id, secret } => {
            assert_eq!(client_id, "my:client");
            assert_eq!(secret.expose_secret(), "s3cr+t x");
        }
        other => panic!("{other:?}"),
    }
    let with_secret = presented_client(&basic("app:secret"), None, None).unwrap();
    assert!(with_secret.used_basic());
    assert!(
        !format!("{with_secret:?}").contains("secret\""),
        "{with_secret:?}"
    );
    assert!(!format!("{with_secret:?}").contains(":secret"));
    assert_eq!(
        presented_client(&basic("app:secret"), Some("app"), Some("secret")).err(),
        Some(ClientAuthError::MultipleMethods)
    );
    assert_eq!(
        presented_client(&basic("app:secret"), Some("other"), None).err(),
        Some(ClientAuthError::MultipleMethods)
    );
    assert!(matches!(
        presented_client(&basic("app:secret"), Some("app"), None),
        Ok(PresentedClient::Basic { .. })
    ));
    assert_eq!(
        presented_client(&basic("no-colon"), None, None).err(),
        Some(ClientAuthError::MalformedBasic)
    );
    assert_eq!(
        presented_client(&basic(":secret"), None, None).err(),
        Some(ClientAuthError::MalformedBasic)
    );
    let mut garbage = HeaderMap::new();
    garbage.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
    assert_eq!(
        presented_client(&garbage, None, None).err(),
        Some(ClientAuthError::MalformedBasic)
    );

    let none = HeaderMap::new();
    assert!(matches!(
        presented_client(&none, Some("app"), Some("s")),
        Ok(PresentedClient::Post { .. })
    ));
    assert!(matches!(
        presented_client(&none, Some("app"), None),
        Ok(PresentedClient::Public { .. })
    ));
    assert!(matches!(
        presented_client(&none, None, None),
        Ok(PresentedClient::None)
    ));
    assert_eq!(
        presented_client(&none, None, Some("s")).err(),
        Some(ClientAuthError::SecretWithoutId)
    );
    // A Bearer header is not client authentication.
    let mut bearer = HeaderMap::new();
    bearer.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
    assert!(matches!(
        presented_client(&bearer, Some("app"), None),
        Ok(PresentedClient::Public { .. })
    ));
}
