//! Counters: the steering program's [`XdpStat`]s and the kernel tier's
//! per-port and per-bridge-domain counters (`kstat`), all per-CPU.

use xsdn_common::XdpStat;
use xsdn_common::kernel_tier::kstat;

use crate::maps::{KSTATS, STATS};

/// Increments a steering counter; returns its new value on this CPU.
#[inline(always)]
pub fn count(stat: XdpStat) -> u64 {
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

#[inline(always)]
fn add(index: u32, n: u64) {
    if let Some(slot) = KSTATS.get_ptr_mut(index) {
        // SAFETY: per-CPU slot, no concurrent writer on this CPU.
        unsafe { *slot += n };
    }
}

/// A frame of `len` bytes received on port `slot` into bridge domain `bd`
/// and forwarded in the kernel as `out_len` bytes on port `out_slot`.
#[inline(always)]
pub fn forwarded(slot: u16, bd: u16, len: u64, out_slot: u16, out_len: u64) {
    let (slot, bd, out_slot) = (u32::from(slot), u32::from(bd), u32::from(out_slot));
    add(kstat::port(slot, kstat::PORT_RX_PACKETS), 1);
    add(kstat::port(slot, kstat::PORT_RX_BYTES), len);
    add(kstat::port(out_slot, kstat::PORT_TX_PACKETS), 1);
    add(kstat::port(out_slot, kstat::PORT_TX_BYTES), out_len);
    add(kstat::bd(bd, kstat::BD_RX_PACKETS), 1);
    add(kstat::bd(bd, kstat::BD_RX_BYTES), len);
    add(kstat::bd(bd, kstat::BD_TX_PACKETS), 1);
    add(kstat::bd(bd, kstat::BD_TX_BYTES), out_len);
}

/// A frame of `len` bytes received on port `slot` into `bd` and dropped
/// because it exceeds the egress MTU.
#[inline(always)]
pub fn mtu_exceeded(slot: u16, bd: u16, len: u64) {
    let (slot, bd) = (u32::from(slot), u32::from(bd));
    add(kstat::port(slot, kstat::PORT_RX_PACKETS), 1);
    add(kstat::port(slot, kstat::PORT_RX_BYTES), len);
    add(kstat::port(slot, kstat::PORT_MTU_EXCEEDED), 1);
    add(kstat::bd(bd, kstat::BD_RX_PACKETS), 1);
    add(kstat::bd(bd, kstat::BD_RX_BYTES), len);
    add(kstat::bd(bd, kstat::BD_MTU_EXCEEDED), 1);
}

/// A frame of port `slot` handed to userspace.
#[inline(always)]
pub fn punted(slot: u16) {
    add(kstat::port(u32::from(slot), kstat::PORT_PUNTED), 1);
}
