//! Frame builders for operators' traces (`xsdn trace`), tests and
//! benchmarks: Ethernet with 0..n VLAN tags, IPv4/IPv6, UDP/TCP/ICMP with
//! correct checksums, ARP, and VXLAN encapsulation. These allocate (`Vec`)
//! and panic on misuse (a payload beyond what the IP length field can
//! carry, [`MAX_PAYLOAD`]): callers with user input check sizes first. Not
//! for the dataplane's forwarding path.
//!
//! ```
//! # use xsdn_dataplane::wire::{build::{FrameBuilder, mac}, parse_frame, L4Meta};
//! # use core::net::Ipv4Addr;
//! let frame = FrameBuilder::new(mac(1), mac(2))
//!     .vlan(100)
//!     .ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
//!     .udp(1000, 53, b"query");
//! let meta = parse_frame(&frame).unwrap();
//! assert!(matches!(meta.l4, L4Meta::Udp { dst_port: 53, .. }));
//! ```

use core::net::{Ipv4Addr, Ipv6Addr};

use super::checksum::PseudoHeader;
use super::tcp::TcpFlags;
use super::{
    EtherType, EthernetAddress, IpProtocol, VlanTag, arp, ethernet, icmp, ipv4, ipv6, tcp, udp,
    vlan, vxlan,
};

/// The largest payload every builder below accepts, whatever the
/// protocols (IP length fields are 16 bits; headers and IPv4 options take
/// the rest).
pub const MAX_PAYLOAD: usize = 65_000;

/// A locally administered unicast MAC `02:00:00:00:00:nn`.
pub const fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, n])
}

#[derive(Debug, Clone, Copy)]
enum Ip {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

/// Builds test frames layer by layer; the terminal methods (`udp`, `tcp`,
/// `icmp_echo`, `arp_request`, `vxlan`, ...) return the finished frame and
/// leave the builder reusable.
#[derive(Debug, Clone)]
pub struct FrameBuilder {
    src: EthernetAddress,
    dst: EthernetAddress,
    tags: Vec<VlanTag>,
    ip: Option<Ip>,
    ttl: u8,
    dont_frag: bool,
    ident: u16,
    ipv4_options: Vec<u8>,
    pad_to: usize,
    partial_checksum: bool,
}

impl FrameBuilder {
    /// An untagged frame from `src` to `dst`; TTL/hop limit 64, DF set.
    pub fn new(src: EthernetAddress, dst: EthernetAddress) -> FrameBuilder {
        FrameBuilder {
            src,
            dst,
            tags: Vec::new(),
            ip: None,
            ttl: 64,
            dont_frag: true,
            ident: 0,
            ipv4_options: Vec::new(),
            pad_to: 0,
            partial_checksum: false,
        }
    }

    /// Appends a tag inside the existing ones (any number, so that tests
    /// can build invalid stacks too).
    pub fn tag(mut self, tag: VlanTag) -> FrameBuilder {
        self.tags.push(tag);
        self
    }

    /// Appends an 802.1Q tag.
    pub fn vlan(self, vid: u16) -> FrameBuilder {
        self.tag(VlanTag::dot1q(vid))
    }

    /// Appends an 802.1ad S-tag and an 802.1Q C-tag (QinQ).
    pub fn qinq(self, outer_vid: u16, inner_vid: u16) -> FrameBuilder {
        self.tag(VlanTag::dot1ad(outer_vid))
            .tag(VlanTag::dot1q(inner_vid))
    }

    /// IPv4 from `src` to `dst`.
    pub fn ipv4(mut self, src: Ipv4Addr, dst: Ipv4Addr) -> FrameBuilder {
        self.ip = Some(Ip::V4(src, dst));
        self
    }

    /// IPv6 from `src` to `dst`.
    pub fn ipv6(mut self, src: Ipv6Addr, dst: Ipv6Addr) -> FrameBuilder {
        self.ip = Some(Ip::V6(src, dst));
        self
    }

    /// TTL (IPv4) or hop limit (IPv6).
    pub fn ttl(mut self, ttl: u8) -> FrameBuilder {
        self.ttl = ttl;
        self
    }

    /// IPv4 don't fragment flag.
    pub fn dont_frag(mut self, value: bool) -> FrameBuilder {
        self.dont_frag = value;
        self
    }

    /// IPv4 identification.
    pub fn ident(mut self, value: u16) -> FrameBuilder {
        self.ident = value;
        self
    }

    /// IPv4 options (a multiple of 4 bytes, at most 40).
    pub fn ipv4_options(mut self, options: &[u8]) -> FrameBuilder {
        assert!(
            options.len().is_multiple_of(4) && options.len() <= 40,
            "bad IPv4 options length"
        );
        self.ipv4_options = options.to_vec();
        self
    }

    /// Pads the frame with zero bytes to at least `len` bytes (60 is the
    /// Ethernet minimum without FCS).
    pub fn pad_to(mut self, len: usize) -> FrameBuilder {
        self.pad_to = len;
        self
    }

