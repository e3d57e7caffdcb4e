//! Simple, VXLAN and EVPN zones.
//!
//! Simple: an isolated bridge with the subnets' gateways (and SNAT).
//! VXLAN: a bridge over one VXLAN device with a static flood list.
//! EVPN: symmetric IRB, an anycast-gateway bridge per VNet over an L2VNI
//! device, and per zone a VRF with an L3VNI bridge and device.

use crate::compile::resolve::{self, LoopbackLookup, UNREACHABLE_DEFAULT_METRIC};
use crate::config::model::{SdnConfig, Subnet, Vnet, Zone};
use crate::node::NodeFacts;
use crate::render::ifaces::IfaceConfig;

/// What the subnets of a VNet contribute to its bridge stanza.
#[derive(Default)]
struct SubnetLines {
    lines: Vec<String>,
    forward_v4: bool,
    forward_v6: bool,
    any: bool,
}

/// Gateway addresses (deduplicated), `/32` routes and SNAT rules, in subnet id order.
fn subnet_lines(
    subnets: &[&Subnet],
    vnet: &str,
    facts: &NodeFacts,
    snat: bool,
    host_route: bool,
) -> SubnetLines {
    let mut out = SubnetLines::default();
    let mut seen = Vec::new();
    for s in subnets {
        let Some(cidr) = s.cidr else { continue };
        let mask = cidr.prefix_len();
        let v6 = cidr.addr().is_ipv6();
        out.any = true;
        if let Some(gw) = s.gateway {
            if !seen.contains(&gw) {
                out.lines.push(format!("address {gw}/{mask}"));
                seen.push(gw);
            }
            if v6 {
                out.forward_v6 = true;
            } else {
                out.forward_v4 = true;
            }
        }
        if host_route && !v6 && mask == 32 {
            // routed /32 ("hetzner") subnets: the gateway is outside, reach it over the bridge
            out.lines.push(format!("up ip route add {cidr} dev {vnet}"));
        }
        if snat
            && s.snat == Some(true)
            && let Some(out_route) = facts.egress(v6)
        {
            let t = if v6 { "ip6tables" } else { "iptables" };
            let (ip, dev) = (&out_route.ip, &out_route.iface);
            out.lines.push(format!(
                "post-up {t} -t nat -A POSTROUTING -s '{cidr}' -o {dev} -j SNAT --to-source {ip}"
            ));
            out.lines.push(format!(
                "post-down {t} -t nat -D POSTROUTING -s '{cidr}' -o {dev} -j SNAT --to-source {ip}"
            ));
            // conntrack zone for traffic from the firewall bridges
            out.lines.push(format!(
                "post-up {t} -t raw -I PREROUTING -i fwbr+ -j CT --zone 1"
            ));
            out.lines.push(format!(
                "post-down {t} -t raw -D PREROUTING -i fwbr+ -j CT --zone 1"
            ));
        }
    }
    out
}

/// A VNet of a simple zone.
pub(super) fn simple(
    cfg: &SdnConfig,
    zone: &Zone,
    vnet: &Vnet,
    facts: &NodeFacts,
    ifaces: &mut IfaceConfig,
) -> Result<(), String> {
    if ifaces.has(&vnet.id) {
        return Ok(());
    }
    let subnets = cfg.subnets_of(&vnet.id);
    let s = subnet_lines(&subnets, &vnet.id, facts, true, true);
    let mut l = s.lines;
    l.push("bridge_ports none".into());
    l.push("bridge_stp off".into());
    l.push("bridge_fd 0".into());
    if vnet.vlanaware == Some(true) {
        l.push("bridge-vlan-aware yes".into());
        l.push("bridge-vids 2-4094".into());
    }
    if let Some(m) = zone.mtu {
        l.push(format!("mtu {m}"));
    }
    if let Some(a) = &vnet.alias {
        l.push(format!("alias {a}"));
    }
    if s.forward_v4 {
        l.push("ip-forward on".into());
    }
    if s.forward_v6 {
        l.push("ip6-forward on".into());
    }
    ifaces.append(&vnet.id, l);
    Ok(())
}

/// A VNet of a VXLAN zone.
pub(super) fn vxlan(
    cfg: &SdnConfig,
    zone: &Zone,
    vnet: &Vnet,
    facts: &NodeFacts,
    ifaces: &mut IfaceConfig,
) -> Result<(), String> {
    let tag = vnet.tag.filter(|t| *t != 0).ok_or("missing vxlan tag")?;
    let underlay = resolve::vxlan_underlay(cfg, zone, facts)?;
    let mtu = resolve::vnet_mtu(zone);
    let dev = format!("vxlan_{}", vnet.id);
    let mut l = vec![format!("vxlan-id {tag}")];
    for p in underlay.remote_peers() {
        l.push(format!("vxlan_remoteip {p}"));
    }
    if let Some(p) = zone.vxlan_port {
        l.push(format!("vxlan-port {p}"));
    }
    if let Some(m) = mtu {
        l.push(format!("mtu {m}"));
    }
    ifaces.add_new(&dev, l);
    let mut b = vec![
        format!("bridge_ports {dev}"),
        "bridge_stp off".into(),
        "bridge_fd 0".into(),
    ];
    if vnet.vlanaware == Some(true) {
        b.push("bridge-vlan-aware yes".into());
        b.push("bridge-vids 2-4094".into());
    }
    if let Some(m) = mtu {
        b.push(format!("mtu {m}"));
    }
    if let Some(a) = &vnet.alias {
        b.push(format!("alias {a}"));
    }
    ifaces.add_new(&vnet.id, b);
    Ok(())
}

