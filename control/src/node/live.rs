//! Live discovery of [`NodeFacts`] on the running node: the one place that
//! turns the live kernel into node facts.
//!
//! Layer: I/O edge. The kernel is read over rtnetlink ([`crate::netlink`]):
//! links (bridges, their ports, VLAN filtering, MACs, MTUs), addresses, and
//! route lookups (`ip route get`, as the reference does) toward the peers
//! and toward the outside (8.8.8.8, 2001:4860:4860::8888) for SNAT. The
//! only file read is `/proc/sys/kernel/hostname`; nothing comes from sysfs
//! any more (every fact it gave has a netlink equivalent). Two users, two
//! policies over the same readings:
//! - the daemon ([`kernel_facts`]): every fact from the kernel snapshot.
//!   It does not read `/etc/network/interfaces`: the kernel's view is what
//!   the dataplane must match (and in a network namespace the file on disk
//!   belongs to another node);
//! - `xsdn compile`/`render` without `--interfaces` ([`LiveNode`]): the
//!   facts of `/etc/network/interfaces` (the file the reference reads),
//!   refreshed from the kernel: addresses the file lacks, the real bridge
//!   ports and VLAN filtering (a bridge that exists but is no Linux bridge
//!   is OVS, as the reference decides), route sources and the router MAC.
//!
//! Discovery is best effort: anything that cannot be found is left unset
//! (and, for the CLI, reported as a warning). Unit tests never call the
//! kernel; they cover the pure parts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::model::{ControllerType, SdnConfig, ZoneType};
use crate::netlink::{Kernel, KernelError};
use crate::node::kernel_state::{KernelState, Link};
use crate::node::{BridgeFacts, LocalAddress, NodeFacts, RouteSource};

/// Public addresses probed for the SNAT egress route (as the reference).
const EGRESS_PROBE_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8));
const EGRESS_PROBE_V6: IpAddr =
    IpAddr::V6(Ipv6Addr::new(0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888));

/// The node's short hostname.
pub fn hostname() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let short = h.trim().split('.').next()?.to_string();
    (!short.is_empty()).then_some(short)
}

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

/// Every address of the snapshot with its interface's name, interface by
/// interface (as `ip addr show` lists them).
fn local_addresses(state: &KernelState) -> Vec<LocalAddress> {
    let mut addresses: Vec<_> = state.addresses.iter().collect();
    addresses.sort_by_key(|a| a.ifindex);
    addresses
        .into_iter()
        .filter_map(|a| {
            Some(LocalAddress {
                iface: state.links.get(&a.ifindex)?.name.clone(),
                addr: a.ip,
                prefix_len: Some(a.prefix_len),
            })
        })
        .collect()
}

/// The facts of the Linux bridge `bridge` (its physical ports by name).
fn bridge_facts(state: &KernelState, bridge: &Link) -> BridgeFacts {
    BridgeFacts {
        ports: physical_port_names(state, bridge),
        vlan_aware: bridge.vlan_filtering,
        ovs: false,
        mtu: Some(bridge.mtu),
    }
}

fn physical_port_names(state: &KernelState, bridge: &Link) -> Vec<String> {
    state
        .physical_members(bridge.ifindex)
        .into_iter()
        .map(|m| m.name.clone())
        .collect()
}

/// Adds the addresses of `state` that `facts` does not have yet.
fn add_addresses(state: &KernelState, facts: &mut NodeFacts) {
    for a in local_addresses(state) {
        if !facts.addresses.iter().any(|b| b.addr == a.addr) {
            facts.addresses.push(a);
        }
    }
}

/// Replaces the ports and flags of the bridges of `facts` with what the
/// kernel reports (a device that is not a Linux bridge is OVS, and keeps
/// its ports); returns a warning per bridge that does not exist.
fn refresh_bridges(state: &KernelState, facts: &mut NodeFacts) -> Vec<String> {
    let mut warnings = Vec::new();
    for (name, bridge) in &mut facts.bridges {
        match state.link_by_name(name) {
            Some(link) if link.is_bridge() => {
                bridge.ports = physical_port_names(state, link);
                bridge.ovs = false;
                bridge.vlan_aware = link.vlan_filtering;
            }
            Some(_) => bridge.ovs = true,
            None => warnings.push(format!("bridge {name} does not exist on this node")),
        }
    }
    warnings
}

