//! The framework-free OAuth2 layer: request parsing, responses, Bearer authentication.

use std::sync::Arc;

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use secrecy::SecretString;
use time::Duration;
use tokenward::TokenIssuer;
use tokenward::clock::ManualClock;
use tokenward::keys::{KeyAlgorithm, KeySet};
use tokenward::oauth2::{self, BearerError, bearer_token, www_authenticate};
use tokenward::password::{Argon2Params, PasswordHasher};
use tokenward::store::memory::{MemoryRevocation, MemoryThrottle, MemoryUserStore};
use tokenward::store::{ThrottlePolicy, User, UserStore};
use tokenward::token::{Scopes, TokenCodec};

fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    h
}

async fn issuer() -> (TokenIssuer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::starting_now());
    let codec = TokenCodec::builder(KeySet::generate(KeyAlgorithm::EdDSA).unwrap(), "iss", "aud")
        .clock(clock.clone())
        .build()
        .unwrap();
    let hasher = PasswordHasher::builder()
        .params(Argon2Params::new(Argon2Params::MIN_MEMORY_KIB, 1, 1).unwrap())
        .build()
        .unwrap();
    let users = Arc::new(MemoryUserStore::new());
    users
        .upsert(User {
            id: String::new(),
            username: "johndoe".into(),
            password_hash: hasher.hash(&SecretString::from("secret password")).unwrap(),
            scopes: Scopes::parse("items:read items:write").unwrap(),
            disabled: false,
            full_name: Some("John Doe".into()),
            email: None,
        })
        .await
        .unwrap();
    let issuer = TokenIssuer::builder(codec, users, Arc::new(MemoryRevocation::new()))
        .password_hasher(hasher)
        .throttle(
            Arc::new(MemoryThrottle::new()),
            ThrottlePolicy {
                max_failures: 2,
                window_secs: 60,
            },
        )
        .build()
        .unwrap();
    (issuer, clock)
}

