//! The Bearer extractors: a handler that takes one runs only for a valid token with the scope.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use http::StatusCode;
use http::request::Parts;
use tokenward::oauth2::{self, AccountAccess, AnyScope, ErrorResponse, RequiredScope};
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

/// The user of a request's Bearer token and what the token may do with that user's account
/// ([`AccountAccess`]), for routes that show the account (`/users/me`). A token from no client
/// or from a first-party client may see everything; a third-party client's token only what its
/// scopes grant (`profile`: the name fields, `email`: the address, `account`: the account's
/// settings), so leave out what [`AccountUser::access`] does not allow.
///
/// Rejects as [`BearerUser`] does (401, 503); the token's client is looked up in the
/// authorization server's client store when the [`Tokenward`] has one
/// ([`tokenward::endpoints::Endpoints::authenticate_account`]).
///
/// ```
/// use axum_tokenward::AccountUser;
///
/// async fn email(caller: AccountUser) -> String {
///     let shown = caller.user.email.filter(|_| caller.access.email);
///     shown.unwrap_or_default()
/// }
/// ```
#[derive(Debug)]
pub struct AccountUser {
    /// The validated claims.
    pub claims: Verified<AccessClaims>,
    /// The token's user.
    pub user: User,
    /// What the token may read of, and do with, the account.
    pub access: AccountAccess,
}

/// The user of a request's Bearer token when the token may manage that user's account: for
/// routes that change it (log out everywhere, change the password). A token from no client or
/// from a first-party client may; a third-party client's token only with the `account` scope.
/// Others get 403 `insufficient_scope` with a challenge naming `account` (RFC 6750 §3.1), and
/// the handler does not run.
///
/// ```
/// use axum_tokenward::AccountManager;
///
/// async fn logout_all(caller: AccountManager) -> &'static str {
///     // caller.claims.sub may be logged out everywhere.
///     "ok"
/// }
/// ```
#[derive(Debug)]
pub struct AccountManager {
    /// The validated claims.
    pub claims: Verified<AccessClaims>,
    /// The token's user.
    pub user: User,
}

impl<St: Send + Sync> FromRequestParts<St> for AccountUser {
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Reply> {
        let tokenward = layer_tokenward(parts)?;
        let (claims, user, access) = tokenward
            .endpoints()
            .authenticate_account(&parts.headers)
            .await
            .map_err(Reply)?;
        Ok(Self {
            claims,
            user,
            access,
        })
    }
}

impl<St: Send + Sync> FromRequestParts<St> for AccountManager {
    type Rejection = Reply;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Reply> {
        let AccountUser {
            claims,
            user,
            access,
        } = AccountUser::from_request_parts(parts, state).await?;
        access.require_manage().map_err(Reply)?;
        Ok(Self { claims, user })
    }
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
    let tokenward = layer_tokenward(parts)?;
    let required =
        S::scopes().map_err(|_| server_error("the route's required scope is malformed"))?;
    Ok((tokenward, required))
}

/// The [`Tokenward`] the layer put on the request; without the layer, 500.
#[allow(clippy::result_large_err)]
fn layer_tokenward(parts: &Parts) -> Result<Tokenward, Reply> {
    parts.extensions.get::<Tokenward>().cloned().ok_or_else(|| {
        server_error("tokenward is not set up for this route (add Tokenward::layer to the router)")
    })
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
