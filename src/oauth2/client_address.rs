//! Which address a login counts against: the peer, or, behind a reverse proxy the operator
//! trusts, the client that proxy says it forwarded for.

use std::net::IpAddr;

use http::HeaderMap;

/// The client address of a request from `peer`. Only when `peer` is one of `trusted_proxies`
/// is `X-Forwarded-For` read, right to left, skipping the trusted proxies themselves: the first
/// other address is the one the nearest trusted proxy saw. Anything a client wrote further left
/// is ignored, and a header that does not parse leaves the peer's address.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    // A socket bound to `[::]` sees IPv4 peers as `::ffff:a.b.c.d`; compare them as IPv4.
    let peer = peer.to_canonical();
    let trusted = |address: IpAddr| {
        trusted_proxies
            .iter()
            .any(|proxy| proxy.to_canonical() == address)
    };
    if !trusted(peer) {
        return peer;
    }
    // Split as bytes: what a client wrote to the left of the proxy's entry may be anything,
    // and must not make the proxy's own entry unreadable.
    let forwarded: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
        .collect();
    for hop in forwarded.iter().rev() {
        match parse_hop(hop) {
            Some(address) if trusted(address) => continue,
            Some(address) => return address,
            None => return peer,
        }
    }
    peer
}

/// One `X-Forwarded-For` entry: an address, or an address with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:5678`), as some proxies write them.
fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(hop).ok()?.trim();
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "198.51.100.7".parse().unwrap();
        let trusted = [proxy];
        let spoofed = headers(&["203.0.113.9, 198.51.100.7"]);
        // Not from the proxy: the header is the client's own claim.
        assert_eq!(client_address(client, &spoofed, &trusted), client);
        // From the proxy: the rightmost address it added, not what the client wrote before it.
        assert_eq!(client_address(proxy, &spoofed, &trusted), client);
        // Chains of trusted proxies are skipped; separate header lines count as one list.
        let chained = headers(&["198.51.100.7", "10.0.0.1"]);
        assert_eq!(client_address(proxy, &chained, &trusted), client);
        // Garbage or nothing: the peer.
        assert_eq!(
            client_address(proxy, &headers(&["nonsense"]), &trusted),
            proxy
        );
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
        // Entries with ports are read; garbage a client wrote before the proxy's entry is not.
        assert_eq!(
            client_address(proxy, &headers(&["198.51.100.7:4711"]), &trusted),
            client
        );
        let mut garbled = HeaderMap::new();
        garbled.append(
            "x-forwarded-for",
            http::HeaderValue::from_bytes(b"\xff\xfe, 198.51.100.7").unwrap(),
        );
        assert_eq!(client_address(proxy, &garbled, &trusted), client);
        // The proxy seen through an IPv6 socket is still the proxy.
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client_address(mapped, &spoofed, &trusted), client);
    }
}
