//! Which interfaces are a VNet's guest ports.
//!
//! Layer: pure rules over the kernel snapshot. As Proxmox plugs a guest,
//! a VNet's guest ports are the members of the kernel bridge named after
//! it, except kernel-side plumbing ([`super::plumbing`]); an explicit port
//! map in the node settings adds ports by name (for hosts without those
//! bridges). When the host has addresses of its own on the VNet bridge,
//! the guest ports carry the bridge's MAC as their host path, so frames
//! for the host's stack go to the kernel.

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::node::kernel_state::{KernelState, Link};

use super::plumbing::is_plumbing;
use super::vnet_warning;

/// The guest ports found for one VNet.
#[derive(Debug, Default)]
pub struct GuestPorts<'k> {
    /// The interfaces, by name.
    pub links: Vec<&'k Link>,
    /// The VNet bridge's MAC when the host has addresses on it.
    pub host_mac: Option<[u8; 6]>,
}

/// The guest ports of VNet `vnet`: members of its bridge plus the ports
/// `explicit` maps to it. Problems (no bridge, a listed port missing) are
/// added to `diagnostics`.
pub fn discover<'k>(
    kernel: &'k KernelState,
    vnet: &str,
    explicit: &BTreeMap<String, String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> GuestPorts<'k> {
    let mut found = GuestPorts::default();
    match kernel.link_by_name(vnet) {
        Some(bridge) if bridge.is_bridge() => {
            found
                .links
                .extend(kernel.members_of(bridge.ifindex).filter(|l| !is_plumbing(l)));
            if kernel.has_host_address(bridge.ifindex) {
                found.host_mac = Some(bridge.mac);
            }
        }
        _ if explicit.values().any(|v| v == vnet) => {}
        _ => diagnostics.push(vnet_warning(
            vnet,
            format!(
                "no kernel bridge named {vnet} on this node, so no guest ports (create it or list ports in the node settings)"
            ),
        )),
    }
    for (iface, target) in explicit {
        if target != vnet {
            continue;
        }
        match kernel.link_by_name(iface) {
            Some(link) if !found.links.iter().any(|l| l.ifindex == link.ifindex) => {
                found.links.push(link)
            }
            Some(_) => {}
            None => diagnostics.push(vnet_warning(
                vnet,
                format!("port {iface} does not exist yet"),
            )),
        }
    }
    found.links.sort_by(|a, b| a.name.cmp(&b.name));
    found
}
