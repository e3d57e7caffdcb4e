//! Controller, IPAM, DNS and fabric rules.
//!
//! Each rule says in a comment whether the reference enforces it
//! (`reference`) or xsdn adds it (`xsdn`).

use std::collections::BTreeMap;

use crate::config::model::{ControllerType, DnsType, FabricType, IpamType, SdnConfig};
use crate::diag::{Sink, with_article};
use crate::validate::ids::{is_fabric_id, is_node_name};

/// `[a-fA-F0-9]{2}(\.[a-fA-F0-9]{4}){3,9}\.[a-fA-F0-9]{2}`
pub fn is_isis_net(net: &str) -> bool {
    let parts: Vec<&str> = net.split('.').collect();
    let hex = |p: &str, n: usize| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit());
    parts.len() >= 5
        && parts.len() <= 11
        && hex(parts[0], 2)
        && hex(parts[parts.len() - 1], 2)
        && parts[1..parts.len() - 1].iter().all(|p| hex(p, 4))
}

/// SHA-256 fingerprint `aa:bb:...` (32 bytes).
fn is_fingerprint(f: &str) -> bool {
    let parts: Vec<&str> = f.split(':').collect();
    parts.len() == 32
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn asn(sink: &mut Sink, origin: &crate::diag::Origin, l: &str, asn: Option<u64>) {
    if let Some(a) = asn {
        // reference: 0..2^32-1
        if a > u64::from(u32::MAX) {
            sink.error(
                origin,
                l,
                Some("asn"),
                format!("ASN {a} is out of range 0..4294967295"),
            );
        } else if a == 0 {
            // xsdn: ASN 0 is reserved (RFC 7607)
            sink.error(
                origin,
                l,
                Some("asn"),
                "ASN 0 is reserved and cannot be used",
            );
        }
    }
}

/// Checks every controller.
pub fn check_controllers(cfg: &SdnConfig, sink: &mut Sink) {
    let mut evpn_seen: Option<&str> = None;
    let mut per_node: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for c in &cfg.controllers {
        let l = format!("controller '{}'", c.id);
        asn(sink, &c.origin, &l, c.asn);
        match c.controller_type {
            ControllerType::Evpn => {
                // reference: only one evpn controller cluster-wide
                if let Some(first) = evpn_seen {
                    sink.error(
                        &c.origin,
                        &l,
                        None,
                        format!("only one evpn controller may exist; '{first}' is already defined"),
                    );
                } else {
                    evpn_seen = Some(&c.id);
                }
                // reference (newer releases): exactly one of peers / fabric
                match (&c.peers, &c.fabric) {
                    (Some(_), Some(_)) => sink.error(
                        &c.origin,
                        &l,
                        Some("fabric"),
                        "set either 'peers' or 'fabric', not both",
                    ),
                    (None, None) if !c.origin.had_key("peers") => sink.error(
                        &c.origin,
                        &l,
                        None,
                        "an evpn controller needs 'peers' (the VTEP addresses) or a 'fabric'",
                    ),
                    _ => {}
                }
                if let Some(f) = &c.fabric
                    && (!is_fabric_id(f) || cfg.fabric(f).is_none())
                {
                    sink.error(
                        &c.origin,
                        &l,
                        Some("fabric"),
                        format!("fabric '{f}' does not exist in fabrics.cfg"),
                    );
                }
            }
            ControllerType::Bgp | ControllerType::Isis => {
                let kind = c.controller_type.as_str();
                if let Some(node) = &c.node {
                    if !is_node_name(node) {
                        sink.error(
                            &c.origin,
                            &l,
                            Some("node"),
                            format!("'{node}' is not a valid node name"),
                        );
                    } else if let Some(other) = per_node.insert((kind, node), &c.id) {
                        // reference (its check is off by one and lets a second one pass)
                        sink.error(
                            &c.origin,
                            &l,
                            Some("node"),
                            format!("node '{node}' already has {kind} controller '{other}'; only one per node"),
                        );
                    }
                }
                if c.controller_type == ControllerType::Bgp {
                    if c.peers.as_ref().is_some_and(Vec::is_empty) {
                        sink.error(&c.origin, &l, Some("peers"), "the peer list is empty");
                    }
                    if let Some(m) = c.ebgp_multihop {
                        if m == 0 || m > 255 {
                            // xsdn: a TTL
                            sink.error(
                                &c.origin,
                                &l,
                                Some("ebgp-multihop"),
                                format!("hop count {m} is out of range 1..255"),
                            );
                        } else if c.ebgp != Some(true) {
                            // xsdn: the reference ignores it without ebgp
                            sink.warn(
                                &c.origin,
                                &l,
                                Some("ebgp-multihop"),
                                "has no effect without 'ebgp 1'",
                            );
                        }
                    }
                } else if let Some(net) = &c.isis_net {
                    // reference: pve-sdn-isis-net
                    if !is_isis_net(net) {
                        sink.error(
                            &c.origin,
                            &l,
                            Some("isis-net"),
                            format!("'{net}' is not an IS-IS NET (e.g. 49.0001.0100.2300.4005.00)"),
                        );
                    }
                }
            }
            ControllerType::Other(_) => {}
        }
    }
}

/// Checks IPAMs and DNS servers.
pub fn check_ipams_dns(cfg: &SdnConfig, sink: &mut Sink) {
    for i in &cfg.ipams {
        let l = format!("ipam '{}'", i.id);
        if let Some(url) = &i.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            // xsdn
            sink.warn(
                &i.origin,
                &l,
                Some("url"),
                "the API URL should start with http:// or https://",
            );
        }
        if let Some(f) = &i.fingerprint
            && !is_fingerprint(f)
        {
            // reference: pve-fingerprint format
            sink.error(
                &i.origin,
                &l,
                Some("fingerprint"),
                "not a SHA-256 fingerprint (32 hex bytes separated by ':')",
            );
        }
        if i.ipam_type == IpamType::Pve && i.id != "pve" {
            // xsdn
            sink.warn(
                &i.origin,
                &l,
                None,
                "Proxmox always provides the built-in IPAM as 'pve'",
            );
        }
    }
    for d in &cfg.dns {
        let l = format!("dns '{}'", d.id);
        if d.dns_type == DnsType::Powerdns
            && let Some(m) = d.reversemaskv6
        {
            // reference: a multiple of 4 (nibble boundary)
            if m % 4 != 0 || m > 128 {
                sink.error(
                    &d.origin,
                    &l,
                    Some("reversemaskv6"),
                    format!("{m} is not a multiple of 4 in 0..128"),
                );
            }
        }
        if let Some(f) = &d.fingerprint
            && !is_fingerprint(f)
        {
            sink.error(
                &d.origin,
                &l,
                Some("fingerprint"),
                "not a SHA-256 fingerprint (32 hex bytes separated by ':')",
            );
        }
    }
}

