//! Node facts: what compile and render need to know about *this* node.
//!
//! [`NodeFacts`] is plain data: the node name, its addresses, the route
//! source toward the VTEP peers and toward the outside (SNAT), its bridges
//! with their ports and VLAN-aware/OVS flags, and the router MAC used for
//! IPv6-underlay router ids. It is built from the node's interfaces file
//! ([`NodeFacts::from_interfaces`]), discovered on a live node by
//! [`live`] (the only module here that does I/O, over [`crate::netlink`]),
//! and overridable field by field by command-line flags.
//! [`kernel_state`] holds the plain snapshot of the kernel's links,
//! addresses, neighbours and routes that live discovery and the daemon's
//! lowering step read.

pub mod interfaces;
pub mod kernel_state;
pub mod live;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::config::model::format_mac;
use interfaces::{InterfacesFile, is_physical_port};

/// An address configured on a local interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocalAddress {
    /// Interface name.
    pub iface: String,
    /// Address.
    pub addr: IpAddr,
    /// Prefix length, when known.
    pub prefix_len: Option<u8>,
}

/// Source address and outgoing interface of a route (`ip route get <dst>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RouteSource {
    /// Source address.
    pub ip: IpAddr,
    /// Outgoing interface.
    pub iface: String,
}

/// A bridge of the node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BridgeFacts {
    /// Physical ports, the uplinks, in file order: for a Linux bridge its
    /// `eth*`/`bond*`/`en*` ports (optionally `.vlan`), for an OVS bridge its
    /// `OVSPort`/`OVSBond` members and physical names (never internal ports).
    pub ports: Vec<String>,
    /// `bridge-vlan-aware yes`.
    pub vlan_aware: bool,
    /// An Open vSwitch bridge.
    pub ovs: bool,
    /// `mtu`, when set.
    pub mtu: Option<u32>,
}

/// Everything compile and render need to know about the local node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeFacts {
    /// Node name (Proxmox uses the short hostname).
    pub name: String,
    /// Addresses of local interfaces.
    pub addresses: Vec<LocalAddress>,
    /// Route source toward the VTEP/BGP peers (`ip route get <peer>`).
    pub route_source: Option<RouteSource>,
    /// Route source toward the IPv4 outside (`ip route get 8.8.8.8`), used for SNAT.
    pub egress_v4: Option<RouteSource>,
    /// Route source toward the IPv6 outside, used for SNAT.
    pub egress_v6: Option<RouteSource>,
    /// Bridges by name.
    pub bridges: BTreeMap<String, BridgeFacts>,
    /// MAC used to derive a BGP router id when the underlay is IPv6.
    #[serde(serialize_with = "ser_mac")]
    pub router_mac: Option<[u8; 6]>,
    /// MTU of interfaces that set one.
    pub mtus: BTreeMap<String, u32>,
}

fn ser_mac<S: serde::Serializer>(mac: &Option<[u8; 6]>, s: S) -> Result<S::Ok, S::Error> {
    match mac {
        Some(m) => s.serialize_some(&format_mac(*m)),
        None => s.serialize_none(),
    }
}

/// An OVS bridge member that leaves the node: an `OVSPort`/`OVSBond`
/// stanza, or a physical name without a stanza of another OVS type
/// (internal ports such as `OVSIntPort` are not uplinks).
fn is_ovs_uplink(file: &InterfacesFile, member: &str) -> bool {
    match file.iface(member).and_then(|st| st.ovs_type()) {
        Some(t) => matches!(t, "OVSPort" | "OVSBond"),
        None => is_physical_port(member),
    }
}

impl NodeFacts {
    /// Facts read from a node's interfaces file (addresses, bridges, MTUs).
    /// Route sources and the router MAC stay unset.
    pub fn from_interfaces(name: &str, file: &InterfacesFile) -> NodeFacts {
        let mut facts = NodeFacts {
            name: name.to_string(),
            ..NodeFacts::default()
        };
        for st in &file.ifaces {
            for (addr, prefix_len) in st.addresses() {
                facts.addresses.push(LocalAddress {
                    iface: st.name.clone(),
                    addr,
                    prefix_len,
                });
            }
            if let Some(m) = st.mtu() {
                facts.mtus.insert(st.name.clone(), m);
            }
            if st.is_bridge() {
                let ovs = st.ovs_type() == Some("OVSBridge");
                let ports = if ovs {
                    st.values("ovs-ports")
                        .flat_map(str::split_whitespace)
                        .filter(|p| is_ovs_uplink(file, p))
                        .map(str::to_string)
                        .collect()
                } else {
                    st.bridge_ports()
                        .into_iter()
                        .filter(|p| is_physical_port(p))
                        .collect()
                };
                facts.bridges.insert(
                    st.name.clone(),
                    BridgeFacts {
                        ports,
                        vlan_aware: st.vlan_aware(),
                        ovs,
                        mtu: st.mtu(),
                    },
                );
            }
        }
        facts
    }

    /// Sets the route source for peers and for both SNAT families at once.
    pub fn set_route_source(&mut self, source: Option<RouteSource>) {
        self.route_source.clone_from(&source);
        self.egress_v4.clone_from(&source);
        self.egress_v6 = source;
    }

    /// The bridge called `name`.
    pub fn bridge(&self, name: &str) -> Option<&BridgeFacts> {
        self.bridges.get(name)
    }

