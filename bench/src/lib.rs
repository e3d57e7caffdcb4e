//! xsdn benchmarks (see `bench/README.md`).
#![deny(missing_docs)]

pub mod pktbench;
pub mod tapvm;
pub mod xdpgen;
