//! Whether an `/authorize` request needs a login, a consent, or gets its code now, and with
//! which scopes. Decided here over plain data (the request, the browser session, the user as
//! loaded, the consent record, the client, the clock) so that every rule is a row of the tables
//! below; the controllers in `interaction` only read cookies, forms and stores into a
//! [`Situation`], call [`decide`] and act on its [`Next`].

use super::{AuthorizationRequest, BrowserSession, Client, Prompt, redirect_uri};
use crate::store::Issuance;
use crate::token::Scopes;

/// What the checked request asks for.
#[derive(Clone, Copy, Debug)]
pub(super) struct Request<'a> {
    /// Within the client's registered scopes (checked at `/authorize`).
    pub(super) scope: &'a Scopes,
    pub(super) prompt: Prompt,
    pub(super) max_age: Option<u64>,
}

impl<'a> From<&'a AuthorizationRequest> for Request<'a> {
    fn from(request: &'a AuthorizationRequest) -> Self {
        Self {
            scope: &request.scope,
            prompt: request.prompt,
            max_age: request.max_age,
        }
    }
}

/// The client as registered, and as this request and browser present it.
#[derive(Clone, Copy, Debug)]
pub(super) struct ClientView<'a> {
    pub(super) first_party: bool,
    pub(super) scopes: &'a Scopes,
    /// A public client redirecting to a loopback URI that is not this server's own origin: any
    /// app on the device may send its `client_id` and listen there, so the request does not
    /// prove which app is asking (RFC 8252 §8.6). A redirect to the issuer's own origin (the
    /// server's built-in pages under a loopback issuer) reaches only this server.
    pub(super) impersonable: bool,
    /// The user confirmed this client on this browser's session.
    pub(super) confirmed_here: bool,
}

impl<'a> ClientView<'a> {
    /// `client` for `request` to the server at `issuer_url`, from the browser whose session is
    /// `session`.
    pub(super) fn new(
        client: &'a Client,
        request: &AuthorizationRequest,
        session: Option<&BrowserSession>,
        issuer_url: &str,
    ) -> Self {
        Self {
            first_party: client.first_party,
            scopes: &client.scopes,
            impersonable: !client.is_confidential()
                && redirect_uri::is_loopback_uri(&request.redirect_uri)
                && !redirect_uri::same_origin(&request.redirect_uri, issuer_url),
            confirmed_here: session
                .is_some_and(|s| s.confirmed_clients.contains(&client.client_id)),
        }
    }
}

/// A user as loaded now.
#[derive(Clone, Copy, Debug)]
pub(super) struct Account<'a> {
    pub(super) user_id: &'a str,
    pub(super) disabled: bool,
    /// `User::grantable_scopes`: their own scopes and the identity scopes.
    pub(super) grantable: &'a Scopes,
    /// Their token generation and the revocation store's epoch now, to compare with what the
    /// session recorded at login.
    pub(super) issuance: Issuance,
}

/// The record the browser's session cookie names.
#[derive(Clone, Copy, Debug)]
pub(super) struct Session<'a> {
    pub(super) record: &'a BrowserSession,
    /// Its user; `None` if there is no such user any more or the user is disabled (the lookup
    /// answers both alike), or if the record had expired and the user was not looked up.
    pub(super) account: Option<Account<'a>>,
}

/// Where in the flow the request is.
#[derive(Clone, Copy, Debug)]
pub(super) enum Step<'a> {
    /// `GET /authorize`, with the browser's session if it has one.
    Authorize { session: Option<Session<'a>> },
    /// Logged in on this browser just now (the password form or an upstream provider).
    LoggedIn {
        account: Account<'a>,
        auth_time: i64,
    },
    /// The consent form came back.
    ConsentAnswer {
        /// The browser's session now.
        session: Option<Session<'a>>,
        /// The login the consent page was shown for (`None`: the form was a login form's).
        pending_user: Option<&'a str>,
        pending_auth_time: Option<i64>,
        /// `decision=allow`; anything else is a refusal.
        allow: bool,
    },
}

/// Everything a decision depends on.
#[derive(Clone, Copy, Debug)]
pub(super) struct Situation<'a> {
    pub(super) request: Request<'a>,
    pub(super) client: ClientView<'a>,
    pub(super) step: Step<'a>,
    /// What the user has allowed this client so far; `None` until read, which is only when
    /// [`decide`] answers [`Next::ReadConsent`].
    pub(super) consented: Option<&'a Scopes>,
    /// Unix seconds.
    pub(super) now: i64,
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Show the login page.
    Login { reason: Reason },
    /// The answer depends on the consent record: read it and decide again. Asked for only then,
    /// so first-party clients, `prompt=consent` and requests ending at the login page cost no
    /// store round trip for it.
    ReadConsent,
    /// Show the consent page for `scope`, for the login at `auth_time`.
    Consent {
        scope: Scopes,
        auth_time: i64,
        reason: Reason,
    },
    /// Issue a code for `scope`, for the login at `auth_time`.
    IssueCode {
        scope: Scopes,
        auth_time: i64,
        reason: Reason,
    },
    /// Redirect an error to the client.
    Refuse { error: Refusal, reason: Reason },
    /// The consent form cannot be answered by this browser's login: an error page, nothing
    /// redirected (the user must start again from the application).
    StartOver { reason: Reason },
}

