//! The zone types from a skeptical user's point of view: simple, VLAN,
//! QinQ (the spec's example), learning, isolation, checksums, MTU, reloads,
//! counters and the cache key. VXLAN is in `tests_vxlan.rs`, property tests
//! in `tests_props.rs`.

use std::net::Ipv4Addr;
use std::sync::Arc;

use super::testing::*;
use super::*;
use crate::counters::DropReason;
use crate::pipeline::fdb::{Fdb, Location};
use crate::tables::{BdEncap, BridgeDomain, Tpid};
use crate::wire::build::{FrameBuilder, mac};
use crate::wire::tcp::TcpFlags;
use crate::wire::{EtherType, EthernetAddress, Malformed, VlanTag, parse_frame};

const VM1: EthernetAddress = mac(1);
const VM2: EthernetAddress = mac(2);
const VM3: EthernetAddress = mac(3);
/// A host beyond the uplink.
const VM9: EthernetAddress = mac(9);
const BCAST: EthernetAddress = EthernetAddress::BROADCAST;
const PAYLOAD: &[u8] = b"hello through xsdn";

pub(super) fn builder(src: u8, dst: EthernetAddress) -> FrameBuilder {
    FrameBuilder::new(mac(src), dst)
}

/// A UDP datagram 10.0.3.1 -> 10.0.3.2 on top of `b`.
pub(super) fn udp(b: FrameBuilder) -> Vec<u8> {
    udp_sized(b, PAYLOAD.len())
}

/// [`udp`] with a payload of `len` bytes: the L3 length is `len + 28`.
pub(super) fn udp_sized(b: FrameBuilder, len: usize) -> Vec<u8> {
    b.ipv4(Ipv4Addr::new(10, 0, 3, 1), Ipv4Addr::new(10, 0, 3, 2))
        .udp(1000, 2000, &vec![0x5a; len])
}

fn udp_from(src: u8, dst: EthernetAddress) -> Vec<u8> {
    udp(builder(src, dst))
}

/// The slot indexes of `outputs`' ports, sorted.
pub(super) fn ports(outputs: &[(PortSlot, Vec<u8>)]) -> Vec<usize> {
    let mut ports: Vec<usize> = outputs.iter().map(|(p, _)| p.index()).collect();
    ports.sort_unstable();
    ports
}

fn output_on(outputs: &[(PortSlot, Vec<u8>)], port: PortSlot) -> &[u8] {
    &outputs.iter().find(|(p, _)| *p == port).expect("output").1
}

fn s_tag(tpid: Tpid, vid: u16) -> VlanTag {
    VlanTag {
        tpid: EtherType::from_raw(tpid.raw()),
        pcp: 0,
        dei: false,
        vid,
    }
}

fn vnet(p: &Pipeline, slot: usize) -> BdSnapshot {
    p.counters().vnet(slot).expect("slot").snapshot()
}

/// Asserts that all `frames` (received on `ingress`) have one key, are
/// stripped alike and get one unicast action; returns both.
pub(super) fn assert_same_action(
    p: &mut Pipeline,
    ingress: PortSlot,
    frames: &[Vec<u8>],
) -> (Strip, Action) {
    let mut seen: Option<(FlowKey, Strip, Action)> = None;
    for frame in frames {
        let key = p.flow_key(ingress, frame).expect("key");
        let walked = walk(p, ingress, frame, 5);
        let action = walked.unicast.expect("unicast");
        let strip = walked.strip.expect("classified");
        if let Some((k, s, a)) = seen {
            assert_eq!(k, key);
            assert_eq!((s, a), (strip, action));
        }
        seen = Some((key, strip, action));
    }
    let (_, strip, action) = seen.expect("frames");
    (strip, action)
}

#[test]
fn simple_zone_floods_then_learns_inside_its_vnet_only() {
    let mut p = pipeline(simple_zone());
    let outs = deliver(&mut p, slot(1), &udp_from(1, VM2), 0).unwrap();
    // Not port 4 (VNet `other`), and a simple zone has no uplink.
    assert_eq!(ports(&outs), [2, 3]);
    assert!(outs.iter().all(|(_, f)| *f == udp_from(1, VM2)));
    let outs = deliver(&mut p, slot(2), &udp_from(2, VM1), 1).unwrap();
    assert_eq!(outs, vec![(slot(1), udp_from(2, VM1))]);
    assert_eq!(
        ports(&deliver(&mut p, slot(1), &udp_from(1, VM2), 2).unwrap()),
        [2]
    );
    // VNet `other` knows no vm1 and has no other member.
    assert_eq!(
        deliver(&mut p, slot(4), &udp_from(4, VM1), 3),
        Err(DropReason::NoDestination)
    );
}

