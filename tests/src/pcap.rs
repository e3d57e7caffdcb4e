//! A small reader for classic pcap files (what `tcpdump -w` writes), and
//! views of the captured frames for tests: VLAN tags, EtherTypes, IPv4,
//! UDP and VXLAN. The file format is read here; the headers are parsed by
//! the dataplane's own decode walk ([`parse_frame`], [`parse_vxlan`] of
//! [`xsdn_dataplane::wire`]), so tests see a frame as the product does and
//! no header is parsed twice.
//!
//! Format (libpcap `savefile.c`, pcap(5)): a 24-byte file header whose
//! magic gives byte order and timestamp unit (`a1b2c3d4` microseconds,
//! `a1b23c4d` nanoseconds), then records of a 16-byte header
//! (`ts_sec, ts_frac, incl_len, orig_len`) and `incl_len` bytes. A record
//! cut short at the end (tcpdump stopped mid-write) is ignored.
//!
//! Link types: Ethernet frames are walked as captured. A Linux cooked
//! capture (`tcpdump -i any`, pcap-linktype(7) `LINUX_SLL`/`LINUX_SLL2`)
//! has no Ethernet header, only the protocol field and what follows it
//! (VLAN tags, as libpcap puts them back, and the network header): the
//! walk gets that behind an Ethernet header with zero addresses.
//!
//! The walk is stricter than a lenient dissector: a frame it refuses
//! (shorter than its IP or UDP length fields say, more than two VLAN tags,
//! ...) has no tags, EtherType after the tags, IPv4, UDP or VXLAN here.
//! [`CapturedFrame::malformed`] says why, so that tests can assert that
//! frames are whole instead of skipping the ones that are not.

use std::borrow::Cow;
use std::ops::Range;
use std::time::Duration;

use anyhow::{Result, bail};
use xsdn_dataplane::wire::{
    FrameMeta, IpProtocol, L3Meta, L4Meta, VxlanMeta, ethernet, parse_frame, parse_vxlan, udp,
};

pub use xsdn_dataplane::wire::udp::VXLAN_PORT;
pub use xsdn_dataplane::wire::{EtherType, Malformed, VlanTag};

/// Link type: Ethernet.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Link type: Linux cooked capture v1 (`tcpdump -i any`, old libpcap).
pub const LINKTYPE_LINUX_SLL: u32 = 113;
/// Link type: Linux cooked capture v2 (`tcpdump -i any`).
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// 802.1Q C-tag TPID (0x8100).
pub const TPID_8021Q: EtherType = EtherType::Vlan;
/// 802.1ad S-tag TPID (0x88a8).
pub const TPID_8021AD: EtherType = EtherType::QinQ;
/// IPv4 EtherType (0x0800).
pub const ETHERTYPE_IPV4: EtherType = EtherType::Ipv4;
/// ARP EtherType (0x0806).
pub const ETHERTYPE_ARP: EtherType = EtherType::Arp;
/// IPv6 EtherType (0x86dd).
pub const ETHERTYPE_IPV6: EtherType = EtherType::Ipv6;

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedFrame {
    /// Capture time since the epoch.
    pub ts: Duration,
    /// Length on the wire (may exceed `data.len()` if the snaplen cut it).
    pub orig_len: u32,
    /// Link type of the file.
    pub linktype: u32,
    /// Captured bytes.
    pub data: Vec<u8>,
}

/// The IPv4 header fields tests look at, and the datagram's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4View<'a> {
    /// IP protocol number (1 ICMP, 6 TCP, 17 UDP).
    pub proto: u8,
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Total length (header and payload; the walk checked that the frame
    /// holds it).
    pub total_len: u16,
    /// True for any fragment (more-fragments set or a non-zero offset).
    pub is_fragment: bool,
    /// The bytes after the IPv4 header up to the total length (without
    /// Ethernet padding).
    pub payload: &'a [u8],
}

