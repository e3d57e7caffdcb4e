//! Turns a [`Topology`] into the ordered list of commands that build it.
//!
//! Pure: [`plan`] resolves defaults (bridges, port names, MTUs), checks that
//! every reference exists and that no interface name is used twice in one
//! namespace, and returns [`Step`]s; [`crate::World::up`] runs them. Every
//! interface is created directly inside its namespace (`ip -n`), never in
//! the caller's namespace.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, Result, bail};

use crate::addr::Cidr;
use crate::names::{WorldId, check_ifname};
use crate::topology::{GUEST_IF, GuestKind, LinkEnd, NODE_BRIDGE, SWITCH_BRIDGE, Topology, UPLINK};

/// Sysctls set in every namespace before any interface exists: IPv6 on,
/// and no duplicate address detection (addresses are usable at once).
pub const NS_SYSCTLS: &[(&str, &str)] = &[
    ("net.ipv6.conf.all.disable_ipv6", "0"),
    ("net.ipv6.conf.default.disable_ipv6", "0"),
    ("net.ipv6.conf.all.accept_dad", "0"),
    ("net.ipv6.conf.default.accept_dad", "0"),
];

/// One command of a plan; `ns` is always a real namespace name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `ip netns add <ns>`.
    AddNs(String),
    /// `ip netns exec <ns> sysctl -q -w k=v ...`.
    Sysctl {
        /// Namespace.
        ns: String,
        /// `key=value` pairs.
        settings: Vec<String>,
    },
    /// `ip -n <ns> <args...>`.
    Ip {
        /// Namespace.
        ns: String,
        /// Arguments after `ip -n <ns>`.
        args: Vec<String>,
    },
    /// `ip netns exec <ns> xsdn-testbed vmtap --port <port> --guest-tap
    /// <guest_tap> ...`, left running in the background (it stops by itself
    /// when its taps go away): the relay of a VM-like guest.
    VmTap {
        /// Namespace of the node.
        ns: String,
        /// The node's port (`tap<vmid>i0`).
        port: String,
        /// The tap that becomes the guest's `eth0`.
        guest_tap: String,
    },
    /// `ip netns exec <ns> ethtool -K <ifname> <features...>`.
    Ethtool {
        /// Namespace.
        ns: String,
        /// Interface.
        ifname: String,
        /// `feature on|off` pairs.
        features: Vec<String>,
    },
}

/// Where a guest is plugged in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GuestPort {
    /// Guest role.
    pub guest: String,
    /// Role of the node (or switch) holding the port.
    pub node: String,
    /// Port name inside the node, e.g. `tap101i0`.
    pub port: String,
    /// Bridge the port belongs to.
    pub bridge: String,
}

/// The resolved world: namespaces, guest ports and the build steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `(role, real namespace name)` in creation order.
    pub namespaces: Vec<(String, String)>,
    /// Node-side ports of the guests.
    pub ports: Vec<GuestPort>,
    /// Commands in order.
    pub steps: Vec<Step>,
}

