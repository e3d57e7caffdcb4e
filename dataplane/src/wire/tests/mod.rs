//! Property tests across the wire module: `Repr` emit -> parse round trips
//! for every header, and the decode walk on arbitrary and mutated frames.
//! (Per-protocol unit tests live next to each view; the larger unit test
//! files for IPv4, checksums and the walk are in this directory too, included
//! by `#[path]` from their modules.)

use core::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::build::{FrameBuilder, mac};
use super::*;

fn ethertype() -> impl Strategy<Value = EtherType> {
    any::<u16>().prop_map(EtherType::from_raw)
}

fn protocol() -> impl Strategy<Value = IpProtocol> {
    any::<u8>().prop_map(IpProtocol::from_raw)
}

fn mac_addr() -> impl Strategy<Value = EthernetAddress> {
    any::<[u8; 6]>().prop_map(EthernetAddress)
}

fn ipv4_addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn ipv6_addr() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prop_ethernet_round_trip(src in mac_addr(), dst in mac_addr(), ethertype in ethertype()) {
        let repr = ethernet::Repr { src_addr: src, dst_addr: dst, ethertype };
        let mut buf = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut ethernet::Packet::new_unchecked(&mut buf[..]));
        let packet = ethernet::Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(ethernet::Repr::parse(&packet), Ok(repr));
    }

    #[test]
    fn prop_vlan_round_trip(pcp in 0u8..8, dei in any::<bool>(), vid in 0u16..4096, ethertype in ethertype()) {
        let repr = vlan::Repr { pcp, dei, vid, ethertype };
        let mut buf = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut vlan::Packet::new_unchecked(&mut buf[..]));
        let packet = vlan::Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(vlan::Repr::parse(&packet), Ok(repr));
    }

    #[test]
    fn prop_arp_round_trip(
        op in any::<u16>(), sha in mac_addr(), spa in ipv4_addr(), tha in mac_addr(), tpa in ipv4_addr(),
    ) {
        let repr = arp::Repr {
            operation: arp::Operation::from_raw(op),
            sender_hardware_addr: sha,
            sender_protocol_addr: spa,
            target_hardware_addr: tha,
            target_protocol_addr: tpa,
        };
        let mut buf = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut arp::Packet::new_unchecked(&mut buf[..]));
        let packet = arp::Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(arp::Repr::parse(&packet), Ok(repr));
    }

    #[test]
    fn prop_ipv4_round_trip(
        src in ipv4_addr(), dst in ipv4_addr(), protocol in protocol(),
        payload_len in 0u16..1600, ttl in any::<u8>(), dscp in 0u8..64, ecn in 0u8..4,
        ident in any::<u16>(), dont_frag in any::<bool>(),
    ) {
        let repr = ipv4::Repr { src_addr: src, dst_addr: dst, protocol, payload_len, ttl, dscp, ecn, ident, dont_frag };
        let mut buf = vec![0xa5; repr.buffer_len() + usize::from(payload_len)];
        repr.emit(&mut ipv4::Packet::new_unchecked(&mut buf[..]));
        let packet = ipv4::Packet::new_checked(&buf[..]).unwrap();
        prop_assert!(packet.verify_checksum());
        prop_assert_eq!(ipv4::Repr::parse(&packet), Ok(repr));
    }

    #[test]
    fn prop_ipv6_round_trip(
        src in ipv6_addr(), dst in ipv6_addr(), next_header in protocol(),
        payload_len in 0u16..1600, hop_limit in any::<u8>(), traffic_class in any::<u8>(),
        flow_label in 0u32..(1 << 20),
    ) {
        let repr = ipv6::Repr { src_addr: src, dst_addr: dst, next_header, payload_len, hop_limit, traffic_class, flow_label };
        let mut buf = vec![0xa5; repr.buffer_len() + usize::from(payload_len)];
        repr.emit(&mut ipv6::Packet::new_unchecked(&mut buf[..]));
        let packet = ipv6::Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(ipv6::Repr::parse(&packet), Ok(repr));
    }

    #[test]
    fn prop_udp_round_trip(src_port in any::<u16>(), dst_port in any::<u16>(), payload_len in 0u16..1600) {
        let repr = udp::Repr { src_port, dst_port, payload_len };
        let mut buf = vec![0xa5; repr.buffer_len() + usize::from(payload_len)];
        repr.emit(&mut udp::Packet::new_unchecked(&mut buf[..]));
        let packet = udp::Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(udp::Repr::parse(&packet), Ok(repr));
    }

    #[test]
    fn prop_tcp_round_trip(
        src_port in any::<u16>(), dst_port in any::<u16>(), seq_number in any::<u32>(),
        ack_number in any::<u32>(), flags in 0u16..0x200, window_len in any::<u16>(),
    ) {
        let repr = tcp::Repr { src_port, dst_port, seq_number, ack_number, flags: tcp::TcpFlags(flags), window_len };
        let mut buf = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut tcp::Packet::new_unchecked(&mut buf[..]));
        let packet = tcp::Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(packet.header_len(), 20);
        prop_assert_eq!(tcp::Repr::parse(&packet), Ok(repr));
    }

    #[test]
    fn prop_icmp_round_trip(msg_type in any::<u8>(), code in any::<u8>(), rest_of_header in any::<u32>()) {
        let repr = icmp::Repr { msg_type, code, rest_of_header };
        let mut buf = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut icmp::Packet::new_unchecked(&mut buf[..]));
        let packet = icmp::Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(icmp::Repr::parse(&packet), Ok(repr));
    }

    #[test]
    fn prop_vxlan_round_trip(vni in 0u32..(1 << 24)) {
        let repr = vxlan::Repr { vni };
        let mut buf = vec![0xa5; repr.buffer_len()];
        repr.emit(&mut vxlan::Packet::new_unchecked(&mut buf[..]));
        let packet = vxlan::Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(vxlan::Repr::parse(&packet), Ok(repr));
    }
}

