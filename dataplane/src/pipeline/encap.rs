//! VXLAN encapsulation (RFC 7348 section 5): the outer Ethernet, IPv4 or
//! IPv6, UDP and VXLAN headers in front of an inner frame, and the inner
//! flow hash that picks the UDP source port.
//!
//! Outer headers, as Linux's vxlan device sends them by default:
//! - Ethernet: destination = the next hop's MAC, source = our MAC on the
//!   uplink, EtherType IPv4 or IPv6 (never tagged);
//! - IPv4: source = our VTEP address, destination = the peer, TTL 64, DF
//!   clear, DSCP/ECN 0, an identification incremented per encapsulated
//!   frame, header checksum; IPv6: hop limit 64, traffic class and flow
//!   label 0;
//! - UDP: source port = `49152 + hash(inner flow) % 16384` (RFC 7348: from
//!   the dynamic range, so the underlay's ECMP spreads flows), destination
//!   = the zone's port; checksum 0 over IPv4 (RFC 7348 section 5 and
//!   Linux's default), computed over IPv6 (RFC 8200 section 8.1: Linux
//!   sends it unless `udp6zerocsumtx`);
//! - VXLAN: I flag, the VNI, reserved fields zero.

use core::hash::Hasher;
use core::net::IpAddr;

use crate::tables::{FastHasher, NextHop};
use crate::wire::checksum;
use crate::wire::{
    EtherType, FrameMeta, IpProtocol, L3Meta, L4Meta, ethernet, ipv4, ipv6, udp, vxlan,
};

/// Outer TTL / hop limit.
pub(super) const OUTER_TTL: u8 = 64;
/// First port of the UDP source port range (IANA dynamic ports).
pub(super) const SOURCE_PORT_BASE: u16 = 49152;

/// Everything needed to write the outer headers of one output.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tunnel {
    pub next_hop: NextHop,
    pub peer: IpAddr,
    pub vni: u32,
    pub udp_port: u16,
    pub src_port: u16,
}

impl Tunnel {
    /// Bytes of the outer headers: 50 over IPv4, 70 over IPv6.
    #[inline]
    pub fn header_len(&self) -> usize {
        let ip = if self.peer.is_ipv4() {
            ipv4::HEADER_LEN
        } else {
            ipv6::HEADER_LEN
        };
        ethernet::HEADER_LEN + ip + udp::HEADER_LEN + vxlan::HEADER_LEN
    }
}

/// The UDP source port for an inner flow hash.
#[inline]
pub(super) fn source_port(flow_hash: u16) -> u16 {
    SOURCE_PORT_BASE | (flow_hash & 0x3fff)
}

/// A hash of the inner flow: MACs, then IP addresses and protocol, then
/// UDP/TCP ports when present.
#[inline]
pub(super) fn flow_hash(meta: &FrameMeta) -> u16 {
    let mut h = FastHasher::default();
    h.write(&meta.dst.0);
    h.write(&meta.src.0);
    match meta.l3 {
        L3Meta::Ipv4 {
            src, dst, protocol, ..
        } => {
            h.write_u32(u32::from(src));
            h.write_u32(u32::from(dst));
            h.write_u8(protocol.raw());
        }
        L3Meta::Ipv6 {
            src,
            dst,
            next_header,
            ..
        } => {
            h.write(&src.octets());
            h.write(&dst.octets());
            h.write_u8(next_header.raw());
        }
        _ => h.write_u16(meta.ethertype.raw()),
    }
    if let L4Meta::Udp {
        src_port, dst_port, ..
    }
    | L4Meta::Tcp {
        src_port, dst_port, ..
    } = meta.l4
    {
        h.write_u32((u32::from(src_port) << 16) | u32::from(dst_port));
    }
    let x = h.finish();
    (x ^ (x >> 16) ^ (x >> 32) ^ (x >> 48)) as u16
}

/// Writes the outer headers into `out[..tunnel.header_len()]`; the inner
/// frame must already be in place after them (the IPv6 UDP checksum
/// covers it). `out` is exactly the output frame. Returns false (writing
/// nothing) if the addresses' families differ.
pub(super) fn write_outer(out: &mut [u8], tunnel: &Tunnel, ident: u16) -> bool {
    let header_len = tunnel.header_len();
    let Some(inner_len) = out.len().checked_sub(header_len) else {
        return false;
    };
    let udp_len = udp::HEADER_LEN + vxlan::HEADER_LEN + inner_len;
    let (ethertype, l4) = match (tunnel.next_hop.src_ip, tunnel.peer) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let repr = ipv4::Repr {
                src_addr: src,
                dst_addr: dst,
                protocol: IpProtocol::Udp,
                payload_len: udp_len as u16,
                ttl: OUTER_TTL,
                dscp: 0,
                ecn: 0,
                ident,
                dont_frag: false,
            };
            let l3 = ethernet::HEADER_LEN;
            repr.emit(&mut ipv4::Packet::new_unchecked(
                &mut out[l3..l3 + ipv4::HEADER_LEN],
            ));
            (EtherType::Ipv4, l3 + ipv4::HEADER_LEN)
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let repr = ipv6::Repr {
                src_addr: src,
                dst_addr: dst,
                next_header: IpProtocol::Udp,
                payload_len: udp_len as u16,
                hop_limit: OUTER_TTL,
                traffic_class: 0,
                flow_label: 0,
            };
            let l3 = ethernet::HEADER_LEN;
            repr.emit(&mut ipv6::Packet::new_unchecked(
                &mut out[l3..l3 + ipv6::HEADER_LEN],
            ));
            (EtherType::Ipv6, l3 + ipv6::HEADER_LEN)
        }
        _ => return false,
    };
    ethernet::Repr {
        dst_addr: tunnel.next_hop.dst_mac,
        src_addr: tunnel.next_hop.src_mac,
        ethertype,
    }
    .emit(&mut ethernet::Packet::new_unchecked(
        &mut out[..ethernet::HEADER_LEN],
    ));
    udp::Repr {
        src_port: tunnel.src_port,
        dst_port: tunnel.udp_port,
        payload_len: (vxlan::HEADER_LEN + inner_len) as u16,
    }
    .emit(&mut udp::Packet::new_unchecked(
        &mut out[l4..l4 + udp::HEADER_LEN],
    ));
    let vx = l4 + udp::HEADER_LEN;
    vxlan::Repr { vni: tunnel.vni }.emit(&mut vxlan::Packet::new_unchecked(
        &mut out[vx..vx + vxlan::HEADER_LEN],
    ));
    if let (IpAddr::V6(src), IpAddr::V6(dst)) = (tunnel.next_hop.src_ip, tunnel.peer) {
        let pseudo = checksum::pseudo_header_v6(&src, &dst, IpProtocol::Udp, udp_len as u32);
        let mut sum = checksum::compute(pseudo, &out[l4..]);
        if sum == 0 {
            sum = 0xffff;
        }
        out[l4 + 6..l4 + 8].copy_from_slice(&sum.to_be_bytes());
    }
    true
}
