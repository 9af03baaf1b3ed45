//! The two error answers the contract fixes, RFC 6750's bearer challenge for a refused token and
//! RFC 6749's JSON body for a refused request, checked the same way by every clause module so
//! that a change of either shape fails everywhere at once.

use crate::client::Reply;

pub(crate) fn assert_invalid_token(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 401, "{what}: {}", reply.text());
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer realm=\"tokenward\"")
            && challenge.contains("error=\"invalid_token\""),
        "{what}: {challenge}"
    );
}

pub(crate) fn assert_oauth_error(reply: &Reply, status: u16, error: &str, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text());
    assert_eq!(reply.error(), error, "{what}: {}", reply.text());
    assert!(
        reply.json()["error_description"].is_string(),
        "{what}: error_description missing"
    );
}
