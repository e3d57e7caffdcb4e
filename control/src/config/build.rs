//! Untyped sections to the typed model, with a diagnostic for every value
//! that does not parse and every key that is unknown.
//!
//! Both readers (section config and `.running-config` JSON) produce
//! [`RawSection`]s; this module is the single place where their values get
//! typed, so `"tag": "100"`, `"tag": 100` and `tag 100` all mean the same.
//! A key the section's type does not accept is kept verbatim in `extra`
//! and reported as a warning; a value that does not parse is dropped and
//! reported as an error. Nothing here aborts.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::config::model::{
    Controller, ControllerType, DhcpRange, Dns, DnsType, FabricInterface, FabricSection,
    FabricType, Ipam, IpamType, SdnConfig, SdnFile, Subnet, VlanProtocol, Vnet, Zone, ZoneType,
    parse_subnet_id,
};
use crate::config::schema;
use crate::config::section::{RawProp, RawSection, RawValue};
use crate::diag::{Origin, Sink, with_article};

/// Splits a list the way the reference's `split_list` does: on commas,
/// semicolons and whitespace, dropping empty items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Parses a boolean as the reference's JSON schema does.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Reads typed values out of one raw section.
struct Fields<'a> {
    file: SdnFile,
    ty: String,
    label: String,
    props: Vec<(RawProp, bool)>,
    origin: Origin,
    sink: &'a mut Sink,
}

impl<'a> Fields<'a> {
    fn new(file: SdnFile, file_name: &str, raw: &RawSection, sink: &'a mut Sink) -> Self {
        let label = format!("{} '{}'", file.noun(), raw.id);
        let mut origin = Origin::file(file_name);
        origin.line = raw.line;
        let mut props: Vec<(RawProp, bool)> = Vec::new();
        for p in &raw.props {
            let seen = props.iter().any(|(q, _)| q.key == p.key);
            if seen && !schema::is_array(file, &p.key) {
                let mut o = origin.clone();
                if let Some(l) = p.line {
                    o.keys.insert(p.key.clone(), l);
                }
                sink.error(
                    &o,
                    &label,
                    Some(&p.key),
                    "duplicate key; only the first value is used (Proxmox ignores the later one)",
                );
                continue;
            }
            if let Some(l) = p.line {
                origin.keys.entry(p.key.clone()).or_insert(l);
            }
            props.push((p.clone(), false));
        }
        Fields {
            file,
            ty: raw.ty.clone(),
            label,
            props,
            origin,
            sink,
        }
    }

    /// Takes every occurrence of `key` if the section type accepts it.
    fn take(&mut self, key: &str) -> Vec<RawValue> {
        self.take_lines(key).into_iter().map(|(v, _)| v).collect()
    }

    /// [`Self::take`] with the line of each occurrence.
    fn take_lines(&mut self, key: &str) -> Vec<(RawValue, Option<u32>)> {
        if !schema::allows(self.file, &self.ty, key) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (p, taken) in &mut self.props {
            if p.key == key && !*taken {
                *taken = true;
                out.push((p.value.clone(), p.line));
            }
        }
        out
    }

    /// The origin, with `key` located at `line` (one occurrence of an array key).
    fn at_line(&self, key: &str, line: Option<u32>) -> Origin {
        let mut o = self.origin.clone();
        if let Some(l) = line {
            o.keys.insert(key.to_string(), l);
        }
        o
    }

    fn bad(&mut self, key: &str, msg: String) {
        self.bad_at(key, None, msg);
    }

    /// An invalid value of `key`, reported at `line` when known.
    fn bad_at(&mut self, key: &str, line: Option<u32>, msg: String) {
        self.origin.invalid.push(key.to_string());
        let o = self.at_line(key, line);
        self.sink.error(&o, &self.label, Some(key), msg);
    }

    /// A suspicious value of `key`, reported at `line` when known.
    fn warn_at(&mut self, key: &str, line: Option<u32>, msg: String) {
        let o = self.at_line(key, line);
        self.sink.warn(&o, &self.label, Some(key), msg);
    }

    fn one(&mut self, key: &str) -> Option<RawValue> {
        self.take(key).into_iter().next()
    }

