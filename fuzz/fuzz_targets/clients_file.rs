//! `parse_clients_file`: the registered-clients JSON file (`--clients`, `tokenward clients`).
//!
//! Input: the file's text (lossy UTF-8).
//!
//! Invariants: parsing never panics; every accepted client passes `Client::check` and the rules
//! it stands for (id of 1 to 128 printable ASCII characters, unique; every redirect URI
//! registrable and matching itself; the code flow only with a redirect URI; client credentials
//! only with an argon2id PHC secret hash); an accepted file written back as JSON (the documented
//! format; there is no serialiser in the crate, so the target writes it) parses to equal
//! clients; and an error never quotes a `client_secret_hash`: the file with a marker appended to
//! every secret hash is parsed again, and its error must not contain the marker.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tokenward::provider::{Client, GrantType, parse_clients_file, redirect_uri};
use tokenward_fuzz::{SECRET_MARK, with_marked_secrets};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(clients) = parse_clients_file(&text) {
        accepted(&clients);
    }
    no_secret_in_errors(&text);
});

fn accepted(clients: &[Client]) {
    for (i, client) in clients.iter().enumerate() {
        client.check().expect("an accepted client passes check");
        let id = &client.client_id;
        assert!((1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()));
        assert!(
            clients[..i].iter().all(|c| &c.client_id != id),
            "client {id:?} twice"
        );
        for uri in &client.redirect_uris {
            assert!(redirect_uri::check_registrable(uri).is_ok(), "{uri:?}");
            assert!(
                client.redirect_uri_matches(uri),
                "{uri:?} does not match itself"
            );
        }
        if client.allows(GrantType::AuthorizationCode) {
            assert!(
                !client.redirect_uris.is_empty(),
                "code flow without redirect URI"
            );
        }
        if client.allows(GrantType::ClientCredentials) {
            let hash = client
                .secret_hash
                .as_deref()
                .expect("client credentials need a secret");
            let phc = password_hash::PasswordHash::new(hash).expect("secret hash is PHC");
            assert_eq!(phc.algorithm.as_str(), "argon2id");
        }
        assert_eq!(client.is_confidential(), client.secret_hash.is_some());
    }
    let written: Vec<Value> = clients
        .iter()
        .map(|c| {
            let mut entry = json!({
                "client_id": c.client_id,
                "redirect_uris": c.redirect_uris,
                "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
                "scopes": c.scopes.iter().collect::<Vec<_>>(),
                "name": c.name,
                "first_party": c.first_party,
            });
            if let Some(hash) = &c.secret_hash {
                entry["client_secret_hash"] = json!(hash);
            }
            entry
        })
        .collect();
    let again = parse_clients_file(&Value::Array(written).to_string())
        .expect("an accepted file written back parses");
    assert_eq!(again, clients, "clients do not round-trip");
    for client in clients {
        for grant in &client.grant_types {
            assert_eq!(GrantType::from_name(grant.as_str()), Some(*grant));
        }
    }
}

fn no_secret_in_errors(text: &str) {
    let Some(marked) = with_marked_secrets(text, None, "client_secret_hash") else {
        return;
    };
    if let Err(err) = parse_clients_file(&marked) {
        let message = err.to_string();
        assert!(
            !message.contains(SECRET_MARK),
            "the error quotes a client_secret_hash: {message}"
        );
    }
}
