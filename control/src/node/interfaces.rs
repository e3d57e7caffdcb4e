//! Parser for a node's own `/etc/network/interfaces` (ifupdown2 syntax).
//!
//! Only what the SDN generators need is interpreted (addresses, MTU,
//! bridge ports, VLAN awareness, OVS types); every option is kept. Stanzas of
//! the same interface are merged in file order. `source` lines are recorded,
//! never followed: this module does no I/O.

use std::net::IpAddr;

/// One `iface` stanza (all stanzas of one interface, merged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfaceStanza {
    /// Interface name.
    pub name: String,
    /// Listed on an `auto` or `allow-*` line.
    pub auto: bool,
    /// `inet`, `inet6`, ... when given.
    pub family: Option<String>,
    /// `static`, `manual`, ... when given.
    pub method: Option<String>,
    /// Options in file order, keys as written.
    pub options: Vec<(String, String)>,
}

fn norm(key: &str) -> String {
    key.replace('_', "-")
}

impl IfaceStanza {
    /// All values of `key` (`bridge_ports` and `bridge-ports` are the same key).
    pub fn values<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> + 'a {
        let key = norm(key);
        self.options
            .iter()
            .filter(move |(k, _)| norm(k) == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `key`.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values(key).next()
    }

    /// Addresses from `address` lines, with their prefix length when written as CIDR
    /// (or given by `netmask`).
    pub fn addresses(&self) -> Vec<(IpAddr, Option<u8>)> {
        let netmask = self.value("netmask").and_then(parse_netmask);
        self.values("address")
            .flat_map(str::split_whitespace)
            .filter_map(|a| {
                let (ip, len) = match a.split_once('/') {
                    Some((ip, len)) => (ip, len.parse().ok()),
                    None => (a, netmask),
                };
                ip.parse().ok().map(|ip| (ip, len))
            })
            .collect()
    }

    /// `mtu`, when set.
    pub fn mtu(&self) -> Option<u32> {
        self.value("mtu").and_then(|m| m.trim().parse().ok())
    }

    /// `bridge-ports` (without `none`).
    pub fn bridge_ports(&self) -> Vec<String> {
        self.values("bridge-ports")
            .flat_map(str::split_whitespace)
            .filter(|p| *p != "none")
            .map(str::to_string)
            .collect()
    }

    /// `ovs_type`, when set.
    pub fn ovs_type(&self) -> Option<&str> {
        self.value("ovs-type")
    }

    /// A Linux bridge (`bridge-ports`) or an OVS bridge.
    pub fn is_bridge(&self) -> bool {
        self.value("bridge-ports").is_some() || self.ovs_type() == Some("OVSBridge")
    }

    /// `bridge-vlan-aware yes|1|on`.
    pub fn vlan_aware(&self) -> bool {
        self.value("bridge-vlan-aware")
            .is_some_and(|v| matches!(v.trim(), "yes" | "1" | "on" | "true"))
    }
}

fn parse_netmask(m: &str) -> Option<u8> {
    if let Ok(len) = m.parse::<u8>() {
        return Some(len);
    }
    let ip: std::net::Ipv4Addr = m.parse().ok()?;
    let bits = u32::from(ip);
    (bits.leading_ones() + bits.trailing_zeros() == 32)
        .then(|| u8::try_from(bits.leading_ones()).ok())
        .flatten()
}

/// A parsed interfaces file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfacesFile {
    /// Stanzas in order of first appearance.
    pub ifaces: Vec<IfaceStanza>,
    /// `source` / `source-directory` arguments, in order.
    pub sources: Vec<String>,
}

