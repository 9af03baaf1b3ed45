//! What an access token may do with the account of its own user: the rule behind `/users/me`
//! and the account routes under it (logout everywhere, password change), and behind
//! `/userinfo`'s claims.
//!
//! A token the deployment's own app holds may do everything: one from no client (the password
//! grant without a client, [`crate::TokenIssuer::login`]) or from a client registered
//! first-party. Any other client got its token by the user's consent to its scopes, so it gets
//! what those scopes name and no more: `profile` the name fields, `email` the address, and
//! [`ACCOUNT_SCOPE`] the management of the account. Otherwise a client granted only
//! `items:read` could read what the `profile` and `email` consent guards, or log the user out
//! everywhere.

use http::{HeaderMap, Response};

use super::ErrorResponse;
use super::bearer::{authenticate_user, insufficient_scope};
use crate::TokenIssuer;
use crate::store::{ClientStore, StoreError, User};
use crate::token::{ACCOUNT_SCOPE, AccessClaims, Scopes, SubjectKind, Verified};

/// What an access token may read of, and do with, its user's account.
///
/// Compute it with [`AccountAccess::of_token`] (or [`authenticate_account`], which validates
/// the token too); [`AccountAccess::granted_by`] is the per-scope half of the rule, which
/// `/userinfo` applies to every token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountAccess {
    /// The name fields: the username and the full name (`/userinfo`'s `preferred_username`
    /// and `name`).
    pub profile: bool,
    /// The email address.
    pub email: bool,
    /// Managing the account: logging out everywhere, changing the password, and reading the
    /// account's own settings (the scopes the user may be granted).
    pub manage: bool,
}

impl AccountAccess {
    /// Everything: the access of a first-party token.
    pub const FULL: Self = Self {
        profile: true,
        email: true,
        manage: true,
    };

    /// Nothing beyond the user's `sub`.
    pub const NONE: Self = Self {
        profile: false,
        email: false,
        manage: false,
    };

    /// What `scope` grants a third-party client: `profile` the name fields, `email` the
    /// address (OpenID Connect Core 1.0 §5.4), [`ACCOUNT_SCOPE`] management.
    pub fn granted_by(scope: &Scopes) -> Self {
        Self {
            profile: scope.contains("profile"),
            email: scope.contains("email"),
            manage: scope.contains(ACCOUNT_SCOPE),
        }
    }

    /// What the validated token `claims` may do with its user's account: everything when it
    /// came from no client or from a client `clients` holds as first-party, otherwise what its
    /// scopes grant ([`Self::granted_by`]). Without a client store (an issuer serving no
    /// registered clients), or when the client is no longer registered, a token naming a
    /// client is a third party's. A client's own token (client credentials) speaks for no
    /// user: [`Self::NONE`].
    ///
    /// Costs one client-store lookup for a token that names a client, none otherwise.
    pub async fn of_token(
        claims: &AccessClaims,
        clients: Option<&dyn ClientStore>,
    ) -> Result<Self, StoreError> {
        if claims.subject_kind == SubjectKind::Client {
            return Ok(Self::NONE);
        }
        let Some(client_id) = claims.client_id.as_deref() else {
            return Ok(Self::FULL);
        };
        let first_party = match clients {
            Some(clients) => clients
                .find_client(client_id)
                .await?
                .is_some_and(|client| client.first_party),
            None => false,
        };
        if first_party {
            Ok(Self::FULL)
        } else {
            Ok(Self::granted_by(&claims.scope))
        }
    }

    /// Whether this is [`Self::FULL`].
    pub fn is_full(self) -> bool {
        self == Self::FULL
    }

    /// `Ok` when the token may manage the account; otherwise the response to send: 403
    /// `insufficient_scope` naming [`ACCOUNT_SCOPE`], with its `WWW-Authenticate` challenge
    /// (RFC 6750 §3.1).
    // The error is the response to send; boxing it buys nothing.
    #[allow(clippy::result_large_err)]
    pub fn require_manage(self) -> Result<(), Response<Vec<u8>>> {
        if self.manage {
            return Ok(());
        }
        match Scopes::from_names([ACCOUNT_SCOPE]) {
            Ok(needed) => Err(insufficient_scope(&needed)),
            Err(_) => Err(ErrorResponse::server_error().into_response()),
        }
    }
}

