//! SDN fabrics (OpenFabric, OSPF) as far as this node takes part in them:
//! the `dummy_<fabric>` loopback and the fabric interfaces for
//! `interfaces.d/sdn`, and the routing daemon sections for `frr.conf`.
//!
//! Reference: the Rust side of Proxmox (`proxmox-ve-config` fabrics),
//! reproduced from its generated output.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::model::{FabricSection, FabricType, SdnConfig};

/// The fabrics `node` is a member of: (fabric section, this node's section), by fabric id.
pub fn memberships<'a>(
    cfg: &'a SdnConfig,
    node: &str,
) -> Vec<(&'a FabricSection, &'a FabricSection)> {
    let mut v: Vec<(&FabricSection, &FabricSection)> = cfg
        .fabrics
        .iter()
        .filter(|f| !f.fabric_type.is_node())
        .filter_map(|f| cfg.fabric_node(&f.id, node).map(|n| (f, n)))
        .collect();
    v.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    v
}

fn host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(_) => format!("{ip}/32"),
        IpAddr::V6(_) => format!("{ip}/128"),
    }
}

/// The `iface X inet static` stanzas of the fabrics, sorted by interface name.
pub fn interface_stanzas(cfg: &SdnConfig, node: &str) -> Vec<(String, Vec<String>)> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (fabric, me) in memberships(cfg, node) {
        let mut dummy = Vec::new();
        dummy.extend(me.ip.map(host).map(|a| format!("address {a}")));
        dummy.extend(me.ip6.map(host).map(|a| format!("address {a}")));
        dummy.push("link-type dummy".into());
        if me.ip.is_some() {
            dummy.push("ip-forward 1".into());
        }
        if me.ip6.is_some() {
            dummy.push("ip6-forward 1".into());
        }
        out.insert(format!("dummy_{}", fabric.id), dummy);
        for i in &me.interfaces {
            let mut l = Vec::new();
            // unnumbered interfaces borrow the node's router address
            match (i.ip, me.ip) {
                (Some(n), _) => l.push(format!("address {n}")),
                (None, Some(ip)) if fabric.fabric_type == FabricType::OpenfabricFabric => {
                    l.push(format!("address {}", host(ip)));
                }
                _ => {}
            }
            if let Some(n) = i.ip6 {
                l.push(format!("address {n}"));
            }
            if me.ip.is_some() || i.ip.is_some() {
                l.push("ip-forward 1".into());
            }
            if me.ip6.is_some() || i.ip6.is_some() {
                l.push("ip6-forward 1".into());
            }
            out.entry(i.name.clone()).or_default().extend(l);
        }
    }
    out.into_iter().collect()
}

/// The fabric prefix an access list allows, per address family.
pub fn prefixes(fabric: &FabricSection) -> Vec<IpNet> {
    fabric
        .ip_prefix
        .into_iter()
        .chain(fabric.ip6_prefix)
        .collect()
}

/// The OpenFabric NET of a router id: `49.0001.<12 digits in 3 groups>.00`
/// (each octet zero-padded to three digits, e.g. 10.23.4.5 -> 0100.2300.4005).
pub fn openfabric_net(router_id: std::net::Ipv4Addr) -> String {
    let digits: String = router_id
        .octets()
        .iter()
        .map(|o| format!("{o:03}"))
        .collect();
    format!(
        "49.0001.{}.{}.{}.00",
        &digits[0..4],
        &digits[4..8],
        &digits[8..12]
    )
}

