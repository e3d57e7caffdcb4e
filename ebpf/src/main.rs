//! The xsdn eBPF programs: one per attach point.
//!
//! - [`xsdn_xdp`] (XDP) runs where frames arrive one by one: on uplinks it
//!   forwards established traffic to guest ports in the kernel (the kernel
//!   tier, [`uplink`]) and steers the rest of the dataplane's frames to
//!   AF_XDP ([`steer`]); on the punt device it steers everything to
//!   AF_XDP.
//! - [`xsdn_uplink`] (tc ingress) runs on uplinks after GRO: it redirects
//!   the frames `xsdn_xdp` forwarded up the stack to their guest port.
//! - [`xsdn_guest`] (tc ingress) runs on guest ports (VM taps, container
//!   veths), where frames arrive as skbs with GSO intact: it forwards
//!   established traffic in the kernel ([`guest`]) and punts the rest to
//!   userspace through the punt device.
//!
//! Guarantees shared by both:
//! - a frame is forwarded in the kernel only when the userspace pipeline
//!   has installed both its source and its destination in the current
//!   generation of its bridge domain, and the destination is a member of
//!   that same domain; everything else goes to userspace, which decides;
//! - with no configuration for an interface, or the punt device missing,
//!   frames go to the kernel (fail-open); with the daemon gone, its BPF links
//!   close and the programs detach;
//! - they log (aya-log, into the daemon's log) only rare events, and those
//!   rate-limited.
//!
//! Map layouts are shared with userspace through `xsdn-common`.
#![no_std]
#![no_main]

mod guest;
mod maps;
mod packet;
mod stats;
mod steer;
mod uplink;

use aya_ebpf::macros::{classifier, xdp};
use aya_ebpf::programs::{TcContext, XdpContext};

/// XDP entry: uplinks and the punt device.
#[xdp]
pub fn xsdn_xdp(ctx: XdpContext) -> u32 {
    steer::run(&ctx)
}

/// tc ingress entry: uplinks (redirects what `xsdn_xdp` marked).
#[classifier]
pub fn xsdn_uplink(ctx: TcContext) -> i32 {
    uplink::redirect_marked(&ctx)
}

/// tc ingress entry: guest ports.
#[classifier]
pub fn xsdn_guest(ctx: TcContext) -> i32 {
    guest::run(&ctx)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
