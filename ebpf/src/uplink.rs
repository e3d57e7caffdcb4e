//! The kernel tier on uplinks (XDP): established traffic from the wire to
//! a local guest port, forwarded without leaving the kernel.
//!
//! A frame qualifies when:
//! - its outer tag (and customer tag) is bound to a bridge domain on this
//!   uplink (`TAGBIND`), or it is untagged IPv4 VXLAN (no IP options, not
//!   a fragment, VXLAN I flag) to one of our VTEP addresses (`LOCALIPS`),
//!   on a bound UDP port and VNI (`VNIBIND`), from a peer of that bridge
//!   domain (`PEERS`);
//! - its (inner) source is installed in the current generation of the
//!   domain as living behind this very uplink (or, for VXLAN, this very
//!   peer), and its destination as a guest port of the same domain that
//!   accepts redirected frames (`PORT_FLAG_XDP_TARGET`).
//!
//! Then the tags are popped (or the outer headers removed) and the frame
//! goes to the guest port: redirected from XDP when the port is a tap and
//! the frame is not TCP; otherwise (TCP, or a veth, which cannot take XDP
//! redirects), when the uplink's tc program is attached, marked with a
//! `RedirectMeta` and passed up the stack, where GRO merges a TCP stream's
//! segments before the tc program ([`redirect_marked`]) redirects the
//! merged frame to the port, as the kernel's own path would deliver it. A
//! frame above the port's MTU is dropped and counted, as userspace would.
//! Anything else returns `None`: the caller steers it as before (AF_XDP or
//! the kernel).

use aya_ebpf::bindings::xdp_action;
use aya_ebpf::bindings::{TC_ACT_OK, TC_ACT_SHOT};
use aya_ebpf::helpers::{bpf_redirect, bpf_xdp_adjust_head, bpf_xdp_adjust_meta};
use aya_ebpf::programs::{TcContext, XdpContext};
use xsdn_common::ethertype::{IPV4, IPV6, QINQ, VLAN};
use xsdn_common::kernel_tier::{
    BIND_QINQ, BIND_QINQ_UNTAGGED, BIND_VLAN, BIND_VXLAN, BindValue, IpKey, PeerKey, TagBindKey,
    PARKED_DST_MAC, REDIRECT_MAGIC, RedirectMeta, VniBindKey,
};
use xsdn_common::{PORT_FLAG_UPLINK_TC, PORT_FLAG_XDP_TARGET, PortConf, PortMode, action};

use crate::maps::{LOCALIPS, PEERS, TAGBIND, VNIBIND, bd, fdb, port, source};
use crate::packet::{ETH_HLEN, is_group, macs, read, read_be16, read_be32, read_u8};
use crate::stats;

const IPPROTO_UDP: u8 = 17;
const IPPROTO_TCP: u8 = 6;
/// Outer IPv4 (no options) + UDP + VXLAN in front of the inner frame.
const VXLAN_V4_OUTER: usize = ETH_HLEN + 20 + 8 + 8;
const TAG_LEN: usize = 4;

/// Where a classified frame came from, for the source check.
enum From {
    /// A tagged frame on this uplink.
    Uplink,
    /// VXLAN from this peer (IPv4, network order bytes).
    Peer([u8; 4]),
}

/// A frame from the wire that found its bridge domain.
struct Wire {
    bd: u16,
    from: From,
    /// Offset of the inner destination MAC.
    macs_at: usize,
    /// Bytes to remove in front of the inner frame's body: tags after the
    /// MACs, or the outer headers before them.
    strip: usize,
    /// Whether the body after the stripped tags still starts with a tag
    /// (counts against the MTU, as Linux counts a second tag).
    body_tagged: bool,
}

