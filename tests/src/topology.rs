//! Declarative topologies: what a test world is made of.
//!
//! A [`Topology`] lists an optional underlay switch, nodes, guests and extra
//! veth links. It is plain data: loadable from TOML (for the by-hand tool,
//! see `tests/topologies/*.toml`) and constructible in code with the small
//! builder methods below. Nothing here touches the system;
//! [`Topology::validate`] checks everything [`crate::World::up`] relies on.
//!
//! ```toml
//! switch = true                 # or a name: switch = "underlay"
//! [[nodes]]
//! name = "node1"
//! address = "192.168.0.1/24"    # on vmbr0, optional
//! gateway = "192.168.0.254"     # default route via vmbr0, optional
//! mtu = 1500
//! bridges = ["myvnet1"]         # or [{ name = "myvnet1", mtu = 1450, address = "10.0.3.1/24" }]
//! [[guests]]
//! name = "vm1"
//! node = "node1"
//! bridge = "myvnet1"            # default: vmbr0 (br0 when plugged into the switch)
//! address = "10.0.3.100/24"
//! mtu = 1450
//! [[links]]
//! a = { ns = "node1", ifname = "eth1", address = "10.9.0.1/30" }
//! b = { ns = "node2", ifname = "eth1", address = "10.9.0.2/30" }
//! ```

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::addr::{Cidr, parse_ip, parse_mac};
use crate::names::{WorldId, check_ifname, check_role};

/// Role name used for the switch when the topology says `switch = true`.
pub const DEFAULT_SWITCH: &str = "switch";
/// The bridge inside the switch namespace.
pub const SWITCH_BRIDGE: &str = "br0";
/// A node's main bridge (as on Proxmox).
pub const NODE_BRIDGE: &str = "vmbr0";
/// A node's uplink NIC, enslaved to `vmbr0`.
pub const UPLINK: &str = "eno1";
/// A guest's NIC.
pub const GUEST_IF: &str = "eth0";

/// A whole test world.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Role name of the underlay switch namespace, if any (TOML: `true` or
    /// a name).
    #[serde(
        default,
        with = "switch_field",
        skip_serializing_if = "Option::is_none"
    )]
    pub switch: Option<String>,
    /// Hypervisor nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeSpec>,
    /// Guests (VMs/containers), each plugged into a bridge of a node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guests: Vec<GuestSpec>,
    /// Extra veth pairs between any two namespaces of the world.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkSpec>,
}

/// A hypervisor node: a namespace with `vmbr0`, an uplink `eno1` to the
/// switch (when there is one) and extra bridges such as VNet bridges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Role name, e.g. `node1` (at most 15 characters when it has an
    /// uplink: the switch port is named after it).
    pub name: String,
    /// Address of `vmbr0` in CIDR notation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Default gateway via `vmbr0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// MTU of `eno1`, `vmbr0` and the switch port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// Extra plain kernel bridges (e.g. the VNet bridge `myvnet1`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bridges: Vec<BridgeSpec>,
    /// Whether to create `eno1` and connect it to the switch; default: yes
    /// when the topology has a switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uplink: Option<bool>,
}

/// An extra bridge inside a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "BridgeRepr", into = "BridgeRepr")]
pub struct BridgeSpec {
    /// Interface name, e.g. `myvnet1`.
    pub name: String,
    /// Optional address (none by default, as for VNet bridges).
    pub address: Option<String>,
    /// Optional MTU.
    pub mtu: Option<u32>,
}

/// TOML form of a bridge: a bare name or a table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum BridgeRepr {
    Name(String),
    Full {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mtu: Option<u32>,
    },
}

impl From<BridgeRepr> for BridgeSpec {
    fn from(r: BridgeRepr) -> Self {
        match r {
            BridgeRepr::Name(name) => BridgeSpec::new(&name),
            BridgeRepr::Full { name, address, mtu } => BridgeSpec { name, address, mtu },
        }
    }
}

impl From<BridgeSpec> for BridgeRepr {
    fn from(b: BridgeSpec) -> Self {
        if b.address.is_none() && b.mtu.is_none() {
            BridgeRepr::Name(b.name)
        } else {
            BridgeRepr::Full {
                name: b.name,
                address: b.address,
                mtu: b.mtu,
            }
        }
    }
}

