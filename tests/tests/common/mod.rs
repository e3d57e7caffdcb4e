//! Shared helpers of the zone and daemon tests: SDN configuration
//! directories, one `xsdn daemon` per node namespace, the control CLI
//! (`xsdn show|status|reload --json`), counters, and traffic assertions
//! that print the daemons' logs when they fail.
//!
//! Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use xsdn_testbed::cmd::Output;
use xsdn_testbed::pcap::CapturedFrame;
use xsdn_testbed::tcp::TcpReport;
use xsdn_testbed::topology::GuestKind;
use xsdn_testbed::{
    PingOpts, PingResult, Proc, Topology, UdpOpts, UdpReport, World, ensure_root, set_testbed_bin,
    wait_until,
};

/// The `xsdn` binary (see [`xsdn_testbed::xsdn_bin`]).
pub fn xsdn_bin() -> PathBuf {
    xsdn_testbed::xsdn_bin().unwrap_or_else(|e| panic!("{e:#}"))
}

fn bin_str() -> String {
    xsdn_bin().to_str().expect("utf-8 path").to_string()
}

/// Root check (fails, never skips), then the world of `topo`.
pub fn world(topo: &Topology) -> World {
    ensure_root().expect("privileged test: run as root");
    set_testbed_bin(env!("CARGO_BIN_EXE_xsdn-testbed"));
    World::up(topo).expect("bring up the topology")
}

/// MAC address of the examples' guest `n` (`52:54:00:00:00:<n>`).
pub fn vm_mac(n: u8) -> [u8; 6] {
    [0x52, 0x54, 0, 0, 0, n]
}

