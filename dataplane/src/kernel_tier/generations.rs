//! Bridge domain generations: a number per bridge domain that changes
//! exactly when a decision cached for it in the kernel tier could become
//! wrong, so a new tables generation invalidates what it must (all the
//! domain's MAC entries at once, by one write) and nothing else.
//!
//! What a cached decision depends on, per domain: its VNet and
//! encapsulation (tag, TPID, VNI, UDP port), its guest ports and uplink
//! (names, interface indexes, MTUs), its peers and their next hops, and
//! `isolate-ports`. A domain keeps its generation while all of that is the
//! same; any change gives it a number never used before.

use std::collections::HashMap;

use crate::tables::{BdEncap, ForwardingTables, NextHop, PortSlot};

/// What a domain's cached decisions depend on.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Signature {
    vnet: String,
    encap: BdEncap,
    ports: Vec<(PortSlot, String, u32, u32)>,
    uplink: Option<(PortSlot, String, u32, u32)>,
    peers: Vec<(core::net::IpAddr, Option<NextHop>)>,
    isolate_ports: bool,
}

/// Generations by kernel bridge domain id, kept across tables generations.
#[derive(Debug, Default)]
pub struct Generations {
    by_id: HashMap<usize, (Signature, u32)>,
    last: u32,
}

impl Generations {
    /// Sets `kernel_generation` of every bridge domain of `tables`: the one
    /// it had if nothing it depends on changed, else a new one.
    pub fn assign(&mut self, tables: &mut ForwardingTables) {
        let mut seen = HashMap::with_capacity(tables.bds.len());
        for i in 0..tables.bds.len() {
            let signature = signature(tables, i);
            let id = tables.bds[i].counter_slot;
            let generation = match self.by_id.get(&id) {
                Some((known, generation)) if *known == signature => *generation,
                _ => {
                    self.last = self.last.wrapping_add(1).max(1);
                    self.last
                }
            };
            tables.bds[i].kernel_generation = generation;
            seen.insert(id, (signature, generation));
        }
        self.by_id = seen;
    }
}

fn port(tables: &ForwardingTables, slot: PortSlot) -> (PortSlot, String, u32, u32) {
    tables.port(slot).map_or_else(
        || (slot, String::new(), 0, 0),
        |p| (slot, p.name.clone(), p.ifindex, p.mtu),
    )
}

fn signature(tables: &ForwardingTables, index: usize) -> Signature {
    let bd = &tables.bds[index];
    let mut ports: Vec<_> = bd.guest_ports.iter().map(|&p| port(tables, p)).collect();
    ports.sort();
    let peers = bd
        .vteps
        .iter()
        .filter_map(|&v| tables.vtep(v))
        .map(|v| (v.ip, v.next_hop))
        .collect();
    Signature {
        vnet: bd.vnet.clone(),
        encap: bd.encap,
        ports,
        uplink: bd.uplink.map(|u| port(tables, u)),
        peers,
        isolate_ports: bd.isolate_ports,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{slot, vlan_zone, vxlan_zone};
    use crate::wire::build::mac;

    #[test]
    fn only_changed_domains_get_a_new_generation() {
        let mut g = Generations::default();
        let mut t = vlan_zone();
        g.assign(&mut t);
        let (a, b) = (t.bds[0].kernel_generation, t.bds[1].kernel_generation);
        assert!(a != 0 && b != 0 && a != b);
        // The same tables again: nothing changes.
        let mut same = vlan_zone();
        g.assign(&mut same);
        assert_eq!(
            (same.bds[0].kernel_generation, same.bds[1].kernel_generation),
            (a, b)
        );
        // A new guest port in myvnet2 changes myvnet2 only.
        let mut grown = vlan_zone();
        grown
            .add_guest_port(slot(5), "tap5", mac(0x45), 1500, 1)
            .expect("port");
        g.assign(&mut grown);
        assert_eq!(grown.bds[0].kernel_generation, a);
        assert_ne!(grown.bds[1].kernel_generation, b);
        // A port's MTU counts too.
        let mut mtu = grown.clone();
        mtu.ports[1].mtu = 1400;
        let before = grown.bds[0].kernel_generation;
        g.assign(&mut mtu);
        assert_ne!(mtu.bds[0].kernel_generation, before);
    }

    #[test]
    fn a_next_hop_change_renews_the_domains_of_that_peer() {
        let mut g = Generations::default();
        let mut t = vxlan_zone(false);
        g.assign(&mut t);
        let before: Vec<u32> = t.bds.iter().map(|b| b.kernel_generation).collect();
        let mut moved = vxlan_zone(false);
        let vtep = moved.bds[1].vteps[0];
        let mut nh = moved.vteps[usize::from(vtep)].next_hop.expect("resolved");
        nh.dst_mac = mac(0x77);
        moved.set_next_hop(vtep, Some(nh)).expect("next hop");
        g.assign(&mut moved);
        assert_eq!(moved.bds[0].kernel_generation, before[0]);
        assert_ne!(moved.bds[1].kernel_generation, before[1]);
    }
}
