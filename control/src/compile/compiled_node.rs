//! The compiled node: what one node must do, the contract between
//! `compile` and the daemon's lowering step (`crate::lower`).
//!
//! Layer: pure data. Node-specific (only this node's view: its VTEP
//! address, peers other than itself, its exit-node role), name-based
//! (interface names, never ifindexes), serde-serialisable with stable
//! snake_case field names (`xsdn compile --json`). Every field is
//! documented in `docs/compiled-node.md`; [`COMPILED_NODE_FORMAT`] changes
//! when a field changes meaning or disappears. Not to be confused with the
//! dataplane's `ForwardingTables` (port slots, bridge-domain ids), which
//! `crate::lower` builds from this and the kernel's state.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::compile::resolve::ExitRole;
use crate::config::model::VlanProtocol;
use xsdn_common::{Vid, Vni};

/// Version of the compiled-node format (bumped on incompatible changes).
pub const COMPILED_NODE_FORMAT: u32 = 1;

/// Everything this node must do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompiledNode {
    /// [`COMPILED_NODE_FORMAT`].
    pub format: u32,
    /// The node this was compiled for.
    pub node: String,
    /// `version` of the applied configuration, if known.
    pub config_version: Option<u64>,
    /// Every zone of the configuration, by id.
    pub zones: Vec<ZoneTable>,
    /// The VNets this node carries (zones it participates in), by name.
    pub vnets: Vec<VnetTable>,
    /// VNets of participating zones that could not be compiled, and why.
    pub skipped: Vec<Skipped>,
    /// Non-fatal problems (e.g. a SNAT rule without an egress route).
    pub warnings: Vec<String>,
}

impl CompiledNode {
    /// The VNet called `name`.
    pub fn vnet(&self, name: &str) -> Option<&VnetTable> {
        self.vnets.iter().find(|v| v.name == name)
    }

    /// The zone called `id`.
    pub fn zone(&self, id: &str) -> Option<&ZoneTable> {
        self.zones.iter().find(|z| z.id == id)
    }
}

/// A zone's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// Isolated bridge, routed by the node.
    Simple,
    /// 802.1Q VLAN on a node bridge.
    Vlan,
    /// Service VLAN + customer VLAN on a node bridge.
    Qinq,
    /// VXLAN with a static flood list.
    Vxlan,
    /// BGP-EVPN (VXLAN, symmetric IRB, anycast gateway).
    Evpn,
}

impl ZoneKind {
    /// The zone type as written in zones.cfg.
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::Simple => "simple",
            ZoneKind::Vlan => "vlan",
            ZoneKind::Qinq => "qinq",
            ZoneKind::Vxlan => "vxlan",
            ZoneKind::Evpn => "evpn",
        }
    }
}

/// How a zone's VRF reaches the outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DefaultRoute {
    /// Layer-2 zone: nothing is routed.
    None,
    /// Routed by this node's own routing table (simple zones, EVPN exit nodes).
    Host,
    /// Learnt over EVPN from the exit nodes; until then an unreachable
    /// default with this metric keeps traffic out of the main table.
    Evpn {
        /// Metric of the unreachable fallback default.
        unreachable_metric: u32,
    },
}

/// The exit-node role of this node in an EVPN zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitNode {
    /// `none`, `primary`, `secondary` or `equal`.
    pub role: ExitRole,
    /// `exitnodes-local-routing`: the node itself reaches guests through a
    /// veth pair `xvrf_<zone>` (10.255.255.1) / `xvrfp_<zone>` (10.255.255.2).
    pub local_routing: bool,
}

/// An anycast gateway address on a VNet bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gateway {
    /// VNet (bridge) carrying it.
    pub vnet: String,
    /// Address.
    pub address: IpAddr,
    /// Prefix length (of the subnet).
    pub prefix_len: u8,
}

/// A prefix reachable directly on a VNet bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedRoute {
    /// Destination.
    pub prefix: IpNet,
    /// VNet (bridge) it is on.
    pub vnet: String,
}

/// Source NAT for a subnet leaving the node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnatRule {
    /// Source prefix (the subnet).
    pub source: IpNet,
    /// Outgoing interface.
    pub out_iface: String,
    /// Address to translate to.
    pub to_source: IpAddr,
}

/// A zone's VRF (EVPN).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VrfTable {
    /// Kernel VRF name, `vrf_<zone>`.
    pub name: String,
    /// L3 VNI (`vrf-vxlan`), if configured.
    pub vni: Option<u32>,
}

