//! Typed model back to section-config text, in the reference's canonical
//! order.
//!
//! Per section: the header `type: id`, then `comment` (if any), then the
//! keys the type requires sorted by name, then the optional keys sorted by
//! name, each as `\tkey value`, and a blank line. Sections keep their model
//! order; sections of unknown types are appended at the end of their file.
//! Booleans are written `1`/`0`, lists comma-separated, array keys once per
//! element. Guarantee (property-tested): `parse(write(parse(text)))` equals
//! `parse(text)`.

use std::fmt::Write;

use crate::config::model::{
    Controller, Dns, FabricInterface, FabricSection, Ipam, SdnConfig, SdnFile, Subnet, Vnet, Zone,
};
use crate::config::schema;
use crate::config::section::{RawSection, RawValue};

pub(crate) type Props = Vec<(String, String)>;

fn put<T: ToString>(props: &mut Props, key: &str, value: Option<T>) {
    if let Some(v) = value {
        props.push((key.to_string(), v.to_string()));
    }
}

fn put_bool(props: &mut Props, key: &str, value: Option<bool>) {
    put(props, key, value.map(|b| if b { "1" } else { "0" }));
}

fn put_list<T: ToString>(props: &mut Props, key: &str, value: Option<&Vec<T>>) {
    if let Some(v) = value {
        let joined: Vec<String> = v.iter().map(ToString::to_string).collect();
        props.push((key.to_string(), joined.join(",")));
    }
}

pub(crate) fn zone_props(z: &Zone) -> Props {
    let mut p = Props::new();
    put_list(&mut p, "nodes", z.nodes.as_ref());
    put(&mut p, "ipam", z.ipam.as_ref());
    put(&mut p, "dns", z.dns.as_ref());
    put(&mut p, "reversedns", z.reversedns.as_ref());
    put(&mut p, "dnszone", z.dnszone.as_ref());
    put(&mut p, "mtu", z.mtu);
    put(&mut p, "dhcp", z.dhcp.as_ref());
    put(&mut p, "bridge", z.bridge.as_ref());
    put_bool(
        &mut p,
        "bridge-disable-mac-learning",
        z.bridge_disable_mac_learning,
    );
    put(&mut p, "tag", z.tag);
    put(&mut p, "vlan-protocol", z.vlan_protocol.map(|v| v.as_str()));
    put_list(&mut p, "peers", z.peers.as_ref());
    put(&mut p, "fabric", z.fabric.as_ref());
    put(&mut p, "vxlan-port", z.vxlan_port);
    put(&mut p, "controller", z.controller.as_ref());
    put(&mut p, "vrf-vxlan", z.vrf_vxlan);
    put(&mut p, "mac", z.mac.as_ref());
    put_list(&mut p, "exitnodes", z.exitnodes.as_ref());
    put(&mut p, "exitnodes-primary", z.exitnodes_primary.as_ref());
    put_bool(&mut p, "exitnodes-local-routing", z.exitnodes_local_routing);
    put_bool(&mut p, "advertise-subnets", z.advertise_subnets);
    put_bool(
        &mut p,
        "disable-arp-nd-suppression",
        z.disable_arp_nd_suppression,
    );
    put_list(&mut p, "rt-import", z.rt_import.as_ref());
    p.extend(z.extra.iter().cloned());
    p
}

pub(crate) fn vnet_props(v: &Vnet) -> Props {
    let mut p = Props::new();
    put(&mut p, "zone", v.zone.as_ref());
    put(&mut p, "tag", v.tag);
    put_bool(&mut p, "vlanaware", v.vlanaware);
    put(&mut p, "alias", v.alias.as_ref());
    put_bool(&mut p, "isolate-ports", v.isolate_ports);
    p.extend(v.extra.iter().cloned());
    p
}

pub(crate) fn subnet_props(s: &Subnet) -> Props {
    let mut p = Props::new();
    put(&mut p, "vnet", s.vnet.as_ref());
    put(&mut p, "gateway", s.gateway);
    put_bool(&mut p, "snat", s.snat);
    put(&mut p, "dnszoneprefix", s.dnszoneprefix.as_ref());
    for r in &s.dhcp_ranges {
        p.push((
            "dhcp-range".into(),
            format!("start-address={},end-address={}", r.start, r.end),
        ));
    }
    put(&mut p, "dhcp-dns-server", s.dhcp_dns_server);
    p.extend(s.extra.iter().cloned());
    p
}

pub(crate) fn controller_props(c: &Controller) -> Props {
    let mut p = Props::new();
    put(&mut p, "asn", c.asn);
    put_list(&mut p, "peers", c.peers.as_ref());
    put(&mut p, "fabric", c.fabric.as_ref());
    put(&mut p, "node", c.node.as_ref());
    put_bool(&mut p, "ebgp", c.ebgp);
    put(&mut p, "ebgp-multihop", c.ebgp_multihop);
    put(&mut p, "loopback", c.loopback.as_ref());
    put_bool(
        &mut p,
        "bgp-multipath-as-path-relax",
        c.bgp_multipath_as_path_relax,
    );
    put(&mut p, "isis-domain", c.isis_domain.as_ref());
    put_list(&mut p, "isis-ifaces", c.isis_ifaces.as_ref());
    put(&mut p, "isis-net", c.isis_net.as_ref());
    p.extend(c.extra.iter().cloned());
    p
}

pub(crate) fn ipam_props(i: &Ipam) -> Props {
    let mut p = Props::new();
    put(&mut p, "url", i.url.as_ref());
    put(&mut p, "token", i.token.as_ref());
    put(&mut p, "section", i.section);
    put(&mut p, "fingerprint", i.fingerprint.as_ref());
    p.extend(i.extra.iter().cloned());
    p
}

