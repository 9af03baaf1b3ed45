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
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for hop in forwarded.iter().rev() {
        match hop.trim().parse::<IpAddr>().map(|a| a.to_canonical()) {
            Ok(address) if trusted(address) => continue,
            Ok(address) => return address,
            Err(_) => return peer,
        }
    }
    peer
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
        // The proxy seen through an IPv6 socket is still the proxy.
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client_address(mapped, &spoofed, &trusted), client);
    }
}