/// Parameters of a well-formed frame.
#[derive(Debug, Clone)]
struct Spec {
    kind: u8,
    tags: Vec<VlanTag>,
    v4: (Ipv4Addr, Ipv4Addr),
    v6: (Ipv6Addr, Ipv6Addr),
    ports: (u16, u16),
    payload: Vec<u8>,
    pad_to: usize,
}

const KINDS: u8 = 9;

fn spec() -> impl Strategy<Value = Spec> {
    let tag = (any::<bool>(), 0u8..8, any::<bool>(), 0u16..4096).prop_map(|(ad, pcp, dei, vid)| {
        VlanTag {
            tpid: if ad { EtherType::QinQ } else { EtherType::Vlan },
            pcp,
            dei,
            vid,
        }
    });
    (
        0..KINDS,
        proptest::collection::vec(tag, 0..3),
        (ipv4_addr(), ipv4_addr()),
        (ipv6_addr(), ipv6_addr()),
        (any::<u16>(), any::<u16>()),
        proptest::collection::vec(any::<u8>(), 0..200),
        prop_oneof![Just(0usize), Just(60usize)],
    )
        .prop_map(|(kind, tags, v4, v6, ports, payload, pad_to)| Spec {
            kind,
            tags,
            v4,
            v6,
            ports,
            payload,
            pad_to,
        })
}

fn build(spec: &Spec) -> Vec<u8> {
    let mut b = FrameBuilder::new(mac(1), mac(2)).pad_to(spec.pad_to);
    for tag in &spec.tags {
        b = b.tag(*tag);
    }
    let b4 = b.clone().ipv4(spec.v4.0, spec.v4.1);
    let b6 = b.clone().ipv6(spec.v6.0, spec.v6.1);
    let (sp, dp) = spec.ports;
    let p = &spec.payload[..];
    match spec.kind {
        0 => b4.udp(sp, dp, p),
        1 => b6.udp(sp, dp, p),
        2 => b4.tcp(sp, dp, tcp::TcpFlags(dp & 0x1ff), p),
        3 => b6.tcp(sp, dp, tcp::TcpFlags(sp & 0x1ff), p),
        4 => b4.icmp_echo(sp % 2 == 0, sp, dp, p),
        5 => b6.icmp_echo(sp % 2 == 0, sp, dp, p),
        6 => b.arp_request(spec.v4.0, spec.v4.1),
        7 => b4.vxlan(
            sp,
            u32::from(dp),
            &FrameBuilder::new(mac(3), mac(4))
                .ipv6(spec.v6.0, spec.v6.1)
                .udp(1, 2, p),
        ),
        _ => b6.vxlan(
            sp,
            u32::from(sp),
            &FrameBuilder::new(mac(3), mac(4)).arp_request(spec.v4.0, spec.v4.1),
        ),
    }
}

