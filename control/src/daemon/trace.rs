//! `xsdn trace`: build the frame an operator describes, so the worker's
//! pipeline can explain what it would do with it (nothing is sent).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use xsdn_dataplane::wire::EthernetAddress;
use xsdn_dataplane::wire::checksum;

/// A frame described on the command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
pub struct FrameSpec {
    /// Interface the frame arrives on (a guest port or an uplink).
    #[arg(long)]
    pub port: String,
    /// Source MAC.
    #[arg(long, default_value = "02:00:00:00:00:01")]
    pub src_mac: String,
    /// Destination MAC.
    #[arg(long, default_value = "ff:ff:ff:ff:ff:ff")]
    pub dst_mac: String,
    /// VLAN tag; repeat for QinQ (outer first).
    #[arg(long = "vlan", value_name = "VID")]
    #[serde(default)]
    pub vlans: Vec<u16>,
    /// Protocol of the outer tag: 802.1q or 802.1ad (inner tags are 802.1q).
    #[arg(long, default_value = "802.1q")]
    pub vlan_protocol: String,
    /// Source IP (IPv4 or IPv6; ARP uses it as sender).
    #[arg(long, default_value = "10.0.0.1")]
    pub src_ip: IpAddr,
    /// Destination IP (ARP: the address asked for).
    #[arg(long, default_value = "10.0.0.2")]
    pub dst_ip: IpAddr,
    /// Payload protocol: udp, tcp, icmp or arp.
    #[arg(long, default_value = "udp")]
    pub proto: String,
    /// UDP/TCP source port.
    #[arg(long, default_value_t = 40000)]
    pub sport: u16,
    /// UDP/TCP destination port.
    #[arg(long, default_value_t = 80)]
    pub dport: u16,
    /// Payload bytes (UDP/TCP/ICMP).
    #[arg(long, default_value_t = 32)]
    pub payload: usize,
    /// Wrap the frame in VXLAN with this VNI (it arrives on an uplink).
    #[arg(long)]
    pub vni: Option<u32>,
    /// VXLAN outer source address (the sending VTEP).
    #[arg(long)]
    pub outer_src_ip: Option<IpAddr>,
    /// VXLAN outer destination address (this node's VTEP).
    #[arg(long)]
    pub outer_dst_ip: Option<IpAddr>,
    /// VXLAN UDP destination port.
    #[arg(long, default_value_t = 4789)]
    pub vxlan_port: u16,
}

fn mac(what: &str, text: &str) -> Result<[u8; 6], String> {
    text.parse::<EthernetAddress>()
        .map(|m| m.0)
        .map_err(|_| format!("{what} {text:?} is not a MAC address"))
}

/// Appends Ethernet header (with tags) ending in `ethertype`.
fn ethernet(out: &mut Vec<u8>, dst: [u8; 6], src: [u8; 6], tags: &[(u16, u16)], ethertype: u16) {
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    for &(tpid, vid) in tags {
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    out.extend_from_slice(&ethertype.to_be_bytes());
}

/// Appends an IPv4 or IPv6 header for `l4_len` bytes of `proto`.
fn ip_header(
    out: &mut Vec<u8>,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    l4_len: usize,
) -> Result<(), String> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let start = out.len();
            let total = (20 + l4_len) as u16;
            out.extend_from_slice(&[0x45, 0]);
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            checksum::fill_ipv4_header(&mut out[start..start + 20])
                .map_err(|_| "cannot build the IPv4 header".to_owned())
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(l4_len as u16).to_be_bytes());
            out.extend_from_slice(&[proto, 64]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            Ok(())
        }
        _ => Err(format!("{src} and {dst} are not of the same family")),
    }
}

fn pseudo_sum(src: IpAddr, dst: IpAddr, proto: u8, len: usize) -> u16 {
    use xsdn_dataplane::wire::IpProtocol;
    let proto = IpProtocol::from_raw(proto);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => checksum::pseudo_header_v4(&s, &d, proto, len as u16),
        (IpAddr::V6(s), IpAddr::V6(d)) => checksum::pseudo_header_v6(&s, &d, proto, len as u32),
        _ => 0,
    }
}

