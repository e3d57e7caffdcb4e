//! Compilation: configuration + node facts -> this node's [`CompiledNode`].
//!
//! [`compile`] does no I/O. It reads the same derivations as the renderers
//! ([`resolve`]), so the compiled node and the kernel/FRR files describe the same
//! network. Per-VNet problems (a missing tag, a bridge the node does not
//! have) skip that VNet with a reason instead of failing the whole node,
//! as the reference generator does.

pub mod compiled_node;
pub mod resolve;
#[cfg(test)]
mod tests;

use ipnet::IpNet;
use thiserror::Error;

use crate::config::model::{SdnConfig, Subnet, Vnet, Zone, ZoneType, format_mac, parse_mac};
use crate::node::NodeFacts;
pub use compiled_node::*;
use resolve::{ExitRole, LoopbackLookup};
use xsdn_common::{Vid, Vni};

/// Why a node could not be compiled at all.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CompileError {
    /// The node facts carry no node name.
    #[error("the node name is empty; pass --node or set the hostname")]
    NoNodeName,
}

fn kind(zone: &Zone) -> Option<ZoneKind> {
    Some(match zone.zone_type {
        ZoneType::Simple => ZoneKind::Simple,
        ZoneType::Vlan => ZoneKind::Vlan,
        ZoneType::QinQ => ZoneKind::Qinq,
        ZoneType::Vxlan => ZoneKind::Vxlan,
        ZoneType::Evpn => ZoneKind::Evpn,
        ZoneType::Other(_) => return None,
    })
}

fn vlan_id(v: Option<u64>, what: &str) -> Result<Vid, String> {
    let t = v.ok_or_else(|| format!("missing {what}"))?;
    // 0 and 4095 are reserved by 802.1Q and refused by Linux.
    Vid::from_u64(t).ok_or_else(|| format!("{what} {t} is out of range {}..{}", Vid::MIN, Vid::MAX))
}

fn vni(v: Option<u64>, what: &str) -> Result<Vni, String> {
    let t = v.ok_or_else(|| format!("missing {what}"))?;
    Vni::from_u64(t).ok_or_else(|| format!("{what} {t} is out of range {}..{}", Vni::MIN, Vni::MAX))
}

fn udp_port(zone: &Zone) -> Result<u16, String> {
    match zone.vxlan_port {
        None => Ok(resolve::VXLAN_DEFAULT_PORT),
        Some(p) => u16::try_from(p)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("vxlan-port {p} is out of range 1..65535")),
    }
}

fn bridge_encap(
    zone: &Zone,
    facts: &NodeFacts,
) -> Result<(String, BridgeKind, Vec<String>), String> {
    let name = zone.bridge.clone().ok_or("the zone has no bridge")?;
    let b = facts
        .bridge(&name)
        .ok_or_else(|| format!("bridge {name} does not exist on this node"))?;
    let kind = if b.ovs {
        BridgeKind::Ovs
    } else if b.vlan_aware {
        BridgeKind::LinuxVlanAware
    } else {
        BridgeKind::Linux
    };
    Ok((name, kind, b.ports.clone()))
}