/// Everything the pipeline might call on a received frame; must not panic.
fn exercise(frame: &[u8]) {
    if let Ok(meta) = parse_frame(frame) {
        assert!(usize::from(meta.l3_offset) <= frame.len());
        if let Some(end) = meta.ip_end() {
            assert!(end <= frame.len());
        }
        if let Ok(Some(vx)) = parse_vxlan(frame, &meta) {
            assert!(vx.inner_range().end <= frame.len());
            exercise(&frame[vx.inner_range()]);
        }
        let mut copy = frame.to_vec();
        assert!(checksum::fill_l4_checksum(&mut copy, &meta).is_ok());
        assert_eq!(checksum::verify_l4_checksum(&copy, &meta), Ok(true));
        let _ = checksum::fill_ipv4_checksum(&mut copy, &meta);
        assert!(checksum::verify_ipv4_checksum(&copy, &meta));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn prop_parse_arbitrary_bytes(frame in proptest::collection::vec(any::<u8>(), 0..256)) {
        exercise(&frame);
    }

    #[test]
    fn prop_parse_arbitrary_after_header(
        ethertype in prop_oneof![Just(0x0800u16), Just(0x86dd), Just(0x0806), Just(0x8100), Just(0x88a8)],
        version in prop_oneof![Just(0x45u8), Just(0x4f), Just(0x60), any::<u8>()],
        rest in proptest::collection::vec(any::<u8>(), 0..160),
    ) {
        let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        frame.extend_from_slice(&ethertype.to_be_bytes());
        frame.push(version);
        frame.extend_from_slice(&rest);
        exercise(&frame);
    }

    #[test]
    fn prop_parse_mutated_frames(
        spec in spec(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut frame = build(&spec);
        for (at, byte) in &edits {
            let i = at.index(frame.len());
            frame[i] = *byte;
        }
        if truncate {
            frame.truncate(cut.index(frame.len() + 1));
        }
        exercise(&frame);
    }

    #[test]
    fn prop_built_frames_parse(spec in spec()) {
        let frame = build(&spec);
        let meta = parse_frame(&frame);
        if spec.tags.len() > Tags::MAX {
            prop_assert_eq!(meta, Err(Malformed::TooManyVlanTags));
            return Ok(());
        }
        let meta = meta.unwrap();
        prop_assert_eq!(meta.tags.as_slice(), &spec.tags[..]);
        prop_assert_eq!(usize::from(meta.l3_offset), 14 + 4 * spec.tags.len());
        let (sp, dp) = spec.ports;
        match spec.kind {
            0 | 1 | 7 | 8 => {
                let dst_port = if spec.kind >= 7 { udp::VXLAN_PORT } else { dp };
                let is_udp = matches!(meta.l4, L4Meta::Udp { src_port, dst_port: d, .. } if src_port == sp && d == dst_port);
                prop_assert!(is_udp, "{:?}", meta.l4);
                if spec.kind >= 7 {
                    let vx = parse_vxlan(&frame, &meta).unwrap().unwrap();
                    let vni = if spec.kind == 7 { u32::from(dp) } else { u32::from(sp) };
                    prop_assert_eq!(vx.vni, vni);
                    prop_assert!(parse_frame(&frame[vx.inner_range()]).is_ok());
                }
            }
            2 | 3 => {
                let is_tcp = matches!(meta.l4, L4Meta::Tcp { src_port, dst_port, .. } if src_port == sp && dst_port == dp);
                prop_assert!(is_tcp, "{:?}", meta.l4);
            }
            4 => prop_assert!(matches!(meta.l4, L4Meta::Icmpv4 { .. }), "{:?}", meta.l4),
            5 => prop_assert!(matches!(meta.l4, L4Meta::Icmpv6 { .. }), "{:?}", meta.l4),
            _ => prop_assert!(matches!(meta.l3, L3Meta::Arp { .. }), "{:?}", meta.l3),
        }
        match meta.l3 {
            L3Meta::Ipv4 { src, dst, .. } => prop_assert_eq!((src, dst), spec.v4),
            L3Meta::Ipv6 { src, dst, .. } => prop_assert_eq!((src, dst), spec.v6),
            L3Meta::Arp { sender_ip, target_ip, .. } => prop_assert_eq!((sender_ip, target_ip), spec.v4),
            L3Meta::None => prop_assert!(false, "no L3"),
        }
        prop_assert_eq!(checksum::verify_l4_checksum(&frame, &meta), Ok(true));
        prop_assert!(checksum::verify_ipv4_checksum(&frame, &meta));
    }
}