    /// The physical ports of bridge `name` (empty if unknown).
    pub fn bridge_ports(&self, name: &str) -> &[String] {
        self.bridges.get(name).map_or(&[], |b| &b.ports)
    }

    /// The first address of interface `iface`.
    pub fn address_of(&self, iface: &str) -> Option<IpAddr> {
        self.addresses
            .iter()
            .find(|a| a.iface == iface)
            .map(|a| a.addr)
    }

    /// The interface holding address `ip`.
    pub fn iface_with(&self, ip: IpAddr) -> Option<&str> {
        self.addresses
            .iter()
            .find(|a| a.addr == ip)
            .map(|a| a.iface.as_str())
    }

    /// The SNAT source for a subnet of the given family.
    pub fn egress(&self, ipv6: bool) -> Option<&RouteSource> {
        if ipv6 {
            self.egress_v6.as_ref()
        } else {
            self.egress_v4.as_ref()
        }
    }

    /// The local address toward `peers`, the way the reference finds it:
    /// the address of `loopback` if it has one; else the first peer that is a
    /// local address; else the route source toward the peers.
    pub fn local_ip_toward(
        &self,
        peers: &[IpAddr],
        loopback: Option<&str>,
    ) -> Option<(IpAddr, String)> {
        if let Some(lo) = loopback
            && let Some(ip) = self.address_of(lo)
        {
            return Some((ip, lo.to_string()));
        }
        for p in peers {
            if let Some(iface) = self.iface_with(*p) {
                return Some((*p, iface.to_string()));
            }
        }
        if peers.is_empty() {
            return None;
        }
        self.route_source.as_ref().map(|r| (r.ip, r.iface.clone()))
    }

    /// The BGP router id for a local address: the address itself if IPv4,
    /// else the last four bytes of the router MAC (as the reference does).
    pub fn router_id(&self, local: Option<IpAddr>) -> Option<std::net::Ipv4Addr> {
        match local {
            Some(IpAddr::V4(v4)) => Some(v4),
            _ => self
                .router_mac
                .filter(|m| *m != [0; 6])
                .map(|m| std::net::Ipv4Addr::new(m[2], m[3], m[4], m[5])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
auto vmbr0
iface vmbr0 inet static
\taddress 192.168.0.1/24
        bridge-ports eth0 tap1i0
        bridge-vlan-aware 1

auto dummy7
iface dummy7 inet static
        address 10.1.1.1/32
";

    #[test]
    fn facts_from_interfaces() {
        let f = NodeFacts::from_interfaces("n1", &InterfacesFile::parse(FILE));
        assert_eq!(f.bridge_ports("vmbr0"), ["eth0"]);
        assert!(f.bridge("vmbr0").unwrap().vlan_aware);
        assert_eq!(f.address_of("dummy7"), Some("10.1.1.1".parse().unwrap()));
        assert!(f.bridge_ports("vmbr9").is_empty());
    }

    #[test]
    fn ovs_bridge_ports_are_its_uplinks_only() {
        let file = "\
auto eno1
iface eno1 inet manual
\tovs_type OVSPort
\tovs_bridge vmbr1

auto bond0
iface bond0 inet manual
\tovs_type OVSBond
\tovs_bridge vmbr1
\tovs_bonds eno3 eno4

auto mgmt50
iface mgmt50 inet static
\taddress 10.50.0.2/24
\tovs_type OVSIntPort
\tovs_bridge vmbr1
\tovs_options tag=50

auto vmbr1
iface vmbr1 inet manual
\tovs_type OVSBridge
\tovs_ports eno1 mgmt50 bond0 eno2 veth7
";
        let f = NodeFacts::from_interfaces("n1", &InterfacesFile::parse(file));
        let b = f.bridge("vmbr1").unwrap();
        assert!(b.ovs);
        assert_eq!(b.ports, ["eno1", "bond0", "eno2"]);
    }

    #[test]
    fn local_ip_lookup_order() {
        let mut f = NodeFacts::from_interfaces("n1", &InterfacesFile::parse(FILE));
        let peers: Vec<IpAddr> = vec![
            "192.168.0.2".parse().unwrap(),
            "192.168.0.1".parse().unwrap(),
        ];
        assert_eq!(
            f.local_ip_toward(&peers, Some("dummy7")),
            Some(("10.1.1.1".parse().unwrap(), "dummy7".into()))
        );
        assert_eq!(
            f.local_ip_toward(&peers, Some("lo")),
            Some(("192.168.0.1".parse().unwrap(), "vmbr0".into()))
        );
        let remote: Vec<IpAddr> = vec!["10.9.9.9".parse().unwrap()];
        assert_eq!(f.local_ip_toward(&remote, None), None);
        f.set_route_source(Some(RouteSource {
            ip: "192.168.0.1".parse().unwrap(),
            iface: "vmbr0".into(),
        }));
        assert_eq!(
            f.local_ip_toward(&remote, None).map(|x| x.1),
            Some("vmbr0".to_string())
        );
    }

    #[test]
    fn router_ids() {
        let mut f = NodeFacts::default();
        assert_eq!(
            f.router_id(Some("10.0.0.1".parse().unwrap())),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(f.router_id(Some("2001:db8::1".parse().unwrap())), None);
        f.router_mac = Some([0x02, 0x42, 0x0a, 0x14, 0x1e, 0x28]);
        assert_eq!(f.router_id(None), Some("10.20.30.40".parse().unwrap()));
    }
}