/// The L3 payload (L4 header + payload) and its IP protocol number.
fn l4(spec: &FrameSpec) -> Result<(u8, Vec<u8>), String> {
    let payload = vec![0x5a_u8; spec.payload];
    let (proto, mut seg, csum_at) = match spec.proto.as_str() {
        "udp" => {
            let len = (8 + payload.len()) as u16;
            let mut seg = Vec::with_capacity(len as usize);
            seg.extend_from_slice(&spec.sport.to_be_bytes());
            seg.extend_from_slice(&spec.dport.to_be_bytes());
            seg.extend_from_slice(&len.to_be_bytes());
            seg.extend_from_slice(&[0, 0]);
            (17u8, seg, 6)
        }
        "tcp" => {
            let mut seg = Vec::with_capacity(20 + payload.len());
            seg.extend_from_slice(&spec.sport.to_be_bytes());
            seg.extend_from_slice(&spec.dport.to_be_bytes());
            seg.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
            (6u8, seg, 16)
        }
        "icmp" => {
            let (ty, proto) = if spec.src_ip.is_ipv4() {
                (8u8, 1u8)
            } else {
                (128u8, 58u8)
            };
            (proto, vec![ty, 0, 0, 0, 0, 1, 0, 1], 2)
        }
        other => return Err(format!("--proto {other:?}: expected udp, tcp, icmp or arp")),
    };
    seg.extend_from_slice(&payload);
    let pseudo = if proto == 1 {
        0
    } else {
        pseudo_sum(spec.src_ip, spec.dst_ip, proto, seg.len())
    };
    let mut sum = checksum::compute(pseudo, &seg);
    if proto == 17 && sum == 0 {
        sum = 0xffff;
    }
    seg[csum_at..csum_at + 2].copy_from_slice(&sum.to_be_bytes());
    Ok((proto, seg))
}

