//! The decode walk: one pass over a received Ethernet frame producing a
//! compact, `Copy` [`FrameMeta`] the pipeline uses without re-parsing.
//!
//! Policies:
//! - at most two VLAN tags (802.1Q or 802.1ad TPIDs, in any order) are
//!   parsed; a third is [`Malformed::TooManyVlanTags`];
//! - ARP must be Ethernet/IPv4 (RFC 826 with HLEN 6, PLEN 4);
//! - IPv4 options are allowed (IHL 5..=15); the total length must fit the
//!   frame, trailing bytes (Ethernet padding) are ignored; the header
//!   checksum is not verified here;
//! - IPv6 extension headers are not walked: the next header is reported
//!   as-is and L4 is parsed only if it is directly UDP, TCP or ICMPv6;
//! - non-first IPv4 fragments have no L4; a first fragment has its L4
//!   header parsed (ports), without the length checks that need the whole
//!   datagram;
//! - unknown EtherTypes and IP protocols are not errors: they give
//!   [`L3Meta::None`] / [`L4Meta::None`].
//!
//! The walk never panics and never allocates. VXLAN is not decapsulated by
//! the walk, because which UDP ports carry VXLAN is the caller's
//! configuration: see [`parse_vxlan`].
//!
//! There are no per-layer hooks (`on_vlan`, `on_udp`, ...): the summary is
//! complete and `Copy`, so forwarding, counters and tests all match on the
//! one [`FrameMeta`] instead. Measured on the dev VM (release build): about
//! 25 ns per frame for Ethernet+IPv4+UDP or QinQ+IPv4+TCP.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::icmp::{Icmpv4Message, Icmpv6Message};
use super::tcp::TcpFlags;
use super::{
    EtherType, EthernetAddress, IpProtocol, arp, ethernet, icmp, ipv4, ipv6, tcp, udp, vlan, vxlan,
};

macro_rules! malformed_reasons {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )+) => {
        /// Why the walk rejected a frame: a drop reason with a stable name
        /// for counters and metrics.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum Malformed {
            $( $(#[$doc])* $variant, )+
        }

        impl Malformed {
            /// Every reason, in declaration order (`ALL[r.index()] == r`).
            pub const ALL: [Malformed; Malformed::COUNT] = [$( Malformed::$variant, )+];

            /// The stable snake_case name of the reason.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Malformed::$variant => $name, )+
                }
            }
        }
    };
}

malformed_reasons! {
    /// Shorter than the 14-byte Ethernet header.
    TruncatedEthernet => "truncated_ethernet",
    /// A VLAN TPID not followed by a whole 4-byte tag.
    TruncatedVlan => "truncated_vlan",
    /// More than two stacked VLAN tags.
    TooManyVlanTags => "too_many_vlan_tags",
    /// ARP shorter than 28 bytes.
    TruncatedArp => "truncated_arp",
    /// ARP that is not Ethernet/IPv4.
    BadArpHeader => "bad_arp_header",
    /// IPv4 shorter than its 20-byte header or than its IHL.
    TruncatedIpv4 => "truncated_ipv4",
    /// IPv4 version not 4, or IHL below 5.
    BadIpv4Header => "bad_ipv4_header",
    /// IPv4 total length below the header length or beyond the frame.
    BadIpv4Length => "bad_ipv4_length",
    /// IPv4 header checksum does not verify (not returned by
    /// [`parse_frame`]; for callers of
    /// [`checksum::verify_ipv4_checksum`](super::checksum::verify_ipv4_checksum)).
    BadIpv4Checksum => "bad_ipv4_checksum",
    /// IPv6 shorter than its 40-byte header.
    TruncatedIpv6 => "truncated_ipv6",
    /// IPv6 version not 6.
    BadIpv6Header => "bad_ipv6_header",
    /// IPv6 payload length beyond the frame.
    BadIpv6Length => "bad_ipv6_length",
    /// IP payload shorter than the 8-byte UDP header.
    TruncatedUdp => "truncated_udp",
    /// UDP length below 8 or beyond the IP payload.
    BadUdpLength => "bad_udp_length",
    /// IP payload shorter than the TCP header (fixed or with options).
    TruncatedTcp => "truncated_tcp",
    /// TCP data offset below 5.
    BadTcpHeader => "bad_tcp_header",
    /// IP payload shorter than the 8-byte ICMP header.
    TruncatedIcmp => "truncated_icmp",
    /// UDP payload shorter than the VXLAN header plus an Ethernet header.
    TruncatedVxlan => "truncated_vxlan",
    /// VXLAN header without the I flag.
    BadVxlanHeader => "bad_vxlan_header",
}

