//! `/etc/network/interfaces.d/sdn`, byte for byte as the reference writes it.
//!
//! The reference builds a map from interface name to a list of option
//! lines. VNets are visited in id order; each zone plugin adds stanzas, and
//! most of them only if the interface has no stanza yet (first writer wins),
//! while OVS bridges accumulate `ovs_ports`. The file is `#version:<N>`
//! followed by every interface in byte order (`\nauto X\niface X\n` plus a
//! tab-indented line per option), then the fabric interfaces, unsorted
//! against the zone stanzas. A VNet whose zone is missing, excluded by
//! `nodes`, or broken is skipped with a warning, as in the reference.

mod l2;
mod l3;

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::config::model::{SdnConfig, ZoneType};
use crate::node::NodeFacts;

/// Interface stanzas under construction.
#[derive(Debug, Default)]
pub(crate) struct IfaceConfig {
    map: BTreeMap<String, Vec<String>>,
}

impl IfaceConfig {
    /// True if `name` already has a stanza.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Adds the stanza `name` unless it exists (the reference's `push ... if !$config->{$x}`).
    pub(crate) fn add_new(&mut self, name: &str, lines: Vec<String>) {
        if !self.has(name) {
            self.map.insert(name.to_string(), lines);
        }
    }

    /// Appends lines to `name`, creating it if needed.
    pub(crate) fn append(&mut self, name: &str, lines: Vec<String>) {
        self.map.entry(name.to_string()).or_default().extend(lines);
    }

    /// The first line of `name`, created empty if missing (for `ovs_ports` merging).
    pub(crate) fn first_line(&mut self, name: &str) -> &mut String {
        let v = self.map.entry(name.to_string()).or_default();
        if v.is_empty() {
            v.push(String::new());
        }
        &mut v[0]
    }

    fn write(&self, out: &mut String) {
        for (name, lines) in &self.map {
            write_stanza(out, name, None, lines);
        }
    }
}

fn write_stanza(out: &mut String, name: &str, method: Option<&str>, lines: &[String]) {
    let _ = write!(out, "\nauto {name}\niface {name}");
    if let Some(m) = method {
        let _ = write!(out, " {m}");
    }
    out.push('\n');
    for l in lines {
        let _ = writeln!(out, "\t{l}");
    }
}

/// The rendered file and what was skipped on the way.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InterfacesOutput {
    /// The file's content.
    pub text: String,
    /// One message per skipped VNet (`zone z : vnet v : reason`).
    pub warnings: Vec<String>,
}

/// Renders `/etc/network/interfaces.d/sdn` for the node described by `facts`.
pub fn render_interfaces(cfg: &SdnConfig, facts: &NodeFacts) -> InterfacesOutput {
    let mut ifaces = IfaceConfig::default();
    let mut warnings = Vec::new();
    for vnet in cfg.vnets_sorted() {
        let Some(zone_id) = vnet.zone.as_deref() else {
            warnings.push(format!(
                "can't generate vnet '{}': no zone assigned!",
                vnet.id
            ));
            continue;
        };
        let Some(zone) = cfg.zone(zone_id) else {
            warnings.push(format!(
                "can't generate vnet '{}': zone {zone_id} don't exist",
                vnet.id
            ));
            continue;
        };
        if !zone.on_node(&facts.name) {
            continue;
        }
        let result = match zone.zone_type {
            ZoneType::Simple => l3::simple(cfg, zone, vnet, facts, &mut ifaces),
            ZoneType::Vlan => l2::vlan(zone, vnet, facts, &mut ifaces),
            ZoneType::QinQ => l2::qinq(zone, vnet, facts, &mut ifaces),
            ZoneType::Vxlan => l3::vxlan(cfg, zone, vnet, facts, &mut ifaces),
            ZoneType::Evpn => l3::evpn(cfg, zone, vnet, facts, &mut ifaces),
            ZoneType::Other(ref t) => Err(format!("zone type '{t}' is not supported")),
        };
        if let Err(e) = result {
            warnings.push(format!("zone {zone_id} : vnet {} : {e}", vnet.id));
        }
    }
    let mut text = format!(
        "#version:{}\n",
        cfg.version.map(|v| v.to_string()).unwrap_or_default()
    );
    ifaces.write(&mut text);
    for (name, lines) in crate::render::fabric::interface_stanzas(cfg, &facts.name) {
        write_stanza(&mut text, &name, Some("inet static"), &lines);
    }
    InterfacesOutput { text, warnings }
}

#[cfg(test)]
mod tests;