/// Parses a whole pcap file.
pub fn parse_pcap(bytes: &[u8]) -> Result<Vec<CapturedFrame>> {
    if bytes.len() < 24 {
        bail!("pcap file too short ({} bytes) for its header", bytes.len());
    }
    let magic_le = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let magic_be = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let (le, nanos) = match (magic_le, magic_be) {
        (0xa1b2_c3d4, _) => (true, false),
        (0xa1b2_3c4d, _) => (true, true),
        (_, 0xa1b2_c3d4) => (false, false),
        (_, 0xa1b2_3c4d) => (false, true),
        _ => bail!("not a pcap file (magic {magic_le:#010x}; pcapng is not supported)"),
    };
    let u32_at = |at: usize| -> u32 {
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let linktype = u32_at(20) & 0x0fff_ffff;
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let (sec, frac, incl, orig) = (u32_at(at), u32_at(at + 4), u32_at(at + 8), u32_at(at + 12));
        let start = at + 16;
        let Some(end) = start
            .checked_add(incl as usize)
            .filter(|e| *e <= bytes.len())
        else {
            break;
        };
        let sub = if nanos {
            Duration::from_nanos(u64::from(frac))
        } else {
            Duration::from_micros(u64::from(frac))
        };
        frames.push(CapturedFrame {
            ts: Duration::from_secs(u64::from(sec)) + sub,
            orig_len: orig,
            linktype,
            data: bytes[start..end].to_vec(),
        });
        at = end;
    }
    Ok(frames)
}

impl CapturedFrame {
    /// For a cooked capture: where its protocol field is and where what
    /// follows that field starts (pcap-linktype(7)); `None` otherwise.
    fn cooked_layout(&self) -> Option<(usize, usize)> {
        match self.linktype {
            LINKTYPE_LINUX_SLL => Some((14, 16)),
            LINKTYPE_LINUX_SLL2 => Some((0, 20)),
            _ => None,
        }
    }

    /// How far a byte after the EtherType is from where it is in
    /// [`CapturedFrame::ethernet`]: `data[at + shift]` is `ethernet()[at]`
    /// for `at` from 14 on. `None` for link types not read here.
    fn shift(&self) -> Option<usize> {
        match self.linktype {
            LINKTYPE_ETHERNET => Some(0),
            _ => self
                .cooked_layout()
                .map(|(_, rest)| rest - ethernet::HEADER_LEN),
        }
    }

