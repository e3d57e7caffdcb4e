//! The xsdn XDP program.
//!
//! Layer: first touch of every frame on an interface the dataplane owns.
//! Guarantees:
//! - it never modifies a frame;
//! - a frame is either redirected to the AF_XDP socket of its
//!   (port, rx queue) or passed to the kernel; nothing is dropped here;
//! - with no socket bound to the slot, `bpf_redirect_map` falls back to
//!   `XDP_PASS`, so a stopped or crashed dataplane leaves the kernel path
//!   working (fail-open);
//! - frames that cannot be classified (too short, unknown interface) go to
//!   the kernel; so do, on a guest port whose bridge carries host
//!   addresses, the frames for the host's own stack (unicast to the
//!   bridge's MAC, ARP, IPv6 neighbour discovery); `STATS` counts passed,
//!   redirected, unknown-port, fell-back and to-host frames;
//! - it logs (through aya-log, into the daemon's log) only rare events, and
//!   those rate-limited: the 1st, 2nd, 4th, 8th... occurrence per CPU.
//!
//! Map layouts are shared with userspace through `xsdn-common`.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::{HashMap, PerCpuArray, XskMap},
    programs::XdpContext,
};
use aya_log_ebpf::warn;
use xsdn_common::ethertype::{
    ARP as ETH_P_ARP, IPV4 as ETH_P_IPV4, IPV6 as ETH_P_IPV6, QINQ as ETH_P_8021AD, VLAN as ETH_P_8021Q,
};
use xsdn_common::{
    MAX_PORTS, MAX_QUEUES_PER_PORT, PORT_FLAG_HOST_PATH, PortConf, PortMode, STEER_MAP_SIZE, SteerKey, SteerKind,
    XDP_STAT_COUNT, XSKMAP_SIZE, XdpStat,
};

#[map(name = "XSKS")]
static XSKS: XskMap = XskMap::with_max_entries(XSKMAP_SIZE, 0);

#[map(name = "PORTS")]
static PORTS: HashMap<u32, PortConf> = HashMap::with_max_entries(MAX_PORTS, 0);

#[map(name = "STEER")]
static STEER: HashMap<SteerKey, u32> = HashMap::with_max_entries(STEER_MAP_SIZE, 0);

#[map(name = "STATS")]
static STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(XDP_STAT_COUNT, 0);

const ETH_HLEN: usize = 14;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_ICMPV6: u8 = 58;
/// ICMPv6 router solicitation .. redirect: the neighbour discovery types.
const ND_FIRST: u8 = 133;
const ND_LAST: u8 = 137;
const IPV6_HLEN: usize = 40;
/// Upper bound on header offsets read (keeps the verifier's range small).
const MAX_PARSE: usize = 128;

/// Entry point: classify, then redirect or pass.
#[xdp]
pub fn xsdn_xdp(ctx: XdpContext) -> u32 {
    steer(&ctx)
}

fn steer(ctx: &XdpContext) -> u32 {
    // SAFETY: `ingress_ifindex` and `rx_queue_index` are plain reads of the
    // verifier-checked `xdp_md` context.
    let (ifindex, queue) = unsafe { ((*ctx.ctx).ingress_ifindex, (*ctx.ctx).rx_queue_index) };
    // SAFETY: the map value is a plain `Copy` struct read once; the
    // reference does not outlive this statement.
    let Some(conf) = (unsafe { PORTS.get(&ifindex) }).copied() else {
        if count(XdpStat::UnknownPort).is_power_of_two() {
            warn!(
                ctx,
                "frame on ifindex {} which is not a dataplane port (passed to the kernel)", ifindex
            );
        }
        return xdp_action::XDP_PASS;
    };
    let wanted = match PortMode::from_raw(conf.mode) {
        PortMode::Pass => false,
        PortMode::SteerAll => {
            if conf.flags & PORT_FLAG_HOST_PATH != 0 && for_host(ctx, &conf.host_mac) {
                return pass(XdpStat::ToHost);
            }
            true
        }
        PortMode::SteerMatched => steer_matched(ctx, ifindex),
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
        .redirect(
            conf.xsk_base.wrapping_add(queue),
            xdp_action::XDP_PASS as u64,
        )
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
/// router/neighbour discovery. The kernel bridge delivers it locally and
/// floods ARP/ND to its other ports itself, so each guest still sees such
/// a frame once.
#[inline(always)]
fn for_host(ctx: &XdpContext, host_mac: &[u8; 6]) -> bool {
    if read::<6>(ctx, 0) == Some(*host_mac) {
        return true;
    }
    match read_be16(ctx, 12) {
        Some(ETH_P_ARP) => true,
        Some(ETH_P_IPV6) => {
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

/// The steering key of an uplink frame: its outer VLAN tag, or the UDP
/// destination port of an untagged IPv4/IPv6 UDP datagram, with the
/// offset of its UDP header.
fn steer_key(ctx: &XdpContext, ifindex: u32) -> Option<(SteerKey, Option<usize>)> {
    let ethertype = read_be16(ctx, 12)?;
    let (kind, value, udp_at) = match ethertype {
        ETH_P_8021Q => (SteerKind::Dot1qVid, read_be16(ctx, ETH_HLEN)? & 0x0fff, None),
        ETH_P_8021AD => (SteerKind::Dot1adVid, read_be16(ctx, ETH_HLEN)? & 0x0fff, None),
        ETH_P_IPV4 => {
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
        ETH_P_IPV6 => {
            if read_u8(ctx, ETH_HLEN + 6)? != IPPROTO_UDP {
                return None;
            }
            let udp_at = ETH_HLEN + IPV6_HLEN;
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

/// `N` bytes at `offset` in the frame, or `None` past its end (or past
/// [`MAX_PARSE`], which keeps the verifier's ranges small). One bounds
/// check covers all `N` bytes, in the `data + offset + N > data_end` form
/// the verifier learns a range from (a one-byte read at offset 0 can be
/// folded into `data >= data_end`, which it does not accept: read wider).
#[inline(always)]
fn read<const N: usize>(ctx: &XdpContext, offset: usize) -> Option<[u8; N]> {
    let start = ctx.data();
    if offset >= MAX_PARSE || start + offset + N > ctx.data_end() {
        return None;
    }
    // SAFETY: `start + offset + N <= data_end` was checked above, so the N
    // bytes are inside the packet; unaligned read of a byte array.
    Some(unsafe { core::ptr::read_unaligned((start + offset) as *const [u8; N]) })
}

#[inline(always)]
fn read_u8(ctx: &XdpContext, offset: usize) -> Option<u8> {
    read::<1>(ctx, offset).map(|[byte]| byte)
}

#[inline(always)]
fn read_be16(ctx: &XdpContext, offset: usize) -> Option<u16> {
    read(ctx, offset).map(u16::from_be_bytes)
}

#[inline(always)]
fn read_be32(ctx: &XdpContext, offset: usize) -> Option<u32> {
    read(ctx, offset).map(u32::from_be_bytes)
}

#[inline(always)]
fn pass(stat: XdpStat) -> u32 {
    let _ = count(stat);
    xdp_action::XDP_PASS
}

/// Increments a counter; returns its new value on this CPU.
#[inline(always)]
fn count(stat: XdpStat) -> u64 {
    match STATS.get_ptr_mut(stat as u32) {
        Some(slot) => {
            // SAFETY: per-CPU slot, no concurrent writer on this CPU while
            // the program runs.
            unsafe {
                *slot += 1;
                *slot
            }
        }
        None => 0,
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
