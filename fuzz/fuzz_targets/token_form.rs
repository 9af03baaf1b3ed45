//! `parse_token_request`: the `POST /token` form (RFC 6749 §4.3 password grant, §6 refresh).
//!
//! Input: the first byte picks the `Content-Type` (see `tokenward_fuzz::form_request`), the rest
//! is the body.
//!
//! Invariants: the result equals a reference model's (form type, 16 KiB limit, a parameter named
//! twice refused even with an empty value, empty values counting as absent, the grant's
//! required parameters, RFC 6749 scope syntax), error codes included; every parsed field is the
//! decoded value the body carries; an error names a repeated parameter only through its
//! printable characters, is printable ASCII and a well-formed JSON response; and an error does
//! not depend on the password or refresh token (the same form with those values replaced gets
//! the identical error), so no credential can be echoed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use tokenward::oauth2::{TokenRequest, parse_token_request};
use tokenward::token::Scopes;
use tokenward_fuzz::{
    FormModel, MAX_FORM_BYTES, check_form_error, form_model, form_request, printable_name,
    with_secrets_replaced,
};

#[derive(Debug, PartialEq)]
enum Expected {
    Password {
        username: String,
        password: String,
        scope: Option<Scopes>,
    },
    Refresh {
        refresh_token: String,
        scope: Option<Scopes>,
    },
    Error(&'static str),
}

fn expected(model: FormModel) -> Expected {
    let mut params = match model {
        FormModel::Params(params) => params,
        _ => return Expected::Error("invalid_request"),
    };
    let Some(grant_type) = params.remove("grant_type") else {
        return Expected::Error("invalid_request");
    };
    let scope =
        |params: &mut std::collections::HashMap<String, String>| match params.remove("scope") {
            None => Ok(None),
            Some(text) => Scopes::parse(&text).map(Some).map_err(|_| ()),
        };
    match grant_type.as_str() {
        "password" => {
            let (Some(username), Some(password)) =
                (params.remove("username"), params.remove("password"))
            else {
                return Expected::Error("invalid_request");
            };
            match scope(&mut params) {
                Ok(scope) => Expected::Password {
                    username,
                    password,
                    scope,
                },
                Err(()) => Expected::Error("invalid_scope"),
            }
        }
        "refresh_token" => {
            let Some(refresh_token) = params.remove("refresh_token") else {
                return Expected::Error("invalid_request");
            };
            match scope(&mut params) {
                Ok(scope) => Expected::Refresh {
                    refresh_token,
                    scope,
                },
                Err(()) => Expected::Error("invalid_scope"),
            }
        }
        _ => Expected::Error("unsupported_grant_type"),
    }
}

fn actual(result: &Result<TokenRequest, tokenward::oauth2::ErrorResponse>) -> Expected {
    match result {
        Ok(TokenRequest::Password {
            username,
            password,
            scope,
        }) => Expected::Password {
            username: username.clone(),
            password: password.expose_secret().to_owned(),
            scope: scope.clone(),
        },
        Ok(TokenRequest::RefreshToken {
            refresh_token,
            scope,
        }) => Expected::Refresh {
            refresh_token: refresh_token.expose_secret().to_owned(),
            scope: scope.clone(),
        },
        Err(err) => Expected::Error(err.error),
    }
}

fuzz_target!(|data: &[u8]| {
    let (headers, body) = form_request(data);
    let result = parse_token_request(&headers, body);
    let model = form_model(&headers, body);
    let repeated = match &model {
        FormModel::Repeated(name) => Some(printable_name(name)),
        _ => None,
    };
    assert_eq!(actual(&result), expected(model), "token request");
    let Err(err) = result else {
        return;
    };
    check_form_error(&err);
    if let Some(name) = repeated {
        assert!(
            err.description.contains(&name),
            "the error does not name the repeated parameter: {:?}",
            err.description
        );
    }
    let secrets = ["password", "refresh_token"];
    let replaced = with_secrets_replaced(body, &secrets);
    if body.len() <= MAX_FORM_BYTES && replaced.len() <= MAX_FORM_BYTES {
        let other = parse_token_request(&headers, &replaced);
        let Err(other) = other else {
            panic!("replacing the credentials made the request valid");
        };
        assert_eq!(
            (other.error, &other.description),
            (err.error, &err.description),
            "the error depends on a credential's value"
        );
    }
});
