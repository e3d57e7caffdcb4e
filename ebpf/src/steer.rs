//! The XDP program: first touch of every frame on uplinks and on the punt
//! device.
//!
//! For every frame it looks up the interface's `PortConf`:
//! - uplinks (`SteerMatched`): established traffic of the kernel tier is
//!   forwarded to its guest port ([`crate::uplink`]); otherwise the frame is
//!   redirected to the dataplane's AF_XDP socket if its outer VLAN tag is
//!   steered, or, for untagged IPv4/IPv6 UDP, both its destination port and
//!   its VXLAN VNI are; everything else (the host's own traffic, VXLAN the
//!   kernel serves) passes to the kernel;
//! - the punt device and guest ports without the tc program (`SteerAll`):
//!   every frame to AF_XDP, except, where the host has addresses on the
//!   port's bridge (`PORT_FLAG_HOST_PATH`), the frames for the host's own
//!   stack;
//! - anything else passes to the kernel.
//!
//! It never modifies a frame it does not forward itself; with no socket in
//! the XSKMAP slot, `bpf_redirect_map` falls back to `XDP_PASS`
//! (fail-open).

use aya_ebpf::bindings::xdp_action;
use aya_ebpf::programs::XdpContext;
use aya_log_ebpf::warn;
use xsdn_common::ethertype::{ARP, IPV4, IPV6, QINQ, VLAN};
use xsdn_common::{MAX_QUEUES_PER_PORT, PORT_FLAG_HOST_PATH, PORT_FLAG_KERNEL_TIER, PortMode, SteerKey, SteerKind, XdpStat};

use crate::maps::{STEER, XSKS, port};
use crate::packet::{ETH_HLEN, read, read_be16, read_be32, read_u8};
use crate::stats::count;

const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;
/// ICMPv6 router solicitation .. redirect: the neighbour discovery types.
const ND_FIRST: u8 = 133;
const ND_LAST: u8 = 137;
const IPV6_HLEN: usize = 40;
/// IPv4 "more fragments" flag in the flags/offset word.
const IPV4_MORE_FRAGMENTS: u16 = 0x2000;
/// IPv6 fragment header.
const IPV6_EXT_FRAGMENT: u8 = 44;

/// Classifies one frame: forward, redirect to AF_XDP, or pass.
#[inline(always)]
pub fn run(ctx: &XdpContext) -> u32 {
    // SAFETY: `ingress_ifindex` and `rx_queue_index` are plain reads of the
    // verifier-checked `xdp_md` context.
    let (ifindex, queue) = unsafe { ((*ctx.ctx).ingress_ifindex, (*ctx.ctx).rx_queue_index) };
    let Some(conf) = port(ifindex) else {
        if count(XdpStat::UnknownPort).is_power_of_two() {
            warn!(
                ctx,
                "frame on ifindex {} which is not a dataplane port (passed to the kernel)", ifindex
            );
        }
        return xdp_action::XDP_PASS;
    };
    let wanted = match PortMode::from_raw(conf.mode) {
        PortMode::Pass | PortMode::Guest => false,
        PortMode::SteerAll => {
            if conf.flags & PORT_FLAG_HOST_PATH != 0 && for_host(ctx, &conf.host_mac) {
                return pass(XdpStat::ToHost);
            }
            true
        }
        PortMode::SteerMatched => {
            if conf.flags & PORT_FLAG_KERNEL_TIER != 0
                && let Some(action) = crate::uplink::forward(ctx, ifindex, &conf)
            {
                return action;
            }
            steer_matched(ctx, ifindex)
        }
    };
    if !wanted {
        return pass(XdpStat::Passed);
    }
    let _ = count(XdpStat::Redirected);
    if queue >= MAX_QUEUES_PER_PORT {
        // Beyond the port's XSKMAP slots: never index another port's slot.
        if count(XdpStat::FellBack).is_power_of_two() {
            warn!(
                ctx,
                "ifindex {} queue {}: beyond the dataplane's queues, frame passed to the kernel",
                ifindex,
                queue
            );
        }
        return xdp_action::XDP_PASS;
    }
    let action = XSKS
        .redirect(conf.xsk_base.wrapping_add(queue), xdp_action::XDP_PASS as u64)
        .unwrap_or(xdp_action::XDP_PASS);
    if action == xdp_action::XDP_PASS && count(XdpStat::FellBack).is_power_of_two() {
        warn!(
            ctx,
            "ifindex {} queue {}: no AF_XDP socket, frame passed to the kernel", ifindex, queue
        );
    }
    action
}

/// Whether a frame from a guest is for the host's own stack on the guest's
/// kernel bridge (MAC `host_mac`): unicast to that MAC, ARP, or IPv6
/// router/neighbour discovery.
#[inline(always)]
pub fn for_host<P: crate::packet::Packet>(ctx: &P, host_mac: &[u8; 6]) -> bool {
    if read::<6, P>(ctx, 0) == Some(*host_mac) {
        return true;
    }
    match read_be16(ctx, 12) {
        Some(ARP) => true,
        Some(IPV6) => {
            read_u8(ctx, ETH_HLEN + 6) == Some(IPPROTO_ICMPV6)
                && matches!(read_u8(ctx, ETH_HLEN + IPV6_HLEN), Some(ND_FIRST..=ND_LAST))
        }
        _ => false,
    }
}

