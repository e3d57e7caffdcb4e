//! The kernel tier on guest ports (tc ingress): a guest's established
//! traffic forwarded without leaving the kernel; everything else punted to
//! userspace.
//!
//! VMs (taps with offloads) and containers (veths) send TCP as GSO
//! super-frames; this hook sees each skb before segmentation, so a
//! super-frame costs one run and stays whole: tags are pushed with
//! `bpf_skb_vlan_push`, VXLAN is added with `bpf_skb_adjust_room` and the
//! encapsulation flags, so the stack segments it correctly later.
//!
//! A frame is forwarded when it carries no tag of its own, its destination
//! is unicast, its source is installed in the current generation of the
//! port's bridge domain as living behind this very port, and its
//! destination is installed too. Then, by the destination's action:
//! - plain: to another guest port of the same domain (never back to this
//!   port, never between guests of an isolated domain);
//! - VLAN / QinQ: tags pushed, to the zone's uplink;
//! - VXLAN over IPv4: outer headers added (next hop MACs and addresses as
//!   userspace resolved them), to the uplink.
//!
//! A frame that would exceed the egress MTU is dropped and counted, as
//! userspace would. Frames for the host's own stack on the port's bridge
//! pass to the kernel. Everything else is punted: an 802.1ad tag carrying
//! the port slot is pushed and the frame is redirected to the punt device,
//! whose XDP program steers it to the dataplane's AF_XDP socket (the punt
//! device does not offload VLAN insertion, so the tag is written into the
//! frame, outermost).

use aya_ebpf::bindings::{
    BPF_F_ADJ_ROOM_ENCAP_L2_ETH, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4, BPF_F_ADJ_ROOM_ENCAP_L4_UDP,
    BPF_F_ADJ_ROOM_FIXED_GSO, TC_ACT_OK, TC_ACT_SHOT, bpf_adj_room_mode::BPF_ADJ_ROOM_MAC,
    bpf_check_mtu_flags::BPF_MTU_CHK_SEGS,
};
use aya_ebpf::helpers::{
    bpf_check_mtu, bpf_get_hash_recalc, bpf_get_prandom_u32, bpf_redirect, bpf_skb_vlan_push,
};
use aya_ebpf::programs::TcContext;
use xsdn_common::ethertype::{IPV4, IPV6, QINQ, VLAN};
use xsdn_common::kernel_tier::{BD_FLAG_ISOLATED, FdbValue};
use xsdn_common::{
    ACTION_FLAG_C_TAG, PORT_FLAG_HOST_PATH, PORT_FLAG_KERNEL_TIER, PortConf, PortMode, action,
};

use crate::maps::{PUNT, bd, fdb, port, source};
use crate::packet::{ETH_HLEN, is_group, macs, read, read_be16, read_u8};
use crate::stats;
use crate::steer::for_host;

/// Outer Ethernet + IPv4 + UDP + VXLAN.
const VXLAN_V4_LEN: usize = 50;
/// UDP source ports of encapsulations: `49152 + hash % 16384` (RFC 7348).
const SOURCE_PORT_BASE: u16 = 49152;
/// Largest frame an encapsulation may produce (IPv4 and UDP lengths are
/// 16 bits).
const MAX_ENCAP_LEN: u32 = 65_535;
/// IP protocol number of TCP.
const IPPROTO_TCP: u8 = 6;

/// Forwards, passes or punts one frame from a guest.
#[inline(always)]
pub fn run(ctx: &TcContext) -> i32 {
    // SAFETY: plain read of the verifier-checked `__sk_buff`.
    let ifindex = unsafe { (*ctx.skb.skb).ingress_ifindex };
    let Some(conf) = port(ifindex) else {
        return TC_ACT_OK as i32;
    };
    if PortMode::from_raw(conf.mode) != PortMode::Guest {
        return TC_ACT_OK as i32;
    }
    if conf.flags & PORT_FLAG_HOST_PATH != 0 && for_host(ctx, &conf.host_mac) {
        let _ = stats::count(xsdn_common::XdpStat::ToHost);
        return TC_ACT_OK as i32;
    }
    if conf.flags & PORT_FLAG_KERNEL_TIER != 0
        && let Some(verdict) = forward(ctx, ifindex, &conf)
    {
        return verdict;
    }
    punt(ctx, &conf)
}