/// The token and revocation endpoints, through the route table (feature `provider`).
#[cfg(feature = "provider")]
mod endpoints {
    use super::*;
    use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER};
    use serde_json::Value;

    const FORM: &str = "application/x-www-form-urlencoded";

    fn form_headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        h
    }

    fn json(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }
    use tokenward::endpoints::{EndpointRequest, Endpoints};
    use tokenward::provider::{PresentedClient, TokenGrant, TokenRequest};

    /// `body` posted to `path` of `endpoints` from 127.0.0.1, through the route table.
    async fn post_to(endpoints: &Endpoints, path: &str, body: &str) -> http::Response<Vec<u8>> {
        let route = endpoints
            .routes()
            .into_iter()
            .find(|route| route.path == path)
            .unwrap();
        let request = EndpointRequest {
            method: &http::Method::POST,
            headers: &form_headers(FORM),
            query: "",
            body: body.as_bytes(),
            peer: Some([127, 0, 0, 1].into()),
        };
        endpoints.handle(&route, request).await
    }

    fn parse_error(content_type: &str, body: &str) -> (StatusCode, String) {
        let err = TokenRequest::parse(&form_headers(content_type), body.as_bytes()).unwrap_err();
        (err.status, err.error.to_owned())
    }

    /// RFC 6749 §5.2: `error_description` is `%x20-21 / %x23-5B / %x5D-7E`.
    fn within_rfc_6749(description: &str) -> bool {
        description
            .chars()
            .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e'))
    }

    #[tokio::test]
    async fn error_descriptions_are_the_servers_words_within_rfc_6749() {
        // Nothing the caller named comes back: repeated parameters, unknown scopes.
        let repeated = TokenRequest::parse(
            &form_headers(FORM),
            b"grant_type=password&EVIL%22name%0A=1&EVIL%22name%0A=2",
        )
        .unwrap_err()
        .into_response();
        let body = json(repeated.body());
        assert_eq!(body["error"], "invalid_request");
        let description = body["error_description"].as_str().unwrap();
        assert!(!description.contains("EVIL"), "{description}");
        assert!(within_rfc_6749(description), "{description}");
        let (issuer, _) = issuer().await;
        let endpoints = Endpoints::new(issuer);
        let unknown_scope = post_to(
            &endpoints,
            "/token",
            "grant_type=password&username=johndoe&password=secret+password&scope=EVIL-scope",
        )
        .await;
        let body = json(unknown_scope.body());
        assert_eq!(body["error"], "invalid_scope");
        let description = body["error_description"].as_str().unwrap();
        assert!(!description.contains("EVIL"), "{description}");
        // A description an application writes is kept within the set too.
        let odd = oauth2::ErrorResponse::invalid_request("quote \" backslash \\ tab \t é")
            .into_response();
        assert_eq!(
            json(odd.body())["error_description"],
            "quote ? backslash ? tab ? ?"
        );
    }

    #[test]
    fn token_request_parsing_follows_rfc_6749() {
        let ok = |body: &str| {
            TokenRequest::parse(&form_headers(FORM), body.as_bytes())
                .unwrap()
                .grant
        };
        match ok("grant_type=password&username=johndoe&password=p%26ss&scope=items%3Aread") {
            TokenGrant::Password {
                username, scope, ..
            } => {
                assert_eq!(username, "johndoe");
                assert_eq!(scope.unwrap().to_string(), "items:read");
            }
            other => panic!("{other:?}"),
        }
        match ok("grant_type=refresh_token&refresh_token=abc&scope=") {
            TokenGrant::RefreshToken { scope, .. } => {
                assert!(scope.is_none(), "empty scope = absent")
            }
            other => panic!("{other:?}"),
        }
        match ok("grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fa.example%2Fcb") {
            TokenGrant::AuthorizationCode {
                redirect_uri,
                code_verifier,
                ..
            } => {
                assert_eq!(redirect_uri.as_deref(), Some("https://a.example/cb"));
                assert!(code_verifier.is_none());
            }
            other => panic!("{other:?}"),
        }
        match ok("grant_type=client_credentials&scope=items%3Aread") {
            TokenGrant::ClientCredentials { scope } => {
                assert_eq!(scope.unwrap().to_string(), "items:read");
            }
            other => panic!("{other:?}"),
        }
        let with_client = TokenRequest::parse(
            &form_headers(FORM),
            b"grant_type=client_credentials&client_id=app&client_secret=s",
        )
        .unwrap();
        assert!(
            matches!(with_client.client, PresentedClient::Post { ref client_id, .. } if client_id == "app")
        );
        assert!(
            !format!("{with_client:?}").contains("client_secret=s"),
            "Debug shows no secret"
        );
        assert!(matches!(
            TokenRequest::parse(
                &form_headers("application/x-www-form-urlencoded; charset=UTF-8"),
                b"grant_type=refresh_token&refresh_token=x"
            ),
            Ok(TokenRequest {
                grant: TokenGrant::RefreshToken { .. },
                ..
            })
        ));
        let bad = StatusCode::BAD_REQUEST;
        for (content_type, body, error) in [
            (
                "application/json",
                r#"{"grant_type":"password"}"#,
                "invalid_request",
            ),
            (
                "text/plain",
                "grant_type=password&username=a&password=b",
                "invalid_request",
            ),
            (FORM, "", "invalid_request"),
            (FORM, "username=a&password=b", "invalid_request"),
            (FORM, "grant_type=password&password=b", "invalid_request"),
            (FORM, "grant_type=password&username=a", "invalid_request"),
            (
                FORM,
                "grant_type=password&username=&password=b",
                "invalid_request",
            ),
            (
                FORM,
                "grant_type=password&username=a&username=b&password=c",
                "invalid_request",
            ),
            (
                FORM,
                "grant_type=password&grant_type=password&username=a&password=c",
                "invalid_request",
            ),
            (FORM, "grant_type=refresh_token", "invalid_request"),
            (
                FORM,
                "grant_type=urn:ietf:params:oauth:grant-type:device_code",
                "unsupported_grant_type",
            ),
            (FORM, "grant_type=authorization_code", "invalid_request"),
            (
                FORM,
                "grant_type=client_credentials&client_secret=s",
                "invalid_request",
            ),
            (
                FORM,
                "grant_type=password&username=a&password=b&scope=bad%22scope",
                "invalid_scope",
            ),
        ] {
            assert_eq!(
                parse_error(content_type, body),
                (bad, error.to_owned()),
                "{body}"
            );
        }
        let huge = format!(
            "grant_type=password&username=a&password={}",
            "x".repeat(20_000)
        );
        assert_eq!(parse_error(FORM, &huge), (bad, "invalid_request".into()));
        assert!(TokenRequest::parse(&HeaderMap::new(), b"grant_type=password").is_err());
        assert!(TokenRequest::parse(&form_headers(FORM), &[0xff, 0xfe, b'=', 0x80]).is_err());
    }

    #[tokio::test]
    async fn token_endpoint_success_and_errors() {
        let (issuer, _) = issuer().await;
        // No authorization server: the same token endpoint with no registered client.
        let endpoints = Endpoints::new(issuer);
        let post = |body: &str| {
            let endpoints = endpoints.clone();
            let body = body.to_owned();
            async move { post_to(&endpoints, "/token", &body).await }
        };
        let ok = post("grant_type=password&username=johndoe&password=secret+password").await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(ok.headers()[PRAGMA], "no-cache");
        assert_eq!(ok.headers()[CONTENT_TYPE], "application/json");
        let body = json(ok.body());
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        assert_eq!(body["scope"], "items:read items:write");
        let refresh = body["refresh_token"].as_str().unwrap().to_owned();
        assert!(body["access_token"].as_str().unwrap().len() > 50);

        let refreshed = post(&format!(
            "grant_type=refresh_token&refresh_token={refresh}&scope=items:read"
        ))
        .await;
        assert_eq!(refreshed.status(), StatusCode::OK);
        assert_eq!(json(refreshed.body())["scope"], "items:read");
        let replay = post(&format!("grant_type=refresh_token&refresh_token={refresh}")).await;
        assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json(replay.body())["error"], "invalid_grant");

        let wrong = post("grant_type=password&username=johndoe&password=nope").await;
        let unknown = post("grant_type=password&username=nobody&password=nope").await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            wrong.body(),
            unknown.body(),
            "no user enumeration by content"
        );
        assert_eq!(json(wrong.body())["error"], "invalid_grant");
        assert_eq!(wrong.headers()[CACHE_CONTROL], "no-store");

        let scope =
            post("grant_type=password&username=johndoe&password=secret+password&scope=admin").await;
        assert_eq!(json(scope.body())["error"], "invalid_scope");

        // The right password above cleared johndoe's counter; two failures reach the limit of 2.
        for _ in 0..2 {
            post("grant_type=password&username=johndoe&password=nope").await;
        }
        let locked = post("grant_type=password&username=johndoe&password=secret+password").await;
        assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(json(locked.body())["error"], "too_many_attempts");
        let retry: u64 = locked.headers()[RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry));

        let no_code_store = post("grant_type=authorization_code&code=c&client_id=app").await;
        assert_eq!(
            json(no_code_store.body())["error"],
            "unsupported_grant_type"
        );
        // No client is registered, so none authenticates.
        let grant = post("grant_type=client_credentials&client_id=app&client_secret=s").await;
        assert_eq!(grant.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(json(grant.body())["error"], "invalid_client");
        for response in [&wrong, &grant, &locked] {
            let text = String::from_utf8_lossy(response.body());
            assert!(
                !text.contains("secret password") && !text.contains("$argon2"),
                "{text}"
            );
        }
    }

    #[tokio::test]
    async fn revocation_endpoint_always_answers_200_for_any_token() {
        let (issuer, _) = issuer().await;
        let pair = issuer
            .login("johndoe", &SecretString::from("secret password"), None)
            .await
            .unwrap();
        let endpoints = Endpoints::new(issuer.clone());
        let post = |body: String| {
            let endpoints = endpoints.clone();
            async move { post_to(&endpoints, "/revoke", &body).await }
        };
        let access = secrecy::ExposeSecret::expose_secret(&pair.access_token).to_owned();
        for body in [
            format!("token={access}&token_type_hint=refresh_token"),
            format!("token={access}"),
            "token=garbage".to_owned(),
            "token=garbage&token_type_hint=unknown_type".to_owned(),
        ] {
            let response = post(body).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert!(response.body().is_empty());
        }
        let missing = post("token_type_hint=access_token".to_owned()).await;
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json(missing.body())["error"], "invalid_request");
        // The revoked access token now fails with 401 invalid_token.
        let denied = oauth2::authenticate(&issuer, &bearer(&access), &Scopes::empty())
            .await
            .unwrap_err();
        assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
        let challenge = denied.headers()[WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            challenge.starts_with(
                r#"Bearer realm="tokenward", error="invalid_token", error_description=""#
            ),
            "{challenge}"
        );
    }
}

