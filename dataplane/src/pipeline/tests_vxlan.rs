//! VXLAN zones from a skeptical user's point of view: the spec's example
//! (peers 192.168.0.1-3, VNI 100000, MTU 1450) seen from node 1, over an
//! IPv4 and an IPv6 underlay.

use std::net::IpAddr;

use super::encap::{flow_hash, source_port};
use super::testing::*;
use super::tests::{assert_same_action, builder, ports, udp, udp_sized};
use super::*;
use crate::counters::DropReason;
use crate::pipeline::fdb::Location;
use crate::wire::build::{FrameBuilder, mac};
use crate::wire::checksum::{self, verify_l4_checksum};
use crate::wire::{EthernetAddress, L3Meta, L4Meta, parse_frame, parse_vxlan};

const VM1: EthernetAddress = mac(1);
const VM9: EthernetAddress = mac(9);
const BCAST: EthernetAddress = EthernetAddress::BROADCAST;

/// `inner` as peer `n` sends it to us (node 1) with `vni`.
fn from_peer(n: u8, v6: bool, vni: u32, inner: &[u8]) -> Vec<u8> {
    let outer = FrameBuilder::new(GATEWAY_MAC, UPLINK_MAC);
    let outer = match (vtep_ip(n, v6), vtep_ip(1, v6)) {
        (IpAddr::V4(s), IpAddr::V4(d)) => outer.ipv4(s, d),
        (IpAddr::V6(s), IpAddr::V6(d)) => outer.ipv6(s, d),
        _ => unreachable!(),
    };
    outer.vxlan(50000 + u16::from(n), vni, inner)
}

/// The outer destination address, VNI and inner frame of an output.
fn decap(frame: &[u8]) -> (IpAddr, u32, Vec<u8>) {
    let meta = parse_frame(frame).expect("outer parses");
    let dst = match meta.l3 {
        L3Meta::Ipv4 { dst, .. } => IpAddr::from(dst),
        L3Meta::Ipv6 { dst, .. } => IpAddr::from(dst),
        _ => panic!("not IP"),
    };
    let vx = parse_vxlan(frame, &meta).unwrap().expect("VXLAN");
    (dst, vx.vni, frame[vx.inner_range()].to_vec())
}

#[test]
fn encap_headers_byte_by_byte_over_ipv4() {
    let mut p = pipeline(vxlan_zone(false));
    // vm9 lives behind node 2.
    let hello = udp(builder(9, BCAST));
    assert_eq!(
        ports(&deliver(&mut p, UPLINK, &from_peer(2, false, VNI.get(), &hello), 0).unwrap()),
        [1, 2]
    );
    assert_eq!(p.fdb().lookup(0, &VM9), Some(Location::Vtep(0)));
    let inner = udp(builder(1, VM9));
    let outs = deliver(&mut p, slot(1), &inner, 1).unwrap();
    assert_eq!(outs.len(), 1);
    let (port, out) = &outs[0];
    assert_eq!(*port, UPLINK);
    let sport = source_port(flow_hash(&parse_frame(&inner).unwrap()));
    assert!(sport >= 49152);
    let total = (20 + 8 + 8 + inner.len()) as u16;
    let udp_len = (8 + 8 + inner.len()) as u16;
    let mut want = Vec::new();
    want.extend_from_slice(&GATEWAY_MAC.0);
    want.extend_from_slice(&UPLINK_MAC.0);
    want.extend_from_slice(&[0x08, 0x00]);
    want.extend_from_slice(&[0x45, 0x00]);
    want.extend_from_slice(&total.to_be_bytes());
    want.extend_from_slice(&[0, 0, 0x00, 0x00, 64, 17, 0, 0]); // ID 0, DF clear
    want.extend_from_slice(&[192, 168, 0, 1, 192, 168, 0, 2]);
    let csum = checksum::compute(0, &want[14..34]);
    want[24..26].copy_from_slice(&csum.to_be_bytes());
    want.extend_from_slice(&sport.to_be_bytes());
    want.extend_from_slice(&4789u16.to_be_bytes());
    want.extend_from_slice(&udp_len.to_be_bytes());
    want.extend_from_slice(&[0, 0]); // no UDP checksum over IPv4
    want.extend_from_slice(&[0x08, 0, 0, 0, 0x01, 0x86, 0xa0, 0]); // I flag, VNI 100000
    want.extend_from_slice(&inner);
    assert_eq!(*out, want);
    // The next encapsulation takes the next IP identification, and the
    // same flow the same source port.
    let again = deliver(&mut p, slot(1), &inner, 2).unwrap();
    assert_eq!(again[0].1[18..20], [0, 1]);
    assert_eq!(again[0].1[34..36], sport.to_be_bytes());
}

