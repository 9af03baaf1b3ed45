//! Parsing the `application/x-www-form-urlencoded` bodies of the OAuth endpoints (RFC 6749 §3.2):
//! the form rules every endpoint shares; each endpoint's typed parser reads its parameters.

use std::collections::HashMap;

use http::HeaderMap;
use http::header::CONTENT_TYPE;

use super::{ErrorResponse, MAX_FORM_BYTES};
use crate::token::Scopes;

/// The parameters of a form, each at most once; empty values count as absent (RFC 6749 §3.1).
pub(crate) struct Form(HashMap<String, String>);

impl Form {
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, ErrorResponse> {
        let mut content_types = headers.get_all(CONTENT_TYPE).iter();
        let form_type = match (content_types.next(), content_types.next()) {
            (Some(value), None) => value
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .is_some_and(|media| {
                    media
                        .trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                }),
            _ => false,
        };
        if !form_type {
            return Err(ErrorResponse::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        if body.len() > MAX_FORM_BYTES {
            return Err(ErrorResponse::invalid_request(
                "the request body is too large",
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if params.contains_key(name.as_ref()) {
                // Never the name: it is whatever the caller chose (RFC 6749 §5.2 descriptions
                // are the server's words).
                return Err(ErrorResponse::invalid_request("a parameter is repeated"));
            }
            params.insert(name.into_owned(), value.into_owned());
        }
        params.retain(|_, value| !value.is_empty());
        Ok(Self(params))
    }

    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    pub(crate) fn require(&mut self, name: &'static str) -> Result<String, ErrorResponse> {
        self.take(name).ok_or_else(|| {
            ErrorResponse::invalid_request(format!("the {name} parameter is missing"))
        })
    }

    pub(crate) fn scope(&mut self) -> Result<Option<Scopes>, ErrorResponse> {
        self.take("scope")
            .map(|text| Scopes::parse(&text))
            .transpose()
            .map_err(|err| ErrorResponse::invalid_scope(err.to_string()))
    }
}