/// `aa:bb:..` form of a MAC.
pub fn mac_str(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Writes the SDN section-config files into `<world dir>/<name>` (created
/// if needed, files replaced) and returns the directory.
pub fn write_sdn(world: &World, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = world.dir().join(name);
    std::fs::create_dir_all(&dir).expect("create the SDN directory");
    for (file, text) in files {
        write_file(&dir.join(file), text);
    }
    dir
}

/// Replaces a file atomically (write + rename), so a polling daemon never
/// reads half of it.
pub fn write_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename {}: {e}", path.display()));
}

/// `xsdn check DIR`: must exit 0 (warnings allowed); returns its stderr.
pub fn check_config(dir: &Path) -> String {
    let out = std::process::Command::new(xsdn_bin())
        .arg("check")
        .arg(dir)
        .output()
        .expect("run xsdn check");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "xsdn check {} failed ({}):\n{stderr}{}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// A running `xsdn daemon` in one node namespace.
pub struct Daemon {
    /// The process (stopped when dropped, like every world process).
    pub proc: Proc,
    /// Node role (namespace) and `--node` name.
    pub node: String,
    /// Control socket.
    pub socket: PathBuf,
}

/// Starts `xsdn daemon --config DIR --node NODE --socket <world>/NODE.sock
/// --metrics off` in `node`'s namespace and waits until `xsdn status
/// --json` answers and lists every port of `ports`.
pub fn start_daemon(world: &World, node: &str, config: &Path, ports: &[&str]) -> Daemon {
    start_daemon_with(world, node, config, ports, &[])
}

/// [`start_daemon`] with extra daemon arguments.
pub fn start_daemon_with(
    world: &World,
    node: &str,
    config: &Path,
    ports: &[&str],
    extra: &[&str],
) -> Daemon {
    let bin = bin_str();
    let socket = world.dir().join(format!("{node}.sock"));
    let config_s = config.to_str().expect("utf-8 path").to_string();
    let socket_s = socket.to_str().expect("utf-8 path").to_string();
    let mut args = vec![
        bin.as_str(),
        "daemon",
        "--config",
        &config_s,
        "--node",
        node,
        "--socket",
        &socket_s,
        "--metrics",
        "off",
    ];
    args.extend_from_slice(extra);
    let proc = world.spawn(node, &args).expect("spawn xsdn daemon");
    let daemon = Daemon {
        proc,
        node: node.to_string(),
        socket,
    };
    let up = wait_until(Duration::from_secs(15), || {
        !daemon.proc.is_running()
            || daemon
                .try_json(world, &["status"])
                .is_ok_and(|s| ports.iter().all(|p| status_has_port(&s, p)))
    });
    assert!(
        up && daemon.proc.is_running(),
        "xsdn daemon on {node} did not come up with ports {ports:?} (running: {}):\nstatus: {}\n{}",
        daemon.proc.is_running(),
        daemon
            .try_json(world, &["status"])
            .map(|v| v.to_string())
            .unwrap_or_else(|e| e),
        daemon.logs()
    );
    daemon
}

fn status_has_port(status: &Value, port: &str) -> bool {
    status["ports"]
        .as_array()
        .is_some_and(|a| a.iter().any(|p| p["ifname"] == port))
}

impl Daemon {
    /// The daemon's stderr and stdout, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- xsdn daemon on {} (pid {}) stderr ---\n{}\n--- stdout ---\n{}",
            self.node,
            self.proc.pid(),
            self.proc.stderr().trim_end(),
            self.proc.stdout().trim_end()
        )
    }

    /// Logs plus `xsdn show counters` (ports, VNets, drops by reason, the
    /// kernel's AF_XDP statistics, XDP counters): what a failing traffic
    /// assertion prints.
    pub fn diag(&self, world: &World) -> String {
        let counters = self.cli(world, &["show", "counters"]);
        format!(
            "{}
--- xsdn show counters on {} ---
{}{}",
            self.logs(),
            self.node,
            counters.stdout,
            counters.stderr
        )
    }

    /// `xsdn ARGS... --socket SOCKET` in the node namespace, whatever the
    /// exit code.
    pub fn cli(&self, world: &World, args: &[&str]) -> Output {
        let bin = bin_str();
        let socket = self.socket.to_str().expect("utf-8 path").to_string();
        let mut argv = vec![bin.as_str()];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["--socket", &socket]);
        world
            .try_exec(&self.node, &argv)
            .unwrap_or_else(|e| panic!("running xsdn {args:?}: {e:#}"))
    }

    /// `xsdn ARGS... --json`, parsed, or the error text.
    pub fn try_json(&self, world: &World, args: &[&str]) -> Result<Value, String> {
        let mut argv = args.to_vec();
        argv.push("--json");
        let out = self.cli(world, &argv);
        if !out.success() {
            return Err(format!(
                "xsdn {} on {}: {} {}",
                argv.join(" "),
                self.node,
                out.status,
                out.stderr.trim()
            ));
        }
        serde_json::from_str(&out.stdout).map_err(|e| {
            format!(
                "xsdn {} printed no JSON ({e}): {}",
                argv.join(" "),
                out.stdout
            )
        })
    }

    /// `xsdn ARGS... --json`, parsed; panics with the daemon's logs.
    pub fn json(&self, world: &World, args: &[&str]) -> Value {
        self.try_json(world, args)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.logs()))
    }

    /// `xsdn status --json`.
    pub fn status(&self, world: &World) -> Value {
        self.json(world, &["status"])
    }

    /// `xsdn show TABLE --json`.
    pub fn show(&self, world: &World, table: &str) -> Value {
        self.json(world, &["show", table])
    }

    /// `xsdn show counters --json`.
    pub fn counters(&self, world: &World) -> Counters {
        Counters(self.show(world, "counters"))
    }

    /// Interface names in `xsdn show ports --json`.
    pub fn port_names(&self, world: &World) -> Vec<String> {
        names(&self.show(world, "ports"), "ifname")
    }

    /// VNet names in `xsdn show vnets --json`.
    pub fn vnet_names(&self, world: &World) -> Vec<String> {
        names(&self.show(world, "vnets"), "vnet")
    }

    /// Waits until `show ports` satisfies `pred`.
    pub fn wait_ports(
        &self,
        world: &World,
        timeout: Duration,
        pred: impl Fn(&[String]) -> bool,
    ) -> bool {
        wait_until(timeout, || {
            self.try_json(world, &["show", "ports"])
                .is_ok_and(|v| pred(&names(&v, "ifname")))
        })
    }

    /// Waits until `show ports` lists every one of `wanted`.
    pub fn wait_for_ports(&self, world: &World, timeout: Duration, wanted: &[&str]) -> bool {
        self.wait_ports(world, timeout, |p| {
            wanted.iter().all(|n| p.iter().any(|x| x == n))
        })
    }

    /// Asserts the daemon still runs.
    pub fn assert_running(&self) {
        assert!(
            self.proc.is_running(),
            "xsdn daemon on {} exited: {:?}\n{}",
            self.node,
            self.proc.try_status(),
            self.logs()
        );
    }
}

