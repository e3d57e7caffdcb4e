//! The small-frame benchmark (`xsdn-pktbench`): packets per second through
//! one node, per zone type, direction and frame size, for four paths in
//! one run (see `bench/README.md`):
//!
//! - `kernel`: the kernel's own path (bridge; bridge + vxlan device; for
//!   VLAN and QinQ, which have no kernel path here, a plain bridge carrying
//!   the same frames untagged);
//! - `userspace`: `xsdn daemon --kernel-tier off` (AF_XDP);
//! - `kernel-tier`: `xsdn daemon` (default: established traffic forwarded
//!   by the XDP and tc programs);
//! - `ceiling`: the raw in-kernel ceiling, an XDP devmap redirect from the
//!   ingress veth straight to the egress veth, nothing else.
//!
//! Frames come from an XDP live-frames generator ([`crate::xdpgen`]) and
//! are counted by the receiving interface, where an XDP program drops them.
//! Every path is measured on the same interfaces of the same world.

pub mod frames;
pub mod measure;
pub mod report;
pub mod scenario;

use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;
use xsdn_testbed::{Daemon, World};

use frames::{Encap, guest_frame, guest_len, wire_frame};
use measure::{Held, Rate, Tools, median_of_runs};
use scenario::{Direction, Ends, Scenario, Zone};
use xsdn_dataplane::wire::EthernetAddress;
use xsdn_dataplane::wire::build::FrameBuilder;

/// The paths measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathKind {
    /// The kernel's bridge (and vxlan device).
    Kernel,
    /// An older `xsdn daemon` (before the kernel tier), when given.
    Baseline,
    /// `xsdn daemon --kernel-tier off`.
    Userspace,
    /// `xsdn daemon` with its kernel tier.
    KernelTier,
    /// XDP devmap redirect ingress -> egress.
    Ceiling,
    /// The generator into an XDP drop on its peer (no forwarding at all).
    Generator,
}

impl PathKind {
    /// Name as printed.
    pub fn name(self) -> &'static str {
        match self {
            PathKind::Kernel => "kernel",
            PathKind::Baseline => "baseline",
            PathKind::Userspace => "userspace",
            PathKind::KernelTier => "kernel-tier",
            PathKind::Ceiling => "ceiling",
            PathKind::Generator => "generator",
        }
    }
}

/// What xsdn's counters said about the measured runs, on node1's ingress
/// port (differences over all runs of the measurement).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct PortDelta {
    /// Frames received on the port, both tiers.
    pub rx_packets: u64,
    /// Of those, forwarded by the kernel tier.
    pub kernel_tier_rx: u64,
    /// Frames the kernel tier handed to userspace.
    pub punted: u64,
    /// Frames dropped, all ports and reasons.
    pub drops: u64,
}

/// One measurement.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Cell {
    /// Zone type.
    pub zone: Zone,
    /// Direction.
    pub direction: Direction,
    /// Requested size (64 or 1500).
    pub size: usize,
    /// Length of the guest's frame.
    pub guest_len: usize,
    /// Length of the frame the generator sent.
    pub sent_len: usize,
    /// Path.
    pub path: PathKind,
    /// The median run.
    pub rate: Rate,
    /// Every run.
    pub runs: Vec<Rate>,
    /// xsdn's counters (xsdn paths only).
    pub port: Option<PortDelta>,
}

/// Binaries and settings of a benchmark run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Generator and measurement settings.
    pub tools: Tools,
    /// Frame sizes.
    pub sizes: Vec<usize>,
    /// An older `xsdn` binary measured as the `baseline` path.
    pub baseline: Option<PathBuf>,
}

fn port_counters(daemon: &Daemon, world: &World, port: &str) -> anyhow::Result<PortDelta> {
    let counters = daemon.show(world, "counters")?;
    let ports = counters["ports"]
        .as_array()
        .context("no ports in xsdn show counters")?;
    let row = ports
        .iter()
        .find(|p| p["ifname"] == port)
        .with_context(|| format!("no port {port} in xsdn show counters"))?;
    let drops: u64 = ports
        .iter()
        .filter_map(|p| p["drops"].as_object())
        .flat_map(|d| d.values().filter_map(Value::as_u64))
        .sum();
    Ok(PortDelta {
        rx_packets: row["rx_packets"].as_u64().unwrap_or(0),
        kernel_tier_rx: row["kernel_tier"]["rx_packets"].as_u64().unwrap_or(0),
        punted: row["kernel_tier"]["punted"].as_u64().unwrap_or(0),
        drops,
    })
}

fn delta(before: PortDelta, after: PortDelta) -> PortDelta {
    PortDelta {
        rx_packets: after.rx_packets.saturating_sub(before.rx_packets),
        kernel_tier_rx: after.kernel_tier_rx.saturating_sub(before.kernel_tier_rx),
        punted: after.punted.saturating_sub(before.punted),
        drops: after.drops.saturating_sub(before.drops),
    }
}

/// The frame the generator sends for `path` in `direction`: as it enters
/// node1 (tagged or encapsulated from the wire, plain from a guest); for
/// the kernel bridge standing in for VLAN and QinQ, untagged; for the
/// ceiling, the guest's plain frame (a redirect looks at nothing, and a
/// plain frame fits the MTU of every port it passes).
fn frame_for(s: &Scenario, direction: Direction, path: PathKind, size: usize) -> Vec<u8> {
    let (vm1, vm2) = s.guests();
    let len = guest_len(size, s.mtu);
    let plain = path == PathKind::Ceiling
        || (path == PathKind::Kernel && matches!(s.zone, Zone::Vlan | Zone::Qinq));
    let encap = if plain { Encap::Untagged } else { s.encap };
    match direction {
        Direction::Wire => wire_frame(vm2, vm1, len, &encap),
        Direction::WireTap => wire_frame(vm2, s.tap_vm(), len, &encap),
        Direction::Guest => guest_frame(vm1, vm2, len),
    }
}

