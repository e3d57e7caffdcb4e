//! Tests of the checksum helpers: RFC 1071 vectors, the fast sum against a
//! naive reference, incremental updates, and L4 completion on frames.

use core::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::wire::build::{FrameBuilder, mac};
use crate::wire::{ipv4, tcp::TcpFlags, udp};

/// RFC 1071 section 1 taken literally: add 16-bit big-endian words, pad an
/// odd byte, fold the carries.
fn naive_sum(data: &[u8]) -> u16 {
    let mut acc: u32 = 0;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], chunk.get(1).copied().unwrap_or(0)]);
        acc += u32::from(word);
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

const A4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const B6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

#[test]
fn test_rfc1071_example() {
    // RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 is ddf2.
    let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    assert_eq!(sum(&data), 0xddf2);
    assert_eq!(naive_sum(&data), 0xddf2);
    // Any split at an even offset combines to the same sum.
    assert_eq!(add(sum(&data[..2]), sum(&data[2..])), 0xddf2);
    assert_eq!(
        combine(&[sum(&data[..4]), sum(&data[4..6]), sum(&data[6..])]),
        0xddf2
    );
}

#[test]
fn test_small_inputs() {
    assert_eq!(sum(&[]), 0);
    assert_eq!(sum(&[0xab]), 0xab00);
    assert_eq!(sum(&[0xff; 2]), 0xffff);
    assert_eq!(sum(&[0xff; 64]), 0xffff);
    assert_eq!(sum(&[0x00, 0x00, 0x00, 0x00, 0x00]), 0);
    assert_eq!(finish(0xffff), 0);
}

#[test]
fn test_pseudo_headers() {
    // Known good from the udp/ipv6 tests: the datagram with checksum 0x261c
    // (IPv4) and 0xdea9 (IPv6).
    let datagram = [
        0xd4, 0x31, 0x12, 0xb5, 0x00, 0x0c, 0x00, 0x00, 0x70, 0x69, 0x6e, 0x67,
    ];
    let v4 = pseudo_header_v4(&A4, &B4, IpProtocol::Udp, 12);
    assert_eq!(compute(v4, &datagram), 0x261c);
    let v6 = pseudo_header_v6(&A6, &B6, IpProtocol::Udp, 12);
    assert_eq!(compute(v6, &datagram), 0xdea9);
    assert_eq!(
        PseudoHeader::V4 { src: A4, dst: B4 }.sum(IpProtocol::Udp, 12),
        v4
    );
    assert_eq!(
        PseudoHeader::V6 { src: A6, dst: B6 }.sum(IpProtocol::Udp, 12),
        v6
    );
}

#[test]
fn test_ipv4_header_fill_verify() {
    let mut header = [
        0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0xaa, 0xbb, 0x0a, 0x00, 0x00,
        0x01, 0x0a, 0x00, 0x00, 0x02,
    ];
    assert!(!verify_ipv4_header(&header));
    fill_ipv4_header(&mut header).unwrap();
    assert_eq!(&header[10..12], &[0x14, 0x97]);
    assert!(verify_ipv4_header(&header));
    assert_eq!(fill_ipv4_header(&mut header[..19]), Err(Error));
    assert!(!verify_ipv4_header(&header[..19]));
}

#[test]
fn test_update_rfc1624_example() {
    // RFC 1624 section 4: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives
    // HC' = 0x0000 with equation 3.
    assert_eq!(update(0xdd2f, 0x5555, 0x3285), 0x0000);
    assert_eq!(
        update_bytes(0xdd2f, &[0x55, 0x55], &[0x32, 0x85]),
        Some(0x0000)
    );
    assert_eq!(update_bytes(0, &[0; 2], &[0; 4]), None);
}

fn l4_frames() -> Vec<(&'static str, FrameBuilder, u8)> {
    let base = FrameBuilder::new(mac(1), mac(2));
    vec![
        ("udp4", base.clone().ipv4(A4, B4), 17),
        ("udp6", base.clone().ipv6(A6, B6), 17),
        ("tcp4", base.clone().vlan(10).ipv4(A4, B4), 6),
        ("tcp6", base.clone().qinq(20, 30).ipv6(A6, B6), 6),
        (
            "udp4 options padded",
            base.clone().ipv4(A4, B4).ipv4_options(&[1; 8]).pad_to(60),
            17,
        ),
    ]
}