/// Adds the fabric daemons (OpenFabric, OSPF) of this node to `frr`:
/// routers, interfaces, access lists of the fabric prefixes, and the route
/// maps that make the kernel use the router address as source.
pub fn add_frr_sections(
    cfg: &SdnConfig,
    node: &str,
    frr: &mut crate::render::frr::model::FrrConfig,
) {
    use crate::render::frr::model::RouteMapEntry;
    let mut openfabric_routers = Vec::new();
    let mut openfabric_ifaces: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ospf_router: Option<Vec<String>> = None;
    let mut ospf_ifaces: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (fabric, me) in memberships(cfg, node) {
        let id = &fabric.id;
        let (proto, openfabric) = match fabric.fabric_type {
            FabricType::OpenfabricFabric => ("openfabric", true),
            FabricType::OspfFabric => ("ospf", false),
            _ => continue,
        };
        let Some(router_ip) = me.ip.and_then(|ip| match ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        }) else {
            continue;
        };
        let dummy = format!("dummy_{id}");
        if openfabric {
            openfabric_routers.push(vec![
                format!("router openfabric {id}"),
                format!(" net {}", openfabric_net(router_ip)),
                "exit".into(),
            ]);
            let router_lines = |ipv6: bool| {
                let mut l = Vec::new();
                if ipv6 {
                    l.push(format!(" ipv6 router openfabric {id}"));
                }
                l.push(format!(" ip router openfabric {id}"));
                l
            };
            let mut d = router_lines(me.ip6.is_some());
            d.push(" openfabric passive".into());
            openfabric_ifaces.insert(dummy, d);
            for i in &me.interfaces {
                let mut l = router_lines(me.ip6.is_some() || i.ip6.is_some());
                if let Some(h) = fabric.hello_interval {
                    l.push(format!(" openfabric hello-interval {h}"));
                }
                if let Some(m) = i.hello_multiplier {
                    l.push(format!(" openfabric hello-multiplier {m}"));
                }
                if let Some(c) = fabric.csnp_interval {
                    l.push(format!(" openfabric csnp-interval {c}"));
                }
                openfabric_ifaces.insert(i.name.clone(), l);
            }
        } else {
            let area = fabric.area.clone().unwrap_or_else(|| "0".into());
            ospf_router.get_or_insert_with(|| {
                vec![
                    "router ospf".into(),
                    format!(" ospf router-id {router_ip}"),
                    "exit".into(),
                ]
            });
            ospf_ifaces.insert(
                dummy,
                vec![format!(" ip ospf area {area}"), " ip ospf passive".into()],
            );
            for i in &me.interfaces {
                let mut l = vec![format!(" ip ospf area {area}")];
                if i.ip.is_none() {
                    // unnumbered: the router address is borrowed, so the link is point-to-point
                    l.push(" ip ospf network point-to-point".into());
                }
                ospf_ifaces.insert(i.name.clone(), l);
            }
        }
        for prefix in prefixes(fabric) {
            let v6 = prefix.addr().is_ipv6();
            let list = format!("pve_{proto}_{id}_ip{}s", if v6 { "6" } else { "" });
            let kw = if v6 {
                "ipv6 access-list"
            } else {
                "access-list"
            };
            frr.access_lists
                .entry(list.clone())
                .or_default()
                .push(format!("{kw} {list} permit {prefix}"));
            let src = if v6 {
                me.ip6.map(|i| i.to_string())
            } else {
                Some(router_ip.to_string())
            };
            let Some(src) = src else { continue };
            let map = format!("pve_{proto}{}", if v6 { "6" } else { "" });
            let entries = frr.route_maps.entry(map.clone()).or_default();
            let seq = 100 + u32::try_from(entries.len()).unwrap_or(0);
            entries.push(RouteMapEntry {
                action: "permit".into(),
                seq,
                matches: vec![format!("{} address {list}", if v6 { "ipv6" } else { "ip" })],
                sets: vec![format!("src {src}")],
            });
            let pm = frr
                .protocol_route_maps
                .entry(proto.to_string())
                .or_default();
            if v6 {
                pm.1 = Some(map);
            } else {
                pm.0 = Some(map);
            }
        }
    }
    let block = |name: &String, lines: &Vec<String>| {
        let mut b = vec![format!("interface {name}")];
        b.extend(lines.iter().cloned());
        b.push("exit".into());
        b
    };
    frr.fabric_blocks.extend(openfabric_routers);
    frr.fabric_blocks
        .extend(openfabric_ifaces.iter().map(|(n, l)| block(n, l)));
    frr.fabric_blocks.extend(ospf_router);
    frr.fabric_blocks
        .extend(ospf_ifaces.iter().map(|(n, l)| block(n, l)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openfabric_nets() {
        assert_eq!(
            openfabric_net("10.23.4.5".parse().unwrap()),
            "49.0001.0100.2300.4005.00"
        );
        assert_eq!(
            openfabric_net("10.0.0.254".parse().unwrap()),
            "49.0001.0100.0000.0254.00"
        );
    }
}