    /// Leaves UDP/TCP checksums as a sender with `CHECKSUM_PARTIAL` offload
    /// does: the field holds only the folded pseudo-header sum.
    pub fn partial_checksum(mut self) -> FrameBuilder {
        self.partial_checksum = true;
        self
    }

    /// Ethernet header and tags, ending with `ethertype`.
    fn l2(&self, ethertype: EtherType, out: &mut Vec<u8>) {
        let mut header = [0u8; ethernet::HEADER_LEN];
        let first = self.tags.first().map_or(ethertype, |t| t.tpid);
        ethernet::Repr {
            src_addr: self.src,
            dst_addr: self.dst,
            ethertype: first,
        }
        .emit(&mut ethernet::Packet::new_unchecked(&mut header[..]));
        out.extend_from_slice(&header);
        for (i, tag) in self.tags.iter().enumerate() {
            let next = self.tags.get(i + 1).map_or(ethertype, |t| t.tpid);
            let mut bytes = [0u8; vlan::HEADER_LEN];
            vlan::Repr {
                pcp: tag.pcp,
                dei: tag.dei,
                vid: tag.vid,
                ethertype: next,
            }
            .emit(&mut vlan::Packet::new_unchecked(&mut bytes[..]));
            out.extend_from_slice(&bytes);
        }
    }

    fn finish(&self, mut frame: Vec<u8>) -> Vec<u8> {
        if frame.len() < self.pad_to {
            frame.resize(self.pad_to, 0);
        }
        frame
    }

    /// A frame carrying `payload` after the tags with `ethertype`.
    pub fn ethernet_payload(&self, ethertype: EtherType, payload: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        self.l2(ethertype, &mut frame);
        frame.extend_from_slice(payload);
        self.finish(frame)
    }

    fn ip_or_panic(&self) -> Ip {
        self.ip.expect("FrameBuilder: call ipv4() or ipv6() first")
    }

    /// An IP datagram carrying `segment` as `protocol`, checksums untouched
    /// except the IPv4 header's.
    pub fn ip_payload(&self, protocol: IpProtocol, segment: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        match self.ip_or_panic() {
            Ip::V4(src, dst) => {
                self.l2(EtherType::Ipv4, &mut frame);
                let header_len = ipv4::HEADER_LEN + self.ipv4_options.len();
                let start = frame.len();
                frame.resize(start + header_len + segment.len(), 0);
                let mut packet = ipv4::Packet::new_unchecked(&mut frame[start..]);
                let payload_len = u16::try_from(header_len - ipv4::HEADER_LEN + segment.len())
                    .expect("IPv4 datagram too long");
                ipv4::Repr {
                    src_addr: src,
                    dst_addr: dst,
                    protocol,
                    payload_len,
                    ttl: self.ttl,
                    dscp: 0,
                    ecn: 0,
                    ident: self.ident,
                    dont_frag: self.dont_frag,
                }
                .emit(&mut packet);
                // Re-emit the length fields for the options, then the data.
                packet.set_header_len(header_len as u8);
                packet.set_total_len((header_len + segment.len()) as u16);
                packet.options_mut().copy_from_slice(&self.ipv4_options);
                packet.payload_mut().copy_from_slice(segment);
                packet.fill_checksum();
            }
            Ip::V6(src, dst) => {
                self.l2(EtherType::Ipv6, &mut frame);
                let start = frame.len();
                frame.resize(start + ipv6::HEADER_LEN + segment.len(), 0);
                let mut packet = ipv6::Packet::new_unchecked(&mut frame[start..]);
                ipv6::Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: protocol,
                    payload_len: u16::try_from(segment.len()).expect("IPv6 payload too long"),
                    hop_limit: self.ttl,
                    traffic_class: 0,
                    flow_label: 0,
                }
                .emit(&mut packet);
                packet.payload_mut().copy_from_slice(segment);
            }
        }
        self.finish(frame)
    }

    fn pseudo(&self) -> PseudoHeader {
        match self.ip_or_panic() {
            Ip::V4(src, dst) => PseudoHeader::V4 { src, dst },
            Ip::V6(src, dst) => PseudoHeader::V6 { src, dst },
        }
    }

    /// A UDP datagram with a correct checksum (or the pseudo-header sum,
    /// with [`FrameBuilder::partial_checksum`]).
    pub fn udp(&self, src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
        let mut segment = vec![0u8; udp::HEADER_LEN + payload.len()];
        let mut packet = udp::Packet::new_unchecked(&mut segment[..]);
        let payload_len = u16::try_from(payload.len()).expect("UDP payload too long");
        udp::Repr {
            src_port,
            dst_port,
            payload_len,
        }
        .emit(&mut packet);
        packet.payload_mut().copy_from_slice(payload);
        if self.partial_checksum {
            packet.set_checksum(self.pseudo().sum(IpProtocol::Udp, u32::from(packet.len())));
        } else {
            packet.fill_checksum(&self.pseudo());
        }
        self.ip_payload(IpProtocol::Udp, &segment)
    }