/// One zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneTable {
    /// Zone id.
    pub id: String,
    /// Zone type.
    pub zone_type: ZoneKind,
    /// Whether this node carries the zone (`nodes`).
    pub participates: bool,
    /// Effective MTU of its VNets (zone `mtu`, 1450 for VXLAN/EVPN, else none = kernel default).
    pub mtu: Option<u32>,
    /// Its VNets, by name.
    pub vnets: Vec<String>,
    /// The VRF (EVPN zones).
    pub vrf: Option<VrfTable>,
    /// Gateway addresses on the VNet bridges (simple and EVPN zones).
    pub gateways: Vec<Gateway>,
    /// Subnets reachable on the VNet bridges (simple and EVPN zones).
    pub connected_routes: Vec<ConnectedRoute>,
    /// SNAT rules this node applies (simple zones; EVPN zones on exit nodes).
    pub snat: Vec<SnatRule>,
    /// Exit-node role (EVPN).
    pub exit: ExitNode,
    /// How the zone reaches the outside.
    pub default_route: DefaultRoute,
    /// Prefixes of other zones that an exit node must drop inside this VRF
    /// (so nodes never route between zones through it).
    pub null_routes: Vec<IpNet>,
}

/// The kind of node bridge a VLAN/QinQ zone sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BridgeKind {
    /// Linux bridge without VLAN filtering (VLAN sub-interfaces of its ports).
    Linux,
    /// VLAN-aware Linux bridge.
    LinuxVlanAware,
    /// Open vSwitch bridge.
    Ovs,
}

/// How a VNet's frames leave the node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Encap {
    /// Simple zone: never leaves the node.
    Local,
    /// 802.1Q tag on the zone's bridge.
    Vlan {
        /// Node bridge (e.g. `vmbr0`).
        bridge: String,
        /// Its kind.
        bridge_kind: BridgeKind,
        /// Its physical ports (the uplinks).
        ports: Vec<String>,
        /// VLAN id.
        tag: Vid,
    },
    /// Service tag + optional customer tag on the zone's bridge.
    Qinq {
        /// Node bridge.
        bridge: String,
        /// Its kind.
        bridge_kind: BridgeKind,
        /// Its physical ports (the uplinks).
        ports: Vec<String>,
        /// Outer (service) VLAN id.
        service_tag: Vid,
        /// Outer tag protocol: `802.1q` (0x8100) or `802.1ad` (0x88a8).
        protocol: VlanProtocol,
        /// Inner (customer) VLAN id; `None` = the zone's untagged VNet.
        customer_tag: Option<Vid>,
    },
    /// VXLAN with head-end replication to static peers.
    Vxlan {
        /// VNI.
        vni: Vni,
        /// UDP destination port.
        udp_port: u16,
        /// This node's VTEP address.
        local_ip: Option<IpAddr>,
        /// The other VTEPs (never this node's own address).
        peers: Vec<IpAddr>,
    },
    /// EVPN L2VNI with symmetric IRB.
    Evpn {
        /// L2 VNI.
        vni: Vni,
        /// L3 VNI of the zone's VRF.
        vrf_vni: Option<Vni>,
        /// Kernel VRF name.
        vrf: String,
        /// UDP destination port.
        udp_port: u16,
        /// This node's VTEP address.
        local_ip: Option<IpAddr>,
        /// Anycast gateway MAC (lower case), if configured.
        anycast_mac: Option<String>,
        /// ARP/ND suppression (answer from the EVPN neighbour table).
        arp_nd_suppression: bool,
        /// BGP-EVPN peers other than this node (routes and flood lists come from BGP).
        bgp_peers: Vec<IpAddr>,
    },
}

/// A subnet of a VNet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetTable {
    /// Network (host bits cleared).
    pub cidr: IpNet,
    /// Gateway address.
    pub gateway: Option<IpAddr>,
    /// SNAT requested.
    pub snat: bool,
    /// DHCP ranges `(start, end)`.
    pub dhcp_ranges: Vec<(IpAddr, IpAddr)>,
}

/// One VNet (a bridge domain).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VnetTable {
    /// VNet id = kernel bridge name.
    pub name: String,
    /// Zone id.
    pub zone: String,
    /// Zone type.
    pub zone_type: ZoneKind,
    /// `alias`
    pub alias: Option<String>,
    /// Guests may send their own VLAN tags.
    pub vlanaware: bool,
    /// Guest ports are isolated from each other (uplink still reachable).
    pub isolate_ports: bool,
    /// MAC learning on guest ports (off: static entries for guest MACs).
    pub mac_learning: bool,
    /// Effective MTU.
    pub mtu: Option<u32>,
    /// Subnets, by id.
    pub subnets: Vec<SubnetTable>,
    /// Encapsulation.
    pub encap: Encap,
}

/// A VNet that was not compiled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// VNet id.
    pub vnet: String,
    /// Why.
    pub reason: String,
}