fn build(builder: &FrameBuilder, proto: u8, payload: &[u8]) -> Vec<u8> {
    match proto {
        17 => builder.udp(40000, 53, payload),
        _ => builder.tcp(40000, 80, TcpFlags::PSH | TcpFlags::ACK, payload),
    }
}

#[test]
fn test_complete_partial_checksums() {
    for (name, builder, proto) in l4_frames() {
        let good = build(&builder, proto, b"hello, world");
        let meta = parse_frame(&good).unwrap();
        assert_eq!(verify_l4_checksum(&good, &meta), Ok(true), "{name}");
        let mut partial = build(&builder.clone().partial_checksum(), proto, b"hello, world");
        assert_ne!(partial, good, "{name}");
        assert_eq!(verify_l4_checksum(&partial, &meta), Ok(false), "{name}");
        assert_eq!(fill_l4_checksum(&mut partial, &meta), Ok(true), "{name}");
        assert_eq!(partial, good, "{name}");
        // Completing garbage works too.
        let at = usize::from(meta.l4_offset) + if proto == 17 { 6 } else { 16 };
        partial[at..at + 2].copy_from_slice(&[0xde, 0xad]);
        assert_eq!(complete_checksums(&mut partial), Ok(meta), "{name}");
        assert_eq!(partial, good, "{name}");
    }
}

#[test]
fn test_icmp_checksums() {
    for builder in [
        FrameBuilder::new(mac(1), mac(2)).ipv4(A4, B4),
        FrameBuilder::new(mac(1), mac(2)).ipv6(A6, B6),
    ] {
        let good = builder.icmp_echo(true, 7, 9, b"abcdefg");
        let meta = parse_frame(&good).unwrap();
        assert_eq!(verify_l4_checksum(&good, &meta), Ok(true));
        let mut bad = good.clone();
        let at = usize::from(meta.l4_offset) + 2;
        bad[at] ^= 0x40;
        assert_eq!(verify_l4_checksum(&bad, &meta), Ok(false));
        assert_eq!(fill_l4_checksum(&mut bad, &meta), Ok(true));
        assert_eq!(bad, good);
    }
}

#[test]
fn test_udp_zero_checksum_rules() {
    let b4 = FrameBuilder::new(mac(1), mac(2)).ipv4(A4, B4);
    let b6 = FrameBuilder::new(mac(1), mac(2)).ipv6(A6, B6);
    for (builder, zero_ok) in [(b4, true), (b6, false)] {
        let mut frame = builder.udp(1, 2, b"x");
        let meta = parse_frame(&frame).unwrap();
        let at = usize::from(meta.l4_offset) + 6;
        frame[at..at + 2].fill(0);
        assert_eq!(verify_l4_checksum(&frame, &meta), Ok(zero_ok));
    }
    // A datagram whose checksum computes to zero goes out as 0xffff, over
    // IPv4 and IPv6 alike.
    for builder in [
        FrameBuilder::new(mac(1), mac(2)).ipv4(A4, B4),
        FrameBuilder::new(mac(1), mac(2)).ipv6(A6, B6),
    ] {
        let mut frame = builder.udp(0, 2, b"xy");
        let meta = parse_frame(&frame).unwrap();
        let l4 = usize::from(meta.l4_offset);
        let pseudo = match meta.l3 {
            L3Meta::Ipv4 { src, dst, .. } => PseudoHeader::V4 { src, dst },
            L3Meta::Ipv6 { src, dst, .. } => PseudoHeader::V6 { src, dst },
            _ => unreachable!(),
        };
        frame[l4 + 6..l4 + 8].fill(0);
        let rest = add(pseudo.sum(IpProtocol::Udp, 10), sum(&frame[l4..l4 + 10]));
        frame[l4..l4 + 2].copy_from_slice(&(!rest).to_be_bytes());
        assert_eq!(fill_l4_checksum(&mut frame, &meta), Ok(true));
        assert_eq!(&frame[l4 + 6..l4 + 8], &[0xff, 0xff]);
        assert_eq!(verify_l4_checksum(&frame, &meta), Ok(true));
    }
}