fn encap(cfg: &SdnConfig, zone: &Zone, vnet: &Vnet, facts: &NodeFacts) -> Result<Encap, String> {
    Ok(match zone.zone_type {
        ZoneType::Simple => Encap::Local,
        ZoneType::Vlan => {
            let (bridge, bridge_kind, ports) = bridge_encap(zone, facts)?;
            Encap::Vlan {
                bridge,
                bridge_kind,
                ports,
                tag: vlan_id(vnet.tag, "VLAN tag")?,
            }
        }
        ZoneType::QinQ => {
            let (bridge, bridge_kind, ports) = bridge_encap(zone, facts)?;
            Encap::Qinq {
                bridge,
                bridge_kind,
                ports,
                service_tag: vlan_id(zone.tag, "service VLAN tag")?,
                protocol: zone
                    .vlan_protocol
                    .unwrap_or(crate::config::VlanProtocol::Dot1Q),
                customer_tag: match vnet.tag {
                    None | Some(0) => None,
                    t => Some(vlan_id(t, "customer VLAN tag")?),
                },
            }
        }
        ZoneType::Vxlan => {
            let u = resolve::vxlan_underlay(cfg, zone, facts)?;
            Encap::Vxlan {
                vni: vni(vnet.tag, "VNI")?,
                udp_port: udp_port(zone)?,
                local_ip: u.local.as_ref().map(|(ip, _)| *ip),
                peers: u.remote_peers(),
            }
        }
        ZoneType::Evpn => {
            let ctl =
                resolve::evpn_controller(cfg, zone).ok_or("the zone has no evpn controller")?;
            let u = resolve::evpn_underlay(cfg, ctl, facts, LoopbackLookup::Zone)?;
            Encap::Evpn {
                vni: vni(vnet.tag, "VNI")?,
                vrf_vni: zone
                    .vrf_vxlan
                    .map(|v| vni(Some(v), "VRF VNI"))
                    .transpose()?,
                vrf: format!("vrf_{}", zone.id),
                udp_port: udp_port(zone)?,
                local_ip: u.local.as_ref().map(|(ip, _)| *ip),
                anycast_mac: zone.mac.as_deref().and_then(parse_mac).map(format_mac),
                arp_nd_suppression: zone.disable_arp_nd_suppression != Some(true),
                bgp_peers: u.remote_peers(),
            }
        }
        ZoneType::Other(ref t) => return Err(format!("zone type '{t}' is not supported")),
    })
}

fn subnet_table(s: &Subnet) -> Option<SubnetTable> {
    Some(SubnetTable {
        cidr: s.network()?,
        gateway: s.gateway,
        snat: s.snat == Some(true),
        dhcp_ranges: s.dhcp_ranges.iter().map(|r| (r.start, r.end)).collect(),
    })
}

/// Prefixes of other zones, normalised and deduplicated, sorted by address.
fn null_routes(cfg: &SdnConfig, zone: &str) -> Vec<IpNet> {
    let mut v: Vec<IpNet> = cfg
        .subnets
        .iter()
        .filter(|s| s.zone.as_deref().is_some_and(|z| z != zone))
        .filter_map(Subnet::network)
        .collect();
    v.sort_by_key(|n| (n.addr().is_ipv6(), n.addr(), n.prefix_len()));
    v.dedup();
    v
}

fn zone_table(
    cfg: &SdnConfig,
    zone: &Zone,
    zone_kind: ZoneKind,
    facts: &NodeFacts,
    compiled: &[VnetTable],
    warnings: &mut Vec<String>,
) -> ZoneTable {
    let node = facts.name.as_str();
    let participates = zone.on_node(node);
    let evpn = zone_kind == ZoneKind::Evpn;
    let role = if evpn {
        resolve::exit_role(zone, node)
    } else {
        ExitRole::None
    };
    let exit = role != ExitRole::None;
    let routed = matches!(zone_kind, ZoneKind::Simple | ZoneKind::Evpn);
    let mut t = ZoneTable {
        id: zone.id.clone(),
        zone_type: zone_kind,
        participates,
        mtu: resolve::vnet_mtu(zone).and_then(|m| u32::try_from(m).ok()),
        vnets: Vec::new(),
        vrf: evpn.then(|| VrfTable {
            name: format!("vrf_{}", zone.id),
            vni: zone.vrf_vxlan.and_then(|v| u32::try_from(v).ok()),
        }),
        gateways: Vec::new(),
        connected_routes: Vec::new(),
        snat: Vec::new(),
        exit: ExitNode {
            role,
            local_routing: exit && zone.exitnodes_local_routing == Some(true),
        },
        default_route: match (zone_kind, exit) {
            (ZoneKind::Simple, _) | (ZoneKind::Evpn, true) => DefaultRoute::Host,
            (ZoneKind::Evpn, false) => DefaultRoute::Evpn {
                unreachable_metric: resolve::UNREACHABLE_DEFAULT_METRIC,
            },
            _ => DefaultRoute::None,
        },
        null_routes: if exit {
            null_routes(cfg, &zone.id)
        } else {
            Vec::new()
        },
    };
    for v in compiled.iter().filter(|v| v.zone == zone.id) {
        t.vnets.push(v.name.clone());
        if !routed {
            continue;
        }
        for s in &v.subnets {
            if let Some(gw) = s.gateway {
                let g = Gateway {
                    vnet: v.name.clone(),
                    address: gw,
                    prefix_len: s.cidr.prefix_len(),
                };
                if !t
                    .gateways
                    .iter()
                    .any(|x| x.vnet == g.vnet && x.address == g.address)
                {
                    t.gateways.push(g);
                }
            }
            t.connected_routes.push(ConnectedRoute {
                prefix: s.cidr,
                vnet: v.name.clone(),
            });
            let applies = s.snat && (zone_kind == ZoneKind::Simple || exit);
            if applies {
                match facts.egress(s.cidr.addr().is_ipv6()) {
                    Some(e) if e.ip.is_ipv6() == s.cidr.addr().is_ipv6() => t.snat.push(SnatRule {
                        source: s.cidr,
                        out_iface: e.iface.clone(),
                        to_source: e.ip,
                    }),
                    _ => warnings.push(format!(
                        "zone {}: no {} egress route for the SNAT of {}",
                        zone.id,
                        if s.cidr.addr().is_ipv6() {
                            "IPv6"
                        } else {
                            "IPv4"
                        },
                        s.cidr
                    )),
                }
            }
        }
    }
    t
}