/// Hands the frame to userspace through the punt device (the kernel
/// bridge, fail-open, when there is none).
#[inline(always)]
fn punt(ctx: &TcContext, conf: &PortConf) -> i32 {
    let punt_if = PUNT.get(0).copied().unwrap_or(0);
    if punt_if == 0 {
        return TC_ACT_OK as i32;
    }
    // SAFETY: helper call on this program's skb.
    if unsafe { bpf_skb_vlan_push(ctx.skb.skb, QINQ.to_be(), conf.slot) } != 0 {
        return TC_ACT_OK as i32;
    }
    stats::punted(conf.slot);
    // SAFETY: plain helper call with an ifindex and no flags.
    unsafe { bpf_redirect(punt_if, 0) as i32 }
}

/// Forwards an established frame, or returns `None` to punt it.
#[inline(always)]
fn forward(ctx: &TcContext, ifindex: u32, conf: &PortConf) -> Option<i32> {
    // SAFETY: plain read of the verifier-checked `__sk_buff`.
    if unsafe { (*ctx.skb.skb).vlan_present } != 0 {
        return None;
    }
    if matches!(read_be16(ctx, 12)?, VLAN | QINQ) {
        return None;
    }
    let (dst, src) = macs(ctx, 0)?;
    if is_group(&dst) {
        return None;
    }
    let domain = bd(conf.bd)?;
    let seen = source(conf.bd, src, domain.generation)?;
    let source = seen.value;
    if source.ifindex != ifindex || source.action.kind != action::kind::PLAIN {
        return None;
    }
    let target = fdb(conf.bd, dst, domain.generation)?;
    let len = u64::from(ctx.len());
    let egress = port(target.ifindex)?;
    let rewrite = match target.action.kind {
        action::kind::PLAIN => {
            if target.ifindex == ifindex
                || domain.flags & BD_FLAG_ISOLATED != 0
                || PortMode::from_raw(egress.mode) != PortMode::Guest
                || egress.bd != conf.bd
            {
                return None;
            }
            Rewrite::Done
        }
        action::kind::VLAN | action::kind::QINQ
            if PortMode::from_raw(egress.mode) == PortMode::SteerMatched =>
        {
            // With two tags, one sits in the frame's data where the MTU
            // check of a GSO frame's segments (from the network header)
            // does not see it: check those segments here first.
            if target.action.flags & ACTION_FLAG_C_TAG != 0
                && !segments_fit(ctx, target.mtu.saturating_sub(4))?
            {
                stats::mtu_exceeded(conf.slot, conf.bd, len);
                return Some(TC_ACT_SHOT as i32);
            }
            push_tags(ctx, &target)
        }
        action::kind::VXLAN if PortMode::from_raw(egress.mode) == PortMode::SteerMatched => {
            encapsulate(ctx, &target)
        }
        _ => return None,
    };
    match rewrite {
        Rewrite::Done => {}
        Rewrite::Untouched => return None,
        Rewrite::Broken => return Some(TC_ACT_SHOT as i32),
    }
    if !fits(ctx, target.ifindex) {
        stats::mtu_exceeded(conf.slot, conf.bd, len);
        return Some(TC_ACT_SHOT as i32);
    }
    seen.seen();
    stats::forwarded(conf.slot, conf.bd, len, egress.slot, u64::from(ctx.len()));
    // SAFETY: plain helper call with an ifindex and no flags.
    Some(unsafe { bpf_redirect(target.ifindex, 0) as i32 })
}