/// The `key` string of every element of a JSON array.
pub fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e[key].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `xsdn show counters --json`.
#[derive(Clone, Debug)]
pub struct Counters(pub Value);

impl Counters {
    fn find<'a>(&'a self, list: &str, key: &str, name: &str) -> &'a Value {
        self.0[list]
            .as_array()
            .and_then(|a| a.iter().find(|e| e[key] == name))
            .unwrap_or_else(|| panic!("no {list} entry {key}={name} in counters {}", self.0))
    }

    /// A VNet counter (`rx_packets`, `tx_bytes`, ...).
    pub fn vnet(&self, vnet: &str, field: &str) -> u64 {
        self.find("vnets", "vnet", vnet)[field]
            .as_u64()
            .unwrap_or_else(|| panic!("no VNet counter {field} for {vnet} in {}", self.0))
    }

    /// A VNet drop reason.
    pub fn vnet_drop(&self, vnet: &str, reason: &str) -> u64 {
        self.find("vnets", "vnet", vnet)["drops"][reason]
            .as_u64()
            .unwrap_or_else(|| panic!("no VNet drop {reason} for {vnet} in {}", self.0))
    }

    /// A port counter (`rx_packets`, ...).
    pub fn port(&self, port: &str, field: &str) -> u64 {
        self.find("ports", "ifname", port)[field]
            .as_u64()
            .unwrap_or_else(|| panic!("no port counter {field} for {port} in {}", self.0))
    }

    /// A port's kernel-tier counter (`rx_packets`, `tx_packets`,
    /// `punted`, ...); panics when the port has none (kernel tier off).
    pub fn kernel_tier(&self, port: &str, field: &str) -> u64 {
        self.find("ports", "ifname", port)["kernel_tier"][field]
            .as_u64()
            .unwrap_or_else(|| panic!("no kernel-tier counter {field} for {port} in {}", self.0))
    }

    /// A port drop reason.
    pub fn port_drop(&self, port: &str, reason: &str) -> u64 {
        self.find("ports", "ifname", port)["drops"][reason]
            .as_u64()
            .unwrap_or_else(|| panic!("no port drop {reason} for {port} in {}", self.0))
    }

    /// A drop reason summed over all ports and VNets (each frame is counted
    /// once per port and once per VNet, so this is either).
    pub fn drop_anywhere(&self, reason: &str) -> u64 {
        let sum = |list: &str| -> u64 {
            self.0[list]
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["drops"][reason].as_u64()).sum())
                .unwrap_or(0)
        };
        sum("ports").max(sum("vnets"))
    }

    /// `xdp.redirected`.
    pub fn xdp_redirected(&self) -> u64 {
        self.0["xdp"]["redirected"].as_u64().unwrap_or(0)
    }

    /// `xdp.to_host`: guest frames handed to the host's own stack.
    pub fn xdp_to_host(&self) -> u64 {
        self.0["xdp"]["to_host"].as_u64().unwrap_or(0)
    }
}

/// Whether the dataplane holds `iface` in `ns`: an XDP program or a tcx
/// program (guest ports of the kernel tier) is attached, as the kernel
/// reports it.
pub fn hooked(world: &World, ns: &str, iface: &str) -> bool {
    world
        .hooks(ns, iface)
        .unwrap_or_else(|e| panic!("hooks of {iface} in {ns}: {e:#}"))
        .any()
}

