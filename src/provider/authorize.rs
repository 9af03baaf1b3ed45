//! `GET /authorize` requests (RFC 6749 §4.1.1 with PKCE, OpenID Connect's `nonce`, `prompt`,
//! `max_age`), and where their answers go.
//!
//! Errors come in two kinds, and the difference is the security property: until the client and
//! its redirect URI are known good, nothing may be redirected anywhere (an attacker-chosen
//! `redirect_uri` would receive the answer), so those errors are an HTML page at the server;
//! every later error is sent back to the client's redirect URI with `state` and `iss`
//! (RFC 9207), like a success.

use std::collections::HashMap;

use url::Url;

use super::pkce::CodeChallenge;
use super::{Client, GrantType};
use crate::oauth2::error_description;
use crate::token::Scopes;

/// The longest `state` or `nonce` accepted.
pub const MAX_STATE_BYTES: usize = 1024;
/// The longest query string parsed.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// An error shown at the server, never redirected: the request cannot be trusted to name a
/// place the answer may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnredirectableError {
    /// The query string is longer than [`MAX_QUERY_BYTES`].
    #[error("the request is too long")]
    TooLong,
    /// No `client_id`, or more than one.
    #[error("client_id is missing or repeated")]
    ClientId,
    /// No client with that id.
    #[error("unknown client")]
    UnknownClient,
    /// No `redirect_uri`, or more than one.
    #[error("redirect_uri is missing or repeated")]
    RedirectUri,
    /// A `redirect_uri` the client did not register.
    #[error("redirect_uri is not registered for this client")]
    UnregisteredRedirectUri,
}

/// An error to redirect to the client (RFC 6749 §4.1.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorRedirect {
    /// The client's redirect URI, checked.
    pub redirect_uri: String,
    /// The error code: `invalid_request`, `unauthorized_client`, `unsupported_response_type`,
    /// `invalid_scope`, `access_denied`, `login_required`, `consent_required`, ...
    pub error: &'static str,
    /// For the client's developer; never a secret.
    pub description: String,
    /// The request's `state`, returned as sent.
    pub state: Option<String>,
}

impl ErrorRedirect {
    /// The `Location` of the 303: the redirect URI (its own query kept) with `error`,
    /// `error_description`, `state` and `iss`.
    pub fn location(&self, issuer: &str) -> String {
        let description = error_description(&self.description);
        let mut params = vec![("error", self.error), ("error_description", &*description)];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", issuer));
        with_query(&self.redirect_uri, &params)
    }
}

/// Why `/authorize` refused a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Show an error page.
    Unredirectable(UnredirectableError),
    /// Redirect the error to the client.
    Redirect(ErrorRedirect),
}

/// What `prompt` asks for (OpenID Connect Core §3.1.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Prompt {
    /// Show pages only when needed.
    #[default]
    Default,
    /// Show no page: fail with `login_required` / `consent_required` instead.
    None,
    /// Ask for the password again, even with a session.
    Login,
    /// Ask for consent again.
    Consent,
}

/// A checked authorization request: the client and redirect URI are registered, PKCE is
/// `S256`, the scopes are within the client's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// The redirect URI as presented (registered, or a registered loopback URI's other port).
    pub redirect_uri: String,
    /// The scopes asked for (the client's own when the request names none).
    pub scope: Scopes,
    /// Returned to the client as sent.
    pub state: Option<String>,
    /// Bound to the code; the id_token repeats it.
    pub nonce: Option<String>,
    /// The PKCE challenge bound to the code.
    pub code_challenge: CodeChallenge,
    /// What pages may be shown.
    pub prompt: Prompt,
    /// The oldest login (seconds) the client accepts without asking for the password again.
    pub max_age: Option<u64>,
}

impl AuthorizationRequest {
    /// The `Location` of the successful 303: the redirect URI (its own query kept) with `code`,
    /// `state` and `iss`.
    pub fn success_location(&self, code: &str, issuer: &str) -> String {
        let mut params = vec![("code", code)];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", issuer));
        with_query(&self.redirect_uri, &params)
    }

