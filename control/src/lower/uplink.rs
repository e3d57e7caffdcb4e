//! Which interface carries a VNet's traffic off the node.
//!
//! Layer: pure rules over the kernel snapshot. As on a Proxmox node:
//! - a VLAN/QinQ zone's uplink is the first physical port of its bridge
//!   (as the compiled node lists them);
//! - a VXLAN peer is reached through the interface the kernel routes it
//!   over; when that is a bridge (vmbr0), through its first physical port
//!   by name.
//!
//! An uplink named in the node settings (`--uplink`) overrides both.

use crate::node::kernel_state::{KernelState, Link};

/// Why a VLAN/QinQ VNet has no uplink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoUplink {
    /// Neither an override nor a physical port of the bridge.
    NoPhysicalPort,
    /// The interface chosen does not exist.
    Missing(String),
}

/// The uplink of a VLAN/QinQ VNet: the override, else the first of
/// `bridge_ports` (the zone bridge's physical ports).
pub fn for_bridge<'k>(
    kernel: &'k KernelState,
    overrides: &[String],
    bridge_ports: &[String],
) -> Result<&'k Link, NoUplink> {
    let name = overrides
        .first()
        .or_else(|| bridge_ports.first())
        .ok_or(NoUplink::NoPhysicalPort)?;
    kernel
        .link_by_name(name)
        .ok_or_else(|| NoUplink::Missing(name.clone()))
}

/// The uplink toward a VXLAN peer routed over `out`: the override, else
/// `out` itself, or a bridge's first physical port.
pub fn for_route<'k>(
    kernel: &'k KernelState,
    overrides: &[String],
    out: &'k Link,
) -> Option<&'k Link> {
    match overrides.first() {
        Some(name) => kernel.link_by_name(name),
        None => physical_behind(kernel, out),
    }
}

/// The physical port behind `link`: itself, or a bridge's first physical
/// member by name.
fn physical_behind<'k>(kernel: &'k KernelState, link: &'k Link) -> Option<&'k Link> {
    if link.is_bridge() {
        kernel.physical_members(link.ifindex).first().copied()
    } else {
        Some(link)
    }
}