/// True if `iface` in `ns` has an XDP program attached.
pub fn has_xdp(world: &World, ns: &str, iface: &str) -> bool {
    let out = world
        .exec(ns, &["ip", "link", "show", "dev", iface])
        .unwrap_or_else(|e| panic!("ip link show {iface} in {ns}: {e:#}"));
    out.stdout.contains("prog/xdp") || out.stdout.contains(" xdp")
}

/// What a failing assertion prints after its message (daemon logs and
/// tables), computed only on failure.
pub type Logs<'a> = &'a dyn Fn() -> String;

/// No logs to print.
pub fn no_logs() -> String {
    String::new()
}

/// Pings and asserts every echo came back; `what` and `logs` explain a
/// failure.
pub fn assert_ping(
    world: &World,
    from: &str,
    dst: &str,
    opts: &PingOpts,
    what: &str,
    logs: Logs<'_>,
) -> PingResult {
    let r = world
        .ping_with(from, dst, opts)
        .unwrap_or_else(|e| panic!("{what}: ping {from} -> {dst}: {e:#}\n{}", logs()));
    assert!(
        r.all_received(),
        "{what}: ping {from} -> {dst} {opts:?} lost echoes: {r:?}\n{}",
        logs()
    );
    r
}

/// Quick ping options: `count` echoes 50 ms apart, 1 s wait.
pub fn quick(count: u32) -> PingOpts {
    PingOpts {
        count,
        interval: Duration::from_millis(50),
        wait: Duration::from_secs(1),
        ..PingOpts::default()
    }
}

/// Asserts that no echo comes back.
pub fn assert_no_ping(world: &World, from: &str, dst: &str, what: &str, logs: Logs<'_>) {
    let opts = PingOpts {
        count: 3,
        interval: Duration::from_millis(200),
        wait: Duration::from_millis(500),
        ..PingOpts::default()
    };
    let r = world
        .ping_with(from, dst, &opts)
        .unwrap_or_else(|e| panic!("{what}: ping {from} -> {dst}: {e:#}"));
    assert!(
        r.none_received(),
        "{what}: ping {from} -> {dst} must fail but got {r:?}\n{}",
        logs()
    );
}

/// UDP datagrams `from` -> `to` (default guest offloads): all arrive intact,
/// no checksum errors at the receiver. No retry: a lost datagram fails
/// the test (the sender paces itself, so the receiver's buffer does not
/// overflow; `UdpReport` tells that case apart).
pub fn assert_udp(
    world: &World,
    from: &str,
    to: &str,
    dst: &str,
    size: usize,
    what: &str,
    logs: Logs<'_>,
) -> UdpReport {
    let opts = UdpOpts {
        count: 200,
        size,
        ..UdpOpts::default()
    };
    let dst: IpAddr = dst.parse().expect("IP address");
    let r = world
        .udp_exchange(from, to, dst, &opts)
        .unwrap_or_else(|e| panic!("{what}: UDP {from} -> {to}: {e:#}\n{}", logs()));
    assert!(
        r.all_ok(),
        "{what}: UDP {from} -> {to} not intact (received {} of {}, bad payload {}, checksum errors {}): {r:?}\n{}",
        r.recv.received,
        r.send.sent,
        r.recv.bad_payload,
        r.csum_errors,
        logs()
    );
    r
}

/// Bytes every TCP transfer of the tests moves.
pub const TCP_BYTES: u64 = 32 << 20;

