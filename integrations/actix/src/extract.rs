//! The Bearer extractors: a handler that takes one runs only for a valid token with the scope.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use http::StatusCode;
use tokenward::oauth2::{self, AnyScope, ErrorResponse, RequiredScope};
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

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, Rejection>>>>;

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
    let tokenward = request.app_data::<Tokenward>().cloned().ok_or_else(|| {
        server_error("tokenward is not set up for this app (add Tokenward::configure)")
    })?;
    let required =
        S::scopes().map_err(|_| server_error("the route's required scope is malformed"))?;
    Ok((tokenward, headers_of(request), required))
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
