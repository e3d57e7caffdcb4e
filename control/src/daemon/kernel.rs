//! The node's kernel state, read and watched over rtnetlink.
//!
//! Layer: the daemon's only window on the kernel's interfaces, addresses,
//! routes and neighbours. Everything is read with dumps into plain structs
//! ([`KernelState`]); changes are noticed through rtnetlink multicast groups
//! and turned into "something changed" events, after which the daemon takes
//! a fresh snapshot. Whole snapshots keep the logic simple and correct
//! (there is no incremental state to drift), and at hypervisor scale a dump
//! of a few hundred links takes well under a millisecond.

use std::collections::BTreeMap;
use std::net::IpAddr;

use futures_util::{Stream, StreamExt, TryStreamExt};
use rtnetlink::Handle;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::address::AddressAttribute;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage, State};
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourExtFlags, NeighbourState,
};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use rtnetlink::sys::AsyncSocket;

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

/// A snapshot of the kernel state the daemon uses.
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

/// Errors talking to the kernel.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// Opening the netlink socket failed.
    #[error("opening rtnetlink")]
    Open(#[source] std::io::Error),
    /// A request failed.
    #[error("rtnetlink {what}")]
    Request {
        /// What was asked.
        what: &'static str,
        /// The failure.
        #[source]
        source: rtnetlink::Error,
    },
    /// A route lookup found nothing.
    #[error("no route to {0}")]
    NoRoute(IpAddr),
}

fn request(what: &'static str) -> impl FnOnce(rtnetlink::Error) -> KernelError {
    move |source| KernelError::Request { what, source }
}

/// Multicast groups whose messages mean "the state may have changed".
const WATCHED_GROUPS: u32 = rtnetlink::constants::RTMGRP_LINK
    | rtnetlink::constants::RTMGRP_NEIGH
    | rtnetlink::constants::RTMGRP_IPV4_IFADDR
    | rtnetlink::constants::RTMGRP_IPV6_IFADDR
    | rtnetlink::constants::RTMGRP_IPV4_ROUTE
    | rtnetlink::constants::RTMGRP_IPV6_ROUTE;

/// A handle for requests to the kernel.
#[derive(Clone)]
pub struct Kernel {
    handle: Handle,
}

impl Kernel {
    /// Connects to rtnetlink on the current tokio runtime. The returned
    /// stream yields one item per kernel notification about links,
    /// addresses, routes or neighbours.
    pub fn connect() -> Result<(Kernel, impl Stream<Item = ()> + Unpin), KernelError> {
        let (mut connection, handle, messages) =
            rtnetlink::new_connection().map_err(KernelError::Open)?;
        let address = rtnetlink::sys::SocketAddr::new(0, WATCHED_GROUPS);
        connection
            .socket_mut()
            .socket_mut()
            .bind(&address)
            .map_err(KernelError::Open)?;
        tokio::spawn(connection);
        let events = messages.map(|_| ());
        Ok((Kernel { handle }, events))
    }

    /// A full snapshot of links, addresses and neighbours.
    pub async fn snapshot(&self) -> Result<KernelState, KernelError> {
        Ok(KernelState {
            links: self.links().await?,
            addresses: self.addresses().await?,
            neighbours: self.neighbours().await?,
        })
    }

    /// All interfaces.
    pub async fn links(&self) -> Result<BTreeMap<u32, Link>, KernelError> {
        let messages: Vec<LinkMessage> = self
            .handle
            .link()
            .get()
            .execute()
            .try_collect()
            .await
            .map_err(request("link dump"))?;
        Ok(messages
            .iter()
            .map(link_from_message)
            .map(|l| (l.ifindex, l))
            .collect())
    }

    /// All addresses.
    pub async fn addresses(&self) -> Result<Vec<Address>, KernelError> {
        let mut out = Vec::new();
        let mut stream = self.handle.address().get().execute();
        while let Some(message) = stream.try_next().await.map_err(request("address dump"))? {
            let ip = message.attributes.iter().find_map(|a| match a {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            });
            let ip = ip.or_else(|| {
                message.attributes.iter().find_map(|a| match a {
                    AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                })
            });
            if let Some(ip) = ip {
                out.push(Address {
                    ifindex: message.header.index,
                    ip,
                    prefix_len: message.header.prefix_len,
                });
            }
        }
        Ok(out)
    }

    /// All IPv4 and IPv6 neighbour entries.
    pub async fn neighbours(&self) -> Result<Vec<Neighbour>, KernelError> {
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut stream = self
                .handle
                .neighbours()
                .get()
                .set_address_family(family)
                .execute();
            while let Some(message) = stream.try_next().await.map_err(request("neighbour dump"))? {
                let ip = message.attributes.iter().find_map(|a| match a {
                    NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => {
                        Some(IpAddr::V4(*ip))
                    }
                    NeighbourAttribute::Destination(NeighbourAddress::Inet6(ip)) => {
                        Some(IpAddr::V6(*ip))
                    }
                    _ => None,
                });
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
                if let Some(ip) = ip {
                    out.push(Neighbour {
                        ifindex: message.header.ifindex,
                        ip,
                        mac,
                        usable,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Looks up the route the kernel would use to reach `dst`.
    pub async fn route_get(&self, dst: IpAddr) -> Result<RouteTo, KernelError> {
        let mut message = RouteMessage::default();
        message.header.address_family = match dst {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        message.header.destination_prefix_length = match dst {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        message
            .attributes
            .push(RouteAttribute::Destination(route_address(dst)));
        let mut stream = self.handle.route().get(message).execute();
        let reply = stream
            .try_next()
            .await
            .map_err(request("route get"))?
            .ok_or(KernelError::NoRoute(dst))?;
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
        if route.oif == 0 {
            return Err(KernelError::NoRoute(dst));
        }
        Ok(route)
    }

    /// Asks the kernel to keep `ip` on `ifindex` resolved on its own
    /// (`ip neigh add IP dev IF managed`), so VXLAN next hops are known
    /// before the first frame. Existing entries are left alone.
    pub async fn ensure_managed_neighbour(
        &self,
        ifindex: u32,
        ip: IpAddr,
    ) -> Result<(), KernelError> {
        // A managed entry has no state of its own (NUD_NONE, as `ip neigh
        // add ... managed` sends); rtnetlink's default, PERMANENT, makes the
        // kernel refuse the flag with EINVAL.
        let mut add = self
            .handle
            .neighbours()
            .add(ifindex, ip)
            .state(NeighbourState::None);
        add.message_mut()
            .attributes
            .push(NeighbourAttribute::ExtFlags(NeighbourExtFlags::Managed));
        match add.execute().await {
            Ok(()) => Ok(()),
            // EEXIST: an entry is already there (resolved or managed).
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(()),
            Err(source) => Err(KernelError::Request {
                what: "neighbour add",
                source,
            }),
        }
    }
}

fn route_address(ip: IpAddr) -> RouteAddress {
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

fn link_from_message(message: &LinkMessage) -> Link {
    let mut link = Link {
        ifindex: message.header.index,
        name: String::new(),
        kind: None,
        master: None,
        mac: [0; 6],
        mtu: 0,
        up: false,
    };
    let admin_up = message
        .header
        .flags
        .contains(rtnetlink::packet_route::link::LinkFlags::Up);
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
                    if let LinkInfo::Kind(kind) = info {
                        link.kind = Some(kind_name(kind));
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