    /// The request as a query string of its checked parameters only, which
    /// [`AuthorizationQuery::check`] turns back into this request. Pending requests store this,
    /// never the query as sent: whatever else a caller put there (up to
    /// [`MAX_QUERY_BYTES`]) is not kept for anyone.
    pub fn to_query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scope.to_string())
            .append_pair("code_challenge", self.code_challenge.as_str())
            .append_pair("code_challenge_method", "S256");
        if let Some(state) = &self.state {
            query.append_pair("state", state);
        }
        if let Some(nonce) = &self.nonce {
            query.append_pair("nonce", nonce);
        }
        let prompt = match self.prompt {
            Prompt::Default => None,
            Prompt::None => Some("none"),
            Prompt::Login => Some("login"),
            Prompt::Consent => Some("consent"),
        };
        if let Some(prompt) = prompt {
            query.append_pair("prompt", prompt);
        }
        if let Some(max_age) = self.max_age {
            query.append_pair("max_age", &max_age.to_string());
        }
        query.finish()
    }

    /// An error for this request, to redirect.
    pub fn error(&self, error: &'static str, description: impl Into<String>) -> ErrorRedirect {
        ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.into(),
            state: self.state.clone(),
        }
    }
}

/// An `/authorize` query string split into parameters, repeated ones remembered. Look the client
/// up by [`AuthorizationQuery::client_id`], then [`AuthorizationQuery::check`].
#[derive(Debug)]
pub struct AuthorizationQuery {
    params: HashMap<String, Vec<String>>,
}

impl AuthorizationQuery {
    /// Splits `query` (without the `?`).
    pub fn parse(query: &str) -> Result<Self, UnredirectableError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(UnredirectableError::TooLong);
        }
        Ok(Self::parse_stored(query))
    }

    /// Splits a query this server wrote ([`AuthorizationRequest::to_query`] of a request that
    /// passed [`Self::check`]): its fields are within their own limits, but their encoding may
    /// make the whole longer than [`MAX_QUERY_BYTES`].
    pub(crate) fn parse_stored(query: &str) -> Self {
        let mut params: HashMap<String, Vec<String>> = HashMap::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            params
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        Self { params }
    }

    /// The `client_id`, if exactly one was sent.
    pub fn client_id(&self) -> Result<&str, UnredirectableError> {
        self.single("client_id")
            .ok_or(UnredirectableError::ClientId)
    }

    /// Checks the request against `client` (the one [`Self::client_id`] named, `None` if there
    /// is no such client).
    pub fn check(&self, client: Option<&Client>) -> Result<AuthorizationRequest, AuthorizeError> {
        let unredirectable = AuthorizeError::Unredirectable;
        self.client_id().map_err(unredirectable)?;
        let client = client.ok_or(unredirectable(UnredirectableError::UnknownClient))?;
        let redirect_uri = self
            .single("redirect_uri")
            .ok_or(unredirectable(UnredirectableError::RedirectUri))?;
        if !client.redirect_uri_matches(redirect_uri) {
            return Err(unredirectable(UnredirectableError::UnregisteredRedirectUri));
        }
        // From here on, errors go back to the client. `state` first, so they can carry it.
        let state = self.optional("state");
        let fail = |error: &'static str, description: &str| {
            AuthorizeError::Redirect(ErrorRedirect {
                redirect_uri: redirect_uri.to_owned(),
                error,
                description: description.to_owned(),
                state: state.ok().flatten().map(str::to_owned),
            })
        };
        let state = state.map_err(|_| fail("invalid_request", "state is repeated"))?;
        // Never the name of another repeated parameter: it is whatever the caller chose.
        if self.params.values().any(|v| v.len() > 1) {
            return Err(fail("invalid_request", "a parameter is repeated"));
        }
        if state.is_some_and(|s| s.len() > MAX_STATE_BYTES) {
            return Err(fail("invalid_request", "state is too long"));
        }
        if self.single("response_type") != Some("code") {
            return Err(fail(
                "unsupported_response_type",
                "response_type must be code",
            ));
        }
        if !client.allows(GrantType::AuthorizationCode) {
            return Err(fail(
                "unauthorized_client",
                "this client may not use the authorization code flow",
            ));
        }
        let code_challenge = CodeChallenge::from_request(
            self.single("code_challenge"),
            self.single("code_challenge_method"),
        )
        .map_err(|e| fail("invalid_request", &e.to_string()))?;
        let scope = match self.single("scope").filter(|s| !s.is_empty()) {
            None => client.scopes.clone(),
            Some(text) => Scopes::parse(text).map_err(|e| fail("invalid_scope", &e.to_string()))?,
        };
        if !scope.is_subset(&client.scopes) {
            return Err(fail(
                "invalid_scope",
                "the request asks for scopes this client may not have",
            ));
        }
        let nonce = self.single("nonce");
        if nonce.is_some_and(|n| n.len() > MAX_STATE_BYTES) {
            return Err(fail("invalid_request", "nonce is too long"));
        }
        let prompt = match self.single("prompt") {
            None | Some("") => Prompt::Default,
            Some("none") => Prompt::None,
            Some("login") => Prompt::Login,
            Some("consent") => Prompt::Consent,
            Some(_) => {
                return Err(fail(
                    "invalid_request",
                    "prompt must be one of none, login, consent",
                ));
            }
        };
        let max_age = match self.single("max_age") {
            None => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .map_err(|_| fail("invalid_request", "max_age must be a number of seconds"))?,
            ),
        };
        Ok(AuthorizationRequest {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scope,
            state: state.map(str::to_owned),
            nonce: nonce.map(str::to_owned),
            code_challenge,
            prompt,
            max_age,
        })
    }

    fn single(&self, name: &str) -> Option<&str> {
        match self.params.get(name).map(Vec::as_slice) {
            Some([value]) => Some(value),
            _ => None,
        }
    }

    /// `Ok(None)` when absent, `Err(name)` when repeated.
    fn optional<'a>(&'a self, name: &'a str) -> Result<Option<&'a str>, &'a str> {
        match self.params.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([value]) => Ok(Some(value)),
            Some(_) => Err(name),
        }
    }
}

