//! The typed SDN configuration model.
//!
//! One [`SdnConfig`] holds everything a cluster's SDN directory (or its
//! `.running-config` snapshot) describes. Each section becomes one flat,
//! typed record: which keys a section *type* may carry is the schema's job
//! ([`super::schema`]), so a record keeps every key it was given, including
//! keys that are wrong for its type (reported, and written back unchanged).
//! Values are typed (`u64`, `bool`, `IpAddr`, lists); numbers are kept as
//! `u64` so out-of-range input survives parsing and can be reported by
//! validation. Keys nobody knows are kept verbatim in `extra`.
//!
//! Records keep their input order; the reference generators sort by id
//! wherever order matters, and so do ours.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::section::RawSection;
pub use crate::config::services::*;
use crate::diag::Origin;

/// The files of an SDN directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SdnFile {
    /// `zones.cfg`
    Zones,
    /// `vnets.cfg`
    Vnets,
    /// `subnets.cfg`
    Subnets,
    /// `controllers.cfg`
    Controllers,
    /// `ipams.cfg`
    Ipams,
    /// `dns.cfg`
    Dns,
    /// `fabrics.cfg`
    Fabrics,
}

impl SdnFile {
    /// All files, in the order they are read and written.
    pub const ALL: [SdnFile; 7] = [
        SdnFile::Zones,
        SdnFile::Vnets,
        SdnFile::Subnets,
        SdnFile::Controllers,
        SdnFile::Ipams,
        SdnFile::Dns,
        SdnFile::Fabrics,
    ];

    /// The file name inside the SDN directory.
    pub fn file_name(self) -> &'static str {
        match self {
            SdnFile::Zones => "zones.cfg",
            SdnFile::Vnets => "vnets.cfg",
            SdnFile::Subnets => "subnets.cfg",
            SdnFile::Controllers => "controllers.cfg",
            SdnFile::Ipams => "ipams.cfg",
            SdnFile::Dns => "dns.cfg",
            SdnFile::Fabrics => "fabrics.cfg",
        }
    }

    /// The key of this file's object in `.running-config`.
    pub fn running_key(self) -> &'static str {
        match self {
            SdnFile::Zones => "zones",
            SdnFile::Vnets => "vnets",
            SdnFile::Subnets => "subnets",
            SdnFile::Controllers => "controllers",
            SdnFile::Ipams => "ipams",
            SdnFile::Dns => "dns",
            SdnFile::Fabrics => "fabrics",
        }
    }

    /// The noun used for this file's sections in diagnostics.
    pub fn noun(self) -> &'static str {
        match self {
            SdnFile::Zones => "zone",
            SdnFile::Vnets => "vnet",
            SdnFile::Subnets => "subnet",
            SdnFile::Controllers => "controller",
            SdnFile::Ipams => "ipam",
            SdnFile::Dns => "dns",
            SdnFile::Fabrics => "fabric",
        }
    }
}

/// The whole SDN configuration of a cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SdnConfig {
    /// `version` of `.running-config` (bumped by every apply); `None` for `.cfg` input.
    pub version: Option<u64>,
    /// `zones.cfg`
    pub zones: Vec<Zone>,
    /// `vnets.cfg`
    pub vnets: Vec<Vnet>,
    /// `subnets.cfg`
    pub subnets: Vec<Subnet>,
    /// `controllers.cfg`
    pub controllers: Vec<Controller>,
    /// `ipams.cfg`
    pub ipams: Vec<Ipam>,
    /// `dns.cfg`
    pub dns: Vec<Dns>,
    /// `fabrics.cfg`
    pub fabrics: Vec<FabricSection>,
    /// Sections of types nobody knows, kept to be written back unchanged.
    pub foreign: Vec<(SdnFile, RawSection)>,
    /// Files whose sections this input cannot carry, so references into
    /// them are not checked: a `.running-config` has no `ipams` or `dns`
    /// block unless it says so. Empty for section-config input, where a
    /// missing `ipams.cfg` means no IPAM but the built-in `pve`.
    pub not_carried: Vec<SdnFile>,
}

/// A zone's plugin type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ZoneType {
    /// Isolated bridge, optionally routed/NATed by the host.
    Simple,
    /// 802.1Q VLAN on an existing bridge.
    Vlan,
    /// Stacked VLANs (service tag per zone, customer tag per VNet).
    QinQ,
    /// VXLAN with a static flood list.
    Vxlan,
    /// BGP-EVPN (VXLAN, symmetric IRB).
    Evpn,
    /// Any other type (e.g. the dead `faucet` plugin), kept verbatim.
    Other(String),
}

