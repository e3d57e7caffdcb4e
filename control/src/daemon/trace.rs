//! `xsdn trace`: build the frame an operator describes, so the worker's
//! pipeline can explain what it would do with it (nothing is sent).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use xsdn_dataplane::tables::Tpid;
use xsdn_dataplane::wire::build::{FrameBuilder, MAX_PAYLOAD};
use xsdn_dataplane::wire::tcp::TcpFlags;
use xsdn_dataplane::wire::{EtherType, EthernetAddress, VlanTag};

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

fn mac(what: &str, text: &str) -> Result<EthernetAddress, String> {
    text.parse::<EthernetAddress>()
        .map_err(|_| format!("{what} {text:?} is not a MAC address"))
}

/// Builds the frame `spec` describes (with the dataplane's own frame
/// builder, so a trace frame is built exactly as the tests build theirs).
pub fn build(spec: &FrameSpec) -> Result<Vec<u8>, String> {
    let src = mac("--src-mac", &spec.src_mac)?;
    let dst = mac("--dst-mac", &spec.dst_mac)?;
    let outer_tpid = match spec.vlan_protocol.as_str() {
        "802.1q" => Tpid::Dot1q,
        "802.1ad" => Tpid::Dot1ad,
        other => {
            return Err(format!(
                "--vlan-protocol {other:?}: expected 802.1q or 802.1ad"
            ));
        }
    };
    if spec.vlans.len() > 2 {
        return Err("at most two --vlan tags".into());
    }
    if spec.payload > MAX_PAYLOAD {
        return Err(format!(
            "--payload {}: at most {MAX_PAYLOAD} bytes",
            spec.payload
        ));
    }
    let mut builder = FrameBuilder::new(src, dst).pad_to(60);
    for (i, &vid) in spec.vlans.iter().enumerate() {
        let tpid = if i == 0 { outer_tpid } else { Tpid::Dot1q };
        builder = builder.tag(VlanTag {
            tpid: EtherType::from_raw(tpid.raw()),
            pcp: 0,
            dei: false,
            vid: vid & 0x0fff,
        });
    }
    let frame = if spec.proto == "arp" {
        let (IpAddr::V4(sender), IpAddr::V4(target)) = (spec.src_ip, spec.dst_ip) else {
            return Err("ARP needs IPv4 --src-ip and --dst-ip".into());
        };
        builder.arp_request(sender, target)
    } else {
        let builder = match (spec.src_ip, spec.dst_ip) {
            (IpAddr::V4(s), IpAddr::V4(d)) => builder.ipv4(s, d),
            (IpAddr::V6(s), IpAddr::V6(d)) => builder.ipv6(s, d),
            (s, d) => return Err(format!("{s} and {d} are not of the same family")),
        };
        let payload = vec![0x5a_u8; spec.payload];
        match spec.proto.as_str() {
            "udp" => builder.udp(spec.sport, spec.dport, &payload),
            "tcp" => builder.tcp(
                spec.sport,
                spec.dport,
                TcpFlags::PSH | TcpFlags::ACK,
                &payload,
            ),
            "icmp" => builder.icmp_echo(true, 1, 1, &payload),
            other => return Err(format!("--proto {other:?}: expected udp, tcp, icmp or arp")),
        }
    };
    let Some(vni) = spec.vni else {
        return Ok(frame);
    };
    let (Some(outer_src), Some(outer_dst)) = (spec.outer_src_ip, spec.outer_dst_ip) else {
        return Err(
            "--vni needs --outer-src-ip (the peer) and --outer-dst-ip (this node's VTEP)".into(),
        );
    };
    let outer = FrameBuilder::new(OUTER_SRC_MAC, OUTER_DST_MAC).dont_frag(false);
    let outer = match (outer_src, outer_dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => outer.ipv4(s, d),
        (IpAddr::V6(s), IpAddr::V6(d)) => outer.ipv6(s, d),
        (s, d) => return Err(format!("{s} and {d} are not of the same family")),
    };
    Ok(outer.vxlan_to(VXLAN_SOURCE_PORT, spec.vxlan_port, vni, &frame))
}

/// Outer MACs of a traced VXLAN frame (the pipeline does not check them).
const OUTER_SRC_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0xfd]);
const OUTER_DST_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0xfe]);
/// UDP source port of a traced VXLAN frame.
const VXLAN_SOURCE_PORT: u16 = 50000;

#[cfg(test)]
mod tests {
    use super::*;
    use xsdn_dataplane::wire::checksum;
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

    #[test]
    fn payloads_are_bounded_before_anything_is_allocated() {
        let at_most = build(&FrameSpec {
            payload: MAX_PAYLOAD,
            ..spec()
        })
        .expect("the largest payload builds");
        assert!(at_most.len() > MAX_PAYLOAD);
        let err = build(&FrameSpec {
            payload: MAX_PAYLOAD + 1,
            ..spec()
        })
        .expect_err("too large");
        assert!(err.contains("--payload"), "{err}");
    }
}