/// Authenticates a request to one of the user's own account routes: validates the Bearer token
/// as [`authenticate_user`] does (no scope required) and says what it may do with the account
/// ([`AccountAccess::of_token`], looking the token's client up in `clients`). The error is the
/// complete response to send: 401 with a challenge, or 503 when a store does not answer.
/// Refuse what the access does not allow ([`AccountAccess::require_manage`]); leave out the
/// fields it does not allow.
pub async fn authenticate_account(
    issuer: &TokenIssuer,
    clients: Option<&dyn ClientStore>,
    headers: &HeaderMap,
) -> Result<(Verified<AccessClaims>, User, AccountAccess), Response<Vec<u8>>> {
    let (claims, user) = authenticate_user(issuer, headers, &Scopes::empty()).await?;
    match AccountAccess::of_token(&claims, clients).await {
        Ok(access) => Ok((claims, user, access)),
        Err(err) => Err(super::error_response(&err.into()).into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryClientStore;
    use crate::store::{Client, GrantType};

    fn claims(client_id: Option<&str>, scope: &str) -> AccessClaims {
        AccessClaims {
            iss: "iss".into(),
            sub: "user-1".into(),
            aud: vec!["aud".into()],
            exp: 2_000_000_000,
            iat: 1_000_000_000,
            nbf: None,
            jti: "jti".into(),
            scope: Scopes::parse(scope).unwrap(),
            sid: "sid".into(),
            client_id: client_id.map(str::to_owned),
            generation: 0,
            epoch: 0,
            subject_kind: SubjectKind::User,
            extra: serde_json::Map::new(),
        }
    }

    async fn clients() -> MemoryClientStore {
        let store = MemoryClientStore::new();
        for (client_id, first_party) in [("own-app", true), ("partner", false)] {
            let client = Client {
                client_id: client_id.into(),
                secret_hash: None,
                redirect_uris: vec!["https://app.example/cb".into()],
                grant_types: vec![GrantType::AuthorizationCode],
                scopes: Scopes::parse("items:read profile email account").unwrap(),
                name: client_id.into(),
                first_party,
            };
            assert!(store.insert_client(&client).await.unwrap());
        }
        store
    }

    #[tokio::test]
    async fn tokens_of_no_client_or_a_first_party_client_may_do_everything() {
        let store = clients().await;
        let no_client = claims(None, "items:read");
        for clients in [None, Some(&store as &dyn ClientStore)] {
            let access = AccountAccess::of_token(&no_client, clients).await.unwrap();
            assert!(access.is_full(), "{access:?}");
        }
        let own_app = claims(Some("own-app"), "items:read");
        let access = AccountAccess::of_token(&own_app, Some(&store))
            .await
            .unwrap();
        assert_eq!(access, AccountAccess::FULL);
        assert!(access.require_manage().is_ok());
    }

    #[tokio::test]
    async fn a_third_party_token_gets_what_its_scopes_name() {
        let store = clients().await;
        let cases = [
            ("items:read", AccountAccess::NONE),
            (
                "items:read profile",
                AccountAccess {
                    profile: true,
                    ..AccountAccess::NONE
                },
            ),
            (
                "openid email",
                AccountAccess {
                    email: true,
                    ..AccountAccess::NONE
                },
            ),
            (
                "account",
                AccountAccess {
                    manage: true,
                    ..AccountAccess::NONE
                },
            ),
            ("profile email account", AccountAccess::FULL),
        ];
        for (scope, expected) in cases {
            let partner = claims(Some("partner"), scope);
            let access = AccountAccess::of_token(&partner, Some(&store))
                .await
                .unwrap();
            assert_eq!(access, expected, "{scope}");
            assert_eq!(access, AccountAccess::granted_by(&partner.scope), "{scope}");
        }
    }

    #[tokio::test]
    async fn an_unknown_client_or_no_client_store_means_a_third_party() {
        let store = clients().await;
        for (client_id, clients) in [
            ("gone", Some(&store as &dyn ClientStore)),
            ("own-app", None),
        ] {
            let token = claims(Some(client_id), "items:read");
            let access = AccountAccess::of_token(&token, clients).await.unwrap();
            assert_eq!(access, AccountAccess::NONE, "{client_id}");
        }
    }

    #[tokio::test]
    async fn a_clients_own_token_speaks_for_no_account() {
        let store = clients().await;
        let mut own = claims(Some("own-app"), "profile email account");
        own.sub = "own-app".into();
        own.subject_kind = SubjectKind::Client;
        let access = AccountAccess::of_token(&own, Some(&store)).await.unwrap();
        assert_eq!(access, AccountAccess::NONE);
    }

    #[test]
    fn refused_management_is_a_403_naming_the_account_scope() {
        let refused = AccountAccess::granted_by(&Scopes::parse("profile email").unwrap())
            .require_manage()
            .unwrap_err();
        assert_eq!(refused.status(), http::StatusCode::FORBIDDEN);
        let challenge = refused.headers()[http::header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\"")
                && challenge.contains("scope=\"account\""),
            "{challenge}"
        );
        let body: serde_json::Value = serde_json::from_slice(refused.body()).unwrap();
        assert_eq!(body["error"], "insufficient_scope");
    }
}
