//! Controller, IPAM, DNS and fabric records of the model.
//!
//! Same conventions as [`super::model`]: one flat typed record per section,
//! every key an `Option`, unknown keys kept in `extra`.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::diag::Origin;

/// A controller's plugin type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ControllerType {
    /// The cluster's BGP-EVPN control plane.
    Evpn,
    /// A per-node BGP router (underlay, uplinks, per-node ASN).
    Bgp,
    /// A per-node IS-IS router.
    Isis,
    /// Any other type (e.g. the dead `faucet` plugin), kept verbatim.
    Other(String),
}

impl ControllerType {
    /// The section type string.
    pub fn as_str(&self) -> &str {
        match self {
            ControllerType::Evpn => "evpn",
            ControllerType::Bgp => "bgp",
            ControllerType::Isis => "isis",
            ControllerType::Other(s) => s,
        }
    }

    /// Parses a section type string.
    pub fn from_type(s: &str) -> ControllerType {
        match s {
            "evpn" => ControllerType::Evpn,
            "bgp" => ControllerType::Bgp,
            "isis" => ControllerType::Isis,
            other => ControllerType::Other(other.to_string()),
        }
    }
}

/// A controller (`controllers.cfg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Controller {
    /// Controller id.
    pub id: String,
    /// Plugin type.
    pub controller_type: ControllerType,
    /// `asn` (evpn, bgp)
    pub asn: Option<u64>,
    /// `peers` (evpn, bgp)
    pub peers: Option<Vec<IpAddr>>,
    /// `fabric` (evpn underlay)
    pub fabric: Option<String>,
    /// `node` (bgp, isis)
    pub node: Option<String>,
    /// `ebgp` (bgp)
    pub ebgp: Option<bool>,
    /// `ebgp-multihop` (bgp)
    pub ebgp_multihop: Option<u64>,
    /// `loopback` (bgp, isis)
    pub loopback: Option<String>,
    /// `bgp-multipath-as-path-relax` (bgp)
    pub bgp_multipath_as_path_relax: Option<bool>,
    /// `isis-domain`
    pub isis_domain: Option<String>,
    /// `isis-ifaces`
    pub isis_ifaces: Option<Vec<String>>,
    /// `isis-net`
    pub isis_net: Option<String>,
    /// Unknown keys, verbatim.
    pub extra: Vec<(String, String)>,
    /// Where it was read from.
    pub origin: Origin,
}

impl Controller {
    /// An empty controller of the given type.
    pub fn new(id: &str, controller_type: ControllerType) -> Controller {
        Controller {
            id: id.to_string(),
            controller_type,
            asn: None,
            peers: None,
            fabric: None,
            node: None,
            ebgp: None,
            ebgp_multihop: None,
            loopback: None,
            bgp_multipath_as_path_relax: None,
            isis_domain: None,
            isis_ifaces: None,
            isis_net: None,
            extra: Vec::new(),
            origin: Origin::default(),
        }
    }
}

/// An IPAM's plugin type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpamType {
    /// The built-in PVE IPAM.
    Pve,
    /// NetBox.
    Netbox,
    /// phpIPAM.
    Phpipam,
    /// Anything else, kept verbatim.
    Other(String),
}

impl IpamType {
    /// The section type string.
    pub fn as_str(&self) -> &str {
        match self {
            IpamType::Pve => "pve",
            IpamType::Netbox => "netbox",
            IpamType::Phpipam => "phpipam",
            IpamType::Other(s) => s,
        }
    }

    /// Parses a section type string.
    pub fn from_type(s: &str) -> IpamType {
        match s {
            "pve" => IpamType::Pve,
            "netbox" => IpamType::Netbox,
            "phpipam" => IpamType::Phpipam,
            other => IpamType::Other(other.to_string()),
        }
    }
}

/// An IPAM (`ipams.cfg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipam {
    /// IPAM id.
    pub id: String,
    /// Plugin type.
    pub ipam_type: IpamType,
    /// `url`
    pub url: Option<String>,
    /// `token`
    pub token: Option<String>,
    /// `section` (phpipam)
    pub section: Option<u64>,
    /// `fingerprint`
    pub fingerprint: Option<String>,
    /// Unknown keys, verbatim.
    pub extra: Vec<(String, String)>,
    /// Where it was read from.
    pub origin: Origin,
}

