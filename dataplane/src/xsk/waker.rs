//! An eventfd that wakes a worker sleeping in `poll(2)`.
//!
//! The worker waits on its RX sockets and on this fd, so a command sent by
//! the daemon (a new port, new tables) is handled at once instead of after
//! the idle timeout.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// The waking side and the waiting side share one eventfd.
#[derive(Clone, Debug)]
pub struct Waker {
    fd: Arc<OwnedFd>,
}

impl Waker {
    /// A new non-blocking eventfd.
    pub fn new() -> io::Result<Waker> {
        // SAFETY: eventfd has no memory-safety preconditions; the result is
        // checked for failure before use.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a freshly created, valid file descriptor that
        // nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Waker { fd: Arc::new(fd) })
    }

    /// Wakes the waiter (coalesces: many wakes before a wait are one).
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid local to a valid eventfd; a
        // failure (counter overflow, EAGAIN) only means a wake is pending.
        let _ = unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }

    /// Clears pending wakes (called by the waiter after waking).
    pub fn clear(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a valid local from a valid
        // non-blocking eventfd; EAGAIN (nothing pending) is fine.
        let _ = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut value as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }

    /// The fd to put into a `poll(2)` set (readable when woken).
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsk::wait_readable;

    #[test]
    fn wake_makes_the_fd_readable_until_cleared() {
        let waker = Waker::new().expect("eventfd");
        let poll_once = |w: &Waker| {
            let mut fds = [libc::pollfd {
                fd: w.raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            wait_readable(&mut fds, 0)
        };
        assert!(!poll_once(&waker));
        waker.clone().wake();
        waker.wake();
        assert!(poll_once(&waker));
        waker.clear();
        assert!(!poll_once(&waker));
    }
}
