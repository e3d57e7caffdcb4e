//! Merging `/etc/frr/frr.conf.local` into the generated configuration, and
//! numbering route maps, the way the reference (pve-network 1.3) does it.
//!
//! The local file is read line by line. Blocks that match a generated object
//! (the main or a VRF BGP router with the same ASN, one of its address
//! families, a generated VRF, IS-IS router or IS-IS interface) have their
//! lines appended to that object verbatim; every other block, plus
//! community lists, access lists and prefix lists with a `seq`, is appended
//! to the top-level custom lines. Route maps are never merged: local entries
//! follow the generated entries of the same name and every entry of a name
//! is renumbered 1, 2, 3... Top-level lines that match nothing (`ip route`,
//! `ip nht ...`) and any line containing `!` are dropped, as in the reference.

use std::collections::BTreeMap;

use crate::render::frr::model::{Afi, FrrConfig};

/// Where the next plain line goes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Section {
    /// Lines are dropped (top level after an `exit`, and before any block).
    Drop,
    Top,
    Router(String),
    RouterAf(String, Afi),
    Vrf(String),
    IsisRouter(String),
    IsisIface(String),
    RouteMap(String),
}

/// A route map's items: the generated entries (renumbered in place) or local lines.
enum RmItem {
    Generated,
    Line(String),
}

fn push(
    frr: &mut FrrConfig,
    maps: &mut BTreeMap<String, Vec<RmItem>>,
    section: &Section,
    line: String,
) {
    match section {
        Section::Drop => {}
        Section::Top => frr.custom.push(line),
        Section::Router(vrf) => {
            if let Some(r) = frr.routers.get_mut(vrf) {
                r.custom.push(line);
            }
        }
        Section::RouterAf(vrf, afi) => {
            if let Some(af) = frr.routers.get_mut(vrf).and_then(|r| r.afs.get_mut(afi)) {
                af.custom.push(line);
            }
        }
        Section::Vrf(v) => {
            if let Some(vrf) = frr.vrfs.get_mut(v) {
                vrf.custom.push(line);
            }
        }
        Section::IsisRouter(d) => {
            if let Some(r) = frr.isis_routers.get_mut(d) {
                r.1.push(line);
            }
        }
        Section::IsisIface(i) => {
            if let Some(r) = frr.isis_interfaces.get_mut(i) {
                r.1.push(line);
            }
        }
        Section::RouteMap(name) => maps
            .entry(name.clone())
            .or_default()
            .push(RmItem::Line(line)),
    }
}

/// `^route-map (.+) (permit|deny) (\d+)`: (name, action).
fn route_map_header(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("route-map ")?;
    // the name is greedy: take the last " permit <n>" / " deny <n>"
    let words: Vec<&str> = rest.split(' ').collect();
    for i in (1..words.len().saturating_sub(1)).rev() {
        let action = words[i];
        let seq = words[i + 1];
        let digits = seq.chars().take_while(char::is_ascii_digit).count();
        if (action == "permit" || action == "deny") && digits > 0 {
            return Some((words[..i].join(" "), action.to_string()));
        }
    }
    None
}

/// `<kind> (.+) seq (\d+) (.+)`
fn has_seq(rest: &str) -> bool {
    let words: Vec<&str> = rest.split(' ').collect();
    words.windows(2).enumerate().any(|(i, w)| {
        i > 0
            && w[0] == "seq"
            && !w[1].is_empty()
            && w[1].chars().all(|c| c.is_ascii_digit())
            && i + 2 < words.len()
    })
}

/// Merges `local` into `frr` and numbers the route maps.
pub fn merge(frr: &mut FrrConfig, local: Option<&str>) {
    let mut maps: BTreeMap<String, Vec<RmItem>> = frr
        .route_maps
        .keys()
        .map(|k| (k.clone(), vec![RmItem::Generated]))
        .collect();
    if let Some(text) = local.filter(|t| !t.is_empty()) {
        merge_lines(frr, &mut maps, text);
    }
    for (name, items) in maps {
        let mut seq = 1u32;
        for item in items {
            match item {
                RmItem::Generated => {
                    for e in frr.route_maps.get_mut(&name).into_iter().flatten() {
                        e.seq = seq;
                        seq += 1;
                    }
                }
                RmItem::Line(l) => match route_map_header(&l) {
                    Some((n, action)) => {
                        frr.custom.push(format!("route-map {n} {action} {seq}"));
                        seq += 1;
                    }
                    None => frr.custom.push(l),
                },
            }
        }
    }
}

