//! Controllers, zones and VNets to the structured [`FrrConfig`].
//!
//! The reference's order matters and is kept: controllers by id (whichever
//! of the BGP/EVPN controllers creates the main router first decides its
//! global options), then EVPN zones by id, then VNets by id. Zones are not
//! filtered by their `nodes` here, exactly like the reference.

use std::net::IpAddr;

use crate::compile::resolve::{self, LoopbackLookup, Underlay};
use crate::config::model::{Controller, ControllerType, SdnConfig, Zone};
use crate::node::NodeFacts;
use crate::render::frr::model::{
    AddressFamily, AfNeighbor, Afi, BgpRouter, FrrConfig, IpRoute, NeighborGroup, PrefixRule,
    RouteMapEntry, Vrf,
};

/// The common EVPN facts of the reference's controller and zone generators.
struct EvpnView {
    underlay: Underlay,
    router_id: Option<String>,
    asn: u64,
    ebgp: bool,
    autort_as: Option<u64>,
}

fn evpn_view(cfg: &SdnConfig, ctl: &Controller, facts: &NodeFacts) -> Result<EvpnView, String> {
    let underlay = resolve::evpn_underlay(cfg, ctl, facts, LoopbackLookup::Controller)?;
    let router_id = if underlay.fabric.is_some() {
        let me = underlay
            .fabric
            .as_deref()
            .and_then(|f| cfg.fabric_node(f, &facts.name));
        me.and_then(|n| n.ip)
            .map(|ip| ip.to_string())
            .or_else(|| facts.router_id(None).map(|r| r.to_string()))
    } else {
        facts
            .router_id(underlay.local.as_ref().map(|(ip, _)| *ip))
            .map(|r| r.to_string())
    };
    let mut asn = ctl.asn.unwrap_or(0);
    let mut ebgp = false;
    let mut autort_as = None;
    if let Some(bgp) = resolve::bgp_controller(cfg, &facts.name) {
        ebgp = ctl.asn != bgp.asn;
        if let Some(a) = bgp.asn {
            asn = a;
        }
        if ebgp {
            autort_as = ctl.asn;
        }
    }
    Ok(EvpnView {
        underlay,
        router_id,
        asn,
        ebgp,
        autort_as,
    })
}

fn main_router<'a>(frr: &'a mut FrrConfig, asn: u64, router_id: &str) -> &'a mut BgpRouter {
    frr.routers
        .entry("default".into())
        .or_insert_with(|| BgpRouter {
            asn,
            router_id: router_id.to_string(),
            default_ipv4_unicast: Some(false),
            coalesce_time: Some(1000),
            ..BgpRouter::default()
        })
}

fn add_route_map(frr: &mut FrrConfig, name: &str, entry: RouteMapEntry) {
    frr.route_maps.entry(name.into()).or_default().push(entry);
}

fn permit() -> RouteMapEntry {
    RouteMapEntry {
        action: "permit".into(),
        seq: 1,
        ..RouteMapEntry::default()
    }
}

fn evpn_controller(
    frr: &mut FrrConfig,
    cfg: &SdnConfig,
    ctl: &Controller,
    facts: &NodeFacts,
) -> Result<(), String> {
    let v = evpn_view(cfg, ctl, facts)?;
    let Some(router_id) = v.router_id else {
        return Err("can't autofind a router-id value from ip or mac".into());
    };
    if v.asn == 0 {
        return Ok(());
    }
    let fresh = !frr.routers.contains_key("default");
    let r = main_router(frr, v.asn, &router_id);
    if fresh {
        r.hard_administrative_reset = Some(false);
        r.graceful_restart_notification = Some(false);
    }
    let loopback = v.underlay.loopback.clone();
    r.neighbor_groups.push(NeighborGroup {
        name: "VTEP".into(),
        remote_as: if v.ebgp {
            "external".into()
        } else {
            v.asn.to_string()
        },
        bfd: true,
        ebgp_multihop: (v.ebgp && loopback.is_some()).then_some(10),
        update_source: loopback,
        ips: v
            .underlay
            .remote_peers()
            .iter()
            .map(ToString::to_string)
            .collect(),
    });
    let af = r
        .afs
        .entry(Afi::L2vpnEvpn)
        .or_insert_with(|| AddressFamily {
            neighbors: vec![AfNeighbor {
                name: "VTEP".into(),
                route_map_in: Some("MAP_VTEP_IN".into()),
                route_map_out: Some("MAP_VTEP_OUT".into()),
                ..AfNeighbor::default()
            }],
            advertise_all_vni: true,
            ..AddressFamily::default()
        });
    if v.autort_as.is_some() {
        af.autort_as = v.autort_as;
    }
    add_route_map(frr, "MAP_VTEP_IN", permit());
    add_route_map(frr, "MAP_VTEP_OUT", permit());
    Ok(())
}