/// A DNS plugin's type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DnsType {
    /// PowerDNS.
    Powerdns,
    /// Anything else, kept verbatim.
    Other(String),
}

impl DnsType {
    /// The section type string.
    pub fn as_str(&self) -> &str {
        match self {
            DnsType::Powerdns => "powerdns",
            DnsType::Other(s) => s,
        }
    }

    /// Parses a section type string.
    pub fn from_type(s: &str) -> DnsType {
        match s {
            "powerdns" => DnsType::Powerdns,
            other => DnsType::Other(other.to_string()),
        }
    }
}

/// A DNS server (`dns.cfg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dns {
    /// DNS id.
    pub id: String,
    /// Plugin type.
    pub dns_type: DnsType,
    /// `url`
    pub url: Option<String>,
    /// `key`
    pub key: Option<String>,
    /// `ttl`
    pub ttl: Option<u64>,
    /// `reversemaskv6`
    pub reversemaskv6: Option<u64>,
    /// `fingerprint`
    pub fingerprint: Option<String>,
    /// Unknown keys, verbatim.
    pub extra: Vec<(String, String)>,
    /// Where it was read from.
    pub origin: Origin,
}

/// A fabric section's type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FabricType {
    /// `openfabric_fabric`
    OpenfabricFabric,
    /// `openfabric_node`
    OpenfabricNode,
    /// `ospf_fabric`
    OspfFabric,
    /// `ospf_node`
    OspfNode,
    /// Anything else (e.g. the newer `bgp_*`/`wireguard_*`), kept verbatim.
    Other(String),
}

impl FabricType {
    /// The section type string.
    pub fn as_str(&self) -> &str {
        match self {
            FabricType::OpenfabricFabric => "openfabric_fabric",
            FabricType::OpenfabricNode => "openfabric_node",
            FabricType::OspfFabric => "ospf_fabric",
            FabricType::OspfNode => "ospf_node",
            FabricType::Other(s) => s,
        }
    }

    /// Parses a section type string.
    pub fn from_type(s: &str) -> FabricType {
        match s {
            "openfabric_fabric" => FabricType::OpenfabricFabric,
            "openfabric_node" => FabricType::OpenfabricNode,
            "ospf_fabric" => FabricType::OspfFabric,
            "ospf_node" => FabricType::OspfNode,
            other => FabricType::Other(other.to_string()),
        }
    }

    /// True for node sections.
    pub fn is_node(&self) -> bool {
        matches!(self, FabricType::OpenfabricNode | FabricType::OspfNode)
    }
}

/// One interface of a fabric node (`name=enp7s0,ip=10.0.0.1/31,...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FabricInterface {
    /// `name`
    pub name: String,
    /// `ip` (IPv4 with prefix length), `None` = unnumbered
    pub ip: Option<IpNet>,
    /// `ip6`
    pub ip6: Option<IpNet>,
    /// `hello_multiplier` (openfabric)
    pub hello_multiplier: Option<u64>,
    /// Unknown `k=v` pairs, verbatim.
    pub extra: Vec<(String, String)>,
}

/// A fabric or fabric-node section (`fabrics.cfg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FabricSection {
    /// Section id: `<fabric>` or `<fabric>_<node>`.
    pub id: String,
    /// Section type.
    pub fabric_type: FabricType,
    /// `ip_prefix` (fabric)
    pub ip_prefix: Option<IpNet>,
    /// `ip6_prefix` (fabric)
    pub ip6_prefix: Option<IpNet>,
    /// `hello_interval` (openfabric fabric)
    pub hello_interval: Option<u64>,
    /// `csnp_interval` (openfabric fabric)
    pub csnp_interval: Option<u64>,
    /// `area` (ospf fabric)
    pub area: Option<String>,
    /// `ip` (node router id / loopback)
    pub ip: Option<IpAddr>,
    /// `ip6` (node)
    pub ip6: Option<IpAddr>,
    /// `interfaces` (node, repeated)
    pub interfaces: Vec<FabricInterface>,
    /// Unknown keys, verbatim.
    pub extra: Vec<(String, String)>,
    /// Where it was read from.
    pub origin: Origin,
}

impl FabricSection {
    /// For a node section: `(fabric id, node name)`.
    pub fn node_ids(&self) -> Option<(&str, &str)> {
        if self.fabric_type.is_node() {
            self.id.split_once('_')
        } else {
            None
        }
    }
}
