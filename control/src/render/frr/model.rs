//! A structured `frr.conf` and its text form.
//!
//! The structure mirrors what the reference hands to its templates
//! (pve-network 1.3 + proxmox-frr-templates): BGP VRFs and routers, IS-IS,
//! prefix lists, custom lines merged from `frr.conf.local`, fabric daemons,
//! access lists, route maps, static routes and protocol route maps. The text
//! layout (block order, `!` separators, indentation) is the reference's.

use std::collections::BTreeMap;
use std::fmt::Write;

/// A static route (`ip route <prefix> <via> [<dev>]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpRoute {
    /// Destination prefix, as written.
    pub prefix: String,
    /// Next hop (`null0`, an address).
    pub via: String,
    /// Outgoing interface, if any.
    pub dev: Option<String>,
    /// `ipv6 route` instead of `ip route`.
    pub ipv6: bool,
}

impl IpRoute {
    fn line(&self) -> String {
        let mut s = format!(
            "{} route {} {}",
            if self.ipv6 { "ipv6" } else { "ip" },
            self.prefix,
            self.via
        );
        if let Some(d) = &self.dev {
            let _ = write!(s, " {d}");
        }
        s
    }
}

/// `vrf <name>` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vrf {
    /// `vni`
    pub vni: Option<u64>,
    /// Static routes inside the VRF.
    pub routes: Vec<IpRoute>,
    /// Lines merged from `frr.conf.local`, verbatim.
    pub custom: Vec<String>,
}

/// A BGP peer group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NeighborGroup {
    /// Group name (`VTEP`, `BGP`).
    pub name: String,
    /// `remote-as` (`external` or a number).
    pub remote_as: String,
    /// `bfd`
    pub bfd: bool,
    /// `ebgp-multihop`
    pub ebgp_multihop: Option<u64>,
    /// `update-source`
    pub update_source: Option<String>,
    /// Member addresses.
    pub ips: Vec<String>,
}

/// A neighbor line group inside an address family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AfNeighbor {
    /// Neighbor or group name.
    pub name: String,
    /// `soft-reconfiguration inbound`
    pub soft_reconfiguration_inbound: bool,
    /// `route-map <x> in`
    pub route_map_in: Option<String>,
    /// `route-map <x> out`
    pub route_map_out: Option<String>,
}

/// An address family of a BGP router.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressFamily {
    /// `network` lines (unicast).
    pub networks: Vec<String>,
    /// `import vrf` lines.
    pub import_vrf: Vec<String>,
    /// Neighbor activations.
    pub neighbors: Vec<AfNeighbor>,
    /// `redistribute` protocols (unicast).
    pub redistribute: Vec<String>,
    /// `advertise-all-vni` (EVPN).
    pub advertise_all_vni: bool,
    /// `autort as` (EVPN).
    pub autort_as: Option<u64>,
    /// `default-originate` families (EVPN).
    pub default_originate: Vec<String>,
    /// `advertise ipv4 unicast` (EVPN).
    pub advertise_ipv4_unicast: bool,
    /// `advertise ipv6 unicast` (EVPN).
    pub advertise_ipv6_unicast: bool,
    /// `route-target import` (EVPN).
    pub rt_import: Vec<String>,
    /// `route-target export` (EVPN).
    pub rt_export: Vec<String>,
    /// Lines merged from `frr.conf.local`, verbatim.
    pub custom: Vec<String>,
}

/// Which address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Afi {
    /// `ipv4 unicast`
    Ipv4Unicast,
    /// `ipv6 unicast`
    Ipv6Unicast,
    /// `l2vpn evpn`
    L2vpnEvpn,
}

impl Afi {
    /// As written after `address-family`.
    pub fn as_str(self) -> &'static str {
        match self {
            Afi::Ipv4Unicast => "ipv4 unicast",
            Afi::Ipv6Unicast => "ipv6 unicast",
            Afi::L2vpnEvpn => "l2vpn evpn",
        }
    }

    /// Parses the text after `address-family`.
    pub fn parse(s: &str) -> Option<Afi> {
        match s {
            "ipv4 unicast" => Some(Afi::Ipv4Unicast),
            "ipv6 unicast" => Some(Afi::Ipv6Unicast),
            "l2vpn evpn" => Some(Afi::L2vpnEvpn),
            _ => None,
        }
    }
}

/// `router bgp <asn> [vrf <vrf>]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BgpRouter {
    /// ASN.
    pub asn: u64,
    /// `bgp router-id`
    pub router_id: String,
    /// `Some(false)` prints `no bgp hard-administrative-reset`.
    pub hard_administrative_reset: Option<bool>,
    /// `Some(false)` prints `no bgp default ipv4-unicast`.
    pub default_ipv4_unicast: Option<bool>,
    /// `coalesce-time`
    pub coalesce_time: Option<u32>,
    /// `Some(false)` prints `no bgp graceful-restart notification`.
    pub graceful_restart_notification: Option<bool>,
    /// `bgp disable-ebgp-connected-route-check`
    pub disable_ebgp_connected_route_check: bool,
    /// `bgp bestpath as-path multipath-relax`
    pub bestpath_as_path_multipath_relax: bool,
    /// Peer groups in creation order.
    pub neighbor_groups: Vec<NeighborGroup>,
    /// Lines merged from `frr.conf.local`, verbatim.
    pub custom: Vec<String>,
    /// Address families present.
    pub afs: BTreeMap<Afi, AddressFamily>,
}

