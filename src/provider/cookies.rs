//! The cookies of the authorization endpoint: the browser session (who logged in), the browser
//! binding (which browser a login form was shown to, against login CSRF), and the device cookie
//! (this browser has logged in as a user before, `crate::token::device`). The first two hold
//! random values whose digests are the store keys, the third a signed token; all are `HttpOnly`, `SameSite=Lax`,
//! `Path=/`, and under an https issuer `Secure` and named with the `__Host-` prefix, which
//! browsers keep only with `Secure`, `Path=/` and no `Domain`: a sibling subdomain or a plain
//! http page cannot plant or overwrite them. A request that carries a cookie name twice (one
//! of them planted) is treated as carrying none.

use std::borrow::Cow;

use cookie::{Cookie, SameSite};
use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

/// The browser session cookie (`__Host-tokenward_session` under an https issuer).
pub const SESSION_COOKIE: &str = "tokenward_session";
/// The browser binding cookie (`__Host-tokenward_browser` under an https issuer).
pub const BROWSER_COOKIE: &str = "tokenward_browser";

/// The device cookie (`__Host-tokenward_device` under an https issuer).
pub const DEVICE_COOKIE: &str = "tokenward_device";

/// The name cookie `name` goes by: `__Host-name` when `secure` (an https issuer).
pub(crate) fn wire_name(name: &'static str, secure: bool) -> Cow<'static, str> {
    if secure {
        Cow::Owned(format!("__Host-{name}"))
    } else {
        Cow::Borrowed(name)
    }
}

/// The value of cookie `name` in the request, if sent exactly once and not empty.
pub(crate) fn read(headers: &HeaderMap, name: &'static str, secure: bool) -> Option<String> {
    let wanted = wire_name(name, secure);
    let mut values = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == wanted)
        .map(|cookie| cookie.value().to_owned());
    match (values.next(), values.next()) {
        (Some(value), None) if !value.is_empty() => Some(value),
        _ => None,
    }
}

/// A `Set-Cookie` value for `name=value`, kept `max_age_secs` (`None`: until the browser
/// closes).
pub(crate) fn set(
    name: &'static str,
    value: &str,
    secure: bool,
    max_age_secs: Option<i64>,
) -> Option<HeaderValue> {
    let mut cookie = Cookie::build((wire_name(name, secure), value.to_owned()))
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