/// Forwards an established frame to its guest port, or returns `None`.
#[inline(always)]
pub fn forward(ctx: &XdpContext, ifindex: u32, conf: &PortConf) -> Option<u32> {
    let wire = classify(ctx, ifindex)?;
    let domain = bd(wire.bd)?;
    let (dst, src) = macs(ctx, wire.macs_at)?;
    if is_group(&dst) {
        return None;
    }
    let seen = source(wire.bd, src, domain.generation)?;
    let source = seen.value;
    let came_back = match wire.from {
        From::Uplink => {
            source.ifindex == ifindex
                && matches!(source.action.kind, action::kind::VLAN | action::kind::QINQ)
        }
        From::Peer(ip) => source.action.kind == action::kind::VXLAN && source.outer_dst_ip == ip,
    };
    if !came_back {
        return None;
    }
    let target = fdb(wire.bd, dst, domain.generation)?;
    if target.action.kind != action::kind::PLAIN {
        return None;
    }
    let egress = port(target.ifindex)?;
    if PortMode::from_raw(egress.mode) != PortMode::Guest || egress.bd != wire.bd {
        return None;
    }
    // Two ways to the guest port: an XDP redirect (taps only; cheapest per
    // frame), or up the stack, marked for the uplink's tc program (any
    // guest port; GRO merges a TCP stream's segments on the way, so TCP
    // takes it whenever it can).
    let direct = egress.flags & PORT_FLAG_XDP_TARGET != 0;
    let via_stack =
        conf.flags & PORT_FLAG_UPLINK_TC != 0 && (!direct || inner_is_tcp(ctx, &wire));
    if !direct && !via_stack {
        return None;
    }
    let len = (ctx.data_end() - ctx.data()) as u64;
    // A runt (no full inner Ethernet header) goes to userspace, which
    // counts it as malformed.
    let out_len = len.checked_sub(wire.strip as u64)?;
    let l2_len = ETH_HLEN as u64 + if wire.body_tagged { TAG_LEN as u64 } else { 0 };
    let l3_len = out_len.checked_sub(l2_len)?;
    if l3_len > u64::from(target.mtu) {
        stats::mtu_exceeded(conf.slot, wire.bd, len);
        return Some(xdp_action::XDP_DROP);
    }
    // The mark first: it fails only before anything changed (a driver
    // without metadata support), and stripping moves it along.
    let marked = via_stack && mark(ctx, target.ifindex, dst);
    if !marked && !direct {
        return None;
    }
    if !strip(ctx, &wire) {
        return None;
    }
    if marked && !park_destination(ctx) {
        return Some(xdp_action::XDP_DROP);
    }
    seen.seen();
    stats::forwarded(conf.slot, wire.bd, len, egress.slot, out_len);
    if marked {
        return Some(xdp_action::XDP_PASS);
    }
    // SAFETY: plain helper call with an ifindex and no flags.
    Some(unsafe { bpf_redirect(target.ifindex, 0) } as u32)
}

/// Whether the inner frame is TCP over IPv4 or IPv6 (no tag of its own).
#[inline(always)]
fn inner_is_tcp(ctx: &XdpContext, wire: &Wire) -> bool {
    if wire.body_tagged {
        return false;
    }
    let ethertype_at = wire.macs_at + 12 + if wire.macs_at == 0 { wire.strip } else { 0 };
    let l3 = ethertype_at + 2;
    match read_be16(ctx, ethertype_at) {
        Some(IPV4) => read_u8(ctx, l3 + 9) == Some(IPPROTO_TCP),
        Some(IPV6) => read_u8(ctx, l3 + 6) == Some(IPPROTO_TCP),
        _ => false,
    }
}

/// Puts a [`RedirectMeta`] for `ifindex` and the frame's destination
/// `dst` in front of the frame.
#[inline(always)]
fn mark(ctx: &XdpContext, ifindex: u32, dst: [u8; 6]) -> bool {
    const LEN: usize = core::mem::size_of::<RedirectMeta>();
    // SAFETY: plain helper call; a negative delta grows the metadata area.
    if unsafe { bpf_xdp_adjust_meta(ctx.ctx, -(LEN as i32)) } != 0 {
        return false;
    }
    let (meta, data) = (ctx.metadata(), ctx.data());
    if meta + LEN > data {
        return false;
    }
    let value = RedirectMeta {
        magic: REDIRECT_MAGIC,
        ifindex,
        dst_mac: dst,
        reserved: 0,
    };
    // SAFETY: `meta..meta + LEN` is inside the metadata area (checked
    // against `data` above, as the verifier requires).
    unsafe { core::ptr::write_unaligned(meta as *mut RedirectMeta, value) };
    true
}

