//! Polling with sleeps: for conditions that cannot be waited on directly
//! (a route appearing, a daemon answering). Sleeps start at 10 ms and grow
//! to 100 ms between checks; never a busy loop.

use std::time::{Duration, Instant};

/// Calls `cond` until it returns true or `timeout` passes; returns whether
/// it became true. `cond` is always called at least once, and once more
/// at the deadline.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(10);
    loop {
        if cond() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(nap.min(deadline - now));
        nap = (nap * 2).min(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn becomes_true() {
        let mut n = 0;
        assert!(wait_until(Duration::from_secs(5), || {
            n += 1;
            n == 3
        }));
        assert_eq!(n, 3);
    }

    #[test]
    fn times_out_without_spinning() {
        let mut calls = 0;
        let t0 = Instant::now();
        assert!(!wait_until(Duration::from_millis(300), || {
            calls += 1;
            false
        }));
        assert!(t0.elapsed() >= Duration::from_millis(300));
        assert!(calls < 15, "{calls} calls: spinning");
    }
}