    fn text(&mut self, key: &str) -> Option<String> {
        match self.one(key)? {
            RawValue::Text(s) => Some(s),
            RawValue::Flag => {
                self.bad(key, "missing value".into());
                None
            }
            RawValue::List(_) | RawValue::Set(_) => {
                self.bad(key, "expected a single value, found a list".into());
                None
            }
        }
    }

    fn uint(&mut self, key: &str) -> Option<u64> {
        let v = match self.one(key)? {
            RawValue::Flag => return Some(1),
            RawValue::Text(s) => s,
            _ => {
                self.bad(key, "expected an integer, found a list".into());
                return None;
            }
        };
        match v.trim().parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.bad(key, format!("'{v}' is not a non-negative integer"));
                None
            }
        }
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        let v = match self.one(key)? {
            RawValue::Flag => return Some(true),
            RawValue::Text(s) => s,
            _ => {
                self.bad(key, "expected a boolean, found a list".into());
                return None;
            }
        };
        let parsed = parse_bool(&v);
        if parsed.is_none() {
            self.bad(key, format!("'{v}' is not a boolean (use 1 or 0)"));
        }
        parsed
    }

    fn ip(&mut self, key: &str) -> Option<IpAddr> {
        let v = self.text(key)?;
        match v.parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.bad(key, format!("'{v}' is not an IP address"));
                None
            }
        }
    }

    fn ipnet(&mut self, key: &str) -> Option<IpNet> {
        let v = self.text(key)?;
        match v.parse::<IpNet>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.bad(key, format!("'{v}' is not a CIDR prefix (address/length)"));
                None
            }
        }
    }

    fn list(&mut self, key: &str) -> Option<Vec<String>> {
        let v = self.one(key)?;
        Some(match v {
            RawValue::Text(s) => split_list(&s),
            RawValue::Flag => Vec::new(),
            RawValue::List(l) | RawValue::Set(l) => l,
        })
    }

    fn ip_list(&mut self, key: &str) -> Option<Vec<IpAddr>> {
        let items = self.list(key)?;
        let mut out = Vec::new();
        for item in items {
            match item.parse::<IpAddr>() {
                Ok(ip) => out.push(ip),
                Err(_) => self.bad(key, format!("'{item}' is not an IP address")),
            }
        }
        Some(out)
    }

    /// Every element of the array key `key`, with its line.
    fn array(&mut self, key: &str) -> Vec<(String, Option<u32>)> {
        let mut out = Vec::new();
        for (v, line) in self.take_lines(key) {
            match v {
                RawValue::Text(s) => out.push((s, line)),
                RawValue::List(l) | RawValue::Set(l) => {
                    out.extend(l.into_iter().map(|s| (s, line)))
                }
                RawValue::Flag => self.bad_at(key, line, "missing value".into()),
            }
        }
        out
    }

    /// Reports untaken keys and returns them as `extra`.
    fn finish(self) -> (Origin, Vec<(String, String)>) {
        let mut extra = Vec::new();
        let known_type = schema::keys(self.file, &self.ty).is_some();
        for (p, taken) in self.props {
            if taken {
                continue;
            }
            if known_type {
                let elsewhere = schema::types(self.file)
                    .iter()
                    .any(|t| schema::allows(self.file, t, &p.key));
                let msg = if elsewhere {
                    format!(
                        "key is not valid for {} {}; Proxmox ignores it",
                        with_article(&self.ty),
                        self.file.noun()
                    )
                } else {
                    "unknown key; Proxmox ignores it".to_string()
                };
                self.sink.warn(&self.origin, &self.label, Some(&p.key), msg);
            }
            match p.value {
                RawValue::Text(s) => extra.push((p.key, s)),
                RawValue::Flag => extra.push((p.key, String::new())),
                RawValue::List(l) => extra.extend(l.into_iter().map(|v| (p.key.clone(), v))),
                RawValue::Set(l) => extra.push((p.key, l.join(","))),
            }
        }
        (self.origin, extra)
    }
}

fn unknown_type(file: SdnFile, file_name: &str, raw: &RawSection, sink: &mut Sink) {
    let mut o = Origin::file(file_name);
    o.line = raw.line;
    let label = format!("{} '{}'", file.noun(), raw.id);
    let msg = if raw.ty == "faucet" {
        "faucet is an unfinished plugin in the reference; the section is kept but ignored"
            .to_string()
    } else {
        format!(
            "unknown {} type '{}'; the section is kept but ignored",
            file.noun(),
            raw.ty
        )
    };
    sink.warn(&o, &label, None, msg);
}

