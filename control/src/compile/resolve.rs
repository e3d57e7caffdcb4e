//! Shared derivations: the facts the reference computes per zone/controller
//! (underlay peers, the local VTEP address, loopbacks, exit-node roles,
//! effective MTUs), used by both [`crate::compile`] and [`crate::render`] so
//! the tables and the rendered files can never disagree.
//!
//! Pure functions of the model and the node facts.

use std::net::IpAddr;

use crate::config::model::{Controller, ControllerType, SdnConfig, Zone};
use crate::node::NodeFacts;

/// Default MTU of VXLAN and EVPN VNets (1500 minus 50 bytes of VXLAN overhead).
///
/// The reference means to derive it from the uplink's MTU, but that code is
/// dead (it reads a level of the interfaces hash that does not exist), so it
/// is always 1450 unless the zone sets `mtu`.
pub const VXLAN_DEFAULT_MTU: u64 = 1450;

/// The IANA VXLAN port, used when `vxlan-port` is not set.
pub const VXLAN_DEFAULT_PORT: u16 = 4789;

/// The metric of the unreachable default route that keeps a non-exit node's
/// VRF from leaking into the main table.
pub const UNREACHABLE_DEFAULT_METRIC: u32 = 4_278_198_272;

fn node_controller<'a>(
    cfg: &'a SdnConfig,
    node: &str,
    ty: ControllerType,
) -> Option<&'a Controller> {
    cfg.controllers_sorted()
        .into_iter()
        .find(|c| c.controller_type == ty && c.node.as_deref() == Some(node))
}

/// The BGP controller of `node` (the first by id if there are several).
pub fn bgp_controller<'a>(cfg: &'a SdnConfig, node: &str) -> Option<&'a Controller> {
    node_controller(cfg, node, ControllerType::Bgp)
}

/// The IS-IS controller of `node` (the first by id if there are several).
pub fn isis_controller<'a>(cfg: &'a SdnConfig, node: &str) -> Option<&'a Controller> {
    node_controller(cfg, node, ControllerType::Isis)
}

/// The EVPN controller of a zone, if it exists and is of type evpn.
pub fn evpn_controller<'a>(cfg: &'a SdnConfig, zone: &Zone) -> Option<&'a Controller> {
    zone.controller
        .as_deref()
        .and_then(|c| cfg.controller(c))
        .filter(|c| c.controller_type == ControllerType::Evpn)
}

/// The underlay of an EVPN controller as seen from one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Underlay {
    /// All VTEP addresses (may include this node's own).
    pub peers: Vec<IpAddr>,
    /// The interface BGP sources from (`update-source`), if any.
    pub loopback: Option<String>,
    /// This node's VTEP address and the interface holding it.
    pub local: Option<(IpAddr, String)>,
    /// The fabric providing the underlay, if any.
    pub fabric: Option<String>,
}

impl Underlay {
    /// The peers other than this node.
    pub fn remote_peers(&self) -> Vec<IpAddr> {
        let own = self.local.as_ref().map(|(ip, _)| *ip);
        self.peers
            .iter()
            .copied()
            .filter(|p| Some(*p) != own)
            .collect()
    }
}

/// The underlay of fabric `fabric` for `node`: all node IPs (sorted by node
/// section id) and this node's IP on `dummy_<fabric>`.
pub fn fabric_underlay(cfg: &SdnConfig, fabric: &str, node: &str) -> Result<Underlay, String> {
    if cfg.fabric(fabric).is_none() {
        return Err(format!("fabric '{fabric}' does not exist"));
    }
    let me = cfg
        .fabric_node(fabric, node)
        .ok_or_else(|| format!("node '{node}' is not part of fabric '{fabric}'"))?;
    let ip = me
        .ip
        .or(me.ip6)
        .ok_or_else(|| format!("node '{node}' has no IP in fabric '{fabric}'"))?;
    let peers = cfg
        .fabric_nodes(fabric)
        .iter()
        .filter_map(|n| n.ip.or(n.ip6))
        .collect();
    let dummy = format!("dummy_{fabric}");
    Ok(Underlay {
        peers,
        loopback: Some(dummy.clone()),
        local: Some((ip, dummy)),
        fabric: Some(fabric.to_string()),
    })
}

