//! A flood budget per guest port: how many broadcast, multicast and
//! unknown-unicast frames a guest may make the dataplane copy to every
//! member of its VNet (and to every VXLAN peer), per second.
//!
//! Layer: owned by one pipeline (one worker thread); pure, no I/O, no
//! clock: time is the caller's [`Tick`] in milliseconds. Guarantees: a
//! token bucket per port slot, refilled at `rate` frames per second up to
//! a burst of a tenth of a second's worth (at least 64); checking costs a
//! few loads and stores, never allocates; a rate of 0 means no limit.
//! Frames over the budget are dropped and counted by the caller
//! (`flood_rate_limited`), so one guest's broadcast storm costs its VNet
//! at most `rate` copies a second and cannot drain the shared UMEM.

use std::cell::Cell;

use crate::tables::{MAX_PORTS, PortSlot};

use super::Tick;

#[derive(Debug)]
struct Bucket {
    tokens: Cell<u64>,
    /// When `tokens` was last refilled (ms).
    at: Cell<Tick>,
}

/// Token buckets for flooded frames, one per port slot.
#[derive(Debug)]
pub struct FloodLimit {
    /// Frames per second per port; 0: unlimited.
    rate: u64,
    burst: u64,
    buckets: Box<[Bucket]>,
}

impl FloodLimit {
    /// A budget of `rate` flooded frames per second per port (0: none).
    pub fn new(rate: u32) -> FloodLimit {
        let rate = u64::from(rate);
        let burst = (rate / 10).max(64);
        FloodLimit {
            rate,
            burst,
            buckets: (0..MAX_PORTS)
                .map(|_| Bucket {
                    tokens: Cell::new(burst),
                    at: Cell::new(0),
                })
                .collect(),
        }
    }

    /// Whether `port` may flood one more frame at `now` (ms); takes a token
    /// if so.
    #[inline]
    pub fn allow(&self, port: PortSlot, now: Tick) -> bool {
        if self.rate == 0 {
            return true;
        }
        let Some(b) = self.buckets.get(port.index()) else {
            return true;
        };
        let elapsed = now.saturating_sub(b.at.get());
        let refill = elapsed.saturating_mul(self.rate) / 1000;
        if refill > 0 {
            b.tokens.set((b.tokens.get() + refill).min(self.burst));
            b.at.set(now);
        }
        match b.tokens.get() {
            0 => false,
            n => {
                b.tokens.set(n - 1);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::slot;

    #[test]
    fn a_storm_gets_the_burst_then_the_rate() {
        let limit = FloodLimit::new(1000);
        let port = slot(3);
        // 10 000 frames within the same millisecond: the burst passes.
        let passed = (0..10_000).filter(|_| limit.allow(port, 5)).count();
        assert_eq!(passed, 100);
        // One second of a flood at one frame per 100 us: the rate passes.
        let mut passed = 0;
        for i in 0..10_000u64 {
            if limit.allow(port, 5 + 1 + i / 10) {
                passed += 1;
            }
        }
        assert!((990..=1010).contains(&passed), "{passed}");
        // Another port has its own budget.
        assert!(limit.allow(slot(4), 6));
    }

    #[test]
    fn zero_means_no_limit() {
        let limit = FloodLimit::new(0);
        assert!((0..100_000).all(|_| limit.allow(slot(1), 0)));
    }
}
