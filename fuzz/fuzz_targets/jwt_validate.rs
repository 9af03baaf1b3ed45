//! Access- and refresh-token validation on arbitrary strings and on mutations of genuinely
//! signed tokens.
//!
//! Input: the first byte picks the mode. Even: the rest is the token (lossy UTF-8). Odd: the
//! second byte picks a genuine token (a PyJWT vector or a token tokenward issued with each key of
//! the fixture), and the rest is a list of 4-byte edits applied to it (overwrite, insert, delete,
//! flip a bit, truncate, splice in another genuine token's part, overwrite a byte inside the
//! base64-decoded header).
//!
//! Invariants (`tokenward_fuzz::check_token`): an accepted token's signature verifies under the
//! key its `kid` names with that key's algorithm (checked with aws-lc-rs directly), its
//! signed part is one the fixture knows was signed, its claims are the payload's, and the cached
//! codec, the uncached codec and the `JwksVerifier` give the same verdict.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use tokenward_fuzz::{JwtFixture, check_token, jwt_fixture};

fuzz_target!(|data: &[u8]| {
    let fx = jwt_fixture();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode % 2 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        mutate(fx, rest)
    };
    check_token(fx, &token);
});

fn parts(token: &[u8]) -> Vec<Vec<u8>> {
    token.split(|&b| b == b'.').map(<[u8]>::to_vec).collect()
}

fn mutate(fx: &JwtFixture, data: &[u8]) -> String {
    let Some((&pick, edits)) = data.split_first() else {
        return String::new();
    };
    let bases = &fx.bases;
    let mut token = bases[usize::from(pick) % bases.len()]
        .token
        .clone()
        .into_bytes();
    for edit in edits.chunks_exact(4) {
        let at = usize::from(u16::from_le_bytes([edit[1], edit[2]]));
        let arg = edit[3];
        let len = token.len();
        match edit[0] % 7 {
            0 if len > 0 => token[at % len] = arg,
            1 => token.insert(at % (len + 1), arg),
            2 if len > 0 => {
                token.remove(at % len);
            }
            3 if len > 0 => token[at % len] ^= 1 << (arg % 8),
            4 => token.truncate(at % (len + 1)),
            5 => {
                // Another genuine token's header, payload or signature in place of this one's.
                let donor = parts(bases[at % bases.len()].token.as_bytes());
                let mut mine = parts(&token);
                let index = usize::from(arg) % 3;
                if mine.len() == 3 && donor.len() == 3 {
                    mine[index] = donor[index].clone();
                    token = mine.join(&b'.');
                }
            }
            6 => {
                // A byte of the decoded header JSON, re-encoded: reaches the header checks
                // (alg, kid, typ, crit) with well-formed base64.
                let mut mine = parts(&token);
                if let Some(Ok(mut header)) = mine.first().map(|h| URL_SAFE_NO_PAD.decode(h))
                    && !header.is_empty()
                {
                    let i = at % header.len();
                    header[i] = arg;
                    mine[0] = URL_SAFE_NO_PAD.encode(header).into_bytes();
                    token = mine.join(&b'.');
                }
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&token).into_owned()
}
