//! Lowering: from this node's compiled configuration and its kernel's
//! state to what the dataplane runs.
//!
//! Layer: pure (no I/O, no clock). Given the [`CompiledNode`], a
//! [`KernelState`] snapshot, the kernel's route toward each VXLAN peer,
//! the node settings and the [`SlotAllocator`] kept across generations,
//! [`lower`] builds a [`Plan`]: the dataplane's [`ForwardingTables`], the
//! interfaces to take over (guest ports steered whole, uplinks steered by
//! tag/UDP port, with each guest port's host path), the uplinks' XDP
//! steering keys, the VXLAN next hops the kernel still has to resolve, the
//! VNets' counter slots, and diagnostics for what cannot be served. The
//! daemon's reconcile step applies plans; this module never touches the
//! kernel or the worker, so every rule is unit-tested on hand-built
//! snapshots.
//!
//! One module per rule:
//! - [`slots`]: port and counter slots, stable across plans;
//! - [`plumbing`]: Proxmox's kernel-side helper interfaces (never guests);
//! - [`uplink`]: which interface carries a VNet off the node;
//! - [`guest_ports`]: which interfaces are a VNet's guests;
//! - [`steering`]: the uplinks' XDP steering keys;
//! - [`next_hop`]: VXLAN source addresses and outer MACs;
//! - [`assemble`]: walks the VNets and writes the plan;
//! - [`plan`]: the output types.
//!
//! Diagnostics are [`Diagnostic`] warnings whose `file` is
//! [`DIAGNOSTIC_FILE`] (`dataplane`): they are not about a line of a
//! configuration file but about what the dataplane cannot serve on this
//! node, and read `dataplane: vnet 'x': ...` or `dataplane: zone 'y': ...`
//! in the daemon's log and `xsdn status`.
//!
//! [`CompiledNode`]: crate::compile::CompiledNode
//! [`KernelState`]: crate::node::kernel_state::KernelState
//! [`ForwardingTables`]: xsdn_dataplane::tables::ForwardingTables

mod assemble;
pub mod guest_ports;
pub mod next_hop;
pub mod plan;
pub mod plumbing;
pub mod slots;
pub mod steering;
#[cfg(test)]
mod tests;
pub mod uplink;

pub use assemble::lower;
pub use plan::{LowerSettings, Plan, PlannedPort, Steering};
pub use slots::SlotAllocator;

use crate::diag::{Diagnostic, Severity};

/// The `file` of every lowering diagnostic.
pub const DIAGNOSTIC_FILE: &str = "dataplane";

fn warning(section: String, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        file: DIAGNOSTIC_FILE.to_owned(),
        line: None,
        section: Some(section),
        key: None,
        message: message.into(),
    }
}

/// A warning about VNet `vnet`.
fn vnet_warning(vnet: &str, message: impl Into<String>) -> Diagnostic {
    warning(format!("vnet '{vnet}'"), message)
}

/// A warning about zone `zone`.
fn zone_warning(zone: &str, message: impl Into<String>) -> Diagnostic {
    warning(format!("zone '{zone}'"), message)
}
