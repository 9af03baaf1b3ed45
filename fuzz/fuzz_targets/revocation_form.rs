//! `RevocationRequest::parse`: the `POST /revoke` form (RFC 7009 §2.1), which `POST /introspect`
//! shares (RFC 7662 §2.1), with the client credentials of the form.
//!
//! Input: the first byte picks the `Content-Type` (see `tokenward_fuzz::form_request`), the rest
//! is the body.
//!
//! Invariants: the result equals a reference model's (form type, 16 KiB limit, repeated
//! parameters refused, empty values absent, `client_secret` without `client_id` refused, `token`
//! required, `token_type_hint` mapped when it
//! is `access_token` or `refresh_token` and ignored otherwise); the token is the body's decoded
//! value; errors keep to RFC 6749 §5.2's characters, are well-formed JSON, name no parameter the
//! caller chose, and do not depend on the token's or the client secret's value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;
use tokenward::TokenTypeHint;
use tokenward::provider::{PresentedClient, RevocationRequest};
use tokenward_fuzz::{
    FormModel, MAX_FORM_BYTES, check_form_error, form_model, form_request,
    with_secrets_replaced,
};

fuzz_target!(|data: &[u8]| {
    let (headers, body) = form_request(data);
    let result = RevocationRequest::parse(&headers, body);
    let model = form_model(&headers, body);
    let repeated = matches!(&model, FormModel::Repeated(_));
    type Client = Option<(String, Option<String>)>;
    let expected: Result<(Client, String, Option<TokenTypeHint>), &str> = match model {
        FormModel::Params(mut params) => match (
            params.remove("client_id"),
            params.remove("client_secret"),
            params.remove("token"),
        ) {
            (None, Some(_), _) => Err("invalid_request"),
            (id, secret, Some(token)) => Ok((
                id.map(|id| (id, secret)),
                token,
                match params.remove("token_type_hint").as_deref() {
                    Some("access_token") => Some(TokenTypeHint::AccessToken),
                    Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
                    _ => None,
                },
            )),
            (_, _, None) => Err("invalid_request"),
        },
        _ => Err("invalid_request"),
    };
    let actual = match &result {
        Ok(request) => {
            let client = match &request.client {
                PresentedClient::None => None,
                PresentedClient::Public { client_id } => Some((client_id.clone(), None)),
                PresentedClient::Post { client_id, secret } => Some((
                    client_id.clone(),
                    Some(secret.expose_secret().to_owned()),
                )),
                other => panic!("a form without Authorization parsed as {other:?}"),
            };
            Ok((client, request.token.expose_secret().to_owned(), request.hint))
        }
        Err(err) => Err(err.error),
    };
    assert_eq!(actual, expected, "revocation request");
    let Err(err) = result else {
        return;
    };
    check_form_error(&err);
    if repeated {
        // Never the name: it is whatever the caller chose.
        assert_eq!(err.description, "a parameter is repeated", "repeated parameter");
    }
    let replaced = with_secrets_replaced(body, &["token", "client_secret"]);
    if body.len() <= MAX_FORM_BYTES && replaced.len() <= MAX_FORM_BYTES {
        let Err(other) = RevocationRequest::parse(&headers, &replaced) else {
            panic!("replacing the token made the request valid");
        };
        assert_eq!(
            (other.error, &other.description),
            (err.error, &err.description),
            "the error depends on the token's value"
        );
    }
});
