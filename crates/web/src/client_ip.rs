//! The client's address, for per-address login throttling and the session list: the socket
//! peer, unless that peer is a configured trusted proxy (`PARINDEX_TRUSTED_PROXIES`), in
//! which case the address the proxy puts in `X-Forwarded-For`.
//!
//! Anyone can send an `X-Forwarded-For` header, so it is believed only from a trusted proxy,
//! and only as far as the chain of trusted proxies goes: reading the header from the right,
//! the first address that is not itself a trusted proxy is the client. Addresses further to
//! the left were written by the client and prove nothing.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// An address or a network in CIDR form: `10.0.0.5`, `10.0.0.0/8`, `::1`, `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses one address or network; the message says what is wrong, in Vietnamese and
    /// English (it is read by the person starting the server).
    pub fn parse(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        let bad = || {
            format!(
                "«{text}» không phải là địa chỉ IP hoặc mạng CIDR (ví dụ 10.0.0.5 hoặc 10.0.0.0/8) / not an IP address or CIDR network"
            )
        };
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }

    /// Parses a comma- or space-separated list; empty text is an empty list.
    pub fn parse_list(text: &str) -> Result<Vec<IpNet>, String> {
        text.split([',', ' '])
            .filter(|t| !t.trim().is_empty())
            .map(IpNet::parse)
            .collect()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:10.0.0.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|net| net.contains(ip))
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the rightmost
/// address of `X-Forwarded-For` that is not a trusted proxy (the leftmost one if all are).
/// A header that does not parse is ignored.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    if !trusted(peer_ip, proxies) {
        return peer_ip;
    }
    let mut chain: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer_ip;
        };
        for part in text.split(',') {
            match part.trim().parse::<IpAddr>() {
                Ok(ip) => chain.push(canonical(ip)),
                Err(_) => return peer_ip,
            }
        }
    }
    let mut client = peer_ip;
    for ip in chain.into_iter().rev() {
        client = ip;
        if !trusted(ip, proxies) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn networks_parse_and_match() {
        let net = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.200.1.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(
            IpNet::parse("::1")
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!(
            IpNet::parse("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
        assert!(IpNet::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("proxy.local").is_err());
        assert_eq!(
            IpNet::parse_list(" 10.0.0.1, 192.168.0.0/16 ")
                .unwrap()
                .len(),
            2
        );
        assert!(IpNet::parse_list("").unwrap().is_empty());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxies = IpNet::parse_list("10.0.0.1").unwrap();
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let h = headers("198.51.100.7");
        assert_eq!(
            client_ip(proxy, &h, &proxies),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(stranger, &h, &proxies), stranger.ip());
        // A client-written address on the left is not believed.
        let spoofed = headers("1.1.1.1, 198.51.100.7");
        assert_eq!(
            client_ip(proxy, &spoofed, &proxies),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // No proxies configured: the header is ignored.
        assert_eq!(client_ip(proxy, &h, &[]), proxy.ip());
        // Garbage in the header: the peer.
        assert_eq!(client_ip(proxy, &headers("abc"), &proxies), proxy.ip());
    }
}
