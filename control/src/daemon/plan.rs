//! From compiled tables and the kernel's state to what the dataplane runs.
//!
//! Pure (no I/O): given this node's compiled [`CompiledNode`], a [`KernelState`]
//! snapshot, the route toward each VXLAN peer and the node settings, build
//! the dataplane's [`ForwardingTables`], the list of interfaces to take over
//! (guest ports steered whole, uplinks steered by tag/UDP port), and the
//! next hops the kernel still has to resolve.
//!
//! Rules, as on a Proxmox node:
//! - a VNet's guest ports are the members of the kernel bridge named after
//!   it, except the kernel-side plumbing the reference generator creates
//!   (`vxlan_*`, `ln_*`, `pr_*`, VLAN/VXLAN/bridge devices...); an explicit
//!   port map in the node settings adds ports by name;
//! - a VLAN/QinQ zone's uplink is the first physical port of its bridge
//!   (`--uplink` overrides);
//! - a VXLAN peer is reached through the interface the kernel routes it
//!   over; when that is a bridge (vmbr0), through its first physical port;
//!   the outer destination MAC is the kernel's neighbour entry for the
//!   gateway (or the peer when on-link), the source MAC that interface's.
//!
//! Port slots are stable per interface name and handed out round-robin, so
//! a slot freed by a removed guest is not reused by the next one at once.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use xsdn_common::{SteerKey, SteerKind};
use xsdn_dataplane::tables::{
    BdEncap, BdId, BridgeDomain, ForwardingTables, MAX_PORTS, NextHop, PortIdx, TPID_8021AD,
    TPID_8021Q, VtepIdx,
};
use xsdn_dataplane::wire::EthernetAddress;

use crate::compile::{CompiledNode, Encap, VnetTable};
use crate::config::model::VlanProtocol;
use crate::node::interfaces::is_physical_port;

use crate::node::kernel_state::{KernelState, Link, RouteTo};

/// Name prefixes of kernel-side plumbing that is never a guest port.
const PLUMBING_PREFIXES: &[&str] = &[
    "vxlan_", "ln_", "pr_", "vrfvx_", "vrfbr_", "xvrf", "z_", "sv_", "vrf_",
];
/// Interface kinds that are never guest ports.
const PLUMBING_KINDS: &[&str] = &["vxlan", "bridge", "vlan", "vrf", "dummy", "bond"];

/// Settings that shape the plan.
#[derive(Clone, Debug, Default)]
pub struct PlanSettings {
    /// Uplinks to use instead of the zone bridges' ports / routed ports.
    pub uplinks: Vec<String>,
    /// Explicit guest ports: interface -> VNet.
    pub ports: BTreeMap<String, String>,
    /// VTEP source address override.
    pub vtep_ip: Option<IpAddr>,
}

/// How the XDP program treats a planned port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Steering {
    /// Every frame to the dataplane (guest ports).
    All,
    /// Only frames matching the plan's steering keys (uplinks).
    Matched,
}

/// An interface the dataplane takes over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedPort {
    /// Interface name.
    pub name: String,
    /// Interface index.
    pub ifindex: u32,
    /// Steering mode.
    pub steering: Steering,
    /// The VNet (guest ports) or `None` (uplinks).
    pub vnet: Option<String>,
    /// A guest port whose VNet bridge carries host addresses: the bridge's
    /// MAC (frames for the host's stack go to the kernel).
    pub host_mac: Option<[u8; 6]>,
}

/// The dataplane state for one configuration and kernel generation.
#[derive(Debug)]
pub struct Plan {
    /// Forwarding tables for the workers.
    pub tables: ForwardingTables,
    /// Interfaces to take over, by port slot.
    pub ports: BTreeMap<PortIdx, PlannedPort>,
    /// Uplink steering rules for the XDP program.
    pub steer: Vec<SteerKey>,
    /// `(ifindex, address)` next hops the kernel must resolve (the daemon
    /// asks for managed neighbour entries).
    pub unresolved: Vec<(u32, IpAddr)>,
    /// Counter slot of each VNet.
    pub vnet_counters: BTreeMap<String, usize>,
    /// Problems that leave part of the configuration unserved.
    pub warnings: Vec<String>,
}

/// Port and counter slots remembered across plans.
#[derive(Debug, Default)]
pub struct Slots {
    ports: HashMap<String, PortIdx>,
    next_port: PortIdx,
    counters: HashMap<String, usize>,
}

