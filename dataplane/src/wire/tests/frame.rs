//! Tests of the decode walk.

use core::net::{Ipv4Addr, Ipv6Addr};

use super::*;
use crate::wire::arp::Operation;
use crate::wire::build::{FrameBuilder, mac};

// IEEE 802.3 / RFC 894 frame: 02:00:00:00:00:02 <- 52:54:00:12:34:56, IPv4
// (RFC 791: 10.0.0.1 -> 10.0.0.2, DF, TTL 64, checksum 0x1497), UDP
// (RFC 768: 54321 -> 4789, length 12, checksum 0x261c, "ping"), padded to
// the 60-byte minimum.
static UDP4_FRAME: [u8; 60] = [
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00, // eth
    0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x14, 0x97, // IPv4
    0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, //
    0xd4, 0x31, 0x12, 0xb5, 0x00, 0x0c, 0x26, 0x1c, 0x70, 0x69, 0x6e, 0x67, // UDP
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // padding
];

// IEEE 802.1ad QinQ frame: S-tag VID 200, C-tag PCP 7 DEI 1 VID 4094, then
// an RFC 826 request "who has 192.168.1.1? tell 192.168.1.10".
static QINQ_ARP_FRAME: [u8; 50] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // eth addresses
    0x88, 0xa8, 0x00, 0xc8, // S-tag
    0x81, 0x00, 0xff, 0xfe, // C-tag
    0x08, 0x06, // ARP
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // HTYPE, PTYPE, HLEN, PLEN, request
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0xc0, 0xa8, 0x01, 0x0a, // sender
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x01, // target
];

const SRC_MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const A4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const B6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

fn b() -> FrameBuilder {
    FrameBuilder::new(mac(1), mac(2))
}

#[test]
fn test_udp4_frame() {
    let meta = parse_frame(&UDP4_FRAME).unwrap();
    assert_eq!(meta.dst, mac(2));
    assert_eq!(meta.src, SRC_MAC);
    assert!(meta.tags.is_empty());
    assert_eq!(meta.ethertype, EtherType::Ipv4);
    assert_eq!(meta.l3_offset, 14);
    assert_eq!(
        meta.l3,
        L3Meta::Ipv4 {
            src: A4,
            dst: B4,
            protocol: IpProtocol::Udp,
            ttl: 64,
            total_len: 32,
            ihl: 5,
            dont_frag: true,
            is_fragment: false,
            frag_offset: 0,
        }
    );
    assert_eq!(meta.l4_offset, 34);
    assert_eq!(
        meta.l4,
        L4Meta::Udp {
            src_port: 54321,
            dst_port: 4789,
            len: 12
        }
    );
    assert_eq!(meta.ip_payload_len(), Some(12));
    assert_eq!(meta.ip_end(), Some(46));
    assert_eq!(meta.outer_vid(), None);
    // The same frame from the builder.
    let built = FrameBuilder::new(SRC_MAC, mac(2))
        .ipv4(A4, B4)
        .ident(0x1234)
        .pad_to(60)
        .udp(54321, 4789, b"ping");
    assert_eq!(built, UDP4_FRAME);
}

#[test]
fn test_qinq_arp_frame() {
    let meta = parse_frame(&QINQ_ARP_FRAME).unwrap();
    assert!(meta.dst.is_broadcast());
    assert_eq!(
        meta.tags.as_slice(),
        &[
            VlanTag {
                tpid: EtherType::QinQ,
                pcp: 0,
                dei: false,
                vid: 200
            },
            VlanTag {
                tpid: EtherType::Vlan,
                pcp: 7,
                dei: true,
                vid: 4094
            },
        ]
    );
    assert_eq!(meta.tags.wire_len(), 8);
    assert_eq!(meta.outer_vid(), Some(200));
    assert_eq!(meta.tags.inner().map(|t| t.vid), Some(4094));
    assert_eq!(meta.ethertype, EtherType::Arp);
    assert_eq!(meta.l3_offset, 22);
    assert_eq!(
        meta.l3,
        L3Meta::Arp {
            operation: Operation::Request,
            sender_mac: SRC_MAC,
            sender_ip: Ipv4Addr::new(192, 168, 1, 10),
            target_mac: EthernetAddress::ZERO,
            target_ip: Ipv4Addr::new(192, 168, 1, 1),
        }
    );
    assert_eq!((meta.l4_offset, meta.l4), (0, L4Meta::None));
    assert_eq!(meta.ip_payload_len(), None);
    let built = FrameBuilder::new(SRC_MAC, EthernetAddress::BROADCAST)
        .tag(VlanTag::dot1ad(200))
        .tag(VlanTag {
            tpid: EtherType::Vlan,
            pcp: 7,
            dei: true,
            vid: 4094,
        })
        .arp_request(
            Ipv4Addr::new(192, 168, 1, 10),
            Ipv4Addr::new(192, 168, 1, 1),
        );
    assert_eq!(built, QINQ_ARP_FRAME);
}