/// How a rewrite went.
enum Rewrite {
    /// The frame is ready for its egress.
    Done,
    /// Nothing was changed: userspace can take the frame as it came.
    Untouched,
    /// Changed halfway: it can go nowhere.
    Broken,
}

/// Whether the (rewritten) frame fits the egress MTU, segment by segment
/// for a GSO frame, the way the kernel counts it (the first VLAN tag is
/// free).
#[inline(always)]
fn fits(ctx: &TcContext, ifindex: u32) -> bool {
    let mut mtu_len: u32 = 0;
    // SAFETY: helper call on this program's skb with a valid out pointer.
    let ret = unsafe {
        bpf_check_mtu(
            ctx.skb.skb as *mut _,
            ifindex,
            &mut mtu_len,
            0,
            BPF_MTU_CHK_SEGS as u64,
        )
    };
    ret == 0
}

/// Whether the segments of the guest's (untagged) frame have at most
/// `l3_mtu` bytes from the IP header on: always for a frame without GSO
/// (the MTU check after the rewrite counts it whole); for a GSO frame,
/// its IP and TCP headers plus `gso_size`. `None` for a GSO frame that is
/// not TCP over IPv4 or IPv6 without extension headers (left to
/// userspace, which receives it segmented).
#[inline(always)]
fn segments_fit(ctx: &TcContext, l3_mtu: u32) -> Option<bool> {
    // SAFETY: plain read of the verifier-checked `__sk_buff`.
    let gso_size = unsafe { (*ctx.skb.skb).gso_size };
    if gso_size == 0 {
        return Some(true);
    }
    let (ip_len, protocol) = match read_be16(ctx, 12)? {
        IPV4 => (
            u32::from(read_u8(ctx, ETH_HLEN)? & 0x0f) * 4,
            read_u8(ctx, ETH_HLEN + 9)?,
        ),
        IPV6 => (40, read_u8(ctx, ETH_HLEN + 6)?),
        _ => return None,
    };
    if protocol != IPPROTO_TCP || ip_len < 20 {
        return None;
    }
    let doff = read_u8(ctx, ETH_HLEN + (ip_len as usize & 0x3c) + 12)?;
    let tcp_len = u32::from(doff >> 4) * 4;
    Some(ip_len + tcp_len + gso_size <= l3_mtu)
}

/// Pushes the tags of a VLAN or QinQ action (the first pushed is the inner
/// one; `bpf_skb_vlan_push` always adds the outermost).
#[inline(always)]
fn push_tags(ctx: &TcContext, target: &FdbValue) -> Rewrite {
    let a = &target.action;
    let push = |tpid: u16, vid: u16| {
        // SAFETY: helper call on this program's skb.
        unsafe { bpf_skb_vlan_push(ctx.skb.skb, tpid.to_be(), vid & 0x0fff) == 0 }
    };
    if a.kind == action::kind::VLAN {
        return if push(VLAN, a.vid) {
            Rewrite::Done
        } else {
            Rewrite::Untouched
        };
    }
    if a.flags & ACTION_FLAG_C_TAG != 0 && !push(VLAN, a.c_vid) {
        return Rewrite::Untouched;
    }
    if push(a.tpid, a.vid) {
        Rewrite::Done
    } else if a.flags & ACTION_FLAG_C_TAG != 0 {
        Rewrite::Broken
    } else {
        Rewrite::Untouched
    }
}