fn bgp_controller(frr: &mut FrrConfig, ctl: &Controller, facts: &NodeFacts) -> Result<(), String> {
    let Some(asn) = ctl.asn.filter(|a| *a != 0) else {
        return Ok(());
    };
    if ctl.node.as_deref() != Some(facts.name.as_str()) {
        return Ok(());
    }
    let peers = ctl.peers.clone().unwrap_or_default();
    let ebgp = ctl.ebgp == Some(true);
    let loopback = ctl.loopback.clone();
    let local = facts.local_ip_toward(&peers, loopback.as_deref());
    let ip = local.as_ref().map(|(ip, _)| *ip);
    let router_id = facts
        .router_id(ip)
        .ok_or("can't autofind a router-id value from ip or mac")?
        .to_string();
    let r = main_router(frr, asn, &router_id);
    if loopback.is_some() && ebgp {
        r.disable_ebgp_connected_route_check = true;
    }
    if ctl.bgp_multipath_as_path_relax == Some(true) {
        r.bestpath_as_path_multipath_relax = true;
    }
    if !peers.is_empty() {
        r.neighbor_groups.push(NeighborGroup {
            name: "BGP".into(),
            remote_as: if ebgp {
                "external".into()
            } else {
                asn.to_string()
            },
            bfd: true,
            ebgp_multihop: ctl.ebgp_multihop.filter(|m| ebgp && *m != 0),
            update_source: None,
            ips: peers.iter().map(ToString::to_string).collect(),
        });
        let v6 = ip.is_some_and(|i| i.is_ipv6());
        let afi = if v6 {
            Afi::Ipv6Unicast
        } else {
            Afi::Ipv4Unicast
        };
        let af = r.afs.entry(afi).or_insert_with(|| AddressFamily {
            neighbors: vec![AfNeighbor {
                name: "BGP".into(),
                soft_reconfiguration_inbound: true,
                ..AfNeighbor::default()
            }],
            ..AddressFamily::default()
        });
        if loopback.is_some() {
            let ip = ip.map(|i| i.to_string()).unwrap_or_default();
            af.networks
                .push(format!("{ip}/{}", if v6 { 128 } else { 32 }));
        }
    }
    if loopback.is_some() {
        frr.prefix_lists.insert(
            "loopbacks_ips".into(),
            vec![PrefixRule {
                seq: 10,
                action: "permit".into(),
                network: "0.0.0.0/0".into(),
                le: Some(32),
                ipv6: false,
            }],
        );
        frr.protocol_route_maps.entry("bgp".into()).or_default().0 = Some("correct_src".into());
        add_route_map(
            frr,
            "correct_src",
            RouteMapEntry {
                action: "permit".into(),
                seq: 1,
                matches: vec!["ip address prefix-list loopbacks_ips".into()],
                sets: vec![format!(
                    "src {}",
                    ip.map(|i| i.to_string()).unwrap_or_default()
                )],
            },
        );
    }
    Ok(())
}

