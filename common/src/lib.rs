//! Types shared by the xsdn eBPF programs (`ebpf/`) and userspace.
//!
//! - [`net`]: the vocabulary of every layer: EtherTypes, [`Tpid`], [`Vid`],
//!   [`Vni`], [`PortSlot`], with their ranges enforced by construction;
//! - [`action`]: [`Action`], what happens to a frame once its bridge domain
//!   and destination are known, and its map encoding [`ActionEntry`];
//! - [`steer`]: the XDP steering program's maps.
//!
//! Map types are `#[repr(C)]`, have no implicit padding and no `bool`, so the
//! byte layout seen by the kernel verifier and by aya's typed maps is the
//! same. Each carries a compile-time size assertion; change both sides
//! together.
#![no_std]
#![deny(missing_docs)]

pub mod action;
pub mod net;
pub mod steer;

pub use action::{Action, ActionEntry, Encap, VtepIdx};
pub use net::{MAX_PORTS, PortSlot, Tpid, Vid, Vni, ethertype};
pub use steer::*;
