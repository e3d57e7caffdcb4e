//! Ready-made topologies: the Proxmox SDN spec's examples with their exact
//! names and addresses (`spec/000_*.txt`, "Examples"), and two small ones.
//! Each has a TOML twin in `tests/topologies/<name>.toml` for the by-hand
//! tool; a unit test keeps them identical.
//!
//! Differences from the spec, forced by this kernel or by the sandbox:
//! - VLAN/QinQ: the spec puts the nodes' management address on
//!   `vmbr0.100`; this kernel has no 802.1Q devices, so it is left out
//!   (`vmbr0` has no address, as in the spec).
//! - VXLAN/EVPN: the nodes keep the spec's default route via
//!   192.168.0.254, which does not exist: the world is sealed, so such
//!   packets die unanswered at the underlay switch.
//! - Bridges are plain kernel bridges (no VLAN filtering here); guests get
//!   fixed MACs `52:54:00:00:00:<n>` so tests can assert on them.

use crate::topology::{BridgeSpec, GuestSpec, NodeSpec, Topology};

/// Names accepted by [`by_name`].
pub const NAMES: &[&str] = &[
    "vlan",
    "qinq",
    "vxlan",
    "evpn",
    "simple",
    "two_guests_one_node",
];

/// Looks an example up by name.
pub fn by_name(name: &str) -> Option<Topology> {
    Some(match name {
        "vlan" => vlan(),
        "qinq" => qinq(),
        "vxlan" => vxlan(),
        "evpn" => evpn(),
        "simple" => simple(),
        "two_guests_one_node" => two_guests_one_node(),
        _ => return None,
    })
}

fn vm(name: &str, node: &str, bridge: &str, addr: &str, n: u8) -> GuestSpec {
    GuestSpec::new(name, node, bridge)
        .address(addr)
        .mac(&format!("52:54:00:00:00:{n:02x}"))
}

/// VLAN zone `myvlanzone` on `vmbr0`, VNet `myvnet1` tag 10: switch,
/// node1 and node2 (`eno1` in `vmbr0`, bridge `myvnet1`), vm1
/// 10.0.3.100/24 on node1, vm2 10.0.3.101/24 on node2.
pub fn vlan() -> Topology {
    Topology::new()
        .with_switch()
        .node(NodeSpec::new("node1").bridge("myvnet1"))
        .node(NodeSpec::new("node2").bridge("myvnet1"))
        .guest(vm("vm1", "node1", "myvnet1", "10.0.3.100/24", 1))
        .guest(vm("vm2", "node2", "myvnet1", "10.0.3.101/24", 2))
}

/// QinQ zones `qinqzone1` (service VLAN 20) and `qinqzone2` (30), VNets
/// `myvnet1`/`myvnet2` with customer VLAN 100: vm1 .100 and vm3 .102 on
/// node1, vm2 .101 and vm4 .103 on node2 (10.0.3.x/24); vm1/vm2 on
/// `myvnet1`, vm3/vm4 on `myvnet2`.
pub fn qinq() -> Topology {
    Topology::new()
        .with_switch()
        .node(NodeSpec::new("node1").bridge("myvnet1").bridge("myvnet2"))
        .node(NodeSpec::new("node2").bridge("myvnet1").bridge("myvnet2"))
        .guest(vm("vm1", "node1", "myvnet1", "10.0.3.100/24", 1))
        .guest(vm("vm2", "node2", "myvnet1", "10.0.3.101/24", 2))
        .guest(vm("vm3", "node1", "myvnet2", "10.0.3.102/24", 3))
        .guest(vm("vm4", "node2", "myvnet2", "10.0.3.103/24", 4))
}

fn underlay_node(name: &str, ip: &str, bridges: &[&str]) -> NodeSpec {
    bridges.iter().fold(
        NodeSpec::new(name)
            .address(ip)
            .gateway("192.168.0.254")
            .mtu(1500),
        |n, b| n.bridge_spec(BridgeSpec::new(b).mtu(1450)),
    )
}

/// VXLAN zone `myvxlanzone` (peers 192.168.0.1-3, MTU 1450), VNet
/// `myvnet1` tag 100000: node1..node3 with `vmbr0` 192.168.0.1-3/24,
/// vm1 10.0.3.100/24 on node1, vm2 10.0.3.101/24 on node3, MTU 1450.
pub fn vxlan() -> Topology {
    Topology::new()
        .with_switch()
        .node(underlay_node("node1", "192.168.0.1/24", &["myvnet1"]))
        .node(underlay_node("node2", "192.168.0.2/24", &["myvnet1"]))
        .node(underlay_node("node3", "192.168.0.3/24", &["myvnet1"]))
        .guest(vm("vm1", "node1", "myvnet1", "10.0.3.100/24", 1).mtu(1450))
        .guest(vm("vm2", "node3", "myvnet1", "10.0.3.101/24", 2).mtu(1450))
}

