//! Table assembly: one bridge domain per served VNet, its ports claimed in
//! port slots, its uplink, steering keys and VXLAN peers.
//!
//! Layer: pure; the only module of `lower` that writes the [`Plan`]. It
//! walks the compiled node's VNets in order and asks the rule modules
//! (uplink choice, guest ports, steering, next hops) what to add. A VNet
//! (or one of its ports or peers) that cannot be served is reported as a
//! diagnostic and left out; everything else still is.

use std::collections::HashMap;
use std::net::IpAddr;

use xsdn_dataplane::tables::{BdEncap, BdId, BridgeDomain, NextHop, PortSlot, Vni, VtepIdx};
use xsdn_dataplane::wire::EthernetAddress;

use crate::compile::{CompiledNode, Encap, VnetTable};
use crate::node::kernel_state::{KernelState, Link, RouteTo};

use super::next_hop::{self, Path};
use super::plan::{LowerSettings, Plan, PlannedPort, Steering};
use super::slots::SlotAllocator;
use super::steering::SteerKeys;
use super::uplink::{self, NoUplink};
use super::{guest_ports, vnet_warning, zone_warning};

/// Builds the plan. `routes` holds the kernel's route toward each VXLAN
/// peer (missing = no route).
pub fn lower(
    compiled: &CompiledNode,
    kernel: &KernelState,
    routes: &HashMap<IpAddr, RouteTo>,
    settings: &LowerSettings,
    slots: &mut SlotAllocator,
) -> Plan {
    let mut assembly = Assembly {
        kernel,
        routes,
        settings,
        slots,
        plan: Plan::default(),
        steer: SteerKeys::default(),
    };
    assembly.local_vtep_ips(compiled);
    for vnet in &compiled.vnets {
        assembly.vnet(vnet);
    }
    let Assembly {
        slots,
        mut plan,
        steer,
        ..
    } = assembly;
    plan.steer = steer.into_vec();
    slots.retain_ports(&plan.ports);
    plan
}

/// The plan being built and what it is built from.
struct Assembly<'a> {
    kernel: &'a KernelState,
    routes: &'a HashMap<IpAddr, RouteTo>,
    settings: &'a LowerSettings,
    slots: &'a mut SlotAllocator,
    plan: Plan,
    steer: SteerKeys,
}

impl<'a> Assembly<'a> {
    /// Local VTEP addresses first: peers equal to one are not peers.
    fn local_vtep_ips(&mut self, compiled: &CompiledNode) {
        for vnet in &compiled.vnets {
            if let Encap::Vxlan { local_ip, .. } = &vnet.encap
                && let Some(ip) = self.settings.vtep_ip.or(*local_ip)
                && !self.plan.tables.local_vtep_ips.contains(&ip)
            {
                self.plan.tables.local_vtep_ips.push(ip);
            }
        }
    }

    /// Adds VNet `vnet`: its bridge domain, uplink, guest ports and peers.
    fn vnet(&mut self, vnet: &VnetTable) {
        let counter = self.slots.counter(&vnet.name);
        self.plan.vnet_counters.insert(vnet.name.clone(), counter);
        let Some((encap, uplink)) = self.encap(vnet) else {
            return;
        };
        let mut bd = BridgeDomain::new(&vnet.name, &vnet.zone, encap)
            .with_counter_slot(counter)
            .with_isolated_ports(vnet.isolate_ports)
            .with_learning(vnet.mac_learning);
        bd.uplink = uplink;
        let id = match self.plan.tables.add_bd(bd) {
            Ok(id) => id,
            Err(e) => {
                self.warn(&vnet.name, e.to_string());
                return;
            }
        };
        self.guest_ports(vnet, id);
        if let Encap::Vxlan {
            vni,
            udp_port,
            local_ip,
            peers,
        } = &vnet.encap
        {
            let configured = self.settings.vtep_ip.or(*local_ip);
            for &peer in peers {
                self.vxlan_peer(vnet, id, peer, configured, (*udp_port, *vni));
            }
        }
    }

    /// The bridge domain's encapsulation and uplink slot; `None` when the
    /// VNet cannot be served.
    fn encap(&mut self, vnet: &VnetTable) -> Option<(BdEncap, Option<PortSlot>)> {
        Some(match &vnet.encap {
            Encap::Local => (BdEncap::Local, None),
            Encap::Vlan {
                bridge, ports, tag, ..
            } => {
                let (link, slot) = self.bridge_uplink(&vnet.name, bridge, ports)?;
                self.steer.vlan(link.ifindex, tag.get());
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
                let (link, slot) = self.bridge_uplink(&vnet.name, bridge, ports)?;
                let s_tpid = self
                    .steer
                    .service_tag(link.ifindex, protocol, service_tag.get());
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
                self.evpn_not_served(&vnet.zone);
                return None;
            }
        })
    }

    /// Reports an EVPN zone once: its VNets stay with the kernel path.
    fn evpn_not_served(&mut self, zone: &str) {
        let warning = zone_warning(
            zone,
            "EVPN zones are not forwarded by the dataplane yet (the kernel path serves them)",
        );
        if !self.plan.diagnostics.contains(&warning) {
            self.plan.diagnostics.push(warning);
        }
    }

    /// Chooses and claims the uplink of a VLAN/QinQ VNet.
    fn bridge_uplink(
        &mut self,
        vnet: &str,
        bridge: &str,
        ports: &[String],
    ) -> Option<(&'a Link, PortSlot)> {
        let link = match uplink::for_bridge(self.kernel, &self.settings.uplinks, ports) {
            Ok(link) => link,
            Err(NoUplink::NoPhysicalPort) => {
                self.warn(
                    vnet,
                    format!(
                        "bridge {bridge} has no physical port to carry its tags (set --uplink)"
                    ),
                );
                return None;
            }
            Err(NoUplink::Missing(name)) => {
                self.warn(vnet, format!("uplink {name} does not exist"));
                return None;
            }
        };
        let slot = self.claim_uplink(vnet, link)?;
        Some((link, slot))
    }