/// How a guest is plugged in, as Proxmox plugs its guests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuestKind {
    /// A VM: its port is a tap (`tap<vmid>i0`) with `IFF_VNET_HDR` and the
    /// CSUM/TSO offloads on, relayed to the guest's `eth0` (another such
    /// tap) by [`crate::vmtap::relay`], standing in for QEMU: TCP crosses as
    /// GSO super-frames with partial checksums.
    #[default]
    Vm,
    /// A container: its port is the node's end of a veth pair
    /// (`veth<vmid>i0`) whose other end is the guest's `eth0`.
    Container,
}

impl GuestKind {
    fn is_vm(&self) -> bool {
        *self == GuestKind::Vm
    }

    /// The default port name of guest `vmid`, as Proxmox names it.
    pub fn port_name(self, vmid: u32) -> String {
        match self {
            GuestKind::Vm => format!("tap{vmid}i0"),
            GuestKind::Container => format!("veth{vmid}i0"),
        }
    }
}

/// A guest: a namespace with `eth0`, plugged into a bridge of a node (or
/// the switch's `br0`) through its port: a tap for a VM (`tap<vmid>i0`), a
/// veth for a container (`veth<vmid>i0`); see [`GuestKind`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestSpec {
    /// Role name, e.g. `vm1`.
    pub name: String,
    /// VM (tap, the default) or container (veth).
    #[serde(default, skip_serializing_if = "GuestKind::is_vm")]
    pub kind: GuestKind,
    /// The node (or the switch) the guest is plugged into.
    pub node: String,
    /// Bridge in that node; default `vmbr0` (`br0` on the switch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// Address of `eth0` in CIDR notation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Default gateway via `eth0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// MTU of `eth0` and of its node-side port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// MAC of `eth0` (default: random, chosen by the kernel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Proxmox-style guest id used for the port name (`tap<vmid>i0` or
    /// `veth<vmid>i0`); default 101, 102, ... in guest order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vmid: Option<u32>,
    /// Explicit node-side port name (overrides the default name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// A veth pair between two namespaces of the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// One end.
    pub a: LinkEnd,
    /// The other end.
    pub b: LinkEnd,
    /// MTU of both ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

/// One end of a [`LinkSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkEnd {
    /// Role name of the namespace (switch, node or guest).
    pub ns: String,
    /// Interface name inside it.
    pub ifname: String,
    /// Optional address in CIDR notation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Optional bridge (in that namespace) to enslave the end to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
}

impl Topology {
    /// An empty topology.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the underlay switch, named `switch`.
    pub fn with_switch(self) -> Self {
        self.with_switch_named(DEFAULT_SWITCH)
    }

    /// Adds the underlay switch under another role name.
    pub fn with_switch_named(mut self, name: &str) -> Self {
        self.switch = Some(name.to_string());
        self
    }

    /// Adds a node.
    pub fn node(mut self, node: NodeSpec) -> Self {
        self.nodes.push(node);
        self
    }

    /// Adds a guest.
    pub fn guest(mut self, guest: GuestSpec) -> Self {
        self.guests.push(guest);
        self
    }

    /// Makes every guest a VM or a container (ports named after the kind
    /// unless a guest names its port).
    pub fn with_guest_kind(mut self, kind: GuestKind) -> Self {
        for g in &mut self.guests {
            g.kind = kind;
        }
        self
    }

    /// Adds a link.
    pub fn link(mut self, link: LinkSpec) -> Self {
        self.links.push(link);
        self
    }

    /// Parses and validates TOML.
    pub fn from_toml(text: &str) -> Result<Self> {
        let topo: Topology = toml::from_str(text).context("parsing topology TOML")?;
        topo.validate()?;
        Ok(topo)
    }