#[test]
fn encap_over_ipv6_has_a_valid_udp_checksum() {
    let mut p = pipeline(vxlan_zone(true));
    let hello = udp(builder(9, BCAST));
    deliver(&mut p, UPLINK, &from_peer(3, true, VNI.get(), &hello), 0).unwrap();
    let inner = udp(builder(1, VM9));
    let outs = deliver(&mut p, slot(1), &inner, 1).unwrap();
    let out = &outs[0].1;
    assert_eq!(out.len(), 14 + 40 + 8 + 8 + inner.len());
    assert_eq!(out[12..14], [0x86, 0xdd]);
    assert_eq!(out[14..18], [0x60, 0, 0, 0]);
    assert_eq!(out[18..20], ((8 + 8 + inner.len()) as u16).to_be_bytes());
    assert_eq!((out[20], out[21]), (17, 64)); // next header UDP, hop limit 64
    let meta = parse_frame(out).unwrap();
    let L3Meta::Ipv6 { src, dst, .. } = meta.l3 else {
        panic!("IPv6 expected");
    };
    assert_eq!(
        (IpAddr::from(src), IpAddr::from(dst)),
        (vtep_ip(1, true), vtep_ip(3, true))
    );
    let L4Meta::Udp { dst_port, .. } = meta.l4 else {
        panic!("UDP expected");
    };
    assert_eq!(dst_port, 4789);
    assert_ne!(out[60..62], [0, 0]);
    assert_eq!(verify_l4_checksum(out, &meta), Ok(true));
    assert_eq!(decap(out), (vtep_ip(3, true), VNI.get(), inner));
}

#[test]
fn decap_delivers_the_inner_frame_untouched() {
    for v6 in [false, true] {
        let mut p = pipeline(vxlan_zone(v6));
        deliver(&mut p, slot(1), &udp(builder(1, BCAST)), 0).unwrap();
        let inner = udp(builder(9, VM1));
        let outs = deliver(&mut p, UPLINK, &from_peer(2, v6, VNI.get(), &inner), 1).unwrap();
        assert_eq!(outs, vec![(slot(1), inner.clone())]);
        // Unicast back goes to node 2 only.
        let outs = deliver(&mut p, slot(1), &udp(builder(1, VM9)), 2).unwrap();
        assert_eq!(outs.len(), 1);
        assert_eq!(decap(&outs[0].1).0, vtep_ip(2, v6));
    }
}

#[test]
fn only_configured_peers_vnis_and_local_addresses_are_accepted() {
    let mut p = pipeline(vxlan_zone(false));
    let inner = udp(builder(9, BCAST));
    // Not a peer at all; a peer of another VNet only; a peer of this VNet
    // using the other VNet's VNI.
    assert_eq!(
        deliver(&mut p, UPLINK, &from_peer(9, false, VNI.get(), &inner), 0),
        Err(DropReason::VxlanUnknownPeer)
    );
    assert_eq!(
        deliver(&mut p, UPLINK, &from_peer(4, false, VNI.get(), &inner), 0),
        Err(DropReason::VxlanUnknownPeer)
    );
    assert_eq!(
        deliver(
            &mut p,
            UPLINK,
            &from_peer(2, false, OTHER_VNI.get(), &inner),
            0
        ),
        Err(DropReason::VxlanUnknownPeer)
    );
    // Our own address as a source is not a peer either.
    assert_eq!(
        deliver(&mut p, UPLINK, &from_peer(1, false, VNI.get(), &inner), 0),
        Err(DropReason::VxlanUnknownPeer)
    );
    assert_eq!(
        deliver(&mut p, UPLINK, &from_peer(2, false, 300, &inner), 0),
        Err(DropReason::NoBridgeDomain)
    );
    let elsewhere = FrameBuilder::new(GATEWAY_MAC, UPLINK_MAC)
        .ipv4([192, 168, 0, 2].into(), [192, 168, 0, 7].into())
        .vxlan(50000, VNI.get(), &inner);
    assert_eq!(
        deliver(&mut p, UPLINK, &elsewhere, 0),
        Err(DropReason::VxlanNotLocal)
    );
    // The peer of the other VNet is fine there.
    assert_eq!(
        ports(
            &deliver(
                &mut p,
                UPLINK,
                &from_peer(4, false, OTHER_VNI.get(), &inner),
                0
            )
            .unwrap()
        ),
        [3]
    );
    // A VXLAN header without the I flag, a truncated inner frame.
    let mut no_flag = from_peer(2, false, VNI.get(), &inner);
    no_flag[42] = 0;
    assert_eq!(
        deliver(&mut p, UPLINK, &no_flag, 0),
        Err(DropReason::Malformed)
    );
    let bad_inner = from_peer(2, false, VNI.get(), &udp(builder(9, BCAST))[..30]);
    assert_eq!(
        deliver(&mut p, UPLINK, &bad_inner, 0),
        Err(DropReason::Malformed)
    );
    assert_eq!(
        p.counters()
            .vnet(0)
            .unwrap()
            .snapshot()
            .drops_for(DropReason::VxlanUnknownPeer),
        3
    );
}