fn vlan_protocol(f: &mut Fields<'_>) -> Option<VlanProtocol> {
    let v = f.text("vlan-protocol")?;
    match v.as_str() {
        "802.1q" => Some(VlanProtocol::Dot1Q),
        "802.1ad" => Some(VlanProtocol::Dot1Ad),
        _ => {
            f.bad(
                "vlan-protocol",
                format!("'{v}' is not a VLAN protocol (802.1q or 802.1ad)"),
            );
            None
        }
    }
}

fn zone(raw: &RawSection, file_name: &str, sink: &mut Sink) -> Zone {
    let zone_type = ZoneType::from_type(&raw.ty);
    if matches!(zone_type, ZoneType::Other(_)) {
        unknown_type(SdnFile::Zones, file_name, raw, sink);
    }
    let mut z = Zone::new(&raw.id, zone_type);
    let mut f = Fields::new(SdnFile::Zones, file_name, raw, sink);
    z.nodes = f.list("nodes");
    z.ipam = f.text("ipam");
    z.dns = f.text("dns");
    z.reversedns = f.text("reversedns");
    z.dnszone = f.text("dnszone");
    z.mtu = f.uint("mtu");
    z.dhcp = f.text("dhcp");
    z.bridge = f.text("bridge");
    z.bridge_disable_mac_learning = f.boolean("bridge-disable-mac-learning");
    z.tag = f.uint("tag");
    z.vlan_protocol = vlan_protocol(&mut f);
    z.peers = f.ip_list("peers");
    z.fabric = f.text("fabric");
    z.vxlan_port = f.uint("vxlan-port");
    z.controller = f.text("controller");
    z.vrf_vxlan = f.uint("vrf-vxlan");
    z.mac = f.text("mac");
    z.exitnodes = f.list("exitnodes");
    z.exitnodes_primary = f.text("exitnodes-primary");
    z.exitnodes_local_routing = f.boolean("exitnodes-local-routing");
    z.advertise_subnets = f.boolean("advertise-subnets");
    z.disable_arp_nd_suppression = f.boolean("disable-arp-nd-suppression");
    z.rt_import = f.list("rt-import");
    (z.origin, z.extra) = f.finish();
    z
}

fn vnet(raw: &RawSection, file_name: &str, sink: &mut Sink) -> Vnet {
    let mut v = Vnet::new(&raw.id, "");
    v.zone = None;
    let mut f = Fields::new(SdnFile::Vnets, file_name, raw, sink);
    v.zone = f.text("zone");
    v.tag = f.uint("tag");
    v.vlanaware = f.boolean("vlanaware");
    v.alias = f.text("alias");
    v.isolate_ports = f.boolean("isolate-ports");
    (v.origin, v.extra) = f.finish();
    v
}

/// Parses `start-address=<ip>,end-address=<ip>`.
pub fn parse_dhcp_range(s: &str) -> Result<DhcpRange, String> {
    let mut start = None;
    let mut end = None;
    for part in s.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not key=value"))?;
        let ip: IpAddr = v
            .trim()
            .parse()
            .map_err(|_| format!("'{v}' is not an IP address"))?;
        match k.trim() {
            "start-address" => start = Some(ip),
            "end-address" => end = Some(ip),
            other => return Err(format!("unknown range key '{other}'")),
        }
    }
    match (start, end) {
        (Some(start), Some(end)) => Ok(DhcpRange { start, end }),
        _ => Err("a range needs start-address and end-address".into()),
    }
}

fn subnet(raw: &RawSection, file_name: &str, sink: &mut Sink) -> Subnet {
    let mut f = Fields::new(SdnFile::Subnets, file_name, raw, sink);
    let (zone, cidr) = match parse_subnet_id(&raw.id) {
        Some((z, c)) => (Some(z), Some(c)),
        None => {
            let label = f.label.clone();
            f.sink.error(
                &f.origin,
                &label,
                None,
                "subnet id is not '<zone>-<address>-<prefix length>' (e.g. myzone-10.0.0.0-24)",
            );
            (None, None)
        }
    };
    let mut s = Subnet {
        id: raw.id.clone(),
        zone,
        cidr,
        vnet: f.text("vnet"),
        gateway: f.ip("gateway"),
        snat: f.boolean("snat"),
        dnszoneprefix: f.text("dnszoneprefix"),
        dhcp_ranges: Vec::new(),
        dhcp_dns_server: None,
        extra: Vec::new(),
        origin: Origin::default(),
    };
    for (r, line) in f.array("dhcp-range") {
        match parse_dhcp_range(&r) {
            Ok(range) => s.dhcp_ranges.push(range),
            Err(e) => f.bad_at("dhcp-range", line, format!("'{r}': {e}")),
        }
    }
    s.dhcp_dns_server = f.ip("dhcp-dns-server");
    (s.origin, s.extra) = f.finish();
    s
}

