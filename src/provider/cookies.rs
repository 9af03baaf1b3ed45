//! The two cookies of the authorization endpoint: the browser session (who logged in) and the
//! browser binding (which browser a login form was shown to, against login CSRF). Both hold
//! random values whose digests are the store keys; both are `HttpOnly`, `SameSite=Lax`,
//! `Path=/`, and `Secure` when the issuer is https.

use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "tokenward_session";
/// The browser binding cookie.
pub const BROWSER_COOKIE: &str = "tokenward_browser";

/// The value of cookie `name` in the request, if sent (the first, if sent more than once).
pub(crate) fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value for `name=value`, kept `max_age_secs` (`None`: until the browser
/// closes).
pub(crate) fn set(
    name: &'static str,
    value: &str,
    secure: bool,
    max_age_secs: Option<i64>,
) -> Option<HeaderValue> {
    let mut cookie = Cookie::build((name, value.to_owned()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(secure);
    if let Some(secs) = max_age_secs {
        cookie = cookie.max_age(cookie::time::Duration::seconds(secs));
    }
    HeaderValue::from_str(&cookie.build().to_string()).ok()
}

/// A `Set-Cookie` value that deletes cookie `name`.
pub(crate) fn clear(name: &'static str, secure: bool) -> Option<HeaderValue> {
    set(name, "", secure, Some(0))
}