/// Which loopback an EVPN node sources from, the two ways the reference looks
/// it up: the zone generator falls back to the IS-IS loopback when the BGP
/// controller has none; the controller generator only consults IS-IS when
/// there is no BGP controller at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopbackLookup {
    /// Zone generator (`interfaces.d/sdn`).
    Zone,
    /// Controller generator (`frr.conf`).
    Controller,
}

fn loopback(cfg: &SdnConfig, node: &str, how: LoopbackLookup) -> Option<String> {
    let bgp = bgp_controller(cfg, node);
    let isis = isis_controller(cfg, node);
    match (how, bgp) {
        (LoopbackLookup::Controller, Some(b)) => b.loopback.clone(),
        (LoopbackLookup::Zone, Some(b)) if b.loopback.is_some() => b.loopback.clone(),
        _ => isis.and_then(|i| i.loopback.clone()),
    }
}

/// The underlay of an EVPN controller for this node.
pub fn evpn_underlay(
    cfg: &SdnConfig,
    controller: &Controller,
    facts: &NodeFacts,
    how: LoopbackLookup,
) -> Result<Underlay, String> {
    if let Some(f) = &controller.fabric {
        return fabric_underlay(cfg, f, &facts.name);
    }
    let Some(peers) = controller.peers.clone() else {
        return Err(format!(
            "neither fabric nor peers configured for EVPN controller {}",
            controller.id
        ));
    };
    let loopback = loopback(cfg, &facts.name, how);
    let local = facts.local_ip_toward(&peers, loopback.as_deref());
    Ok(Underlay {
        peers,
        loopback,
        local,
        fabric: None,
    })
}

/// The underlay of a VXLAN zone for this node (static peers or a fabric).
pub fn vxlan_underlay(cfg: &SdnConfig, zone: &Zone, facts: &NodeFacts) -> Result<Underlay, String> {
    if let Some(f) = &zone.fabric {
        return fabric_underlay(cfg, f, &facts.name);
    }
    let peers = zone.peers.clone().unwrap_or_default();
    let local = facts.local_ip_toward(&peers, None);
    Ok(Underlay {
        peers,
        loopback: None,
        local,
        fabric: None,
    })
}

/// The role of this node for an EVPN zone's north-south traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitRole {
    /// Not an exit node.
    None,
    /// The configured primary exit node.
    Primary,
    /// An exit node while another node is primary (announces with metric 200).
    Secondary,
    /// One of several equal exit nodes (no primary configured): ECMP.
    Equal,
}

impl ExitRole {
    /// `none`, `primary`, `secondary` or `equal`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExitRole::None => "none",
            ExitRole::Primary => "primary",
            ExitRole::Secondary => "secondary",
            ExitRole::Equal => "equal",
        }
    }
}

/// This node's exit role in `zone`.
pub fn exit_role(zone: &Zone, node: &str) -> ExitRole {
    if !zone.is_exit_node(node) {
        return ExitRole::None;
    }
    match zone.exitnodes_primary.as_deref() {
        None => ExitRole::Equal,
        Some(p) if p == node => ExitRole::Primary,
        Some(_) => ExitRole::Secondary,
    }
}

/// The MTU the reference puts on a zone's VNets: the zone's `mtu`, else
/// 1450 for VXLAN/EVPN, else none (the kernel default).
pub fn vnet_mtu(zone: &Zone) -> Option<u64> {
    if zone.zone_type.uses_vni() {
        Some(zone.mtu.unwrap_or(VXLAN_DEFAULT_MTU))
    } else {
        zone.mtu
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::ZoneType;

    #[test]
    fn exit_roles() {
        let mut z = Zone::new("z", ZoneType::Evpn);
        assert_eq!(exit_role(&z, "a"), ExitRole::None);
        z.exitnodes = Some(vec!["a".into(), "b".into()]);
        assert_eq!(exit_role(&z, "a"), ExitRole::Equal);
        z.exitnodes_primary = Some("a".into());
        assert_eq!(exit_role(&z, "a"), ExitRole::Primary);
        assert_eq!(exit_role(&z, "b"), ExitRole::Secondary);
        assert_eq!(exit_role(&z, "c"), ExitRole::None);
    }

    #[test]
    fn mtus() {
        let mut z = Zone::new("z", ZoneType::Vxlan);
        assert_eq!(vnet_mtu(&z), Some(1450));
        z.mtu = Some(9000);
        assert_eq!(vnet_mtu(&z), Some(9000));
        assert_eq!(vnet_mtu(&Zone::new("s", ZoneType::Simple)), None);
    }
}