fn controller(raw: &RawSection, file_name: &str, sink: &mut Sink) -> Controller {
    let t = ControllerType::from_type(&raw.ty);
    if matches!(t, ControllerType::Other(_)) {
        unknown_type(SdnFile::Controllers, file_name, raw, sink);
    }
    let mut c = Controller::new(&raw.id, t);
    let mut f = Fields::new(SdnFile::Controllers, file_name, raw, sink);
    c.asn = f.uint("asn");
    c.peers = f.ip_list("peers");
    c.fabric = f.text("fabric");
    c.node = f.text("node");
    c.ebgp = f.boolean("ebgp");
    c.ebgp_multihop = f.uint("ebgp-multihop");
    c.loopback = f.text("loopback");
    c.bgp_multipath_as_path_relax = f.boolean("bgp-multipath-as-path-relax");
    c.isis_domain = f.text("isis-domain");
    c.isis_ifaces = f.list("isis-ifaces");
    c.isis_net = f.text("isis-net");
    (c.origin, c.extra) = f.finish();
    c
}

fn ipam(raw: &RawSection, file_name: &str, sink: &mut Sink) -> Ipam {
    let t = IpamType::from_type(&raw.ty);
    if matches!(t, IpamType::Other(_)) {
        unknown_type(SdnFile::Ipams, file_name, raw, sink);
    }
    let mut f = Fields::new(SdnFile::Ipams, file_name, raw, sink);
    let mut i = Ipam {
        id: raw.id.clone(),
        ipam_type: t,
        url: f.text("url"),
        token: f.text("token"),
        section: f.uint("section"),
        fingerprint: f.text("fingerprint"),
        extra: Vec::new(),
        origin: Origin::default(),
    };
    (i.origin, i.extra) = f.finish();
    i
}

fn dns(raw: &RawSection, file_name: &str, sink: &mut Sink) -> Dns {
    let t = DnsType::from_type(&raw.ty);
    if matches!(t, DnsType::Other(_)) {
        unknown_type(SdnFile::Dns, file_name, raw, sink);
    }
    let mut f = Fields::new(SdnFile::Dns, file_name, raw, sink);
    let mut d = Dns {
        id: raw.id.clone(),
        dns_type: t,
        url: f.text("url"),
        key: f.text("key"),
        ttl: f.uint("ttl"),
        reversemaskv6: f.uint("reversemaskv6"),
        fingerprint: f.text("fingerprint"),
        extra: Vec::new(),
        origin: Origin::default(),
    };
    (d.origin, d.extra) = f.finish();
    d
}

/// Parses a fabric interface property string `name=enp7s0[,ip=..][,ip6=..][,hello_multiplier=..]`.
pub fn parse_fabric_interface(s: &str) -> Result<FabricInterface, String> {
    let mut iface = FabricInterface {
        name: String::new(),
        ip: None,
        ip6: None,
        hello_multiplier: None,
        extra: Vec::new(),
    };
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or(("name", part));
        match k {
            "name" => iface.name = v.to_string(),
            "ip" => {
                iface.ip = Some(
                    v.parse()
                        .map_err(|_| format!("'{v}' is not address/length"))?,
                )
            }
            "ip6" => {
                iface.ip6 = Some(
                    v.parse()
                        .map_err(|_| format!("'{v}' is not address/length"))?,
                )
            }
            "hello_multiplier" => {
                iface.hello_multiplier =
                    Some(v.parse().map_err(|_| format!("'{v}' is not an integer"))?)
            }
            other => iface.extra.push((other.to_string(), v.to_string())),
        }
    }
    if iface.name.is_empty() {
        return Err("an interface needs name=<interface>".into());
    }
    Ok(iface)
}

