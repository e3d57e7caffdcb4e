//! The node's kernel state, read and watched over rtnetlink.
//!
//! Layer: the crate's only window on the kernel's interfaces, addresses,
//! routes and neighbours (used by the daemon and by live node discovery
//! for the CLI). Everything is read with dumps into the plain types of
//! [`crate::node::kernel_state`] ([`KernelState`]); changes are noticed
//! through rtnetlink multicast groups and turned into "something changed"
//! events, after which the caller takes a fresh snapshot. Whole snapshots
//! keep the logic simple and correct (there is no incremental state to
//! drift), and at hypervisor scale a dump of a few hundred links takes well
//! under a millisecond. Every function needs a tokio runtime (a
//! current-thread one is enough).

mod decode;

use std::collections::BTreeMap;
use std::net::IpAddr;

use futures_util::{Stream, StreamExt, TryStreamExt};
use rtnetlink::Handle;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::link::LinkMessage;
use rtnetlink::packet_route::neighbour::{NeighbourAttribute, NeighbourExtFlags, NeighbourState};
use rtnetlink::packet_route::route::{RouteAttribute, RouteMessage};
use rtnetlink::sys::AsyncSocket;

use crate::node::kernel_state::{Address, KernelState, Link, Neighbour, RouteTo};

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
    /// Connects to rtnetlink on the current tokio runtime, for requests
    /// only (no change notifications).
    pub fn connect() -> Result<Kernel, KernelError> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(KernelError::Open)?;
        tokio::spawn(connection);
        Ok(Kernel { handle })
    }

    /// Connects to rtnetlink on the current tokio runtime. The returned
    /// stream yields one item per kernel notification about links,
    /// addresses, routes or neighbours.
    pub fn connect_watching() -> Result<(Kernel, impl Stream<Item = ()> + Unpin), KernelError> {
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
            .map(decode::link)
            .map(|l| (l.ifindex, l))
            .collect())
    }

    /// All addresses, in the kernel's dump order (IPv4, then IPv6).
    pub async fn addresses(&self) -> Result<Vec<Address>, KernelError> {
        let mut out = Vec::new();
        let mut stream = self.handle.address().get().execute();
        while let Some(message) = stream.try_next().await.map_err(request("address dump"))? {
            out.extend(decode::address(&message));
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
                out.extend(decode::neighbour(&message));
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
            .push(RouteAttribute::Destination(decode::route_address(dst)));
        let mut stream = self.handle.route().get(message).execute();
        let reply = stream
            .try_next()
            .await
            .map_err(request("route get"))?
            .ok_or(KernelError::NoRoute(dst))?;
        decode::route(&reply).ok_or(KernelError::NoRoute(dst))
    }

    /// Asks the kernel to keep `ip` on `ifindex` resolved on its own
    /// (`ip neigh add IP dev IF managed`), so VXLAN next hops are known
    /// before the first frame. Existing entries are left alone. True if an
    /// entry was created (the caller removes it when done with it).
    pub async fn ensure_managed_neighbour(
        &self,
        ifindex: u32,
        ip: IpAddr,
    ) -> Result<bool, KernelError> {
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
            Ok(()) => Ok(true),
            // EEXIST: an entry is already there (resolved or managed).
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::EEXIST => Ok(false),
            Err(source) => Err(KernelError::Request {
                what: "neighbour add",
                source,
            }),
        }
    }

    /// Removes the neighbour entry of `ip` on `ifindex` (`ip neigh del`).
    pub async fn delete_neighbour(&self, ifindex: u32, ip: IpAddr) -> Result<(), KernelError> {
        let mut request = self
            .handle
            .neighbours()
            .add(ifindex, ip)
            .state(NeighbourState::None);
        let message = request.message_mut().clone();
        match self.handle.neighbours().del(message).execute().await {
            Ok(()) => Ok(()),
            // ENOENT: already gone.
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ENOENT => Ok(()),
            Err(source) => Err(KernelError::Request {
                what: "neighbour del",
                source,
            }),
        }
    }
}
