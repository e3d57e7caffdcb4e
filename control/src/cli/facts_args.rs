//! `--node`, `--interfaces`, `--local-ip`... : the node facts of `compile`
//! and `render`, given on the command line or discovered on the running
//! node.
//!
//! Layer: CLI edge. Policy: every fact given by a flag wins; with
//! `--interfaces` nothing is read from the live kernel; otherwise the rest
//! comes from `/etc/network/interfaces` plus live discovery
//! ([`crate::node::live`]).

use std::fs;
use std::path::PathBuf;

use anyhow::Context;

/// Options that give the node facts, shared by `compile` and `render`.
///
/// Each fact not given here is discovered on the running node.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FactsArgs {
    /// Node name [default: the hostname].
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// The node's own interfaces file. When given, bridges and addresses come
    /// from this file only (nothing is read from the kernel) [default:
    /// /etc/network/interfaces plus the live kernel state].
    #[arg(long, value_name = "FILE")]
    pub interfaces: Option<PathBuf>,
    /// The node's route source address toward the peers, also used as the
    /// SNAT source [default: `ip route get <first peer>` / `ip route get 8.8.8.8`].
    #[arg(long, value_name = "IP")]
    pub local_ip: Option<std::net::IpAddr>,
    /// The interface of the route source [default: the interface holding
    /// --local-ip in the interfaces file].
    #[arg(long, value_name = "NAME")]
    pub local_iface: Option<String>,
    /// MAC used for the BGP router id on IPv6 underlays [default: the MAC of
    /// the route interface's bridge].
    #[arg(long, value_name = "MAC", value_parser = parse_mac_arg)]
    pub router_mac: Option<MacArg>,
    /// Physical ports of a bridge, overriding discovery (repeatable):
    /// BRIDGE=PORT[,PORT...], e.g. vmbr0=eth0.
    #[arg(long = "bridge-ports", value_name = "BRIDGE=PORTS")]
    pub bridge_ports: Vec<String>,
}

/// A MAC address given on the command line.
#[derive(Clone, Copy, Debug)]
pub struct MacArg(pub [u8; 6]);

fn parse_mac_arg(s: &str) -> Result<MacArg, String> {
    crate::config::model::parse_mac(s)
        .map(MacArg)
        .ok_or_else(|| format!("'{s}' is not a MAC address (aa:bb:cc:dd:ee:ff)"))
}

/// The first configured VTEP/BGP peer: where `ip route get` looks for the route source.
fn first_peer(cfg: &crate::config::SdnConfig) -> Option<std::net::IpAddr> {
    let ctl = cfg
        .controllers_sorted()
        .into_iter()
        .filter(|c| c.controller_type == crate::config::ControllerType::Evpn)
        .find_map(|c| c.peers.as_ref().and_then(|p| p.first().copied()));
    ctl.or_else(|| {
        cfg.zones_sorted()
            .into_iter()
            .find_map(|z| z.peers.as_ref().and_then(|p| p.first().copied()))
    })
}

impl FactsArgs {
    /// Builds the node facts: flags first, live discovery for the rest.
    pub fn facts(
        &self,
        cfg: &crate::config::SdnConfig,
    ) -> anyhow::Result<(crate::node::NodeFacts, Vec<String>)> {
        use crate::node::{NodeFacts, RouteSource, interfaces::InterfacesFile, live};
        let mut warnings = Vec::new();
        let name = match &self.node {
            Some(n) => n.clone(),
            None => live::hostname().unwrap_or_else(|| {
                warnings.push("cannot read the hostname; using 'localhost' (pass --node)".into());
                "localhost".into()
            }),
        };
        let offline = self.interfaces.is_some();
        let path = self
            .interfaces
            .clone()
            .unwrap_or_else(|| PathBuf::from("/etc/network/interfaces"));
        let file = match fs::read_to_string(&path) {
            Ok(t) => InterfacesFile::parse(&t),
            Err(e) if offline => {
                return Err(e).with_context(|| format!("reading {}", path.display()));
            }
            Err(e) => {
                warnings.push(format!("cannot read {}: {e}", path.display()));
                InterfacesFile::default()
            }
        };
        let mut facts = NodeFacts::from_interfaces(&name, &file);
        let live_node = if offline {
            None
        } else {
            match live::LiveNode::open() {
                Ok(node) => Some(node),
                Err(e) => {
                    warnings.push(format!("{:#}", anyhow::Error::from(e)));
                    None
                }
            }
        };
        if let Some(node) = &live_node {
            node.add_addresses(&mut facts);
            warnings.extend(node.refresh_bridges(&mut facts));
        }
        for spec in &self.bridge_ports {
            let (bridge, ports) = spec.split_once('=').with_context(|| {
                format!("--bridge-ports {spec}: expected BRIDGE=PORT[,PORT...]")
            })?;
            let b = facts.bridges.entry(bridge.to_string()).or_default();
            b.ports = ports
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
        }
        match (self.local_ip, &self.local_iface) {
            (Some(ip), iface) => {
                let iface = match iface {
                    Some(i) => i.clone(),
                    None => facts
                        .iface_with(ip)
                        .map(str::to_string)
                        .with_context(|| format!("no interface holds {ip}; pass --local-iface"))?,
                };
                facts.set_route_source(Some(RouteSource { ip, iface }));
            }
            (None, Some(iface)) => {
                let ip = facts
                    .address_of(iface)
                    .with_context(|| format!("{iface} has no address; pass --local-ip"))?;
                facts.set_route_source(Some(RouteSource {
                    ip,
                    iface: iface.clone(),
                }));
            }
            (None, None) if offline => {
                warnings.push(
                    "no --local-ip: VTEP and SNAT sources come only from the interfaces file"
                        .into(),
                );
            }
            (None, None) => {
                if let Some(node) = &live_node {
                    (facts.route_source, facts.egress_v4, facts.egress_v6) =
                        node.route_sources(first_peer(cfg));
                }
                if facts.route_source.is_none() {
                    warnings.push(
                        "no route toward the peers; pass --local-ip and --local-iface".into(),
                    );
                }
            }
        }
        facts.router_mac = match self.router_mac {
            Some(m) => Some(m.0),
            None => live_node.as_ref().and_then(|node| {
                facts
                    .route_source
                    .as_ref()
                    .and_then(|s| node.router_mac(&s.iface))
            }),
        };
        Ok((facts, warnings))
    }
}