/// Builds the plan of `topo` for world `id`. Assumes field syntax was
/// checked by [`Topology::validate`] (which calls this).
pub fn plan(topo: &Topology, id: &WorldId) -> Result<Plan> {
    let mut p = Planner {
        id,
        steps: Vec::new(),
        ifnames: HashMap::new(),
        bridges: HashMap::new(),
        late: Vec::new(),
    };
    let namespaces: Vec<(String, String)> = topo
        .roles()
        .into_iter()
        .map(|r| (r.to_string(), id.ns_name(r)))
        .collect();
    for (role, real) in &namespaces {
        p.steps.push(Step::AddNs(real.clone()));
        p.steps.push(Step::Sysctl {
            ns: real.clone(),
            settings: NS_SYSCTLS.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        });
        p.ip(role, &["link", "set", "lo", "up"]);
        p.ifnames
            .insert(role.clone(), HashSet::from(["lo".to_string()]));
    }

    if let Some(sw) = &topo.switch {
        p.bridge(sw, SWITCH_BRIDGE, None, true)?;
        p.up(sw, SWITCH_BRIDGE);
    }
    for node in &topo.nodes {
        let n = node.name.as_str();
        p.bridge(n, NODE_BRIDGE, node.mtu, false)?;
        for b in &node.bridges {
            p.bridge(n, &b.name, b.mtu, false)
                .with_context(|| format!("node {n:?}"))?;
        }
        let uplink = node.uplink.unwrap_or(topo.switch.is_some());
        if uplink {
            let Some(sw) = &topo.switch else {
                bail!("node {n:?} wants an uplink but the topology has no switch");
            };
            check_ifname(n).with_context(|| {
                format!("node {n:?} names its switch port, so it must be a valid interface name")
            })?;
            p.veth(n, UPLINK, sw, n, node.mtu)?;
            // This link stands for a cable: VLAN tags travel in the frame.
            p.tags_in_band(n, UPLINK);
            p.tags_in_band(sw, n);
            p.finished_on_the_wire(sw, n);
            p.gro_like_a_nic(n, UPLINK);
            p.enslave(n, UPLINK, NODE_BRIDGE)?;
            p.enslave(sw, n, SWITCH_BRIDGE)?;
        }
        if let Some(a) = &node.address {
            p.addr(n, NODE_BRIDGE, a)?;
        }
        p.up(n, NODE_BRIDGE);
        for b in &node.bridges {
            if let Some(a) = &b.address {
                p.addr(n, &b.name, a)?;
            }
            p.up(n, &b.name);
        }
        if let Some(gw) = &node.gateway {
            p.late_ip(
                n,
                &["route", "add", "default", "via", gw, "dev", NODE_BRIDGE],
            );
        }
    }

    let mut ports = Vec::new();
    for (i, g) in topo.guests.iter().enumerate() {
        let host = g.node.as_str();
        let is_switch = topo.switch.as_deref() == Some(host);
        if !is_switch && topo.find_node(host).is_none() {
            bail!("guest {:?}: no node or switch named {host:?}", g.name);
        }
        let default_bridge = if is_switch {
            SWITCH_BRIDGE
        } else {
            NODE_BRIDGE
        };
        let bridge = g.bridge.as_deref().unwrap_or(default_bridge);
        let vmid = g.vmid.unwrap_or(101 + i as u32);
        let port = g.port.clone().unwrap_or_else(|| g.kind.port_name(vmid));
        check_ifname(&port).with_context(|| format!("guest {:?} port", g.name))?;
        match g.kind {
            GuestKind::Container => p.veth(host, &port, &g.name, GUEST_IF, g.mtu),
            GuestKind::Vm => p.vm_tap(host, &port, &g.name, i, g.mtu),
        }
        .with_context(|| format!("guest {:?}", g.name))?;
        p.enslave(host, &port, bridge)
            .with_context(|| format!("guest {:?}", g.name))?;
        if let Some(mac) = &g.mac {
            p.ip(&g.name, &["link", "set", GUEST_IF, "address", mac]);
        }
        if let Some(a) = &g.address {
            p.addr(&g.name, GUEST_IF, a)?;
        }
        p.up(&g.name, GUEST_IF);
        if let Some(gw) = &g.gateway {
            p.late_ip(
                &g.name,
                &["route", "add", "default", "via", gw, "dev", GUEST_IF],
            );
        }
        ports.push(GuestPort {
            guest: g.name.clone(),
            node: host.to_string(),
            port,
            bridge: bridge.to_string(),
        });
    }

    for l in &topo.links {
        for end in [&l.a, &l.b] {
            if !namespaces.iter().any(|(r, _)| *r == end.ns) {
                bail!(
                    "link end {}:{}: no namespace named {:?}",
                    end.ns,
                    end.ifname,
                    end.ns
                );
            }
        }
        p.veth(&l.a.ns, &l.a.ifname, &l.b.ns, &l.b.ifname, l.mtu)?;
        for end in [&l.a, &l.b] {
            p.link_end(end)?;
        }
    }

    let late = std::mem::take(&mut p.late);
    p.steps.extend(late);
    Ok(Plan {
        namespaces,
        ports,
        steps: p.steps,
    })
}

struct Planner<'a> {
    id: &'a WorldId,
    steps: Vec<Step>,
    /// Interface names per role.
    ifnames: HashMap<String, HashSet<String>>,
    /// Bridges per role.
    bridges: HashMap<String, HashSet<String>>,
    /// Steps run after everything else (routes need their links up).
    late: Vec<Step>,
}