#[test]
fn bearer_header_parsing() {
    let with = |value: &str| {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    };
    assert_eq!(
        bearer_token(&with("Bearer abc.def-ghi_jkl")),
        Ok("abc.def-ghi_jkl")
    );
    assert_eq!(bearer_token(&with("bearer abc")), Ok("abc"));
    assert_eq!(bearer_token(&with("BEARER abc==")), Ok("abc=="));
    assert_eq!(bearer_token(&HeaderMap::new()), Err(BearerError::Missing));
    for bad in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer a\"b",
        "Bearerabc",
        "Token abc",
        "Bearer ===",
    ] {
        assert_eq!(
            bearer_token(&with(bad)),
            Err(BearerError::Malformed),
            "{bad:?}"
        );
    }
    let mut two = with("Bearer a");
    two.append(AUTHORIZATION, HeaderValue::from_static("Bearer b"));
    assert_eq!(bearer_token(&two), Err(BearerError::Malformed));
    let mut binary = HeaderMap::new();
    binary.insert(
        AUTHORIZATION,
        HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
    );
    assert_eq!(bearer_token(&binary), Err(BearerError::Malformed));
}

#[test]
fn challenges_are_quoted() {
    let scope = Scopes::parse("items:read items:write").unwrap();
    let header = www_authenticate(
        Some("insufficient_scope"),
        Some("say \"hi\" \\ caf\u{e9}\n"),
        Some(&scope),
    );
    assert_eq!(
        header.to_str().unwrap(),
        r#"Bearer realm="tokenward", error="insufficient_scope", error_description="say \"hi\" \\ caf", scope="items:read items:write""#
    );
    assert_eq!(
        www_authenticate(None, None, None),
        r#"Bearer realm="tokenward""#
    );
}