    /// Claims `link` as an uplink (once) and returns its slot.
    fn claim_uplink(&mut self, vnet: &str, link: &Link) -> Option<PortSlot> {
        if let Some(slot) = self.plan.slot_of(&link.name) {
            return Some(slot);
        }
        let ports = &self.plan.ports;
        let Some(slot) = self.slots.port(&link.name, |s| ports.contains_key(&s)) else {
            self.warn(vnet, format!("no free port slot for uplink {}", link.name));
            return None;
        };
        let mac = EthernetAddress(link.mac);
        if let Err(e) = self.plan.tables.set_uplink(slot, &link.name, mac, link.mtu) {
            self.warn(vnet, format!("uplink {}: {e}", link.name));
            return None;
        }
        // The slot was just configured: this cannot fail.
        let _ = self.plan.tables.set_ifindex(slot, link.ifindex);
        self.plan.ports.insert(
            slot,
            PlannedPort {
                name: link.name.clone(),
                ifindex: link.ifindex,
                steering: Steering::Matched,
                vnet: None,
                host_mac: None,
                kind: link.kind.clone(),
            },
        );
        Some(slot)
    }

    /// Claims the guest ports of `vnet` for bridge domain `bd`.
    fn guest_ports(&mut self, vnet: &VnetTable, bd: BdId) {
        let found = guest_ports::discover(
            self.kernel,
            &vnet.name,
            &self.settings.ports,
            &mut self.plan.diagnostics,
        );
        for link in found.links {
            if self.plan.slot_of(&link.name).is_some() {
                self.warn(
                    &vnet.name,
                    format!("{} is claimed twice; keeping its first role", link.name),
                );
                continue;
            }
            let ports = &self.plan.ports;
            let Some(slot) = self.slots.port(&link.name, |s| ports.contains_key(&s)) else {
                self.warn(&vnet.name, format!("no free port slot for {}", link.name));
                continue;
            };
            let mac = EthernetAddress(link.mac);
            match self
                .plan
                .tables
                .add_guest_port(slot, &link.name, mac, link.mtu, bd)
            {
                Ok(()) => {
                    // The slot was just configured: this cannot fail.
                    let _ = self.plan.tables.set_ifindex(slot, link.ifindex);
                    self.plan.ports.insert(
                        slot,
                        PlannedPort {
                            name: link.name.clone(),
                            ifindex: link.ifindex,
                            steering: Steering::All,
                            vnet: Some(vnet.name.clone()),
                            host_mac: found.host_mac,
                            kind: link.kind.clone(),
                        },
                    );
                }
                Err(e) => self.warn(&vnet.name, format!("port {}: {e}", link.name)),
            }
        }
    }

    /// Adds VXLAN peer `peer` to bridge domain `bd` with its next hop.
    fn vxlan_peer(
        &mut self,
        vnet: &VnetTable,
        bd: BdId,
        peer: IpAddr,
        configured: Option<IpAddr>,
        port_and_vni: (u16, Vni),
    ) {
        let route = self.routes.get(&peer);
        let Some(src) = next_hop::vtep_source(configured, peer, route) else {
            self.warn(
                &vnet.name,
                format!("no local address of the family of peer {peer}"),
            );
            return;
        };
        match self.plan.tables.add_peer(bd, peer) {
            Ok(Some(vtep)) => self.next_hop(&vnet.name, vtep, peer, route, src, port_and_vni),
            Ok(None) => {}
            Err(e) => self.warn(&vnet.name, e.to_string()),
        }
    }

    /// Resolves the next hop of VTEP `vtep` (peer `peer`) from `route`,
    /// and steers the VNet's VXLAN (`(UDP port, VNI)`) on the uplink.
    fn next_hop(
        &mut self,
        vnet: &str,
        vtep: VtepIdx,
        peer: IpAddr,
        route: Option<&RouteTo>,
        src_ip: IpAddr,
        (udp_port, vni): (u16, Vni),
    ) {
        let kernel = self.kernel;
        let Some(route) = route else {
            self.warn(
                vnet,
                format!("VXLAN peer {peer}: no route (frames to it are dropped)"),
            );
            return;
        };
        let Some(path) = Path::of(kernel, route, peer) else {
            return;
        };
        let Some(uplink) = uplink::for_route(kernel, &self.settings.uplinks, path.out) else {
            self.warn(
                vnet,
                format!(
                    "VXLAN peer {peer}: {} has no physical port (set --uplink)",
                    path.out.name
                ),
            );
            return;
        };
        let Some(port) = self.claim_uplink(vnet, uplink) else {
            return;
        };
        self.steer.vxlan(uplink.ifindex, udp_port, vni.get());
        let Some(dst_mac) = path.destination_mac(kernel) else {
            let pending = path.to_resolve();
            if !self.plan.unresolved.contains(&pending) {
                self.plan.unresolved.push(pending);
            }
            return;
        };
        let next_hop = NextHop {
            port,
            dst_mac: EthernetAddress(dst_mac),
            src_mac: EthernetAddress(path.out.mac),
            src_ip,
        };
        if let Err(e) = self.plan.tables.set_next_hop(vtep, Some(next_hop)) {
            self.warn(vnet, format!("VXLAN peer {peer}: {e}"));
        }
    }

    fn warn(&mut self, vnet: &str, message: String) {
        self.plan.diagnostics.push(vnet_warning(vnet, message));
    }
}
