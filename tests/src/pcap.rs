//! A small reader for classic pcap files (what `tcpdump -w` writes) and
//! the captured frames, with helpers to look at VLAN tags, ethertypes and
//! the IPv4/UDP/VXLAN headers tests assert on.
//!
//! Format (libpcap `savefile.c`, pcap(5)): a 24-byte file header whose
//! magic gives byte order and timestamp unit (`a1b2c3d4` microseconds,
//! `a1b23c4d` nanoseconds), then records of a 16-byte header
//! (`ts_sec, ts_frac, incl_len, orig_len`) and `incl_len` bytes. A record
//! cut short at the end (tcpdump stopped mid-write) is ignored.

use std::time::Duration;

use anyhow::{Result, bail};

/// Link type: Ethernet.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// Link type: Linux cooked capture v1 (`tcpdump -i any`, old libpcap).
pub const LINKTYPE_LINUX_SLL: u32 = 113;
/// Link type: Linux cooked capture v2 (`tcpdump -i any`).
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// 802.1Q C-tag TPID.
pub const TPID_8021Q: u16 = 0x8100;
/// 802.1ad S-tag TPID.
pub const TPID_8021AD: u16 = 0x88a8;
/// Legacy QinQ TPID.
pub const TPID_QINQ_OLD: u16 = 0x9100;
/// IPv4 ethertype.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// ARP ethertype.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// IPv6 ethertype.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// VXLAN UDP port (RFC 7348).
pub const VXLAN_PORT: u16 = 4789;

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

/// The IPv4 header fields tests look at, and what follows the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4View<'a> {
    /// IP protocol number (1 ICMP, 6 TCP, 17 UDP).
    pub proto: u8,
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Bytes after the IPv4 header.
    pub payload: &'a [u8],
}

/// A VLAN tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanTag {
    /// Tag protocol id (0x8100, 0x88a8, ...).
    pub tpid: u16,
    /// Priority code point.
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN id.
    pub vid: u16,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
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
    /// Offset of the (outermost) ethertype field and whether the frame has
    /// Ethernet addresses.
    fn ethertype_offset(&self) -> Option<usize> {
        match self.linktype {
            LINKTYPE_ETHERNET => Some(12),
            LINKTYPE_LINUX_SLL => Some(14),
            LINKTYPE_LINUX_SLL2 => Some(0),
            _ => None,
        }
    }

    /// Where the payload after the (outermost) ethertype starts.
    fn after_ethertype(&self) -> Option<usize> {
        match self.linktype {
            LINKTYPE_LINUX_SLL2 => Some(20),
            _ => self.ethertype_offset().map(|o| o + 2),
        }
    }

    /// Destination MAC (Ethernet captures only).
    pub fn dst_mac(&self) -> Option<[u8; 6]> {
        (self.linktype == LINKTYPE_ETHERNET).then(|| self.data.get(0..6)?.try_into().ok())?
    }

    /// Source MAC (Ethernet captures only).
    pub fn src_mac(&self) -> Option<[u8; 6]> {
        (self.linktype == LINKTYPE_ETHERNET).then(|| self.data.get(6..12)?.try_into().ok())?
    }

    /// The outermost ethertype (a TPID if the frame is tagged).
    pub fn ethertype(&self) -> Option<u16> {
        be16(&self.data, self.ethertype_offset()?)
    }

    /// VLAN tags, outermost first, and the offset after them.
    fn walk_tags(&self) -> Option<(Vec<VlanTag>, u16, usize)> {
        let mut tags = Vec::new();
        let mut et = self.ethertype()?;
        let mut at = self.after_ethertype()?;
        while matches!(et, TPID_8021Q | TPID_8021AD | TPID_QINQ_OLD) {
            let tci = be16(&self.data, at)?;
            tags.push(VlanTag {
                tpid: et,
                pcp: (tci >> 13) as u8,
                dei: tci & 0x1000 != 0,
                vid: tci & 0x0fff,
            });
            et = be16(&self.data, at + 2)?;
            at += 4;
        }
        Some((tags, et, at))
    }

    /// VLAN tags, outermost first (empty if untagged).
    pub fn vlan_tags(&self) -> Vec<VlanTag> {
        self.walk_tags().map(|(t, _, _)| t).unwrap_or_default()
    }

    /// VLAN ids, outermost first: `[20, 100]` for QinQ S-tag 20, C-tag 100.
    pub fn vlan_ids(&self) -> Vec<u16> {
        self.vlan_tags().iter().map(|t| t.vid).collect()
    }

    /// The ethertype after all VLAN tags.
    pub fn inner_ethertype(&self) -> Option<u16> {
        self.walk_tags().map(|(_, et, _)| et)
    }

    /// The network-layer bytes after all VLAN tags.
    pub fn l3(&self) -> Option<&[u8]> {
        let (_, _, at) = self.walk_tags()?;
        self.data.get(at..)
    }

    /// The IPv4 header (after any VLAN tags), if this is IPv4.
    pub fn ipv4(&self) -> Option<Ipv4View<'_>> {
        if self.inner_ethertype()? != ETHERTYPE_IPV4 {
            return None;
        }
        let ip = self.l3()?;
        let ihl = usize::from(*ip.first()? & 0x0f) * 4;
        if ip.first()? >> 4 != 4 || ihl < 20 {
            return None;
        }
        Some(Ipv4View {
            proto: *ip.get(9)?,
            src: ip.get(12..16)?.try_into().ok()?,
            dst: ip.get(16..20)?.try_into().ok()?,
            payload: ip.get(ihl..)?,
        })
    }

    /// True for ICMP (IPv4) or ICMPv6 frames.
    pub fn is_icmp(&self) -> bool {
        if let Some(ip) = self.ipv4() {
            return ip.proto == 1;
        }
        self.inner_ethertype() == Some(ETHERTYPE_IPV6)
            && self.l3().and_then(|ip| ip.get(6)).copied() == Some(58)
    }

    /// UDP `(src port, dst port, payload)` of an IPv4 frame.
    pub fn udp(&self) -> Option<(u16, u16, &[u8])> {
        let ip = self.ipv4()?;
        if ip.proto != 17 {
            return None;
        }
        let l4 = ip.payload;
        Some((be16(l4, 0)?, be16(l4, 2)?, l4.get(8..)?))
    }

    /// The VNI if this is a VXLAN frame (UDP to port 4789).
    pub fn vxlan_vni(&self) -> Option<u32> {
        let (_, dport, payload) = self.udp()?;
        if dport != VXLAN_PORT || payload.len() < 8 || payload[0] & 0x08 == 0 {
            return None;
        }
        Some(u32::from_be_bytes([0, payload[4], payload[5], payload[6]]))
    }

    /// The encapsulated Ethernet frame of a VXLAN frame.
    pub fn vxlan_inner(&self) -> Option<CapturedFrame> {
        self.vxlan_vni()?;
        let (_, _, payload) = self.udp()?;
        Some(CapturedFrame {
            ts: self.ts,
            orig_len: (payload.len() - 8) as u32,
            linktype: LINKTYPE_ETHERNET,
            data: payload[8..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
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
}