    /// The frame as Ethernet bytes: an Ethernet capture as it is; a cooked
    /// capture behind an Ethernet header with zero addresses and the
    /// captured protocol. `None` for other link types or a cooked header
    /// cut short.
    pub fn ethernet(&self) -> Option<Cow<'_, [u8]>> {
        if self.linktype == LINKTYPE_ETHERNET {
            return Some(Cow::Borrowed(&self.data));
        }
        let (protocol, rest) = self.cooked_layout()?;
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(self.data.get(protocol..protocol + 2)?);
        frame.extend_from_slice(self.data.get(rest..)?);
        Some(Cow::Owned(frame))
    }

    /// The captured bytes at `range` of [`CapturedFrame::ethernet`] (a
    /// range from the network header on).
    fn captured(&self, range: Range<usize>) -> Option<&[u8]> {
        let shift = self.shift()?;
        self.data.get(range.start + shift..range.end + shift)
    }

    /// The dataplane's decode walk over the frame: `None` if the walk
    /// refuses it (see [`CapturedFrame::malformed`]) or the link type is
    /// not read here.
    pub fn meta(&self) -> Option<FrameMeta> {
        parse_frame(&self.ethernet()?).ok()
    }

    /// Why the decode walk refuses this frame (truncated, lengths beyond
    /// the frame, more than two VLAN tags, ...); `None` if it parses (or
    /// the link type is not read here).
    pub fn malformed(&self) -> Option<Malformed> {
        parse_frame(&self.ethernet()?).err()
    }

    /// The Ethernet header (Ethernet captures only).
    fn ethernet_header(&self) -> Option<ethernet::Packet<&[u8]>> {
        if self.linktype != LINKTYPE_ETHERNET {
            return None;
        }
        ethernet::Packet::new_checked(&self.data[..]).ok()
    }

    /// Destination MAC (Ethernet captures only; also of a frame the walk
    /// refuses).
    pub fn dst_mac(&self) -> Option<[u8; 6]> {
        Some(self.ethernet_header()?.dst_addr().0)
    }

    /// Source MAC (Ethernet captures only; also of a frame the walk
    /// refuses).
    pub fn src_mac(&self) -> Option<[u8; 6]> {
        Some(self.ethernet_header()?.src_addr().0)
    }

    /// The outermost EtherType (a TPID if the frame is tagged); also of a
    /// frame the walk refuses.
    pub fn ethertype(&self) -> Option<EtherType> {
        let frame = self.ethernet()?;
        Some(ethernet::Packet::new_checked(&frame[..]).ok()?.ethertype())
    }

    /// VLAN tags, outermost first (empty if untagged or malformed).
    pub fn vlan_tags(&self) -> Vec<VlanTag> {
        self.meta()
            .map(|m| m.tags.as_slice().to_vec())
            .unwrap_or_default()
    }

    /// VLAN ids, outermost first: `[20, 100]` for QinQ S-tag 20, C-tag 100.
    pub fn vlan_ids(&self) -> Vec<u16> {
        self.vlan_tags().iter().map(|t| t.vid).collect()
    }

    /// The EtherType after all VLAN tags.
    pub fn inner_ethertype(&self) -> Option<EtherType> {
        self.meta().map(|m| m.ethertype)
    }

    /// The IPv4 header (after any VLAN tags), if this is IPv4.
    pub fn ipv4(&self) -> Option<Ipv4View<'_>> {
        let meta = self.meta()?;
        let L3Meta::Ipv4 {
            src,
            dst,
            protocol,
            total_len,
            is_fragment,
            ..
        } = meta.l3
        else {
            return None;
        };
        Some(Ipv4View {
            proto: protocol.into(),
            src: src.octets(),
            dst: dst.octets(),
            total_len,
            is_fragment,
            payload: self.captured(usize::from(meta.l4_offset)..meta.ip_end()?)?,
        })
    }

    /// True for ICMP over IPv4 (every fragment) or ICMPv6 directly after
    /// the IPv6 header.
    pub fn is_icmp(&self) -> bool {
        self.meta().is_some_and(|m| {
            matches!(
                m.l3,
                L3Meta::Ipv4 {
                    protocol: IpProtocol::Icmp,
                    ..
                } | L3Meta::Ipv6 {
                    next_header: IpProtocol::Icmpv6,
                    ..
                }
            )
        })
    }

    /// UDP `(src port, dst port, payload)` (IPv4 or IPv6); the payload is
    /// what the UDP length covers, or what a first fragment has of it.
    pub fn udp(&self) -> Option<(u16, u16, &[u8])> {
        let meta = self.meta()?;
        let L4Meta::Udp {
            src_port,
            dst_port,
            len,
        } = meta.l4
        else {
            return None;
        };
        let start = usize::from(meta.l4_offset);
        let end = (start + usize::from(len)).min(meta.ip_end()?);
        let payload = self.captured(start + udp::HEADER_LEN..end)?;
        Some((src_port, dst_port, payload))
    }

    /// The VXLAN header of a datagram to port 4789, as the walk reads it.
    fn vxlan(&self) -> Option<VxlanMeta> {
        let frame = self.ethernet()?;
        let meta = parse_frame(&frame).ok()?;
        if !matches!(
            meta.l4,
            L4Meta::Udp {
                dst_port: VXLAN_PORT,
                ..
            }
        ) {
            return None;
        }
        parse_vxlan(&frame, &meta).ok().flatten()
    }

    /// The VNI if this is a VXLAN frame (UDP to port 4789).
    pub fn vxlan_vni(&self) -> Option<u32> {
        self.vxlan().map(|v| v.vni)
    }

    /// The encapsulated Ethernet frame of a VXLAN frame (what the UDP
    /// length covers after the VXLAN header).
    pub fn vxlan_inner(&self) -> Option<CapturedFrame> {
        let vxlan = self.vxlan()?;
        Some(CapturedFrame {
            ts: self.ts,
            orig_len: u32::from(vxlan.inner_len),
            linktype: LINKTYPE_ETHERNET,
            data: self.captured(vxlan.inner_range())?.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use xsdn_dataplane::wire::build::{FrameBuilder, mac};

    use super::*;

    /// An ICMP echo request 10.0.3.100 -> 10.0.3.101, tagged S 20 / C 100.
    fn qinq_icmp() -> Vec<u8> {
        let mut f = vec![0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1];
        f.extend([0x88, 0xa8, 0x00, 20]); // S-tag, VID 20
        f.extend([0x81, 0x00, 0xa0, 100]); // C-tag, PCP 5, VID 100
        f.extend([0x08, 0x00]);
        f.extend([0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 1, 0, 0]);
        f.extend([10, 0, 3, 100, 10, 0, 3, 101]);
        f.extend([8, 0, 0, 0, 0, 1, 0, 1]);
        f
    }

    fn file(le: bool, nanos: bool, frames: &[&[u8]]) -> Vec<u8> {
        let w = |v: u32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
        let w16 = |v: u16| if le { v.to_le_bytes() } else { v.to_be_bytes() };
        let mut out = Vec::new();
        out.extend(w(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
        out.extend(w16(2));
        out.extend(w16(4));
        out.extend(w(0));
        out.extend(w(0));
        out.extend(w(262_144));
        out.extend(w(LINKTYPE_ETHERNET));
        for (i, f) in frames.iter().enumerate() {
            out.extend(w(1000 + i as u32));
            out.extend(w(500));
            out.extend(w(f.len() as u32));
            out.extend(w(f.len() as u32));
            out.extend_from_slice(f);
        }
        out
    }

    #[test]
    fn reads_both_byte_orders_and_units() {
        let f = qinq_icmp();
        for (le, nanos) in [(true, false), (false, false), (true, true), (false, true)] {
            let frames = parse_pcap(&file(le, nanos, &[&f, &f[..20]])).unwrap();
            assert_eq!(frames.len(), 2);
            assert_eq!(frames[0].data, f);
            assert_eq!(frames[1].data.len(), 20);
            let sub = if nanos {
                Duration::from_nanos(500)
            } else {
                Duration::from_micros(500)
            };
            assert_eq!(frames[0].ts, Duration::from_secs(1000) + sub);
        }
    }

    #[test]
    fn truncated_tail_is_ignored() {
        let f = qinq_icmp();
        let mut bytes = file(true, false, &[&f, &f]);
        bytes.truncate(bytes.len() - 5);
        assert_eq!(parse_pcap(&bytes).unwrap().len(), 1);
        assert!(parse_pcap(&bytes[..10]).is_err());
        assert!(parse_pcap(&[0u8; 24]).is_err());
        // Header only: an empty capture.
        assert!(parse_pcap(&bytes[..24]).unwrap().is_empty());
    }

    #[test]
    fn qinq_tags_and_icmp() {
        let frame = CapturedFrame {
            ts: Duration::ZERO,
            orig_len: 0,
            linktype: LINKTYPE_ETHERNET,
            data: qinq_icmp(),
        };
        assert_eq!(frame.ethertype(), Some(TPID_8021AD));
        assert_eq!(frame.vlan_ids(), [20, 100]);
        let tags = frame.vlan_tags();
        assert_eq!(
            (tags[1].tpid, tags[1].pcp, tags[1].dei),
            (TPID_8021Q, 5, false)
        );
        assert_eq!(frame.inner_ethertype(), Some(ETHERTYPE_IPV4));
        assert!(frame.is_icmp());
        let ip = frame.ipv4().unwrap();
        assert_eq!(
            (ip.proto, ip.src, ip.dst),
            (1, [10, 0, 3, 100], [10, 0, 3, 101])
        );
        assert_eq!(frame.src_mac(), Some([0x52, 0x54, 0, 0, 0, 1]));
        assert_eq!(frame.udp(), None);
    }

    #[test]
    fn vxlan_decap() {
        let inner = qinq_icmp();
        let mut f = vec![0u8; 12];
        f.extend([0x08, 0x00]);
        let total = 20 + 8 + 8 + inner.len();
        f.extend([
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0,
            0,
            64,
            17,
            0,
            0,
        ]);
        f.extend([192, 168, 0, 1, 192, 168, 0, 3]);
        f.extend([0xc0, 0x00, 0x12, 0xb5, 0, (8 + 8 + inner.len()) as u8, 0, 0]);
        f.extend([0x08, 0, 0, 0, 0x01, 0x86, 0xa0, 0]); // VNI 100000
        f.extend(&inner);
        let frame = CapturedFrame {
            ts: Duration::ZERO,
            orig_len: 0,
            linktype: LINKTYPE_ETHERNET,
            data: f,
        };
        assert_eq!(frame.vxlan_vni(), Some(100_000));
        assert_eq!(frame.vxlan_inner().unwrap().vlan_ids(), [20, 100]);
        assert!(!frame.is_icmp());
    }

    #[test]
    fn cooked_captures() {
        let mut sll2 = vec![0x08, 0x00, 0, 0];
        sll2.extend([0u8; 16]);
        sll2.extend(&qinq_icmp()[22..]);
        let frame = CapturedFrame {
            ts: Duration::ZERO,
            orig_len: 0,
            linktype: LINKTYPE_LINUX_SLL2,
            data: sll2,
        };
        assert_eq!(frame.inner_ethertype(), Some(ETHERTYPE_IPV4));
        assert!(frame.is_icmp());
        assert_eq!(frame.src_mac(), None);
    }

    fn ethernet(data: Vec<u8>) -> CapturedFrame {
        CapturedFrame {
            ts: Duration::ZERO,
            orig_len: data.len() as u32,
            linktype: LINKTYPE_ETHERNET,
            data,
        }
    }

    #[test]
    fn cooked_v1_with_a_tag() {
        // SLL: packet type, ARPHRD_ETHER, address length 6, the address
        // padded to 8, then the protocol: a tag as libpcap puts it back.
        let mut sll = vec![0, 0, 0, 1, 0, 6, 0x52, 0x54, 0, 0, 0, 1, 0, 0];
        sll.extend([0x81, 0x00, 0x00, 100, 0x08, 0x00]);
        sll.extend(&qinq_icmp()[22..]);
        let frame = CapturedFrame {
            ts: Duration::ZERO,
            orig_len: 0,
            linktype: LINKTYPE_LINUX_SLL,
            data: sll,
        };
        assert_eq!(frame.ethertype(), Some(TPID_8021Q));
        assert_eq!(frame.vlan_ids(), [100]);
        assert_eq!(frame.inner_ethertype(), Some(ETHERTYPE_IPV4));
        let ip = frame.ipv4().unwrap();
        assert_eq!((ip.src, ip.payload.len()), ([10, 0, 3, 100], 8));
        assert!(frame.is_icmp());
        assert_eq!(frame.dst_mac(), None);
        // A cooked header cut short is no frame.
        let short = CapturedFrame {
            data: frame.data[..15].to_vec(),
            ..frame
        };
        assert_eq!((short.ethertype(), short.meta()), (None, None));
    }

    #[test]
    fn a_frame_the_walk_refuses_still_has_addresses() {
        let mut cut = qinq_icmp();
        cut.truncate(46); // the IPv4 total length says 28, 24 are left
        let frame = ethernet(cut);
        assert_eq!(frame.malformed(), Some(Malformed::BadIpv4Length));
        assert_eq!(frame.src_mac(), Some([0x52, 0x54, 0, 0, 0, 1]));
        assert_eq!(frame.ethertype(), Some(TPID_8021AD));
        assert!(frame.vlan_tags().is_empty() && frame.ipv4().is_none() && !frame.is_icmp());

        let three_tags = FrameBuilder::new(mac(1), mac(2))
            .qinq(20, 100)
            .vlan(7)
            .ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
            .icmp_echo(true, 1, 1, b"");
        let frame = ethernet(three_tags);
        assert_eq!(frame.malformed(), Some(Malformed::TooManyVlanTags));
        assert!(frame.vlan_ids().is_empty());
        assert_eq!(ethernet(qinq_icmp()).malformed(), None);
    }

    #[test]
    fn built_vxlan_udp_and_padding() {
        let inner = FrameBuilder::new(mac(1), mac(2))
            .vlan(10)
            .ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
            .udp(1000, 53, b"query");
        let outer = FrameBuilder::new(mac(3), mac(4))
            .ipv4(Ipv4Addr::new(192, 168, 0, 1), Ipv4Addr::new(192, 168, 0, 3))
            .vxlan(49_152, 100_000, &inner);
        let frame = ethernet(outer);
        let (sport, dport, payload) = frame.udp().unwrap();
        assert_eq!(
            (sport, dport, payload.len()),
            (49_152, VXLAN_PORT, 8 + inner.len())
        );
        let ip = frame.ipv4().unwrap();
        assert_eq!(usize::from(ip.total_len), 20 + 8 + 8 + inner.len());
        assert!(!ip.is_fragment);
        assert_eq!(frame.vxlan_vni(), Some(100_000));
        let decap = frame.vxlan_inner().unwrap();
        assert_eq!(
            (decap.data.as_slice(), decap.orig_len),
            (&inner[..], inner.len() as u32)
        );
        assert_eq!(decap.vlan_ids(), [10]);
        assert_eq!(decap.udp(), Some((1000, 53, &b"query"[..])));
        assert_eq!(decap.vxlan_vni(), None);

        // Ethernet padding is not payload.
        let short = FrameBuilder::new(mac(1), mac(2))
            .ipv4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
            .pad_to(60)
            .udp(1, 2, b"x");
        let frame = ethernet(short);
        assert_eq!(frame.data.len(), 60);
        assert_eq!(frame.udp(), Some((1, 2, &b"x"[..])));
        assert_eq!(frame.ipv4().unwrap().payload.len(), 9);
    }
}