impl ZoneType {
    /// The section type string.
    pub fn as_str(&self) -> &str {
        match self {
            ZoneType::Simple => "simple",
            ZoneType::Vlan => "vlan",
            ZoneType::QinQ => "qinq",
            ZoneType::Vxlan => "vxlan",
            ZoneType::Evpn => "evpn",
            ZoneType::Other(s) => s,
        }
    }

    /// Parses a section type string.
    pub fn from_type(s: &str) -> ZoneType {
        match s {
            "simple" => ZoneType::Simple,
            "vlan" => ZoneType::Vlan,
            "qinq" => ZoneType::QinQ,
            "vxlan" => ZoneType::Vxlan,
            "evpn" => ZoneType::Evpn,
            other => ZoneType::Other(other.to_string()),
        }
    }

    /// VXLAN and EVPN zones: the VNet tag is a VNI, unique cluster-wide.
    pub fn uses_vni(&self) -> bool {
        matches!(self, ZoneType::Vxlan | ZoneType::Evpn)
    }
}

/// QinQ service VLAN protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum VlanProtocol {
    /// TPID 0x8100 (the default).
    #[serde(rename = "802.1q")]
    Dot1Q,
    /// TPID 0x88a8.
    #[serde(rename = "802.1ad")]
    Dot1Ad,
}

impl VlanProtocol {
    /// `802.1q` or `802.1ad`.
    pub fn as_str(self) -> &'static str {
        match self {
            VlanProtocol::Dot1Q => "802.1q",
            VlanProtocol::Dot1Ad => "802.1ad",
        }
    }

    /// The TPID its tags carry on the wire.
    pub fn tpid(self) -> xsdn_common::net::Tpid {
        match self {
            VlanProtocol::Dot1Q => xsdn_common::net::Tpid::Dot1q,
            VlanProtocol::Dot1Ad => xsdn_common::net::Tpid::Dot1ad,
        }
    }
}

/// A zone (`zones.cfg`). Keys that apply to other types stay `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    /// Zone id (at most 8 characters).
    pub id: String,
    /// Plugin type.
    pub zone_type: ZoneType,
    /// `nodes`: the zone exists only on these nodes; `None` = every node.
    pub nodes: Option<Vec<String>>,
    /// `ipam`
    pub ipam: Option<String>,
    /// `dns`
    pub dns: Option<String>,
    /// `reversedns`
    pub reversedns: Option<String>,
    /// `dnszone`
    pub dnszone: Option<String>,
    /// `mtu`
    pub mtu: Option<u64>,
    /// `dhcp` (simple zones: `dnsmasq`)
    pub dhcp: Option<String>,
    /// `bridge` (vlan, qinq)
    pub bridge: Option<String>,
    /// `bridge-disable-mac-learning` (vlan, qinq, evpn)
    pub bridge_disable_mac_learning: Option<bool>,
    /// `tag`: the QinQ service VLAN
    pub tag: Option<u64>,
    /// `vlan-protocol` (qinq)
    pub vlan_protocol: Option<VlanProtocol>,
    /// `peers` (vxlan)
    pub peers: Option<Vec<IpAddr>>,
    /// `fabric` (vxlan underlay)
    pub fabric: Option<String>,
    /// `vxlan-port` (vxlan, evpn)
    pub vxlan_port: Option<u64>,
    /// `controller` (evpn)
    pub controller: Option<String>,
    /// `vrf-vxlan`: the L3 VNI (evpn)
    pub vrf_vxlan: Option<u64>,
    /// `mac`: the anycast gateway MAC, as written (evpn)
    pub mac: Option<String>,
    /// `exitnodes` (evpn)
    pub exitnodes: Option<Vec<String>>,
    /// `exitnodes-primary` (evpn)
    pub exitnodes_primary: Option<String>,
    /// `exitnodes-local-routing` (evpn)
    pub exitnodes_local_routing: Option<bool>,
    /// `advertise-subnets` (evpn)
    pub advertise_subnets: Option<bool>,
    /// `disable-arp-nd-suppression` (evpn)
    pub disable_arp_nd_suppression: Option<bool>,
    /// `rt-import`: route targets `ASN:NN` (evpn)
    pub rt_import: Option<Vec<String>>,
    /// Unknown keys, verbatim.
    pub extra: Vec<(String, String)>,
    /// Where it was read from.
    pub origin: Origin,
}