/// Builds the frame `spec` describes.
pub fn build(spec: &FrameSpec) -> Result<Vec<u8>, String> {
    let src = mac("--src-mac", &spec.src_mac)?;
    let dst = mac("--dst-mac", &spec.dst_mac)?;
    let outer_tpid = match spec.vlan_protocol.as_str() {
        "802.1q" => 0x8100,
        "802.1ad" => 0x88a8,
        other => {
            return Err(format!(
                "--vlan-protocol {other:?}: expected 802.1q or 802.1ad"
            ));
        }
    };
    if spec.vlans.len() > 2 {
        return Err("at most two --vlan tags".into());
    }
    let tags: Vec<(u16, u16)> = spec
        .vlans
        .iter()
        .enumerate()
        .map(|(i, &vid)| (if i == 0 { outer_tpid } else { 0x8100 }, vid))
        .collect();
    let mut frame = Vec::with_capacity(128 + spec.payload);
    if spec.proto == "arp" {
        let (IpAddr::V4(sender), IpAddr::V4(target)) = (spec.src_ip, spec.dst_ip) else {
            return Err("ARP needs IPv4 --src-ip and --dst-ip".into());
        };
        ethernet(&mut frame, dst, src, &tags, 0x0806);
        frame.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
        frame.extend_from_slice(&src);
        frame.extend_from_slice(&sender.octets());
        frame.extend_from_slice(&[0; 6]);
        frame.extend_from_slice(&target.octets());
    } else {
        let (proto, seg) = l4(spec)?;
        let ethertype = if spec.src_ip.is_ipv4() {
            0x0800
        } else {
            0x86dd
        };
        ethernet(&mut frame, dst, src, &tags, ethertype);
        ip_header(&mut frame, spec.src_ip, spec.dst_ip, proto, seg.len())?;
        frame.extend_from_slice(&seg);
    }
    while frame.len() < 60 {
        frame.push(0);
    }
    let Some(vni) = spec.vni else {
        return Ok(frame);
    };
    let (Some(outer_src), Some(outer_dst)) = (spec.outer_src_ip, spec.outer_dst_ip) else {
        return Err(
            "--vni needs --outer-src-ip (the peer) and --outer-dst-ip (this node's VTEP)".into(),
        );
    };
    let mut udp = Vec::with_capacity(16 + frame.len());
    udp.extend_from_slice(&50000u16.to_be_bytes());
    udp.extend_from_slice(&spec.vxlan_port.to_be_bytes());
    udp.extend_from_slice(&((16 + frame.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&[0x08, 0, 0, 0]);
    udp.extend_from_slice(&(vni << 8).to_be_bytes());
    udp.extend_from_slice(&frame);
    if outer_src.is_ipv6() {
        let sum = checksum::compute(pseudo_sum(outer_src, outer_dst, 17, udp.len()), &udp);
        udp[6..8].copy_from_slice(&(if sum == 0 { 0xffff } else { sum }).to_be_bytes());
    }
    let mut outer = Vec::with_capacity(64 + udp.len());
    let ethertype = if outer_src.is_ipv4() { 0x0800 } else { 0x86dd };
    ethernet(
        &mut outer,
        [2, 0, 0, 0, 0, 0xfe],
        [2, 0, 0, 0, 0, 0xfd],
        &[],
        ethertype,
    );
    ip_header(&mut outer, outer_src, outer_dst, 17, udp.len())?;
    outer.extend_from_slice(&udp);
    Ok(outer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xsdn_dataplane::wire::{L3Meta, L4Meta, parse_frame, parse_vxlan};

    fn spec() -> FrameSpec {
        FrameSpec {
            port: "tap101i0".into(),
            src_mac: "52:54:00:00:00:01".into(),
            dst_mac: "52:54:00:00:00:02".into(),
            vlans: Vec::new(),
            vlan_protocol: "802.1q".into(),
            src_ip: "10.0.3.100".parse().expect("ip"),
            dst_ip: "10.0.3.101".parse().expect("ip"),
            proto: "udp".into(),
            sport: 40000,
            dport: 80,
            payload: 32,
            vni: None,
            outer_src_ip: None,
            outer_dst_ip: None,
            vxlan_port: 4789,
        }
    }

    #[test]
    fn builds_valid_frames_with_checksums() {
        for proto in ["udp", "tcp", "icmp"] {
            let mut f = build(&FrameSpec {
                proto: proto.into(),
                ..spec()
            })
            .expect("frame");
            let meta = parse_frame(&f).expect("parses");
            assert!(
                checksum::verify_l4_checksum(&f, &meta).expect("fits"),
                "{proto} checksum"
            );
            assert!(checksum::verify_ipv4_checksum(&f, &meta));
            assert_eq!(
                checksum::complete_partial_l4_checksum(&mut f, &meta).expect("fits"),
                if proto == "icmp" {
                    checksum::ChecksumFix::NotApplicable
                } else {
                    checksum::ChecksumFix::Valid
                }
            );
        }
        let v6 = build(&FrameSpec {
            src_ip: "2001:db8::1".parse().expect("ip"),
            dst_ip: "2001:db8::2".parse().expect("ip"),
            ..spec()
        })
        .expect("v6");
        let meta = parse_frame(&v6).expect("parses");
        assert!(matches!(meta.l3, L3Meta::Ipv6 { .. }));
        assert!(checksum::verify_l4_checksum(&v6, &meta).expect("fits"));
    }

    #[test]
    fn builds_tags_arp_and_vxlan() {
        let f = build(&FrameSpec {
            vlans: vec![20, 100],
            vlan_protocol: "802.1ad".into(),
            ..spec()
        })
        .expect("qinq");
        let meta = parse_frame(&f).expect("parses");
        let tags: Vec<(u16, u16)> = meta
            .tags
            .as_slice()
            .iter()
            .map(|t| (t.tpid.raw(), t.vid))
            .collect();
        assert_eq!(tags, [(0x88a8, 20), (0x8100, 100)]);
        let arp = build(&FrameSpec {
            proto: "arp".into(),
            ..spec()
        })
        .expect("arp");
        assert!(matches!(
            parse_frame(&arp).expect("arp").l3,
            L3Meta::Arp { .. }
        ));
        let vx = build(&FrameSpec {
            vni: Some(100000),
            outer_src_ip: Some("192.168.0.3".parse().expect("ip")),
            outer_dst_ip: Some("192.168.0.1".parse().expect("ip")),
            ..spec()
        })
        .expect("vxlan");
        let meta = parse_frame(&vx).expect("outer");
        assert!(matches!(meta.l4, L4Meta::Udp { dst_port: 4789, .. }));
        let inner = parse_vxlan(&vx, &meta).expect("vxlan").expect("is vxlan");
        assert_eq!(inner.vni, 100000);
        assert!(
            build(&FrameSpec {
                vni: Some(1),
                ..spec()
            })
            .is_err(),
            "outer addresses required"
        );
        assert!(
            build(&FrameSpec {
                proto: "sctp".into(),
                ..spec()
            })
            .is_err()
        );
    }
}
