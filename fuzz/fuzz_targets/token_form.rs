//! `TokenRequest::parse`: the `POST /token` form every grant shares (RFC 6749 §4.1.3
//! authorization code, §4.3 password, §4.4 client credentials, §6 refresh), with the client
//! credentials of the form (`client_id`, `client_secret`).
//!
//! Input: the first byte picks the `Content-Type` (see `tokenward_fuzz::form_request`), the rest
//! is the body.
//!
//! Invariants: the result equals a reference model's (form type, 16 KiB limit, a parameter named
//! twice refused even with an empty value, empty values counting as absent, `client_secret`
//! without `client_id` refused, the grant's required parameters, RFC 6749 scope syntax), error
//! codes included; every parsed field is the decoded value the body carries; an error names no
//! parameter the caller chose (a repeated one is "a parameter is repeated"), keeps to RFC 6749
//! §5.2's characters and is a well-formed JSON response; and an error does not depend on any
//! credential (password, refresh token, code, verifier, client secret: the same form with those
//! values replaced gets the identical error), so no credential can be echoed.

#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use tokenward::provider::{PresentedClient, TokenGrant, TokenRequest};
use tokenward::token::Scopes;
use tokenward_fuzz::{
    FormModel, MAX_FORM_BYTES, check_form_error, form_model, form_request,
    with_secrets_replaced,
};

#[derive(Debug, PartialEq)]
enum Client {
    None,
    Public(String),
    Post(String, String),
}

#[derive(Debug, PartialEq)]
enum Grant {
    Code {
        code: String,
        redirect_uri: Option<String>,
        verifier: Option<String>,
    },
    ClientCredentials {
        scope: Option<Scopes>,
    },
    Password {
        username: String,
        password: String,
        scope: Option<Scopes>,
    },
    Refresh {
        refresh_token: String,
        scope: Option<Scopes>,
    },
}

type Expected = Result<(Client, Grant), &'static str>;

fn expected(model: FormModel) -> Expected {
    let mut params = match model {
        FormModel::Params(params) => params,
        _ => return Err("invalid_request"),
    };
    let client = match (params.remove("client_id"), params.remove("client_secret")) {
        (Some(id), Some(secret)) => Client::Post(id, secret),
        (Some(id), None) => Client::Public(id),
        (None, None) => Client::None,
        (None, Some(_)) => return Err("invalid_request"),
    };
    let grant_type = params.remove("grant_type").ok_or("invalid_request")?;
    let scope = |params: &mut HashMap<String, String>| match params.remove("scope") {
        None => Ok(None),
        Some(text) => Scopes::parse(&text).map(Some).map_err(|_| "invalid_scope"),
    };
    let grant = match grant_type.as_str() {
        "authorization_code" => Grant::Code {
            code: params.remove("code").ok_or("invalid_request")?,
            redirect_uri: params.remove("redirect_uri"),
            verifier: params.remove("code_verifier"),
        },
        "client_credentials" => Grant::ClientCredentials {
            scope: scope(&mut params)?,
        },
        "password" => {
            let username = params.remove("username").ok_or("invalid_request")?;
            let password = params.remove("password").ok_or("invalid_request")?;
            Grant::Password {
                username,
                password,
                scope: scope(&mut params)?,
            }
        }
        "refresh_token" => Grant::Refresh {
            refresh_token: params.remove("refresh_token").ok_or("invalid_request")?,
            scope: scope(&mut params)?,
        },
        _ => return Err("unsupported_grant_type"),
    };
    Ok((client, grant))
}

fn actual(result: &Result<TokenRequest, tokenward::oauth2::ErrorResponse>) -> Expected {
    let request = match result {
        Ok(request) => request,
        Err(err) => return Err(err.error),
    };
    let client = match &request.client {
        PresentedClient::None => Client::None,
        PresentedClient::Public { client_id } => Client::Public(client_id.clone()),
        PresentedClient::Post { client_id, secret } => {
            Client::Post(client_id.clone(), secret.expose_secret().to_owned())
        }
        other => panic!("a form without Authorization parsed as {other:?}"),
    };
    let grant = match &request.grant {
        TokenGrant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => Grant::Code {
            code: code.expose_secret().to_owned(),
            redirect_uri: redirect_uri.clone(),
            verifier: code_verifier.as_ref().map(|v| v.expose_secret().to_owned()),
        },
        TokenGrant::ClientCredentials { scope } => Grant::ClientCredentials {
            scope: scope.clone(),
        },
        TokenGrant::Password {
            username,
            password,
            scope,
        } => Grant::Password {
            username: username.clone(),
            password: password.expose_secret().to_owned(),
            scope: scope.clone(),
        },
        TokenGrant::RefreshToken {
            refresh_token,
            scope,
        } => Grant::Refresh {
            refresh_token: refresh_token.expose_secret().to_owned(),
            scope: scope.clone(),
        },
        other => panic!("an unknown grant {other:?}"),
    };
    Ok((client, grant))
}

fuzz_target!(|data: &[u8]| {
    let (headers, body) = form_request(data);
    let result = TokenRequest::parse(&headers, body);
    let model = form_model(&headers, body);
    let repeated = matches!(&model, FormModel::Repeated(_));
    assert_eq!(actual(&result), expected(model), "token request");
    let Err(err) = result else {
        return;
    };
    check_form_error(&err);
    if repeated {
        // Never the name: it is whatever the caller chose.
        assert_eq!(err.description, "a parameter is repeated", "repeated parameter");
    }
    let secrets = [
        "password",
        "refresh_token",
        "code",
        "code_verifier",
        "client_secret",
    ];
    let replaced = with_secrets_replaced(body, &secrets);
    if body.len() <= MAX_FORM_BYTES && replaced.len() <= MAX_FORM_BYTES {
        let other = TokenRequest::parse(&headers, &replaced);
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
