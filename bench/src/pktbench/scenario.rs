//! One zone type's world for the small-frame benchmark: the SDN guide's
//! example topology (`xsdn_testbed::examples`), its SDN configuration, the
//! kernel path to compare with, and where frames enter and leave.
//!
//! The node under test is always `node1`. "From the wire" frames enter at
//! its uplink `eno1` (sent by the switch's port `node1`, as a peer's frames
//! arrive) and are counted at `vm1`'s `eth0` (a container: its port is
//! the veth `veth101i0`), or read from `tap199i0` by a VM stand-in (a VM-like tap guest,
//! see `crate::tapvm`; direction `wire-tap`); "from guest ports" frames
//! leave `vm1`'s `eth0` into `veth101i0` and are counted where they leave
//! node1: at the switch's port `node1` (a sink there keeps them from going
//! further, so only node1's forwarding is measured), or at `vm2`'s `eth0`
//! in the simple zone, where both guests are on node1.
//!
//! The kernel path: a simple zone's VNet bridge; a VXLAN zone's bridge with
//! the `vxlan_<vnet>` device Proxmox generates (plus a static FDB entry for
//! the remote guest, what learning or EVPN gives it, so known unicast is
//! not flooded to every peer). VLAN and QinQ zones have no kernel path on
//! this kernel (no 802.1Q devices): their kernel figure is a plain Linux
//! bridge forwarding the same guest frames untagged between the uplink and
//! the guest port (`veth101i0` moved into `vmbr0` for the measurement).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use xsdn_dataplane::wire::EthernetAddress;
use xsdn_testbed::topology::GuestKind;
use xsdn_testbed::{
    Daemon, DaemonOpts, Proc, World, examples, kernel_vxlan, start_daemon, wait_until,
};

use super::frames::{Encap, Host, tag};

/// Zone types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Zone {
    /// Simple zone: two guests on one node.
    Simple,
    /// VLAN zone (802.1Q tag 10).
    Vlan,
    /// QinQ zone (service tag 20, customer tag 100).
    Qinq,
    /// VXLAN zone (VNI 100000).
    Vxlan,
}

impl Zone {
    /// Parses a zone name.
    pub fn parse(name: &str) -> anyhow::Result<Zone> {
        Ok(match name {
            "simple" => Zone::Simple,
            "vlan" => Zone::Vlan,
            "qinq" => Zone::Qinq,
            "vxlan" => Zone::Vxlan,
            other => bail!("unknown zone {other:?} (simple, vlan, qinq, vxlan)"),
        })
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Zone::Simple => "simple",
            Zone::Vlan => "vlan",
            Zone::Qinq => "qinq",
            Zone::Vxlan => "vxlan",
        }
    }

    /// The directions that exist in this zone (a simple zone has no wire).
    pub fn directions(self) -> &'static [Direction] {
        match self {
            Zone::Simple => &[Direction::Guest],
            _ => &[Direction::Wire, Direction::WireTap, Direction::Guest],
        }
    }
}

/// Where frames come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Into the node's uplink, to a container-like guest (veth).
    Wire,
    /// Into the node's uplink, to a VM-like guest (tap).
    WireTap,
    /// From a guest's `eth0` into the node.
    Guest,
}

impl Direction {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Wire => "wire",
            Direction::WireTap => "wire-tap",
            Direction::Guest => "guest",
        }
    }
}

/// An interface in a namespace of the world (namespace role, name).
#[derive(Clone, Copy, Debug)]
pub struct If {
    /// Namespace role.
    pub ns: &'static str,
    /// Interface name.
    pub name: &'static str,
}

/// The interfaces one direction uses.
#[derive(Clone, Copy, Debug)]
pub struct Ends {
    /// The generator sends out of this interface (its peer receives).
    pub gen_out: If,
    /// Node1's port the frames enter by.
    pub ingress: If,
    /// Node1's port they should leave by.
    pub egress: If,
    /// Where they are counted.
    pub sink: If,
    /// The counter read there: `rx_packets` of a veth whose XDP sink drops
    /// the frames, or `tx_packets` of the VM stand-in's tap (frames read).
    pub counter: &'static str,
}

const VM1: If = If {
    ns: "vm1",
    name: "eth0",
};
const TAP1: If = If {
    ns: "node1",
    name: "veth101i0",
};
const UPLINK: If = If {
    ns: "node1",
    name: "eno1",
};
/// The VM stand-in's tap on node1 (in the VNet bridge).
pub const VM_TAP: If = If {
    ns: "node1",
    name: "tap199i0",
};
const SWITCH_PORT: If = If {
    ns: "switch",
    name: "node1",
};

