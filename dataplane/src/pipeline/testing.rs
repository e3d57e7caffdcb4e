//! Example tables for each zone type (the SDN spec's examples) and a helper
//! that runs one frame through `decide` and the rewrites, for tests and
//! benchmarks (feature `testing`). These allocate and panic on misuse; they
//! are not for the dataplane's own paths.
//!
//! Every node has its uplink `eno1` in slot [`UPLINK`] and guest ports from
//! slot 1 on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::counters::DropReason;
use crate::fdb::{Fdb, Tick};
use crate::tables::{BdEncap, BridgeDomain, ForwardingTables, NextHop, PortIdx};
use crate::wire::EthernetAddress;
use crate::wire::testing::mac;

use super::{Decision, FloodList, Pipeline, PipelineCounters};

/// The uplink's slot.
pub const UPLINK: PortIdx = 0;
/// The uplink's MAC.
pub const UPLINK_MAC: EthernetAddress = mac(0xe0);
/// The underlay gateway's MAC (next hop of every VTEP).
pub const GATEWAY_MAC: EthernetAddress = mac(0xfe);
/// Headroom of a received frame in its chunk (as the kernel gives it).
pub const HEADROOM: usize = 256;
/// Chunk size.
pub const CHUNK_SIZE: usize = 4096;
/// The VXLAN example's VNI.
pub const VNI: u32 = 100_000;
/// Another VXLAN VNet's VNI (peer 4 only).
pub const OTHER_VNI: u32 = 200;

/// The uplink alone, MTU 1500.
pub fn node() -> ForwardingTables {
    let mut t = ForwardingTables::new();
    t.set_uplink(UPLINK, "eno1", UPLINK_MAC, 1500)
        .expect("uplink");
    t
}

fn guest(t: &mut ForwardingTables, port: PortIdx, mtu: u32, bd: u16) {
    t.add_guest_port(port, &format!("tap{port}"), mac(0x40 + port as u8), mtu, bd)
        .expect("guest port");
}

/// Simple zone: VNet `simple` with guests 1, 2, 3; VNet `other` with
/// guest 4.
pub fn simple_zone() -> ForwardingTables {
    let mut t = node();
    let a = t
        .add_bd(BridgeDomain::new("simple", "simple", BdEncap::Local))
        .expect("bd");
    let b = t
        .add_bd(BridgeDomain::new("other", "simple", BdEncap::Local).with_counter_slot(1))
        .expect("bd");
    for port in 1..=3 {
        guest(&mut t, port, 1500, a);
    }
    guest(&mut t, 4, 1500, b);
    t
}

/// VLAN zone `myvlanzone` on the uplink: `myvnet1` (VID 10) with guests 1
/// and 2, `myvnet2` (VID 20) with guest 3.
pub fn vlan_zone() -> ForwardingTables {
    let mut t = node();
    let v10 = BridgeDomain::new("myvnet1", "myvlanzone", BdEncap::Vlan { vid: 10 });
    let v10 = t.add_bd(v10.with_uplink(UPLINK)).expect("bd");
    let v20 = BridgeDomain::new("myvnet2", "myvlanzone", BdEncap::Vlan { vid: 20 });
    let v20 = t
        .add_bd(v20.with_uplink(UPLINK).with_counter_slot(1))
        .expect("bd");
    guest(&mut t, 1, 1500, v10);
    guest(&mut t, 2, 1500, v10);
    guest(&mut t, 3, 1500, v20);
    t
}

/// The spec's QinQ example with service protocol `s_tpid`: `qinqzone1`
/// (service VLAN 20) with `myvnet1` (customer VLAN 100, guest 1) and the
/// tag-less `myvnet3` (guest 2); `qinqzone2` (service VLAN 30) with
/// `myvnet2` (customer VLAN 100, guest 3).
pub fn qinq_zones(s_tpid: u16) -> ForwardingTables {
    let mut t = node();
    let encap = |s_vid, c_vid| BdEncap::QinQ {
        s_tpid,
        s_vid,
        c_vid,
    };
    let add = |t: &mut ForwardingTables, vnet: &str, zone: &str, encap, slot| {
        let bd = BridgeDomain::new(vnet, zone, encap)
            .with_uplink(UPLINK)
            .with_counter_slot(slot);
        t.add_bd(bd).expect("bd")
    };
    let vnet1 = add(&mut t, "myvnet1", "qinqzone1", encap(20, Some(100)), 0);
    let vnet3 = add(&mut t, "myvnet3", "qinqzone1", encap(20, None), 2);
    let vnet2 = add(&mut t, "myvnet2", "qinqzone2", encap(30, Some(100)), 1);
    guest(&mut t, 1, 1500, vnet1);
    guest(&mut t, 2, 1500, vnet3);
    guest(&mut t, 3, 1500, vnet2);
    t
}

