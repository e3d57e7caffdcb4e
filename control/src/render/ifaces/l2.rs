//! VLAN and QinQ zones: VNets bridged onto an existing node bridge.
//!
//! The existing bridge is one of three kinds, each with its own plumbing:
//! a VLAN-aware Linux bridge (`<bridge>.<tag>` ports), a plain Linux bridge
//! (VLAN sub-interfaces of its physical ports), or an Open vSwitch bridge
//! (internal ports with `ovs_options`).

use crate::config::model::{Vnet, Zone};
use crate::node::{BridgeFacts, NodeFacts};
use crate::render::ifaces::IfaceConfig;

fn bridge_of<'a>(zone: &Zone, facts: &'a NodeFacts) -> Result<(&'a str, &'a BridgeFacts), String> {
    let name = zone.bridge.as_deref().ok_or("missing bridge")?;
    let (key, b) = facts
        .bridges
        .get_key_value(name)
        .ok_or_else(|| format!("can't find bridge {name}"))?;
    Ok((key.as_str(), b))
}

fn vnet_bridge(vnet: &Vnet, ports: &str, mtu: Option<u64>) -> Vec<String> {
    let mut l = vec![
        format!("bridge_ports {ports}"),
        "bridge_stp off".into(),
        "bridge_fd 0".into(),
    ];
    if vnet.vlanaware == Some(true) {
        l.push("bridge-vlan-aware yes".into());
        l.push("bridge-vids 2-4094".into());
    }
    if let Some(m) = mtu {
        l.push(format!("mtu {m}"));
    }
    if let Some(a) = &vnet.alias {
        l.push(format!("alias {a}"));
    }
    l
}

fn veth(peer: &str, mtu: Option<u64>) -> Vec<String> {
    let mut l = vec!["link-type veth".into(), format!("veth-peer-name {peer}")];
    if let Some(m) = mtu {
        l.push(format!("mtu {m}"));
    }
    l
}

/// A VNet of a VLAN zone.
pub(super) fn vlan(
    zone: &Zone,
    vnet: &Vnet,
    facts: &NodeFacts,
    ifaces: &mut IfaceConfig,
) -> Result<(), String> {
    let (bridge, b) = bridge_of(zone, facts)?;
    let tag = vnet.tag.ok_or("missing vlan tag")?;
    let mtu = zone.mtu;
    let id = &vnet.id;
    let mut uplink = format!("ln_{id}");
    let peer = format!("pr_{id}");
    if b.ovs {
        let mut l = vec![
            "ovs_type OVSIntPort".to_string(),
            format!("ovs_bridge {bridge}"),
        ];
        if let Some(m) = mtu {
            l.push(format!("ovs_mtu {m}"));
        }
        if vnet.vlanaware == Some(true) {
            l.push(format!(
                "ovs_options vlan_mode=dot1q-tunnel other_config:qinq-ethtype=802.1q tag={tag}"
            ));
        } else {
            l.push(format!("ovs_options tag={tag}"));
        }
        ifaces.add_new(&uplink, l);
        // ifupdown2 merges the ovs_ports of repeated bridge stanzas
        ifaces.append(bridge, vec![format!("ovs_ports {uplink}")]);
    } else if b.vlan_aware {
        uplink = format!("{bridge}.{tag}");
    } else {
        // classic vmbrXvY bridge kept for compatibility with existing networks
        let bridge_vlan = format!("{bridge}v{tag}");
        let ports: String = b.ports.iter().map(|p| format!(" {p}.{tag}")).collect();
        ifaces.add_new(&uplink, veth(&peer, mtu));
        ifaces.add_new(&peer, veth(&uplink, mtu));
        let mut l = vec![
            // the reference joins a leading-space port list: two spaces, kept on purpose
            format!("bridge_ports {ports} {peer}"),
            "bridge_stp off".into(),
            "bridge_fd 0".into(),
        ];
        if let Some(m) = mtu {
            l.push(format!("mtu {m}"));
        }
        ifaces.add_new(&bridge_vlan, l);
    }
    ifaces.add_new(id, vnet_bridge(vnet, &uplink, mtu));
    Ok(())
}

/// A VNet of a QinQ zone.
pub(super) fn qinq(
    zone: &Zone,
    vnet: &Vnet,
    facts: &NodeFacts,
    ifaces: &mut IfaceConfig,
) -> Result<(), String> {
    let (bridge, b) = bridge_of(zone, facts)?;
    let stag = zone.tag.map(|t| t.to_string()).unwrap_or_default();
    let mtu = zone.mtu;
    let zid = &zone.id;
    let notag_uplink = format!("ln_{zid}");
    let notag_peer = format!("pr_{zid}");
    let zone_bridge = format!("z_{zid}");
    let vnet_ports = match vnet.tag {
        Some(ctag) if ctag != 0 => format!("{zone_bridge}.{ctag}"),
        _ => notag_peer.clone(),
    };
    let protocol = zone.vlan_protocol.map(|p| p.as_str());
    let mut zone_ports = String::new();
    if b.ovs {
        let svlan = format!("sv_{zid}");
        let mut l = vec![
            "ovs_type OVSIntPort".to_string(),
            format!("ovs_bridge {bridge}"),
        ];
        if let Some(m) = mtu {
            l.push(format!("ovs_mtu {m}"));
        }
        l.push(format!(
            "ovs_options vlan_mode=dot1q-tunnel tag={stag} other_config:qinq-ethtype={}",
            protocol.unwrap_or("802.1q")
        ));
        ifaces.add_new(&svlan, l);
        let first = ifaces.first_line(bridge);
        if first.is_empty() {
            first.push_str("ovs_ports");
        }
        if !first.split(' ').any(|p| p == svlan) {
            first.push(' ');
            first.push_str(&svlan);
        }
        zone_ports = svlan;
    } else if b.vlan_aware {
        zone_ports = format!("{bridge}.{stag}");
        if let Some(p) = protocol {
            ifaces.add_new(bridge, vec![format!("bridge-vlan-protocol {p}")]);
            ifaces.add_new(&zone_ports, vec![format!("vlan-protocol {p}")]);
        }
    } else if let Some(port) = b.ports.first() {
        // a named VLAN device: <port>.<stag> could exceed the interface name limit
        let svlan = format!("sv_{zid}");
        let mut l = vec![format!("vlan-raw-device {port}"), format!("vlan-id {stag}")];
        if let Some(p) = protocol {
            l.push(format!("vlan-protocol {p}"));
        }
        ifaces.add_new(&svlan, l);
        zone_ports = svlan;
    }
    ifaces.add_new(&notag_uplink, veth(&notag_peer, None));
    ifaces.add_new(&notag_peer, veth(&notag_uplink, None));
    let mut l = Vec::new();
    if let Some(m) = mtu {
        l.push(format!("mtu {m}"));
    }
    l.push("bridge-stp off".into());
    l.push(format!("bridge-ports {zone_ports} {notag_uplink}"));
    l.push("bridge-fd 0".into());
    l.push("bridge-vlan-aware yes".into());
    l.push("bridge-vids 2-4094".into());
    ifaces.add_new(&zone_bridge, l);
    ifaces.add_new(&vnet.id, vnet_bridge(vnet, &vnet_ports, mtu));
    Ok(())
}