/// A zone's world, ready for the kernel path.
pub struct Scenario {
    /// Zone type.
    pub zone: Zone,
    /// The namespaces.
    pub world: World,
    config: PathBuf,
    nodes: &'static [&'static str],
    vm1: Host,
    vm2: Host,
    /// VNet MTU (guest frames are at most this plus 14).
    pub mtu: usize,
    /// How xsdn carries the VNet on the uplink.
    pub encap: Encap,
}

fn host(n: u8, ip: [u8; 4]) -> Host {
    Host {
        mac: EthernetAddress([0x52, 0x54, 0, 0, 0, n]),
        ip: Ipv4Addr::from(ip),
    }
}

fn write(world: &World, files: &[(&str, &str)]) -> anyhow::Result<PathBuf> {
    let dir = world.dir().join("sdn");
    std::fs::create_dir_all(&dir)?;
    for (name, text) in files {
        std::fs::write(dir.join(name), text).with_context(|| format!("writing {name}"))?;
    }
    Ok(dir)
}

fn mac_of(world: &World, ns: &str, ifname: &str) -> anyhow::Result<EthernetAddress> {
    let out = world.exec(ns, &["cat", &format!("/sys/class/net/{ifname}/address")])?;
    let bytes: Vec<u8> = out
        .stdout
        .trim()
        .split(':')
        .map(|b| u8::from_str_radix(b, 16))
        .collect::<Result<_, _>>()
        .with_context(|| format!("MAC of {ns}:{ifname}: {:?}", out.stdout))?;
    let mac: [u8; 6] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("MAC of {ns}:{ifname}: {:?}", out.stdout))?;
    Ok(EthernetAddress(mac))
}

