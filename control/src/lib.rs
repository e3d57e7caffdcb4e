//! The xsdn control plane.
//!
//! A pure, privilege-free library (configuration model, validation,
//! compilation to per-node tables, rendering of the kernel/FRR side) plus the
//! thin edges used by the `xsdn` binary.
#![deny(missing_docs)]

pub mod cli;
pub mod compile;
pub mod config;
pub mod daemon;
pub mod dataplane_host;
pub mod diag;
pub mod lower;
pub mod netlink;
pub mod node;
pub mod render;
pub mod validate;