/// The MAC of `iface`'s master (its bridge), else of `iface` itself; none
/// when the device has no hardware address.
pub fn router_mac(state: &KernelState, iface: &str) -> Option<[u8; 6]> {
    let link = state.link_by_name(iface)?;
    let owner = link
        .master
        .and_then(|m| state.links.get(&m))
        .unwrap_or(link);
    Some(owner.mac).filter(|mac| *mac != [0; 6])
}

/// Source address and interface of the route toward `dst`.
async fn route_source(kernel: &Kernel, state: &KernelState, dst: IpAddr) -> Option<RouteSource> {
    let route = kernel.route_get(dst).await.ok()?;
    Some(RouteSource {
        ip: route.source?,
        iface: state.links.get(&route.oif)?.name.clone(),
    })
}

/// The facts of this node as the daemon sees it: everything from the
/// kernel snapshot `state`, with route sources looked up through `kernel`
/// (toward the first configured peer of `cfg` that is not this node and
/// has a route, and toward the outside).
pub async fn kernel_facts(
    name: &str,
    kernel: &Kernel,
    state: &KernelState,
    cfg: &SdnConfig,
) -> NodeFacts {
    let mut facts = NodeFacts {
        name: name.to_owned(),
        addresses: local_addresses(state),
        ..NodeFacts::default()
    };
    for link in state.links.values() {
        facts.mtus.insert(link.name.clone(), link.mtu);
        if link.is_bridge() {
            facts
                .bridges
                .insert(link.name.clone(), bridge_facts(state, link));
        }
    }
    for peer in configured_peers(cfg) {
        if state.is_local_address(peer) {
            continue;
        }
        if let Some(source) = route_source(kernel, state, peer).await {
            facts.route_source = Some(source);
            break;
        }
    }
    facts.egress_v4 = route_source(kernel, state, EGRESS_PROBE_V4).await;
    facts.egress_v6 = route_source(kernel, state, EGRESS_PROBE_V6).await;
    facts.router_mac = facts
        .route_source
        .as_ref()
        .and_then(|r| router_mac(state, &r.iface));
    facts
}

