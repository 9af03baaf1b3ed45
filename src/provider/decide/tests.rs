//! The decision table, case by case: every `prompt`, `max_age`, first- and third-party client,
//! consent subset and superset, disabled user and cut-off session.

use super::*;

const NOW: i64 = 1_000_000;
/// When the default session's login happened.
const SESSION_AT: i64 = NOW - 100;
/// When a fresh login (`Step::LoggedIn`) happened.
const FRESH_AT: i64 = NOW - 2;
const PENDING_AT: i64 = NOW - 30;
const GENERATION: u64 = 3;
const EPOCH: u64 = 7;

fn scopes(text: &str) -> Scopes {
    Scopes::parse(text).expect("test scopes parse")
}

/// The browser session's state.
#[derive(Clone, Copy, Debug)]
enum Sess {
    Absent,
    Live,
    Expired,
    /// Its last second: still live.
    EndsNow,
    /// Its user is gone, or disabled as the lookup reports it.
    Gone,
    Disabled,
    /// A logout-all or password change since the login.
    NewGeneration,
    /// The revocation store was reset since the login.
    NewEpoch,
}

#[derive(Clone, Copy, Debug)]
enum At {
    Authorize,
    LoggedIn,
    Answer {
        pending_user: Option<&'static str>,
        pending_auth_time: Option<i64>,
        allow: bool,
    },
}

const ALLOW: At = At::Answer {
    pending_user: Some("u1"),
    pending_auth_time: Some(PENDING_AT),
    allow: true,
};
const DENY: At = At::Answer {
    pending_user: Some("u1"),
    pending_auth_time: Some(PENDING_AT),
    allow: false,
};

#[derive(Clone, Copy, Debug)]
struct Case {
    at: At,
    prompt: Prompt,
    max_age: Option<u64>,
    requested: &'static str,
    registered: &'static str,
    /// The user's own scopes; the identity scopes are always grantable.
    user_scopes: &'static str,
    first_party: bool,
    session: Sess,
    /// The session's `auth_time`.
    session_at: i64,
    consented: Option<&'static str>,
    native_app: App,
}

/// Which app the client is.
#[derive(Clone, Copy, Debug)]
enum App {
    /// A confidential client, or one redirecting to https.
    Web,
    /// A public client redirecting to a loopback URI, not confirmed on this browser's session.
    NativeUnconfirmed,
    /// The same, confirmed on this session.
    NativeConfirmed,
}

/// A third-party client asking a live session's user for scopes they have.
const BASE: Case = Case {
    at: At::Authorize,
    prompt: Prompt::Default,
    max_age: None,
    requested: "openid items:read",
    registered: "openid profile items:read items:write",
    user_scopes: "items:read",
    first_party: false,
    session: Sess::Live,
    session_at: SESSION_AT,
    consented: None,
    native_app: App::Web,
};

/// [`BASE`] for a first-party client.
const FIRST: Case = Case {
    first_party: true,
    ..BASE
};