fn isis_controller(frr: &mut FrrConfig, ctl: &Controller, facts: &NodeFacts) {
    let (Some(ifaces), Some(net), Some(domain)) =
        (&ctl.isis_ifaces, &ctl.isis_net, &ctl.isis_domain)
    else {
        return;
    };
    if ifaces.is_empty() || ctl.node.as_deref() != Some(facts.name.as_str()) {
        return;
    }
    frr.isis_routers
        .insert(domain.clone(), (net.clone(), Vec::new()));
    for i in ifaces {
        frr.isis_interfaces
            .insert(i.clone(), (domain.clone(), Vec::new()));
    }
}

/// Null routes toward the subnets of other zones, sorted numerically by
/// address as the reference does (keyed by the unnormalised address).
fn null_routes(cfg: &SdnConfig, zone: &str) -> Vec<IpRoute> {
    let mut subnets: Vec<_> = cfg.subnets.iter().collect();
    subnets.sort_by(|a, b| a.id.cmp(&b.id));
    let mut by_ip: Vec<(IpAddr, u8)> = Vec::new();
    for s in subnets {
        let (Some(z), Some(cidr)) = (&s.zone, s.cidr) else {
            continue;
        };
        if z == zone {
            continue;
        }
        match by_ip.iter_mut().find(|(ip, _)| *ip == cidr.addr()) {
            Some(e) => e.1 = cidr.prefix_len(),
            None => by_ip.push((cidr.addr(), cidr.prefix_len())),
        }
    }
    let int = |ip: &IpAddr| match ip {
        IpAddr::V4(v) => u128::from(u32::from(*v)),
        IpAddr::V6(v) => u128::from(*v),
    };
    by_ip.sort_by_key(|(ip, _)| int(ip));
    by_ip
        .into_iter()
        .map(|(ip, len)| IpRoute {
            prefix: format!("{ip}/{len}"),
            via: "null0".into(),
            dev: None,
            ipv6: ip.is_ipv6(),
        })
        .collect()
}

fn deny_default(list: &str, v6: bool, metric: bool) -> RouteMapEntry {
    RouteMapEntry {
        action: if metric { "permit" } else { "deny" }.into(),
        seq: 1,
        matches: vec![format!(
            "{} address prefix-list {list}",
            if v6 { "ipv6" } else { "ip" }
        )],
        sets: if metric {
            vec!["metric 200".into()]
        } else {
            Vec::new()
        },
    }
}

fn evpn_zone(
    frr: &mut FrrConfig,
    cfg: &SdnConfig,
    zone: &Zone,
    ctl: &Controller,
    facts: &NodeFacts,
) -> Result<(), String> {
    let v = evpn_view(cfg, ctl, facts)?;
    let Some(vni) = zone.vrf_vxlan else {
        return Ok(());
    };
    if v.asn == 0 {
        return Ok(());
    }
    let node = facts.name.as_str();
    let vrf = format!("vrf_{}", zone.id);
    let exit = zone.is_exit_node(node);
    let mut r = BgpRouter {
        asn: v.asn,
        router_id: v.router_id.unwrap_or_default(),
        hard_administrative_reset: Some(false),
        graceful_restart_notification: Some(false),
        ..BgpRouter::default()
    };
    frr.vrfs.insert(
        vrf.clone(),
        Vrf {
            vni: Some(vni),
            routes: if exit {
                null_routes(cfg, &zone.id)
            } else {
                Vec::new()
            },
            custom: Vec::new(),
        },
    );
    if let Some(rt) = v.autort_as {
        let af = r.afs.entry(Afi::L2vpnEvpn).or_default();
        af.rt_import = vec![format!("{rt}:{vni}")];
        af.rt_export = vec![format!("{rt}:{vni}")];
    }
    let connected = |r: &mut BgpRouter| {
        for afi in [Afi::Ipv4Unicast, Afi::Ipv6Unicast] {
            r.afs
                .entry(afi)
                .or_default()
                .redistribute
                .push("connected".into());
        }
    };
    if exit {
        for (name, net, v6) in [
            ("only_default", "0.0.0.0/0", false),
            ("only_default_v6", "::/0", true),
        ] {
            frr.prefix_lists.entry(name.into()).or_insert_with(|| {
                vec![PrefixRule {
                    seq: 1,
                    action: "permit".into(),
                    network: net.into(),
                    le: None,
                    ipv6: v6,
                }]
            });
        }
        let primary = zone.exitnodes_primary.as_deref();
        let (map, metric) = if primary.is_none_or(|p| p == node) {
            // the primary (or every equal exit node) ignores other exit nodes' defaults
            ("MAP_VTEP_IN", false)
        } else {
            // a secondary announces its default with a worse metric
            ("MAP_VTEP_OUT", true)
        };
        let entries = frr.route_maps.entry(map.into()).or_default();
        entries.insert(0, deny_default("only_default_v6", true, metric));
        entries.insert(0, deny_default("only_default", false, metric));
        if zone.exitnodes_local_routing != Some(true) {
            if let Some(main) = frr.routers.get_mut("default") {
                for afi in [Afi::Ipv4Unicast, Afi::Ipv6Unicast] {
                    main.afs
                        .entry(afi)
                        .or_default()
                        .import_vrf
                        .push(vrf.clone());
                }
            }
            connected(&mut r);
        }
        r.afs.entry(Afi::L2vpnEvpn).or_default().default_originate =
            vec!["ipv4".into(), "ipv6".into()];
    } else if zone.advertise_subnets == Some(true) {
        connected(&mut r);
        let af = r.afs.entry(Afi::L2vpnEvpn).or_default();
        af.advertise_ipv4_unicast = true;
        af.advertise_ipv6_unicast = true;
    }
    if let Some(rts) = &zone.rt_import {
        r.afs
            .entry(Afi::L2vpnEvpn)
            .or_default()
            .rt_import
            .extend(rts.iter().cloned());
    }
    frr.routers.insert(vrf, r);
    Ok(())
}