#[test]
fn test_nothing_to_complete() {
    let b = FrameBuilder::new(mac(1), mac(2));
    let mut arp = b.arp_request(A4, B4);
    let meta = parse_frame(&arp).unwrap();
    assert_eq!(fill_l4_checksum(&mut arp, &meta), Ok(false));
    assert_eq!(verify_l4_checksum(&arp, &meta), Ok(true));
    assert_eq!(fill_ipv4_checksum(&mut arp, &meta), Ok(false));
    assert!(verify_ipv4_checksum(&arp, &meta));

    // A first fragment: ports are parsed, the checksum is left alone.
    let mut frag = b.clone().ipv4(A4, B4).udp(1, 2, &[7; 32]);
    let meta = parse_frame(&frag).unwrap();
    let l3 = usize::from(meta.l3_offset);
    frag[l3 + 6] |= 0x20; // MF
    let meta = parse_frame(&frag).unwrap();
    assert!(matches!(meta.l4, L4Meta::Udp { .. }));
    let before = frag.clone();
    assert_eq!(fill_l4_checksum(&mut frag, &meta), Ok(false));
    assert_eq!(frag, before);
    // The IPv4 header checksum no longer verifies after the flag change.
    assert!(!verify_ipv4_checksum(&frag, &meta));
    assert_eq!(fill_ipv4_checksum(&mut frag, &meta), Ok(true));
    assert!(verify_ipv4_checksum(&frag, &meta));

    // IPv6 with a hop-by-hop header first: no L4 parsed, nothing done.
    let mut hbh = b
        .ipv6(A6, B6)
        .ip_payload(IpProtocol::HopByHop, &[17, 0, 0, 0, 0, 0, 0, 0]);
    let meta = parse_frame(&hbh).unwrap();
    assert_eq!(meta.l4, L4Meta::None);
    assert_eq!(fill_l4_checksum(&mut hbh, &meta), Ok(false));
}

#[test]
fn test_meta_not_fitting_frame() {
    let b = FrameBuilder::new(mac(1), mac(2)).ipv4(A4, B4);
    let frame = b.udp(1, 2, &[0; 20]);
    let meta = parse_frame(&frame).unwrap();
    let mut short = frame[..frame.len() - 4].to_vec();
    assert_eq!(fill_l4_checksum(&mut short, &meta), Err(Error));
    assert_eq!(verify_l4_checksum(&short, &meta), Err(Error));
}

