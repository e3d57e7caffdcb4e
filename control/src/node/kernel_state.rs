//! A snapshot of the node's kernel networking state, as plain data.
//!
//! Layer: pure data, no I/O. [`crate::netlink`] fills it from rtnetlink
//! dumps; [`crate::node::live`] turns it into [`crate::node::NodeFacts`] and
//! [`crate::lower`] maps it (with the compiled node) to the dataplane's
//! plan. Keeping the types here, not in the netlink module, lets the pure
//! code and its tests build snapshots by hand.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::interfaces::is_physical_port;

/// A network interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Interface index.
    pub ifindex: u32,
    /// Name.
    pub name: String,
    /// `rtnl_link_ops` kind (`veth`, `bridge`, `vxlan`, `tun`...), if any.
    pub kind: Option<String>,
    /// Index of the bridge (or other controller) it is enslaved to.
    pub master: Option<u32>,
    /// Hardware address (all zero when the device has none).
    pub mac: [u8; 6],
    /// MTU.
    pub mtu: u32,
    /// Whether the device is administratively and operationally usable
    /// (`IFF_UP` and oper state up or unknown).
    pub up: bool,
    /// A bridge that filters VLANs (`vlan_filtering`; false for anything
    /// that is not a bridge).
    pub vlan_filtering: bool,
}

impl Link {
    /// A Linux bridge.
    pub fn is_bridge(&self) -> bool {
        self.kind.as_deref() == Some("bridge")
    }

    /// A link for hand-built test snapshots: up, MTU 1500, MAC
    /// `02:00:00:00:00:<ifindex>`.
    #[cfg(test)]
    pub(crate) fn for_test(
        ifindex: u32,
        name: &str,
        kind: Option<&str>,
        master: Option<u32>,
    ) -> Link {
        Link {
            ifindex,
            name: name.into(),
            kind: kind.map(Into::into),
            master,
            mac: [2, 0, 0, 0, 0, ifindex as u8],
            mtu: 1500,
            up: true,
            vlan_filtering: false,
        }
    }
}

/// An address assigned to an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// Interface index.
    pub ifindex: u32,
    /// The address.
    pub ip: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
}

/// A neighbour (ARP/NDP) entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    /// Interface index.
    pub ifindex: u32,
    /// Neighbour address.
    pub ip: IpAddr,
    /// Its link-layer address, when resolved.
    pub mac: Option<[u8; 6]>,
    /// Whether the entry is usable (reachable, stale, delay, probe,
    /// permanent or noarp).
    pub usable: bool,
}

/// The result of a route lookup (`ip route get`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTo {
    /// Output interface.
    pub oif: u32,
    /// Preferred source address.
    pub source: Option<IpAddr>,
    /// Gateway, when the destination is not on-link.
    pub gateway: Option<IpAddr>,
}

/// A snapshot of the kernel state: interfaces, addresses, neighbours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelState {
    /// Interfaces by index.
    pub links: BTreeMap<u32, Link>,
    /// Addresses of all interfaces.
    pub addresses: Vec<Address>,
    /// Neighbour entries.
    pub neighbours: Vec<Neighbour>,
}

impl KernelState {
    /// The interface called `name`.
    pub fn link_by_name(&self, name: &str) -> Option<&Link> {
        self.links.values().find(|l| l.name == name)
    }

    /// Whether the host has an address of its own on `ifindex` (IPv4, or
    /// IPv6 other than link-local, which every interface has).
    pub fn has_host_address(&self, ifindex: u32) -> bool {
        self.addresses.iter().any(|a| {
            a.ifindex == ifindex
                && match a.ip {
                    IpAddr::V4(_) => true,
                    IpAddr::V6(v6) => !v6.is_unicast_link_local(),
                }
        })
    }

    /// Interfaces enslaved to the interface `master`.
    pub fn members_of(&self, master: u32) -> impl Iterator<Item = &Link> {
        self.links
            .values()
            .filter(move |l| l.master == Some(master))
    }

    /// The physical ports (`eth*`, `en*`, `bond*`, optionally `.vlan`)
    /// enslaved to `master`, by name.
    pub fn physical_members(&self, master: u32) -> Vec<&Link> {
        let mut members: Vec<&Link> = self
            .members_of(master)
            .filter(|m| is_physical_port(&m.name))
            .collect();
        members.sort_by(|a, b| a.name.cmp(&b.name));
        members
    }

    /// Whether `ip` is assigned to any local interface.
    pub fn is_local_address(&self, ip: IpAddr) -> bool {
        self.addresses.iter().any(|a| a.ip == ip)
    }

    /// The usable neighbour entry for `ip` on `ifindex`.
    pub fn neighbour(&self, ifindex: u32, ip: IpAddr) -> Option<&Neighbour> {
        self.neighbours
            .iter()
            .find(|n| n.ifindex == ifindex && n.ip == ip && n.usable && n.mac.is_some())
    }
}