impl Malformed {
    /// Number of reasons.
    pub const COUNT: usize = 19;

    /// Dense index in `0..COUNT`, for per-reason counter arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Malformed {}

/// One VLAN tag as seen on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// Tag protocol identifier: [`EtherType::Vlan`] (802.1Q) or
    /// [`EtherType::QinQ`] (802.1ad).
    pub tpid: EtherType,
    /// Priority code point (0..=7).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN id (0..=4095).
    pub vid: u16,
}

impl VlanTag {
    /// An 802.1Q (C-)tag with priority 0.
    pub const fn dot1q(vid: u16) -> VlanTag {
        VlanTag {
            tpid: EtherType::Vlan,
            pcp: 0,
            dei: false,
            vid,
        }
    }

    /// An 802.1ad (S-)tag with priority 0.
    pub const fn dot1ad(vid: u16) -> VlanTag {
        VlanTag {
            tpid: EtherType::QinQ,
            pcp: 0,
            dei: false,
            vid,
        }
    }
}

impl Default for VlanTag {
    fn default() -> Self {
        VlanTag::dot1q(0)
    }
}

/// Up to two VLAN tags, outermost first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tags {
    tags: [VlanTag; Tags::MAX],
    len: u8,
}

impl Tags {
    /// Most tags a frame may carry (QinQ).
    pub const MAX: usize = 2;

    /// No tags.
    pub const EMPTY: Tags = Tags {
        tags: [VlanTag::dot1q(0); Tags::MAX],
        len: 0,
    };

    /// One tag.
    pub const fn one(tag: VlanTag) -> Tags {
        Tags {
            tags: [tag, VlanTag::dot1q(0)],
            len: 1,
        }
    }

    /// Two tags, outer first.
    pub const fn two(outer: VlanTag, inner: VlanTag) -> Tags {
        Tags {
            tags: [outer, inner],
            len: 2,
        }
    }

    /// Appends an inner tag; `Err` if there are already [`Tags::MAX`].
    #[inline]
    pub fn push(&mut self, tag: VlanTag) -> Result<(), super::Error> {
        let slot = self
            .tags
            .get_mut(usize::from(self.len))
            .ok_or(super::Error)?;
        *slot = tag;
        self.len += 1;
        Ok(())
    }

    /// Number of tags.
    #[inline]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// True for an untagged frame.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tags, outermost first.
    #[inline]
    pub fn as_slice(&self) -> &[VlanTag] {
        &self.tags[..self.len()]
    }

    /// The outermost tag.
    #[inline]
    pub fn outer(&self) -> Option<&VlanTag> {
        self.as_slice().first()
    }

    /// The innermost tag (the only one of a single-tagged frame).
    #[inline]
    pub fn inner(&self) -> Option<&VlanTag> {
        self.as_slice().last()
    }

    /// Iterates over the tags, outermost first.
    #[inline]
    pub fn iter(&self) -> core::slice::Iter<'_, VlanTag> {
        self.as_slice().iter()
    }

    /// Bytes the tags take on the wire.
    #[inline]
    pub const fn wire_len(&self) -> usize {
        self.len() * vlan::HEADER_LEN
    }
}

impl PartialEq for Tags {
    fn eq(&self, other: &Tags) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Tags {}

impl core::hash::Hash for Tags {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl<'a> IntoIterator for &'a Tags {
    type Item = &'a VlanTag;
    type IntoIter = core::slice::Iter<'a, VlanTag>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The network layer of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L3Meta {
    /// Unknown EtherType (including 802.3 length fields): not parsed.
    None,
    /// Ethernet/IPv4 ARP (RFC 826).
    Arp {
        /// Operation.
        operation: arp::Operation,
        /// Sender hardware address.
        sender_mac: EthernetAddress,
        /// Sender protocol address.
        sender_ip: Ipv4Addr,
        /// Target hardware address.
        target_mac: EthernetAddress,
        /// Target protocol address.
        target_ip: Ipv4Addr,
    },
    /// IPv4 (RFC 791).
    Ipv4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
        /// Payload protocol.
        protocol: IpProtocol,
        /// Time to live.
        ttl: u8,
        /// Total length (header and payload; the frame may be longer).
        total_len: u16,
        /// Header length in 32-bit words (5..=15).
        ihl: u8,
        /// Don't fragment flag.
        dont_frag: bool,
        /// True for any fragment (MF set or non-zero offset).
        is_fragment: bool,
        /// Fragment offset in bytes (non-zero: no L4 header here).
        frag_offset: u16,
    },
    /// IPv6 (RFC 8200), extension headers not walked.
    Ipv6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address.
        dst: Ipv6Addr,
        /// Next header of the fixed header.
        next_header: IpProtocol,
        /// Hop limit.
        hop_limit: u8,
        /// Payload length (the frame may be longer).
        payload_len: u16,
    },
}

