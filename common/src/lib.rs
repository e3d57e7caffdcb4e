//! Types shared by the xsdn eBPF programs (`ebpf/`) and userspace.
//!
//! - [`net`]: the vocabulary of every layer: EtherTypes, [`Tpid`], [`Vid`],
//!   [`Vni`], [`PortSlot`], with their ranges enforced by construction;
//! - [`action`]: [`Action`], what happens to a frame once its bridge domain
//!   and destination are known, and its map encoding [`ActionEntry`];
//! - [`steer`]: the XDP steering program's maps and the per-port
//!   configuration every program reads;
//! - [`kernel_tier`]: the maps of the in-kernel tier (MAC table, bridge
//!   domains with their generations, uplink bindings, peers, counters).
//!
//! Map types are `#[repr(C)]`, have no implicit padding and no `bool`, so the
//! byte layout seen by the kernel verifier and by aya's typed maps is the
//! same. Each carries a compile-time size assertion; change both sides
//! together.
#![no_std]
#![deny(missing_docs)]

pub mod action;
pub mod kernel_tier;
pub mod net;
pub mod steer;

pub use action::{ACTION_FLAG_C_TAG, Action, ActionEntry, Encap, VtepIdx};
pub use net::{MAX_PORTS, PortSlot, Tpid, Vid, Vni, ethertype};
pub use steer::*;
