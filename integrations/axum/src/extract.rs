//! The Bearer extractors: a handler that takes one runs only for a valid token with the scope.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use http::StatusCode;
use http::request::Parts;
use tokenward::oauth2::{self, AnyScope, ErrorResponse, RequiredScope};
use tokenward::store::User;
use tokenward::token::{AccessClaims, Scopes, Verified};

use crate::{Reply, Tokenward};

/// The verified claims of a request's `Authorization: Bearer` token that carries the scopes `S`.
///
/// Validation is the issuer's whole check (signature, `typ`, `iss`, `aud`, expiry, revocation,
/// logout-all, and by default the user still existing and enabled). It rejects with the
/// responses of RFC 6750: 401 and a `WWW-Authenticate` challenge without a valid token, 403
/// `insufficient_scope` without the scope, 503 `temporarily_unavailable` when a store does not
/// answer (never a 401 that would send every client back to log in).
///
/// The scope check reads the token's `scope` claim. With the issuer's default
/// `check_user_on_validate(true)` validation also refuses tokens of deleted or disabled users;
/// turned off, a token keeps its scopes until it expires.
///
/// Needs [`Tokenward::layer`] on the router.
///
/// ```
/// use axum_tokenward::{AnyScope, Bearer};
///
/// tokenward::required_scope!(pub ItemsWrite = "items:write");
///
/// async fn create(token: Bearer<ItemsWrite>) -> String {
///     format!("created by {}", token.claims.sub)
/// }
///
/// async fn whoami(token: Bearer<AnyScope>) -> String {
///     token.claims.sub.clone()
/// }
/// ```
#[derive(Debug)]
pub struct Bearer<S: RequiredScope = AnyScope> {
    /// The validated claims.
    pub claims: Verified<AccessClaims>,
    scope: PhantomData<S>,
}

/// [`Bearer`], and the user as the validation found it (existing, enabled): for handlers that
/// need the user's record. With one SQL store for users and revocations this costs the same
/// single statement as [`Bearer`].
///
/// ```
/// use axum_tokenward::BearerUser;
///
/// async fn profile(caller: BearerUser) -> String {
///     caller.user.username.clone()
/// }
/// ```
#[derive(Debug)]
pub struct BearerUser<S: RequiredScope = AnyScope> {
    /// The validated claims.
    pub claims: Verified<AccessClaims>,
    /// The token's user.
    pub user: User,
    scope: PhantomData<S>,
}

impl<S: RequiredScope, St: Send + Sync> FromRequestParts<St> for Bearer<S> {
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Reply> {
        let (tokenward, required) = prepare::<S>(parts)?;
        let claims = oauth2::authenticate(tokenward.issuer(), &parts.headers, &required)
            .await
            .map_err(Reply)?;
        Ok(Self {
            claims,
            scope: PhantomData,
        })
    }
}

impl<S: RequiredScope, St: Send + Sync> FromRequestParts<St> for BearerUser<S> {
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Reply> {
        let (tokenward, required) = prepare::<S>(parts)?;
        let (claims, user) =
            oauth2::authenticate_user(tokenward.issuer(), &parts.headers, &required)
                .await
                .map_err(Reply)?;
        Ok(Self {
            claims,
            user,
            scope: PhantomData,
        })
    }
}

/// The [`Tokenward`] the layer put on the request, and the scopes `S` requires; a missing layer
/// or a malformed scope constant is the application's bug, answered 500.
#[allow(clippy::result_large_err)]
fn prepare<S: RequiredScope>(parts: &Parts) -> Result<(Tokenward, Scopes), Reply> {
    let tokenward = parts
        .extensions
        .get::<Tokenward>()
        .cloned()
        .ok_or_else(|| {
            server_error(
                "tokenward is not set up for this route (add Tokenward::layer to the router)",
            )
        })?;
    let required =
        S::scopes().map_err(|_| server_error("the route's required scope is malformed"))?;
    Ok((tokenward, required))
}

fn server_error(description: &'static str) -> Reply {
    tracing::error!("{description}");
    Reply(
        ErrorResponse::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
        .into_response(),
    )
}