/// The transport layer of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4Meta {
    /// No L4 header parsed (not IP, unknown protocol, IPv6 extension
    /// header, non-first fragment).
    None,
    /// UDP (RFC 768).
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// UDP length field (header and data).
        len: u16,
    },
    /// TCP (RFC 9293).
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Control bits.
        flags: TcpFlags,
    },
    /// ICMP over IPv4 (RFC 792).
    Icmpv4 {
        /// Message type.
        msg_type: Icmpv4Message,
        /// Message code.
        code: u8,
    },
    /// ICMPv6 directly after the IPv6 header (RFC 4443).
    Icmpv6 {
        /// Message type.
        msg_type: Icmpv6Message,
        /// Message code.
        code: u8,
    },
}

/// Summary of one received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameMeta {
    /// Destination MAC.
    pub dst: EthernetAddress,
    /// Source MAC.
    pub src: EthernetAddress,
    /// VLAN tags, outermost first.
    pub tags: Tags,
    /// EtherType after the tags.
    pub ethertype: EtherType,
    /// Offset of the network header (14 plus 4 per tag).
    pub l3_offset: u16,
    /// The network layer.
    pub l3: L3Meta,
    /// Offset of the IP payload (the L4 header) for IPv4/IPv6, even when
    /// [`FrameMeta::l4`] is `None`; 0 without an IP header.
    pub l4_offset: u16,
    /// The transport layer.
    pub l4: L4Meta,
}

impl FrameMeta {
    /// Length of the IP payload (IPv4 total length minus header length,
    /// IPv6 payload length), or `None` without an IP header.
    #[inline]
    pub fn ip_payload_len(&self) -> Option<u16> {
        match self.l3 {
            L3Meta::Ipv4 { total_len, ihl, .. } => {
                Some(total_len.saturating_sub(u16::from(ihl) * 4))
            }
            L3Meta::Ipv6 { payload_len, .. } => Some(payload_len),
            _ => None,
        }
    }

    /// Offset just past the IP datagram (where Ethernet padding starts), or
    /// `None` without an IP header.
    #[inline]
    pub fn ip_end(&self) -> Option<usize> {
        self.ip_payload_len()
            .map(|len| usize::from(self.l4_offset) + usize::from(len))
    }

    /// VLAN id of the outermost tag.
    #[inline]
    pub fn outer_vid(&self) -> Option<u16> {
        self.tags.outer().map(|t| t.vid)
    }
}

/// A VXLAN header found in a UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VxlanMeta {
    /// VXLAN network identifier (24 bits).
    pub vni: u32,
    /// Offset of the inner Ethernet frame in the outer frame.
    pub inner_offset: u16,
    /// Length of the inner frame (UDP length minus UDP and VXLAN headers).
    pub inner_len: u16,
}

impl VxlanMeta {
    /// The inner frame's byte range in the outer frame.
    #[inline]
    pub fn inner_range(&self) -> core::ops::Range<usize> {
        let start = usize::from(self.inner_offset);
        start..start + usize::from(self.inner_len)
    }
}

type Parsed<T> = Result<T, Malformed>;