/// EVPN zone `myevpnzone` (controller `myevpnctl`, ASN 65000), VNets
/// `myvnet1` (10.0.1.0/24, gateway 10.0.1.1) and `myvnet2` (10.0.2.0/24,
/// gateway 10.0.2.1): node1..node3 as in [`vxlan`], vm1 10.0.1.100/24 on
/// node1/myvnet1, vm2 10.0.2.100/24 on node2/myvnet2, MTU 1450. The
/// anycast gateway addresses are the product's job, not the world's.
pub fn evpn() -> Topology {
    let vnets = ["myvnet1", "myvnet2"];
    Topology::new()
        .with_switch()
        .node(underlay_node("node1", "192.168.0.1/24", &vnets))
        .node(underlay_node("node2", "192.168.0.2/24", &vnets))
        .node(underlay_node("node3", "192.168.0.3/24", &vnets))
        .guest(
            vm("vm1", "node1", "myvnet1", "10.0.1.100/24", 1)
                .gateway("10.0.1.1")
                .mtu(1450),
        )
        .guest(
            vm("vm2", "node2", "myvnet2", "10.0.2.100/24", 2)
                .gateway("10.0.2.1")
                .mtu(1450),
        )
}

/// A simple zone: one node with VNet bridge `vnet0` and two guests,
/// vm1 10.0.0.2/24 and vm2 10.0.0.3/24. No switch.
pub fn simple() -> Topology {
    Topology::new()
        .node(NodeSpec::new("node1").bridge("vnet0"))
        .guest(vm("vm1", "node1", "vnet0", "10.0.0.2/24", 1))
        .guest(vm("vm2", "node1", "vnet0", "10.0.0.3/24", 2))
}

/// Containers `a` (10.0.0.1/24) and `b` (10.0.0.2/24), veth ports
/// `veth101i0`/`veth102i0`, plugged into the kernel bridge `br0` of one
/// node (`node1`). No switch.
pub fn two_guests_one_node() -> Topology {
    Topology::new()
        .node(NodeSpec::new("node1").bridge("br0"))
        .guest(vm("a", "node1", "br0", "10.0.0.1/24", 1).container())
        .guest(vm("b", "node1", "br0", "10.0.0.2/24", 2).container())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toml_twin(name: &str) -> &'static str {
        match name {
            "vlan" => include_str!("../topologies/vlan.toml"),
            "qinq" => include_str!("../topologies/qinq.toml"),
            "vxlan" => include_str!("../topologies/vxlan.toml"),
            "evpn" => include_str!("../topologies/evpn.toml"),
            "simple" => include_str!("../topologies/simple.toml"),
            "two_guests_one_node" => include_str!("../topologies/two_guests_one_node.toml"),
            other => panic!("no TOML twin for {other}"),
        }
    }

    #[test]
    fn examples_validate_and_match_their_toml() {
        for name in NAMES {
            let t = by_name(name).unwrap();
            t.validate().unwrap_or_else(|e| panic!("{name}: {e:#}"));
            let from_file = Topology::from_toml(toml_twin(name))
                .unwrap_or_else(|e| panic!("{name}.toml: {e:#}"));
            assert_eq!(
                from_file, t,
                "topologies/{name}.toml differs from examples::{name}()"
            );
        }
        assert!(by_name("nope").is_none());
    }

    #[test]
    fn spec_names_and_addresses() {
        let v = vxlan();
        assert_eq!(
            v.roles(),
            ["switch", "node1", "node2", "node3", "vm1", "vm2"]
        );
        assert_eq!(v.nodes[2].address.as_deref(), Some("192.168.0.3/24"));
        assert_eq!(v.guests[1].node, "node3");
        assert_eq!(v.guests[1].mtu, Some(1450));
        let q = qinq();
        assert_eq!(q.guests[3].address.as_deref(), Some("10.0.3.103/24"));
        assert_eq!(q.guests[3].bridge.as_deref(), Some("myvnet2"));
        assert!(vlan().nodes.iter().all(|n| n.address.is_none()));
    }
}
