//! The Bearer extractors: a handler that takes one runs only for a valid token with the scope.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use http::StatusCode;
use tokenward::oauth2::{self, AccountAccess, AnyScope, ErrorResponse, RequiredScope};
use tokenward::store::User;
use tokenward::token::{AccessClaims, Scopes, Verified};

use crate::{Rejection, Tokenward, headers_of};

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
/// Do not wrap it in `Option`: actix-web turns every rejection of an `Option<T>` extractor into
/// `None`, so a store outage (503) or a missing `configure` (500) would read as "anonymous".
///
/// Needs [`Tokenward::configure`] on the app.
///
/// ```
/// use actix_web_tokenward::{AnyScope, Bearer};
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
/// use actix_web_tokenward::BearerUser;
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
/// use actix_web_tokenward::AccountUser;
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
/// use actix_web_tokenward::AccountManager;
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

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, Rejection>>>>;

impl FromRequest for AccountUser {
    type Error = Rejection;
    type Future = Extracting<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let prepared = app_tokenward(request).map(|tokenward| (tokenward, headers_of(request)));
        Box::pin(async move {
            let (tokenward, headers) = prepared?;
            let (claims, user, access) = tokenward
                .endpoints()
                .authenticate_account(&headers)
                .await
                .map_err(Rejection)?;
            Ok(Self {
                claims,
                user,
                access,
            })
        })
    }
}

impl FromRequest for AccountManager {
    type Error = Rejection;
    type Future = Extracting<Self>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let account = AccountUser::from_request(request, payload);
        Box::pin(async move {
            let AccountUser {
                claims,
                user,
                access,
            } = account.await?;
            access.require_manage().map_err(Rejection)?;
            Ok(Self { claims, user })
        })
    }
}

impl<S: RequiredScope> FromRequest for Bearer<S> {
    type Error = Rejection;
    type Future = Extracting<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let prepared = prepare::<S>(request);
        Box::pin(async move {
            let (tokenward, headers, required) = prepared?;
            let claims = oauth2::authenticate(tokenward.issuer(), &headers, &required)
                .await
                .map_err(Rejection)?;
            Ok(Self {
                claims,
                scope: PhantomData,
            })
        })
    }
}

impl<S: RequiredScope> FromRequest for BearerUser<S> {
    type Error = Rejection;
    type Future = Extracting<Self>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let prepared = prepare::<S>(request);
        Box::pin(async move {
            let (tokenward, headers, required) = prepared?;
            let (claims, user) = oauth2::authenticate_user(tokenward.issuer(), &headers, &required)
                .await
                .map_err(Rejection)?;
            Ok(Self {
                claims,
                user,
                scope: PhantomData,
            })
        })
    }
}

/// What the check needs, taken from the request before the future (which cannot borrow it):
/// the app's [`Tokenward`], the headers, the scopes `S` requires. A missing `configure` or a
/// malformed scope constant is the application's bug, answered 500.
// The error is the response to send, built once; boxing it buys nothing.
#[allow(clippy::result_large_err)]
fn prepare<S: RequiredScope>(
    request: &HttpRequest,
) -> Result<(Tokenward, http::HeaderMap, Scopes), Rejection> {
    let tokenward = app_tokenward(request)?;
    let required =
        S::scopes().map_err(|_| server_error("the route's required scope is malformed"))?;
    Ok((tokenward, headers_of(request), required))
}

/// The app's [`Tokenward`]; without `configure`, 500.
#[allow(clippy::result_large_err)]
fn app_tokenward(request: &HttpRequest) -> Result<Tokenward, Rejection> {
    request.app_data::<Tokenward>().cloned().ok_or_else(|| {
        server_error("tokenward is not set up for this app (add Tokenward::configure)")
    })
}

fn server_error(description: &'static str) -> Rejection {
    tracing::error!("{description}");
    Rejection(
        ErrorResponse::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
        .into_response(),
    )
}