fn fabric(raw: &RawSection, file_name: &str, sink: &mut Sink) -> FabricSection {
    let t = FabricType::from_type(&raw.ty);
    if matches!(t, FabricType::Other(_)) {
        unknown_type(SdnFile::Fabrics, file_name, raw, sink);
    }
    let mut f = Fields::new(SdnFile::Fabrics, file_name, raw, sink);
    let mut s = FabricSection {
        id: raw.id.clone(),
        fabric_type: t,
        ip_prefix: f.ipnet("ip_prefix"),
        ip6_prefix: f.ipnet("ip6_prefix"),
        hello_interval: f.uint("hello_interval"),
        csnp_interval: f.uint("csnp_interval"),
        area: f.text("area"),
        ip: f.ip("ip"),
        ip6: f.ip("ip6"),
        interfaces: Vec::new(),
        extra: Vec::new(),
        origin: Origin::default(),
    };
    for (i, line) in f.array("interfaces") {
        match parse_fabric_interface(&i) {
            Ok(iface) => {
                for (k, _) in &iface.extra {
                    // xsdn: the reference's property-string schema knows name, ip, ip6, hello_multiplier
                    f.warn_at(
                        "interfaces",
                        line,
                        format!(
                            "interface {}: unknown property '{k}' (known: name, ip, ip6, hello_multiplier); it is kept but not used",
                            iface.name
                        ),
                    );
                }
                s.interfaces.push(iface);
            }
            Err(e) => f.bad_at("interfaces", line, format!("'{i}': {e}")),
        }
    }
    (s.origin, s.extra) = f.finish();
    s
}

