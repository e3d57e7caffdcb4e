//! Node facts for the daemon, taken from the live kernel over netlink.
//!
//! The daemon does not read `/etc/network/interfaces`: the kernel's view is
//! what the dataplane must match (and in a network namespace the file on
//! disk belongs to another node). Bridges and their ports, addresses and
//! MTUs come from a [`KernelState`] snapshot; route sources come from route
//! lookups toward the configured peers and the outside, as the reference
//! does with `ip route get`.

use std::net::IpAddr;

use crate::config::model::{ControllerType, SdnConfig, ZoneType};
use crate::node::interfaces::is_physical_port;
use crate::node::{BridgeFacts, LocalAddress, NodeFacts, RouteSource};

use super::kernel::{Kernel, KernelState};

/// Public addresses probed for the SNAT egress route (as the reference).
const EGRESS_PROBE_V4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(8, 8, 8, 8));
const EGRESS_PROBE_V6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(
    0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888,
));

/// Every VTEP/BGP peer address the configuration names, in a stable order:
/// VXLAN zone peers, then EVPN/BGP controller peers.
pub fn configured_peers(cfg: &SdnConfig) -> Vec<IpAddr> {
    let mut peers = Vec::new();
    for zone in cfg.zones_sorted() {
        if zone.zone_type == ZoneType::Vxlan {
            peers.extend(zone.peers.iter().flatten().copied());
        }
    }
    for controller in cfg.controllers_sorted() {
        if matches!(
            controller.controller_type,
            ControllerType::Evpn | ControllerType::Bgp
        ) {
            peers.extend(controller.peers.iter().flatten().copied());
        }
    }
    let mut seen = std::collections::HashSet::new();
    peers.retain(|p| seen.insert(*p));
    peers
}

/// Facts about this node from the kernel snapshot `state`, with route
/// sources looked up through `kernel`.
pub async fn node_facts(
    name: &str,
    kernel: &Kernel,
    state: &KernelState,
    cfg: &SdnConfig,
) -> NodeFacts {
    let link_name = |ifindex: u32| state.links.get(&ifindex).map(|l| l.name.clone());
    let mut facts = NodeFacts {
        name: name.to_owned(),
        ..NodeFacts::default()
    };
    for a in &state.addresses {
        if let Some(iface) = link_name(a.ifindex) {
            facts.addresses.push(LocalAddress {
                iface,
                addr: a.ip,
                prefix_len: Some(a.prefix_len),
            });
        }
    }
    for link in state.links.values() {
        facts.mtus.insert(link.name.clone(), link.mtu);
        if link.kind.as_deref() == Some("bridge") {
            let ports = state
                .members_of(link.ifindex)
                .filter(|m| is_physical_port(&m.name))
                .map(|m| m.name.clone())
                .collect();
            facts.bridges.insert(
                link.name.clone(),
                BridgeFacts {
                    ports,
                    vlan_aware: bridge_vlan_filtering(&link.name),
                    ovs: false,
                    mtu: Some(link.mtu),
                },
            );
        }
    }
    let route = |dst: IpAddr| async move {
        let r = kernel.route_get(dst).await.ok()?;
        Some(RouteSource {
            ip: r.source?,
            iface: link_name(r.oif)?,
        })
    };
    // Toward the peers: the first configured peer that is not this node.
    for peer in configured_peers(cfg) {
        if state.is_local_address(peer) {
            continue;
        }
        if let Some(source) = route(peer).await {
            facts.route_source = Some(source);
            break;
        }
    }
    facts.egress_v4 = route(EGRESS_PROBE_V4).await;
    facts.egress_v6 = route(EGRESS_PROBE_V6).await;
    facts.router_mac = facts
        .route_source
        .as_ref()
        .and_then(|r| state.link_by_name(&r.iface))
        .map(|l| l.mac)
        .filter(|mac| *mac != [0; 6]);
    facts
}

/// Whether the bridge filters VLANs (sysfs; false when unknown).
fn bridge_vlan_filtering(bridge: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{bridge}/bridge/vlan_filtering"))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{Controller, Zone};

    #[test]
    fn peers_are_collected_once_in_order() {
        let mut cfg = SdnConfig::default();
        let mut z = Zone::new("vx", ZoneType::Vxlan);
        z.peers = Some(vec![
            "192.168.0.1".parse().expect("ip"),
            "192.168.0.2".parse().expect("ip"),
        ]);
        cfg.zones.push(z);
        let mut c = Controller::new("ctl", ControllerType::Evpn);
        c.peers = Some(vec![
            "192.168.0.2".parse().expect("ip"),
            "192.168.0.3".parse().expect("ip"),
        ]);
        cfg.controllers.push(c);
        let peers: Vec<String> = configured_peers(&cfg)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(peers, ["192.168.0.1", "192.168.0.2", "192.168.0.3"]);
    }
}