fn run(case: &Case) -> Next {
    let requested = scopes(case.requested);
    let registered = scopes(case.registered);
    let grantable = scopes(case.user_scopes).union(&Scopes::identity());
    let consented = case.consented.map(scopes);
    let record = BrowserSession {
        user_id: "u1".into(),
        auth_time: case.session_at,
        generation: GENERATION,
        epoch: EPOCH,
        expires_at: match case.session {
            Sess::Expired => NOW - 1,
            Sess::EndsNow => NOW,
            _ => NOW + 3600,
        },
        confirmed_clients: Vec::new(),
    };
    let account = Account {
        user_id: "u1",
        disabled: matches!(case.session, Sess::Disabled),
        grantable: &grantable,
        issuance: Issuance {
            generation: match case.session {
                Sess::NewGeneration => GENERATION + 1,
                _ => GENERATION,
            },
            epoch: match case.session {
                Sess::NewEpoch => EPOCH + 1,
                _ => EPOCH,
            },
        },
    };
    let session = match case.session {
        Sess::Absent => None,
        Sess::Gone => Some(Session {
            record: &record,
            account: None,
        }),
        _ => Some(Session {
            record: &record,
            account: Some(account),
        }),
    };
    let step = match case.at {
        At::Authorize => Step::Authorize { session },
        At::LoggedIn => Step::LoggedIn {
            account,
            auth_time: FRESH_AT,
        },
        At::Answer {
            pending_user,
            pending_auth_time,
            allow,
        } => Step::ConsentAnswer {
            session,
            pending_user,
            pending_auth_time,
            allow,
        },
    };
    decide(&Situation {
        request: Request {
            scope: &requested,
            prompt: case.prompt,
            max_age: case.max_age,
        },
        client: ClientView {
            first_party: case.first_party,
            scopes: &registered,
            impersonable: !matches!(case.native_app, App::Web),
            confirmed_here: matches!(case.native_app, App::NativeConfirmed),
        },
        step,
        consented: consented.as_ref(),
        now: NOW,
    })
}

fn login(reason: Reason) -> Next {
    Next::Login { reason }
}

fn code(scope: &str, auth_time: i64, reason: Reason) -> Next {
    Next::IssueCode {
        scope: scopes(scope),
        auth_time,
        reason,
    }
}

fn consent(scope: &str, auth_time: i64, reason: Reason) -> Next {
    Next::Consent {
        scope: scopes(scope),
        auth_time,
        reason,
    }
}

fn refuse(error: Refusal, reason: Reason) -> Next {
    Next::Refuse { error, reason }
}

fn start_over(reason: Reason) -> Next {
    Next::StartOver { reason }
}