/// Adds the sections of `file` to `cfg`, typing their values.
pub fn add_sections(
    cfg: &mut SdnConfig,
    file: SdnFile,
    file_name: &str,
    sections: &[RawSection],
    sink: &mut Sink,
) {
    for raw in sections {
        match file {
            SdnFile::Zones => cfg.zones.push(zone(raw, file_name, sink)),
            SdnFile::Vnets | SdnFile::Subnets => {
                let expected = if file == SdnFile::Vnets {
                    "vnet"
                } else {
                    "subnet"
                };
                if raw.ty != expected {
                    unknown_type(file, file_name, raw, sink);
                    cfg.foreign.push((file, raw.clone()));
                } else if file == SdnFile::Vnets {
                    cfg.vnets.push(vnet(raw, file_name, sink));
                } else {
                    cfg.subnets.push(subnet(raw, file_name, sink));
                }
            }
            SdnFile::Controllers => cfg.controllers.push(controller(raw, file_name, sink)),
            SdnFile::Ipams => cfg.ipams.push(ipam(raw, file_name, sink)),
            SdnFile::Dns => cfg.dns.push(dns(raw, file_name, sink)),
            SdnFile::Fabrics => cfg.fabrics.push(fabric(raw, file_name, sink)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::section;

    fn build(file: SdnFile, text: &str) -> (SdnConfig, Sink) {
        let mut sink = Sink::default();
        let raw = section::parse(text, file.file_name(), &mut sink);
        let mut cfg = SdnConfig::default();
        add_sections(&mut cfg, file, file.file_name(), &raw, &mut sink);
        (cfg, sink)
    }

    #[test]
    fn zone_values_are_typed() {
        let (cfg, sink) = build(
            SdnFile::Zones,
            "evpn: z1\n\tcontroller c1\n\tvrf-vxlan 1000\n\texitnodes n1,n2\n\tadvertise-subnets 1\n\tmac 02:5E:A7:31:C4:D9\n\n\
             vxlan: z2\n\tpeers 10.0.0.1, 10.0.0.2;10.0.0.3\n\tvxlan-port 6000\n",
        );
        assert!(sink.items.is_empty(), "{:?}", sink.items);
        let z1 = &cfg.zones[0];
        assert_eq!(z1.zone_type, ZoneType::Evpn);
        assert_eq!(z1.vrf_vxlan, Some(1000));
        assert_eq!(
            z1.exitnodes.as_deref(),
            Some(&["n1".to_string(), "n2".to_string()][..])
        );
        assert_eq!(z1.advertise_subnets, Some(true));
        assert_eq!(cfg.zones[1].peers.as_ref().map(Vec::len), Some(3));
        assert_eq!(cfg.zones[1].vxlan_port, Some(6000));
    }

    #[test]
    fn bad_values_and_unknown_keys_are_reported_with_lines() {
        let (cfg, sink) = build(
            SdnFile::Zones,
            "vlan: z1\n\tbridge vmbr0\n\tmtu big\n\tpeers 1.2.3.4\n\tcolour blue\n\tbridge vmbr1\n",
        );
        let z = &cfg.zones[0];
        assert_eq!(z.mtu, None);
        assert_eq!(z.bridge.as_deref(), Some("vmbr0"));
        assert_eq!(z.extra.len(), 2);
        let msgs: Vec<String> = sink.items.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(msgs[0].starts_with("zones.cfg:6: zone 'z1', key 'bridge': duplicate"));
        assert!(msgs[1].starts_with("zones.cfg:3: zone 'z1', key 'mtu': 'big'"));
        assert!(msgs[2].contains("key 'peers': key is not valid for a vlan zone"));
        assert!(msgs[3].contains("key 'colour': unknown key"));
    }

    #[test]
    fn subnets_parse_ids_ranges_and_flags() {
        let (cfg, sink) = build(
            SdnFile::Subnets,
            "subnet: z-10.0.0.0-24\n\tvnet v1\n\tgateway 10.0.0.1\n\tsnat 1\n\
             \tdhcp-range start-address=10.0.0.10,end-address=10.0.0.20\n\
             \tdhcp-range start-address=10.0.0.30,end-address=10.0.0.40\n\nsubnet: broken\n\tvnet v1\n",
        );
        let s = &cfg.subnets[0];
        assert_eq!(s.zone.as_deref(), Some("z"));
        assert_eq!(s.cidr.unwrap().to_string(), "10.0.0.0/24");
        assert_eq!(s.snat, Some(true));
        assert_eq!(s.dhcp_ranges.len(), 2);
        assert_eq!(sink.items.len(), 1);
        assert_eq!(sink.items[0].line, Some(8));
    }

    #[test]
    fn unknown_types_are_kept_with_a_warning() {
        let (cfg, sink) = build(SdnFile::Zones, "faucet: f1\n\tdp-id 1\n");
        assert_eq!(cfg.zones[0].zone_type, ZoneType::Other("faucet".into()));
        assert_eq!(
            cfg.zones[0].extra,
            vec![("dp-id".to_string(), "1".to_string())]
        );
        assert_eq!(sink.items.len(), 1);
    }

    #[test]
    fn fabric_interfaces_property_strings() {
        let i = parse_fabric_interface("name=enp7s0,ip=10.91.4.2/31,hello_multiplier=7").unwrap();
        assert_eq!(i.name, "enp7s0");
        assert_eq!(i.ip.unwrap().to_string(), "10.91.4.2/31");
        assert_eq!(i.hello_multiplier, Some(7));
        assert!(parse_fabric_interface("ip=1.2.3.4/32").is_err());
    }

    #[test]
    fn unknown_fabric_interface_properties_warn_at_their_line() {
        let (cfg, sink) = build(
            SdnFile::Fabrics,
            "openfabric_node: f1_n1\n\tip 10.0.0.1\n\tinterfaces name=enp7s0\n\
             \tinterfaces name=enp8s0,bogus=1\n\tinterfaces name=enp9s0,ip=nope\n",
        );
        let msgs: Vec<String> = sink.items.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "fabrics.cfg:4: fabric 'f1_n1', key 'interfaces': interface enp8s0: unknown property 'bogus' (known: name, ip, ip6, hello_multiplier); it is kept but not used",
                "fabrics.cfg:5: fabric 'f1_n1', key 'interfaces': 'name=enp9s0,ip=nope': 'nope' is not address/length",
            ]
        );
        assert_eq!(sink.error_count(), 1);
        assert_eq!(cfg.fabrics[0].interfaces.len(), 2);
        assert_eq!(
            cfg.fabrics[0].interfaces[1].extra,
            [("bogus".to_string(), "1".to_string())]
        );
    }

    #[test]
    fn lists_and_bools() {
        assert_eq!(split_list(" a, b;c  d,,"), vec!["a", "b", "c", "d"]);
        assert_eq!(parse_bool("yes"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("2"), None);
    }
}