fn merge_lines(frr: &mut FrrConfig, maps: &mut BTreeMap<String, Vec<RmItem>>, text: &str) {
    let mut section = Section::Drop;
    let mut bgp: Option<(String, String)> = None; // (asn, vrf) of the current `router bgp`
    let mut new_block = false;
    let mut new_af_block = false;
    for raw in text.split('\n') {
        if raw.is_empty() {
            continue;
        }
        let line = raw.trim_end().to_string();
        if let Some(name) = line.strip_prefix("router isis ") {
            if frr.isis_routers.contains_key(name) {
                section = Section::IsisRouter(name.to_string());
            } else {
                new_block = true;
                frr.custom.push(format!("router isis {name}"));
                section = Section::Top;
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("router bgp ") {
            let (asn, vrf) = match rest.split_once(" vrf ") {
                Some((a, v)) if !a.contains(char::is_whitespace) => {
                    (a.to_string(), Some(v.to_string()))
                }
                _ => (rest.to_string(), None),
            };
            if !asn.contains(char::is_whitespace) {
                let key = vrf.clone().unwrap_or_else(|| "default".into());
                let generated = frr
                    .routers
                    .get(&key)
                    .is_some_and(|r| r.asn.to_string() == asn);
                if generated {
                    section = Section::Router(key.clone());
                } else {
                    new_block = true;
                    frr.custom.push(match &vrf {
                        Some(v) => format!("router bgp {asn} vrf {v}"),
                        None => format!("router bgp {asn}"),
                    });
                    section = Section::Top;
                }
                bgp = Some((asn, key));
                continue;
            }
        }
        if let Some(name) = line.strip_prefix("router ") {
            new_block = true;
            frr.custom.push(format!("router {name}"));
            section = Section::Top;
            continue;
        }
        if let Some(name) = line.strip_prefix("vrf ") {
            if frr.vrfs.contains_key(name) {
                section = Section::Vrf(name.to_string());
            } else {
                new_block = true;
                frr.custom.push(format!("vrf {name}"));
                section = Section::Top;
            }
            continue;
        }
        if let Some(name) = line.strip_prefix("interface ") {
            if frr.isis_interfaces.contains_key(name) {
                section = Section::IsisIface(name.to_string());
            } else {
                new_block = true;
                frr.custom.push(format!("interface {name}"));
                section = Section::Top;
            }
            continue;
        }
        if line.starts_with("bgp community-list ") {
            frr.custom.push(line);
            continue;
        }
        if let Some(pos) = line.find("address-family ") {
            let af_text = line[pos + "address-family ".len()..].to_string();
            if !af_text.is_empty() {
                let router = bgp.as_ref().filter(|(asn, vrf)| {
                    frr.routers
                        .get(vrf)
                        .is_some_and(|r| r.asn.to_string() == *asn)
                });
                match router {
                    Some((_, vrf)) => {
                        let vrf = vrf.clone();
                        let existing = Afi::parse(&af_text).filter(|afi| {
                            frr.routers
                                .get(&vrf)
                                .is_some_and(|r| r.afs.contains_key(afi))
                        });
                        match existing {
                            Some(afi) => section = Section::RouterAf(vrf, afi),
                            None => {
                                new_af_block = true;
                                if let Some(r) = frr.routers.get_mut(&vrf) {
                                    r.custom.push(format!(" address-family {af_text}"));
                                }
                                section = Section::Router(vrf);
                            }
                        }
                    }
                    None => {
                        new_af_block = true;
                        frr.custom.push(format!(" address-family {af_text}"));
                        section = Section::Top;
                    }
                }
                continue;
            }
        }
        if line.starts_with("route-map ")
            && let Some((name, _)) = route_map_header(&line)
        {
            new_block = true;
            maps.entry(name.clone())
                .or_default()
                .push(RmItem::Line(line));
            section = Section::RouteMap(name);
            continue;
        }
        let seq_list = ["access-list ", "ip prefix-list ", "ipv6 prefix-list "]
            .iter()
            .any(|p| line.strip_prefix(p).is_some_and(has_seq));
        if seq_list {
            frr.custom.push(line);
            continue;
        }
        if line.ends_with("exit-address-family") {
            if new_af_block {
                push(frr, maps, &section, line);
                section = Section::Top;
            } else {
                section = match &bgp {
                    Some((_, vrf)) if frr.routers.contains_key(vrf) => Section::Router(vrf.clone()),
                    _ => Section::Drop,
                };
            }
            new_af_block = false;
            continue;
        }
        if line.starts_with("exit") {
            if new_block {
                push(frr, maps, &section, line);
                push(frr, maps, &section, "!".into());
            }
            section = Section::Drop;
            bgp = None;
            new_block = false;
            continue;
        }
        if line.contains('!') {
            continue;
        }
        push(frr, maps, &section, line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_map_headers() {
        assert_eq!(
            route_map_header("route-map MAP_VTEP_IN permit 10"),
            Some(("MAP_VTEP_IN".into(), "permit".into()))
        );
        assert_eq!(
            route_map_header("route-map X deny 2"),
            Some(("X".into(), "deny".into()))
        );
        assert_eq!(route_map_header("route-map X permit"), None);
    }

    #[test]
    fn seq_lists() {
        assert!(has_seq("PL seq 10 permit 10.0.0.0/8"));
        assert!(!has_seq("PL permit 10.0.0.0/8"));
    }

    #[test]
    fn generated_route_maps_are_numbered_without_local_config() {
        let mut frr = FrrConfig::default();
        frr.route_maps
            .insert("M".into(), vec![Default::default(), Default::default()]);
        merge(&mut frr, None);
        let seqs: Vec<u32> = frr.route_maps["M"].iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2]);
    }
}
