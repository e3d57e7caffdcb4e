//! Live discovery of [`NodeFacts`] on the running node (the I/O edge).
//!
//! Used only when the command line does not give the facts. Sources:
//! - the hostname from `/proc/sys/kernel/hostname` (short name);
//! - `/etc/network/interfaces` for addresses, bridges and MTUs, exactly the
//!   file the reference generator reads;
//! - `/sys/class/net/<bridge>/brif/` and `.../bridge/vlan_filtering` for the
//!   real bridge ports and VLAN filtering (a bridge without `brif` is OVS,
//!   as the reference decides);
//! - `ip -j route get <dst>` for route sources and `ip -j addr show` for
//!   addresses not in the file. We shell out to iproute2 rather than speak
//!   netlink: the reference itself runs `ip route get`, so the answers are
//!   the same by construction, the JSON output is stable, and it keeps this
//!   crate free of a netlink dependency for a one-shot query;
//! - `/sys/class/net/<iface>/master/address` (else `.../address`) for the
//!   router MAC.
//!
//! Discovery is best effort: anything that cannot be found is left unset and
//! reported as a warning. Tests never call this module.

use std::fs;
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::config::model::parse_mac;
use crate::node::interfaces::{InterfacesFile, is_physical_port};
use crate::node::{LocalAddress, NodeFacts, RouteSource};

/// The node's short hostname.
pub fn hostname() -> Option<String> {
    let h = fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let short = h.trim().split('.').next()?.to_string();
    (!short.is_empty()).then_some(short)
}

/// `ip -j route get <dst>`: (source, device).
pub fn route_get(dst: IpAddr) -> Option<RouteSource> {
    let out = Command::new("ip")
        .args(["-j", "route", "get", &dst.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let r = v.as_array()?.first()?;
    Some(RouteSource {
        ip: r.get("prefsrc")?.as_str()?.parse().ok()?,
        iface: r.get("dev")?.as_str()?.to_string(),
    })
}

/// The node's addresses per `ip -j addr show`.
pub fn ip_addresses() -> Vec<LocalAddress> {
    let Ok(out) = Command::new("ip").args(["-j", "addr", "show"]).output() else {
        return Vec::new();
    };
    let Ok(Value::Array(links)) = serde_json::from_slice::<Value>(&out.stdout) else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for link in links {
        let Some(name) = link.get("ifname").and_then(Value::as_str) else {
            continue;
        };
        for a in link
            .get("addr_info")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let addr = a
                .get("local")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            let len = a
                .get("prefixlen")
                .and_then(Value::as_u64)
                .and_then(|l| u8::try_from(l).ok());
            if let Some(addr) = addr {
                v.push(LocalAddress {
                    iface: name.to_string(),
                    addr,
                    prefix_len: len,
                });
            }
        }
    }
    v
}

fn read_trimmed(p: &str) -> Option<String> {
    fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

/// Replaces the bridges' ports and flags from the interfaces file with what
/// the kernel reports (`brif/`, `vlan_filtering`; no `brif/` means OVS).
pub fn refresh_bridges(facts: &mut NodeFacts) -> Vec<String> {
    let mut warnings = Vec::new();
    for (bridge, b) in &mut facts.bridges {
        let brif = format!("/sys/class/net/{bridge}/brif");
        match fs::read_dir(&brif) {
            Ok(entries) => {
                let mut ports: Vec<String> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|p| is_physical_port(p))
                    .collect();
                ports.sort();
                b.ports = ports;
                b.ovs = false;
                b.vlan_aware =
                    read_trimmed(&format!("/sys/class/net/{bridge}/bridge/vlan_filtering"))
                        .is_some_and(|v| v == "1");
            }
            Err(_) if Path::new(&format!("/sys/class/net/{bridge}")).exists() => b.ovs = true,
            Err(_) => warnings.push(format!("bridge {bridge} does not exist on this node")),
        }
    }
    warnings
}

/// The MAC of `iface`'s master (its bridge), else of `iface` itself.
pub fn router_mac(iface: &str) -> Option<[u8; 6]> {
    read_trimmed(&format!("/sys/class/net/{iface}/master/address"))
        .or_else(|| read_trimmed(&format!("/sys/class/net/{iface}/address")))
        .as_deref()
        .and_then(parse_mac)
}

/// The route sources toward `peer` (or the IPv4 default) and toward the
/// IPv4/IPv6 outside, as `(peers, egress_v4, egress_v6)`.
pub fn route_sources(
    peer: Option<IpAddr>,
) -> (
    Option<RouteSource>,
    Option<RouteSource>,
    Option<RouteSource>,
) {
    let v4 = IpAddr::from([8, 8, 8, 8]);
    let v6 = IpAddr::from([0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888]);
    let egress_v4 = route_get(v4);
    let egress_v6 = route_get(v6);
    let toward = match peer {
        Some(p) => route_get(p),
        None => egress_v4.clone(),
    };
    (toward, egress_v4, egress_v6)
}

/// Discovers every fact of the running node.
///
/// `peer` is an address to route toward for the VTEP source (the first
/// configured peer); without one, the IPv4 default route is used.
pub fn discover(interfaces_path: &Path, peer: Option<IpAddr>) -> (NodeFacts, Vec<String>) {
    let mut warnings = Vec::new();
    let name = hostname().unwrap_or_else(|| {
        warnings.push("cannot read the hostname; using 'localhost'".into());
        "localhost".into()
    });
    let file = match fs::read_to_string(interfaces_path) {
        Ok(t) => InterfacesFile::parse(&t),
        Err(e) => {
            warnings.push(format!("cannot read {}: {e}", interfaces_path.display()));
            InterfacesFile::default()
        }
    };
    let mut facts = NodeFacts::from_interfaces(&name, &file);
    for a in ip_addresses() {
        if !facts.addresses.iter().any(|b| b.addr == a.addr) {
            facts.addresses.push(a);
        }
    }
    warnings.extend(refresh_bridges(&mut facts));
    (facts.route_source, facts.egress_v4, facts.egress_v6) = route_sources(peer);
    if facts.route_source.is_none() {
        warnings.push("no route toward the peers; pass --local-ip and --local-iface".into());
    }
    facts.router_mac = facts
        .route_source
        .as_ref()
        .and_then(|s| router_mac(&s.iface));
    (facts, warnings)
}
