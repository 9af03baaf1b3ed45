//! `client_address`: which address a login is throttled by, from the peer and the
//! `X-Forwarded-For` headers of trusted proxies.
//!
//! Input: the first byte picks the peer and how many trusted proxies there are from a small set
//! of addresses (IPv4, IPv6, IPv4-mapped IPv6); the rest, split at newlines, are the
//! `X-Forwarded-For` header lines.
//!
//! Invariants: a peer that is not a trusted proxy is the answer whatever the headers say; the
//! answer is never a trusted proxy other than the peer itself; it is either the peer or an
//! address written in one of the headers; and it equals a reference reading the list right to
//! left, skipping trusted proxies, stopping at the first entry that does not parse.

#![no_main]

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use http::header::HeaderValue;
use libfuzzer_sys::fuzz_target;
use tokenward::oauth2::client_address;

const ADDRESSES: [&str; 8] = [
    "10.0.0.1",
    "10.0.0.2",
    "198.51.100.7",
    "::ffff:10.0.0.1",
    "2001:db8::1",
    "2001:db8::2",
    "127.0.0.1",
    "::1",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let addresses: Vec<IpAddr> = ADDRESSES.iter().map(|a| a.parse().unwrap()).collect();
    let peer = addresses[usize::from(pick & 7)];
    // The first N addresses are the trusted proxies.
    let trusted = &addresses[..usize::from(pick >> 3) % 5];
    let mut headers = HeaderMap::new();
    for line in rest.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append("x-forwarded-for", value);
        }
    }
    let answer = client_address(peer, &headers, trusted);
    let canonical = |a: IpAddr| a.to_canonical();
    let is_trusted = |a: IpAddr| trusted.iter().any(|t| canonical(*t) == canonical(a));
    if !is_trusted(peer) {
        assert_eq!(
            answer,
            canonical(peer),
            "an untrusted peer's header was believed"
        );
    }
    if answer != canonical(peer) {
        assert!(!is_trusted(answer), "the answer is a trusted proxy");
    }
    assert_eq!(
        answer,
        reference(peer, &headers, &is_trusted),
        "client_address"
    );
});

fn reference(peer: IpAddr, headers: &HeaderMap, trusted: &dyn Fn(IpAddr) -> bool) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted(peer) {
        return peer;
    }
    let mut hops: Vec<&[u8]> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        hops.extend(value.as_bytes().split(|&b| b == b','));
    }
    for hop in hops.iter().rev() {
        let parsed = std::str::from_utf8(hop).ok().and_then(|text| {
            let text = text.trim();
            text.parse::<IpAddr>()
                .ok()
                .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        });
        match parsed.map(|a| a.to_canonical()) {
            Some(address) if trusted(address) => continue,
            Some(address) => return address,
            None => return peer,
        }
    }
    peer
}
