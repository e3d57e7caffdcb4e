//! Builder and validation tests.

use super::*;
use crate::pipeline::testing::{slot, vid, vni};
use crate::wire::build::mac;

fn uplinked() -> ForwardingTables {
    let mut t = ForwardingTables::new();
    t.set_uplink(slot(0), "eno1", mac(0xe0), 1500).unwrap();
    t
}

#[test]
fn builder_produces_valid_tables() {
    let mut t = uplinked();
    let v = t
        .add_bd(BridgeDomain::new("v10", "z", BdEncap::Vlan { vid: vid(10) }).with_uplink(slot(0)))
        .unwrap();
    let q = BdEncap::QinQ {
        s_tpid: Tpid::Dot1ad,
        s_vid: vid(20),
        c_vid: Some(vid(100)),
    };
    let q = t
        .add_bd(BridgeDomain::new("q", "zq", q).with_uplink(slot(0)))
        .unwrap();
    let x = BdEncap::Vxlan {
        vni: vni(100_000),
        udp_port: 4789,
    };
    t.local_vtep_ips.push("192.168.0.1".parse().unwrap());
    let x = t.add_bd(BridgeDomain::new("x", "zx", x)).unwrap();
    assert_eq!(t.add_peer(x, "192.168.0.1".parse().unwrap()), Ok(None));
    let peer = t.add_peer(x, "192.168.0.2".parse().unwrap()).unwrap();
    assert_eq!(peer, Some(0));
    t.add_guest_port(slot(1), "tap1", mac(1), 1500, v).unwrap();
    t.add_guest_port(slot(2), "tap2", mac(2), 1500, q).unwrap();
    t.validate().unwrap();
    assert_eq!(t.vxlan_udp_ports().collect::<Vec<_>>(), [4789]);
}

#[test]
fn conflicts_and_bounds_are_rejected() {
    let mut t = uplinked();
    let vlan = |v| BridgeDomain::new("a", "z", BdEncap::Vlan { vid: vid(v) }).with_uplink(slot(0));
    t.add_bd(vlan(10)).unwrap();
    assert!(matches!(
        t.add_bd(vlan(10)),
        Err(TablesError::Conflict { .. })
    ));
    // VLAN ids 0 and 4095 cannot even be expressed.
    assert_eq!(Vid::new(0), None);
    assert_eq!(Vid::new(4095), None);
    // A QinQ zone with an 802.1Q service tag cannot reuse a VLAN zone's
    // VID on the same uplink.
    let qinq = BdEncap::QinQ {
        s_tpid: Tpid::Dot1q,
        s_vid: vid(10),
        c_vid: None,
    };
    assert!(matches!(
        t.add_bd(BridgeDomain::new("q", "z", qinq).with_uplink(slot(0))),
        Err(TablesError::Conflict { .. })
    ));
    assert!(matches!(
        t.add_bd(BridgeDomain::new("l", "z", BdEncap::Vlan { vid: vid(5) })),
        Err(TablesError::BadEncap { .. })
    ));
    // Nor can a port slot beyond the bound.
    assert_eq!(PortSlot::new(MAX_PORTS), None);
    assert_eq!(
        t.set_uplink(slot(0), "x", mac(1), 1500),
        Err(TablesError::PortInUse { port: slot(0) })
    );
    assert!(matches!(
        t.add_guest_port(slot(3), "tap", mac(3), 1500, 7),
        Err(TablesError::UnknownBd { .. })
    ));
}

#[test]
fn validate_catches_hand_built_mistakes() {
    let mut t = uplinked();
    let bd = t
        .add_bd(BridgeDomain::new("s", "z", BdEncap::Local))
        .unwrap();
    t.add_guest_port(slot(1), "tap", mac(1), 1500, bd).unwrap();
    t.validate().unwrap();
    let mut broken = t.clone();
    broken.bds[0].guest_ports.push(slot(0)); // the uplink is not a guest
    assert!(broken.validate().is_err());
    let mut broken = t.clone();
    broken.ports[1].role = PortRole::Guest { bd: 9 };
    assert!(broken.validate().is_err());
    let mut broken = t.clone();
    broken.vlan_bindings.insert(
        VlanKey {
            port: slot(0),
            tpid: Tpid::Dot1q,
            vid: vid(3),
        },
        VlanBinding::Bd(0),
    );
    assert!(broken.validate().is_err());
}

#[test]
fn next_hops_must_match_the_peer_family() {
    let mut t = uplinked();
    let v = t.add_vtep("2001:db8::2".parse().unwrap()).unwrap();
    let nh = NextHop {
        port: slot(0),
        dst_mac: mac(9),
        src_mac: mac(0xe0),
        src_ip: "192.168.0.1".parse().unwrap(),
    };
    assert!(matches!(
        t.set_next_hop(v, Some(nh)),
        Err(TablesError::BadNextHop { .. })
    ));
    let nh = NextHop {
        src_ip: "2001:db8::1".parse().unwrap(),
        ..nh
    };
    t.set_next_hop(v, Some(nh)).unwrap();
    let nh = NextHop {
        port: slot(5),
        ..nh
    };
    assert!(t.set_next_hop(v, Some(nh)).is_err());
}
