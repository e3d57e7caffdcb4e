//! Zone rules: per-type keys, ranges, references and EVPN specifics.
//!
//! Each rule says in a comment whether the reference enforces it
//! (`reference`) or xsdn adds it (`xsdn`); `docs/control-plane.md` lists
//! them all.

use std::collections::BTreeMap;

use xsdn_common::{Vid, Vni};

use crate::config::model::{SdnConfig, SdnFile, Zone, ZoneType, parse_mac};
use crate::diag::{Sink, with_article};
use crate::validate::ids::{is_dns_name, is_fabric_id, is_node_name};

fn label(z: &Zone) -> String {
    format!("zone '{}'", z.id)
}

fn node_list(sink: &mut Sink, z: &Zone, key: &str, nodes: Option<&Vec<String>>) {
    let Some(nodes) = nodes else { return };
    for n in nodes {
        // reference: pve-node-list format
        if !is_node_name(n) {
            sink.error(
                &z.origin,
                &label(z),
                Some(key),
                format!("'{n}' is not a valid node name"),
            );
        }
    }
    if nodes.is_empty() && key == "nodes" {
        // xsdn: an empty list silently disables the zone everywhere
        sink.warn(
            &z.origin,
            &label(z),
            Some(key),
            "the list is empty, so the zone is deployed on no node; remove the key to deploy it everywhere",
        );
    }
}

/// The VXLAN UDP port rule shared by vxlan and evpn zones.
fn vxlan_port(sink: &mut Sink, z: &Zone) {
    if let Some(p) = z.vxlan_port {
        // reference: 1..=65536 (sic); xsdn: 65536 is not a UDP port
        if p == 0 || p > 65535 {
            sink.error(
                &z.origin,
                &label(z),
                Some("vxlan-port"),
                format!("UDP port {p} is out of range 1..65535"),
            );
        }
    }
}

fn mtu(sink: &mut Sink, z: &Zone) {
    if let Some(m) = z.mtu {
        // xsdn: the reference accepts any integer
        if !(68..=65535).contains(&m) {
            sink.error(
                &z.origin,
                &label(z),
                Some("mtu"),
                format!("MTU {m} is out of range 68..65535"),
            );
        }
    }
}