fn check_table(table: &[(&str, Case, Next)]) {
    let mut failures = Vec::new();
    for (name, case, expected) in table {
        let got = run(case);
        if got != *expected {
            failures.push(format!(
                "{name}:\n  expected {expected:?}\n  got      {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

use Reason::*;
use Refusal::*;

// One row a line: the tables read as tables.
#[rustfmt::skip]
#[test]
fn the_browser_session() {
    let none = Prompt::None;
    check_table(&[
        ("live session, first party: a code", FIRST, code("openid items:read", SESSION_AT, FirstParty)),
        ("no session: the login page", Case { session: Sess::Absent, ..BASE }, login(NoSession)),
        ("no session, prompt=none", Case { session: Sess::Absent, prompt: none, ..BASE }, refuse(LoginRequired, NoSession)),
        ("expired session", Case { session: Sess::Expired, ..FIRST }, login(SessionExpired)),
        ("expired session, prompt=none", Case { session: Sess::Expired, prompt: none, ..FIRST }, refuse(LoginRequired, SessionExpired)),
        ("a session's last second still counts", Case { session: Sess::EndsNow, ..FIRST }, code("openid items:read", SESSION_AT, FirstParty)),
        ("user gone", Case { session: Sess::Gone, ..FIRST }, login(UserGone)),
        ("user gone, prompt=none", Case { session: Sess::Gone, prompt: none, ..FIRST }, refuse(LoginRequired, UserGone)),
        ("user disabled", Case { session: Sess::Disabled, ..FIRST }, login(UserDisabled)),
        ("user disabled, prompt=none", Case { session: Sess::Disabled, prompt: none, ..FIRST }, refuse(LoginRequired, UserDisabled)),
        ("password changed or logout-all since the login", Case { session: Sess::NewGeneration, ..FIRST }, login(SessionCutOff)),
        ("password changed, prompt=none", Case { session: Sess::NewGeneration, prompt: none, ..FIRST }, refuse(LoginRequired, SessionCutOff)),
        ("revocation store reset since the login", Case { session: Sess::NewEpoch, ..FIRST }, login(SessionCutOff)),
        ("revocation store reset, third party, prompt=none", Case { session: Sess::NewEpoch, prompt: none, ..BASE }, refuse(LoginRequired, SessionCutOff)),
    ]);
}

// One row a line: the tables read as tables.
#[rustfmt::skip]
#[test]
fn every_prompt() {
    let consented = Some("openid items:read items:write");
    check_table(&[
        // prompt=login: a session never counts.
        ("prompt=login with a session", Case { prompt: Prompt::Login, ..FIRST }, login(PromptLogin)),
        ("prompt=login without a session", Case { prompt: Prompt::Login, session: Sess::Absent, ..FIRST }, login(NoSession)),
        ("prompt=login, third party consented", Case { prompt: Prompt::Login, consented, ..BASE }, login(PromptLogin)),
        ("prompt=login over an exceeded max_age", Case { prompt: Prompt::Login, max_age: Some(0), ..FIRST }, login(PromptLogin)),
        // prompt=consent: asks a third party's user again, never a first party's.
        ("prompt=consent, consented before", Case { prompt: Prompt::Consent, consented, ..BASE }, consent("openid items:read", SESSION_AT, PromptConsent)),
        ("prompt=consent needs no consent record", Case { prompt: Prompt::Consent, ..BASE }, consent("openid items:read", SESSION_AT, PromptConsent)),
        ("prompt=consent, first party", Case { prompt: Prompt::Consent, ..FIRST }, code("openid items:read", SESSION_AT, FirstParty)),
        ("prompt=consent without a session", Case { prompt: Prompt::Consent, session: Sess::Absent, ..BASE }, login(NoSession)),
        // prompt=none: never a page.
        ("prompt=none, first party", Case { prompt: Prompt::None, ..FIRST }, code("openid items:read", SESSION_AT, FirstParty)),
        ("prompt=none, consented", Case { prompt: Prompt::None, consented, ..BASE }, code("openid items:read", SESSION_AT, AlreadyConsented)),
        ("prompt=none, not consented", Case { prompt: Prompt::None, consented: Some("openid"), ..BASE }, refuse(ConsentRequired, NotConsented)),
        ("prompt=none, record not read yet", Case { prompt: Prompt::None, ..BASE }, Next::ReadConsent),
        ("prompt=none, no session", Case { prompt: Prompt::None, session: Sess::Absent, ..BASE }, refuse(LoginRequired, NoSession)),
        ("prompt=none, nothing grantable", Case { prompt: Prompt::None, requested: "items:write", ..BASE }, refuse(InvalidScope, NothingGrantable)),
        // No prompt: pages when needed.
        ("no prompt, record not read yet", BASE, Next::ReadConsent),
        ("no prompt, consented", Case { consented, ..BASE }, code("openid items:read", SESSION_AT, AlreadyConsented)),
        ("no prompt, not consented", Case { consented: Some(""), ..BASE }, consent("openid items:read", SESSION_AT, NotConsented)),
    ]);
}

// One row a line: the tables read as tables.
#[rustfmt::skip]
#[test]
fn max_age() {
    check_table(&[
        ("max_age=0, login this second", Case { max_age: Some(0), session_at: NOW, ..FIRST }, code("openid items:read", NOW, FirstParty)),
        ("max_age=0, login a second ago", Case { max_age: Some(0), session_at: NOW - 1, ..FIRST }, login(MaxAgeExceeded)),
        ("max_age=0, prompt=none", Case { max_age: Some(0), prompt: Prompt::None, ..FIRST }, refuse(LoginRequired, MaxAgeExceeded)),
        ("max_age exceeded", Case { max_age: Some(99), ..FIRST }, login(MaxAgeExceeded)),
        ("max_age exceeded, third party consented", Case { max_age: Some(60), consented: Some("openid items:read"), ..BASE }, login(MaxAgeExceeded)),
        ("max_age reached exactly", Case { max_age: Some(100), ..FIRST }, code("openid items:read", SESSION_AT, FirstParty)),
        ("max_age within", Case { max_age: Some(600), ..FIRST }, code("openid items:read", SESSION_AT, FirstParty)),
        ("max_age beyond i64", Case { max_age: Some(u64::MAX), ..FIRST }, code("openid items:read", SESSION_AT, FirstParty)),
        ("a login stamped ahead of our clock", Case { max_age: Some(0), session_at: NOW + 50, ..FIRST }, code("openid items:read", NOW + 50, FirstParty)),
        ("max_age within, prompt=consent", Case { max_age: Some(600), prompt: Prompt::Consent, ..BASE }, consent("openid items:read", SESSION_AT, PromptConsent)),
        ("max_age within, prompt=none, not consented", Case { max_age: Some(600), prompt: Prompt::None, consented: Some(""), ..BASE }, refuse(ConsentRequired, NotConsented)),
        ("max_age on an expired session", Case { max_age: Some(600), session: Sess::Expired, ..FIRST }, login(SessionExpired)),
    ]);
}

// One row a line: the tables read as tables.
#[rustfmt::skip]
#[test]
fn scopes_and_consent() {
    let all = "openid items:read items:write";
    check_table(&[
        ("nothing grantable", Case { requested: "items:write", ..BASE }, refuse(InvalidScope, NothingGrantable)),
        ("nothing grantable, first party", Case { requested: "items:write", ..FIRST }, refuse(InvalidScope, NothingGrantable)),
        ("identity scopes are grantable to anyone", Case { requested: "openid profile", user_scopes: "", ..FIRST }, code("openid profile", SESSION_AT, FirstParty)),
        ("scopes the user lacks are left out", Case { requested: all, ..FIRST }, code("openid items:read", SESSION_AT, FirstParty)),
        ("consented a superset", Case { consented: Some(all), ..BASE }, code("openid items:read", SESSION_AT, AlreadyConsented)),
        ("consented exactly these", Case { consented: Some("openid items:read"), ..BASE }, code("openid items:read", SESSION_AT, AlreadyConsented)),
        ("consented a subset: asked for all of it", Case { requested: all, user_scopes: "items:read items:write", consented: Some("openid items:read"), ..BASE }, consent(all, SESSION_AT, NotConsented)),
        ("consented others", Case { consented: Some("profile"), ..BASE }, consent("openid items:read", SESSION_AT, NotConsented)),
        ("consented nothing", Case { consented: Some(""), ..BASE }, consent("openid items:read", SESSION_AT, NotConsented)),
        ("consent compared after narrowing to the user's scopes", Case { requested: all, consented: Some("openid items:read"), ..BASE }, code("openid items:read", SESSION_AT, AlreadyConsented)),
        ("the consent page shows the narrowed scopes", Case { requested: all, consented: Some("openid"), ..BASE }, consent("openid items:read", SESSION_AT, NotConsented)),
        ("first party: no consent record needed", Case { requested: all, user_scopes: "items:read items:write", ..FIRST }, code(all, SESSION_AT, FirstParty)),
    ]);
}

// One row a line: the tables read as tables.
#[rustfmt::skip]
#[test]
fn just_logged_in() {
    let fresh = Case { at: At::LoggedIn, ..BASE };
    let fresh_first = Case { at: At::LoggedIn, ..FIRST };
    check_table(&[
        ("first party", fresh_first, code("openid items:read", FRESH_AT, FirstParty)),
        ("the browser's old session does not matter", Case { session: Sess::NewGeneration, ..fresh_first }, code("openid items:read", FRESH_AT, FirstParty)),
        ("prompt=login is what just happened", Case { prompt: Prompt::Login, ..fresh_first }, code("openid items:read", FRESH_AT, FirstParty)),
        ("max_age=0 is met by the login itself", Case { max_age: Some(0), ..fresh_first }, code("openid items:read", FRESH_AT, FirstParty)),
        ("third party, record not read yet", fresh, Next::ReadConsent),
        ("third party, not consented", Case { consented: Some(""), ..fresh }, consent("openid items:read", FRESH_AT, NotConsented)),
        ("third party, consented", Case { consented: Some("openid items:read"), ..fresh }, code("openid items:read", FRESH_AT, AlreadyConsented)),
        ("third party, prompt=consent", Case { prompt: Prompt::Consent, consented: Some("openid items:read"), ..fresh }, consent("openid items:read", FRESH_AT, PromptConsent)),
        ("nothing grantable", Case { requested: "items:write", ..fresh }, refuse(InvalidScope, NothingGrantable)),
        ("never a code for a disabled user", Case { session: Sess::Disabled, ..fresh_first }, login(UserDisabled)),
        ("disabled, prompt=none", Case { session: Sess::Disabled, prompt: Prompt::None, ..fresh_first }, refuse(LoginRequired, UserDisabled)),
    ]);
}

// One row a line: the tables read as tables.
#[rustfmt::skip]
#[test]
fn the_consent_answer() {
    let allow = Case { at: ALLOW, ..BASE };
    let deny = Case { at: DENY, ..BASE };
    let all = "openid items:read items:write";
    check_table(&[
        ("allow: a code for the pending login", allow, code("openid items:read", PENDING_AT, Allowed)),
        ("allow, pending without auth_time: the session's", Case { at: At::Answer { pending_user: Some("u1"), pending_auth_time: None, allow: true }, ..BASE }, code("openid items:read", SESSION_AT, Allowed)),
        ("deny", deny, refuse(AccessDenied, Denied)),
        ("deny wins over nothing grantable", Case { requested: "items:write", ..deny }, refuse(AccessDenied, Denied)),
        ("allow, nothing grantable", Case { requested: "items:write", ..allow }, refuse(InvalidScope, NothingGrantable)),
        ("allow, scopes recomputed for the user now", Case { requested: all, ..allow }, code("openid items:read", PENDING_AT, Allowed)),
        ("prompt and max_age were for the login before the page", Case { prompt: Prompt::Login, max_age: Some(0), ..allow }, code("openid items:read", PENDING_AT, Allowed)),
        ("another user's consent page", Case { at: At::Answer { pending_user: Some("u2"), pending_auth_time: Some(PENDING_AT), allow: true }, ..BASE }, start_over(AnotherLogin)),
        ("another user's page, deny", Case { at: At::Answer { pending_user: Some("u2"), pending_auth_time: None, allow: false }, ..BASE }, start_over(AnotherLogin)),
        ("a login form's pending request", Case { at: At::Answer { pending_user: None, pending_auth_time: None, allow: true }, ..BASE }, start_over(AnotherLogin)),
        ("logged out since", Case { session: Sess::Absent, ..allow }, start_over(NoSession)),
        ("session expired since", Case { session: Sess::Expired, ..allow }, start_over(SessionExpired)),
        ("user gone since", Case { session: Sess::Gone, ..deny }, start_over(UserGone)),
        ("user disabled since", Case { session: Sess::Disabled, ..allow }, start_over(UserDisabled)),
        ("password changed since", Case { session: Sess::NewGeneration, ..allow }, start_over(SessionCutOff)),
        ("first party (no page is shown, but an answer is an answer)", Case { first_party: true, ..allow }, code("openid items:read", PENDING_AT, Allowed)),
    ]);
}

// One row a line: the tables read as tables.
#[rustfmt::skip]
#[test]
fn native_apps() {
    let native = Case { native_app: App::NativeUnconfirmed, ..BASE };
    let native_first = Case { native_app: App::NativeUnconfirmed, ..FIRST };
    let confirmed = Case { native_app: App::NativeConfirmed, ..BASE };
    let consented = Some("openid items:read");
    let none = Prompt::None;
    check_table(&[
        ("first party, not confirmed here: the page", native_first, consent("openid items:read", SESSION_AT, UnconfirmedNativeApp)),
        ("first party, not confirmed, prompt=none", Case { prompt: none, ..native_first }, refuse(InteractionRequired, UnconfirmedNativeApp)),
        ("consented before, not confirmed here: the page", Case { consented, ..native }, consent("openid items:read", SESSION_AT, UnconfirmedNativeApp)),
        ("consented, not confirmed, prompt=none", Case { consented, prompt: none, ..native }, refuse(InteractionRequired, UnconfirmedNativeApp)),
        ("just logged in is not a confirmation", Case { at: At::LoggedIn, ..native_first }, consent("openid items:read", FRESH_AT, UnconfirmedNativeApp)),
        ("confirmed here, consented: a code", Case { consented, prompt: none, ..confirmed }, code("openid items:read", SESSION_AT, AlreadyConsented)),
        ("confirmed here, first party: a code", Case { first_party: true, prompt: none, ..confirmed }, code("openid items:read", SESSION_AT, FirstParty)),
        ("confirmed here, consent withdrawn: the record decides", confirmed, Next::ReadConsent),
        ("the answer on the page is the confirmation", Case { at: ALLOW, ..native }, code("openid items:read", PENDING_AT, Allowed)),
        ("no session: the login page first", Case { session: Sess::Absent, ..native }, login(NoSession)),
        ("no session, prompt=none: login_required", Case { session: Sess::Absent, prompt: none, ..native }, refuse(LoginRequired, NoSession)),
    ]);
}

/// Rules that hold across every combination of the inputs.
#[test]
fn invariants_over_every_combination() {
    let prompts = [
        Prompt::Default,
        Prompt::None,
        Prompt::Login,
        Prompt::Consent,
    ];
    let sessions = [
        Sess::Absent,
        Sess::Live,
        Sess::Expired,
        Sess::EndsNow,
        Sess::Gone,
        Sess::Disabled,
        Sess::NewGeneration,
        Sess::NewEpoch,
    ];
    let ats = [At::Authorize, At::LoggedIn, ALLOW, DENY];
    let max_ages = [None, Some(0), Some(99), Some(100), Some(u64::MAX)];
    let requests = ["openid items:read", "items:read items:write", "items:write"];
    let records = [
        None,
        Some(""),
        Some("openid"),
        Some("openid items:read items:write"),
    ];
    let apps = [App::Web, App::NativeUnconfirmed, App::NativeConfirmed];
    let mut checked = 0;
    for at in ats {
        for prompt in prompts {
            for session in sessions {
                for max_age in max_ages {
                    for requested in requests {
                        for first_party in [false, true] {
                            for consented in records {
                                for native_app in apps {
                                    let case = Case {
                                        at,
                                        prompt,
                                        max_age,
                                        requested,
                                        first_party,
                                        session,
                                        consented,
                                        native_app,
                                        ..BASE
                                    };
                                    invariants(&case, &run(&case));
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 4 * 4 * 8 * 5 * 3 * 2 * 4 * 3);
}

fn invariants(case: &Case, next: &Next) {
    let grantable = scopes(case.user_scopes).union(&Scopes::identity());
    let answering = matches!(case.at, At::Answer { .. });
    let live = matches!(case.session, Sess::Live | Sess::EndsNow);
    let fresh = match case.max_age {
        None => true,
        Some(max_age) => NOW - case.session_at <= i64::try_from(max_age).unwrap_or(i64::MAX),
    };
    let disabled = matches!(case.session, Sess::Disabled);
    let shown = matches!(next, Next::Login { .. } | Next::Consent { .. });
    assert!(
        !(case.prompt == Prompt::None && shown),
        "prompt=none shows no page: {case:?} -> {next:?}"
    );
    if answering {
        assert!(
            !shown && *next != Next::ReadConsent,
            "a consent answer shows no page and reads no record: {case:?} -> {next:?}"
        );
    }
    if *next == Next::ReadConsent {
        assert!(
            case.consented.is_none()
                && !case.first_party
                && case.prompt != Prompt::Consent
                && !matches!(case.native_app, App::NativeUnconfirmed),
            "the record is asked for only when it decides: {case:?}"
        );
    }
    if let Next::IssueCode { scope, reason, .. } = next {
        assert!(!disabled, "no code for a disabled user: {case:?}");
        assert!(!scope.is_empty(), "never an empty code: {case:?}");
        let bound = code_scope(
            &scopes(case.requested),
            &scopes(case.registered),
            &grantable,
        );
        assert_eq!(*scope, bound, "a code carries code_scope: {case:?}");
        match case.at {
            At::Authorize => assert!(
                live && fresh && case.prompt != Prompt::Login,
                "a code from a session needs a live, fresh enough one: {case:?}"
            ),
            At::Answer { allow, .. } => {
                assert!(allow && live && *reason == Allowed, "{case:?} -> {next:?}");
            }
            At::LoggedIn => {}
        }
        if matches!(case.native_app, App::NativeUnconfirmed) {
            assert!(
                answering,
                "a native app not confirmed on this session gets a code only from the page: {case:?}"
            );
        }
        if !case.first_party && !answering {
            let consented = case.consented.map(scopes).unwrap_or_default();
            assert!(
                case.prompt != Prompt::Consent && scope.is_subset(&consented),
                "a third party's code needs consent: {case:?}"
            );
        }
    }
}

// One row a line: the tables read as tables.
#[rustfmt::skip]
#[test]
fn code_scope_is_the_intersection() {
    let table = [
        ("openid items:read", "openid items:read items:write", "openid items:read", "openid items:read"),
        ("openid items:read items:write", "openid items:read items:write", "openid items:read", "openid items:read"),
        ("openid items:write", "openid items:read", "openid items:read items:write", "openid"),
        ("items:write", "items:read items:write", "openid items:read", ""),
        ("", "openid", "openid", ""),
    ];
    for (requested, registered, grantable, expected) in table {
        assert_eq!(
            code_scope(&scopes(requested), &scopes(registered), &scopes(grantable)),
            scopes(expected),
            "{requested} / {registered} / {grantable}"
        );
    }
}

#[cfg(feature = "upstream")]
#[rustfmt::skip]
#[test]
fn upstream_logins() {
    let started = NOW - 30;
    let table = [
        ("no auth_time needed: now", Prompt::Default, None, None, started, Ok(NOW)),
        ("the provider's auth_time", Prompt::Default, None, Some(NOW - 1000), started, Ok(NOW - 1000)),
        ("never later than now", Prompt::Default, None, Some(NOW + 500), started, Ok(NOW)),
        ("prompt=login needs auth_time", Prompt::Login, None, None, started, Err("no auth_time for a fresh login")),
        ("max_age needs auth_time", Prompt::Default, Some(300), None, started, Err("no auth_time for a fresh login")),
        ("prompt=login, logged in after the start", Prompt::Login, None, Some(NOW - 10), started, Ok(NOW - 10)),
        ("prompt=login, within the clock skew", Prompt::Login, None, Some(started - 60), started, Ok(started - 60)),
        ("prompt=login, an older login", Prompt::Login, None, Some(started - 61), started, Err("not logged in again")),
        ("max_age plus the skew, exactly", Prompt::Default, Some(300), Some(NOW - 360), started, Ok(NOW - 360)),
        ("max_age exceeded", Prompt::Consent, Some(300), Some(NOW - 361), started, Err("login older than max_age")),
        ("max_age beyond i64", Prompt::Default, Some(u64::MAX), Some(0), started, Ok(0)),
        ("a start at the dawn of time does not overflow", Prompt::Login, None, Some(NOW), i64::MIN, Ok(NOW)),
    ];
    let scope = scopes("openid");
    for (name, prompt, max_age, reported, started_at, expected) in table {
        let request = Request {
            scope: &scope,
            prompt,
            max_age,
        };
        assert_eq!(
            upstream_auth_time(request, reported, started_at, NOW),
            expected,
            "{name}"
        );
    }
}