/// Why the live kernel could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The small runtime the netlink requests run on did not start.
    #[error("starting the runtime for netlink requests")]
    Runtime(#[source] std::io::Error),
    /// Netlink failed.
    #[error("reading the kernel's state")]
    Kernel(#[from] KernelError),
}

/// The running node's kernel, for the one-shot CLI commands: a snapshot
/// taken once, and a netlink handle (on a current-thread runtime of its
/// own) for route lookups.
pub struct LiveNode {
    runtime: tokio::runtime::Runtime,
    kernel: Kernel,
    state: KernelState,
}

impl LiveNode {
    /// Connects to the kernel and takes a snapshot.
    pub fn open() -> Result<LiveNode, LiveError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LiveError::Runtime)?;
        let (kernel, state) = runtime.block_on(async {
            let kernel = Kernel::connect()?;
            let state = kernel.snapshot().await?;
            Ok::<_, KernelError>((kernel, state))
        })?;
        Ok(LiveNode {
            runtime,
            kernel,
            state,
        })
    }

    /// Adds the kernel's addresses that `facts` does not have yet.
    pub fn add_addresses(&self, facts: &mut NodeFacts) {
        add_addresses(&self.state, facts);
    }

    /// Refreshes the bridges of `facts` from the kernel (see
    /// [`refresh_bridges`]).
    pub fn refresh_bridges(&self, facts: &mut NodeFacts) -> Vec<String> {
        refresh_bridges(&self.state, facts)
    }

    /// The route sources toward `peer` (or, without one, the IPv4 outside)
    /// and toward the IPv4/IPv6 outside, as `(peers, egress_v4, egress_v6)`.
    pub fn route_sources(
        &self,
        peer: Option<IpAddr>,
    ) -> (
        Option<RouteSource>,
        Option<RouteSource>,
        Option<RouteSource>,
    ) {
        let (kernel, state) = (&self.kernel, &self.state);
        self.runtime.block_on(async {
            let egress_v4 = route_source(kernel, state, EGRESS_PROBE_V4).await;
            let egress_v6 = route_source(kernel, state, EGRESS_PROBE_V6).await;
            let toward = match peer {
                Some(p) => route_source(kernel, state, p).await,
                None => egress_v4.clone(),
            };
            (toward, egress_v4, egress_v6)
        })
    }

    /// The router MAC for a route through `iface` (see [`router_mac`]).
    pub fn router_mac(&self, iface: &str) -> Option<[u8; 6]> {
        router_mac(&self.state, iface)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{Controller, Zone};
    use crate::node::kernel_state::Address;

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

    fn link(ifindex: u32, name: &str, kind: Option<&str>, master: Option<u32>) -> Link {
        Link::for_test(ifindex, name, kind, master)
    }

    fn state() -> KernelState {
        let mut state = KernelState::default();
        for l in [
            link(2, "eno2", Some("veth"), Some(4)),
            link(3, "eno1", Some("veth"), Some(4)),
            Link {
                vlan_filtering: true,
                ..link(4, "vmbr0", Some("bridge"), None)
            },
            link(5, "tap100i0", Some("tun"), Some(4)),
            link(6, "ovsbr", Some("openvswitch"), None),
        ] {
            state.links.insert(l.ifindex, l);
        }
        let ip = |s: &str| s.parse().expect("ip");
        state.addresses = vec![
            Address {
                ifindex: 4,
                ip: ip("192.168.0.1"),
                prefix_len: 24,
            },
            Address {
                ifindex: 2,
                ip: ip("10.0.0.1"),
                prefix_len: 8,
            },
            Address {
                ifindex: 4,
                ip: ip("fe80::1"),
                prefix_len: 64,
            },
        ];
        state
    }

    #[test]
    fn bridges_addresses_and_router_mac_from_a_snapshot() {
        let state = state();
        let vmbr0 = state.link_by_name("vmbr0").expect("bridge");
        assert_eq!(
            bridge_facts(&state, vmbr0),
            BridgeFacts {
                ports: vec!["eno1".into(), "eno2".into()],
                vlan_aware: true,
                ovs: false,
                mtu: Some(1500),
            },
            "physical ports by name, VLAN filtering from the bridge"
        );
        let addresses: Vec<(String, String)> = local_addresses(&state)
            .into_iter()
            .map(|a| (a.iface, a.addr.to_string()))
            .collect();
        assert_eq!(
            addresses,
            [
                ("eno2".to_string(), "10.0.0.1".to_string()),
                ("vmbr0".to_string(), "192.168.0.1".to_string()),
                ("vmbr0".to_string(), "fe80::1".to_string()),
            ],
            "interface by interface, each in the kernel's order"
        );
        assert_eq!(
            router_mac(&state, "eno1"),
            Some([2, 0, 0, 0, 0, 4]),
            "a bridge port's router MAC is its bridge's"
        );
        assert_eq!(router_mac(&state, "vmbr0"), Some([2, 0, 0, 0, 0, 4]));
        assert_eq!(router_mac(&state, "nope"), None);
    }

    #[test]
    fn the_interfaces_file_facts_are_refreshed_from_the_kernel() {
        let state = state();
        let file = crate::node::interfaces::InterfacesFile::parse(
            "iface vmbr0 inet static\n\taddress 192.168.0.1/24\n\tbridge-ports eno1\n\n\
             iface ovsbr inet manual\n\tovs_type OVSBridge\n\tovs_ports eno9\n\n\
             iface vmbr7 inet manual\n\tbridge-ports eno7\n",
        );
        let mut facts = NodeFacts::from_interfaces("n1", &file);
        add_addresses(&state, &mut facts);
        let warnings = refresh_bridges(&state, &mut facts);
        assert_eq!(warnings, ["bridge vmbr7 does not exist on this node"]);
        assert_eq!(facts.bridge_ports("vmbr0"), ["eno1", "eno2"]);
        assert!(facts.bridge("vmbr0").expect("vmbr0").vlan_aware);
        let ovs = facts.bridge("ovsbr").expect("ovsbr");
        assert!(ovs.ovs);
        assert_eq!(ovs.ports, ["eno9"], "an OVS bridge keeps the file's ports");
        assert_eq!(facts.bridge_ports("vmbr7"), ["eno7"]);
        let addresses: Vec<String> = facts.addresses.iter().map(|a| a.addr.to_string()).collect();
        assert_eq!(
            addresses,
            ["192.168.0.1", "10.0.0.1", "fe80::1"],
            "the file's first, then what only the kernel has"
        );
    }
}
