//! What the load records: one entry per request and per token issued, with the times each was
//! sent and answered, and the servers' memory samples. The checks judge these records alone, so
//! whatever the driver should be able to prove about a run has to be written down here.

/// What a request was for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Kind {
    Login,
    Validate,
    Refresh,
    RefreshDup,
    RevokeAccess,
    RevokeRefresh,
    LogoutAll,
    ProbeAccess,
    ProbeRefresh,
    Health,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Login => "login (password grant)",
            Kind::Validate => "validate (GET /users/me)",
            Kind::Refresh => "refresh",
            Kind::RefreshDup => "refresh, concurrent duplicate",
            Kind::RevokeAccess => "revoke access token",
            Kind::RevokeRefresh => "revoke refresh token",
            Kind::LogoutAll => "logout-all",
            Kind::ProbeAccess => "probe: refused access token",
            Kind::ProbeRefresh => "probe: spent refresh token",
            Kind::Health => "GET /health (1/s)",
        }
    }
    /// Requests whose 2xx means the token was accepted.
    pub fn accepts_token(self) -> bool {
        matches!(
            self,
            Kind::Validate
                | Kind::ProbeAccess
                | Kind::LogoutAll
                | Kind::Refresh
                | Kind::RefreshDup
                | Kind::ProbeRefresh
        )
    }
    pub fn redeems(self) -> bool {
        matches!(self, Kind::Refresh | Kind::RefreshDup | Kind::ProbeRefresh)
    }
}

/// One request: to which instance, with which token (index into `Log::toks`), when, answered how.
pub struct Req {
    pub kind: Kind,
    pub inst: usize,
    pub token: Option<usize>,
    pub user: usize,
    pub sent: f64,
    pub done: f64,
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// One token issued by a 200 from `/token`, and when the request that got it ran.
pub struct Tok {
    pub access: bool,
    pub user: usize,
    pub lineage: usize,
    pub issued_sent: f64,
    pub issued_done: f64,
}

/// Every request and every token of a run.
#[derive(Default)]
pub struct Log {
    pub reqs: Vec<Req>,
    pub toks: Vec<Tok>,
}

/// A memory sample: seconds since the start, and each instance's RSS in KiB.
pub type RssSample = (f64, [Option<u64>; 2]);

pub fn is_ok(status: Option<u16>) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
}

pub fn status_name(r: &Req) -> String {
    match (r.status, &r.error) {
        (Some(s), None) => s.to_string(),
        (_, Some(e)) => {
            if e.contains("timed out") {
                "error: timeout".into()
            } else if e.contains("onnection refused") {
                "error: connection refused".into()
            } else {
                "error: other".into()
            }
        }
        (None, None) => "?".into(),
    }
}