    /// A TCP segment without options, with a correct checksum (or the
    /// pseudo-header sum, with [`FrameBuilder::partial_checksum`]).
    pub fn tcp(&self, src_port: u16, dst_port: u16, flags: TcpFlags, payload: &[u8]) -> Vec<u8> {
        let mut segment = vec![0u8; tcp::HEADER_LEN + payload.len()];
        let mut packet = tcp::Packet::new_unchecked(&mut segment[..]);
        tcp::Repr {
            src_port,
            dst_port,
            seq_number: 1,
            ack_number: if flags.contains(TcpFlags::ACK) { 1 } else { 0 },
            flags,
            window_len: 64240,
        }
        .emit(&mut packet);
        packet.payload_mut().copy_from_slice(payload);
        if self.partial_checksum {
            let len = packet.as_ref().len() as u32;
            packet.set_checksum(self.pseudo().sum(IpProtocol::Tcp, len));
        } else {
            packet.fill_checksum(&self.pseudo());
        }
        self.ip_payload(IpProtocol::Tcp, &segment)
    }

    /// An ICMPv4 or ICMPv6 (by the IP version) echo request or reply.
    pub fn icmp_echo(&self, request: bool, ident: u16, seq_no: u16, payload: &[u8]) -> Vec<u8> {
        let repr = match self.ip_or_panic() {
            Ip::V4(..) => icmp::Repr::echo_v4(request, ident, seq_no),
            Ip::V6(..) => icmp::Repr::echo_v6(request, ident, seq_no),
        };
        self.icmp(&repr, payload)
    }

    /// Any ICMP message for the IP version, with a correct checksum.
    pub fn icmp(&self, repr: &icmp::Repr, payload: &[u8]) -> Vec<u8> {
        let mut message = vec![0u8; icmp::HEADER_LEN + payload.len()];
        let mut packet = icmp::Packet::new_unchecked(&mut message[..]);
        repr.emit(&mut packet);
        packet.payload_mut().copy_from_slice(payload);
        match self.ip_or_panic() {
            Ip::V4(..) => {
                packet.fill_checksum_v4();
                self.ip_payload(IpProtocol::Icmp, &message)
            }
            Ip::V6(src, dst) => {
                packet.fill_checksum_v6(&src, &dst);
                self.ip_payload(IpProtocol::Icmpv6, &message)
            }
        }
    }

    /// An ARP packet.
    pub fn arp(&self, repr: &arp::Repr) -> Vec<u8> {
        let mut bytes = [0u8; arp::HEADER_LEN];
        repr.emit(&mut arp::Packet::new_unchecked(&mut bytes[..]));
        self.ethernet_payload(EtherType::Arp, &bytes)
    }

    /// "Who has `target_ip`? Tell `sender_ip`", from the builder's source
    /// MAC (send it to [`EthernetAddress::BROADCAST`]).
    pub fn arp_request(&self, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Vec<u8> {
        self.arp(&arp::Repr {
            operation: arp::Operation::Request,
            sender_hardware_addr: self.src,
            sender_protocol_addr: sender_ip,
            target_hardware_addr: EthernetAddress::ZERO,
            target_protocol_addr: target_ip,
        })
    }

    /// "`sender_ip` is at (the builder's source MAC)", to the builder's
    /// destination MAC at `target_ip`.
    pub fn arp_reply(&self, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Vec<u8> {
        self.arp(&arp::Repr {
            operation: arp::Operation::Reply,
            sender_hardware_addr: self.src,
            sender_protocol_addr: sender_ip,
            target_hardware_addr: self.dst,
            target_protocol_addr: target_ip,
        })
    }

    /// `inner` (a whole Ethernet frame) encapsulated in VXLAN with `vni`,
    /// UDP from `src_port` to 4789. The UDP checksum is zero over IPv4 (as
    /// RFC 7348 section 5 recommends and Linux sends) and computed over
    /// IPv6.
    pub fn vxlan(&self, src_port: u16, vni: u32, inner: &[u8]) -> Vec<u8> {
        self.vxlan_to(src_port, udp::VXLAN_PORT, vni, inner)
    }

    /// [`FrameBuilder::vxlan`] to UDP port `dst_port`.
    pub fn vxlan_to(&self, src_port: u16, dst_port: u16, vni: u32, inner: &[u8]) -> Vec<u8> {
        let mut payload = vec![0u8; vxlan::HEADER_LEN + inner.len()];
        let mut packet = vxlan::Packet::new_unchecked(&mut payload[..]);
        vxlan::Repr { vni }.emit(&mut packet);
        packet.payload_mut().copy_from_slice(inner);
        let mut frame = self.udp(src_port, dst_port, &payload);
        if matches!(self.ip, Some(Ip::V4(..))) {
            let meta = super::parse_frame(&frame).expect("built frame parses");
            let at = usize::from(meta.l4_offset) + 6;
            frame[at..at + 2].fill(0);
        }
        frame
    }
}
