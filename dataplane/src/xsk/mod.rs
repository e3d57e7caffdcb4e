//! AF_XDP sockets and their UMEM: the only module with `unsafe` code.
//!
//! Layer: between the kernel's AF_XDP rings and the safe worker above.
//! Guarantees:
//! - every `unsafe` block carries a `// SAFETY:` note; everything exported is
//!   safe to use;
//! - a UMEM chunk is accessed only through a [`Frame`] token proving that
//!   userspace owns it (see [`area`]);
//! - RX and TX are batched ([`BATCH`] frames), `needs_wakeup` is honoured on
//!   the fill and TX rings, TX is kicked until the ring drains;
//! - dropping an [`XskSet`] closes its sockets before unmapping the UMEM.
//!
//! The ring mechanics come from the `xdpilone` crate (pure Rust, no libxdp/C
//! build); this module adds the memory area, frame ownership, batching and
//! the per-port/queue bookkeeping.

pub mod area;
pub mod pool;
pub mod socket_set;
pub mod waker;

pub use area::{Area, Frame};
pub use pool::FramePool;
pub use socket_set::{
    BATCH, FrameBatch, QueueIdx, Rings, SocketStats, XskSet, XskSettings, wait_readable,
};
pub use waker::Waker;