impl Scenario {
    /// Builds the world of `zone` with its kernel path.
    pub fn up(zone: Zone) -> anyhow::Result<Scenario> {
        let s = match zone {
            Zone::Simple => {
                let world = World::up(&examples::simple().with_guest_kind(GuestKind::Container))?;
                let config = write(
                    &world,
                    &[
                        ("zones.cfg", "simple: simple1\n"),
                        ("vnets.cfg", "vnet: vnet0\n\tzone simple1\n"),
                    ],
                )?;
                Scenario {
                    zone,
                    world,
                    config,
                    nodes: &["node1"],
                    vm1: host(1, [10, 0, 0, 2]),
                    vm2: host(2, [10, 0, 0, 3]),
                    mtu: 1500,
                    encap: Encap::Untagged,
                }
            }
            Zone::Vlan => {
                let world = World::up(&examples::vlan().with_guest_kind(GuestKind::Container))?;
                let config = write(
                    &world,
                    &[
                        ("zones.cfg", "vlan: myvlanzone\n\tbridge vmbr0\n"),
                        ("vnets.cfg", "vnet: myvnet1\n\tzone myvlanzone\n\ttag 10\n"),
                    ],
                )?;
                Scenario {
                    zone,
                    world,
                    config,
                    nodes: &["node1", "node2"],
                    vm1: host(1, [10, 0, 3, 100]),
                    vm2: host(2, [10, 0, 3, 101]),
                    mtu: 1500,
                    encap: Encap::Tags([Some(tag(0x8100, 10)), None]),
                }
            }
            Zone::Qinq => {
                let world = World::up(&examples::qinq().with_guest_kind(GuestKind::Container))?;
                // The spec's QinQ example (service VLAN 20, 802.1Q by
                // default; customer VLAN 100; MTU 1496 for the second tag).
                let config = write(
                    &world,
                    &[
                        (
                            "zones.cfg",
                            "qinq: qinqzone1\n\tbridge vmbr0\n\ttag 20\n\tmtu 1496\n\n\
                             qinq: qinqzone2\n\tbridge vmbr0\n\ttag 30\n\tmtu 1496\n",
                        ),
                        (
                            "vnets.cfg",
                            "vnet: myvnet1\n\tzone qinqzone1\n\ttag 100\n\n\
                             vnet: myvnet2\n\tzone qinqzone2\n\ttag 100\n",
                        ),
                    ],
                )?;
                Scenario {
                    zone,
                    world,
                    config,
                    nodes: &["node1", "node2"],
                    vm1: host(1, [10, 0, 3, 100]),
                    vm2: host(2, [10, 0, 3, 101]),
                    mtu: 1496,
                    encap: Encap::Tags([Some(tag(0x8100, 20)), Some(tag(0x8100, 100))]),
                }
            }
            Zone::Vxlan => {
                let world = World::up(&examples::vxlan().with_guest_kind(GuestKind::Container))?;
                for (node, local, peers) in [
                    ("node1", "192.168.0.1", ["192.168.0.2", "192.168.0.3"]),
                    ("node2", "192.168.0.2", ["192.168.0.1", "192.168.0.3"]),
                    ("node3", "192.168.0.3", ["192.168.0.1", "192.168.0.2"]),
                ] {
                    kernel_vxlan(&world, node, "myvnet1", 100_000, local, &peers)?;
                }
                // Known unicast goes to its VTEP only, as learning or EVPN
                // would have it (the generated device floods otherwise).
                for (node, mac, dst) in [
                    ("node1", "52:54:00:00:00:02", "192.168.0.3"),
                    ("node3", "52:54:00:00:00:01", "192.168.0.1"),
                ] {
                    world.exec(
                        node,
                        &[
                            "bridge",
                            "fdb",
                            "append",
                            mac,
                            "dev",
                            "vxlan_myvnet1",
                            "dst",
                            dst,
                        ],
                    )?;
                }
                let config = write(
                    &world,
                    &[
                        (
                            "zones.cfg",
                            "vxlan: vxzone\n\tpeers 192.168.0.1,192.168.0.2,192.168.0.3\n\tmtu 1450\n",
                        ),
                        ("vnets.cfg", "vnet: myvnet1\n\tzone vxzone\n\ttag 100000\n"),
                    ],
                )?;
                let encap = Encap::Vxlan {
                    peer_mac: mac_of(&world, "node3", "vmbr0")?,
                    local_mac: mac_of(&world, "node1", "vmbr0")?,
                    peer: Ipv4Addr::new(192, 168, 0, 3),
                    local: Ipv4Addr::new(192, 168, 0, 1),
                    vni: 100_000,
                    port: 4789,
                };
                Scenario {
                    zone,
                    world,
                    config,
                    nodes: &["node1", "node2", "node3"],
                    vm1: host(1, [10, 0, 3, 100]),
                    vm2: host(2, [10, 0, 3, 101]),
                    mtu: 1450,
                    encap,
                }
            }
        };
        // The generator's frames arrive through the receiving veth's NAPI
        // (XDP transmit into a veth), which exists with an XDP program on
        // it or with GRO on; the kernel path and guest ports of the kernel
        // tier carry no XDP, so GRO is turned on for every path alike.
        // UDP is not aggregated by GRO unless asked for.
        for port in ["veth101i0", "eno1"] {
            if s.zone == Zone::Simple && port == "eno1" {
                continue;
            }
            s.world
                .exec("node1", &["ethtool", "-K", port, "gro", "on"])?;
        }
        Ok(s)
    }

    /// The interfaces of `direction`.
    pub fn ends(&self, direction: Direction) -> Ends {
        match (self.zone, direction) {
            (Zone::Simple, _) => Ends {
                gen_out: VM1,
                ingress: TAP1,
                egress: If {
                    ns: "node1",
                    name: "veth102i0",
                },
                sink: If {
                    ns: "vm2",
                    name: "eth0",
                },
                counter: "rx_packets",
            },
            (_, Direction::Wire) => Ends {
                gen_out: SWITCH_PORT,
                ingress: UPLINK,
                egress: TAP1,
                sink: VM1,
                counter: "rx_packets",
            },
            (_, Direction::WireTap) => Ends {
                gen_out: SWITCH_PORT,
                ingress: UPLINK,
                egress: VM_TAP,
                sink: VM_TAP,
                counter: "tx_packets",
            },
            (_, Direction::Guest) => Ends {
                gen_out: VM1,
                ingress: TAP1,
                egress: UPLINK,
                sink: SWITCH_PORT,
                counter: "rx_packets",
            },
        }
    }

    /// The guests: the sender of guest frames and the other one.
    pub fn guests(&self) -> (Host, Host) {
        (self.vm1, self.vm2)
    }

    /// The VM stand-in behind [`VM_TAP`] (VLAN, QinQ and VXLAN zones).
    pub fn tap_vm(&self) -> Host {
        host(0x99, [10, 0, 3, 199])
    }

    /// Plugs the VM stand-in's tap (opened by the caller) into the VNet
    /// bridge of node1, with the VNet's MTU.
    pub fn plug_tap(&self) -> anyhow::Result<()> {
        let mtu = self.mtu.to_string();
        self.world.exec(
            "node1",
            &[
                "ip",
                "link",
                "set",
                VM_TAP.name,
                "mtu",
                &mtu,
                "master",
                "myvnet1",
                "up",
            ],
        )?;
        Ok(())
    }

