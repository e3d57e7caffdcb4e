//! Rendering the kernel and FRR side: `/etc/network/interfaces.d/sdn` and
//! `/etc/frr/frr.conf`, as the reference generator (pve-network 1.3) writes
//! them, so xsdn can stand in for it on nodes without it.
//!
//! Pure functions of the model and the node facts; the CLI edge writes the
//! files. Reference behaviour that is deliberately not reproduced is listed
//! in `docs/control-plane.md`.

pub mod fabric;
pub mod frr;
pub mod ifaces;

pub use frr::render_frr;
pub use ifaces::{InterfacesOutput, render_interfaces};

#[cfg(test)]
mod oracle_hygiene;
#[cfg(test)]
mod oracle_tests;