/// Walks `frame` once: Ethernet, up to two VLAN tags, ARP/IPv4/IPv6, then
/// UDP/TCP/ICMP. Never panics, never allocates; see the module docs for the
/// policies.
pub fn parse_frame(frame: &[u8]) -> Parsed<FrameMeta> {
    let eth = ethernet::Packet::new_checked(frame).map_err(|_| Malformed::TruncatedEthernet)?;
    let mut ethertype = eth.ethertype();
    let mut offset = ethernet::HEADER_LEN;
    let mut tags = Tags::EMPTY;
    while ethertype.is_vlan_tpid() {
        if tags.len() == Tags::MAX {
            return Err(Malformed::TooManyVlanTags);
        }
        let rest = frame.get(offset..).unwrap_or_default();
        let tag = vlan::Packet::new_checked(rest).map_err(|_| Malformed::TruncatedVlan)?;
        let parsed = VlanTag {
            tpid: ethertype,
            pcp: tag.pcp(),
            dei: tag.dei(),
            vid: tag.vid(),
        };
        // Cannot fail: the length was checked above.
        tags.push(parsed).map_err(|_| Malformed::TooManyVlanTags)?;
        ethertype = tag.ethertype();
        offset += vlan::HEADER_LEN;
    }
    let rest = frame.get(offset..).unwrap_or_default();
    let (l3, l4_len, l4) = match ethertype {
        EtherType::Arp => (parse_arp(rest)?, None, L4Meta::None),
        EtherType::Ipv4 => parse_ipv4(rest)?,
        EtherType::Ipv6 => parse_ipv6(rest)?,
        _ => (L3Meta::None, None, L4Meta::None),
    };
    let l4_offset = l4_len.map_or(0, |ihl_bytes: usize| offset + ihl_bytes);
    Ok(FrameMeta {
        dst: eth.dst_addr(),
        src: eth.src_addr(),
        tags,
        ethertype,
        // Offsets are at most 14 + 8 + 60.
        l3_offset: offset as u16,
        l3,
        l4_offset: l4_offset as u16,
        l4,
    })
}

fn parse_arp(data: &[u8]) -> Parsed<L3Meta> {
    let packet = arp::Packet::new_checked(data).map_err(|_| Malformed::TruncatedArp)?;
    if !packet.is_ethernet_ipv4() {
        return Err(Malformed::BadArpHeader);
    }
    Ok(L3Meta::Arp {
        operation: packet.operation(),
        sender_mac: packet.sender_hardware_addr(),
        sender_ip: packet.sender_protocol_addr(),
        target_mac: packet.target_hardware_addr(),
        target_ip: packet.target_protocol_addr(),
    })
}

/// Returns the L3 summary, the IP header length and the L4 summary.
fn parse_ipv4(data: &[u8]) -> Parsed<(L3Meta, Option<usize>, L4Meta)> {
    if data.len() < ipv4::HEADER_LEN {
        return Err(Malformed::TruncatedIpv4);
    }
    let packet = ipv4::Packet::new_unchecked(data);
    if packet.version() != 4 || packet.ihl() < 5 {
        return Err(Malformed::BadIpv4Header);
    }
    let header_len = usize::from(packet.header_len());
    if header_len > data.len() {
        return Err(Malformed::TruncatedIpv4);
    }
    let total_len = usize::from(packet.total_len());
    if total_len < header_len || total_len > data.len() {
        return Err(Malformed::BadIpv4Length);
    }
    let frag_offset = packet.frag_offset();
    let protocol = packet.protocol();
    let l3 = L3Meta::Ipv4 {
        src: packet.src_addr(),
        dst: packet.dst_addr(),
        protocol,
        ttl: packet.ttl(),
        total_len: packet.total_len(),
        ihl: packet.ihl(),
        dont_frag: packet.dont_frag(),
        is_fragment: packet.is_fragment(),
        frag_offset,
    };
    let l4 = if frag_offset != 0 {
        L4Meta::None
    } else {
        let payload = data.get(header_len..total_len).unwrap_or_default();
        parse_l4(protocol, payload, !packet.more_frags(), false)?
    };
    Ok((l3, Some(header_len), l4))
}

fn parse_ipv6(data: &[u8]) -> Parsed<(L3Meta, Option<usize>, L4Meta)> {
    if data.len() < ipv6::HEADER_LEN {
        return Err(Malformed::TruncatedIpv6);
    }
    let packet = ipv6::Packet::new_unchecked(data);
    if packet.version() != 6 {
        return Err(Malformed::BadIpv6Header);
    }
    let end = ipv6::HEADER_LEN + usize::from(packet.payload_len());
    let payload = data
        .get(ipv6::HEADER_LEN..end)
        .ok_or(Malformed::BadIpv6Length)?;
    let next_header = packet.next_header();
    let l3 = L3Meta::Ipv6 {
        src: packet.src_addr(),
        dst: packet.dst_addr(),
        next_header,
        hop_limit: packet.hop_limit(),
        payload_len: packet.payload_len(),
    };
    let l4 = parse_l4(next_header, payload, true, true)?;
    Ok((l3, Some(ipv6::HEADER_LEN), l4))
}