/// The error a refusal redirects to the client (RFC 6749 §4.1.2.1, OpenID Core §3.1.2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// `prompt=none` and a login is needed.
    LoginRequired,
    /// `prompt=none` and a consent is needed.
    ConsentRequired,
    /// `prompt=none` and the user must confirm the client (OpenID Core §3.1.2.6).
    InteractionRequired,
    /// Nothing of the request can be granted to this user.
    InvalidScope,
    /// The user denied the request.
    AccessDenied,
}

impl Refusal {
    pub(super) fn code(self) -> &'static str {
        match self {
            Refusal::LoginRequired => "login_required",
            Refusal::ConsentRequired => "consent_required",
            Refusal::InteractionRequired => "interaction_required",
            Refusal::InvalidScope => "invalid_scope",
            Refusal::AccessDenied => "access_denied",
        }
    }

    pub(super) fn description(self) -> &'static str {
        match self {
            Refusal::LoginRequired => "the user is not logged in",
            Refusal::ConsentRequired => "the user has not allowed this client",
            Refusal::InteractionRequired => "the user must confirm this client in the browser",
            Refusal::InvalidScope => "none of the requested scopes can be granted to this user",
            Refusal::AccessDenied => "the user denied the request",
        }
    }
}

/// Why a decision went the way it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reason {
    /// No session cookie, or no record for it.
    NoSession,
    /// The session record is past its end.
    SessionExpired,
    /// The session's user is gone or disabled (as the lookup reports them).
    UserGone,
    /// The user is disabled.
    UserDisabled,
    /// A logout-all, password change or revocation store reset since the session's login.
    SessionCutOff,
    /// `prompt=login`: a session does not count.
    PromptLogin,
    /// The session's login is older than `max_age`.
    MaxAgeExceeded,
    /// The consent form was shown for another login (another user, or none).
    AnotherLogin,
    /// The request and what the user may be granted have nothing in common.
    NothingGrantable,
    /// The client is first-party: no consent asked.
    FirstParty,
    /// A native app's client (public, loopback redirect) the user has not confirmed on this
    /// browser's session: its earlier consent and first-party standing do not count.
    UnconfirmedNativeApp,
    /// The user has allowed this client at least these scopes before.
    AlreadyConsented,
    /// `prompt=consent`: earlier consent does not count.
    PromptConsent,
    /// Some of the scopes were never allowed to this client.
    NotConsented,
    /// The consent form said allow.
    Allowed,
    /// The consent form said anything else.
    Denied,
}

/// Whether a session record is past its end; the controller then skips looking up its user.
pub(super) fn expired(session: &BrowserSession, now: i64) -> bool {
    session.expires_at < now
}

/// The scopes a code carries: what the request asks for, within what the client registered and
/// what the user may be granted now. Consent does not narrow it: a consent covers all of it, or
/// the user is asked.
pub(super) fn code_scope(requested: &Scopes, registered: &Scopes, grantable: &Scopes) -> Scopes {
    requested.intersection(registered).intersection(grantable)
}

/// The next step for `situation`.
pub(super) fn decide(situation: &Situation<'_>) -> Next {
    let Situation { request, now, .. } = *situation;
    match situation.step {
        Step::Authorize { session } => {
            match live_login(session, now).and_then(|login| fresh_enough(login, request, now)) {
                Ok((account, auth_time)) => after_login(situation, account, auth_time),
                Err(reason) => login_needed(request, reason),
            }
        }
        // Never a code for a disabled user, however they got here.
        Step::LoggedIn { account, .. } if account.disabled => {
            login_needed(request, Reason::UserDisabled)
        }
        Step::LoggedIn { account, auth_time } => after_login(situation, account, auth_time),
        Step::ConsentAnswer {
            session,
            pending_user,
            pending_auth_time,
            allow,
        } => {
            // The consent belongs to the user logged in on this browser now, and to no one
            // else. `prompt=login` and `max_age` were settled by the login before the page.
            let (account, session_auth_time) = match live_login(session, now) {
                Ok(login) => login,
                Err(reason) => return Next::StartOver { reason },
            };
            if pending_user != Some(account.user_id) {
                return Next::StartOver {
                    reason: Reason::AnotherLogin,
                };
            }
            if !allow {
                return Next::Refuse {
                    error: Refusal::AccessDenied,
                    reason: Reason::Denied,
                };
            }
            // Recomputed, not taken from the page: the user may have lost scopes since.
            let scope = code_scope(request.scope, situation.client.scopes, account.grantable);
            if scope.is_empty() {
                return nothing_grantable();
            }
            Next::IssueCode {
                scope,
                auth_time: pending_auth_time.unwrap_or(session_auth_time),
                reason: Reason::Allowed,
            }
        }
    }
}