fn vxlan_device(
    vni: u64,
    local: Option<std::net::IpAddr>,
    zone: &Zone,
    mtu: Option<u64>,
) -> Vec<String> {
    let mut l = vec![format!("vxlan-id {vni}")];
    if let Some(ip) = local {
        l.push(format!("vxlan-local-tunnelip {ip}"));
    }
    if let Some(p) = zone.vxlan_port {
        l.push(format!("vxlan-port {p}"));
    }
    l.push("bridge-learning off".into());
    if zone.disable_arp_nd_suppression != Some(true) {
        l.push("bridge-arp-nd-suppress on".into());
    }
    if let Some(m) = mtu {
        l.push(format!("mtu {m}"));
    }
    l
}

/// A VNet of an EVPN zone.
pub(super) fn evpn(
    cfg: &SdnConfig,
    zone: &Zone,
    vnet: &Vnet,
    facts: &NodeFacts,
    ifaces: &mut IfaceConfig,
) -> Result<(), String> {
    let tag = vnet.tag.filter(|t| *t != 0).ok_or("missing vxlan tag")?;
    let controller = resolve::evpn_controller(cfg, zone).ok_or("missing controller")?;
    let underlay = resolve::evpn_underlay(cfg, controller, facts, LoopbackLookup::Zone)?;
    let local = underlay.local.as_ref().map(|(ip, _)| *ip);
    let exit = zone.is_exit_node(&facts.name);
    let mtu = resolve::vnet_mtu(zone);
    let vrf = format!("vrf_{}", zone.id);

    let dev = format!("vxlan_{}", vnet.id);
    ifaces.add_new(&dev, vxlan_device(tag, local, zone, mtu));

    let subnets = cfg.subnets_of(&vnet.id);
    let s = subnet_lines(&subnets, &vnet.id, facts, exit, false);
    let mut b = s.lines;
    if let Some(mac) = &zone.mac {
        b.push(format!("hwaddress {mac}"));
    }
    b.push(format!("bridge_ports {dev}"));
    b.push("bridge_stp off".into());
    b.push("bridge_fd 0".into());
    if let Some(m) = mtu {
        b.push(format!("mtu {m}"));
    }
    if let Some(a) = &vnet.alias {
        b.push(format!("alias {a}"));
    }
    if s.forward_v4 {
        b.push("ip-forward on".into());
    }
    if s.forward_v6 {
        b.push("ip6-forward on".into());
    }
    if s.any {
        b.push("arp-accept on".into());
    }
    b.push(format!("vrf {vrf}"));
    ifaces.add_new(&vnet.id, b);

    // the zone's VRF; non-exit nodes get an unreachable default so traffic
    // never falls through to the main table
    let verb = if exit { "del" } else { "add" };
    ifaces.add_new(
        &vrf,
        vec![
            "vrf-table auto".into(),
            format!("post-up ip route {verb} vrf {vrf} unreachable default metric {UNREACHABLE_DEFAULT_METRIC}"),
        ],
    );
    if let Some(l3vni) = zone.vrf_vxlan {
        let vx = format!("vrfvx_{}", zone.id);
        ifaces.add_new(&vx, vxlan_device(l3vni, local, zone, mtu));
        let mut br = vec![
            format!("bridge-ports {vx}"),
            "bridge_stp off".into(),
            "bridge_fd 0".into(),
        ];
        if let Some(m) = mtu {
            br.push(format!("mtu {m}"));
        }
        br.push(format!("vrf {vrf}"));
        ifaces.add_new(&format!("vrfbr_{}", zone.id), br);
    }
    if exit && zone.exitnodes_local_routing == Some(true) {
        // a veth pair between the main table and the VRF, to reach guests from the exit node
        let xvrf = format!("xvrf_{}", zone.id);
        let xvrfp = format!("xvrfp_{}", zone.id);
        let zone_has_v6 = cfg.subnets.iter().any(|s| {
            s.zone.as_deref() == Some(zone.id.as_str())
                && s.cidr.is_some_and(|c| c.addr().is_ipv6())
        });
        let veth_mtu = mtu.map(|m| format!("mtu {}", m + 50));
        let mut a = vec![
            "link-type veth".to_string(),
            "address 10.255.255.1/30".into(),
        ];
        if zone_has_v6 {
            a.push("address fe80::1/126".into());
        }
        a.push(format!("veth-peer-name {xvrfp}"));
        a.extend(veth_mtu.clone());
        ifaces.add_new(&xvrf, a);
        let mut p = vec![
            "link-type veth".to_string(),
            "address 10.255.255.2/30".into(),
        ];
        if zone_has_v6 {
            p.push("address fe80::2/126".into());
        }
        p.push(format!("veth-peer-name {xvrf}"));
        p.push(format!("vrf {vrf}"));
        p.extend(veth_mtu);
        ifaces.add_new(&xvrfp, p);
    }
    Ok(())
}