    /// Reads, parses and validates a TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading topology {}", path.display()))?;
        Self::from_toml(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Serialises to TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).context("serialising topology to TOML")
    }

    /// All namespace roles in creation order: switch, nodes, guests.
    pub fn roles(&self) -> Vec<&str> {
        let mut roles: Vec<&str> = self.switch.iter().map(String::as_str).collect();
        roles.extend(self.nodes.iter().map(|n| n.name.as_str()));
        roles.extend(self.guests.iter().map(|g| g.name.as_str()));
        roles
    }

    /// Looks a node up by role name.
    pub fn find_node(&self, name: &str) -> Option<&NodeSpec> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Checks names, addresses, references and interface-name clashes.
    pub fn validate(&self) -> Result<()> {
        let roles = self.roles();
        if roles.is_empty() {
            bail!("topology is empty: add a switch, nodes or guests");
        }
        for (i, role) in roles.iter().enumerate() {
            check_role(role)?;
            if roles[..i].contains(role) {
                bail!("name {role:?} is used twice (switch, node and guest names must be unique)");
            }
        }
        for node in &self.nodes {
            node.check()
                .with_context(|| format!("node {:?}", node.name))?;
        }
        for guest in &self.guests {
            guest
                .check()
                .with_context(|| format!("guest {:?}", guest.name))?;
        }
        for link in &self.links {
            for end in [&link.a, &link.b] {
                end.check()
                    .with_context(|| format!("link end {}:{}", end.ns, end.ifname))?;
            }
            check_mtu(link.mtu)?;
        }
        // The plan resolves every reference and interface name.
        crate::plan::plan(self, &WorldId::Auto { pid: 0, seq: 0 }).map(|_| ())
    }
}

impl NodeSpec {
    /// A node with no address, default MTU, no extra bridges.
    pub fn new(name: &str) -> Self {
        NodeSpec {
            name: name.to_string(),
            address: None,
            gateway: None,
            mtu: None,
            bridges: Vec::new(),
            uplink: None,
        }
    }

    /// Sets the `vmbr0` address (CIDR).
    pub fn address(mut self, cidr: &str) -> Self {
        self.address = Some(cidr.to_string());
        self
    }

    /// Sets the default gateway.
    pub fn gateway(mut self, ip: &str) -> Self {
        self.gateway = Some(ip.to_string());
        self
    }

    /// Sets the MTU of `eno1`/`vmbr0`.
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Adds a plain bridge without address.
    pub fn bridge(self, name: &str) -> Self {
        self.bridge_spec(BridgeSpec::new(name))
    }

    /// Adds a bridge with options.
    pub fn bridge_spec(mut self, bridge: BridgeSpec) -> Self {
        self.bridges.push(bridge);
        self
    }

    /// Leaves out `eno1` even if there is a switch.
    pub fn no_uplink(mut self) -> Self {
        self.uplink = Some(false);
        self
    }

    fn check(&self) -> Result<()> {
        let addr = self
            .address
            .as_deref()
            .map(str::parse::<Cidr>)
            .transpose()?;
        check_gateway(addr, self.gateway.as_deref())?;
        check_mtu(self.mtu)?;
        for b in &self.bridges {
            check_ifname(&b.name)?;
            if let Some(a) = &b.address {
                a.parse::<Cidr>()
                    .with_context(|| format!("bridge {:?}", b.name))?;
            }
            check_mtu(b.mtu)?;
        }
        Ok(())
    }
}

impl BridgeSpec {
    /// A bridge without address or MTU.
    pub fn new(name: &str) -> Self {
        BridgeSpec {
            name: name.to_string(),
            address: None,
            mtu: None,
        }
    }

    /// Sets the bridge's address (CIDR).
    pub fn address(mut self, cidr: &str) -> Self {
        self.address = Some(cidr.to_string());
        self
    }

    /// Sets the bridge's MTU.
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }
}

impl GuestSpec {
    /// A guest of `node`, plugged into `bridge` (e.g. `myvnet1`).
    pub fn new(name: &str, node: &str, bridge: &str) -> Self {
        GuestSpec {
            name: name.to_string(),
            kind: GuestKind::Vm,
            node: node.to_string(),
            bridge: Some(bridge.to_string()),
            address: None,
            gateway: None,
            mtu: None,
            mac: None,
            vmid: None,
            port: None,
        }
    }

    /// Sets the `eth0` address (CIDR).
    pub fn address(mut self, cidr: &str) -> Self {
        self.address = Some(cidr.to_string());
        self
    }