#[test]
fn vlan_push_pop_round_trip() {
    let mut p = pipeline(vlan_zone());
    let plain = udp_from(1, VM9);
    let tagged = udp(builder(1, VM9).vlan(10));
    let outs = deliver(&mut p, slot(1), &plain, 0).unwrap();
    assert_eq!(ports(&outs), [UPLINK.index(), 2]);
    assert_eq!(output_on(&outs, slot(2)), plain);
    let wire = output_on(&outs, UPLINK);
    assert_eq!(wire, tagged);
    assert_eq!(
        parse_frame(wire).unwrap().tags.as_slice(),
        [VlanTag::dot1q(10)]
    );
    // Back from the wire: the tag is popped.
    let outs = deliver(&mut p, UPLINK, &udp(builder(9, VM1).vlan(10)), 1).unwrap();
    assert_eq!(outs, vec![(slot(1), udp_from(9, VM1))]);
    // vm9 is now known behind the uplink: unicast, tagged, in place.
    assert_eq!(
        deliver(&mut p, slot(1), &plain, 2).unwrap(),
        vec![(UPLINK, tagged)]
    );
    // Other VIDs, VID 10 with the 802.1ad TPID, and untagged non-VXLAN
    // frames belong to no VNet.
    for tag in [
        VlanTag::dot1q(11),
        VlanTag::dot1ad(10),
        VlanTag::dot1q(4095),
    ] {
        let frame = udp(builder(9, VM1).tag(tag));
        assert_eq!(
            deliver(&mut p, UPLINK, &frame, 3),
            Err(DropReason::NoBridgeDomain)
        );
    }
    assert_eq!(
        deliver(&mut p, UPLINK, &udp_from(9, VM1), 3),
        Err(DropReason::NoBridgeDomain)
    );
    // VID 20 reaches myvnet2's guest only.
    let outs = deliver(&mut p, UPLINK, &udp(builder(9, BCAST).vlan(20)), 4).unwrap();
    assert_eq!(outs, vec![(slot(3), udp_from(9, BCAST))]);
}

#[test]
fn vlan_guest_tags_ride_inside_the_vnet_tag() {
    let mut p = pipeline(vlan_zone());
    let outs = deliver(&mut p, slot(1), &udp(builder(1, VM9).vlan(5)), 0).unwrap();
    assert_eq!(
        output_on(&outs, UPLINK),
        udp(builder(1, VM9).vlan(10).vlan(5))
    );
    let back = udp(builder(9, VM1).vlan(10).vlan(5));
    let outs = deliver(&mut p, UPLINK, &back, 1).unwrap();
    assert_eq!(outs, vec![(slot(1), udp(builder(9, VM1).vlan(5)))]);
    // Two guest tags would make three on the wire.
    assert_eq!(
        deliver(&mut p, slot(1), &udp(builder(1, VM9).vlan(5).vlan(6)), 2),
        Err(DropReason::TaggedFromGuest)
    );
}