#[test]
fn head_end_replication_reaches_every_peer_and_split_horizon_holds() {
    let mut p = pipeline(vxlan_zone(false));
    let bcast = udp(builder(1, BCAST));
    let outs = deliver(&mut p, slot(1), &bcast, 0).unwrap();
    assert_eq!(ports(&outs), [UPLINK.index(), UPLINK.index(), 2]);
    let mut peers: Vec<IpAddr> = outs
        .iter()
        .filter(|(port, _)| *port == UPLINK)
        .map(|(_, f)| {
            let (dst, vni, inner) = decap(f);
            assert_eq!((vni, inner.as_slice()), (VNI.get(), bcast.as_slice()));
            dst
        })
        .collect();
    peers.sort();
    assert_eq!(peers, [vtep_ip(2, false), vtep_ip(3, false)]);
    // A broadcast from a peer goes to the guests only, never back out.
    let from_wire = from_peer(3, false, VNI.get(), &udp(builder(9, BCAST)));
    assert_eq!(
        ports(&deliver(&mut p, UPLINK, &from_wire, 1).unwrap()),
        [1, 2]
    );
    // Unicast from one peer to a MAC behind another peer: dropped.
    let to_vm9 = from_peer(2, false, VNI.get(), &udp(builder(8, VM9)));
    assert_eq!(
        deliver(&mut p, UPLINK, &to_vm9, 2),
        Err(DropReason::SamePort)
    );
    // The other VNet's guest never sees this VNet's broadcast.
    assert!(outs.iter().all(|(port, _)| *port != slot(3)));
}

#[test]
fn encapsulation_beyond_the_uplink_mtu_is_dropped_not_truncated() {
    let mut p = pipeline(vxlan_zone(false));
    deliver(
        &mut p,
        UPLINK,
        &from_peer(2, false, VNI.get(), &udp(builder(9, BCAST))),
        0,
    )
    .unwrap();
    // Inner frame 14 + 1450 (the zone's MTU 1450): outer IP is exactly 1500.
    let fits = udp_sized(builder(1, VM9), 1450 - 28);
    let outs = deliver(&mut p, slot(1), &fits, 1).unwrap();
    assert_eq!(outs[0].1.len(), 14 + 1500);
    let over = udp_sized(builder(1, VM9), 1451 - 28);
    assert_eq!(
        deliver(&mut p, slot(1), &over, 1),
        Err(DropReason::MtuExceeded)
    );
    // Decapsulated frames larger than the guest's MTU are dropped too.
    deliver(&mut p, slot(1), &udp(builder(1, BCAST)), 2).unwrap();
    let big = udp_sized(builder(9, VM1), 1451 - 28);
    assert_eq!(
        deliver(&mut p, UPLINK, &from_peer(2, false, VNI.get(), &big), 3),
        Err(DropReason::MtuExceeded)
    );
    // Over IPv6 the outer header is 20 bytes longer.
    let mut p = pipeline(vxlan_zone(true));
    deliver(
        &mut p,
        UPLINK,
        &from_peer(2, true, VNI.get(), &udp(builder(9, BCAST))),
        0,
    )
    .unwrap();
    assert!(deliver(&mut p, slot(1), &udp_sized(builder(1, VM9), 1430 - 28), 1).is_ok());
    assert_eq!(
        deliver(&mut p, slot(1), &udp_sized(builder(1, VM9), 1431 - 28), 1),
        Err(DropReason::MtuExceeded)
    );
}