    /// Sets the default gateway.
    pub fn gateway(mut self, ip: &str) -> Self {
        self.gateway = Some(ip.to_string());
        self
    }

    /// Sets the MTU of `eth0` and its port.
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Sets the MAC of `eth0`.
    pub fn mac(mut self, mac: &str) -> Self {
        self.mac = Some(mac.to_string());
        self
    }

    /// Makes the guest a VM (tap port) or a container (veth port).
    pub fn kind(mut self, kind: GuestKind) -> Self {
        self.kind = kind;
        self
    }

    /// Makes the guest a container (veth port `veth<vmid>i0`).
    pub fn container(self) -> Self {
        self.kind(GuestKind::Container)
    }

    /// Sets the guest id (port name `tap<vmid>i0` or `veth<vmid>i0`).
    pub fn vmid(mut self, vmid: u32) -> Self {
        self.vmid = Some(vmid);
        self
    }

    /// Sets an explicit node-side port name.
    pub fn port(mut self, ifname: &str) -> Self {
        self.port = Some(ifname.to_string());
        self
    }

    fn check(&self) -> Result<()> {
        let addr = self
            .address
            .as_deref()
            .map(str::parse::<Cidr>)
            .transpose()?;
        check_gateway(addr, self.gateway.as_deref())?;
        check_mtu(self.mtu)?;
        if let Some(mac) = &self.mac {
            parse_mac(mac)?;
        }
        if let Some(b) = &self.bridge {
            check_ifname(b)?;
        }
        if let Some(p) = &self.port {
            check_ifname(p)?;
        }
        Ok(())
    }
}

impl LinkSpec {
    /// A veth pair between two ends.
    pub fn new(a: LinkEnd, b: LinkEnd) -> Self {
        LinkSpec { a, b, mtu: None }
    }

    /// Sets the MTU of both ends.
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }
}

impl LinkEnd {
    /// Interface `ifname` in namespace role `ns`.
    pub fn new(ns: &str, ifname: &str) -> Self {
        LinkEnd {
            ns: ns.to_string(),
            ifname: ifname.to_string(),
            address: None,
            bridge: None,
        }
    }

    /// Sets the address (CIDR).
    pub fn address(mut self, cidr: &str) -> Self {
        self.address = Some(cidr.to_string());
        self
    }

    /// Enslaves this end to a bridge of its namespace.
    pub fn bridge(mut self, bridge: &str) -> Self {
        self.bridge = Some(bridge.to_string());
        self
    }

    fn check(&self) -> Result<()> {
        check_ifname(&self.ifname)?;
        if let Some(a) = &self.address {
            a.parse::<Cidr>()?;
        }
        Ok(())
    }
}

fn check_gateway(addr: Option<Cidr>, gateway: Option<&str>) -> Result<()> {
    let Some(gw) = gateway else { return Ok(()) };
    let gw = parse_ip("gateway", gw)?;
    match addr {
        Some(a) if a.contains(gw) => Ok(()),
        Some(a) => bail!("gateway {gw} is not in the subnet of {a}"),
        None => bail!("gateway {gw} needs an address in its subnet"),
    }
}

fn check_mtu(mtu: Option<u32>) -> Result<()> {
    match mtu {
        Some(m) if !(68..=65535).contains(&m) => bail!("MTU {m} is outside 68..=65535"),
        _ => Ok(()),
    }
}