/// A route-map entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteMapEntry {
    /// `permit` or `deny`.
    pub action: String,
    /// Sequence number.
    pub seq: u32,
    /// `match ...` (without `match `).
    pub matches: Vec<String>,
    /// `set ...` (without `set `).
    pub sets: Vec<String>,
}

/// A prefix-list rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixRule {
    /// Sequence number.
    pub seq: u32,
    /// `permit` or `deny`.
    pub action: String,
    /// Prefix.
    pub network: String,
    /// `le`
    pub le: Option<u8>,
    /// `ipv6 prefix-list`
    pub ipv6: bool,
}

/// A whole `frr.conf`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrrConfig {
    /// Node name for `hostname`.
    pub hostname: String,
    /// BGP VRFs.
    pub vrfs: BTreeMap<String, Vrf>,
    /// BGP routers by VRF name; `default` is the main router.
    pub routers: BTreeMap<String, BgpRouter>,
    /// IS-IS routers by domain: (NET, custom lines).
    pub isis_routers: BTreeMap<String, (String, Vec<String>)>,
    /// IS-IS interfaces: (domain, custom lines).
    pub isis_interfaces: BTreeMap<String, (String, Vec<String>)>,
    /// Prefix lists.
    pub prefix_lists: BTreeMap<String, Vec<PrefixRule>>,
    /// Top-level lines merged from `frr.conf.local`, verbatim.
    pub custom: Vec<String>,
    /// Fabric daemon blocks (routers, then interfaces), already laid out.
    pub fabric_blocks: Vec<Vec<String>>,
    /// Access lists by name: rule lines.
    pub access_lists: BTreeMap<String, Vec<String>>,
    /// Route maps by name.
    pub route_maps: BTreeMap<String, Vec<RouteMapEntry>>,
    /// Top-level static routes.
    pub ip_routes: Vec<IpRoute>,
    /// `ip protocol <proto> route-map <map>`: protocol -> (IPv4 map, IPv6 map).
    pub protocol_route_maps: BTreeMap<String, (Option<String>, Option<String>)>,
}

/// The three families' order inside a router.
const AFIS: [Afi; 3] = [Afi::Ipv4Unicast, Afi::Ipv6Unicast, Afi::L2vpnEvpn];

fn write_af(out: &mut Vec<String>, afi: Afi, af: &AddressFamily) {
    out.push(" !".into());
    out.push(format!(" address-family {}", afi.as_str()));
    for n in &af.networks {
        out.push(format!("  network {n}"));
    }
    for v in &af.import_vrf {
        out.push(format!("  import vrf {v}"));
    }
    for n in &af.neighbors {
        out.push(format!("  neighbor {} activate", n.name));
        if n.soft_reconfiguration_inbound {
            out.push(format!(
                "  neighbor {} soft-reconfiguration inbound",
                n.name
            ));
        }
        if let Some(m) = &n.route_map_in {
            out.push(format!("  neighbor {} route-map {m} in", n.name));
        }
        if let Some(m) = &n.route_map_out {
            out.push(format!("  neighbor {} route-map {m} out", n.name));
        }
    }
    if afi == Afi::L2vpnEvpn {
        if af.advertise_all_vni {
            out.push("  advertise-all-vni".into());
        }
        if let Some(a) = af.autort_as {
            out.push(format!("  autort as {a}"));
        }
        for d in &af.default_originate {
            out.push(format!("  default-originate {d}"));
        }
        if af.advertise_ipv4_unicast {
            out.push("  advertise ipv4 unicast".into());
        }
        if af.advertise_ipv6_unicast {
            out.push("  advertise ipv6 unicast".into());
        }
        for r in &af.rt_import {
            out.push(format!("  route-target import {r}"));
        }
        for r in &af.rt_export {
            out.push(format!("  route-target export {r}"));
        }
    } else {
        for r in &af.redistribute {
            out.push(format!("  redistribute {r}"));
        }
    }
    out.extend(af.custom.iter().cloned());
    out.push(" exit-address-family".into());
}

