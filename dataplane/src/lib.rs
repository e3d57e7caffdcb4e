//! The xsdn userspace dataplane.
//!
//! Layers, bottom up:
//! - [`wire`]: zero-copy, bounds-checked views of the protocol headers;
//! - [`xsk`]: the AF_XDP sockets and UMEM (the only `unsafe` code);
//! - [`netdev`]: facts about a network device by name (index, queues, MAC,
//!   MTU);
//! - [`xdp`]: loading the XDP program and programming its steering maps;
//! - [`kernel_tier`]: what the userspace pipeline writes into the in-kernel
//!   tier's maps (MAC entries, bridge domains, bindings, peers), and its
//!   counters;
//! - [`counters`]: single-writer per-worker counters and drop reasons;
//! - [`tables`]: the forwarding state of one configuration generation;
//! - [`pipeline`]: per frame, one walk that classifies, learns, looks up,
//!   builds every output and counts (its MAC table, [`pipeline::fdb`], too);
//! - [`worker`]: the worker thread: RX -> pipeline -> TX, and its handle.
#![deny(missing_docs)]

pub mod counters;
pub mod kernel_tier;
pub mod netdev;
pub mod pipeline;
pub mod tables;
pub mod wire;
pub mod worker;
pub mod xdp;
#[allow(unsafe_code)]
pub mod xsk;