#[tokio::test]
async fn authenticate_maps_every_outcome_to_its_status() {
    let (issuer, clock) = issuer().await;
    let pair = issuer
        .login(
            "johndoe",
            &SecretString::from("secret password"),
            Some(&Scopes::parse("items:read").unwrap()),
        )
        .await
        .unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&pair.access_token).to_owned();
    let read = Scopes::parse("items:read").unwrap();
    let write = Scopes::parse("items:write").unwrap();

    let claims = oauth2::authenticate(&issuer, &bearer(&token), &read)
        .await
        .unwrap();
    assert_eq!(claims.scope, read);

    let none = oauth2::authenticate(&issuer, &HeaderMap::new(), &read)
        .await
        .unwrap_err();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.headers()[WWW_AUTHENTICATE],
        r#"Bearer realm="tokenward""#
    );
    let malformed = oauth2::authenticate(&issuer, &bearer("not a token!"), &read)
        .await
        .unwrap_err();
    assert_eq!(malformed.status(), StatusCode::UNAUTHORIZED);

    let forbidden = oauth2::authenticate(&issuer, &bearer(&token), &write)
        .await
        .unwrap_err();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        forbidden.headers()[WWW_AUTHENTICATE],
        r#"Bearer realm="tokenward", error="insufficient_scope", error_description="this request needs the scope items:write", scope="items:write""#
    );

    clock.advance(Duration::minutes(16));
    let expired = oauth2::authenticate(&issuer, &bearer(&token), &read)
        .await
        .unwrap_err();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let challenge = expired.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#) && challenge.contains("expired"),
        "{challenge}"
    );
}

tokenward::required_scope!(Blank = "  ");
tokenward::required_scope!(TwoScopes = "items:read  items:write");

#[test]
fn a_scope_constant_of_spaces_is_an_error_not_no_scope() {
    use tokenward::oauth2::{AnyScope, RequiredScope};
    assert_eq!(Blank::scopes(), Err(tokenward::token::ScopeError::Empty));
    assert!(AnyScope::scopes().unwrap().is_empty());
    assert_eq!(TwoScopes::scopes().unwrap().len(), 2);
}