fn write_router(out: &mut Vec<String>, vrf: &str, r: &BgpRouter) {
    out.push("!".into());
    if vrf == "default" {
        out.push(format!("router bgp {}", r.asn));
    } else {
        out.push(format!("router bgp {} vrf {vrf}", r.asn));
    }
    out.push(format!(" bgp router-id {}", r.router_id));
    if r.hard_administrative_reset == Some(false) {
        out.push(" no bgp hard-administrative-reset".into());
    }
    if r.default_ipv4_unicast == Some(false) {
        out.push(" no bgp default ipv4-unicast".into());
    }
    if let Some(c) = r.coalesce_time {
        out.push(format!(" coalesce-time {c}"));
    }
    if r.graceful_restart_notification == Some(false) {
        out.push(" no bgp graceful-restart notification".into());
    }
    if r.disable_ebgp_connected_route_check {
        out.push(" bgp disable-ebgp-connected-route-check".into());
    }
    if r.bestpath_as_path_multipath_relax {
        out.push(" bgp bestpath as-path multipath-relax".into());
    }
    for g in &r.neighbor_groups {
        out.push(format!(" neighbor {} peer-group", g.name));
        out.push(format!(" neighbor {} remote-as {}", g.name, g.remote_as));
        if g.bfd {
            out.push(format!(" neighbor {} bfd", g.name));
        }
        if let Some(h) = g.ebgp_multihop {
            out.push(format!(" neighbor {} ebgp-multihop {h}", g.name));
        }
        if let Some(s) = &g.update_source {
            out.push(format!(" neighbor {} update-source {s}", g.name));
        }
        for ip in &g.ips {
            out.push(format!(" neighbor {ip} peer-group {}", g.name));
        }
    }
    out.extend(r.custom.iter().cloned());
    for afi in AFIS {
        if let Some(af) = r.afs.get(&afi) {
            write_af(out, afi, af);
        }
    }
    out.push("exit".into());
}

impl PrefixRule {
    fn line(&self, name: &str) -> String {
        let mut s = format!(
            "{} prefix-list {name} seq {} {} {}",
            if self.ipv6 { "ipv6" } else { "ip" },
            self.seq,
            self.action,
            self.network
        );
        if let Some(le) = self.le {
            let _ = write!(s, " le {le}");
        }
        s
    }
}

impl FrrConfig {
    /// The configuration lines between the header and the `line vty` footer.
    pub fn body_lines(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (name, vrf) in &self.vrfs {
            out.push("!".into());
            out.push(format!("vrf {name}"));
            if let Some(v) = vrf.vni {
                out.push(format!(" vni {v}"));
            }
            out.extend(vrf.routes.iter().map(|r| format!(" {}", r.line())));
            out.extend(vrf.custom.iter().cloned());
            out.push("exit-vrf".into());
        }
        // "default" sorts before every "vrf_<zone>", as in the reference
        for (vrf, r) in &self.routers {
            write_router(&mut out, vrf, r);
        }
        for (domain, (net, custom)) in &self.isis_routers {
            out.push("!".into());
            out.push(format!("router isis {domain}"));
            out.push(format!(" net {net}"));
            out.push(" redistribute ipv4 connected level-1".into());
            out.push(" redistribute ipv6 connected level-1".into());
            out.push(" log-adjacency-changes".into());
            out.extend(custom.iter().cloned());
            out.push("exit".into());
        }
        for (iface, (domain, custom)) in &self.isis_interfaces {
            out.push("!".into());
            out.push(format!("interface {iface}"));
            out.push(format!(" ip router isis {domain}"));
            out.extend(custom.iter().cloned());
            out.push("exit".into());
        }
        for (name, rules) in &self.prefix_lists {
            out.push("!".into());
            out.extend(rules.iter().map(|r| r.line(name)));
        }
        out.extend(self.custom.iter().cloned());
        for block in &self.fabric_blocks {
            out.push("!".into());
            out.extend(block.iter().cloned());
        }
        for rules in self.access_lists.values() {
            out.push("!".into());
            out.extend(rules.iter().cloned());
        }
        for (name, entries) in &self.route_maps {
            for e in entries {
                out.push("!".into());
                out.push(format!("route-map {name} {} {}", e.action, e.seq));
                out.extend(e.matches.iter().map(|m| format!(" match {m}")));
                out.extend(e.sets.iter().map(|s| format!(" set {s}")));
                out.push("exit".into());
            }
        }
        if !self.ip_routes.is_empty() {
            out.push("!".into());
            out.extend(self.ip_routes.iter().map(IpRoute::line));
        }
        for (proto, (v4, v6)) in &self.protocol_route_maps {
            if let Some(m) = v4 {
                out.push("!".into());
                out.push(format!("ip protocol {proto} route-map {m}"));
            }
            if let Some(m) = v6 {
                out.push("!".into());
                out.push(format!("ipv6 protocol {proto} route-map {m}"));
            }
        }
        out
    }

    /// The complete file, with the reference's header and footer.
    pub fn to_text(&self) -> String {
        let mut lines = vec![
            "frr version 10.4.1".to_string(),
            "frr defaults datacenter".into(),
            format!("hostname {}", self.hostname),
            "log syslog informational".into(),
            "service integrated-vtysh-config".into(),
        ];
        lines.extend(self.body_lines());
        lines.extend(["!".into(), "line vty".into(), "!".into()]);
        let mut s = lines.join("\n");
        s.push('\n');
        s
    }
}