impl Slots {
    /// The slot of interface `name`, allocating one if new.
    fn port(&mut self, name: &str, in_use: &dyn Fn(PortIdx) -> bool) -> Option<PortIdx> {
        if let Some(&slot) = self.ports.get(name) {
            return Some(slot);
        }
        let taken: Vec<PortIdx> = self.ports.values().copied().collect();
        for i in 0..MAX_PORTS {
            let slot = (self.next_port + i) % MAX_PORTS;
            if !taken.contains(&slot) && !in_use(slot) {
                self.next_port = (slot + 1) % MAX_PORTS;
                self.ports.insert(name.to_owned(), slot);
                return Some(slot);
            }
        }
        None
    }

    /// Forgets interfaces that are not in `keep`.
    fn retain_ports(&mut self, keep: &BTreeMap<PortIdx, PlannedPort>) {
        self.ports
            .retain(|name, slot| keep.get(slot).is_some_and(|p| &p.name == name));
    }

    /// The counter slot of VNet `vnet` (stable for the daemon's lifetime).
    fn counter(&mut self, vnet: &str) -> usize {
        let next = self.counters.len();
        *self.counters.entry(vnet.to_owned()).or_insert(next)
    }
}

fn is_plumbing(link: &Link) -> bool {
    PLUMBING_PREFIXES.iter().any(|p| link.name.starts_with(p))
        || link
            .kind
            .as_deref()
            .is_some_and(|k| PLUMBING_KINDS.contains(&k))
        || link.name.contains('.')
}

/// The physical port behind `link`: itself, or a bridge's first physical
/// member.
fn physical_behind<'a>(kernel: &'a KernelState, link: &'a Link) -> Option<&'a Link> {
    if link.kind.as_deref() == Some("bridge") {
        let mut members: Vec<&Link> = kernel
            .members_of(link.ifindex)
            .filter(|m| is_physical_port(&m.name))
            .collect();
        members.sort_by(|a, b| a.name.cmp(&b.name));
        members.first().copied()
    } else {
        Some(link)
    }
}

struct Builder<'a> {
    kernel: &'a KernelState,
    settings: &'a PlanSettings,
    plan: Plan,
}