/// The address of node `n` of the VXLAN example (192.168.0.n or
/// 2001:db8::n).
pub fn vtep_ip(n: u8, v6: bool) -> IpAddr {
    if v6 {
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n.into()).into()
    } else {
        Ipv4Addr::new(192, 168, 0, n).into()
    }
}

/// The spec's VXLAN example seen from node 1: zone `myvxlanzone` (peers
/// 1, 2, 3; UDP 4789) with `myvnet1` (VNI 100000, guests 1 and 2, MTU
/// 1450); plus `othervx` (VNI 200, peer 4 only, guest 3). Every peer is
/// reached through the gateway on the uplink.
pub fn vxlan_zone(v6: bool) -> ForwardingTables {
    let mut t = node();
    t.local_vtep_ips.push(vtep_ip(1, v6));
    let encap = |vni| BdEncap::Vxlan {
        vni,
        udp_port: 4789,
    };
    let vnet1 = t
        .add_bd(BridgeDomain::new("myvnet1", "myvxlanzone", encap(VNI)))
        .expect("bd");
    let other = BridgeDomain::new("othervx", "otherzone", encap(OTHER_VNI)).with_counter_slot(1);
    let other = t.add_bd(other).expect("bd");
    for n in 1..=3 {
        t.add_peer(vnet1, vtep_ip(n, v6)).expect("peer");
    }
    t.add_peer(other, vtep_ip(4, v6)).expect("peer");
    for vtep in 0..t.vteps.len() as u16 {
        let next_hop = NextHop {
            port: UPLINK,
            dst_mac: GATEWAY_MAC,
            src_mac: UPLINK_MAC,
            src_ip: vtep_ip(1, v6),
        };
        t.set_next_hop(vtep, Some(next_hop)).expect("next hop");
    }
    guest(&mut t, 1, 1450, vnet1);
    guest(&mut t, 2, 1450, vnet1);
    guest(&mut t, 3, 1450, other);
    t
}

/// A pipeline over `tables` with a 1024-entry MAC table aging after 300
/// ticks (fixed hash seed) and 64 VNet counter slots.
pub fn pipeline(tables: ForwardingTables) -> Pipeline {
    tables.validate().expect("valid tables");
    Pipeline::new(
        Arc::new(tables),
        Fdb::with_seed(1024, 300, 42),
        Arc::new(PipelineCounters::new(64)),
    )
}

/// `frame` in a fresh chunk at [`HEADROOM`], the rest filled with `0xa5`.
pub fn chunk_with(frame: &[u8]) -> Vec<u8> {
    let mut chunk = vec![0xa5; CHUNK_SIZE.max(HEADROOM + frame.len())];
    chunk[HEADROOM..HEADROOM + frame.len()].copy_from_slice(frame);
    chunk
}

/// Runs `frame`, received on `ingress` at `now`, through
/// [`Pipeline::decide`] and the rewrites; returns every output as (port,
/// bytes), or the drop reason (of the decision, of the first rewrite that
/// fails, or `no_destination` for a flood with no output). Unicast uses
/// [`Pipeline::rewrite_in_place`], floods [`Pipeline::rewrite_copy`].
pub fn deliver(
    pipeline: &mut Pipeline,
    ingress: PortIdx,
    frame: &[u8],
    now: Tick,
) -> Result<Vec<(PortIdx, Vec<u8>)>, DropReason> {
    let mut chunk = chunk_with(frame);
    let len = frame.len();
    let decision = pipeline.decide(ingress, &mut chunk[HEADROOM..HEADROOM + len], now);
    match decision {
        Decision::Drop(reason) => Err(reason),
        Decision::Unicast { inner, egress, .. } => {
            let (start, len) =
                pipeline.rewrite_in_place(&egress, &inner, &mut chunk, HEADROOM, len)?;
            Ok(vec![(egress.port, chunk[start..start + len].to_vec())])
        }
        Decision::Flood { bd, inner, from } => {
            let received = &chunk[HEADROOM..HEADROOM + len];
            let mut list = FloodList::new();
            pipeline.flood_egresses(bd, from, &mut list);
            if list.is_empty() {
                return Err(DropReason::NoDestination);
            }
            let mut outputs = Vec::new();
            for egress in &list {
                let mut dst = vec![0u8; CHUNK_SIZE];
                let (start, len) =
                    pipeline.rewrite_copy(egress, &inner, received, &mut dst, HEADROOM)?;
                outputs.push((egress.port, dst[start..start + len].to_vec()));
            }
            Ok(outputs)
        }
    }
}