fn evpn(sink: &mut Sink, cfg: &SdnConfig, z: &Zone) {
    let l = label(z);
    if let Some(ctl) = &z.controller {
        // reference: controller must exist and be an evpn controller
        match cfg.controller(ctl) {
            None => sink.error(
                &z.origin,
                &l,
                Some("controller"),
                format!("controller '{ctl}' does not exist in controllers.cfg"),
            ),
            Some(c) if c.controller_type.as_str() != "evpn" => sink.error(
                &z.origin,
                &l,
                Some("controller"),
                format!(
                    "controller '{ctl}' is {} controller; an evpn zone needs an evpn controller",
                    with_article(c.controller_type.as_str())
                ),
            ),
            Some(_) => {}
        }
    }
    if let Some(v) = z.vrf_vxlan {
        // reference: integer; the documented range is a VNI
        if Vni::from_u64(v).is_none() {
            sink.error(
                &z.origin,
                &l,
                Some("vrf-vxlan"),
                format!("VRF VNI {v} is out of range {}..{}", Vni::MIN, Vni::MAX),
            );
        }
        // xsdn: the docs say the VRF VNI must differ from every VNet VNI; the reference does not check
        for vnet in &cfg.vnets {
            let zone_uses_vni = cfg.zone_of(vnet).is_some_and(|vz| vz.zone_type.uses_vni());
            if zone_uses_vni && vnet.tag == Some(v) {
                sink.error(
                    &z.origin,
                    &l,
                    Some("vrf-vxlan"),
                    format!(
                        "VRF VNI {v} is also the VNI of vnet '{}'; the L3 VNI must differ from every VNet VNI",
                        vnet.id
                    ),
                );
            }
        }
    }
    if let Some(mac) = &z.mac {
        match parse_mac(mac) {
            // reference: mac-addr format
            None => sink.error(
                &z.origin,
                &l,
                Some("mac"),
                format!("'{mac}' is not a MAC address (aa:bb:cc:dd:ee:ff)"),
            ),
            // xsdn: a gateway MAC must be a non-zero unicast address
            Some(m) if m[0] & 1 == 1 || m == [0; 6] => sink.error(
                &z.origin,
                &l,
                Some("mac"),
                format!("'{mac}' is a multicast or zero address; the anycast gateway MAC must be unicast"),
            ),
            Some(_) => {}
        }
    }
    node_list(sink, z, "exitnodes", z.exitnodes.as_ref());
    if let Some(p) = &z.exitnodes_primary {
        if !is_node_name(p) {
            sink.error(
                &z.origin,
                &l,
                Some("exitnodes-primary"),
                format!("'{p}' is not a valid node name"),
            );
        } else if !z.is_exit_node(p) {
            // xsdn: Proxmox accepts it and treats every exit node as
            // secondary; so does xsdn, saying so.
            sink.warn(
                &z.origin,
                &l,
                Some("exitnodes-primary"),
                format!(
                    "primary exit node '{p}' is not listed in 'exitnodes': every exit node is treated as secondary (as Proxmox does)"
                ),
            );
        }
    }
    if z.exitnodes_local_routing == Some(true) && z.exitnodes.as_ref().is_none_or(Vec::is_empty) {
        // xsdn
        sink.warn(
            &z.origin,
            &l,
            Some("exitnodes-local-routing"),
            "has no effect without 'exitnodes'",
        );
    }
    if let (Some(exits), Some(nodes)) = (&z.exitnodes, &z.nodes) {
        for e in exits.iter().filter(|e| !nodes.contains(e)) {
            // xsdn
            sink.warn(
                &z.origin,
                &l,
                Some("exitnodes"),
                format!("exit node '{e}' is not in the zone's 'nodes', so it will not route for this zone"),
            );
        }
    }
    for rt in z.rt_import.iter().flatten() {
        // reference: pve-sdn-bgp-rt format ASN:NN, both 0..2^32-1
        let ok = rt.split_once(':').is_some_and(|(a, n)| {
            a.parse::<u64>().is_ok_and(|v| v <= u64::from(u32::MAX))
                && n.parse::<u64>().is_ok_and(|v| v <= u64::from(u32::MAX))
        });
        if !ok {
            sink.error(
                &z.origin,
                &l,
                Some("rt-import"),
                format!("'{rt}' is not a route target ASN:NN (each part 0..4294967295)"),
            );
        }
    }
}

