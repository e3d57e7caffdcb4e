//! Example tables for each zone type (the SDN spec's examples) and helpers
//! that run one frame through the pipeline's walk and record what it did,
//! for tests and benchmarks (feature `testing`). These allocate and panic on misuse; they
//! are not for the dataplane's own paths.
//!
//! Every node has its uplink `eno1` in slot [`UPLINK`] and guest ports from
//! slot 1 on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::counters::DropReason;
use crate::tables::{
    BdEncap, BdId, BridgeDomain, ForwardingTables, NextHop, PortSlot, Tpid, Vid, Vni,
};
use crate::wire::build::mac;
use crate::wire::{EthernetAddress, FrameMeta};

use super::{
    Action, Egress, Fdb, InnerFrame, Observer, Pipeline, PipelineCounters, RxFrame, Source, Stage,
    Strip, Tick,
};

/// The uplink's slot.
pub const UPLINK: PortSlot = slot(0);
/// The uplink's MAC.
pub const UPLINK_MAC: EthernetAddress = mac(0xe0);
/// The underlay gateway's MAC (next hop of every VTEP).
pub const GATEWAY_MAC: EthernetAddress = mac(0xfe);
/// Headroom of a received frame in its chunk (as the kernel gives it).
pub const HEADROOM: usize = 256;
/// Chunk size.
pub const CHUNK_SIZE: usize = 4096;
/// The VXLAN example's VNI.
pub const VNI: Vni = vni(100_000);
/// Another VXLAN VNet's VNI (peer 4 only).
pub const OTHER_VNI: Vni = vni(200);

/// The uplink alone, MTU 1500.
pub fn node() -> ForwardingTables {
    let mut t = ForwardingTables::new();
    t.set_uplink(UPLINK, "eno1", UPLINK_MAC, 1500)
        .expect("uplink");
    t
}