/// `switch = true | false | "name"` in TOML.
mod switch_field {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::DEFAULT_SWITCH;

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Flag(bool),
        Name(String),
    }

    pub fn serialize<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        match v.as_deref() {
            None => Repr::Flag(false).serialize(s),
            Some(DEFAULT_SWITCH) => Repr::Flag(true).serialize(s),
            Some(name) => Repr::Name(name.to_string()).serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Flag(false) => None,
            Repr::Flag(true) => Some(DEFAULT_SWITCH.to_string()),
            Repr::Name(n) => Some(n),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
switch = true
[[nodes]]
name = "node1"
address = "192.168.0.1/24"
gateway = "192.168.0.254"
mtu = 1500
bridges = ["myvnet1", { name = "vnet2", mtu = 1450, address = "10.0.2.1/24" }]
[[nodes]]
name = "node2"
[[guests]]
name = "vm1"
node = "node1"
bridge = "myvnet1"
address = "10.0.3.100/24"
mtu = 1450
mac = "52:54:00:12:34:56"
[[links]]
a = { ns = "node1", ifname = "eth1", address = "10.9.0.1/30" }
b = { ns = "node2", ifname = "eth1", bridge = "vmbr0" }
"#;

    #[test]
    fn parses_sample() {
        let t = Topology::from_toml(SAMPLE).unwrap();
        assert_eq!(t.switch.as_deref(), Some("switch"));
        assert_eq!(t.nodes.len(), 2);
        assert_eq!(t.nodes[0].bridges[0], BridgeSpec::new("myvnet1"));
        assert_eq!(t.nodes[0].bridges[1].mtu, Some(1450));
        assert_eq!(t.guests[0].bridge.as_deref(), Some("myvnet1"));
        assert_eq!(t.links[0].b.bridge.as_deref(), Some("vmbr0"));
        assert_eq!(t.roles(), ["switch", "node1", "node2", "vm1"]);
    }

    #[test]
    fn toml_round_trip() {
        let t = Topology::from_toml(SAMPLE).unwrap();
        let text = t.to_toml().unwrap();
        assert_eq!(Topology::from_toml(&text).unwrap(), t);
    }

    #[test]
    fn switch_forms() {
        let t = Topology::from_toml("switch = \"underlay\"\n").unwrap();
        assert_eq!(t.switch.as_deref(), Some("underlay"));
        assert!(t.to_toml().unwrap().contains("switch = \"underlay\""));
        assert!(Topology::from_toml("switch = false\n").is_err(), "empty");
    }

    #[test]
    fn rejects_bad_input() {
        let cases = [
            ("unknown field", "[[nodes]]\nname = \"n\"\ncolour = 1\n"),
            (
                "dup name",
                "[[nodes]]\nname = \"n\"\n[[nodes]]\nname = \"n\"\n",
            ),
            (
                "gateway outside",
                "[[nodes]]\nname = \"n\"\naddress = \"10.0.0.1/24\"\ngateway = \"10.0.1.1\"\n",
            ),
            (
                "gateway no addr",
                "[[nodes]]\nname = \"n\"\ngateway = \"10.0.1.1\"\n",
            ),
            ("mtu", "[[nodes]]\nname = \"n\"\nmtu = 10\n"),
            (
                "bad cidr",
                "[[nodes]]\nname = \"n\"\naddress = \"10.0.0.1\"\n",
            ),
            (
                "missing node",
                "[[guests]]\nname = \"g\"\nnode = \"nope\"\n",
            ),
            (
                "missing bridge",
                "[[nodes]]\nname = \"n\"\n[[guests]]\nname = \"g\"\nnode = \"n\"\nbridge = \"myvnet9\"\n",
            ),
            (
                "bad mac",
                "[[nodes]]\nname = \"n\"\n[[guests]]\nname = \"g\"\nnode = \"n\"\nmac = \"01:00:00:00:00:01\"\n",
            ),
            ("bad role", "[[nodes]]\nname = \"node.1\"\n"),
        ];
        for (what, text) in cases {
            assert!(Topology::from_toml(text).is_err(), "{what} accepted");
        }
    }

    #[test]
    fn builder_matches_toml() {
        let built = Topology::new()
            .with_switch()
            .node(
                NodeSpec::new("node1")
                    .address("192.168.0.1/24")
                    .bridge("myvnet1"),
            )
            .guest(GuestSpec::new("vm1", "node1", "myvnet1").address("10.0.3.100/24"));
        built.validate().unwrap();
        let text = "switch = true\n[[nodes]]\nname = \"node1\"\naddress = \"192.168.0.1/24\"\n\
                    bridges = [\"myvnet1\"]\n[[guests]]\nname = \"vm1\"\nnode = \"node1\"\n\
                    bridge = \"myvnet1\"\naddress = \"10.0.3.100/24\"\n";
        assert_eq!(Topology::from_toml(text).unwrap(), built);
    }
}