impl Builder<'_> {
    /// Claims `link` as an uplink (once) and returns its slot.
    fn uplink(&mut self, slots: &mut Slots, link: &Link) -> Option<PortIdx> {
        if let Some((&slot, _)) = self.plan.ports.iter().find(|(_, p)| p.name == link.name) {
            return Some(slot);
        }
        let ports = &self.plan.ports;
        let Some(slot) = slots.port(&link.name, &|s| ports.contains_key(&s)) else {
            self.plan
                .warnings
                .push(format!("no free port slot for uplink {}", link.name));
            return None;
        };
        let mac = EthernetAddress(link.mac);
        if let Err(e) = self.plan.tables.set_uplink(slot, &link.name, mac, link.mtu) {
            self.plan
                .warnings
                .push(format!("uplink {}: {e}", link.name));
            return None;
        }
        self.plan.ports.insert(
            slot,
            PlannedPort {
                name: link.name.clone(),
                ifindex: link.ifindex,
                steering: Steering::Matched,
                vnet: None,
                host_mac: None,
            },
        );
        Some(slot)
    }

    /// The uplink link of a VLAN/QinQ VNet: the override or the first
    /// physical port of its bridge.
    fn bridge_uplink(&mut self, vnet: &str, bridge: &str, ports: &[String]) -> Option<&Link> {
        let name = self
            .settings
            .uplinks
            .first()
            .or_else(|| ports.first())
            .cloned();
        let Some(name) = name else {
            self.plan.warnings.push(format!(
                "VNet {vnet}: bridge {bridge} has no physical port to carry its tags (set --uplink)"
            ));
            return None;
        };
        match self.kernel.link_by_name(&name) {
            Some(link) => Some(link),
            None => {
                self.plan
                    .warnings
                    .push(format!("VNet {vnet}: uplink {name} does not exist"));
                None
            }
        }
    }

    fn guest_ports(&mut self, slots: &mut Slots, vnet: &VnetTable, bd: BdId) {
        let mut names: Vec<&Link> = Vec::new();
        let mut host_mac = None;
        match self.kernel.link_by_name(&vnet.name) {
            Some(bridge) if bridge.kind.as_deref() == Some("bridge") => {
                names.extend(self.kernel.members_of(bridge.ifindex).filter(|l| !is_plumbing(l)));
                if self.kernel.has_host_address(bridge.ifindex) {
                    host_mac = Some(bridge.mac);
                }
            }
            _ if self.settings.ports.values().any(|v| v == &vnet.name) => {}
            _ => self.plan.warnings.push(format!(
                "VNet {}: no kernel bridge named {} on this node, so no guest ports (create it or list ports in the node settings)",
                vnet.name, vnet.name
            )),
        }
        for (iface, target) in &self.settings.ports {
            if target != &vnet.name {
                continue;
            }
            match self.kernel.link_by_name(iface) {
                Some(link) if !names.iter().any(|l| l.ifindex == link.ifindex) => names.push(link),
                Some(_) => {}
                None => self.plan.warnings.push(format!(
                    "port {iface} (VNet {}) does not exist yet",
                    vnet.name
                )),
            }
        }
        names.sort_by(|a, b| a.name.cmp(&b.name));
        for link in names {
            if self.plan.ports.values().any(|p| p.name == link.name) {
                self.plan.warnings.push(format!(
                    "{} is claimed twice (VNet {}); keeping its first role",
                    link.name, vnet.name
                ));
                continue;
            }
            let ports = &self.plan.ports;
            let Some(slot) = slots.port(&link.name, &|s| ports.contains_key(&s)) else {
                self.plan
                    .warnings
                    .push(format!("no free port slot for {}", link.name));
                continue;
            };
            let mac = EthernetAddress(link.mac);
            match self
                .plan
                .tables
                .add_guest_port(slot, &link.name, mac, link.mtu, bd)
            {
                Ok(()) => {
                    self.plan.ports.insert(
                        slot,
                        PlannedPort {
                            name: link.name.clone(),
                            ifindex: link.ifindex,
                            steering: Steering::All,
                            vnet: Some(vnet.name.clone()),
                            host_mac,
                        },
                    );
                }
                Err(e) => self.plan.warnings.push(format!("port {}: {e}", link.name)),
            }
        }
    }

    fn steer(&mut self, ifindex: u32, kind: SteerKind, value: u32) {
        let key = SteerKey {
            ifindex,
            kind: kind as u32,
            value,
        };
        if !self.plan.steer.contains(&key) {
            self.plan.steer.push(key);
        }
    }

    /// Resolves the next hop of VTEP `vtep` (peer `ip`) from `route`, and
    /// steers the VNet's VXLAN (`(UDP port, VNI)`) on the uplink.
    fn next_hop(
        &mut self,
        slots: &mut Slots,
        vtep: VtepIdx,
        ip: IpAddr,
        route: Option<&RouteTo>,
        src_ip: IpAddr,
        (udp_port, vni): (u16, u32),
    ) {
        let kernel = self.kernel;
        let Some(route) = route else {
            self.plan.warnings.push(format!(
                "VXLAN peer {ip}: no route (frames to it are dropped)"
            ));
            return;
        };
        let Some(out) = kernel.links.get(&route.oif) else {
            return;
        };
        let uplink = match self.settings.uplinks.first() {
            Some(name) => kernel.link_by_name(name),
            None => physical_behind(kernel, out),
        };
        let Some(uplink) = uplink else {
            self.plan.warnings.push(format!(
                "VXLAN peer {ip}: {} has no physical port (set --uplink)",
                out.name
            ));
            return;
        };
        let Some(port) = self.uplink(slots, uplink) else {
            return;
        };
        self.steer(uplink.ifindex, SteerKind::UdpDstPort, u32::from(udp_port));
        self.steer(uplink.ifindex, SteerKind::VxlanVni, vni);
        let via = route.gateway.unwrap_or(ip);
        let Some(neighbour) = kernel.neighbour(out.ifindex, via).and_then(|n| n.mac) else {
            if !self.plan.unresolved.contains(&(out.ifindex, via)) {
                self.plan.unresolved.push((out.ifindex, via));
            }
            return;
        };
        let next_hop = NextHop {
            port,
            dst_mac: EthernetAddress(neighbour),
            src_mac: EthernetAddress(out.mac),
            src_ip,
        };
        if let Err(e) = self.plan.tables.set_next_hop(vtep, Some(next_hop)) {
            self.plan.warnings.push(format!("VXLAN peer {ip}: {e}"));
        }
    }
}

