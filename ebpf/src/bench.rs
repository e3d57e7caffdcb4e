//! The benchmark's XDP programs (`xsdn-bench-xdp.o`), never loaded by the
//! daemon: a separate object keeps the product's object to what the
//! dataplane runs (no benchmark maps created at every daemon start, nothing
//! of this shipped in `/usr/lib/xsdn/`), and lets the benchmark change
//! without touching the forwarding programs' build.
//!
//! - [`xsdn_bench_gen`]: the traffic generator's program, run by
//!   `BPF_PROG_TEST_RUN` with `BPF_F_TEST_XDP_LIVE_FRAMES`: it writes the
//!   template headers (`TEMPLATE`) over the start of the frame and returns
//!   `XDP_TX`, which the kernel turns into a transmission out of the
//!   context's ingress interface. The rewrite matters: live frames are
//!   recycled pages, and whoever received a frame may have moved bytes in
//!   it (a tag pushed or popped in place, outer headers written).
//! - [`xsdn_bench_fwd`]: the raw forwarding ceiling: redirect every frame
//!   through a one-slot devmap (`FWD`), nothing else.
//! - [`xsdn_bench_drop`]: the sink: drop every frame (the interface still
//!   counts it in `rx_packets`).
#![no_std]
#![no_main]

use aya_ebpf::bindings::xdp_action;
use aya_ebpf::macros::{map, xdp};
use aya_ebpf::maps::{Array, DevMap};
use aya_ebpf::programs::XdpContext;

/// Words of header the generator rewrites at most (128 bytes).
const TEMPLATE_WORDS: usize = 16;

/// Slot 0: `[n, w0, .., w15]`: rewrite the first `n` 8-byte words of the
/// frame with `w0..` (bytes in frame order, i.e. native-endian loads of the
/// frame's bytes).
#[map(name = "TEMPLATE")]
static TEMPLATE: Array<[u64; TEMPLATE_WORDS + 1]> = Array::with_max_entries(1, 0);

/// Slot 0: the interface [`xsdn_bench_fwd`] redirects to.
#[map(name = "FWD")]
static FWD: DevMap = DevMap::with_max_entries(1, 0);

/// Generator: template headers, then `XDP_TX`.
#[xdp]
pub fn xsdn_bench_gen(ctx: XdpContext) -> u32 {
    let Some(template) = TEMPLATE.get(0) else {
        return xdp_action::XDP_ABORTED;
    };
    let [words, body @ ..] = template;
    let start = ctx.data();
    let end = ctx.data_end();
    for (i, word) in body.iter().enumerate() {
        if i as u64 >= *words || start + 8 * (i + 1) > end {
            break;
        }
        // SAFETY: `start + 8 * (i + 1) <= end` was checked just above, so
        // the 8 bytes are inside the frame; unaligned store of a plain u64.
        unsafe { core::ptr::write_unaligned((start + 8 * i) as *mut u64, *word) };
    }
    xdp_action::XDP_TX
}

/// Raw ceiling: redirect to the devmap's only slot.
#[xdp]
pub fn xsdn_bench_fwd(_ctx: XdpContext) -> u32 {
    FWD.redirect(0, 0).unwrap_or(xdp_action::XDP_ABORTED)
}

/// Sink: drop.
#[xdp]
pub fn xsdn_bench_drop(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_DROP
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
