//! Which keys each section type accepts, and which of them are required.
//!
//! This mirrors the reference plugins' `options()` tables (pve-network 1.3,
//! plus `fabric`, `isolate-ports` and `dhcp-range` from newer releases). It
//! drives three things: unknown-key warnings while building the model, the
//! required-key check in validation, and the canonical write order (required
//! keys before optional ones).

use crate::config::model::SdnFile;

/// One key a section type accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// The key as written in the file.
    pub key: &'static str,
    /// Whether the reference refuses a section without it.
    pub required: bool,
}

const fn opt(key: &'static str) -> KeySpec {
    KeySpec {
        key,
        required: false,
    }
}

const fn req(key: &'static str) -> KeySpec {
    KeySpec {
        key,
        required: true,
    }
}

const ZONE_SIMPLE: &[KeySpec] = &[
    opt("nodes"),
    opt("mtu"),
    opt("dns"),
    opt("reversedns"),
    opt("dnszone"),
    opt("ipam"),
    opt("dhcp"),
];
const ZONE_VLAN: &[KeySpec] = &[
    opt("nodes"),
    req("bridge"),
    opt("bridge-disable-mac-learning"),
    opt("mtu"),
    opt("dns"),
    opt("reversedns"),
    opt("dnszone"),
    opt("ipam"),
];
const ZONE_QINQ: &[KeySpec] = &[
    opt("nodes"),
    req("tag"),
    req("bridge"),
    opt("bridge-disable-mac-learning"),
    opt("mtu"),
    opt("vlan-protocol"),
    opt("dns"),
    opt("reversedns"),
    opt("dnszone"),
    opt("ipam"),
];
const ZONE_VXLAN: &[KeySpec] = &[
    opt("nodes"),
    opt("peers"),
    opt("fabric"),
    opt("vxlan-port"),
    opt("mtu"),
    opt("dns"),
    opt("reversedns"),
    opt("dnszone"),
    opt("ipam"),
];
const ZONE_EVPN: &[KeySpec] = &[
    opt("nodes"),
    req("vrf-vxlan"),
    req("controller"),
    opt("exitnodes"),
    opt("exitnodes-local-routing"),
    opt("exitnodes-primary"),
    opt("advertise-subnets"),
    opt("disable-arp-nd-suppression"),
    opt("bridge-disable-mac-learning"),
    opt("rt-import"),
    opt("vxlan-port"),
    opt("mtu"),
    opt("mac"),
    opt("dns"),
    opt("reversedns"),
    opt("dnszone"),
    opt("ipam"),
];
const VNET: &[KeySpec] = &[
    req("zone"),
    opt("tag"),
    opt("vlanaware"),
    opt("alias"),
    opt("isolate-ports"),
];
const SUBNET: &[KeySpec] = &[
    req("vnet"),
    opt("gateway"),
    opt("snat"),
    opt("dnszoneprefix"),
    opt("dhcp-range"),
    opt("dhcp-dns-server"),
];
const CTRL_EVPN: &[KeySpec] = &[req("asn"), opt("peers"), opt("fabric")];
const CTRL_BGP: &[KeySpec] = &[
    req("node"),
    req("asn"),
    req("peers"),
    opt("bgp-multipath-as-path-relax"),
    opt("ebgp"),
    opt("ebgp-multihop"),
    opt("loopback"),
];
const CTRL_ISIS: &[KeySpec] = &[
    req("isis-domain"),
    req("isis-net"),
    req("isis-ifaces"),
    req("node"),
    opt("loopback"),
];
const IPAM_PVE: &[KeySpec] = &[];
const IPAM_NETBOX: &[KeySpec] = &[req("url"), req("token"), opt("fingerprint")];
const IPAM_PHPIPAM: &[KeySpec] = &[req("url"), req("token"), req("section"), opt("fingerprint")];
const DNS_POWERDNS: &[KeySpec] = &[
    req("url"),
    req("key"),
    opt("ttl"),
    opt("reversemaskv6"),
    opt("fingerprint"),
];
const FAB_OPENFABRIC: &[KeySpec] = &[
    opt("ip_prefix"),
    opt("ip6_prefix"),
    opt("hello_interval"),
    opt("csnp_interval"),
];
const FAB_OPENFABRIC_NODE: &[KeySpec] = &[opt("ip"), opt("ip6"), opt("interfaces")];
const FAB_OSPF: &[KeySpec] = &[req("area"), opt("ip_prefix")];
const FAB_OSPF_NODE: &[KeySpec] = &[req("ip"), opt("interfaces")];