/// Builds the plan. `routes` holds the kernel's route toward each VXLAN
/// peer (missing = no route).
pub fn plan(
    tables: &CompiledNode,
    kernel: &KernelState,
    routes: &HashMap<IpAddr, RouteTo>,
    settings: &PlanSettings,
    slots: &mut Slots,
) -> Plan {
    let mut b = Builder {
        kernel,
        settings,
        plan: Plan {
            tables: ForwardingTables::new(),
            ports: BTreeMap::new(),
            steer: Vec::new(),
            unresolved: Vec::new(),
            vnet_counters: BTreeMap::new(),
            warnings: Vec::new(),
        },
    };
    // Local VTEP addresses first: peers equal to one are not peers.
    for vnet in &tables.vnets {
        if let Encap::Vxlan { local_ip, .. } = &vnet.encap
            && let Some(ip) = settings.vtep_ip.or(*local_ip)
            && !b.plan.tables.local_vtep_ips.contains(&ip)
        {
            b.plan.tables.local_vtep_ips.push(ip);
        }
    }
    for vnet in &tables.vnets {
        let counter = slots.counter(&vnet.name);
        b.plan.vnet_counters.insert(vnet.name.clone(), counter);
        let (encap, uplink) = match &vnet.encap {
            Encap::Local => (BdEncap::Local, None),
            Encap::Vlan {
                bridge, ports, tag, ..
            } => {
                let Some(link) = b.bridge_uplink(&vnet.name, bridge, ports).cloned() else {
                    continue;
                };
                let Some(slot) = b.uplink(slots, &link) else {
                    continue;
                };
                b.steer(link.ifindex, SteerKind::Dot1qVid, u32::from(*tag));
                (BdEncap::Vlan { vid: *tag }, Some(slot))
            }
            Encap::Qinq {
                bridge,
                ports,
                service_tag,
                protocol,
                customer_tag,
                ..
            } => {
                let Some(link) = b.bridge_uplink(&vnet.name, bridge, ports).cloned() else {
                    continue;
                };
                let Some(slot) = b.uplink(slots, &link) else {
                    continue;
                };
                let (s_tpid, kind) = match protocol {
                    VlanProtocol::Dot1Ad => (TPID_8021AD, SteerKind::Dot1adVid),
                    _ => (TPID_8021Q, SteerKind::Dot1qVid),
                };
                b.steer(link.ifindex, kind, u32::from(*service_tag));
                (
                    BdEncap::QinQ {
                        s_tpid,
                        s_vid: *service_tag,
                        c_vid: *customer_tag,
                    },
                    Some(slot),
                )
            }
            Encap::Vxlan { vni, udp_port, .. } => (
                BdEncap::Vxlan {
                    vni: *vni,
                    udp_port: *udp_port,
                },
                None,
            ),
            Encap::Evpn { .. } => {
                b.plan.warnings.push(format!(
                    "VNet {}: EVPN zones are not forwarded by the dataplane yet (the kernel path serves them)",
                    vnet.name
                ));
                continue;
            }
        };
        let mut bd = BridgeDomain::new(&vnet.name, &vnet.zone, encap)
            .with_counter_slot(counter)
            .with_isolated_ports(vnet.isolate_ports)
            .with_learning(vnet.mac_learning);
        bd.uplink = uplink;
        let id = match b.plan.tables.add_bd(bd) {
            Ok(id) => id,
            Err(e) => {
                b.plan.warnings.push(format!("VNet {}: {e}", vnet.name));
                continue;
            }
        };
        b.guest_ports(slots, vnet, id);
        if let Encap::Vxlan {
            vni,
            udp_port,
            local_ip,
            peers,
        } = &vnet.encap
        {
            for &peer in peers {
                let src = match settings.vtep_ip.or(*local_ip) {
                    Some(ip) if ip.is_ipv4() == peer.is_ipv4() => Some(ip),
                    _ => routes.get(&peer).and_then(|r| r.source),
                };
                let Some(src) = src else {
                    b.plan.warnings.push(format!(
                        "VNet {}: no local address of the family of peer {peer}",
                        vnet.name
                    ));
                    continue;
                };
                match b.plan.tables.add_peer(id, peer) {
                    Ok(Some(vtep)) => {
                        b.next_hop(slots, vtep, peer, routes.get(&peer), src, (*udp_port, *vni))
                    }
                    Ok(None) => {}
                    Err(e) => b.plan.warnings.push(format!("VNet {}: {e}", vnet.name)),
                }
            }
        }
    }
    slots.retain_ports(&b.plan.ports);
    b.plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{BridgeKind, COMPILED_NODE_FORMAT, ZoneKind};
    use crate::node::kernel_state::Neighbour;
    use xsdn_dataplane::tables::PortRole;

    fn link(ifindex: u32, name: &str, kind: Option<&str>, master: Option<u32>) -> Link {
        Link {
            ifindex,
            name: name.into(),
            kind: kind.map(Into::into),
            master,
            mac: [2, 0, 0, 0, 0, ifindex as u8],
            mtu: 1500,
            up: true,
            vlan_filtering: false,
        }
    }

    /// node1 of the spec's VXLAN/VLAN examples: vmbr0 (eno1), VNet bridges
    /// with a guest tap each plus the kernel-side vxlan device.
    fn kernel() -> KernelState {
        let mut k = KernelState::default();
        for l in [
            link(2, "eno1", Some("veth"), Some(3)),
            link(3, "vmbr0", Some("bridge"), None),
            link(4, "myvnet1", Some("bridge"), None),
            link(5, "tap101i0", Some("veth"), Some(4)),
            link(6, "vxlan_myvnet1", Some("vxlan"), Some(4)),
            link(7, "vlanvnet", Some("bridge"), None),
            link(8, "tap102i0", Some("veth"), Some(7)),
            link(9, "ln_vlanvnet", Some("veth"), Some(7)),
        ] {
            k.links.insert(l.ifindex, l);
        }
        k.neighbours.push(Neighbour {
            ifindex: 3,
            ip: "192.168.0.3".parse().expect("ip"),
            mac: Some([2, 0, 0, 0, 0, 0x33]),
            usable: true,
        });
        k
    }

    fn vnet(name: &str, zone: &str, encap: Encap) -> VnetTable {
        VnetTable {
            name: name.into(),
            zone: zone.into(),
            zone_type: ZoneKind::Vxlan,
            alias: None,
            vlanaware: false,
            isolate_ports: false,
            mac_learning: true,
            mtu: None,
            subnets: Vec::new(),
            encap,
        }
    }

    fn tables(vnets: Vec<VnetTable>) -> CompiledNode {
        CompiledNode {
            format: COMPILED_NODE_FORMAT,
            node: "node1".into(),
            config_version: None,
            zones: Vec::new(),
            vnets,
            skipped: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn vxlan_vnet() -> VnetTable {
        vnet(
            "myvnet1",
            "vx",
            Encap::Vxlan {
                vni: 100000,
                udp_port: 4789,
                local_ip: Some(ip("192.168.0.1")),
                peers: vec![ip("192.168.0.2"), ip("192.168.0.3")],
            },
        )
    }

    fn routes() -> HashMap<IpAddr, RouteTo> {
        ["192.168.0.2", "192.168.0.3"]
            .iter()
            .map(|p| {
                (
                    ip(p),
                    RouteTo {
                        oif: 3,
                        source: Some(ip("192.168.0.1")),
                        gateway: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn vxlan_vnet_takes_its_guest_and_the_routed_uplink() {
        let mut slots = Slots::default();
        let plan = plan(
            &tables(vec![vxlan_vnet()]),
            &kernel(),
            &routes(),
            &PlanSettings::default(),
            &mut slots,
        );
        let names: Vec<(&str, Steering)> = plan
            .ports
            .values()
            .map(|p| (p.name.as_str(), p.steering))
            .collect();
        assert!(names.contains(&("tap101i0", Steering::All)), "{names:?}");
        assert!(names.contains(&("eno1", Steering::Matched)), "{names:?}");
        assert!(
            !names.iter().any(|(n, _)| *n == "vxlan_myvnet1"),
            "kernel plumbing is not a guest port: {names:?}"
        );
        assert_eq!(plan.tables.local_vtep_ips, vec![ip("192.168.0.1")]);
        assert_eq!(
            plan.steer,
            vec![
                SteerKey {
                    ifindex: 2,
                    kind: SteerKind::UdpDstPort as u32,
                    value: 4789
                },
                SteerKey {
                    ifindex: 2,
                    kind: SteerKind::VxlanVni as u32,
                    value: 100_000
                }
            ]
        );
        // .3 has a neighbour entry, .2 has not: one resolved, one to resolve.
        let vtep3 = plan.tables.vtep_by_ip[&ip("192.168.0.3")];
        let nh = plan.tables.vteps[usize::from(vtep3)]
            .next_hop
            .expect("resolved");
        assert_eq!(nh.dst_mac, EthernetAddress([2, 0, 0, 0, 0, 0x33]));
        assert_eq!(
            nh.src_mac,
            EthernetAddress([2, 0, 0, 0, 0, 3]),
            "vmbr0's MAC"
        );
        assert_eq!(plan.tables.ports[nh.port].name, "eno1");
        assert_eq!(plan.unresolved, vec![(3, ip("192.168.0.2"))]);
        plan.tables.validate().expect("valid tables");
    }

    #[test]
    fn vlan_vnet_steers_its_tag_on_the_bridge_port() {
        let v = vnet(
            "vlanvnet",
            "vl",
            Encap::Vlan {
                bridge: "vmbr0".into(),
                bridge_kind: BridgeKind::Linux,
                ports: vec!["eno1".into()],
                tag: 10,
            },
        );
        let mut slots = Slots::default();
        let plan = plan(
            &tables(vec![v]),
            &kernel(),
            &HashMap::new(),
            &PlanSettings::default(),
            &mut slots,
        );
        assert_eq!(
            plan.steer,
            vec![SteerKey {
                ifindex: 2,
                kind: SteerKind::Dot1qVid as u32,
                value: 10
            }]
        );
        let guests: Vec<&str> = plan
            .ports
            .values()
            .filter(|p| p.steering == Steering::All)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(guests, ["tap102i0"], "ln_ veth is plumbing");
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    }

    #[test]
    fn qinq_8021ad_steers_the_service_tag_with_its_protocol() {
        let v = vnet(
            "vlanvnet",
            "qq",
            Encap::Qinq {
                bridge: "vmbr0".into(),
                bridge_kind: BridgeKind::Linux,
                ports: vec!["eno1".into()],
                service_tag: 20,
                protocol: VlanProtocol::Dot1Ad,
                customer_tag: Some(100),
            },
        );
        let plan = plan(
            &tables(vec![v]),
            &kernel(),
            &HashMap::new(),
            &PlanSettings::default(),
            &mut Slots::default(),
        );
        assert_eq!(plan.steer[0].kind, SteerKind::Dot1adVid as u32);
        assert_eq!(plan.steer[0].value, 20);
        let bd = &plan.tables.bds[0];
        assert_eq!(
            bd.encap,
            BdEncap::QinQ {
                s_tpid: TPID_8021AD,
                s_vid: 20,
                c_vid: Some(100)
            }
        );
    }

    #[test]
    fn slots_are_stable_and_not_reused_at_once() {
        let mut slots = Slots::default();
        let k = kernel();
        let t = tables(vec![vxlan_vnet()]);
        let first = plan(&t, &k, &routes(), &PlanSettings::default(), &mut slots);
        let again = plan(&t, &k, &routes(), &PlanSettings::default(), &mut slots);
        assert_eq!(first.ports, again.ports, "same interfaces, same slots");
        let tap_slot = *first
            .ports
            .iter()
            .find(|(_, p)| p.name == "tap101i0")
            .expect("tap")
            .0;
        // The guest goes away and another one arrives.
        let mut k2 = k.clone();
        k2.links.remove(&5);
        k2.links
            .insert(10, link(10, "tap103i0", Some("veth"), Some(4)));
        let later = plan(&t, &k2, &routes(), &PlanSettings::default(), &mut slots);
        let new_slot = *later
            .ports
            .iter()
            .find(|(_, p)| p.name == "tap103i0")
            .expect("new tap")
            .0;
        assert_ne!(new_slot, tap_slot, "a freed slot is not reused at once");
        assert!(matches!(
            later.tables.ports[new_slot].role,
            PortRole::Guest { .. }
        ));
    }

    #[test]
    fn missing_bridge_and_explicit_ports() {
        let mut settings = PlanSettings::default();
        settings.ports.insert("tap102i0".into(), "nobridge".into());
        let v = vnet("nobridge", "s", Encap::Local);
        let plan = plan(
            &tables(vec![v]),
            &kernel(),
            &HashMap::new(),
            &settings,
            &mut Slots::default(),
        );
        let names: Vec<&str> = plan.ports.values().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["tap102i0"]);
        let plan2 = super::plan(
            &tables(vec![vnet("ghost", "s", Encap::Local)]),
            &kernel(),
            &HashMap::new(),
            &PlanSettings::default(),
            &mut Slots::default(),
        );
        assert!(plan2.ports.is_empty());
        assert!(
            plan2
                .warnings
                .iter()
                .any(|w| w.contains("no kernel bridge named ghost")),
            "{:?}",
            plan2.warnings
        );
    }
}