/// `uri` with `params` appended to its query (kept as it is), URL-encoded.
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    // Redirect URIs reach here only after `redirect_uri::matches`, so they parse.
    let Ok(mut url) = Url::parse(uri) else {
        return uri.to_owned();
    };
    url.query_pairs_mut().extend_pairs(params);
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(redirect_uri: &str) -> Client {
        Client {
            client_id: "app".into(),
            secret_hash: None,
            redirect_uris: vec![redirect_uri.into()],
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: Scopes::parse("openid items:read").unwrap_or_default(),
            name: "App".into(),
            first_party: false,
        }
    }

    fn encoded(text: &str) -> String {
        form_urlencoded::byte_serialize(text.as_bytes()).collect()
    }

    // A request stored as `to_query` is the same request when checked again, even when the
    // re-encoding of its longest fields makes it longer than a browser's query may be.
    #[test]
    fn the_stored_query_is_the_same_request_whatever_its_length() {
        let redirect = format!("https://app.example{}", "/a".repeat(900));
        let app = client(&redirect);
        let state = "!".repeat(MAX_STATE_BYTES);
        let nonce = "~".repeat(MAX_STATE_BYTES);
        let challenge = CodeChallenge::of_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let sent = format!(
            "response_type=code&client_id=app&redirect_uri={redirect}&state={state}&nonce={nonce}\
             &code_challenge={}&code_challenge_method=S256&scope=openid&prompt=login&max_age=60\
             &unknown=kept-out",
            challenge.as_str()
        );
        assert!(sent.len() <= MAX_QUERY_BYTES, "{}", sent.len());
        let request = AuthorizationQuery::parse(&sent)
            .map(|q| q.check(Some(&app)))
            .ok()
            .and_then(Result::ok);
        let Some(request) = request else {
            panic!("the sent request checks");
        };
        let stored = request.to_query();
        assert!(stored.len() > MAX_QUERY_BYTES, "{}", stored.len());
        assert!(!stored.contains("kept-out"));
        assert!(stored.contains(&encoded(&state)));
        let again = AuthorizationQuery::parse_stored(&stored).check(Some(&app));
        assert_eq!(again.ok(), Some(request));
    }
}
