//! Address syntax used in topologies: interface addresses in CIDR notation
//! (`10.0.3.100/24`, `fd00::1/64`) and MAC addresses. Parsing only; no I/O.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use anyhow::{Context, Result, bail};

/// An interface address with its prefix length, e.g. `192.168.0.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The address itself (host bits kept).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// True for IPv6 addresses.
    pub fn is_v6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// True if `ip` lies in this address's subnet.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        let (ip, len) = s
            .split_once('/')
            .with_context(|| format!("address {s:?} needs a prefix length, e.g. 10.0.0.1/24"))?;
        let addr: IpAddr = ip
            .parse()
            .with_context(|| format!("address {s:?}: {ip:?} is not an IP address"))?;
        let prefix: u8 = len
            .parse()
            .with_context(|| format!("address {s:?}: bad prefix length {len:?}"))?;
        let max = if addr.is_ipv6() { 128 } else { 32 };
        if prefix > max {
            bail!("address {s:?}: prefix length {prefix} exceeds {max}");
        }
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Parses a plain IP address with context for error messages.
pub fn parse_ip(what: &str, s: &str) -> Result<IpAddr> {
    s.parse()
        .with_context(|| format!("{what}: {s:?} is not an IP address"))
}

/// Checks a MAC address written as six `:`-separated hex pairs and returns
/// its bytes. Multicast (group bit set) addresses are refused.
pub fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let mut out = [0u8; 6];
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        bail!("MAC {s:?}: expected six ':'-separated hex pairs");
    }
    for (byte, part) in out.iter_mut().zip(&parts) {
        if part.len() != 2 {
            bail!("MAC {s:?}: {part:?} is not a hex pair");
        }
        *byte = u8::from_str_radix(part, 16)
            .with_context(|| format!("MAC {s:?}: {part:?} is not a hex pair"))?;
    }
    if out[0] & 1 == 1 {
        bail!("MAC {s:?} is a multicast address");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parse() {
        let c: Cidr = "10.0.3.100/24".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.3.100/24");
        assert!(!c.is_v6());
        assert!(c.contains("10.0.3.7".parse().unwrap()));
        assert!(!c.contains("10.0.4.7".parse().unwrap()));
        let v6: Cidr = "fd00::1/64".parse().unwrap();
        assert!(v6.is_v6());
        assert!(v6.contains("fd00::99".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        for bad in [
            "10.0.0.1",
            "10.0.0.1/33",
            "x/24",
            "10.0.0.1/a",
            "fd00::/129",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn mac_parse() {
        assert_eq!(
            parse_mac("32:F4:05:FE:6C:0A").unwrap(),
            [0x32, 0xf4, 0x05, 0xfe, 0x6c, 0x0a]
        );
        assert!(parse_mac("01:00:5e:00:00:01").is_err());
        assert!(parse_mac("32:f4:05:fe:6c").is_err());
        assert!(parse_mac("32:f4:05:fe:6c:0g").is_err());
        assert!(parse_mac("32:f4:05:fe:6c:0").is_err());
    }
}
