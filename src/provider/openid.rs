//! OpenID Connect on top of the code flow: discovery (OpenID Connect Discovery 1.0 and RFC 8414,
//! one document at both well-known paths), id_tokens at the code exchange, and userinfo.

use http::{HeaderMap, Response, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::json;

use super::CodeGrant;
use super::server::AuthorizationServer;
use crate::oauth2::{self, AccountAccess, ErrorResponse, json_response};
use crate::token::{IDENTITY_SCOPES, IdTokenClaims, Scopes, at_hash};
use crate::{TokenIssuer, TokenPair};

/// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";
/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §3): the same document.
pub const OAUTH_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// `GET|POST /userinfo` (OpenID Connect Core 1.0 §5.3).
pub const USERINFO_PATH: &str = "/userinfo";
/// The authorization endpoint.
pub const AUTHORIZE_PATH: &str = "/authorize";
/// The token endpoint.
pub const TOKEN_PATH: &str = "/token";
/// The revocation endpoint (RFC 7009).
pub const REVOKE_PATH: &str = "/revoke";
/// The introspection endpoint (RFC 7662).
pub const INTROSPECT_PATH: &str = "/introspect";
/// Where the browser session ends.
pub const LOGOUT_PATH: &str = "/logout";
/// The public keys.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Where the login page's "Log in with ..." button posts (login through an upstream provider).
pub const UPSTREAM_START_PATH: &str = "/upstream/start";
/// Where the upstream provider sends the browser back to.
pub const UPSTREAM_CALLBACK_PATH: &str = "/upstream/callback";

/// The claims userinfo and id_tokens may carry, for discovery's `claims_supported`.
const CLAIMS_SUPPORTED: [&str; 12] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "name",
    "preferred_username",
    "email",
    "email_verified",
];

/// The userinfo answer (Core §5.3.2): `sub` always, the rest by scope.
#[derive(Serialize)]
struct UserInfo<'a> {
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    /// tokenward does not verify addresses, so it never claims to have.
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

impl AuthorizationServer {
    /// The discovery document, served at [`OPENID_CONFIGURATION_PATH`] and
    /// [`OAUTH_METADATA_PATH`]. Every URL starts with the issuer URL exactly as tokens carry it.
    pub fn discovery(&self) -> Response<Vec<u8>> {
        let url = |path: &str| format!("{}{path}", self.inner.issuer_url);
        // Only the identity scopes: listing every client's scopes would cost a store query per
        // anonymous request and tell anyone what the deployment's APIs are (RFC 8414 §2 lets a
        // server leave scopes out).
        let scopes = Scopes::identity();
        let id_token_algorithms: Vec<&str> = self
            .inner
            .issuer
            .codec()
            .keys()
            .id_token_key()
            .map(|key| key.algorithm().name())
            .into_iter()
            .collect();
        // The password grant stays unlisted: discovery is for clients, and RFC 9700 §2.4 says
        // they must not use it.
        let grant_types = ["authorization_code", "refresh_token", "client_credentials"];
        let document = json!({
            "issuer": self.inner.issuer_url,
            "authorization_endpoint": url(AUTHORIZE_PATH),
            "token_endpoint": url(TOKEN_PATH),
            "jwks_uri": url(JWKS_PATH),
            "userinfo_endpoint": url(USERINFO_PATH),
            "revocation_endpoint": url(REVOKE_PATH),
            "introspection_endpoint": url(INTROSPECT_PATH),
            "end_session_endpoint": url(LOGOUT_PATH),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": grant_types,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": id_token_algorithms,
            "scopes_supported": scopes.iter().collect::<Vec<_>>(),
            "claims_supported": CLAIMS_SUPPORTED,
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": ["none", "login", "consent"],
            "authorization_response_iss_parameter_supported": true,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        });
        let Ok(body) = serde_json::to_vec(&document) else {
            return ErrorResponse::server_error().into_response();
        };
        let mut response = json_response(StatusCode::OK, body);
        // Discovery is public and changes only with the configuration; the no-store of token
        // responses would make every client fetch it again.
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("public, max-age=300"),
        );
        response.headers_mut().remove(http::header::PRAGMA);
        response
    }

    /// `GET|POST /userinfo`: the claims about the user of a Bearer access token with the
    /// `openid` scope. A bad token: 401 `invalid_token`; no `openid` scope: 403.
    pub async fn userinfo(&self, headers: &HeaderMap) -> Response<Vec<u8>> {
        let Ok(openid) = Scopes::parse(IDENTITY_SCOPES[0]) else {
            return ErrorResponse::server_error().into_response();
        };
        let (claims, user) =
            match oauth2::authenticate_user(&self.inner.issuer, headers, &openid).await {
                Ok(found) => found,
                Err(response) => return response,
            };
        // By scope for every client, first-party or not: the claims an OpenID client asked for.
        let AccountAccess { profile, email, .. } = AccountAccess::granted_by(&claims.scope);
        let info = UserInfo {
            sub: &claims.sub,
            name: user.full_name.as_deref().filter(|_| profile),
            preferred_username: Some(user.username.as_str()).filter(|_| profile),
            email: user.email.as_deref().filter(|_| email),
            email_verified: user.email.as_ref().filter(|_| email).map(|_| false),
        };
        match serde_json::to_vec(&info) {
            Ok(body) => json_response(StatusCode::OK, body),
            Err(_) => ErrorResponse::server_error().into_response(),
        }
    }
}

/// The id_token for a code exchange that granted `openid`, or `None` without it.
pub(super) fn id_token(
    issuer: &TokenIssuer,
    grant: &CodeGrant,
    pair: &TokenPair,
) -> Result<Option<String>, ErrorResponse> {
    if !pair.scope.contains("openid") {
        return Ok(None);
    }
    let codec = issuer.codec();
    let Some(key) = codec.keys().id_token_key() else {
        return Err(ErrorResponse::server_error());
    };
    let now = codec.clock().now().unix_timestamp();
    let claims = IdTokenClaims {
        iss: codec.issuer().to_owned(),
        sub: pair.access_claims.sub.clone(),
        aud: grant.client_id.clone(),
        exp: now + codec.access_ttl().whole_seconds(),
        iat: now,
        auth_time: grant.auth_time,
        nonce: grant.nonce.clone(),
        at_hash: at_hash(pair.access_token.expose_secret(), key.algorithm()),
    };
    codec
        .issue_id_token(&claims)
        .map(Some)
        .map_err(|_| ErrorResponse::server_error())
}