impl InterfacesFile {
    /// Parses the text of an interfaces file.
    pub fn parse(text: &str) -> InterfacesFile {
        let mut file = InterfacesFile::default();
        let mut autos: Vec<String> = Vec::new();
        let mut current: Option<usize> = None;
        let mut pending = String::new();
        for raw in text.lines() {
            // backslash continues a line
            if let Some(head) = raw.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            let joined = std::mem::take(&mut pending) + raw;
            let line = joined.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or_default();
            match first {
                "auto" => {
                    autos.extend(words.map(str::to_string));
                    current = None;
                }
                w if w.starts_with("allow-") => {
                    autos.extend(words.map(str::to_string));
                    current = None;
                }
                "source" | "source-directory" => {
                    file.sources.extend(words.map(str::to_string));
                    current = None;
                }
                "mapping" => current = None,
                "iface" => {
                    let Some(name) = words.next() else { continue };
                    let family = words.next().map(str::to_string);
                    let method = words.next().map(str::to_string);
                    let idx = match file.ifaces.iter().position(|i| i.name == name) {
                        Some(i) => i,
                        None => {
                            file.ifaces.push(IfaceStanza {
                                name: name.to_string(),
                                ..IfaceStanza::default()
                            });
                            file.ifaces.len() - 1
                        }
                    };
                    let st = &mut file.ifaces[idx];
                    if st.family.is_none() {
                        st.family = family;
                        st.method = method;
                    }
                    current = Some(idx);
                }
                key => {
                    if let Some(idx) = current {
                        let value = line[key.len()..].trim().to_string();
                        file.ifaces[idx].options.push((key.to_string(), value));
                    }
                }
            }
        }
        for st in &mut file.ifaces {
            st.auto = autos.contains(&st.name);
        }
        file
    }

    /// The stanza of `name`.
    pub fn iface(&self, name: &str) -> Option<&IfaceStanza> {
        self.ifaces.iter().find(|i| i.name == name)
    }
}

/// True for names the reference counts as physical bridge ports:
/// `(eth|bond)<n>` or `en*`, optionally with a `.<vlan>` suffix.
pub fn is_physical_port(name: &str) -> bool {
    let (base, vlan) = match name.split_once('.') {
        Some((b, v)) => (b, Some(v)),
        None => (name, None),
    };
    if vlan.is_some_and(|v| v.is_empty() || !v.chars().all(|c| c.is_ascii_digit())) {
        return false;
    }
    let numbered = |prefix: &str| {
        base.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    numbered("eth") || numbered("bond") || (base.len() > 2 && base.starts_with("en"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
auto lo
iface lo inet loopback

iface eno1 inet manual

auto vmbr0
iface vmbr0 inet static
\taddress 192.168.0.1/24
\tgateway 192.168.0.250
        bridge-ports eno1 tap100i0
        bridge_stp off
\tbridge-vlan-aware yes
\tmtu 9000

auto vmbr1
iface vmbr1 inet manual
        ovs_type OVSBridge
        ovs_ports eth1

iface vmbr0 inet6 static
\taddress 2001:db8::1/64

auto dummy7
iface dummy7 inet static
\taddress 10.0.0.1
\tnetmask 255.255.255.255

source /etc/network/interfaces.d/*
";

    #[test]
    fn stanzas_options_and_merging() {
        let f = InterfacesFile::parse(FILE);
        assert_eq!(f.sources, vec!["/etc/network/interfaces.d/*"]);
        let v = f.iface("vmbr0").unwrap();
        assert!(v.auto);
        assert_eq!(v.family.as_deref(), Some("inet"));
        assert_eq!(
            v.addresses(),
            vec![
                ("192.168.0.1".parse().unwrap(), Some(24)),
                ("2001:db8::1".parse().unwrap(), Some(64))
            ]
        );
        assert_eq!(v.bridge_ports(), vec!["eno1", "tap100i0"]);
        assert_eq!(v.value("bridge-stp"), Some("off"));
        assert!(v.vlan_aware());
        assert_eq!(v.mtu(), Some(9000));
        assert!(v.is_bridge());
        assert!(!f.iface("eno1").unwrap().auto);
        assert_eq!(f.iface("vmbr1").unwrap().ovs_type(), Some("OVSBridge"));
        assert_eq!(
            f.iface("dummy7").unwrap().addresses(),
            vec![("10.0.0.1".parse().unwrap(), Some(32))]
        );
    }

    #[test]
    fn physical_ports() {
        for p in ["eth0", "bond1", "eno1", "enp3s0f1", "eth0.100"] {
            assert!(is_physical_port(p), "{p}");
        }
        for p in [
            "tap100i0",
            "vmbr0",
            "ln_x",
            "eth",
            "en",
            "eth0.x",
            "fwpr100p0",
        ] {
            assert!(!is_physical_port(p), "{p}");
        }
    }
}