/// Compiles what the node described by `facts` must do.
pub fn compile(cfg: &SdnConfig, facts: &NodeFacts) -> Result<CompiledNode, CompileError> {
    if facts.name.is_empty() {
        return Err(CompileError::NoNodeName);
    }
    let mut compiled = CompiledNode {
        format: COMPILED_NODE_FORMAT,
        node: facts.name.clone(),
        config_version: cfg.version,
        zones: Vec::new(),
        vnets: Vec::new(),
        skipped: Vec::new(),
        warnings: Vec::new(),
    };
    for vnet in cfg.vnets_sorted() {
        let Some(zone) = cfg.zone_of(vnet) else {
            compiled.skipped.push(Skipped {
                vnet: vnet.id.clone(),
                reason: format!(
                    "zone '{}' does not exist",
                    vnet.zone.as_deref().unwrap_or("")
                ),
            });
            continue;
        };
        if !zone.on_node(&facts.name) {
            continue;
        }
        let Some(zone_kind) = kind(zone) else {
            compiled.skipped.push(Skipped {
                vnet: vnet.id.clone(),
                reason: format!("zone type '{}' is not supported", zone.zone_type.as_str()),
            });
            continue;
        };
        match encap(cfg, zone, vnet, facts) {
            Ok(encap) => compiled.vnets.push(VnetTable {
                name: vnet.id.clone(),
                zone: zone.id.clone(),
                zone_type: zone_kind,
                alias: vnet.alias.clone(),
                vlanaware: vnet.vlanaware == Some(true),
                isolate_ports: vnet.isolate_ports == Some(true),
                mac_learning: zone.bridge_disable_mac_learning != Some(true),
                mtu: resolve::vnet_mtu(zone).and_then(|m| u32::try_from(m).ok()),
                subnets: cfg
                    .subnets_of(&vnet.id)
                    .into_iter()
                    .filter_map(subnet_table)
                    .collect(),
                encap,
            }),
            Err(reason) => compiled.skipped.push(Skipped {
                vnet: vnet.id.clone(),
                reason,
            }),
        }
    }
    let mut warnings = Vec::new();
    for zone in cfg.zones_sorted() {
        if let Some(k) = kind(zone) {
            let t = zone_table(cfg, zone, k, facts, &compiled.vnets, &mut warnings);
            compiled.zones.push(t);
        }
    }
    compiled.warnings = warnings;
    Ok(compiled)
}