/// The keys of section type `ty` in `file`, or `None` for an unknown type.
pub fn keys(file: SdnFile, ty: &str) -> Option<&'static [KeySpec]> {
    Some(match (file, ty) {
        (SdnFile::Zones, "simple") => ZONE_SIMPLE,
        (SdnFile::Zones, "vlan") => ZONE_VLAN,
        (SdnFile::Zones, "qinq") => ZONE_QINQ,
        (SdnFile::Zones, "vxlan") => ZONE_VXLAN,
        (SdnFile::Zones, "evpn") => ZONE_EVPN,
        (SdnFile::Vnets, "vnet") => VNET,
        (SdnFile::Subnets, "subnet") => SUBNET,
        (SdnFile::Controllers, "evpn") => CTRL_EVPN,
        (SdnFile::Controllers, "bgp") => CTRL_BGP,
        (SdnFile::Controllers, "isis") => CTRL_ISIS,
        (SdnFile::Ipams, "pve") => IPAM_PVE,
        (SdnFile::Ipams, "netbox") => IPAM_NETBOX,
        (SdnFile::Ipams, "phpipam") => IPAM_PHPIPAM,
        (SdnFile::Dns, "powerdns") => DNS_POWERDNS,
        (SdnFile::Fabrics, "openfabric_fabric") => FAB_OPENFABRIC,
        (SdnFile::Fabrics, "openfabric_node") => FAB_OPENFABRIC_NODE,
        (SdnFile::Fabrics, "ospf_fabric") => FAB_OSPF,
        (SdnFile::Fabrics, "ospf_node") => FAB_OSPF_NODE,
        _ => return None,
    })
}

/// True if `key` is known for section type `ty` in `file`.
pub fn allows(file: SdnFile, ty: &str, key: &str) -> bool {
    keys(file, ty).is_some_and(|k| k.iter().any(|s| s.key == key))
}

/// True if `key` is required for section type `ty` in `file`.
pub fn is_required(file: SdnFile, ty: &str, key: &str) -> bool {
    keys(file, ty).is_some_and(|k| k.iter().any(|s| s.key == key && s.required))
}

/// Keys that may repeat (array properties).
pub fn is_array(file: SdnFile, key: &str) -> bool {
    matches!(
        (file, key),
        (SdnFile::Subnets, "dhcp-range") | (SdnFile::Fabrics, "interfaces")
    )
}

/// All section types known for `file`.
pub fn types(file: SdnFile) -> &'static [&'static str] {
    match file {
        SdnFile::Zones => &["simple", "vlan", "qinq", "vxlan", "evpn"],
        SdnFile::Vnets => &["vnet"],
        SdnFile::Subnets => &["subnet"],
        SdnFile::Controllers => &["evpn", "bgp", "isis"],
        SdnFile::Ipams => &["pve", "netbox", "phpipam"],
        SdnFile::Dns => &["powerdns"],
        SdnFile::Fabrics => &[
            "openfabric_fabric",
            "openfabric_node",
            "ospf_fabric",
            "ospf_node",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_type_has_a_schema() {
        for file in SdnFile::ALL {
            for ty in types(file) {
                assert!(keys(file, ty).is_some(), "{file:?} {ty}");
            }
        }
        assert!(keys(SdnFile::Zones, "faucet").is_none());
    }

    #[test]
    fn required_and_array_keys() {
        assert!(is_required(SdnFile::Zones, "vlan", "bridge"));
        assert!(!is_required(SdnFile::Zones, "vlan", "mtu"));
        assert!(allows(SdnFile::Zones, "evpn", "exitnodes-primary"));
        assert!(!allows(SdnFile::Zones, "simple", "bridge"));
        assert!(is_array(SdnFile::Subnets, "dhcp-range"));
        assert!(!is_array(SdnFile::Zones, "nodes"));
    }
}
