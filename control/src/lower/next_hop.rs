//! VXLAN next hops: the local source address toward a peer, and the
//! outer MACs of frames to it.
//!
//! Layer: pure rules over the kernel snapshot and the routes looked up
//! toward each peer. The source address is the configured VTEP address
//! (`--vtep-ip`, else the compiled local address) when it is of the peer's
//! family, else the source of the route toward the peer. The outer
//! destination MAC is the kernel's neighbour entry for the route's gateway
//! (or for the peer when it is on-link) on the route's output interface;
//! the outer source MAC is that interface's. A missing neighbour entry
//! leaves the next hop to be resolved by the kernel.

use std::net::IpAddr;

use crate::node::kernel_state::{KernelState, Link, RouteTo};

/// The local address VXLAN frames to `peer` come from.
pub fn vtep_source(
    configured: Option<IpAddr>,
    peer: IpAddr,
    route: Option<&RouteTo>,
) -> Option<IpAddr> {
    match configured {
        Some(ip) if ip.is_ipv4() == peer.is_ipv4() => Some(ip),
        _ => route.and_then(|r| r.source),
    }
}

/// Where frames to a peer leave: the route's output interface and the
/// address whose MAC they are sent to.
#[derive(Clone, Copy, Debug)]
pub struct Path<'k> {
    /// The route's output interface (its MAC is the outer source MAC).
    pub out: &'k Link,
    /// The gateway, or the peer itself when on-link.
    pub via: IpAddr,
}

impl<'k> Path<'k> {
    /// The path of `route` toward `peer`; `None` when its output interface
    /// is not in the snapshot.
    pub fn of(kernel: &'k KernelState, route: &RouteTo, peer: IpAddr) -> Option<Path<'k>> {
        Some(Path {
            out: kernel.links.get(&route.oif)?,
            via: route.gateway.unwrap_or(peer),
        })
    }

    /// The MAC to send to, when the kernel has resolved it.
    pub fn destination_mac(&self, kernel: &KernelState) -> Option<[u8; 6]> {
        kernel
            .neighbour(self.out.ifindex, self.via)
            .and_then(|n| n.mac)
    }

    /// The `(ifindex, address)` the kernel must resolve for this path.
    pub fn to_resolve(&self) -> (u32, IpAddr) {
        (self.out.ifindex, self.via)
    }
}
