//! Unit tests of the IPv4 view.

use super::*;

// RFC 791 section 3.1: version 4, IHL 5, DSCP 0, total length 32, ident
// 0x1234, DF, TTL 64, UDP, checksum 0x1497, 10.0.0.1 -> 10.0.0.2, followed by
// a 12-byte UDP datagram and two bytes of Ethernet padding.
static PACKET_BYTES: [u8; 34] = [
    0x45, 0x00, 0x00, 0x20, // version/IHL, DSCP/ECN, total length
    0x12, 0x34, 0x40, 0x00, // ident, flags (DF) / offset
    0x40, 0x11, 0x14, 0x97, // TTL, protocol, checksum
    0x0a, 0x00, 0x00, 0x01, // source
    0x0a, 0x00, 0x00, 0x02, // destination
    0xd4, 0x31, 0x12, 0xb5, 0x00, 0x0c, 0x26, 0x1c, 0x70, 0x69, 0x6e, 0x67, // payload
    0x00, 0x00, // padding (not part of the datagram)
];

static PAYLOAD_BYTES: [u8; 12] = [
    0xd4, 0x31, 0x12, 0xb5, 0x00, 0x0c, 0x26, 0x1c, 0x70, 0x69, 0x6e, 0x67,
];

// RFC 791 with one option (IHL 6): Router Alert (RFC 2113, 0x94 0x04 0x0000),
// DSCP 48 (CS6), TTL 1, IGMP, checksum 0x101a, four payload bytes.
static OPTIONS_BYTES: [u8; 28] = [
    0x46, 0xc0, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x10, 0x1a, 0x0a, 0x00, 0x00, 0x01,
    0x0a, 0x00, 0x00, 0x02, 0x94, 0x04, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44,
];

fn repr() -> Repr {
    Repr {
        src_addr: Ipv4Addr::new(10, 0, 0, 1),
        dst_addr: Ipv4Addr::new(10, 0, 0, 2),
        protocol: IpProtocol::Udp,
        payload_len: 12,
        ttl: 64,
        dscp: 0,
        ecn: 0,
        ident: 0x1234,
        dont_frag: true,
    }
}

#[test]
fn test_deconstruct() {
    let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
    assert_eq!(packet.version(), 4);
    assert_eq!(packet.ihl(), 5);
    assert_eq!(packet.header_len(), 20);
    assert_eq!(packet.dscp(), 0);
    assert_eq!(packet.ecn(), 0);
    assert_eq!(packet.total_len(), 32);
    assert_eq!(packet.ident(), 0x1234);
    assert!(packet.dont_frag());
    assert!(!packet.more_frags());
    assert_eq!(packet.frag_offset(), 0);
    assert!(!packet.is_fragment());
    assert_eq!(packet.ttl(), 64);
    assert_eq!(packet.protocol(), IpProtocol::Udp);
    assert_eq!(packet.checksum(), 0x1497);
    assert_eq!(packet.src_addr(), Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(packet.dst_addr(), Ipv4Addr::new(10, 0, 0, 2));
    assert!(packet.options().is_empty());
    assert!(packet.verify_checksum());
    assert_eq!(packet.payload(), &PAYLOAD_BYTES[..]);
}

#[test]
fn test_deconstruct_options() {
    let packet = Packet::new_checked(&OPTIONS_BYTES[..]).unwrap();
    assert_eq!(packet.header_len(), 24);
    assert_eq!(packet.dscp(), 48);
    assert_eq!(packet.options(), &[0x94, 0x04, 0x00, 0x00]);
    assert_eq!(packet.protocol(), IpProtocol::Igmp);
    assert!(packet.verify_checksum());
    assert_eq!(packet.payload(), &[0x11, 0x22, 0x33, 0x44]);
    let parsed = Repr::parse(&packet).unwrap();
    assert_eq!(parsed.payload_len, 4);
    assert_eq!(parsed.ttl, 1);
}

#[test]
fn test_construct() {
    let mut bytes = [0xa5u8; 34];
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.set_version(4);
    packet.set_header_len(20);
    packet.set_dscp(0);
    packet.set_ecn(0);
    packet.set_total_len(32);
    packet.set_ident(0x1234);
    packet.clear_flags();
    packet.set_more_frags(true);
    packet.set_frag_offset(8);
    assert!(packet.is_fragment());
    packet.set_more_frags(false);
    packet.set_frag_offset(0);
    packet.set_dont_frag(true);
    packet.set_ttl(64);
    packet.set_protocol(IpProtocol::Udp);
    packet.set_src_addr(Ipv4Addr::new(10, 0, 0, 1));
    packet.set_dst_addr(Ipv4Addr::new(10, 0, 0, 2));
    packet.fill_checksum();
    packet.payload_mut().copy_from_slice(&PAYLOAD_BYTES);
    bytes[32..].fill(0);
    assert_eq!(bytes, PACKET_BYTES);
}

#[test]
fn test_parse() {
    let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
    assert_eq!(Repr::parse(&packet).unwrap(), repr());
}

#[test]
fn test_emit() {
    let mut bytes = [0xa5u8; 34];
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    repr().emit(&mut packet);
    packet.payload_mut().copy_from_slice(&PAYLOAD_BYTES);
    bytes[32..].fill(0);
    assert_eq!(bytes, PACKET_BYTES);
    assert_eq!(repr().buffer_len(), 20);
}

#[test]
fn test_check_len() {
    assert_eq!(Packet::new_checked(&PACKET_BYTES[..19]), Err(Error));
    // Total length beyond the buffer.
    assert_eq!(Packet::new_checked(&PACKET_BYTES[..31]), Err(Error));
    assert!(Packet::new_checked(&PACKET_BYTES[..32]).is_ok());
    // IHL below 5, IHL beyond the buffer, total length below the header.
    for (at, value) in [(0, 0x44u8), (0, 0x4f), (3, 0x13)] {
        let mut bytes = PACKET_BYTES;
        bytes[at] = value;
        assert_eq!(
            Packet::new_checked(&bytes[..]),
            Err(Error),
            "byte {at} = {value:#x}"
        );
    }
}

#[test]
fn test_parse_rejects_version_and_fragments() {
    let mut bytes = PACKET_BYTES;
    bytes[0] = 0x65;
    assert_eq!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Err(Error));
    let mut bytes = PACKET_BYTES;
    bytes[6] = 0x20; // MF
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert!(packet.more_frags() && packet.is_fragment());
    assert_eq!(Repr::parse(&packet), Err(Error));
    let mut bytes = PACKET_BYTES;
    bytes[7] = 0x03; // offset 3 units
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.frag_offset(), 24);
    assert!(packet.is_fragment() && packet.dont_frag());
}

#[test]
fn test_checksum_detects_corruption() {
    let mut bytes = PACKET_BYTES;
    bytes[8] = 0x3f;
    assert!(!Packet::new_checked(&bytes[..]).unwrap().verify_checksum());
}

#[test]
fn test_decrement_ttl() {
    let mut bytes = PACKET_BYTES;
    let mut packet = Packet::new_checked(&mut bytes[..]).unwrap();
    for expected in (0..64).rev() {
        assert_eq!(packet.decrement_ttl(), expected);
        assert!(packet.verify_checksum(), "ttl {expected}");
    }
    assert_eq!(packet.decrement_ttl(), 0);
    let incremental = packet.checksum();
    packet.fill_checksum();
    assert_eq!(packet.checksum(), incremental);
}