fn ipv4_header() -> impl Strategy<Value = [u8; 20]> {
    any::<[u8; 20]>().prop_map(|mut h| {
        h[0] = 0x45;
        h
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn prop_sum_equals_naive(
        data in proptest::collection::vec(any::<u8>(), 0..2100),
        offset in 0usize..64,
    ) {
        let offset = offset.min(data.len());
        let slice = &data[offset..];
        prop_assert_eq!(sum(slice), naive_sum(slice));
    }

    #[test]
    fn prop_split_at_even_offset(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        split in 0usize..300,
    ) {
        let split = (split * 2).min(data.len() & !1);
        prop_assert_eq!(add(sum(&data[..split]), sum(&data[split..])), sum(&data));
    }

    #[test]
    fn prop_update_equals_recompute(
        header in ipv4_header(),
        word in 0usize..9,
        new in any::<u16>(),
    ) {
        // Any 16-bit word except the checksum (word 5).
        let word = if word >= 5 { word + 1 } else { word };
        let mut packet = ipv4::Packet::new_unchecked(header);
        packet.fill_checksum();
        let mut bytes = packet.into_inner();
        let at = word * 2;
        let old = u16::from_be_bytes([bytes[at], bytes[at + 1]]);
        let csum = u16::from_be_bytes([bytes[10], bytes[11]]);
        bytes[at..at + 2].copy_from_slice(&new.to_be_bytes());
        let incremental = update(csum, old, new);
        fill_ipv4_header(&mut bytes).unwrap();
        prop_assert_eq!(incremental, u16::from_be_bytes([bytes[10], bytes[11]]));
        prop_assert!(verify_ipv4_header(&bytes));
    }

    #[test]
    fn prop_update_addresses_equals_recompute(
        src in any::<[u8; 4]>(),
        dst in any::<[u8; 4]>(),
        new_src in any::<[u8; 4]>(),
        new_port in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        // SNAT-style rewrite of a UDP datagram: source address (pseudo
        // header) and source port, checksum updated incrementally.
        let (src, dst, new_src) = (Ipv4Addr::from(src), Ipv4Addr::from(dst), Ipv4Addr::from(new_src));
        let mut frame = FrameBuilder::new(mac(1), mac(2)).ipv4(src, dst).udp(1234, 53, &payload);
        let meta = parse_frame(&frame).unwrap();
        let l4 = usize::from(meta.l4_offset);
        let mut dgram = udp::Packet::new_unchecked(&mut frame[l4..]);
        let csum = update_u32(dgram.checksum(), src.to_bits(), new_src.to_bits());
        let csum = update(csum, dgram.src_port(), new_port);
        dgram.set_src_port(new_port);
        let ph = PseudoHeader::V4 { src: new_src, dst };
        let csum = if csum == 0 { 0xffff } else { csum };
        dgram.set_checksum(csum);
        prop_assert!(dgram.verify_checksum(&ph));
        dgram.fill_checksum(&ph);
        // Both are valid encodings; they agree up to 0x0000/0xffff.
        let full = dgram.checksum();
        prop_assert!(full == csum || (full == 0xffff && csum == 0) || (full == 0 && csum == 0xffff));
    }

    #[test]
    fn prop_completion_verifies(
        v6 in any::<bool>(),
        tcp in any::<bool>(),
        tags in 0usize..3,
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        garbage in any::<u16>(),
        src4 in any::<[u8; 4]>(),
        src6 in any::<[u8; 16]>(),
    ) {
        let mut builder = FrameBuilder::new(mac(1), mac(2));
        for vid in 0..tags {
            builder = builder.vlan(vid as u16 + 1);
        }
        let builder = if v6 {
            builder.ipv6(Ipv6Addr::from(src6), B6)
        } else {
            builder.ipv4(Ipv4Addr::from(src4), B4)
        }.partial_checksum();
        let mut frame = build(&builder, if tcp { 6 } else { 17 }, &payload);
        let meta = parse_frame(&frame).unwrap();
        if garbage % 2 == 0 {
            let at = usize::from(meta.l4_offset) + if tcp { 16 } else { 6 };
            frame[at..at + 2].copy_from_slice(&garbage.to_be_bytes());
        }
        prop_assert_eq!(fill_l4_checksum(&mut frame, &meta), Ok(true));
        prop_assert_eq!(verify_l4_checksum(&frame, &meta), Ok(true));
        prop_assert!(verify_ipv4_checksum(&frame, &meta));
    }
}

#[test]
fn test_complete_only_partial_checksums() {
    for v6 in [false, true] {
        let base = FrameBuilder::new(mac(1), mac(2));
        let base = if v6 {
            base.ipv6(A6, B6)
        } else {
            base.ipv4(A4, B4)
        };
        let flags = TcpFlags::ACK;
        for tcp in [false, true] {
            let make = |b: &FrameBuilder| {
                if tcp {
                    b.tcp(1000, 2000, flags, b"payload bytes")
                } else {
                    b.udp(1000, 2000, b"payload bytes")
                }
            };
            // Partial (offloaded) checksum: completed, then verifies.
            let mut partial = make(&base.clone().partial_checksum());
            let meta = parse_frame(&partial).expect("parse");
            assert_eq!(
                complete_partial_l4_checksum(&mut partial, &meta).expect("fits"),
                ChecksumFix::Completed,
                "v6={v6} tcp={tcp}"
            );
            assert!(verify_l4_checksum(&partial, &meta).expect("fits"));
            assert_eq!(partial, make(&base), "completion equals a real checksum");
            // Already correct: untouched.
            let mut good = make(&base);
            let before = good.clone();
            assert_eq!(
                complete_partial_l4_checksum(&mut good, &meta).expect("fits"),
                ChecksumFix::Valid
            );
            assert_eq!(good, before);
            // Corrupt payload under a real checksum: reported, untouched.
            let mut corrupt = make(&base);
            let last = corrupt.len() - 1;
            corrupt[last] ^= 0x55;
            let before = corrupt.clone();
            assert_eq!(
                complete_partial_l4_checksum(&mut corrupt, &meta).expect("fits"),
                ChecksumFix::Bad
            );
            assert_eq!(corrupt, before);
        }
    }
    // ICMP is never "partial": not applicable.
    let mut icmp = FrameBuilder::new(mac(1), mac(2))
        .ipv4(A4, B4)
        .icmp_echo(true, 1, 1, b"x");
    let meta = parse_frame(&icmp).expect("parse");
    assert_eq!(
        complete_partial_l4_checksum(&mut icmp, &meta).expect("fits"),
        ChecksumFix::NotApplicable
    );
}