#[test]
fn qinq_pushes_and_pops_service_and_customer_tags() {
    for tpid in [Tpid::Dot1q, Tpid::Dot1ad] {
        let mut p = pipeline(qinq_zones(tpid));
        let outs = deliver(&mut p, slot(1), &udp_from(1, VM9), 0).unwrap();
        let wire = udp(builder(1, VM9).tag(s_tag(tpid, 20)).vlan(100));
        assert_eq!(outs, vec![(UPLINK, wire)]);
        let back = udp(builder(9, VM1).tag(s_tag(tpid, 20)).vlan(100));
        let outs = deliver(&mut p, UPLINK, &back, 1).unwrap();
        assert_eq!(outs, vec![(slot(1), udp_from(9, VM1))]);
        // The tag-less VNet myvnet3 (guest 2): only the service tag.
        let outs = deliver(&mut p, slot(2), &udp_from(2, VM9), 2).unwrap();
        assert_eq!(
            outs,
            vec![(UPLINK, udp(builder(2, VM9).tag(s_tag(tpid, 20))))]
        );
        let back = udp(builder(9, VM2).tag(s_tag(tpid, 20)));
        let outs = deliver(&mut p, UPLINK, &back, 3).unwrap();
        assert_eq!(outs, vec![(slot(2), udp_from(9, VM2))]);
        // An unknown customer tag, a service tag of no zone, a customer tag
        // with the wrong TPID.
        for frame in [
            udp(builder(9, VM1).tag(s_tag(tpid, 20)).vlan(101)),
            udp(builder(9, VM1).tag(s_tag(tpid, 21)).vlan(100)),
            udp(builder(9, VM1)
                .tag(s_tag(tpid, 20))
                .tag(VlanTag::dot1ad(100))),
        ] {
            assert_eq!(
                deliver(&mut p, UPLINK, &frame, 4),
                Err(DropReason::NoBridgeDomain)
            );
        }
        // A guest's own tag would be read as a customer tag at the far end.
        assert_eq!(
            deliver(&mut p, slot(2), &udp(builder(2, VM9).vlan(100)), 5),
            Err(DropReason::TaggedFromGuest)
        );
    }
}

/// The spec's example: zones with service VLANs 20 and 30 both carry a VNet
/// with customer VLAN 100; vm1/vm2 (myvnet1) and vm3/vm4 (myvnet2) must
/// never see each other's frames.
#[test]
fn qinq_spec_example_zones_never_mix() {
    for tpid in [Tpid::Dot1q, Tpid::Dot1ad] {
        let mut p = pipeline(qinq_zones(tpid));
        let zone1 = udp(builder(9, BCAST).tag(s_tag(tpid, 20)).vlan(100));
        let zone2 = udp(builder(9, BCAST).tag(s_tag(tpid, 30)).vlan(100));
        assert_eq!(ports(&deliver(&mut p, UPLINK, &zone1, 0).unwrap()), [1]);
        assert_eq!(ports(&deliver(&mut p, UPLINK, &zone2, 0).unwrap()), [3]);
        // The same remote MAC in both zones: each zone's frames keep their
        // own service tag.
        let o1 = deliver(&mut p, slot(1), &udp_from(1, VM9), 1).unwrap();
        assert_eq!(
            o1,
            vec![(UPLINK, udp(builder(1, VM9).tag(s_tag(tpid, 20)).vlan(100)))]
        );
        let o3 = deliver(&mut p, slot(3), &udp_from(3, VM9), 1).unwrap();
        assert_eq!(
            o3,
            vec![(UPLINK, udp(builder(3, VM9).tag(s_tag(tpid, 30)).vlan(100)))]
        );
        // vm1's broadcast: zone 1's tags on the wire only; neither vm3 (other
        // zone) nor vm2 (tag-less VNet of the same zone) gets it.
        let o = deliver(&mut p, slot(1), &udp_from(1, BCAST), 2).unwrap();
        assert_eq!(
            o,
            vec![(
                UPLINK,
                udp(builder(1, BCAST).tag(s_tag(tpid, 20)).vlan(100))
            )]
        );
        // vm3 known in zone 2 does not make zone 1 frames for vm3 go to it.
        let to_vm3 = udp(builder(9, VM3).tag(s_tag(tpid, 20)).vlan(100));
        assert_eq!(ports(&deliver(&mut p, UPLINK, &to_vm3, 3).unwrap()), [1]);
    }
}