/// A TCP transfer of exactly [`TCP_BYTES`] from `client` to `server_ip`
/// (an address of `server`): every byte arrives, in order and intact (the
/// receiver checks each one), and the receiver's stack counts no TCP
/// checksum error.
pub fn assert_tcp(
    world: &World,
    client: &str,
    server: &str,
    server_ip: &str,
    what: &str,
    logs: Logs<'_>,
) -> TcpReport {
    let dst: IpAddr = server_ip.parse().expect("server address");
    let before = world.snmp(server).expect("snmp");
    let r = world
        .tcp_transfer(
            client,
            server,
            dst,
            5201,
            TCP_BYTES,
            Duration::from_secs(20),
        )
        .unwrap_or_else(|e| panic!("{what}: TCP {client} -> {server_ip}: {e:#}\n{}", logs()));
    let csum = world
        .snmp(server)
        .expect("snmp")
        .since(&before)
        .tcp_csum_errors();
    assert!(
        r.intact() && r.send.sent == TCP_BYTES,
        "{what}: TCP {client} -> {server_ip} did not deliver every byte: {r:?}\n{}",
        logs()
    );
    assert_eq!(
        csum,
        0,
        "{what}: TCP checksum errors at {server}\n{}",
        logs()
    );
    r
}

/// The node-side port of guest `guest` (`tap101i0` for a VM, `veth101i0`
/// for a container).
pub fn port(world: &World, guest: &str) -> String {
    world
        .guest_port(guest)
        .unwrap_or_else(|| panic!("no guest {guest}"))
        .port
        .clone()
}

/// Established traffic from `port` stayed in the kernel: between `before`
/// and `after` the kernel tier carried at least half of the frames the
/// port received (the rest: the first frames of each flow, broadcasts,
/// what the userspace pipeline decides).
pub fn assert_kernel_tier_carried(before: &Counters, after: &Counters, port: &str, what: &str) {
    let carried = delta(
        before.kernel_tier(port, "rx_packets"),
        after.kernel_tier(port, "rx_packets"),
    );
    let received = delta(
        before.port(port, "rx_packets"),
        after.port(port, "rx_packets"),
    );
    assert!(
        carried > 0 && carried * 2 >= received,
        "{what}: the kernel tier carried {carried} of the {received} frames {port} received\n{}",
        after.0
    );
}

/// A TCP stream between VM-like guests crossed as a virtio-net guest's
/// does: `sender`, if a VM, sent GSO super-frames, and `receiver`, if a VM,
/// received some (kept whole, or merged by GRO on the way from the wire).
/// Containers are not checked (their veths carry no such counters).
pub fn assert_super_frames(world: &World, sender: (&str, GuestKind), receiver: (&str, GuestKind)) {
    let stats = |guest: &str| {
        world
            .vm_tap_stats(guest)
            .unwrap_or_else(|e| panic!("relay counters of {guest}: {e:#}"))
    };
    if sender.1 == GuestKind::Vm {
        let s = stats(sender.0);
        assert!(
            s.gso_from_guest > 0,
            "{} sent no GSO super-frame: {s:?}",
            sender.0
        );
    }
    if receiver.1 == GuestKind::Vm {
        let r = stats(receiver.0);
        assert!(
            r.gso_to_guest > 0,
            "{} received no GSO super-frame: {r:?}",
            receiver.0
        );
    }
}

/// Deletes the neighbour caches of `guests`, so the next packet starts
/// with a broadcast ARP request.
pub fn flush_neighbours(world: &World, guests: &[&str]) {
    for g in guests {
        world
            .exec(g, &["ip", "neigh", "flush", "all"])
            .unwrap_or_else(|e| panic!("ip neigh flush in {g}: {e:#}"));
    }
}

/// Frames whose Ethernet source is `mac`.
pub fn from_mac(frames: &[CapturedFrame], mac: [u8; 6]) -> Vec<&CapturedFrame> {
    frames.iter().filter(|f| f.src_mac() == Some(mac)).collect()
}

/// Hex dump of a frame's first bytes, for failure messages.
pub fn hex(frame: &CapturedFrame) -> String {
    frame
        .data
        .iter()
        .take(64)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join("")
}

/// Sum of `f(counters)` deltas: `after - before`.
pub fn delta(before: u64, after: u64) -> u64 {
    after.saturating_sub(before)
}