/// Writes [`PARKED_DST_MAC`] over the (stripped) frame's destination; the
/// real one is in the metadata.
#[inline(always)]
fn park_destination(ctx: &XdpContext) -> bool {
    let start = ctx.data();
    if start + 6 > ctx.data_end() {
        return false;
    }
    // SAFETY: `start + 6 <= data_end` was checked just above.
    unsafe { core::ptr::write_unaligned(start as *mut [u8; 6], PARKED_DST_MAC) };
    true
}

/// tc ingress on an uplink: redirects what the XDP program marked (see
/// [`RedirectMeta`]) to its guest port; everything else goes on as usual.
#[inline(always)]
pub fn redirect_marked(ctx: &TcContext) -> i32 {
    const LEN: usize = core::mem::size_of::<RedirectMeta>();
    // SAFETY: plain reads of the verifier-checked `__sk_buff`.
    let (meta, data) = unsafe {
        (
            (*ctx.skb.skb).data_meta as usize,
            (*ctx.skb.skb).data as usize,
        )
    };
    if meta + LEN > data {
        return TC_ACT_OK;
    }
    // SAFETY: `meta..meta + LEN` lies before `data`, checked above.
    let value = unsafe { core::ptr::read_unaligned(meta as *const RedirectMeta) };
    if value.magic != REDIRECT_MAGIC {
        return TC_ACT_OK;
    }
    // The real destination back in place of the parked one.
    if ctx.store(0, &value.dst_mac, 0).is_err() {
        return TC_ACT_SHOT;
    }
    // SAFETY: plain helper call with an ifindex and no flags.
    unsafe { bpf_redirect(value.ifindex, 0) as i32 }
}

/// Removes the tags after the MACs, or the outer headers before them.
#[inline(always)]
fn strip(ctx: &XdpContext, wire: &Wire) -> bool {
    if wire.macs_at == 0 {
        // Tags: move the 12 MAC bytes forward over them.
        let Some(mac_bytes) = read::<12, XdpContext>(ctx, 0) else {
            return false;
        };
        // SAFETY: the context pointer is the one the program was given.
        if unsafe { bpf_xdp_adjust_head(ctx.ctx, wire.strip as i32) } != 0 {
            return false;
        }
        let start = ctx.data();
        if start + 12 > ctx.data_end() {
            return false;
        }
        // SAFETY: `start + 12 <= data_end` was checked just above.
        unsafe { core::ptr::write_unaligned(start as *mut [u8; 12], mac_bytes) };
        true
    } else {
        // SAFETY: as above; the inner frame starts `strip` bytes in.
        unsafe { bpf_xdp_adjust_head(ctx.ctx, wire.strip as i32) == 0 }
    }
}

/// The bridge domain of a frame from the wire, if the kernel tier can
/// handle it.
#[inline(always)]
fn classify(ctx: &XdpContext, ifindex: u32) -> Option<Wire> {
    match read_be16(ctx, 12)? {
        tpid @ (VLAN | QINQ) => tagged(ctx, ifindex, tpid),
        IPV4 => vxlan_v4(ctx),
        _ => None,
    }
}

