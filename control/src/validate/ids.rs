//! Identifier formats and uniqueness of section ids.
//!
//! Formats are the reference's JSON-schema formats (enforced since
//! pve-network `a8b6166`, fix #7077). Zone and VNet ids become parts of
//! Linux interface names (`vrfbr_<zone>`, `vxlan_<vnet>`), hence 8
//! characters at most; zone ids longer than that are accepted with a
//! warning where no interface is named after the zone (see
//! [`check_zone_id`]).

use std::collections::BTreeMap;

use crate::config::model::{SdnConfig, Zone, ZoneType};
use crate::diag::{Origin, Sink};

/// `[a-zA-Z][a-zA-Z0-9]*[a-zA-Z0-9]`, 2..=8 characters (zones and VNets).
pub fn is_short_id(id: &str) -> bool {
    (2..=8).contains(&id.len()) && is_alnum_id(id)
}

/// `[a-zA-Z][a-zA-Z0-9]*[a-zA-Z0-9]` of any length >= 2 (IPAM, DNS).
pub fn is_alnum_id(id: &str) -> bool {
    id.len() >= 2
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `[a-zA-Z][a-zA-Z0-9_-]*[a-zA-Z0-9]`, at most 64 characters (controllers).
pub fn is_controller_id(id: &str) -> bool {
    (2..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.ends_with(|c: char| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `[a-zA-Z0-9][a-zA-Z0-9-]{0,6}[a-zA-Z0-9]?`, 2..=8 characters (fabrics).
pub fn is_fabric_id(id: &str) -> bool {
    (2..=8).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id.ends_with(|c: char| c.is_ascii_alphanumeric())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A node name (`pve-node`): a DNS label.
pub fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The reference's `dns-name` format: labels of letters, digits and inner
/// hyphens (`[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?`) joined by single dots,
/// no leading or trailing dot.
pub fn is_dns_name(name: &str) -> bool {
    name.split('.').all(|label| {
        !label.is_empty()
            && label.starts_with(|c: char| c.is_ascii_alphanumeric())
            && label.ends_with(|c: char| c.is_ascii_alphanumeric())
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// Longest interface-name prefix derived from a zone id, per zone type
/// (`sv_`/`ln_`/`pr_` + id for QinQ, `vrfbr_`/`vrfvx_`/`xvrfp_` + id for
/// EVPN); `None` when no interface is named after the zone.
fn zone_ifname_prefix(zone_type: &ZoneType) -> Option<&'static str> {
    match zone_type {
        ZoneType::QinQ => Some("sv_"),
        ZoneType::Evpn => Some("vrfbr_"),
        _ => None,
    }
}

/// Linux interface names are at most 15 characters.
const IFNAMSIZ_CHARS: usize = 15;

/// Zone ids: the reference's format and its 8-character limit (fix #7077).
/// Older Proxmox releases (and the SDN guide's own examples, such as
/// `myvxlanzone`) use longer ids; xsdn accepts those with a warning where
/// no interface is named after the zone, and rejects them where a derived
/// interface name would not fit in 15 characters.
fn check_zone_id(z: &Zone, sink: &mut Sink) {
    let section = format!("zone '{}'", z.id);
    if !is_alnum_id(&z.id) {
        sink.error(
            &z.origin,
            &section,
            None,
            "zone id must be letters or digits starting with a letter (at least 2)",
        );
        return;
    }
    if z.id.len() <= 8 {
        return;
    }
    match zone_ifname_prefix(&z.zone_type) {
        Some(prefix) if prefix.len() + z.id.len() > IFNAMSIZ_CHARS => sink.error(
            &z.origin,
            &section,
            None,
            format!(
                "zone id is {} characters: the interface {prefix}{} would exceed Linux's 15-character limit (use at most 8, as Proxmox requires)",
                z.id.len(),
                z.id
            ),
        ),
        _ => sink.warn(
            &z.origin,
            &section,
            None,
            format!(
                "zone id is {} characters: Proxmox VE since 9.2 accepts at most 8 (older releases and xsdn accept it; rename it before upgrading)",
                z.id.len()
            ),
        ),
    }
}

fn duplicates<'a>(sink: &mut Sink, noun: &str, items: impl Iterator<Item = (&'a str, &'a Origin)>) {
    let mut seen: BTreeMap<&str, &Origin> = BTreeMap::new();
    for (id, origin) in items {
        if let Some(first) = seen.get(id) {
            let at = first
                .line
                .map_or_else(String::new, |l| format!(" (first at line {l})"));
            sink.error(
                origin,
                &format!("{noun} '{id}'"),
                None,
                format!("{noun} '{id}' is defined twice{at}; Proxmox keeps only one of them"),
            );
        } else {
            seen.insert(id, origin);
        }
    }
}

/// Checks id formats and that no id is defined twice in its file.
pub fn check(cfg: &SdnConfig, sink: &mut Sink) {
    for z in &cfg.zones {
        check_zone_id(z, sink);
    }
    for v in &cfg.vnets {
        if !is_short_id(&v.id) {
            sink.error(
                &v.origin,
                &format!("vnet '{}'", v.id),
                None,
                "vnet id must be 2-8 letters or digits starting with a letter \
                 (it is the bridge's interface name and part of vxlan_<vnet>)",
            );
        }
    }
    for c in &cfg.controllers {
        if !is_controller_id(&c.id) {
            sink.error(
                &c.origin,
                &format!("controller '{}'", c.id),
                None,
                "controller id must be 2-64 characters: letters, digits, '-' or '_', \
                 starting with a letter and ending with a letter or digit",
            );
        }
    }
    for i in &cfg.ipams {
        if !is_alnum_id(&i.id) {
            sink.error(
                &i.origin,
                &format!("ipam '{}'", i.id),
                None,
                "ipam id must be letters or digits starting with a letter (at least 2)",
            );
        }
    }
    for d in &cfg.dns {
        if !is_alnum_id(&d.id) {
            sink.error(
                &d.origin,
                &format!("dns '{}'", d.id),
                None,
                "dns id must be letters or digits starting with a letter (at least 2)",
            );
        }
    }
    duplicates(
        sink,
        "zone",
        cfg.zones.iter().map(|z| (z.id.as_str(), &z.origin)),
    );
    duplicates(
        sink,
        "vnet",
        cfg.vnets.iter().map(|v| (v.id.as_str(), &v.origin)),
    );
    duplicates(
        sink,
        "subnet",
        cfg.subnets.iter().map(|s| (s.id.as_str(), &s.origin)),
    );
    duplicates(
        sink,
        "controller",
        cfg.controllers.iter().map(|c| (c.id.as_str(), &c.origin)),
    );
    duplicates(
        sink,
        "ipam",
        cfg.ipams.iter().map(|i| (i.id.as_str(), &i.origin)),
    );
    duplicates(
        sink,
        "dns",
        cfg.dns.iter().map(|d| (d.id.as_str(), &d.origin)),
    );
    duplicates(
        sink,
        "fabric",
        cfg.fabrics.iter().map(|f| (f.id.as_str(), &f.origin)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_formats() {
        assert!(is_short_id("myzone"));
        assert!(is_short_id("z1"));
        assert!(!is_short_id("z"));
        assert!(!is_short_id("toolongid"));
        assert!(!is_short_id("my-zone"));
        assert!(!is_short_id("1zone"));
        assert!(is_controller_id("evpn-ctl_1"));
        assert!(!is_controller_id("evpn-"));
        assert!(is_fabric_id("fab-1"));
        assert!(!is_fabric_id("-fab"));
        assert!(is_node_name("pve-1"));
        assert!(!is_node_name("pve_1"));
        for ok in [
            "example.com",
            "a",
            "x-1.y2.z",
            "sub.dom-ain.org",
            "0.in-addr",
        ] {
            assert!(is_dns_name(ok), "{ok}");
        }
        for bad in [
            "",
            "bad_zone..x",
            "a..b",
            ".lead",
            "trail.",
            "-a.b",
            "a-.b",
            "sp ace",
            "und_er",
        ] {
            assert!(!is_dns_name(bad), "{bad}");
        }
    }
}