/// Checks every zone.
pub fn check(cfg: &SdnConfig, sink: &mut Sink) {
    let mut vrf_vnis: BTreeMap<u64, &str> = BTreeMap::new();
    let mut macs: BTreeMap<[u8; 6], &str> = BTreeMap::new();
    for z in &cfg.zones {
        let l = label(z);
        node_list(sink, z, "nodes", z.nodes.as_ref());
        mtu(sink, z);
        if let Some(ipam) = &z.ipam
            && ipam != "pve"
            && !cfg.not_carried.contains(&SdnFile::Ipams)
            && !cfg.ipams.iter().any(|i| &i.id == ipam)
        {
            // reference: ipam must exist; 'pve' always does, even without ipams.cfg
            sink.error(
                &z.origin,
                &l,
                Some("ipam"),
                format!("ipam '{ipam}' does not exist in ipams.cfg (only 'pve' is built in)"),
            );
        }
        for (key, dns) in [("dns", &z.dns), ("reversedns", &z.reversedns)] {
            if let Some(dns) = dns
                && !cfg.not_carried.contains(&SdnFile::Dns)
                && !cfg.dns.iter().any(|d| &d.id == dns)
            {
                // reference: the dns plugin must exist
                sink.error(
                    &z.origin,
                    &l,
                    Some(key),
                    format!("dns '{dns}' does not exist in dns.cfg"),
                );
            }
        }
        if let Some(name) = &z.dnszone
            && !is_dns_name(name)
        {
            // reference: dns-name format
            sink.error(
                &z.origin,
                &l,
                Some("dnszone"),
                format!(
                    "'{name}' is not a DNS name (letters, digits and '-' in dot-separated labels)"
                ),
            );
        }
        if let Some(d) = &z.dhcp {
            if d != "dnsmasq" {
                // reference: enum of DHCP plugins
                sink.error(
                    &z.origin,
                    &l,
                    Some("dhcp"),
                    format!("'{d}' is not a DHCP backend (dnsmasq)"),
                );
            } else if z.ipam.is_none() {
                // xsdn: DHCP leases are allocated by the IPAM
                sink.warn(
                    &z.origin,
                    &l,
                    Some("dhcp"),
                    "DHCP needs an 'ipam' to allocate addresses",
                );
            }
        }
        match z.zone_type {
            ZoneType::QinQ => {
                if let Some(t) = z.tag {
                    // reference: minimum 0, no maximum; xsdn: a service VLAN is 1..4094
                    if Vid::from_u64(t).is_none() {
                        sink.error(
                            &z.origin,
                            &l,
                            Some("tag"),
                            format!(
                                "service VLAN tag {t} is out of range {}..{}",
                                Vid::MIN,
                                Vid::MAX
                            ),
                        );
                    }
                }
            }
            ZoneType::Vxlan => {
                vxlan_port(sink, z);
                // reference (newer releases): exactly one of peers / fabric
                match (&z.peers, &z.fabric) {
                    (Some(_), Some(_)) => sink.error(
                        &z.origin,
                        &l,
                        Some("fabric"),
                        "set either 'peers' or 'fabric', not both",
                    ),
                    (None, None) if !z.origin.had_key("peers") => sink.error(
                        &z.origin,
                        &l,
                        None,
                        "a vxlan zone needs 'peers' (the VTEP addresses) or a 'fabric'",
                    ),
                    (Some(p), None) if p.is_empty() => {
                        sink.error(&z.origin, &l, Some("peers"), "the peer list is empty")
                    }
                    _ => {}
                }
                if let Some(peers) = &z.peers {
                    let mut seen = Vec::new();
                    for p in peers {
                        if seen.contains(p) {
                            // xsdn
                            sink.warn(
                                &z.origin,
                                &l,
                                Some("peers"),
                                format!("peer {p} is listed twice"),
                            );
                        }
                        seen.push(*p);
                    }
                }
            }
            ZoneType::Evpn => {
                vxlan_port(sink, z);
                evpn(sink, cfg, z);
                if let Some(v) = z.vrf_vxlan {
                    // reference: vrf-vxlan unique across zones
                    if let Some(other) = vrf_vnis.insert(v, &z.id) {
                        sink.error(
                            &z.origin,
                            &l,
                            Some("vrf-vxlan"),
                            format!("VRF VNI {v} is already used by zone '{other}'"),
                        );
                    }
                }
                if let Some(m) = z.mac.as_deref().and_then(parse_mac) {
                    // xsdn: two zones with one anycast MAC confuse EVPN MAC mobility
                    if let Some(other) = macs.insert(m, &z.id) {
                        sink.error(
                            &z.origin,
                            &l,
                            Some("mac"),
                            format!("anycast gateway MAC is already used by zone '{other}'"),
                        );
                    }
                }
            }
            _ => {}
        }
        if let Some(f) = &z.fabric
            && (!is_fabric_id(f) || cfg.fabric(f).is_none())
        {
            // reference: fabric must exist
            sink.error(
                &z.origin,
                &l,
                Some("fabric"),
                format!("fabric '{f}' does not exist in fabrics.cfg"),
            );
        }
    }
}