/// Parses the L4 header in `payload` (the IP payload, or the part of it in
/// a first fragment when `whole` is false).
fn parse_l4(protocol: IpProtocol, payload: &[u8], whole: bool, v6: bool) -> Parsed<L4Meta> {
    match protocol {
        IpProtocol::Udp => {
            if payload.len() < udp::HEADER_LEN {
                return Err(Malformed::TruncatedUdp);
            }
            let packet = udp::Packet::new_unchecked(payload);
            let len = packet.len();
            if usize::from(len) < udp::HEADER_LEN || (whole && usize::from(len) > payload.len()) {
                return Err(Malformed::BadUdpLength);
            }
            Ok(L4Meta::Udp {
                src_port: packet.src_port(),
                dst_port: packet.dst_port(),
                len,
            })
        }
        IpProtocol::Tcp => {
            if payload.len() < tcp::HEADER_LEN {
                return Err(Malformed::TruncatedTcp);
            }
            let packet = tcp::Packet::new_unchecked(payload);
            let header_len = usize::from(packet.header_len());
            if header_len < tcp::HEADER_LEN {
                return Err(Malformed::BadTcpHeader);
            }
            if header_len > payload.len() {
                return Err(Malformed::TruncatedTcp);
            }
            Ok(L4Meta::Tcp {
                src_port: packet.src_port(),
                dst_port: packet.dst_port(),
                flags: packet.flags(),
            })
        }
        IpProtocol::Icmp if !v6 => {
            let packet =
                icmp::Packet::new_checked(payload).map_err(|_| Malformed::TruncatedIcmp)?;
            Ok(L4Meta::Icmpv4 {
                msg_type: packet.msg_type_v4(),
                code: packet.msg_code(),
            })
        }
        IpProtocol::Icmpv6 if v6 => {
            let packet =
                icmp::Packet::new_checked(payload).map_err(|_| Malformed::TruncatedIcmp)?;
            Ok(L4Meta::Icmpv6 {
                msg_type: packet.msg_type_v6(),
                code: packet.msg_code(),
            })
        }
        _ => Ok(L4Meta::None),
    }
}

/// Reads the VXLAN header of a UDP datagram the caller has identified as
/// VXLAN (by its destination port). `meta` must be [`parse_frame`]'s result
/// for `frame`.
///
/// `Ok(None)` if the frame has no whole UDP datagram (not UDP, or an IPv4
/// fragment: leave those to the kernel); `Err` if the VXLAN header is
/// truncated, lacks the I flag, or the inner frame is shorter than an
/// Ethernet header. The UDP checksum is not verified.
pub fn parse_vxlan(frame: &[u8], meta: &FrameMeta) -> Parsed<Option<VxlanMeta>> {
    let L4Meta::Udp { len, .. } = meta.l4 else {
        return Ok(None);
    };
    if matches!(
        meta.l3,
        L3Meta::Ipv4 {
            is_fragment: true,
            ..
        }
    ) {
        return Ok(None);
    }
    let start = usize::from(meta.l4_offset) + udp::HEADER_LEN;
    let end = usize::from(meta.l4_offset) + usize::from(len);
    let payload = frame.get(start..end).ok_or(Malformed::TruncatedVxlan)?;
    let packet = vxlan::Packet::new_checked(payload).map_err(|_| Malformed::TruncatedVxlan)?;
    if !packet.has_vni() {
        return Err(Malformed::BadVxlanHeader);
    }
    let inner_len = payload.len() - vxlan::HEADER_LEN;
    if inner_len < ethernet::HEADER_LEN {
        return Err(Malformed::TruncatedVxlan);
    }
    Ok(Some(VxlanMeta {
        vni: packet.vni(),
        // Both fit: the offset is at most 14 + 8 + 60 + 16 and the inner
        // length is below the 16-bit UDP length.
        inner_offset: (start + vxlan::HEADER_LEN) as u16,
        inner_len: inner_len as u16,
    }))
}

#[cfg(test)]
#[path = "tests/frame.rs"]
mod test;