#[test]
fn unresolved_next_hops_drop_unicast_and_are_skipped_by_floods() {
    let mut tables = vxlan_zone(false);
    tables.set_next_hop(1, None).unwrap(); // node 3
    let mut p = pipeline(tables);
    deliver(
        &mut p,
        UPLINK,
        &from_peer(3, false, VNI.get(), &udp(builder(9, BCAST))),
        0,
    )
    .unwrap();
    assert_eq!(
        deliver(&mut p, slot(1), &udp(builder(1, VM9)), 1),
        Err(DropReason::NextHopUnresolved)
    );
    let outs = deliver(&mut p, slot(1), &udp(builder(1, BCAST)), 2).unwrap();
    assert_eq!(ports(&outs), [UPLINK.index(), 2]);
    let snapshot = p.counters().vnet(0).unwrap().snapshot();
    assert_eq!(snapshot.drops_for(DropReason::NextHopUnresolved), 2);
}

#[test]
fn source_ports_follow_the_inner_flow() {
    let mut p = pipeline(vxlan_zone(false));
    deliver(
        &mut p,
        UPLINK,
        &from_peer(2, false, VNI.get(), &udp(builder(9, BCAST))),
        0,
    )
    .unwrap();
    let mut seen = Vec::new();
    for l4 in 0..16u16 {
        let frame = builder(1, VM9)
            .ipv4([10, 0, 3, 1].into(), [10, 0, 3, 2].into())
            .udp(1000 + l4, 2000, b"x");
        let outs = deliver(&mut p, slot(1), &frame, 1).unwrap();
        let sport = u16::from_be_bytes([outs[0].1[34], outs[0].1[35]]);
        assert!(sport >= 49152);
        let again = deliver(&mut p, slot(1), &frame, 1).unwrap();
        assert_eq!(again[0].1[34..36], sport.to_be_bytes());
        seen.push(sport);
    }
    seen.sort_unstable();
    seen.dedup();
    assert!(seen.len() > 8, "flows spread over source ports: {seen:?}");
}

#[test]
fn same_key_same_action_for_vxlan() {
    let mut p = pipeline(vxlan_zone(false));
    deliver(&mut p, slot(1), &udp(builder(1, BCAST)), 0).unwrap();
    deliver(
        &mut p,
        UPLINK,
        &from_peer(2, false, VNI.get(), &udp(builder(9, BCAST))),
        0,
    )
    .unwrap();
    let decaps = [
        from_peer(2, false, VNI.get(), &udp(builder(9, VM1))),
        from_peer(2, false, VNI.get(), &udp_sized(builder(7, VM1), 700)),
        FrameBuilder::new(GATEWAY_MAC, UPLINK_MAC)
            .ipv4([192, 168, 0, 2].into(), [192, 168, 0, 1].into())
            .vxlan(61000, VNI.get(), &udp(builder(9, VM1))),
    ];
    let (strip, action) = assert_same_action(&mut p, UPLINK, &decaps);
    assert_eq!((strip, action.port), (Strip::Vxlan, slot(1)));
    let encaps = [udp(builder(1, VM9)), udp_sized(builder(1, VM9), 1000)];
    let (_, action) = assert_same_action(&mut p, slot(1), &encaps);
    let vxlan = (action.port, action.encap);
    let want = Encap::Vxlan {
        vtep: 0,
        vni: VNI,
        udp_port: 4789,
    };
    assert_eq!(vxlan, (UPLINK, want), "encapsulated towards peer 0");
    // The peer is part of the key.
    let k2 = p.flow_key(UPLINK, &decaps[0]).unwrap();
    let k3 = p
        .flow_key(
            UPLINK,
            &from_peer(3, false, VNI.get(), &udp(builder(9, VM1))),
        )
        .unwrap();
    assert_ne!(k2, k3);
}