/// Checks fabric and fabric-node sections.
pub fn check_fabrics(cfg: &SdnConfig, sink: &mut Sink) {
    for f in &cfg.fabrics {
        let l = format!("fabric '{}'", f.id);
        match &f.fabric_type {
            FabricType::OpenfabricFabric | FabricType::OspfFabric => {
                if !is_fabric_id(&f.id) {
                    sink.error(
                        &f.origin,
                        &l,
                        None,
                        "fabric id must be 2-8 letters, digits or '-'",
                    );
                }
                for (key, v) in [
                    ("hello_interval", f.hello_interval),
                    ("csnp_interval", f.csnp_interval),
                ] {
                    if let Some(v) = v {
                        // reference
                        if !(1..=600).contains(&v) {
                            sink.error(
                                &f.origin,
                                &l,
                                Some(key),
                                format!("{v} is out of range 1..600 seconds"),
                            );
                        }
                    }
                }
                if f.fabric_type == FabricType::OpenfabricFabric
                    && f.ip_prefix.is_none()
                    && f.ip6_prefix.is_none()
                {
                    sink.error(
                        &f.origin,
                        &l,
                        None,
                        "a fabric needs 'ip_prefix' and/or 'ip6_prefix'",
                    );
                }
                if let Some(a) = &f.area
                    && a.parse::<u32>().is_err()
                    && a.parse::<std::net::Ipv4Addr>().is_err()
                {
                    sink.error(
                        &f.origin,
                        &l,
                        Some("area"),
                        format!("'{a}' is not an OSPF area (a number or an IPv4 address)"),
                    );
                }
            }
            FabricType::OpenfabricNode | FabricType::OspfNode => {
                let Some((fab, node)) = f.node_ids() else {
                    sink.error(
                        &f.origin,
                        &l,
                        None,
                        "a fabric node section id must be '<fabric>_<node>'",
                    );
                    continue;
                };
                if !is_node_name(node) {
                    sink.error(
                        &f.origin,
                        &l,
                        None,
                        format!("'{node}' is not a valid node name"),
                    );
                }
                let want = if f.fabric_type == FabricType::OpenfabricNode {
                    FabricType::OpenfabricFabric
                } else {
                    FabricType::OspfFabric
                };
                match cfg.fabric(fab) {
                    None => sink.error(
                        &f.origin,
                        &l,
                        None,
                        format!("fabric '{fab}' does not exist"),
                    ),
                    Some(parent) if parent.fabric_type != want => sink.error(
                        &f.origin,
                        &l,
                        None,
                        format!(
                            "fabric '{fab}' is {} section",
                            with_article(parent.fabric_type.as_str())
                        ),
                    ),
                    Some(parent) => {
                        if let (Some(ip), Some(prefix)) = (f.ip, parent.ip_prefix)
                            && !prefix.contains(&ip)
                        {
                            // reference
                            sink.error(
                                &f.origin,
                                &l,
                                Some("ip"),
                                format!("{ip} is outside the fabric's ip_prefix {prefix}"),
                            );
                        }
                        if let (Some(ip), Some(prefix)) = (f.ip6, parent.ip6_prefix)
                            && !prefix.contains(&ip)
                        {
                            sink.error(
                                &f.origin,
                                &l,
                                Some("ip6"),
                                format!("{ip} is outside the fabric's ip6_prefix {prefix}"),
                            );
                        }
                    }
                }
                if f.ip.is_none() && f.ip6.is_none() {
                    sink.error(
                        &f.origin,
                        &l,
                        None,
                        "a fabric node needs 'ip' and/or 'ip6' (its router id and loopback)",
                    );
                }
                for i in &f.interfaces {
                    if let Some(m) = i.hello_multiplier
                        && !(2..=100).contains(&m)
                    {
                        sink.error(
                            &f.origin,
                            &l,
                            Some("interfaces"),
                            format!(
                                "interface {}: hello_multiplier {m} is out of range 2..100",
                                i.name
                            ),
                        );
                    }
                    if i.ip.is_some_and(|n| !n.addr().is_ipv4())
                        || i.ip6.is_some_and(|n| n.addr().is_ipv4())
                    {
                        sink.error(
                            &f.origin,
                            &l,
                            Some("interfaces"),
                            format!("interface {}: 'ip' must be IPv4 and 'ip6' IPv6", i.name),
                        );
                    }
                }
            }
            FabricType::Other(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isis_nets() {
        assert!(is_isis_net(
            "47.0042.0000.0000.0000.0000.0000.0000.2200.0009.00"
        ));
        assert!(is_isis_net("49.0002.0100.2300.4005.00"));
        assert!(!is_isis_net("49.0001.00"));
        assert!(!is_isis_net("49.002.0100.2300.4005.00"));
    }
}