    /// Teaches every path the guests' addresses: a few pings from vm1 to
    /// vm2 and back (ARP, the bridges' and the dataplanes' MAC tables, the
    /// kernel tier's entries). A dataplane that just started may still be
    /// resolving its VXLAN next hops: up to five attempts.
    pub fn warm_up(&self) -> anyhow::Result<()> {
        let dst = self.vm2.ip.to_string();
        let src = self.vm1.ip.to_string();
        let mut last = String::new();
        for _ in 0..5 {
            let a = self
                .world
                .ping("vm1", &dst, 3, Duration::from_millis(50), None)?;
            let b = self
                .world
                .ping("vm2", &src, 3, Duration::from_millis(50), None)?;
            if a.received > 0 && b.received > 0 {
                return Ok(());
            }
            last = format!(
                "ping {}/{} and {}/{}",
                a.received, a.transmitted, b.received, b.transmitted
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        bail!(
            "{}: vm1 and vm2 cannot reach each other ({last})",
            self.zone.name()
        )
    }

    /// For VLAN and QinQ zones: puts `veth101i0` into `vmbr0` (with `eno1`)
    /// for the kernel bridge measurement, or back into its VNet bridge.
    pub fn plain_bridge(&self, on: bool) -> anyhow::Result<()> {
        if matches!(self.zone, Zone::Simple | Zone::Vxlan) {
            return Ok(());
        }
        let master = if on { "vmbr0" } else { "myvnet1" };
        for port in [TAP1.name, VM_TAP.name] {
            self.world
                .exec("node1", &["ip", "link", "set", port, "master", master])?;
        }
        // Let vmbr0 learn vm1 behind veth101i0 (the ping itself fails:
        // nothing answers there).
        if on {
            let _ = self.world.try_exec(
                "vm1",
                &[
                    "ping",
                    "-c",
                    "2",
                    "-i",
                    "0.2",
                    "-W",
                    "1",
                    &self.vm2.ip.to_string(),
                ],
            );
        }
        Ok(())
    }

    /// Starts another `xsdn` binary's daemon (a build from before the
    /// kernel tier, for the "no slower than before" comparison) on every
    /// node; its own XDP object must lie next to it. Waits until each
    /// says it runs, then lets the ports settle.
    pub fn start_baseline(&self, xsdn: &Path) -> anyhow::Result<Vec<Proc>> {
        let xsdn = xsdn.display().to_string();
        let config = self.config.display().to_string();
        let mut procs = Vec::new();
        for node in self.nodes {
            let socket = self.world.dir().join(format!("{node}-baseline.sock"));
            let socket = socket.display().to_string();
            let proc = self.world.spawn(
                node,
                &[
                    &xsdn,
                    "daemon",
                    "--config",
                    &config,
                    "--node",
                    node,
                    "--socket",
                    &socket,
                    "--metrics",
                    "off",
                ],
            )?;
            if !wait_until(Duration::from_secs(15), || {
                proc.stderr().contains("running node=") || !proc.is_running()
            }) || !proc.is_running()
            {
                bail!(
                    "baseline xsdn daemon on {node} did not start:\n{}",
                    proc.stderr()
                );
            }
            procs.push(proc);
        }
        std::thread::sleep(Duration::from_secs(1));
        Ok(procs)
    }

    /// Starts `xsdn daemon` on every node (`kernel_tier` on or off) and
    /// waits until node1 owns its ports.
    pub fn start_daemons(&self, kernel_tier: bool) -> anyhow::Result<Vec<Daemon>> {
        let opts = DaemonOpts {
            metrics: None,
            extra: vec![
                "--kernel-tier".into(),
                if kernel_tier { "on" } else { "off" }.into(),
            ],
        };
        let mut daemons = Vec::new();
        for node in self.nodes {
            daemons.push(start_daemon(&self.world, node, &self.config, &opts)?);
        }
        let ports: &[&str] = match self.zone {
            Zone::Simple => &["veth101i0", "veth102i0"],
            _ => &["veth101i0", "eno1", VM_TAP.name],
        };
        for port in ports {
            if !daemons[0].wait_port(&self.world, port, Duration::from_secs(10)) {
                bail!(
                    "xsdn daemon on node1 did not take {port} over:\n{}",
                    daemons[0].proc.stderr()
                );
            }
        }
        Ok(daemons)
    }
}