impl Zone {
    /// An empty zone of the given type.
    pub fn new(id: &str, zone_type: ZoneType) -> Zone {
        Zone {
            id: id.to_string(),
            zone_type,
            nodes: None,
            ipam: None,
            dns: None,
            reversedns: None,
            dnszone: None,
            mtu: None,
            dhcp: None,
            bridge: None,
            bridge_disable_mac_learning: None,
            tag: None,
            vlan_protocol: None,
            peers: None,
            fabric: None,
            vxlan_port: None,
            controller: None,
            vrf_vxlan: None,
            mac: None,
            exitnodes: None,
            exitnodes_primary: None,
            exitnodes_local_routing: None,
            advertise_subnets: None,
            disable_arp_nd_suppression: None,
            rt_import: None,
            extra: Vec::new(),
            origin: Origin::default(),
        }
    }

    /// True if the zone is deployed on `node` (no `nodes` list = everywhere).
    pub fn on_node(&self, node: &str) -> bool {
        self.nodes
            .as_ref()
            .is_none_or(|nodes| nodes.iter().any(|n| n == node))
    }

    /// True if `node` is one of the zone's exit nodes.
    pub fn is_exit_node(&self, node: &str) -> bool {
        self.exitnodes
            .as_ref()
            .is_some_and(|nodes| nodes.iter().any(|n| n == node))
    }
}

/// A VNet (`vnets.cfg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vnet {
    /// VNet id: also the Linux bridge name (at most 8 characters).
    pub id: String,
    /// `zone`
    pub zone: Option<String>,
    /// `tag`: VLAN id (vlan/qinq) or VNI (vxlan/evpn)
    pub tag: Option<u64>,
    /// `vlanaware`
    pub vlanaware: Option<bool>,
    /// `alias`
    pub alias: Option<String>,
    /// `isolate-ports`
    pub isolate_ports: Option<bool>,
    /// Unknown keys, verbatim.
    pub extra: Vec<(String, String)>,
    /// Where it was read from.
    pub origin: Origin,
}

impl Vnet {
    /// An empty VNet in `zone`.
    pub fn new(id: &str, zone: &str) -> Vnet {
        Vnet {
            id: id.to_string(),
            zone: Some(zone.to_string()),
            tag: None,
            vlanaware: None,
            alias: None,
            isolate_ports: None,
            extra: Vec::new(),
            origin: Origin::default(),
        }
    }
}

/// A DHCP range of a subnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpRange {
    /// `start-address`
    pub start: IpAddr,
    /// `end-address`
    pub end: IpAddr,
}

/// A subnet (`subnets.cfg`), id `<zone>-<address>-<prefix length>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subnet {
    /// Section id, e.g. `myzone-10.0.0.0-24`.
    pub id: String,
    /// The zone named by the id (`None` if the id does not parse).
    pub zone: Option<String>,
    /// The prefix named by the id, host bits kept as written.
    pub cidr: Option<IpNet>,
    /// `vnet`
    pub vnet: Option<String>,
    /// `gateway`
    pub gateway: Option<IpAddr>,
    /// `snat`
    pub snat: Option<bool>,
    /// `dnszoneprefix`
    pub dnszoneprefix: Option<String>,
    /// `dhcp-range` (repeated)
    pub dhcp_ranges: Vec<DhcpRange>,
    /// `dhcp-dns-server`
    pub dhcp_dns_server: Option<IpAddr>,
    /// Unknown keys, verbatim.
    pub extra: Vec<(String, String)>,
    /// Where it was read from.
    pub origin: Origin,
}

impl Subnet {
    /// A subnet for `cidr` in `zone` on `vnet`, with the id Proxmox would give it.
    pub fn new(zone: &str, cidr: IpNet, vnet: &str) -> Subnet {
        Subnet {
            id: subnet_id(zone, &cidr),
            zone: Some(zone.to_string()),
            cidr: Some(cidr),
            vnet: Some(vnet.to_string()),
            gateway: None,
            snat: None,
            dnszoneprefix: None,
            dhcp_ranges: Vec::new(),
            dhcp_dns_server: None,
            extra: Vec::new(),
            origin: Origin::default(),
        }
    }