fn guest(t: &mut ForwardingTables, port: usize, mtu: u32, bd: u16) {
    t.add_guest_port(
        slot(port),
        &format!("tap{port}"),
        mac(0x40 + port as u8),
        mtu,
        bd,
    )
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
    let v10 = BridgeDomain::new("myvnet1", "myvlanzone", BdEncap::Vlan { vid: vid(10) });
    let v10 = t.add_bd(v10.with_uplink(UPLINK)).expect("bd");
    let v20 = BridgeDomain::new("myvnet2", "myvlanzone", BdEncap::Vlan { vid: vid(20) });
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
pub fn qinq_zones(s_tpid: Tpid) -> ForwardingTables {
    let mut t = node();
    let encap = |s_vid, c_vid: Option<u16>| BdEncap::QinQ {
        s_tpid,
        s_vid: vid(s_vid),
        c_vid: c_vid.map(vid),
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

/// What one frame's walk did, as a test sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Walked {
    /// The bridge domain it was classified into.
    pub bd: Option<BdId>,
    /// What classification stripped.
    pub strip: Option<Strip>,
    /// The inner frame as classified (MACs and body, stripped tags or
    /// outer headers left out).
    pub inner: Vec<u8>,
    /// The cacheable action of a known unicast destination.
    pub unicast: Option<Action>,
    /// Whether it was flooded.
    pub flooded: bool,
    /// The whole-frame drop, if any.
    pub dropped: Option<DropReason>,
    /// Every output in order: its action and its bytes, or why it failed.
    pub outputs: Vec<(Action, Result<Vec<u8>, DropReason>)>,
}

impl Observer for Walked {
    fn dropped(&mut self, _stage: Stage, reason: DropReason) {
        self.dropped = Some(reason);
    }

    fn classified(
        &mut self,
        _tables: &ForwardingTables,
        bd: BdId,
        _source: Source,
        frame: &[u8],
        inner: &InnerFrame,
        _inner_meta: &FrameMeta,
    ) {
        self.bd = Some(bd);
        self.strip = Some(inner.strip);
        let macs = frame.get(inner.mac_offset..inner.mac_offset + 12);
        let body = frame.get(inner.body_offset..inner.end);
        self.inner = [macs.unwrap_or_default(), body.unwrap_or_default()].concat();
    }

    fn unicast(
        &mut self,
        _tables: &ForwardingTables,
        _fdb: &Fdb,
        _bd: BdId,
        _dst: &EthernetAddress,
        action: &Action,
    ) {
        self.unicast = Some(*action);
    }

    fn flooded(&mut self, _bd: BdId, _dst: &EthernetAddress) {
        self.flooded = true;
    }

    fn output(
        &mut self,
        _tables: &ForwardingTables,
        action: &Action,
        result: Result<&[u8], DropReason>,
    ) {
        self.outputs.push((*action, result.map(<[u8]>::to_vec)));
    }
}

/// An [`Egress`] handing out [`CHUNK_SIZE`] buffers (the observer keeps
/// the bytes), or none at all when `exhausted`.
#[derive(Debug, Default)]
pub struct Buffers {
    /// Refuse every buffer (`no_buffer`).
    pub exhausted: bool,
}

impl Egress for Buffers {
    fn send_copy<F>(&mut self, _port: PortSlot, build: F) -> Result<usize, DropReason>
    where
        F: FnOnce(&mut [u8], usize) -> Result<(usize, usize), DropReason>,
    {
        if self.exhausted {
            return Err(DropReason::NoBuffer);
        }
        let mut buffer = vec![0u8; CHUNK_SIZE];
        build(&mut buffer, HEADROOM).map(|(_, len)| len)
    }
}

/// Runs `frame`, received on `ingress` at `now`, through
/// [`Pipeline::process`] (learning and counting) and records what the walk
/// did. The received frame sits in a [`chunk_with`] chunk.
pub fn walk(pipeline: &mut Pipeline, ingress: PortSlot, frame: &[u8], now: Tick) -> Walked {
    let mut chunk = chunk_with(frame);
    let mut walked = Walked::default();
    let rx = RxFrame {
        chunk: &mut chunk,
        start: HEADROOM,
        len: frame.len(),
    };
    pipeline.process_observed(ingress, rx, now, &mut Buffers::default(), &mut walked);
    walked
}

/// Runs `frame`, received on `ingress` at `now`, through
/// [`Pipeline::process`]; returns every output as (port, bytes), or the
/// drop reason (of the decision, of the first output that fails, or
/// `no_destination` for a flood with no output).
pub fn deliver(
    pipeline: &mut Pipeline,
    ingress: PortSlot,
    frame: &[u8],
    now: Tick,
) -> Result<Vec<(PortSlot, Vec<u8>)>, DropReason> {
    let walked = walk(pipeline, ingress, frame, now);
    if let Some(reason) = walked.dropped {
        return Err(reason);
    }
    walked
        .outputs
        .into_iter()
        .map(|(action, bytes)| bytes.map(|b| (action.port, b)))
        .collect()
}

/// The unicast action `frame` gets (learning and counting as it goes), or
/// `None` if it is dropped or flooded.
pub fn unicast_action(
    pipeline: &mut Pipeline,
    ingress: PortSlot,
    frame: &[u8],
    now: Tick,
) -> Option<Action> {
    walk(pipeline, ingress, frame, now).unicast
}

/// Port slot `n` (panics beyond [`crate::tables::MAX_PORTS`]).
pub const fn slot(n: usize) -> PortSlot {
    match PortSlot::new(n) {
        Some(slot) => slot,
        None => panic!("port slot out of range"),
    }
}

/// VLAN id `v` (panics outside 1..=4094).
pub const fn vid(v: u16) -> Vid {
    match Vid::new(v) {
        Some(vid) => vid,
        None => panic!("VLAN id out of range"),
    }
}

/// VNI `v` (panics outside 1..=16777215).
pub const fn vni(v: u32) -> Vni {
    match Vni::new(v) {
        Some(vni) => vni,
        None => panic!("VNI out of range"),
    }
}