fn local_routing_routes(frr: &mut FrrConfig, cfg: &SdnConfig, zone: &Zone, vnet: &str, node: &str) {
    if zone.exitnodes_local_routing != Some(true) || !zone.is_exit_node(node) {
        return;
    }
    for s in cfg.subnets_of(vnet) {
        let Some(cidr) = s.cidr else { continue };
        let v6 = cidr.addr().is_ipv6();
        frr.ip_routes.push(IpRoute {
            prefix: cidr.to_string(),
            via: if v6 { "fe80::2" } else { "10.255.255.2" }.into(),
            dev: Some(format!("xvrf_{}", zone.id)),
            ipv6: v6,
        });
    }
}

/// Builds the controller part of `frr.conf` (before the local merge and fabrics).
pub fn build(cfg: &SdnConfig, facts: &NodeFacts, warnings: &mut Vec<String>) -> FrrConfig {
    let mut frr = FrrConfig {
        hostname: facts.name.clone(),
        ..FrrConfig::default()
    };
    for ctl in cfg.controllers_sorted() {
        let res = match ctl.controller_type {
            ControllerType::Evpn => evpn_controller(&mut frr, cfg, ctl, facts),
            ControllerType::Bgp => bgp_controller(&mut frr, ctl, facts),
            ControllerType::Isis => {
                isis_controller(&mut frr, ctl, facts);
                Ok(())
            }
            ControllerType::Other(_) => Ok(()),
        };
        if let Err(e) = res {
            warnings.push(format!("controller {}: {e}", ctl.id));
        }
    }
    for zone in cfg.zones_sorted() {
        let Some(ctl) = zone.controller.as_deref().and_then(|c| cfg.controller(c)) else {
            continue;
        };
        if ctl.controller_type != ControllerType::Evpn {
            continue;
        }
        if let Err(e) = evpn_zone(&mut frr, cfg, zone, ctl, facts) {
            warnings.push(format!("zone {}: {e}", zone.id));
        }
    }
    for vnet in cfg.vnets_sorted() {
        let Some(zone) = cfg.zone_of(vnet) else {
            continue;
        };
        if resolve::evpn_controller(cfg, zone).is_some() {
            local_routing_routes(&mut frr, cfg, zone, &vnet.id, &facts.name);
        }
    }
    frr
}