/// The session's user and login time, if the session still stands for a login of that user.
fn live_login(session: Option<Session<'_>>, now: i64) -> Result<(Account<'_>, i64), Reason> {
    let session = session.ok_or(Reason::NoSession)?;
    if expired(session.record, now) {
        return Err(Reason::SessionExpired);
    }
    let account = session.account.ok_or(Reason::UserGone)?;
    if account.disabled {
        return Err(Reason::UserDisabled);
    }
    let record = session.record;
    if account.issuance.generation != record.generation || account.issuance.epoch != record.epoch {
        return Err(Reason::SessionCutOff);
    }
    Ok((account, record.auth_time))
}

/// Whether a session's login may stand in for a login on this request.
fn fresh_enough<'a>(
    (account, auth_time): (Account<'a>, i64),
    request: Request<'_>,
    now: i64,
) -> Result<(Account<'a>, i64), Reason> {
    if request.prompt == Prompt::Login {
        return Err(Reason::PromptLogin);
    }
    if let Some(max_age) = request.max_age {
        let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
        if now.saturating_sub(auth_time) > max_age {
            return Err(Reason::MaxAgeExceeded);
        }
    }
    Ok((account, auth_time))
}

fn login_needed(request: Request<'_>, reason: Reason) -> Next {
    if request.prompt == Prompt::None {
        Next::Refuse {
            error: Refusal::LoginRequired,
            reason,
        }
    } else {
        Next::Login { reason }
    }
}

fn nothing_grantable() -> Next {
    Next::Refuse {
        error: Refusal::InvalidScope,
        reason: Reason::NothingGrantable,
    }
}

/// After a usable login: the consent page if this client needs one, else a code.
fn after_login(situation: &Situation<'_>, account: Account<'_>, auth_time: i64) -> Next {
    let Situation {
        request, client, ..
    } = *situation;
    // Nothing left to grant is an error, never a silent code: an empty set is a subset of any
    // consent.
    let scope = code_scope(request.scope, client.scopes, account.grantable);
    if scope.is_empty() {
        return nothing_grantable();
    }
    // RFC 8252 §8.6: another app may be posing as this one; only the user can tell.
    if client.impersonable && !client.confirmed_here {
        return if request.prompt == Prompt::None {
            Next::Refuse {
                error: Refusal::InteractionRequired,
                reason: Reason::UnconfirmedNativeApp,
            }
        } else {
            Next::Consent {
                scope,
                auth_time,
                reason: Reason::UnconfirmedNativeApp,
            }
        };
    }
    if client.first_party {
        return Next::IssueCode {
            scope,
            auth_time,
            reason: Reason::FirstParty,
        };
    }
    let reason = if request.prompt == Prompt::Consent {
        Reason::PromptConsent
    } else {
        match situation.consented {
            None => return Next::ReadConsent,
            Some(consented) if scope.is_subset(consented) => {
                return Next::IssueCode {
                    scope,
                    auth_time,
                    reason: Reason::AlreadyConsented,
                };
            }
            Some(_) => Reason::NotConsented,
        }
    };
    if request.prompt == Prompt::None {
        Next::Refuse {
            error: Refusal::ConsentRequired,
            reason,
        }
    } else {
        Next::Consent {
            scope,
            auth_time,
            reason,
        }
    }
}

/// When a login at an upstream provider happened, as this login's `auth_time`: the id_token's
/// `auth_time` (never later than now), else now. A request with `prompt=login` needs a login
/// after the browser was sent there (`started_at`), one with `max_age` a login within it; both
/// need the provider's `auth_time`, since the provider was asked to re-authenticate and must say
/// it did. The error is the reason to log.
#[cfg(feature = "upstream")]
pub(super) fn upstream_auth_time(
    request: Request<'_>,
    reported: Option<i64>,
    started_at: i64,
    now: i64,
) -> Result<i64, &'static str> {
    // The provider's clock may run a little behind ours.
    const SKEW: i64 = 60;
    let demands_fresh = request.prompt == Prompt::Login || request.max_age.is_some();
    let auth_time = match reported {
        Some(at) => at.min(now),
        None if demands_fresh => return Err("no auth_time for a fresh login"),
        None => now,
    };
    if request.prompt == Prompt::Login && auth_time < started_at.saturating_sub(SKEW) {
        return Err("not logged in again");
    }
    if let Some(max_age) = request.max_age {
        let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
        if now.saturating_sub(auth_time) > max_age.saturating_add(SKEW) {
            return Err("login older than max_age");
        }
    }
    Ok(auth_time)
}

#[cfg(test)]
mod tests;
