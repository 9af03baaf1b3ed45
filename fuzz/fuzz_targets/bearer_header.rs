//! The `Authorization` header: `bearer_token` (RFC 6750 §2.1) and `presented_client`
//! (`client_secret_basic` / `client_secret_post`, RFC 6749 §2.3.1).
//!
//! Input: the first byte holds flags (how many `Authorization` headers, whether the form has a
//! `client_id` and a `client_secret`, whether the first header is built as `Basic` + base64 of
//! the input or `Bearer ` + the input); the rest is split at NUL bytes into the two header values,
//! the form `client_id` and the form `client_secret`.
//!
//! Invariants: `bearer_token` accepts exactly the single headers of the form
//! `bearer 1*SP b64token` (scheme case-insensitive) and returns the header's tail after the
//! spaces, a suffix of the value; `presented_client` equals a reference decoding (base64 with
//! padding, then form decoding of id and secret), never accepts two methods at once nor a
//! differing `client_id` beside Basic credentials, never a secret without an id; and a request
//! with a valid Bearer header never counts as Basic client authentication.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderValue};
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use tokenward::oauth2::{BearerError, bearer_token};
use tokenward::provider::{ClientAuthError, PresentedClient, presented_client};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut fields = rest.splitn(4, |&b| b == 0);
    let mut first = fields.next().unwrap_or_default().to_vec();
    let second = fields.next().unwrap_or_default();
    let form_id = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    let form_secret = String::from_utf8_lossy(fields.next().unwrap_or_default()).into_owned();
    match (flags >> 4) & 3 {
        1 => first = format!("Basic {}", STANDARD.encode(&first)).into_bytes(),
        2 => {
            first.splice(0..0, *b"Bearer ");
        }
        _ => {}
    };
    let mut values = Vec::new();
    for raw in [&first[..], second]
        .iter()
        .take(usize::from(flags & 3).min(2))
    {
        if let Ok(value) = HeaderValue::from_bytes(raw) {
            values.push(value);
        }
    }
    let mut headers = HeaderMap::new();
    for value in &values {
        headers.append(AUTHORIZATION, value.clone());
    }
    let form_id = (flags & 4 != 0).then_some(form_id.as_str());
    let form_secret = (flags & 8 != 0).then_some(form_secret.as_str());

    let bearer = bearer_token(&headers);
    assert_eq!(bearer, bearer_model(&values), "bearer_token");
    if let Ok(token) = bearer {
        let value = values[0].to_str().unwrap();
        assert!(value.ends_with(token), "the token is not the header's tail");
    }

    let client = presented_client(&headers, form_id, form_secret);
    let expected = client_model(&values, form_id, form_secret);
    let actual = client.as_ref().map(|c| match c {
        PresentedClient::Basic { client_id, secret } => {
            Presented::Basic(client_id.clone(), secret.expose_secret().to_owned())
        }
        PresentedClient::Post { client_id, secret } => {
            Presented::Post(client_id.clone(), secret.expose_secret().to_owned())
        }
        PresentedClient::Public { client_id } => Presented::Public(client_id.clone()),
        PresentedClient::None => Presented::None,
    });
    assert_eq!(actual.map_err(|e| *e), expected, "presented_client");
    if let Ok(client) = &client {
        assert_eq!(
            client.used_basic(),
            matches!(client, PresentedClient::Basic { .. })
        );
        if form_secret.is_some() {
            assert!(!client.used_basic(), "Basic and form credentials together");
        }
        if bearer.is_ok() {
            assert!(
                !client.used_basic(),
                "a Bearer header counted as Basic credentials"
            );
        }
    }
});

fn b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// RFC 6750: `Bearer 1*SP b64token`, one header.
fn bearer_model(values: &[HeaderValue]) -> Result<&str, BearerError> {
    let value = match values {
        [] => return Err(BearerError::Missing),
        [one] => one,
        _ => return Err(BearerError::Malformed),
    };
    let text = value.to_str().map_err(|_| BearerError::Malformed)?;
    let scheme_ok = text.len() > 7 && text[..6].eq_ignore_ascii_case("bearer");
    if !scheme_ok || text.as_bytes()[6] != b' ' {
        return Err(BearerError::Malformed);
    }
    let token = text[7..].trim_start_matches(' ');
    if b64token(token) {
        Ok(token)
    } else {
        Err(BearerError::Malformed)
    }
}

#[derive(Debug, PartialEq)]
enum Presented {
    Basic(String, String),
    Post(String, String),
    Public(String),
    None,
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte, and
/// the result must be UTF-8.
fn form_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::new();
    let raw = text.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' if i + 2 < raw.len() && hex(raw[i + 1]).is_some() && hex(raw[i + 2]).is_some() => {
                bytes.push((hex(raw[i + 1]).unwrap() * 16 + hex(raw[i + 2]).unwrap()) as u8);
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes).ok()
}

fn basic_model(values: &[HeaderValue]) -> Result<Option<(String, String)>, ClientAuthError> {
    let value = match values {
        [] => return Ok(None),
        [one] => one,
        _ => return Err(ClientAuthError::MalformedBasic),
    };
    let text = value
        .to_str()
        .map_err(|_| ClientAuthError::MalformedBasic)?;
    let Some((scheme, encoded)) = text.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let malformed = ClientAuthError::MalformedBasic;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed)?;
    let (id, secret) = decoded.split_once(':').ok_or(malformed)?;
    let id = form_decode(id).ok_or(malformed)?;
    let secret = form_decode(secret).ok_or(malformed)?;
    if id.is_empty() {
        return Err(malformed);
    }
    Ok(Some((id, secret)))
}

fn client_model(
    values: &[HeaderValue],
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Presented, ClientAuthError> {
    match (basic_model(values)?, form_id, form_secret) {
        (Some(_), _, Some(_)) => Err(ClientAuthError::MultipleMethods),
        (Some((id, _)), Some(form_id), None) if form_id != id => {
            Err(ClientAuthError::MultipleMethods)
        }
        (Some((id, secret)), _, None) => Ok(Presented::Basic(id, secret)),
        (None, Some(id), Some(secret)) => Ok(Presented::Post(id.into(), secret.into())),
        (None, Some(id), None) => Ok(Presented::Public(id.into())),
        (None, None, Some(_)) => Err(ClientAuthError::SecretWithoutId),
        (None, None, None) => Ok(Presented::None),
    }
}