#[test]
fn learning_moves_ages_and_bounds() {
    let mut p = pipeline(simple_zone());
    deliver(&mut p, slot(1), &udp_from(1, BCAST), 0).unwrap();
    assert_eq!(p.fdb().lookup(0, &VM1), Some(Location::Port(slot(1))));
    deliver(&mut p, slot(3), &udp_from(1, BCAST), 1).unwrap();
    assert_eq!(p.fdb().lookup(0, &VM1), Some(Location::Port(slot(3))));
    assert_eq!(p.fdb().stats().moved.get(), 1);
    assert_eq!(
        ports(&deliver(&mut p, slot(2), &udp_from(2, VM1), 2).unwrap()),
        [3]
    );
    // Aging: nothing heard for 300 ticks, entries go and frames flood.
    let steps = p.fdb().capacity() / SWEEP_BUDGET + 1;
    for t in 400..400 + steps as u64 {
        p.tick(t);
    }
    assert_eq!(p.fdb().len(), 0);
    assert_eq!(
        ports(&deliver(&mut p, slot(2), &udp_from(2, VM1), 500).unwrap()),
        [1, 3]
    );
    // Group and all-zero sources are never learnt.
    let before = p.fdb().len();
    for src in [
        BCAST,
        EthernetAddress::ZERO,
        EthernetAddress([1, 0, 0x5e, 0, 0, 1]),
    ] {
        deliver(&mut p, slot(1), &udp(FrameBuilder::new(src, VM2)), 501).unwrap();
    }
    assert_eq!(p.fdb().len(), before);
    // A full table refuses new MACs, whose frames are then flooded.
    let counters = Arc::new(PipelineCounters::new(4));
    let mut p = Pipeline::new(Arc::new(simple_zone()), Fdb::with_seed(2, 300, 1), counters);
    for n in 1..=3 {
        deliver(&mut p, slot(usize::from(n)), &udp_from(n, BCAST), 0).unwrap();
    }
    assert_eq!(p.fdb().len(), 2);
    assert_eq!(p.fdb().stats().table_full.get(), 1);
    assert_eq!(
        ports(&deliver(&mut p, slot(1), &udp_from(1, VM3), 1).unwrap()),
        [2, 3]
    );
}

#[test]
fn learning_off_uses_static_entries_only() {
    let mut t = node();
    let bd = BridgeDomain::new("nolearn", "z", BdEncap::Vlan { vid: vid(7) });
    let bd = t
        .add_bd(bd.with_uplink(UPLINK).with_learning(false))
        .unwrap();
    t.add_guest_port(slot(1), "tap1", mac(0x41), 1500, bd)
        .unwrap();
    t.add_guest_port(slot(2), "tap2", mac(0x42), 1500, bd)
        .unwrap();
    let mut p = pipeline(t);
    deliver(&mut p, slot(1), &udp_from(1, BCAST), 0).unwrap();
    assert!(p.fdb().is_empty());
    p.fdb_mut()
        .insert_static(bd, &VM1, Location::Port(slot(1)))
        .unwrap();
    assert_eq!(
        ports(&deliver(&mut p, slot(2), &udp_from(2, VM1), 1).unwrap()),
        [1]
    );
}

#[test]
fn isolated_ports_reach_the_uplink_but_not_each_other() {
    let mut t = node();
    let bd = BridgeDomain::new("iso", "z", BdEncap::Vlan { vid: vid(10) });
    let bd = t
        .add_bd(bd.with_uplink(UPLINK).with_isolated_ports(true))
        .unwrap();
    t.add_guest_port(slot(1), "tap1", mac(0x41), 1500, bd)
        .unwrap();
    t.add_guest_port(slot(2), "tap2", mac(0x42), 1500, bd)
        .unwrap();
    let mut p = pipeline(t);
    assert_eq!(
        ports(&deliver(&mut p, slot(1), &udp_from(1, BCAST), 0).unwrap()),
        [UPLINK.index()]
    );
    assert_eq!(
        ports(&deliver(&mut p, slot(2), &udp_from(2, BCAST), 0).unwrap()),
        [UPLINK.index()]
    );
    let from_wire = udp(builder(9, BCAST).vlan(10));
    assert_eq!(
        ports(&deliver(&mut p, UPLINK, &from_wire, 1).unwrap()),
        [1, 2]
    );
    assert_eq!(
        deliver(&mut p, slot(1), &udp_from(1, VM2), 2),
        Err(DropReason::PortIsolated)
    );
    let to_vm2 = udp(builder(9, VM2).vlan(10));
    assert_eq!(ports(&deliver(&mut p, UPLINK, &to_vm2, 3).unwrap()), [2]);
    assert_eq!(
        ports(&deliver(&mut p, slot(1), &udp_from(1, VM9), 4).unwrap()),
        [UPLINK.index()]
    );
    assert_eq!(vnet(&p, 0).drops_for(DropReason::PortIsolated), 1);
}

#[test]
fn hairpins_are_dropped_as_same_port() {
    let mut p = pipeline(vlan_zone());
    deliver(&mut p, slot(1), &udp_from(1, BCAST), 0).unwrap();
    assert_eq!(
        deliver(&mut p, slot(1), &udp_from(5, VM1), 1),
        Err(DropReason::SamePort)
    );
    deliver(&mut p, UPLINK, &udp(builder(9, BCAST).vlan(10)), 1).unwrap();
    assert_eq!(
        deliver(&mut p, UPLINK, &udp(builder(8, VM9).vlan(10)), 2),
        Err(DropReason::SamePort)
    );
}