/// Whether an uplink frame belongs to the dataplane: its outer VLAN tag
/// is steered, or it is UDP to a steered port carrying a steered VNI (VXLAN
/// with other VNIs on the same port, e.g. EVPN served by the kernel, stays
/// with the kernel).
#[inline(always)]
fn steer_matched(ctx: &XdpContext, ifindex: u32) -> bool {
    let Some((key, udp_at)) = steer_key(ctx, ifindex) else {
        return false;
    };
    if STEER.get_ptr(&key).is_none() {
        return false;
    }
    let Some(udp_at) = udp_at else {
        return true;
    };
    // A datagram to a VXLAN port that the kernel would have to reassemble
    // or parse past extension headers goes to userspace, which drops and
    // counts it, whatever its "VNI" bytes say: the kernel must never get
    // it (its fail-open vxlan device accepts any source). Without its
    // first fragment the kernel cannot reassemble the rest.
    if needs_reassembly(ctx) {
        return true;
    }
    // VXLAN header after the 8-byte UDP header: flags, 3 reserved bytes,
    // then the VNI in the upper 24 bits of the second word.
    match read_be32(ctx, udp_at + 8 + 4) {
        Some(word) => {
            let vni = SteerKey {
                ifindex,
                kind: SteerKind::VxlanVni as u32,
                value: word >> 8,
            };
            STEER.get_ptr(&vni).is_some()
        }
        None => false,
    }
}

/// Whether an untagged IPv4 frame is a first fragment (more fragments
/// follow), or an IPv6 frame reached its UDP header through a fragment
/// header.
#[inline(always)]
fn needs_reassembly(ctx: &XdpContext) -> bool {
    match read_be16(ctx, 12) {
        Some(IPV4) => read_be16(ctx, ETH_HLEN + 6).is_some_and(|f| f & IPV4_MORE_FRAGMENTS != 0),
        Some(IPV6) => read_u8(ctx, ETH_HLEN + 6) != Some(IPPROTO_UDP),
        _ => false,
    }
}

/// Offset of the UDP header of an IPv6 packet: right after the fixed
/// header, or after a fragment header when it is the first fragment.
/// `None` otherwise (not UDP, a later fragment, other extension headers:
/// left to the kernel, see docs/reliability.md).
#[inline(always)]
fn ipv6_udp_offset(ctx: &XdpContext) -> Option<usize> {
    const FRAGMENT_AT: usize = ETH_HLEN + IPV6_HLEN;
    match read_u8(ctx, ETH_HLEN + 6)? {
        IPPROTO_UDP => Some(FRAGMENT_AT),
        IPV6_EXT_FRAGMENT => {
            // Only the first fragment (offset 0) carries the UDP header.
            let first = read_be16(ctx, FRAGMENT_AT + 2)? & 0xfff8 == 0;
            (first && read_u8(ctx, FRAGMENT_AT)? == IPPROTO_UDP).then_some(FRAGMENT_AT + 8)
        }
        _ => None,
    }
}

/// The steering key of an uplink frame: its outer VLAN tag, or the UDP
/// destination port of an untagged IPv4/IPv6 UDP datagram, with the
/// offset of its UDP header.
fn steer_key(ctx: &XdpContext, ifindex: u32) -> Option<(SteerKey, Option<usize>)> {
    let ethertype = read_be16(ctx, 12)?;
    let (kind, value, udp_at) = match ethertype {
        VLAN => (SteerKind::Dot1qVid, read_be16(ctx, ETH_HLEN)? & 0x0fff, None),
        QINQ => (SteerKind::Dot1adVid, read_be16(ctx, ETH_HLEN)? & 0x0fff, None),
        IPV4 => {
            let ver_ihl = read_u8(ctx, ETH_HLEN)?;
            if ver_ihl >> 4 != 4 || read_u8(ctx, ETH_HLEN + 9)? != IPPROTO_UDP {
                return None;
            }
            // Only the first fragment carries the UDP header.
            if read_be16(ctx, ETH_HLEN + 6)? & 0x1fff != 0 {
                return None;
            }
            let ihl = usize::from(ver_ihl & 0x0f) * 4;
            if ihl < 20 {
                return None; // malformed: the kernel deals with it
            }
            let udp_at = ETH_HLEN + ihl;
            (SteerKind::UdpDstPort, read_be16(ctx, udp_at + 2)?, Some(udp_at))
        }
        IPV6 => {
            let udp_at = ipv6_udp_offset(ctx)?;
            (SteerKind::UdpDstPort, read_be16(ctx, udp_at + 2)?, Some(udp_at))
        }
        _ => return None,
    };
    let key = SteerKey {
        ifindex,
        kind: kind as u32,
        value: u32::from(value),
    };
    Some((key, udp_at))
}

#[inline(always)]
fn pass(stat: XdpStat) -> u32 {
    let _ = count(stat);
    xdp_action::XDP_PASS
}
