//! The contract's "OpenID Connect" section: discovery at both well-known paths, the id_token of
//! the code flow (verified with the published JWKS), userinfo by scope.

use std::path::Path;

use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::client::{Client, decode_jwt, enc};
use crate::fixture::{Fixture, ISSUER};
use crate::server::Server;
use crate::user_agent::{Clients, Pkce, UserAgent, authorize_query, location_params};

/// The SPA's redirect URI on a loopback port (registered without one).
const SPA_ON_PORT: &str = "http://127.0.0.1:54321/cb";

async fn start(bin: &Path) -> (Fixture, Server) {
    let fixture = Fixture::new();
    Clients::write(&fixture.dir);
    let clients_file = fixture.dir.path("clients.json").display().to_string();
    let server = fixture
        .start(bin, &["--clients", clients_file.as_str()])
        .await;
    (fixture, server)
}

/// Logs alice in for `spa` with `scope` (and `extra` query parameters) and redeems the code.
async fn code_flow(fixture: &Fixture, server: &Server, scope: &str, extra: &str) -> Value {
    let agent = UserAgent::new(server);
    let pkce = Pkce::new(scope);
    let page = agent
        .get(&authorize_query(
            "spa",
            SPA_ON_PORT,
            scope,
            "st",
            &pkce,
            extra,
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let done = agent
        .log_in(&page, &fixture.alice.username, fixture.alice.password)
        .await;
    assert_eq!(done.status, 303, "{}", done.text());
    let code = location_params(&done)["code"].clone();
    let reply = Client::new(server)
        .form(
            "/token",
            &format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}&client_id=spa",
                enc(&code),
                enc(SPA_ON_PORT),
                pkce.verifier
            ),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

/// The claims of `id_token` after checking its signature against the server's JWKS, and its
/// `aud`, `iss` and `exp`, as a relying party would.
async fn verified_id_token(client: &Client, id_token: &str, audience: &str) -> Value {
    let (header, _) = decode_jwt(id_token);
    let kid = header["kid"].as_str().expect("id_token header has a kid");
    let jwks: JwkSet =
        serde_json::from_value(client.get_anonymous("/.well-known/jwks.json").await.json())
            .expect("JWKS parses");
    let jwk = jwks
        .find(kid)
        .expect("the JWKS publishes the id_token's key");
    let key = DecodingKey::from_jwk(jwk).expect("usable JWK");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(id_token, &key, &validation)
        .expect("the id_token verifies with the published key")
        .claims
}

pub async fn discovery_documents_describe_the_provider(bin: &Path) {
    let (_fixture, server) = start(bin).await;
    let client = Client::new(&server);
    let openid = client
        .get_anonymous("/.well-known/openid-configuration")
        .await;
    let oauth = client
        .get_anonymous("/.well-known/oauth-authorization-server")
        .await;
    for reply in [&openid, &oauth] {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(
            reply
                .header("content-type")
                .unwrap_or_default()
                .starts_with("application/json")
        );
    }
    assert_eq!(openid.json(), oauth.json(), "one document at both paths");
    let doc = openid.json();
    assert_eq!(doc["issuer"], ISSUER, "byte-identical issuer");
    for (field, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("jwks_uri", "/.well-known/jwks.json"),
        ("userinfo_endpoint", "/userinfo"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
        ("end_session_endpoint", "/logout"),
    ] {
        assert_eq!(doc[field], format!("{ISSUER}{path}"), "{field}");
    }
    let list = |field: &str| -> Vec<String> {
        doc[field]
            .as_array()
            .unwrap_or_else(|| panic!("{field} is a list: {doc}"))
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(list("response_types_supported"), ["code"]);
    assert_eq!(list("subject_types_supported"), ["public"]);
    assert_eq!(list("code_challenge_methods_supported"), ["S256"]);
    assert!(list("id_token_signing_alg_values_supported").contains(&"RS256".to_owned()));
    let grants = list("grant_types_supported");
    for grant in ["authorization_code", "refresh_token", "client_credentials"] {
        assert!(grants.contains(&grant.to_owned()), "{grant} in {grants:?}");
    }
    assert!(!grants.contains(&"password".to_owned()), "{grants:?}");
    for scope in ["openid", "profile", "email"] {
        assert!(
            list("scopes_supported").contains(&scope.to_owned()),
            "{scope}"
        );
    }
    for claim in [
        "sub",
        "iss",
        "auth_time",
        "nonce",
        "email",
        "preferred_username",
    ] {
        assert!(
            list("claims_supported").contains(&claim.to_owned()),
            "{claim}"
        );
    }
    let methods = list("token_endpoint_auth_methods_supported");
    assert!(methods.contains(&"client_secret_basic".to_owned()));
    assert!(methods.contains(&"client_secret_post".to_owned()));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);

    // Every key that may sign a live token is published with kid, use and alg.
    let jwks = client.get_anonymous("/.well-known/jwks.json").await.json();
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(keys.iter().any(|k| k["alg"] == "RS256"), "{jwks}");
    for key in keys {
        assert_eq!(key["use"], "sig", "{key}");
        assert!(key["kid"].is_string() && key["alg"].is_string(), "{key}");
        assert!(
            key.get("d").is_none() && key.get("p").is_none(),
            "public only: {key}"
        );
    }
}

pub async fn id_token_and_userinfo_from_the_code_flow(bin: &Path) {
    let (fixture, server) = start(bin).await;
    let client = Client::new(&server);
    let body = code_flow(
        &fixture,
        &server,
        "openid profile email items:read",
        "&nonce=n-0S6_WzA2Mj",
    )
    .await;
    let access = body["access_token"].as_str().expect("access_token");
    let id_token = body["id_token"]
        .as_str()
        .expect("an id_token for scope openid");
    let scope = body["scope"].as_str().unwrap_or_default();
    for granted in ["openid", "profile", "email", "items:read"] {
        assert!(
            scope.split(' ').any(|s| s == granted),
            "{granted} in {scope}"
        );
    }

    let (header, _) = decode_jwt(id_token);
    assert_eq!(header["alg"], "RS256");
    assert!(
        header.get("typ").is_none() || header["typ"] == "JWT",
        "typ absent or JWT, never at+jwt: {header}"
    );
    let claims = verified_id_token(&client, id_token, "spa").await;
    let (_, access_claims) = decode_jwt(access);
    assert_eq!(
        claims["sub"], access_claims["sub"],
        "the same stable subject"
    );
    assert_eq!(claims["aud"], "spa");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    let iat = claims["iat"].as_i64().expect("iat");
    let auth_time = claims["auth_time"].as_i64().expect("auth_time");
    assert!(auth_time <= iat && iat - auth_time < 60, "{claims}");
    assert!(claims["exp"].as_i64().unwrap_or_default() > iat);
    let digest = Sha256::digest(access.as_bytes());
    let at_hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]);
    assert_eq!(claims["at_hash"], at_hash, "at_hash of the access token");

    // Userinfo, GET and POST: sub always, profile and email claims by scope.
    for reply in [
        client.get("/userinfo", access).await,
        client.post_empty("/userinfo", access).await,
    ] {
        assert_eq!(reply.status, 200, "{}", reply.text());
        let info = reply.json();
        assert_eq!(info["sub"], claims["sub"]);
        assert_eq!(info["preferred_username"], fixture.alice.username.as_str());
        assert_eq!(info["name"], "Alice Example");
        assert_eq!(info["email"], "alice@example.com");
        assert_eq!(
            info["email_verified"], false,
            "tokenward verifies no address"
        );
    }

    // An id_token is not an access token.
    let misuse = client.get("/users/me", id_token).await;
    assert_eq!(misuse.status, 401, "{}", misuse.text());
    let misuse = client.get("/userinfo", id_token).await;
    assert_eq!(misuse.status, 401, "{}", misuse.text());

    // A bad token at userinfo: 401 invalid_token.
    let bad = client.get("/userinfo", "not-a-token").await;
    assert_eq!(bad.status, 401);
    assert!(
        bad.header("www-authenticate")
            .unwrap_or_default()
            .contains("error=\"invalid_token\""),
        "{:?}",
        bad.headers
    );
}

pub async fn userinfo_claims_follow_the_scopes(bin: &Path) {
    let (fixture, server) = start(bin).await;
    let client = Client::new(&server);

    // openid alone: sub and nothing else; no nonce sent, none in the id_token.
    let body = code_flow(&fixture, &server, "openid", "").await;
    let claims =
        verified_id_token(&client, body["id_token"].as_str().expect("id_token"), "spa").await;
    assert!(claims.get("nonce").is_none(), "{claims}");
    let info = client
        .get("/userinfo", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info.status, 200, "{}", info.text());
    let info = info.json();
    assert!(info["sub"].is_string());
    for absent in ["name", "preferred_username", "email", "email_verified"] {
        assert!(
            info.get(absent).is_none(),
            "{absent} without its scope: {info}"
        );
    }

    // No openid: no id_token, and userinfo refuses the token with 403 insufficient_scope.
    let body = code_flow(&fixture, &server, "profile items:read", "").await;
    assert!(body.get("id_token").is_none(), "{body}");
    let refused = client
        .get("/userinfo", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
}
