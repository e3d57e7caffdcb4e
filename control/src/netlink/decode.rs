//! rtnetlink messages to the plain snapshot types of
//! [`crate::node::kernel_state`].
//!
//! Layer: pure conversion, no I/O. Guarantee: every message decodes (a
//! missing attribute leaves the field at its "unknown" value); the rest of
//! the crate never sees a netlink type.

use std::net::IpAddr;

use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::packet_route::link::{
    InfoBridge, InfoData, InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, State,
};
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};

use crate::node::kernel_state::{Address, Link, Neighbour, RouteTo};

/// An interface from an `RTM_NEWLINK` message.
pub fn link(message: &LinkMessage) -> Link {
    let mut link = Link {
        ifindex: message.header.index,
        name: String::new(),
        kind: None,
        master: None,
        mac: [0; 6],
        mtu: 0,
        up: false,
        vlan_filtering: false,
    };
    let admin_up = message.header.flags.contains(LinkFlags::Up);
    let mut oper_ok = true;
    for attr in &message.attributes {
        match attr {
            LinkAttribute::IfName(name) => link.name = name.clone(),
            LinkAttribute::Controller(master) => link.master = Some(*master),
            LinkAttribute::Mtu(mtu) => link.mtu = *mtu,
            LinkAttribute::Address(mac) if mac.len() == 6 => link.mac.copy_from_slice(mac),
            LinkAttribute::OperState(state) => {
                oper_ok = matches!(state, State::Up | State::Unknown);
            }
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(kind) => link.kind = Some(kind_name(kind)),
                        LinkInfo::Data(InfoData::Bridge(options)) => {
                            link.vlan_filtering = options
                                .iter()
                                .any(|o| matches!(o, InfoBridge::VlanFiltering(true)));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    link.up = admin_up && oper_ok;
    link
}

fn kind_name(kind: &InfoKind) -> String {
    match kind {
        InfoKind::Bridge => "bridge".into(),
        InfoKind::Veth => "veth".into(),
        InfoKind::Vxlan => "vxlan".into(),
        InfoKind::Tun => "tun".into(),
        InfoKind::Vlan => "vlan".into(),
        InfoKind::Dummy => "dummy".into(),
        InfoKind::Bond => "bond".into(),
        InfoKind::Vrf => "vrf".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// An address from an `RTM_NEWADDR` message: the local address, else the
/// (peer) address, as `ip addr` shows it.
pub fn address(message: &AddressMessage) -> Option<Address> {
    let local = message.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let ip = local.or_else(|| {
        message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })?;
    Some(Address {
        ifindex: message.header.index,
        ip,
        prefix_len: message.header.prefix_len,
    })
}

/// A neighbour entry from an `RTM_NEWNEIGH` message (IPv4 or IPv6 only).
pub fn neighbour(message: &NeighbourMessage) -> Option<Neighbour> {
    let ip = message.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => Some(IpAddr::V4(*ip)),
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(ip)) => Some(IpAddr::V6(*ip)),
        _ => None,
    })?;
    let mac = message.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::LinkLayerAddress(lla) if lla.len() == 6 => {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(lla);
            Some(mac)
        }
        _ => None,
    });
    let usable = matches!(
        message.header.state,
        NeighbourState::Reachable
            | NeighbourState::Stale
            | NeighbourState::Delay
            | NeighbourState::Probe
            | NeighbourState::Permanent
            | NeighbourState::Noarp
    );
    Some(Neighbour {
        ifindex: message.header.ifindex,
        ip,
        mac,
        usable,
    })
}

/// The answer to a route lookup; `None` without an output interface.
pub fn route(reply: &RouteMessage) -> Option<RouteTo> {
    let mut route = RouteTo {
        oif: 0,
        source: None,
        gateway: None,
    };
    for attr in &reply.attributes {
        match attr {
            RouteAttribute::Oif(oif) => route.oif = *oif,
            RouteAttribute::PrefSource(a) => route.source = ip_of(a),
            RouteAttribute::Gateway(a) => route.gateway = ip_of(a),
            _ => {}
        }
    }
    (route.oif != 0).then_some(route)
}

/// `ip` as a route attribute value.
pub fn route_address(ip: IpAddr) -> RouteAddress {
    match ip {
        IpAddr::V4(v4) => RouteAddress::Inet(v4),
        IpAddr::V6(v6) => RouteAddress::Inet6(v6),
    }
}

fn ip_of(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}