#[test]
fn test_ipv6_frames() {
    let frame = b()
        .vlan(5)
        .ttl(3)
        .ipv6(A6, B6)
        .tcp(1, 2, TcpFlags::SYN, b"");
    let meta = parse_frame(&frame).unwrap();
    assert_eq!(meta.l3_offset, 18);
    assert_eq!(
        meta.l3,
        L3Meta::Ipv6 {
            src: A6,
            dst: B6,
            next_header: IpProtocol::Tcp,
            hop_limit: 3,
            payload_len: 20,
        }
    );
    assert_eq!(meta.l4_offset, 58);
    assert_eq!(
        meta.l4,
        L4Meta::Tcp {
            src_port: 1,
            dst_port: 2,
            flags: TcpFlags::SYN
        }
    );

    let frame = b().ipv6(A6, B6).icmp_echo(true, 1, 1, b"");
    let meta = parse_frame(&frame).unwrap();
    assert_eq!(
        meta.l4,
        L4Meta::Icmpv6 {
            msg_type: Icmpv6Message::EchoRequest,
            code: 0
        }
    );

    // Extension header: reported as-is, no L4, l4_offset at the IP payload.
    let frame = b()
        .ipv6(A6, B6)
        .ip_payload(IpProtocol::Ipv6Frag, &[17, 0, 0, 1, 0, 0, 0, 0]);
    let meta = parse_frame(&frame).unwrap();
    assert!(matches!(
        meta.l3,
        L3Meta::Ipv6 {
            next_header: IpProtocol::Ipv6Frag,
            ..
        }
    ));
    assert_eq!((meta.l4_offset, meta.l4), (54, L4Meta::None));

    // ICMP (v4) inside IPv6 is not ICMPv6: no L4.
    let frame = b()
        .ipv6(A6, B6)
        .ip_payload(IpProtocol::Icmp, &[8, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(parse_frame(&frame).unwrap().l4, L4Meta::None);
}

#[test]
fn test_ipv4_variants() {
    // Options: L4 after IHL * 4.
    let frame = b()
        .ipv4(A4, B4)
        .ipv4_options(&[0x94, 0x04, 0, 0])
        .icmp_echo(false, 1, 2, b"");
    let meta = parse_frame(&frame).unwrap();
    assert!(matches!(meta.l3, L3Meta::Ipv4 { ihl: 6, .. }));
    assert_eq!(meta.l4_offset, 38);
    assert_eq!(
        meta.l4,
        L4Meta::Icmpv4 {
            msg_type: Icmpv4Message::EchoReply,
            code: 0
        }
    );

    // Unknown protocol: no L4, not an error.
    let frame = b()
        .ipv4(A4, B4)
        .ip_payload(IpProtocol::Unknown(253), &[1, 2, 3]);
    let meta = parse_frame(&frame).unwrap();
    assert_eq!((meta.l4_offset, meta.l4), (34, L4Meta::None));

    // Non-first fragment: no L4 even though the bytes look like UDP.
    let mut frame = b().ipv4(A4, B4).udp(1, 2, &[0; 16]);
    frame[14 + 6..14 + 8].copy_from_slice(&[0x00, 0x02]);
    let meta = parse_frame(&frame).unwrap();
    assert!(matches!(
        meta.l3,
        L3Meta::Ipv4 {
            is_fragment: true,
            frag_offset: 16,
            ..
        }
    ));
    assert_eq!(meta.l4, L4Meta::None);

    // First fragment: the UDP length may exceed this fragment.
    let mut frame = b().ipv4(A4, B4).udp(1, 2, &[0; 16]);
    frame[14 + 6] = 0x20;
    frame[34 + 4..34 + 6].copy_from_slice(&1000u16.to_be_bytes());
    let meta = parse_frame(&frame).unwrap();
    assert!(matches!(
        meta.l3,
        L3Meta::Ipv4 {
            is_fragment: true,
            frag_offset: 0,
            ..
        }
    ));
    assert_eq!(
        meta.l4,
        L4Meta::Udp {
            src_port: 1,
            dst_port: 2,
            len: 1000
        }
    );
}

#[test]
fn test_not_errors() {
    // Unknown EtherType and an 802.3 length field.
    for ethertype in [EtherType::Unknown(0x88cc), EtherType::Unknown(0x0040)] {
        let frame = b().vlan(1).ethernet_payload(ethertype, &[0; 10]);
        let meta = parse_frame(&frame).unwrap();
        assert_eq!(
            (meta.ethertype, meta.l3, meta.l4),
            (ethertype, L3Meta::None, L4Meta::None)
        );
        assert_eq!(meta.l3_offset, 18);
    }
    // Bare Ethernet header.
    assert!(parse_frame(&UDP4_FRAME[..14]).is_err());
    let meta = parse_frame(&b().ethernet_payload(EtherType::Unknown(0x1234), &[])).unwrap();
    assert_eq!(meta.l3, L3Meta::None);
}

/// One frame per reason `parse_frame` reports.
fn malformed_cases() -> Vec<(Malformed, Vec<u8>)> {
    let udp4 = b().ipv4(A4, B4).udp(1, 2, b"data");
    let udp6 = b().ipv6(A6, B6).udp(1, 2, b"data");
    let tcp4 = b().ipv4(A4, B4).tcp(1, 2, TcpFlags::ACK, b"");
    let arp = b().arp_request(A4, B4);
    let edit = |frame: &Vec<u8>, at: usize, bytes: &[u8]| {
        let mut f = frame.clone();
        f[at..at + bytes.len()].copy_from_slice(bytes);
        f
    };
    vec![
        (Malformed::TruncatedEthernet, udp4[..13].to_vec()),
        (
            Malformed::TruncatedVlan,
            b().vlan(1).ipv4(A4, B4).udp(1, 2, b"")[..16].to_vec(),
        ),
        (
            Malformed::TooManyVlanTags,
            b().vlan(1).vlan(2).vlan(3).ipv4(A4, B4).udp(1, 2, b""),
        ),
        (Malformed::TruncatedArp, arp[..14 + 27].to_vec()),
        (Malformed::BadArpHeader, edit(&arp, 14 + 4, &[8])),
        (Malformed::TruncatedIpv4, udp4[..14 + 19].to_vec()),
        (
            Malformed::TruncatedIpv4,
            edit(&udp4[..14 + 22].to_vec(), 14, &[0x46]),
        ),
        (Malformed::BadIpv4Header, edit(&udp4, 14, &[0x65])),
        (Malformed::BadIpv4Header, edit(&udp4, 14, &[0x44])),
        (Malformed::BadIpv4Length, edit(&udp4, 14 + 2, &[0, 19])),
        (Malformed::BadIpv4Length, udp4[..udp4.len() - 1].to_vec()),
        (Malformed::TruncatedIpv6, udp6[..14 + 39].to_vec()),
        (Malformed::BadIpv6Header, edit(&udp6, 14, &[0x40])),
        (Malformed::BadIpv6Length, udp6[..udp6.len() - 1].to_vec()),
        (
            Malformed::TruncatedUdp,
            b().ipv4(A4, B4).ip_payload(IpProtocol::Udp, &[0; 7]),
        ),
        (Malformed::BadUdpLength, edit(&udp4, 34 + 4, &[0, 7])),
        (Malformed::BadUdpLength, edit(&udp4, 34 + 4, &[0, 13])),
        (Malformed::BadUdpLength, edit(&udp6, 54 + 4, &[0, 0])),
        (
            Malformed::TruncatedTcp,
            b().ipv6(A6, B6).ip_payload(IpProtocol::Tcp, &[0; 19]),
        ),
        (Malformed::TruncatedTcp, edit(&tcp4, 34 + 12, &[0x60])),
        (Malformed::BadTcpHeader, edit(&tcp4, 34 + 12, &[0x40])),
        (
            Malformed::TruncatedIcmp,
            b().ipv4(A4, B4).ip_payload(IpProtocol::Icmp, &[8, 0, 0]),
        ),
        (
            Malformed::TruncatedIcmp,
            b().ipv6(A6, B6).ip_payload(IpProtocol::Icmpv6, &[0; 7]),
        ),
    ]
}

#[test]
fn test_malformed() {
    for (reason, frame) in malformed_cases() {
        assert_eq!(parse_frame(&frame), Err(reason), "{reason}");
    }
}

#[test]
fn test_malformed_names() {
    assert_eq!(Malformed::ALL.len(), Malformed::COUNT);
    for (i, reason) in Malformed::ALL.iter().enumerate() {
        assert_eq!(reason.index(), i);
        let name = reason.as_str();
        assert!(
            name.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        );
        assert_eq!(reason.to_string(), name);
        assert_eq!(
            Malformed::ALL.iter().filter(|r| r.as_str() == name).count(),
            1
        );
    }
    assert_eq!(Malformed::TooManyVlanTags.as_str(), "too_many_vlan_tags");
    assert_eq!(Malformed::BadVxlanHeader.as_str(), "bad_vxlan_header");
}

#[test]
fn test_vxlan() {
    let inner = b().vlan(7).ipv4(A4, B4).udp(5, 6, b"inner");
    for outer in [b().ipv4(B4, A4), b().qinq(1, 2).ipv6(B6, A6)] {
        let frame = outer.vxlan(49152, 0x123456, &inner);
        let meta = parse_frame(&frame).unwrap();
        assert!(matches!(
            meta.l4,
            L4Meta::Udp {
                src_port: 49152,
                dst_port: 4789,
                ..
            }
        ));
        let vx = parse_vxlan(&frame, &meta).unwrap().unwrap();
        assert_eq!(vx.vni, 0x123456);
        assert_eq!(&frame[vx.inner_range()], &inner[..]);
        assert_eq!(
            usize::from(vx.inner_offset),
            usize::from(meta.l4_offset) + 16
        );
        let inner_meta = parse_frame(&frame[vx.inner_range()]).unwrap();
        assert_eq!(inner_meta.outer_vid(), Some(7));
        assert_eq!(
            crate::wire::checksum::verify_l4_checksum(&frame, &meta),
            Ok(true)
        );
    }
}

#[test]
fn test_vxlan_errors() {
    let inner = b().ipv4(A4, B4).udp(5, 6, b"");
    let frame = b().ipv4(B4, A4).vxlan(1, 1, &inner);
    let meta = parse_frame(&frame).unwrap();
    let vx_at = usize::from(meta.l4_offset) + 8;

    let mut no_i = frame.clone();
    no_i[vx_at] = 0;
    assert_eq!(parse_vxlan(&no_i, &meta), Err(Malformed::BadVxlanHeader));

    // Not UDP, or a fragment: not ours to decapsulate.
    let tcp = b().ipv4(A4, B4).tcp(1, 4789, TcpFlags::SYN, b"");
    assert_eq!(parse_vxlan(&tcp, &parse_frame(&tcp).unwrap()), Ok(None));
    let arp = b().arp_request(A4, B4);
    assert_eq!(parse_vxlan(&arp, &parse_frame(&arp).unwrap()), Ok(None));
    let mut frag = frame.clone();
    frag[14 + 6] |= 0x20;
    assert_eq!(parse_vxlan(&frag, &parse_frame(&frag).unwrap()), Ok(None));

    // VXLAN header or inner Ethernet header cut short.
    for payload_len in [0usize, 7, 8, 21] {
        let short = b().ipv4(B4, A4).udp(1, 4789, &{
            let mut p = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
            p.resize(payload_len, 0);
            p
        });
        let meta = parse_frame(&short).unwrap();
        assert_eq!(
            parse_vxlan(&short, &meta),
            Err(Malformed::TruncatedVxlan),
            "{payload_len}"
        );
    }
    // Exactly a VXLAN header plus an Ethernet header is fine.
    let min = b().ipv4(B4, A4).vxlan(1, 9, &[0; 14]);
    let meta = parse_frame(&min).unwrap();
    assert_eq!(
        parse_vxlan(&min, &meta).unwrap().map(|v| v.inner_len),
        Some(14)
    );
    // A meta that does not fit the frame is reported, not a panic.
    assert_eq!(
        parse_vxlan(&min[..min.len() - 1], &meta),
        Err(Malformed::TruncatedVxlan)
    );
}

#[test]
fn test_tags_api() {
    let mut tags = Tags::EMPTY;
    assert!(tags.is_empty() && tags.outer().is_none());
    tags.push(VlanTag::dot1ad(10)).unwrap();
    tags.push(VlanTag::dot1q(20)).unwrap();
    assert_eq!(tags.push(VlanTag::dot1q(30)), Err(crate::wire::Error));
    assert_eq!(tags, Tags::two(VlanTag::dot1ad(10), VlanTag::dot1q(20)));
    assert_ne!(tags, Tags::one(VlanTag::dot1ad(10)));
    assert_eq!(tags.iter().map(|t| t.vid).collect::<Vec<_>>(), [10, 20]);
    assert_eq!((&tags).into_iter().count(), 2);
    // Equality ignores unused slots.
    let mut a = Tags::one(VlanTag::dot1q(1));
    let b = Tags::two(VlanTag::dot1q(1), VlanTag::dot1q(2));
    a.push(VlanTag::dot1q(2)).unwrap();
    assert_eq!(a, b);
    assert_eq!(Tags::default(), Tags::EMPTY);
}

#[test]
fn test_meta_is_small() {
    // The summary is copied around per frame: keep it compact.
    assert!(
        core::mem::size_of::<FrameMeta>() <= 96,
        "{}",
        core::mem::size_of::<FrameMeta>()
    );
}
