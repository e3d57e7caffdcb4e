//! The kernel-side helper interfaces Proxmox's generator creates, which
//! are never guest ports.
//!
//! Layer: pure rules over a [`Link`]. A VNet bridge holds the guests' taps
//! and veths, but also plumbing: the VXLAN device (`vxlan_*`), veth pairs
//! toward the zone bridge (`ln_*`, `pr_*`), VRF and SVI devices, VLAN
//! sub-interfaces (`eno1.10`) and other bridges. Taking those over would
//! steal the kernel path's own traffic.

use crate::node::kernel_state::Link;

/// Name prefixes of kernel-side plumbing that is never a guest port.
const PLUMBING_PREFIXES: &[&str] = &[
    "vxlan_", "ln_", "pr_", "vrfvx_", "vrfbr_", "xvrf", "z_", "sv_", "vrf_",
];
/// Interface kinds that are never guest ports.
const PLUMBING_KINDS: &[&str] = &["vxlan", "bridge", "vlan", "vrf", "dummy", "bond"];

/// Whether `link` is kernel-side plumbing rather than a guest port.
pub fn is_plumbing(link: &Link) -> bool {
    PLUMBING_PREFIXES.iter().any(|p| link.name.starts_with(p))
        || link
            .kind
            .as_deref()
            .is_some_and(|k| PLUMBING_KINDS.contains(&k))
        || link.name.contains('.')
}