    /// The subnet's network with host bits cleared.
    pub fn network(&self) -> Option<IpNet> {
        self.cidr.map(|c| c.trunc())
    }
}

/// The id Proxmox gives a subnet: `<zone>-<address>-<prefix length>`.
pub fn subnet_id(zone: &str, cidr: &IpNet) -> String {
    format!("{zone}-{}-{}", cidr.addr(), cidr.prefix_len())
}

/// Splits a subnet id into zone and prefix (host bits kept).
pub fn parse_subnet_id(id: &str) -> Option<(String, IpNet)> {
    let (zone, rest) = id.split_once('-')?;
    let (addr, len) = rest.rsplit_once('-')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let net = IpNet::new(addr, len).ok()?;
    if zone.is_empty() {
        return None;
    }
    Some((zone.to_string(), net))
}

/// Parses a MAC address `aa:bb:cc:dd:ee:ff` (either case, `:` or `-`).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(parts) {
        if part.len() != 2 {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    Some(mac)
}

/// Formats a MAC address as lower-case `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl SdnConfig {
    /// The zone with this id.
    pub fn zone(&self, id: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.id == id)
    }

    /// The VNet with this id.
    pub fn vnet(&self, id: &str) -> Option<&Vnet> {
        self.vnets.iter().find(|v| v.id == id)
    }

    /// The controller with this id.
    pub fn controller(&self, id: &str) -> Option<&Controller> {
        self.controllers.iter().find(|c| c.id == id)
    }

    /// The zone of a VNet.
    pub fn zone_of(&self, vnet: &Vnet) -> Option<&Zone> {
        vnet.zone.as_deref().and_then(|z| self.zone(z))
    }

    /// The subnets of a VNet, sorted by subnet id (the reference's order).
    pub fn subnets_of(&self, vnet: &str) -> Vec<&Subnet> {
        let mut v: Vec<&Subnet> = self
            .subnets
            .iter()
            .filter(|s| s.vnet.as_deref() == Some(vnet))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// VNets sorted by id.
    pub fn vnets_sorted(&self) -> Vec<&Vnet> {
        let mut v: Vec<&Vnet> = self.vnets.iter().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Zones sorted by id.
    pub fn zones_sorted(&self) -> Vec<&Zone> {
        let mut v: Vec<&Zone> = self.zones.iter().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Controllers sorted by id.
    pub fn controllers_sorted(&self) -> Vec<&Controller> {
        let mut v: Vec<&Controller> = self.controllers.iter().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// The fabric section `id` (not a node section).
    pub fn fabric(&self, id: &str) -> Option<&FabricSection> {
        self.fabrics
            .iter()
            .find(|f| f.id == id && !f.fabric_type.is_node())
    }

    /// The node sections of fabric `id`, sorted by section id.
    pub fn fabric_nodes(&self, id: &str) -> Vec<&FabricSection> {
        let mut v: Vec<&FabricSection> = self
            .fabrics
            .iter()
            .filter(|f| f.node_ids().is_some_and(|(fab, _)| fab == id))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// The node section of `node` in fabric `id`.
    pub fn fabric_node(&self, id: &str, node: &str) -> Option<&FabricSection> {
        self.fabrics
            .iter()
            .find(|f| f.node_ids() == Some((id, node)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_ids_round_trip_with_host_bits() {
        let (zone, net) = parse_subnet_id("west4-172.30.9.9-20").unwrap();
        assert_eq!(zone, "west4");
        assert_eq!(net.to_string(), "172.30.9.9/20");
        assert_eq!(subnet_id(&zone, &net), "west4-172.30.9.9-20");
        let (_, v6) = parse_subnet_id("z-2001:db8:7:a::-64").unwrap();
        assert_eq!(v6.to_string(), "2001:db8:7:a::/64");
        assert!(parse_subnet_id("nozone").is_none());
        assert!(parse_subnet_id("z-10.0.0.0-33").is_none());
    }

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("02:A1:b2:C3:d4:E5"),
            Some([0x02, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5])
        );
        assert_eq!(
            format_mac([0x02, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5]),
            "02:a1:b2:c3:d4:e5"
        );
        assert!(parse_mac("02:a1:b2:c3:d4").is_none());
        assert!(parse_mac("02:a1:b2:c3:d4:eg").is_none());
    }
}