/// Adds VXLAN outer headers over IPv4 (RFC 7348 section 5): Ethernet to
/// the next hop, IPv4 from our VTEP address (TTL 64, DF clear), UDP from a
/// port hashed from the inner flow with checksum 0, VXLAN with the I flag.
#[inline(always)]
fn encapsulate(ctx: &TcContext, target: &FdbValue) -> Rewrite {
    let Some(inner_eth) = read::<ETH_HLEN, TcContext>(ctx, 0) else {
        return Rewrite::Untouched;
    };
    if ctx.len() > MAX_ENCAP_LEN - VXLAN_V4_LEN as u32 {
        return Rewrite::Untouched;
    }
    // SAFETY: helper call on this program's skb.
    let hash = unsafe { bpf_get_hash_recalc(ctx.skb.skb) };
    // FIXED_GSO: a GSO frame keeps its segment size (the kernel would
    // otherwise take the 50 bytes of outer headers off every segment);
    // the MTU check after the rewrite then measures each segment with its
    // outer headers, so a super-frame whose segments do not fit the
    // underlay is dropped and counted, as one frame that large would be.
    let flags = u64::from(BPF_F_ADJ_ROOM_ENCAP_L3_IPV4)
        | u64::from(BPF_F_ADJ_ROOM_ENCAP_L4_UDP)
        | u64::from(BPF_F_ADJ_ROOM_ENCAP_L2_ETH)
        | u64::from(BPF_F_ADJ_ROOM_FIXED_GSO)
        | ((ETH_HLEN as u64) << 56);
    if ctx
        .adjust_room(VXLAN_V4_LEN as i32, BPF_ADJ_ROOM_MAC, flags)
        .is_err()
    {
        return Rewrite::Untouched;
    }
    let len = ctx.len() as usize;
    let a = &target.action;
    let mut h = [0u8; VXLAN_V4_LEN + ETH_HLEN];
    h[0..6].copy_from_slice(&target.outer_dst_mac);
    h[6..12].copy_from_slice(&target.outer_src_mac);
    h[12..14].copy_from_slice(&IPV4.to_be_bytes());
    let ip = ETH_HLEN;
    h[ip] = 0x45;
    h[ip + 2..ip + 4].copy_from_slice(&((len - ETH_HLEN) as u16).to_be_bytes());
    // Identification: random, as the outer packets of a tunnel have no
    // counter of their own here (DF is clear, as the kernel's VXLAN sends).
    // SAFETY: plain helper call.
    let id = unsafe { bpf_get_prandom_u32() } as u16;
    h[ip + 4..ip + 6].copy_from_slice(&id.to_be_bytes());
    h[ip + 8] = 64;
    h[ip + 9] = 17;
    h[ip + 12..ip + 16].copy_from_slice(&target.outer_src_ip);
    h[ip + 16..ip + 20].copy_from_slice(&target.outer_dst_ip);
    let checksum = ipv4_checksum(&h, ip);
    h[ip + 10..ip + 12].copy_from_slice(&checksum.to_be_bytes());
    let udp = ip + 20;
    let source_port = SOURCE_PORT_BASE | (hash as u16 & 0x3fff);
    h[udp..udp + 2].copy_from_slice(&source_port.to_be_bytes());
    h[udp + 2..udp + 4].copy_from_slice(&a.udp_port.to_be_bytes());
    h[udp + 4..udp + 6].copy_from_slice(&((len - udp) as u16).to_be_bytes());
    let vxlan = udp + 8;
    h[vxlan] = 0x08;
    h[vxlan + 4..vxlan + 8].copy_from_slice(&(a.vni << 8).to_be_bytes());
    h[VXLAN_V4_LEN..].copy_from_slice(&inner_eth);
    match ctx.store(0, &h, 0) {
        Ok(()) => Rewrite::Done,
        Err(_) => Rewrite::Broken,
    }
}

/// The IPv4 header checksum of the 20 bytes at `at` (checksum field zero).
#[inline(always)]
fn ipv4_checksum(h: &[u8; VXLAN_V4_LEN + ETH_HLEN], at: usize) -> u16 {
    let mut sum: u32 = 0;
    let mut i = 0;
    while i < 20 {
        sum += u32::from(u16::from_be_bytes([h[at + i], h[at + i + 1]]));
        i += 2;
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    !(sum as u16)
}