#[test]
fn guest_partial_checksums_are_completed_and_corrupt_ones_counted() {
    let mut p = pipeline(vlan_zone());
    let v4 = builder(1, VM9).ipv4(Ipv4Addr::new(10, 0, 3, 1), Ipv4Addr::new(10, 0, 3, 2));
    let full = v4.udp(1000, 2000, PAYLOAD);
    let partial = v4.clone().partial_checksum().udp(1000, 2000, PAYLOAD);
    assert_ne!(partial, full);
    let outs = deliver(&mut p, slot(1), &partial, 0).unwrap();
    assert_eq!(output_on(&outs, slot(2)), full);
    assert_eq!(vnet(&p, 0).l4_checksums_completed, 1);
    // A correct checksum is left alone.
    let outs = deliver(&mut p, slot(1), &full, 1).unwrap();
    assert_eq!(output_on(&outs, slot(2)), full);
    assert_eq!(vnet(&p, 0).l4_checksums_completed, 1);
    // A corrupt segment stays corrupt, and is counted.
    let mut corrupt = full.clone();
    *corrupt.last_mut().unwrap() ^= 0xff;
    let outs = deliver(&mut p, slot(1), &corrupt, 2).unwrap();
    assert_eq!(output_on(&outs, slot(2)), corrupt);
    assert_eq!(vnet(&p, 0).bad_l4_checksum, 1);
    // TCP over IPv6 too.
    let v6 = builder(1, VM9).ipv6("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap());
    let full = v6.tcp(40000, 22, TcpFlags::SYN, b"");
    let partial = v6.partial_checksum().tcp(40000, 22, TcpFlags::SYN, b"");
    let outs = deliver(&mut p, slot(1), &partial, 3).unwrap();
    assert_eq!(output_on(&outs, slot(2)), full);
    assert_eq!(vnet(&p, 0).l4_checksums_completed, 2);
    // Frames from the uplink are not touched.
    let partial = builder(9, VM1).ipv4(Ipv4Addr::new(10, 0, 3, 2), Ipv4Addr::new(10, 0, 3, 1));
    let wire = partial
        .clone()
        .vlan(10)
        .partial_checksum()
        .udp(1, 2, PAYLOAD);
    let outs = deliver(&mut p, UPLINK, &wire, 4).unwrap();
    assert_eq!(
        outs,
        vec![(slot(1), partial.partial_checksum().udp(1, 2, PAYLOAD))]
    );
}

#[test]
fn mtu_is_enforced_at_exactly_one_byte_over() {
    // VLAN: one tag is free, as the kernel counts it.
    let mut p = pipeline(vlan_zone());
    deliver(&mut p, UPLINK, &udp(builder(9, BCAST).vlan(10)), 0).unwrap();
    let fits = udp_sized(builder(1, VM9), 1500 - 28);
    let outs = deliver(&mut p, slot(1), &fits, 1).unwrap();
    assert_eq!(outs[0].1.len(), 1500 + 14 + 4);
    let over = udp_sized(builder(1, VM9), 1501 - 28);
    assert_eq!(
        deliver(&mut p, slot(1), &over, 1),
        Err(DropReason::MtuExceeded)
    );
    assert_eq!(vnet(&p, 0).drops_for(DropReason::MtuExceeded), 1);
    // QinQ: the second tag counts (Proxmox's "MTU 1496").
    let mut p = pipeline(qinq_zones(Tpid::Dot1ad));
    let from_wire = udp(builder(9, BCAST).qinq(20, 100));
    deliver(&mut p, UPLINK, &from_wire, 0).unwrap();
    assert!(deliver(&mut p, slot(1), &udp_sized(builder(1, VM9), 1496 - 28), 1).is_ok());
    assert_eq!(
        deliver(&mut p, slot(1), &udp_sized(builder(1, VM9), 1497 - 28), 1),
        Err(DropReason::MtuExceeded)
    );
    // The tag-less VNet carries one tag only: 1500 fits.
    deliver(
        &mut p,
        UPLINK,
        &udp(builder(8, BCAST).tag(VlanTag::dot1ad(20))),
        2,
    )
    .unwrap();
    assert!(
        deliver(
            &mut p,
            slot(2),
            &udp_sized(builder(2, mac(8)), 1500 - 28),
            3
        )
        .is_ok()
    );
}

#[test]
fn reload_keeps_unchanged_vnets_and_flushes_changed_ones() {
    let mut p = pipeline(vlan_zone());
    deliver(&mut p, slot(1), &udp_from(1, BCAST), 0).unwrap();
    deliver(&mut p, slot(3), &udp_from(3, BCAST), 0).unwrap();
    deliver(&mut p, UPLINK, &udp(builder(9, BCAST).vlan(10)), 0).unwrap();
    // A new VNet sorts first (renumbering), myvnet2 changes VID.
    let build = |vnet1_ports: &[PortSlot], aaa_ports: &[PortSlot]| {
        let mut t = node();
        let vlan = |name, v| BridgeDomain::new(name, "myvlanzone", BdEncap::Vlan { vid: vid(v) });
        let aaa = t.add_bd(vlan("aaa", 30).with_uplink(UPLINK)).unwrap();
        let v1 = t.add_bd(vlan("myvnet1", 10).with_uplink(UPLINK)).unwrap();
        let v2 = t.add_bd(vlan("myvnet2", 21).with_uplink(UPLINK)).unwrap();
        for &port in vnet1_ports {
            t.add_guest_port(port, &format!("tap{port}"), mac(0x40), 1500, v1)
                .unwrap();
        }
        for &port in aaa_ports {
            t.add_guest_port(port, &format!("tap{port}"), mac(0x40), 1500, aaa)
                .unwrap();
        }
        t.add_guest_port(slot(3), "tap3", mac(0x43), 1500, v2)
            .unwrap();
        Arc::new(t)
    };
    p.set_tables(build(&[slot(1), slot(2)], &[]));
    assert_eq!(p.fdb().lookup(1, &VM1), Some(Location::Port(slot(1))));
    assert_eq!(p.fdb().lookup(1, &VM9), Some(Location::Port(UPLINK)));
    assert_eq!(p.fdb().lookup(2, &VM3), None);
    assert_eq!(p.fdb().len(), 2);
    assert_eq!(
        ports(&deliver(&mut p, slot(2), &udp_from(2, VM1), 1).unwrap()),
        [1]
    );
    // Port 1 moves to VNet aaa: vm1's entry in myvnet1 goes with it.
    p.set_tables(build(&[slot(2)], &[slot(1)]));
    assert_eq!(p.fdb().lookup(1, &VM1), None);
    assert_eq!(
        ports(&deliver(&mut p, slot(2), &udp_from(2, VM1), 2).unwrap()),
        [UPLINK.index()]
    );
}

#[test]
fn unknown_ports_and_malformed_frames_are_dropped_with_reasons() {
    let mut p = pipeline(vlan_zone());
    for port in [7, 255] {
        assert_eq!(
            deliver(&mut p, slot(port), &udp_from(1, VM2), 0),
            Err(DropReason::UnknownPort)
        );
    }
    // A slot beyond the bound cannot even be named.
    assert_eq!(PortSlot::new(1000), None);
    assert_eq!(
        deliver(&mut p, slot(1), &[0u8; 13], 0),
        Err(DropReason::Malformed)
    );
    let mut truncated = udp_from(1, VM2);
    truncated.truncate(30);
    assert_eq!(
        deliver(&mut p, slot(1), &truncated, 0),
        Err(DropReason::Malformed)
    );
    let counters = p.counters();
    assert_eq!(counters.malformed(Malformed::TruncatedEthernet), 1);
    assert_eq!(counters.malformed(Malformed::TruncatedIpv4), 1);
}

#[test]
fn vnet_counters_count_rx_once_and_tx_per_output() {
    let mut p = pipeline(vlan_zone());
    let frame = udp_from(1, BCAST);
    let outs = deliver(&mut p, slot(1), &frame, 0).unwrap();
    let c = vnet(&p, 0);
    assert_eq!((c.rx_packets, c.rx_bytes), (1, frame.len() as u64));
    assert_eq!(c.tx_packets, 2);
    let tx_bytes: usize = outs.iter().map(|(_, f)| f.len()).sum();
    assert_eq!(c.tx_bytes, tx_bytes as u64);
    assert_eq!(vnet(&p, 1).rx_packets, 0);
}

#[test]
fn rewrite_in_place_and_copy_agree_and_need_headroom() {
    let mut p = pipeline(qinq_zones(Tpid::Dot1ad));
    deliver(&mut p, UPLINK, &udp(builder(9, BCAST).qinq(20, 100)), 0).unwrap();
    let frame = udp_from(1, VM9);
    let mut chunk = chunk_with(&frame);
    let len = frame.len();
    let action = unicast_action(&mut p, slot(1), &frame, 1).expect("unicast");
    let meta = parse_frame(&frame).unwrap();
    let inner = classify::classify(
        p.tables(),
        &p.vxlan_ports,
        slot(1),
        &frame,
        &meta,
        &mut None,
    )
    .expect("classified")
    .inner;
    let mut copy = vec![0u8; CHUNK_SIZE];
    let (cs, cl) = rewrite::copy(&p, action, inner, &frame, &mut copy, 100).unwrap();
    let (s, l) = rewrite::in_place(&p, action, inner, &mut chunk, HEADROOM, len).unwrap();
    assert_eq!((s, l), (HEADROOM - 8, len + 8));
    assert_eq!(chunk[s..s + l], copy[cs..cs + cl]);
    // Only 8 bytes were needed in front, and 7 are not enough.
    let mut tight = frame.clone();
    tight.splice(0..0, [0u8; 7]);
    assert_eq!(
        rewrite::in_place(&p, action, inner, &mut tight, 7, len),
        Err(DropReason::NoHeadroom)
    );
    let mut small = vec![0u8; len + 7];
    assert_eq!(
        rewrite::copy(&p, action, inner, &frame, &mut small, 0),
        Err(DropReason::NoHeadroom)
    );
    // Through the walk: a received frame with 7 bytes of headroom is
    // dropped, counted, never truncated.
    let mut walked = Walked::default();
    let rx = RxFrame {
        chunk: &mut tight,
        start: 7,
        len,
    };
    let fate = p.process_observed(slot(1), rx, 2, &mut Buffers::default(), &mut walked);
    assert_eq!(fate, Fate::Drop(DropReason::NoHeadroom));
    assert_eq!(
        walked.outputs,
        [(action, Err(DropReason::NoHeadroom))],
        "one output, dropped"
    );
}

#[test]
fn same_key_same_action_for_vlan_and_qinq() {
    let mut p = pipeline(vlan_zone());
    deliver(&mut p, UPLINK, &udp(builder(9, BCAST).vlan(10)), 0).unwrap();
    deliver(&mut p, slot(2), &udp_from(2, BCAST), 0).unwrap();
    let to_vm9 = [
        udp_from(1, VM9),
        udp_from(5, VM9),
        udp_sized(builder(1, VM9), 900),
        builder(1, VM9).arp_request(Ipv4Addr::new(10, 0, 3, 1), Ipv4Addr::new(10, 0, 3, 9)),
    ];
    let (strip, action) = assert_same_action(&mut p, slot(1), &to_vm9);
    assert_eq!(strip, Strip::Nothing);
    assert_eq!(action.encap, Encap::Vlan { vid: vid(10) });
    let to_vm2 = [
        udp(builder(9, VM2).vlan(10)),
        udp_sized(builder(7, VM2).vlan(10), 300),
    ];
    let (strip, action) = assert_same_action(&mut p, UPLINK, &to_vm2);
    assert_eq!((strip, action.port), (Strip::Tags(1), slot(2)));
    // Keys differ by destination and by tag.
    let a = p.flow_key(UPLINK, &to_vm2[0]).unwrap();
    let b = p.flow_key(UPLINK, &udp(builder(9, VM2).vlan(20))).unwrap();
    assert_ne!(a, b);
    let mut p = pipeline(qinq_zones(Tpid::Dot1ad));
    deliver(&mut p, slot(1), &udp_from(1, BCAST), 0).unwrap();
    let to_vm1 = [
        udp(builder(9, VM1).qinq(20, 100)),
        udp_sized(builder(8, VM1).qinq(20, 100), 1000),
    ];
    let (strip, action) = assert_same_action(&mut p, UPLINK, &to_vm1);
    assert_eq!((strip, action.port), (Strip::Tags(2), slot(1)));
}
