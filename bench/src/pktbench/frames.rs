//! The frames the small-frame benchmark sends: UDP/IPv4 from one guest to
//! the other, as the guest sends it ("from guest ports"), or as a peer puts
//! it on the node's uplink ("from the wire": 802.1Q tag, service + customer
//! tag, or VXLAN from a peer VTEP).
//!
//! Sizes are given as the guest's frame: `64` is the minimum Ethernet frame
//! (60 bytes here, the 4-byte FCS is not part of what software sends);
//! anything larger is the IPv4 packet size, capped at the VNet's MTU, plus
//! the 14-byte Ethernet header. Tags and outer headers come on top.

use std::net::Ipv4Addr;

use xsdn_dataplane::wire::build::FrameBuilder;
use xsdn_dataplane::wire::{EthernetAddress, VlanTag};

/// Ethernet + IPv4 + UDP headers of a guest frame.
const HEADERS: usize = 14 + 20 + 8;
/// The smallest frame without FCS.
const MIN_FRAME: usize = 60;
/// UDP destination port (discard).
const DST_PORT: u16 = 9;
/// UDP source port of the guest flow.
const SRC_PORT: u16 = 40000;
/// UDP source port of the outer VXLAN header.
const VXLAN_SRC_PORT: u16 = 50000;

/// The guest frame's length for a requested size and the VNet's MTU.
pub fn guest_len(size: usize, mtu: usize) -> usize {
    if size <= 64 {
        MIN_FRAME
    } else {
        size.min(mtu) + 14
    }
}

/// One guest's end of the flow.
#[derive(Clone, Copy, Debug)]
pub struct Host {
    /// MAC address.
    pub mac: EthernetAddress,
    /// IPv4 address.
    pub ip: Ipv4Addr,
}

/// How frames of a VNet travel on the uplink.
#[derive(Clone, Copy, Debug)]
pub enum Encap {
    /// Not at all (a simple zone), or untagged (the kernel bridge's
    /// stand-in for VLAN and QinQ zones).
    Untagged,
    /// Tags, outermost first.
    Tags([Option<VlanTag>; 2]),
    /// VXLAN from `peer` to `local` (addresses and MACs), VNI `vni`.
    Vxlan {
        /// Outer source MAC (the peer's next hop).
        peer_mac: EthernetAddress,
        /// Outer destination MAC (this node's).
        local_mac: EthernetAddress,
        /// Peer VTEP.
        peer: Ipv4Addr,
        /// This node's VTEP.
        local: Ipv4Addr,
        /// VNI.
        vni: u32,
        /// UDP destination port.
        port: u16,
    },
}

/// A UDP frame from `from` to `to` of `len` bytes (untagged).
pub fn guest_frame(from: Host, to: Host, len: usize) -> Vec<u8> {
    let payload = vec![0x5a; len.max(MIN_FRAME) - HEADERS];
    let frame = FrameBuilder::new(from.mac, to.mac)
        .ipv4(from.ip, to.ip)
        .udp(SRC_PORT, DST_PORT, &payload);
    debug_assert_eq!(frame.len(), len.max(MIN_FRAME));
    frame
}

/// The frame of `from` to `to` (guest length `len`) as it arrives on the
/// uplink with `encap`.
pub fn wire_frame(from: Host, to: Host, len: usize, encap: &Encap) -> Vec<u8> {
    let payload = vec![0x5a; len.max(MIN_FRAME) - HEADERS];
    match encap {
        Encap::Untagged => guest_frame(from, to, len),
        Encap::Tags(tags) => tags
            .iter()
            .flatten()
            .fold(FrameBuilder::new(from.mac, to.mac), |b, t| b.tag(*t))
            .ipv4(from.ip, to.ip)
            .udp(SRC_PORT, DST_PORT, &payload),
        Encap::Vxlan {
            peer_mac,
            local_mac,
            peer,
            local,
            vni,
            port,
        } => {
            let inner = guest_frame(from, to, len);
            FrameBuilder::new(*peer_mac, *local_mac)
                .ipv4(*peer, *local)
                .vxlan_to(VXLAN_SRC_PORT, *port, *vni, &inner)
        }
    }
}

/// A tag of `tpid` (`0x8100` or `0x88a8`) and `vid`.
pub fn tag(tpid: u16, vid: u16) -> VlanTag {
    if tpid == 0x88a8 {
        VlanTag::dot1ad(vid)
    } else {
        VlanTag::dot1q(vid)
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(n: u8) -> Host {
        Host {
            mac: EthernetAddress([0x52, 0x54, 0, 0, 0, n]),
            ip: Ipv4Addr::new(10, 0, 0, n),
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(guest_len(64, 1500), 60);
        assert_eq!(guest_len(1500, 1500), 1514);
        assert_eq!(guest_len(1500, 1450), 1464);
        assert_eq!(guest_frame(host(1), host(2), 60).len(), 60);
        assert_eq!(guest_frame(host(1), host(2), 1514).len(), 1514);
    }

    #[test]
    fn wire_forms() {
        let (a, b) = (host(2), host(1));
        let vlan = wire_frame(a, b, 60, &Encap::Tags([Some(tag(0x8100, 10)), None]));
        assert_eq!(vlan.len(), 64);
        assert_eq!(vlan[12..16], [0x81, 0x00, 0x00, 10]);
        let qinq = wire_frame(
            a,
            b,
            60,
            &Encap::Tags([Some(tag(0x88a8, 20)), Some(tag(0x8100, 100))]),
        );
        assert_eq!(qinq.len(), 68);
        assert_eq!(qinq[12..20], [0x88, 0xa8, 0, 20, 0x81, 0x00, 0, 100]);
        let vx = wire_frame(
            a,
            b,
            60,
            &Encap::Vxlan {
                peer_mac: EthernetAddress([2, 0, 0, 0, 0, 3]),
                local_mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
                peer: Ipv4Addr::new(192, 168, 0, 3),
                local: Ipv4Addr::new(192, 168, 0, 1),
                vni: 100_000,
                port: 4789,
            },
        );
        assert_eq!(vx.len(), 110);
        // The inner frame follows the 50 bytes of outer headers.
        assert_eq!(vx[50..56], b.mac.0);
        assert_eq!(hex(&[0x0a, 0xff]), "0aff");
    }
}