/// A frame with an outer 802.1Q or 802.1ad tag: a VLAN zone's VNet (one
/// tag popped; a guest's own tag may follow), a QinQ zone's (the service
/// tag and the customer tag popped) or a QinQ zone's tag-less VNet (only
/// the service tag, and nothing may follow it).
#[inline(always)]
fn tagged(ctx: &XdpContext, ifindex: u32, tpid: u16) -> Option<Wire> {
    let vid = read_be16(ctx, ETH_HLEN)? & 0x0fff;
    // The EtherType after the first and after the second tag.
    let next = read_be16(ctx, 12 + TAG_LEN)?;
    let inner_tag = matches!(next, VLAN | QINQ);
    if next == VLAN {
        let c_vid = read_be16(ctx, ETH_HLEN + TAG_LEN)? & 0x0fff;
        let key = TagBindKey {
            ifindex,
            tpid,
            vid,
            c_vid,
            reserved: 0,
        };
        if let Some(bind) = bind(&key)
            && bind.kind == BIND_QINQ
        {
            let after = read_be16(ctx, 12 + 2 * TAG_LEN)?;
            return Some(Wire {
                bd: bind.bd,
                from: From::Uplink,
                macs_at: 0,
                strip: 2 * TAG_LEN,
                body_tagged: matches!(after, VLAN | QINQ),
            });
        }
    }
    let key = TagBindKey {
        ifindex,
        tpid,
        vid,
        c_vid: 0,
        reserved: 0,
    };
    let bind = bind(&key)?;
    match bind.kind {
        BIND_VLAN => Some(Wire {
            bd: bind.bd,
            from: From::Uplink,
            macs_at: 0,
            strip: TAG_LEN,
            body_tagged: inner_tag,
        }),
        // Any tag after the service tag names no VNet of the zone:
        // userspace drops it with its reason.
        BIND_QINQ_UNTAGGED if !inner_tag => Some(Wire {
            bd: bind.bd,
            from: From::Uplink,
            macs_at: 0,
            strip: TAG_LEN,
            body_tagged: false,
        }),
        _ => None,
    }
}

#[inline(always)]
fn bind(key: &TagBindKey) -> Option<BindValue> {
    // SAFETY: plain `Copy` value read once.
    unsafe { TAGBIND.get(key) }.copied()
}

/// Untagged IPv4 VXLAN to us from a peer of the VNI's bridge domain.
#[inline(always)]
fn vxlan_v4(ctx: &XdpContext) -> Option<Wire> {
    // Version 4, no options, UDP, not a fragment.
    if read_u8(ctx, ETH_HLEN)? != 0x45 || read_u8(ctx, ETH_HLEN + 9)? != IPPROTO_UDP {
        return None;
    }
    if read_be16(ctx, ETH_HLEN + 6)? & 0x3fff != 0 {
        return None;
    }
    let peer: [u8; 4] = read(ctx, ETH_HLEN + 12)?;
    let local: [u8; 4] = read(ctx, ETH_HLEN + 16)?;
    let udp = ETH_HLEN + 20;
    let port = read_be16(ctx, udp + 2)?;
    let flags = read_u8(ctx, udp + 8)?;
    if flags != 0x08 {
        return None;
    }
    let vni = read_be32(ctx, udp + 12)? >> 8;
    let key = VniBindKey {
        udp_port: port,
        reserved: 0,
        vni,
    };
    // SAFETY: plain `Copy` value read once.
    let bind = unsafe { VNIBIND.get(&key) }.copied()?;
    if bind.kind != BIND_VXLAN {
        return None;
    }
    if LOCALIPS.get_ptr(&ip_key(local)).is_none() {
        return None;
    }
    let peer_key = PeerKey {
        bd: u32::from(bind.bd),
        ip: ip_key(peer),
    };
    PEERS.get_ptr(&peer_key)?;
    Some(Wire {
        bd: bind.bd,
        from: From::Peer(peer),
        macs_at: VXLAN_V4_OUTER,
        strip: VXLAN_V4_OUTER,
        body_tagged: matches!(read_be16(ctx, VXLAN_V4_OUTER + 12), Some(VLAN | QINQ)),
    })
}

#[inline(always)]
fn ip_key(v4: [u8; 4]) -> IpKey {
    let mut addr = [0u8; 16];
    addr[..4].copy_from_slice(&v4);
    IpKey { family: 4, addr }
}
