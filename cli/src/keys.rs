//! `keygen`, `keys rotate`, `keys retire`, `jwks`: the key file the servers read.

use std::path::Path;

use serde_json::json;
use tokenward::keys::{KeyAlgorithm, KeyError, KeySet, SigningKey};

use crate::outcome::{Answer, Failure, Outcome, fail};

fn load(path: &Path) -> Result<KeySet, Failure> {
    // KeyError already names the path and the field.
    KeySet::load(path).map_err(|e| Failure::new(e.to_string()))
}

fn save(keys: &KeySet, path: &Path) -> Result<(), Failure> {
    keys.save(path).map_err(|e| Failure::new(e.to_string()))
}

fn describe(keys: &KeySet) -> serde_json::Value {
    json!({
        "active": keys.active().kid(),
        "id_token": keys.id_token_key().map(SigningKey::kid),
        "keys": keys.keys().iter().map(|k| json!({"kid": k.kid(), "alg": k.algorithm().name()})).collect::<Vec<_>>(),
    })
}

/// `tokenward keygen --alg ALG --out FILE [--id-token]`: a new key file, with an RS256
/// id_token key beside the active key when asked (the servers add one at start otherwise);
/// never overwrites one.
pub fn keygen(algorithm: KeyAlgorithm, out: &Path, id_token: bool) -> Answer {
    if out.exists() {
        return Err(Failure::new(format!(
            "{}: already exists; use `tokenward keys rotate` to add a key to it",
            out.display()
        )));
    }
    let mut keys = KeySet::generate(algorithm).map_err(fail("generating a key"))?;
    if id_token {
        keys.ensure_id_token_key()
            .map_err(fail("generating the id_token key"))?;
    }
    save(&keys, out)?;
    let kid = keys.active().kid();
    Ok(Outcome::ok(
        format!(
            "wrote {} with {} key {kid}",
            out.display(),
            algorithm.name()
        ),
        describe(&keys),
    ))
}

/// `tokenward keys rotate FILE [--alg ALG]`: a new active key, and a new id_token key when the
/// file has a dedicated one; the old ones keep verifying.
pub fn rotate(path: &Path, algorithm: Option<KeyAlgorithm>) -> Answer {
    let mut keys = load(path)?;
    let previous = keys.active().kid().to_owned();
    let algorithm = algorithm.unwrap_or(keys.active().algorithm());
    let key = SigningKey::generate(algorithm).map_err(fail("generating a key"))?;
    let kid = key.kid().to_owned();
    let dedicated_id_token_key = keys
        .id_token_key()
        .filter(|id_key| id_key.kid() != previous)
        .map(SigningKey::algorithm);
    keys.rotate(key).map_err(fail(path.display()))?;
    if let Some(id_algorithm) = dedicated_id_token_key {
        let id_key = SigningKey::generate(id_algorithm).map_err(fail("generating a key"))?;
        keys.rotate_id_token_key(id_key)
            .map_err(fail(path.display()))?;
    }
    save(&keys, path)?;
    Ok(Outcome::ok(
        format!(
            "active key is now {kid} ({}); {previous} still verifies until retired",
            algorithm.name()
        ),
        describe(&keys),
    ))
}

/// `tokenward keys retire FILE KID`: the key stops verifying; the active key cannot be retired.
pub fn retire(path: &Path, kid: &str) -> Answer {
    let mut keys = load(path)?;
    match keys.retire(kid) {
        Ok(_) => {
            save(&keys, path)?;
            Ok(Outcome::ok(
                format!("retired {kid}; tokens it signed no longer verify"),
                describe(&keys),
            ))
        }
        Err(KeyError::RetireActive(_)) => Err(Failure::new(format!(
            "{kid} is the active key; rotate first, then retire it"
        ))),
        Err(err) => Ok(Outcome::no(
            format!("not retired: {err}"),
            json!({"retired": false, "reason": err.to_string()}),
        )),
    }
}

/// `tokenward jwks FILE`: the public keys as a JWKS (never a private or HMAC key).
pub fn jwks(path: &Path) -> Answer {
    let keys = load(path)?;
    let jwks = serde_json::to_value(keys.jwks()).map_err(fail("JWKS"))?;
    let pretty = serde_json::to_string_pretty(&jwks).map_err(fail("JWKS"))?;
    Ok(Outcome::ok(pretty, jwks))
}