impl Planner<'_> {
    fn step(&self, role: &str, args: &[&str]) -> Step {
        Step::Ip {
            ns: self.id.ns_name(role),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn ip(&mut self, role: &str, args: &[&str]) {
        let s = self.step(role, args);
        self.steps.push(s);
    }

    fn late_ip(&mut self, role: &str, args: &[&str]) {
        let s = self.step(role, args);
        self.late.push(s);
    }

    fn claim(&mut self, role: &str, ifname: &str) -> Result<()> {
        check_ifname(ifname)?;
        let set = self.ifnames.entry(role.to_string()).or_default();
        if !set.insert(ifname.to_string()) {
            bail!("interface {ifname:?} is created twice in {role:?}");
        }
        Ok(())
    }

    fn bridge(&mut self, role: &str, name: &str, mtu: Option<u32>, plain: bool) -> Result<()> {
        self.claim(role, name)?;
        self.bridges
            .entry(role.to_string())
            .or_default()
            .insert(name.to_string());
        let mtu = mtu.map(|m| m.to_string());
        let mut args = vec!["link", "add", name];
        if let Some(m) = &mtu {
            args.extend(["mtu", m]);
        }
        args.extend(["type", "bridge", "stp_state", "0", "forward_delay", "0"]);
        if plain {
            // The underlay switch floods multicast like a dumb switch.
            args.extend(["mcast_snooping", "0"]);
        }
        self.ip(role, &args);
        Ok(())
    }

    fn veth(&mut self, a: &str, a_if: &str, b: &str, b_if: &str, mtu: Option<u32>) -> Result<()> {
        self.claim(a, a_if)?;
        self.claim(b, b_if)?;
        let b_ns = self.id.ns_name(b);
        let mtu = mtu.map(|m| m.to_string());
        let mut args = vec!["link", "add", a_if];
        if let Some(m) = &mtu {
            args.extend(["mtu", m]);
        }
        args.extend(["type", "veth", "peer", "name", b_if]);
        if let Some(m) = &mtu {
            args.extend(["mtu", m]);
        }
        args.extend(["netns", &b_ns]);
        self.ip(a, &args);
        Ok(())
    }

    /// A VM-like port: the relay ([`crate::vmtap`]) opens tap `port` and a
    /// second tap in `host`, which then moves into guest `guest` (guest
    /// number `index`) as `eth0`.
    fn vm_tap(
        &mut self,
        host: &str,
        port: &str,
        guest: &str,
        index: usize,
        mtu: Option<u32>,
    ) -> Result<()> {
        self.claim(host, port)?;
        self.claim(guest, GUEST_IF)?;
        let peer = format!("xsdnvm{index}");
        self.claim(host, &peer)?;
        self.steps.push(Step::VmTap {
            ns: self.id.ns_name(host),
            port: port.to_owned(),
            guest_tap: peer.clone(),
        });
        let guest_ns = self.id.ns_name(guest);
        self.ip(host, &["link", "set", &peer, "netns", &guest_ns]);
        let mut args = vec!["link", "set", peer.as_str(), "name", GUEST_IF];
        let mtu = mtu.map(|m| m.to_string());
        if let Some(m) = &mtu {
            args.extend(["mtu", m.as_str()]);
            self.ip(host, &["link", "set", port, "mtu", m]);
        }
        self.ip(guest, &args);
        Ok(())
    }

    /// Turns VLAN TX offload off on `ifname`, so tags are written into the
    /// frame as on a physical wire. With it on (veth's default), a tag that
    /// a kernel bridge forwards stays in skb metadata across the veth, and
    /// the XDP program at the other end sees an untagged frame, which no
    /// real cable can produce.
    fn tags_in_band(&mut self, role: &str, ifname: &str) {
        let ns = self.id.ns_name(role);
        self.steps.push(Step::Ethtool {
            ns,
            ifname: ifname.to_owned(),
            features: ["txvlan", "off", "tx-vlan-stag-hw-insert", "off"]
                .map(String::from)
                .to_vec(),
        });
    }

    /// Turns checksum (and with it segmentation) offload off on the
    /// switch's end of a cable, so every frame the switch sends to a node
    /// is finished: a partial checksum or GSO super-frame a node hands its
    /// uplink is completed and segmented here, as a NIC does in hardware
    /// before the wire. Over a veth both would otherwise travel as skb
    /// metadata, which the receiving node's XDP program cannot see.
    fn finished_on_the_wire(&mut self, role: &str, ifname: &str) {
        let ns = self.id.ns_name(role);
        self.steps.push(Step::Ethtool {
            ns,
            ifname: ifname.to_owned(),
            features: ["tx", "off"].map(String::from).to_vec(),
        });
    }

    /// Turns GRO on on a node's uplink, as a NIC has it by default: the
    /// segments of a TCP stream arriving from the wire are merged before
    /// the bridge, a VXLAN device or the dataplane's tc program hands them
    /// on (a veth has GRO off by default; on, it also gets NAPI).
    fn gro_like_a_nic(&mut self, role: &str, ifname: &str) {
        let ns = self.id.ns_name(role);
        self.steps.push(Step::Ethtool {
            ns,
            ifname: ifname.to_owned(),
            features: ["gro", "on"].map(String::from).to_vec(),
        });
    }

    fn enslave(&mut self, role: &str, ifname: &str, bridge: &str) -> Result<()> {
        if !self.bridges.get(role).is_some_and(|b| b.contains(bridge)) {
            bail!("{role:?} has no bridge named {bridge:?}");
        }
        self.ip(role, &["link", "set", ifname, "master", bridge, "up"]);
        Ok(())
    }

    fn addr(&mut self, role: &str, ifname: &str, cidr: &str) -> Result<()> {
        let c: Cidr = cidr.parse()?;
        let c = c.to_string();
        let mut args = vec!["addr", "add", c.as_str(), "dev", ifname];
        if cidr.contains(':') {
            args.push("nodad");
        }
        self.ip(role, &args);
        Ok(())
    }

    fn up(&mut self, role: &str, ifname: &str) {
        self.ip(role, &["link", "set", ifname, "up"]);
    }

    fn link_end(&mut self, end: &LinkEnd) -> Result<()> {
        if let Some(b) = &end.bridge {
            self.enslave(&end.ns, &end.ifname, b)
                .with_context(|| format!("link end {}:{}", end.ns, end.ifname))?;
        }
        if let Some(a) = &end.address {
            self.addr(&end.ns, &end.ifname, a)?;
        }
        self.up(&end.ns, &end.ifname);
        Ok(())
    }
}

impl Step {
    /// The full command line, for messages and dry runs.
    pub fn command_line(&self) -> Vec<String> {
        let mut v: Vec<String> = vec!["ip".into()];
        match self {
            Step::AddNs(ns) => v.extend(["netns".into(), "add".into(), ns.clone()]),
            Step::Sysctl { ns, settings } => {
                v.extend(["netns", "exec", ns, "sysctl", "-q", "-w"].map(String::from));
                v.extend(settings.iter().cloned());
            }
            Step::Ip { ns, args } => {
                v.extend(["-n".into(), ns.clone()]);
                v.extend(args.iter().cloned());
            }
            Step::VmTap {
                ns,
                port,
                guest_tap,
            } => {
                v.extend(["netns", "exec", ns].map(String::from));
                v.extend(
                    [
                        "xsdn-testbed",
                        "vmtap",
                        "--port",
                        port,
                        "--guest-tap",
                        guest_tap,
                    ]
                    .map(String::from),
                );
            }
            Step::Ethtool {
                ns,
                ifname,
                features,
            } => {
                v.extend(["netns", "exec", ns, "ethtool", "-K", ifname].map(String::from));
                v.extend(features.iter().cloned());
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{GuestSpec, LinkSpec, NodeSpec};

    fn lines(p: &Plan) -> Vec<String> {
        p.steps.iter().map(|s| s.command_line().join(" ")).collect()
    }

    #[test]
    fn node_with_uplink_and_guest() {
        let t = Topology::new()
            .with_switch()
            .node(
                NodeSpec::new("node1")
                    .address("192.168.0.1/24")
                    .gateway("192.168.0.254")
                    .mtu(1500)
                    .bridge("myvnet1"),
            )
            .guest(
                GuestSpec::new("vm1", "node1", "myvnet1")
                    .address("10.0.3.100/24")
                    .mtu(1450),
            );
        let id = WorldId::Auto { pid: 7, seq: 1 };
        let p = plan(&t, &id).unwrap();
        assert_eq!(
            p.namespaces,
            [
                ("switch".into(), "xsdnt-7-1-switch".into()),
                ("node1".into(), "xsdnt-7-1-node1".into()),
                ("vm1".into(), "xsdnt-7-1-vm1".into())
            ]
        );
        assert_eq!(
            p.ports,
            [GuestPort {
                guest: "vm1".into(),
                node: "node1".into(),
                port: "tap101i0".into(),
                bridge: "myvnet1".into()
            }]
        );
        let l = lines(&p);
        for want in [
            "ip netns add xsdnt-7-1-node1",
            "ip -n xsdnt-7-1-node1 link add eno1 mtu 1500 type veth peer name node1 mtu 1500 netns xsdnt-7-1-switch",
            "ip -n xsdnt-7-1-switch link set node1 master br0 up",
            "ip -n xsdnt-7-1-node1 link set eno1 master vmbr0 up",
            "ip -n xsdnt-7-1-node1 addr add 192.168.0.1/24 dev vmbr0",
            "ip netns exec xsdnt-7-1-node1 xsdn-testbed vmtap --port tap101i0 --guest-tap xsdnvm0",
            "ip -n xsdnt-7-1-node1 link set xsdnvm0 netns xsdnt-7-1-vm1",
            "ip -n xsdnt-7-1-node1 link set tap101i0 mtu 1450",
            "ip -n xsdnt-7-1-vm1 link set xsdnvm0 name eth0 mtu 1450",
            "ip -n xsdnt-7-1-node1 link set tap101i0 master myvnet1 up",
            "ip -n xsdnt-7-1-vm1 addr add 10.0.3.100/24 dev eth0",
        ] {
            assert!(l.iter().any(|x| x == want), "missing {want}\n{l:#?}");
        }
        // The default route comes last, after every link is up.
        assert_eq!(
            l.last().map(String::as_str),
            Some("ip -n xsdnt-7-1-node1 route add default via 192.168.0.254 dev vmbr0")
        );
    }

    #[test]
    fn a_container_is_a_veth_named_as_proxmox_names_it() {
        let t = Topology::new()
            .node(NodeSpec::new("node1").bridge("vnet0"))
            .guest(GuestSpec::new("ct1", "node1", "vnet0").container());
        let p = plan(&t, &WorldId::Auto { pid: 7, seq: 1 }).unwrap();
        assert_eq!(p.ports[0].port, "veth101i0");
        let l = lines(&p);
        let want =
            "ip -n xsdnt-7-1-node1 link add veth101i0 type veth peer name eth0 netns xsdnt-7-1-ct1";
        assert!(l.iter().any(|x| x == want), "missing {want}\n{l:#?}");
        assert!(!l.iter().any(|x| x.contains("vmtap")), "{l:#?}");
    }

    #[test]
    fn ipv6_addresses_skip_dad() {
        let t = Topology::new().node(NodeSpec::new("n").address("fd00::1/64"));
        let l = lines(&plan(&t, &WorldId::Auto { pid: 1, seq: 1 }).unwrap());
        assert!(
            l.iter()
                .any(|x| x.ends_with("addr add fd00::1/64 dev vmbr0 nodad"))
        );
    }

    #[test]
    fn clashes_are_refused() {
        let t = Topology::new()
            .node(NodeSpec::new("n").bridge("b"))
            .guest(GuestSpec::new("g1", "n", "b").vmid(5))
            .guest(GuestSpec::new("g2", "n", "b").vmid(5));
        assert!(t.validate().is_err());
        let t = Topology::new().node(NodeSpec::new("n").bridge("vmbr0"));
        assert!(t.validate().is_err());
        let t = Topology::new()
            .node(NodeSpec::new("n"))
            .guest(GuestSpec::new("g", "n", "vmbr0").port("vmbr0"));
        assert!(t.validate().is_err());
        let t = Topology::new()
            .with_switch()
            .node(NodeSpec::new("a-very-long-node-name"));
        assert!(t.validate().is_err());
        let t = Topology::new()
            .node(NodeSpec::new("n"))
            .guest(GuestSpec::new("g", "n", "vmbr0"))
            .link(LinkSpec::new(
                LinkEnd::new("g", "x"),
                LinkEnd::new("n", "y").bridge("nope"),
            ));
        assert!(t.validate().is_err());
    }

    #[test]
    fn guests_on_the_switch_and_links() {
        let t = Topology::new()
            .with_switch()
            .node(NodeSpec::new("n").no_uplink())
            .guest(GuestSpec {
                bridge: None,
                ..GuestSpec::new("gw", "switch", "")
            })
            .link(
                LinkSpec::new(
                    LinkEnd::new("n", "eth1").address("10.9.0.1/30"),
                    LinkEnd::new("switch", "n2").bridge("br0"),
                )
                .mtu(9000),
            );
        let p = plan(&t, &WorldId::manual("demo").unwrap()).unwrap();
        assert_eq!(p.ports[0].bridge, "br0");
        let l = lines(&p);
        assert!(!l.iter().any(|x| x.contains("eno1")));
        assert!(l.contains(&"ip -n xsdnt-m-demo-switch link set n2 master br0 up".to_string()));
        assert!(l.contains(&"ip -n xsdnt-m-demo-n addr add 10.9.0.1/30 dev eth1".to_string()));
    }
}