struct Measurement<'a> {
    s: &'a Scenario,
    settings: &'a Settings,
    cells: Vec<Cell>,
}

impl Measurement<'_> {
    /// Measures `path` for every direction and size, with `extra` held
    /// programs (forwarders) made per direction.
    fn all(
        &mut self,
        path: PathKind,
        daemon: Option<&Daemon>,
        warm: bool,
        forwarder: bool,
    ) -> anyhow::Result<()> {
        let world = &self.s.world;
        let tools = &self.settings.tools;
        for &direction in self.s.zone.directions() {
            let ends: Ends = self.s.ends(direction);
            for &size in &self.settings.sizes {
                if warm {
                    self.s.warm_up()?;
                }
                let frame = frame_for(self.s, direction, path, size);
                let fwd = if forwarder {
                    Some(Held::forwarder(world, tools, ends.ingress, ends.egress)?)
                } else {
                    None
                };
                // A tap's frames are counted as its VM stand-in reads them.
                let sink = if ends.counter == "rx_packets" {
                    Some(Held::sink(world, tools, ends.sink)?)
                } else {
                    None
                };
                let before = daemon
                    .map(|d| port_counters(d, world, ends.ingress.name))
                    .transpose()?;
                let measured = median_of_runs(
                    world,
                    tools,
                    ends.gen_out,
                    (ends.sink, ends.counter),
                    &frame,
                );
                let after = daemon
                    .map(|d| port_counters(d, world, ends.ingress.name))
                    .transpose()?;
                if let Some(sink) = sink {
                    sink.stop()?;
                }
                if let Some(f) = fwd {
                    f.stop()?;
                }
                let (rate, runs) = measured.with_context(|| {
                    format!(
                        "{} {} {size} B {}",
                        self.s.zone.name(),
                        direction.name(),
                        path.name()
                    )
                })?;
                let cell = Cell {
                    zone: self.s.zone,
                    direction,
                    size,
                    guest_len: guest_len(size, self.s.mtu),
                    sent_len: frame.len(),
                    path,
                    rate,
                    runs,
                    port: before.zip(after).map(|(b, a)| delta(b, a)),
                };
                eprintln!("{}", report::progress_line(&cell));
                self.cells.push(cell);
            }
        }
        Ok(())
    }
}

/// Measures the generator alone: out of `vm1`'s `eth0` into an XDP drop on
/// `veth101i0` (simple zone's world, nothing forwarding).
fn generator_alone(s: &Scenario, settings: &Settings) -> anyhow::Result<Vec<Cell>> {
    let ends = s.ends(Direction::Guest);
    let mut cells = Vec::new();
    for &size in &settings.sizes {
        let frame = frame_for(s, Direction::Guest, PathKind::Generator, size);
        let sink = Held::sink(&s.world, &settings.tools, ends.ingress)?;
        let measured = median_of_runs(
            &s.world,
            &settings.tools,
            ends.gen_out,
            (ends.ingress, "rx_packets"),
            &frame,
        );
        sink.stop()?;
        let (rate, runs) = measured?;
        let cell = Cell {
            zone: s.zone,
            direction: Direction::Guest,
            size,
            guest_len: frame.len(),
            sent_len: frame.len(),
            path: PathKind::Generator,
            rate,
            runs,
            port: None,
        };
        eprintln!("{}", report::progress_line(&cell));
        cells.push(cell);
    }
    Ok(cells)
}

/// Runs every path of `zone`; with `generator`, also the generator alone.
pub fn run_zone(zone: Zone, settings: &Settings, generator: bool) -> anyhow::Result<Vec<Cell>> {
    let s = Scenario::up(zone)?;
    // The VM stand-in lives as long as the world (VLAN, QinQ, VXLAN).
    let _vm = if zone.directions().contains(&Direction::WireTap) {
        let vm = s.tap_vm();
        let hello = FrameBuilder::new(vm.mac, EthernetAddress::BROADCAST)
            .arp_request(vm.ip, s.guests().1.ip);
        let held = Held::tap_vm(&s.world, &settings.tools, scenario::VM_TAP, &hello)?;
        s.plug_tap()?;
        Some(held)
    } else {
        None
    };
    let mut cells = if generator {
        generator_alone(&s, settings)?
    } else {
        Vec::new()
    };
    let mut m = Measurement {
        s: &s,
        settings,
        cells: Vec::new(),
    };
    m.all(PathKind::Ceiling, None, false, true)?;
    s.plain_bridge(true)?;
    let kernel_warm = matches!(zone, Zone::Simple | Zone::Vxlan);
    let kernel = m.all(PathKind::Kernel, None, kernel_warm, false);
    s.plain_bridge(false)?;
    kernel?;
    if let Some(xsdn) = &settings.baseline {
        let daemons = s.start_baseline(xsdn)?;
        let result = m.all(PathKind::Baseline, None, true, false);
        for d in daemons {
            d.stop()?;
        }
        result?;
    }
    for (path, on) in [(PathKind::Userspace, false), (PathKind::KernelTier, true)] {
        let daemons = s.start_daemons(on)?;
        let result = m.all(path, Some(&daemons[0]), true, false);
        for d in daemons {
            d.proc.stop()?;
        }
        result?;
    }
    cells.append(&mut m.cells);
    drop(s);
    Ok(cells)
}

/// Where the binaries are: next to the running one.
pub fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("binary has no directory")?;
    let path = dir.join(name);
    if !path.is_file() {
        anyhow::bail!(
            "{} not found next to {} (build the workspace binaries)",
            path.display(),
            exe.display()
        );
    }
    Ok(path)
}