pub(crate) fn dns_props(d: &Dns) -> Props {
    let mut p = Props::new();
    put(&mut p, "url", d.url.as_ref());
    put(&mut p, "key", d.key.as_ref());
    put(&mut p, "ttl", d.ttl);
    put(&mut p, "reversemaskv6", d.reversemaskv6);
    put(&mut p, "fingerprint", d.fingerprint.as_ref());
    p.extend(d.extra.iter().cloned());
    p
}

/// `name=enp7s0,ip=10.0.0.1/31,...` in a fixed key order.
pub fn fabric_interface_string(i: &FabricInterface) -> String {
    let mut s = format!("name={}", i.name);
    if let Some(ip) = i.ip {
        let _ = write!(s, ",ip={ip}");
    }
    if let Some(ip6) = i.ip6 {
        let _ = write!(s, ",ip6={ip6}");
    }
    if let Some(m) = i.hello_multiplier {
        let _ = write!(s, ",hello_multiplier={m}");
    }
    for (k, v) in &i.extra {
        let _ = write!(s, ",{k}={v}");
    }
    s
}

pub(crate) fn fabric_props(f: &FabricSection) -> Props {
    let mut p = Props::new();
    put(&mut p, "ip_prefix", f.ip_prefix);
    put(&mut p, "ip6_prefix", f.ip6_prefix);
    put(&mut p, "hello_interval", f.hello_interval);
    put(&mut p, "csnp_interval", f.csnp_interval);
    put(&mut p, "area", f.area.as_ref());
    put(&mut p, "ip", f.ip);
    put(&mut p, "ip6", f.ip6);
    for i in &f.interfaces {
        p.push(("interfaces".into(), fabric_interface_string(i)));
    }
    p.extend(f.extra.iter().cloned());
    p
}

fn raw_props(r: &RawSection) -> Props {
    let mut p = Props::new();
    for prop in &r.props {
        match &prop.value {
            RawValue::Text(s) => p.push((prop.key.clone(), s.clone())),
            RawValue::Flag => p.push((prop.key.clone(), String::new())),
            RawValue::List(l) => p.extend(l.iter().map(|v| (prop.key.clone(), v.clone()))),
            RawValue::Set(l) => p.push((prop.key.clone(), l.join(","))),
        }
    }
    p
}

fn write_section(out: &mut String, file: SdnFile, ty: &str, id: &str, mut props: Props) {
    // comment first, then required keys, then optional keys; each group by name.
    // The sort is stable, so repeated (array) keys keep their order.
    props.sort_by_cached_key(|(k, _)| {
        let group = if k == "comment" {
            0
        } else if schema::is_required(file, ty, k) {
            1
        } else {
            2
        };
        (group, k.clone())
    });
    let _ = writeln!(out, "{ty}: {id}");
    for (k, v) in props {
        if v.is_empty() {
            let _ = writeln!(out, "\t{k}");
        } else {
            let _ = writeln!(out, "\t{k} {v}");
        }
    }
    out.push('\n');
}

/// Writes the section-config text of `file` for `cfg`.
pub fn write_file(cfg: &SdnConfig, file: SdnFile) -> String {
    let mut out = String::new();
    match file {
        SdnFile::Zones => {
            for z in &cfg.zones {
                write_section(&mut out, file, z.zone_type.as_str(), &z.id, zone_props(z));
            }
        }
        SdnFile::Vnets => {
            for v in &cfg.vnets {
                write_section(&mut out, file, "vnet", &v.id, vnet_props(v));
            }
        }
        SdnFile::Subnets => {
            for s in &cfg.subnets {
                write_section(&mut out, file, "subnet", &s.id, subnet_props(s));
            }
        }
        SdnFile::Controllers => {
            for c in &cfg.controllers {
                let ty = c.controller_type.as_str();
                write_section(&mut out, file, ty, &c.id, controller_props(c));
            }
        }
        SdnFile::Ipams => {
            for i in &cfg.ipams {
                write_section(&mut out, file, i.ipam_type.as_str(), &i.id, ipam_props(i));
            }
        }
        SdnFile::Dns => {
            for d in &cfg.dns {
                write_section(&mut out, file, d.dns_type.as_str(), &d.id, dns_props(d));
            }
        }
        SdnFile::Fabrics => {
            for f in &cfg.fabrics {
                let ty = f.fabric_type.as_str();
                write_section(&mut out, file, ty, &f.id, fabric_props(f));
            }
        }
    }
    for (f, raw) in &cfg.foreign {
        if *f == file {
            write_section(&mut out, file, &raw.ty, &raw.id, raw_props(raw));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::ZoneType;

    #[test]
    fn canonical_order_required_then_optional() {
        let mut z = Zone::new("z1", ZoneType::Evpn);
        z.mtu = Some(1450);
        z.controller = Some("ctl".into());
        z.vrf_vxlan = Some(1000);
        z.exitnodes = Some(vec!["n1".into(), "n2".into()]);
        z.advertise_subnets = Some(true);
        let cfg = SdnConfig {
            zones: vec![z],
            ..SdnConfig::default()
        };
        assert_eq!(
            write_file(&cfg, SdnFile::Zones),
            "evpn: z1\n\tcontroller ctl\n\tvrf-vxlan 1000\n\tadvertise-subnets 1\n\texitnodes n1,n2\n\tmtu 1450\n\n"
        );
    }
}
