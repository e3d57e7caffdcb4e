//! `xsdn daemon` over its life (privileged; fails without root):
//!
//! - fail-open: on the spec's VXLAN example with the kernel-side devices
//!   Proxmox's generated interfaces file creates (`vxlan_myvnet1` in
//!   `myvnet1`), `kill -9` of node1's daemon detaches XDP and vm1<->vm2
//!   keep talking through the kernel; a restart takes over again; SIGTERM
//!   exits cleanly, detaches everything and removes the control socket;
//! - guest ports come and go while the daemon runs (bridge membership over
//!   netlink), no restart;
//! - configuration: an invalid reload is rejected with file/line messages
//!   and the last good tables stay in force; valid changes are picked up
//!   by `xsdn reload` and by editing the files alone, without disturbing
//!   running traffic; a zone whose `nodes` excludes this node is ignored.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use xsdn_testbed::ping::parse_ping;
use xsdn_testbed::sys::Sig;
use xsdn_testbed::{GuestSpec, NodeSpec, Topology, World, examples, kernel_vxlan, wait_until};

const VX_ZONES: &str =
    "vxlan: myvxlanzone\n\tpeers 192.168.0.1,192.168.0.2,192.168.0.3\n\tmtu 1450\n";
const VX_VNETS: &str = "vnet: myvnet1\n\tzone myvxlanzone\n\ttag 100000\n";

fn traffic(world: &World, what: &str, logs: Logs<'_>) -> u64 {
    let p = assert_ping(world, "vm1", "10.0.3.101", &quick(5), what, logs);
    let u = assert_udp(world, "vm1", "vm2", "10.0.3.101", 1000, what, logs);
    u64::from(p.transmitted + u.send.sent)
}

#[test]
fn kill9_fails_open_restart_takes_over_sigterm_detaches() {
    let world = world(&examples::vxlan());
    let config = write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", VX_ZONES), ("vnets.cfg", VX_VNETS)],
    );
    check_config(&config);
    // The reference for the kernel-side names, rendered on node1.
    let bin = xsdn_bin();
    let render = world
        .exec(
            "node1",
            &[
                bin.to_str().expect("utf-8"),
                "render",
                "--only",
                "sdn",
                "--node",
                "node1",
                "--config",
                config.to_str().expect("utf-8"),
            ],
        )
        .expect("xsdn render");
    assert!(
        render.stdout.contains("iface vxlan_myvnet1")
            && render.stdout.contains("bridge_ports vxlan_myvnet1"),
        "xsdn render names the kernel device differently:\n{}{}",
        render.stdout,
        render.stderr
    );
    for (node, local, peers) in [
        ("node1", "192.168.0.1", ["192.168.0.2", "192.168.0.3"]),
        ("node3", "192.168.0.3", ["192.168.0.1", "192.168.0.2"]),
    ] {
        kernel_vxlan(&world, node, "myvnet1", 100_000, local, &peers)
            .unwrap_or_else(|e| panic!("{node}: {e:#}"));
    }
    traffic(&world, "kernel path before any daemon", &no_logs);

    let d1 = start_daemon(&world, "node1", &config, &["tap101i0", "eno1"]);
    let d3 = start_daemon(&world, "node3", &config, &["tap102i0", "eno1"]);
    let logs = |d1: &Daemon| format!("{}\n{}", d1.diag(&world), d3.diag(&world));
    assert!(
        !d1.port_names(&world).iter().any(|p| p == "vxlan_myvnet1"),
        "the kernel's vxlan device was taken as a guest port"
    );
    let before = d1.counters(&world);
    let sent = traffic(&world, "through the daemons", &|| logs(&d1));
    let after = d1.counters(&world);
    let rx = delta(
        before.port("tap101i0", "rx_packets"),
        after.port("tap101i0", "rx_packets"),
    );
    assert!(
        rx >= sent,
        "the dataplane did not carry vm1's {sent} frames: +{rx}\n{}",
        after.0
    );

    // Crash: the kernel detaches XDP, the kernel path carries on.
    let out = d1.proc.kill9().expect("kill -9");
    assert!(!out.status.success(), "kill -9: {}", out.status);
    assert!(
        wait_until(Duration::from_secs(5), || !hooked(
            &world, "node1", "tap101i0"
        ) && !hooked(
            &world, "node1", "eno1"
        )),
        "a dataplane hook still attached on node1 after kill -9:\n{}",
        world
            .exec("node1", &["ip", "link"])
            .map(|o| o.stdout)
            .unwrap_or_default()
    );
    let before3 = d3.counters(&world);
    let sent = traffic(&world, "fail-open after kill -9", &|| d3.diag(&world));
    assert_tcp(
        &world,
        "vm1",
        "vm2",
        "10.0.3.101",
        "fail-open after kill -9",
        &|| d3.diag(&world),
    );
    let after3 = d3.counters(&world);
    let tx3 = delta(
        before3.port("tap102i0", "tx_packets"),
        after3.port("tap102i0", "tx_packets"),
    );
    assert!(
        tx3 >= sent,
        "node3's daemon should still deliver to vm2: +{tx3} < {sent}"
    );

    // Restart (the old socket file may still be there): it takes over.
    let d1 = start_daemon(&world, "node1", &config, &["tap101i0", "eno1"]);
    assert!(hooked(&world, "node1", "tap101i0") && hooked(&world, "node1", "eno1"));
    let before = d1.counters(&world);
    let sent = traffic(&world, "after the restart", &|| logs(&d1));
    assert_tcp(
        &world,
        "vm1",
        "vm2",
        "10.0.3.101",
        "after the restart",
        &|| logs(&d1),
    );
    let after = d1.counters(&world);
    let rx = delta(
        before.port("tap101i0", "rx_packets"),
        after.port("tap101i0", "rx_packets"),
    );
    assert!(
        rx >= sent,
        "the restarted daemon did not take over: +{rx} < {sent}\n{}",
        after.0
    );

    // Clean stop: exit 0, everything detached, socket gone, still fail-open.
    let socket = d1.socket.clone();
    let out = d1.proc.stop_with(Duration::from_secs(5)).expect("SIGTERM");
    assert!(
        out.status.success(),
        "SIGTERM: exit {} (a SIGKILL after 5 s counts as failure)\n{}",
        out.status,
        out.stderr
    );
    assert!(
        !hooked(&world, "node1", "tap101i0"),
        "a dataplane hook left on tap101i0"
    );
    assert!(
        !hooked(&world, "node1", "eno1"),
        "a dataplane hook left on eno1"
    );
    assert!(
        !Path::new(&socket).exists(),
        "control socket {} left behind",
        socket.display()
    );
    traffic(&world, "kernel path after SIGTERM", &|| d3.diag(&world));
    d3.assert_running();
}

/// The managed neighbour entries the daemon asks the kernel for (so VXLAN
/// next hops resolve before the first frame) are its own: a clean stop
/// removes them.
#[test]
fn a_clean_stop_removes_the_managed_neighbour_entries_it_made() {
    let world = world(&examples::vxlan());
    let config = write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", VX_ZONES), ("vnets.cfg", VX_VNETS)],
    );
    let managed = || {
        world
            .exec("node1", &["ip", "-d", "neigh", "show"])
            .map(|o| {
                o.stdout
                    .lines()
                    .filter(|l| l.contains("managed"))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert!(
        managed().is_empty(),
        "managed entries before any daemon: {:?}",
        managed()
    );
    let d1 = start_daemon(&world, "node1", &config, &["tap101i0", "eno1"]);
    assert!(
        wait_until(Duration::from_secs(5), || !managed().is_empty()),
        "the daemon made no managed neighbour entry for its unresolved peers: the test proves nothing\n{}",
        d1.diag(&world)
    );
    let out = d1.proc.stop_with(Duration::from_secs(5)).expect("SIGTERM");
    assert!(
        out.status.success(),
        "SIGTERM: {}\n{}",
        out.status,
        out.stderr
    );
    assert!(
        managed().is_empty(),
        "managed neighbour entries left behind: {:?}",
        managed()
    );
}

/// A simple zone on node1 (`vnet0`: vm1, vm2), a bridge `parking` outside
/// the configuration (vm3, vm4).
fn ports_topology() -> Topology {
    let vm = |name: &str, bridge: &str, addr: &str, n: u8| {
        GuestSpec::new(name, "node1", bridge)
            .address(addr)
            .mac(&mac_str(vm_mac(n)))
    };
    Topology::new()
        .node(NodeSpec::new("node1").bridge("vnet0").bridge("parking"))
        .guest(vm("vm1", "vnet0", "10.0.0.2/24", 1))
        .guest(vm("vm2", "vnet0", "10.0.0.3/24", 2))
        .guest(vm("vm3", "parking", "10.0.0.4/24", 3))
        .guest(vm("vm4", "parking", "10.0.0.5/24", 4))
}

/// `xsdn daemon` on node1 of [`ports_topology`], serving `vnet0` as a
/// simple zone (vm1's and vm2's ports).
fn simple_zone_on_vnet0(world: &World) -> Daemon {
    let config = write_sdn(
        world,
        "sdn",
        &[
            ("zones.cfg", "simple: simple1\n"),
            ("vnets.cfg", "vnet: vnet0\n\tzone simple1\n"),
        ],
    );
    start_daemon(world, "node1", &config, &["tap101i0", "tap102i0"])
}

#[test]
fn guest_ports_come_and_go_without_a_restart() {
    let world = world(&ports_topology());
    let d = simple_zone_on_vnet0(&world);
    let logs = || d.diag(&world);
    let ports = d.port_names(&world);
    assert!(
        !ports.iter().any(|p| p == "tap103i0" || p == "tap104i0"),
        "ports of a bridge outside the configuration were taken: {ports:?}"
    );
    assert!(!hooked(&world, "node1", "tap103i0"));
    assert_ping(&world, "vm1", "10.0.0.3", &quick(3), "vnet0", &logs);

    // A guest moves into the VNet bridge (Proxmox plugs a tap the same way).
    let n1 = |args: &[&str]| {
        world
            .exec("node1", args)
            .unwrap_or_else(|e| panic!("{e:#}"));
    };
    n1(&["ip", "link", "set", "tap103i0", "nomaster"]);
    n1(&["ip", "link", "set", "tap103i0", "master", "vnet0"]);
    assert!(
        d.wait_ports(&world, Duration::from_secs(5), |p| p
            .iter()
            .any(|n| n == "tap103i0")),
        "tap103i0 not taken over 5 s after joining vnet0\n{}",
        logs()
    );
    assert!(
        hooked(&world, "node1", "tap103i0"),
        "no dataplane hook on tap103i0"
    );
    let before = d.counters(&world);
    let p = assert_ping(
        &world,
        "vm3",
        "10.0.0.2",
        &quick(5),
        "new port tap103i0",
        &logs,
    );
    assert_udp(
        &world,
        "vm3",
        "vm1",
        "10.0.0.2",
        1000,
        "new port tap103i0",
        &logs,
    );
    let after = d.counters(&world);
    let rx = delta(
        before.port("tap103i0", "rx_packets"),
        after.port("tap103i0", "rx_packets"),
    );
    assert!(
        rx >= u64::from(p.transmitted),
        "tap103i0 rx +{rx}\n{}",
        after.0
    );

    // A brand-new interface: vm4's old port is deleted, a new veth created
    // and enslaved to vnet0.
    let vm4_ns = world.ns("vm4").to_string();
    n1(&["ip", "link", "del", "tap104i0"]);
    n1(&[
        "ip", "link", "add", "tap109i0", "type", "veth", "peer", "name", "eth0", "netns", &vm4_ns,
    ]);
    n1(&["ip", "link", "set", "tap109i0", "master", "vnet0", "up"]);
    for args in [
        &["ip", "link", "set", "eth0", "address", "52:54:00:00:00:04"][..],
        &["ip", "addr", "add", "10.0.0.5/24", "dev", "eth0"],
        &["ip", "link", "set", "eth0", "up"],
    ] {
        world.exec("vm4", args).expect("vm4 eth0");
    }
    assert!(
        d.wait_ports(&world, Duration::from_secs(5), |p| p
            .iter()
            .any(|n| n == "tap109i0")),
        "new interface tap109i0 not taken over within 5 s\n{}",
        logs()
    );
    assert!(
        !d.port_names(&world).iter().any(|n| n == "tap104i0"),
        "deleted tap104i0 still listed"
    );
    assert_ping(
        &world,
        "vm4",
        "10.0.0.2",
        &quick(5),
        "new port tap109i0",
        &logs,
    );
    assert_ping(
        &world,
        "vm4",
        "10.0.0.4",
        &quick(5),
        "tap109i0 <-> tap103i0",
        &logs,
    );
    let c = d.counters(&world);
    assert!(
        c.port("tap109i0", "rx_packets") >= 10,
        "tap109i0 counters: {}",
        c.0
    );

    // Ports go: one deleted, one unplugged (given back to the kernel).
    n1(&["ip", "link", "del", "tap109i0"]);
    n1(&["ip", "link", "set", "tap103i0", "nomaster"]);
    assert!(
        d.wait_ports(&world, Duration::from_secs(5), |p| {
            !p.iter().any(|n| n == "tap109i0" || n == "tap103i0")
        }),
        "removed ports still listed after 5 s: {:?}\n{}",
        d.port_names(&world),
        logs()
    );
    assert!(
        wait_until(Duration::from_secs(5), || !hooked(
            &world, "node1", "tap103i0"
        )),
        "XDP still on the unplugged tap103i0"
    );
    assert_ping(
        &world,
        "vm1",
        "10.0.0.3",
        &quick(5),
        "vnet0 after churn",
        &logs,
    );
    assert_udp(
        &world,
        "vm1",
        "vm2",
        "10.0.0.3",
        1000,
        "vnet0 after churn",
        &logs,
    );
    d.assert_running();
}

/// A steady stream of kernel notifications (here about 100 neighbour
/// events a second on the VNet bridge, what a guest sending ARP from fresh
/// MACs causes) must not postpone re-planning for ever: a port that joins
/// the VNet meanwhile is taken over within 2 s.
#[test]
fn a_stream_of_kernel_events_does_not_postpone_taking_over_a_port() {
    let world = world(&ports_topology());
    let d = simple_zone_on_vnet0(&world);
    let logs = || d.diag(&world);
    let noise = world
        .spawn(
            "node1",
            &[
                "sh",
                "-c",
                "while :; do ip neigh replace 10.9.9.1 lladdr 02:00:00:00:09:01 dev vnet0; \
                 ip neigh del 10.9.9.1 dev vnet0; sleep 0.01; done",
            ],
        )
        .expect("netlink noise");
    std::thread::sleep(Duration::from_millis(500));
    let n1 = |args: &[&str]| {
        world
            .exec("node1", args)
            .unwrap_or_else(|e| panic!("{e:#}"));
    };
    n1(&["ip", "link", "set", "tap103i0", "nomaster"]);
    n1(&["ip", "link", "set", "tap103i0", "master", "vnet0"]);
    let taken = d.wait_ports(&world, Duration::from_secs(2), |p| {
        p.iter().any(|n| n == "tap103i0")
    });
    assert!(noise.is_running(), "the noise stopped: {}", noise.stderr());
    drop(noise);
    assert!(
        taken,
        "tap103i0 not taken over within 2 s of joining vnet0 under netlink noise\n{}",
        logs()
    );
    d.assert_running();
}

/// Sends one raw request line to a daemon's control socket; returns the
/// answer line.
fn raw_request(socket: &Path, line: &str) -> String {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket)
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", socket.display()));
    stream
        .write_all(format!("{line}\n").as_bytes())
        .expect("request");
    let mut answer = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut answer)
        .expect("answer");
    answer
}

/// A worker that dies (`panic`) or stops making progress (`hang`, through
/// the debug builds' fault hook) makes the daemon exit non-zero within a
/// few seconds, so systemd restarts it; its programs go with it and the
/// kernel bridge forwards meanwhile.
fn worker_failure_ends_the_daemon_and_fails_open(fault: &str, status: i32) {
    let world = world(&ports_topology());
    let d = simple_zone_on_vnet0(&world);
    let logs = || d.diag(&world);
    assert_ping(
        &world,
        "vm1",
        "10.0.0.3",
        &quick(3),
        "before the fault",
        &logs,
    );
    assert!(hooked(&world, "node1", "tap101i0"));

    let answer = raw_request(
        &d.socket,
        &format!(r#"{{"request":"fault","fault":"{fault}"}}"#),
    );
    assert!(answer.contains(r#""ok":true"#), "fault request: {answer}");
    let injected = std::time::Instant::now();
    // Scrape-like requests while the worker is failing must not hold the
    // daemon (its watchdog runs on the same loop): a few `status` calls,
    // each asking the worker.
    for _ in 0..3 {
        let _ = d.cli(&world, &["status"]);
    }
    let exit = d
        .proc
        .wait(Duration::from_secs(8))
        .expect("wait")
        .unwrap_or_else(|| {
            panic!(
                "the daemon still runs 8 s after a worker {fault}\n{}",
                logs()
            )
        });
    assert!(
        injected.elapsed() < Duration::from_secs(8),
        "the daemon took {:?} to end after a worker {fault}",
        injected.elapsed()
    );
    assert_eq!(
        exit.code(),
        Some(status),
        "exit status after a worker {fault}\n{}",
        d.proc.stderr()
    );
    assert!(
        wait_until(Duration::from_secs(5), || !hooked(
            &world, "node1", "tap101i0"
        )),
        "a dataplane hook still on tap101i0 after the daemon ended"
    );
    assert_ping(
        &world,
        "vm1",
        "10.0.0.3",
        &quick(3),
        "fail-open after the fault",
        &no_logs,
    );
}

#[test]
fn a_worker_panic_ends_the_daemon_non_zero_and_fails_open() {
    worker_failure_ends_the_daemon_and_fails_open("worker_panic", 1);
}

#[test]
fn a_worker_hang_ends_the_daemon_non_zero_and_fails_open() {
    worker_failure_ends_the_daemon_and_fails_open("worker_hang", 70);
}

/// node1 with three VNet bridges: `vnet0` (vm1, vm2 in 10.0.0.0/24),
/// `vnet1` (vm3, vm4 in 10.0.1.0/24), `vnet2` (vm5, vm6 in 10.0.2.0/24).
fn config_topology() -> Topology {
    let mut t = Topology::new().node(
        NodeSpec::new("node1")
            .bridge("vnet0")
            .bridge("vnet1")
            .bridge("vnet2"),
    );
    for n in 1..=6u8 {
        let net = (n - 1) / 2;
        let host = 2 + (n - 1) % 2;
        t = t.guest(
            GuestSpec::new(&format!("vm{n}"), "node1", &format!("vnet{net}"))
                .address(&format!("10.0.{net}.{host}/24"))
                .mac(&mac_str(vm_mac(n))),
        );
    }
    t
}

const ZONES_A: &str = "simple: simple1\n\nsimple: other\n\tnodes node2\n";
const VNETS_A: &str = "vnet: vnet0\n\tzone simple1\n\nvnet: vnet2\n\tzone other\n";
const ZONES_BAD: &str =
    "simple: simple1\n\nsimple: other\n\tnodes node2\n\nvlan: vlz\n\tbridge vmbr0\n";
const VNETS_BAD: &str = "vnet: vnet0\n\tzone simple1\n\nvnet: vnet2\n\tzone other\n\nvnet: bad\n\tzone vlz\n\ttag 5000\n";
const VNETS_B: &str =
    "vnet: vnet0\n\tzone simple1\n\nvnet: vnet1\n\tzone simple1\n\nvnet: vnet2\n\tzone other\n";
const ZONES_C: &str = "simple: simple1\n\nsimple: other\n\tnodes node1,node2\n";

#[test]
fn reload_rejects_bad_config_keeps_tables_and_follows_changes() {
    let world = world(&config_topology());
    let config = write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", ZONES_A), ("vnets.cfg", VNETS_A)],
    );
    check_config(&config);
    let d = start_daemon(&world, "node1", &config, &["tap101i0", "tap102i0"]);
    let logs = || d.diag(&world);

    // Zone `other` is for node2 only: vnet2 is not served here.
    assert_eq!(d.vnet_names(&world), ["vnet0"], "{}", logs());
    let ports = d.port_names(&world);
    assert!(
        !ports.iter().any(|p| p == "tap105i0" || p == "tap106i0"),
        "ports of vnet2 (zone for node2) were taken: {ports:?}"
    );
    assert!(
        !hooked(&world, "node1", "tap105i0"),
        "a dataplane hook on tap105i0"
    );
    let generation = d.status(&world)["config_generation"]
        .as_u64()
        .expect("generation");

    // Traffic that must not notice any of the reloads below.
    let background = world
        .spawn(
            "vm1",
            &[
                "ping", "-n", "-c", "160", "-i", "0.05", "-W", "1", "10.0.0.3",
            ],
        )
        .expect("background ping");
    let before = d.counters(&world);

    // An invalid configuration: rejected as a whole, old tables in force.
    write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", ZONES_BAD), ("vnets.cfg", VNETS_BAD)],
    );
    let out = d.cli(&world, &["reload"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "xsdn reload of an invalid config: {}\n{}{}",
        out.status,
        out.stdout,
        out.stderr
    );
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("vnets.cfg:") && said.contains("5000"),
        "xsdn reload does not say what is wrong (file:line, tag 5000): {said}"
    );
    let status = d.status(&world);
    assert_eq!(status["last_reload"]["ok"], false, "{status}");
    let messages = status["last_reload"]["messages"].to_string();
    assert!(
        messages.contains("vnets.cfg:") && messages.contains("5000"),
        "status does not show the rejection with file/line: {status}"
    );
    assert!(
        status["reloads_failed"].as_u64().unwrap_or(0) >= 1,
        "{status}"
    );
    assert_eq!(
        status["config_generation"].as_u64(),
        Some(generation),
        "{status}"
    );
    assert_eq!(
        d.vnet_names(&world),
        ["vnet0"],
        "tables changed after a rejected config"
    );
    assert_ping(
        &world,
        "vm2",
        "10.0.0.2",
        &quick(5),
        "after a rejected reload",
        &logs,
    );
    let mid = d.counters(&world);
    assert!(
        delta(
            before.port("tap101i0", "rx_packets"),
            mid.port("tap101i0", "rx_packets")
        ) > 0,
        "vnet0 traffic stopped going through the dataplane\n{}",
        mid.0
    );

    // A valid change, by `xsdn reload`: a second VNet.
    write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", ZONES_A), ("vnets.cfg", VNETS_B)],
    );
    let out = d.cli(&world, &["reload"]);
    assert!(
        out.success(),
        "xsdn reload of a valid config: {}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        d.wait_for_ports(
            &world,
            Duration::from_secs(5),
            &["tap101i0", "tap102i0", "tap103i0", "tap104i0"]
        ),
        "vnet1's ports not taken after reload: {:?}\n{}",
        d.port_names(&world),
        logs()
    );
    assert_eq!(d.vnet_names(&world), ["vnet0", "vnet1"], "{}", logs());
    let c0 = d.counters(&world);
    let p = assert_ping(
        &world,
        "vm3",
        "10.0.1.3",
        &quick(5),
        "vnet1 after reload",
        &logs,
    );
    let c1 = d.counters(&world);
    assert!(
        delta(
            c0.vnet("vnet1", "rx_packets"),
            c1.vnet("vnet1", "rx_packets")
        ) >= u64::from(p.transmitted),
        "vnet1 traffic not through the dataplane\n{}",
        c1.0
    );

    // A valid change by editing the files only: zone `other` now includes
    // node1, so vnet2 is served (the daemon polls every second).
    write_sdn(&world, "sdn", &[("zones.cfg", ZONES_C)]);
    assert!(
        d.wait_for_ports(&world, Duration::from_secs(6), &["tap105i0", "tap106i0"]),
        "the edited files were not picked up within 6 s: {:?}\n{}",
        d.port_names(&world),
        logs()
    );
    assert_eq!(
        d.vnet_names(&world),
        ["vnet0", "vnet1", "vnet2"],
        "{}",
        logs()
    );
    let c0 = d.counters(&world);
    let p = assert_ping(
        &world,
        "vm5",
        "10.0.2.3",
        &quick(5),
        "vnet2 after the edit",
        &logs,
    );
    let c1 = d.counters(&world);
    assert!(
        delta(
            c0.vnet("vnet2", "rx_packets"),
            c1.vnet("vnet2", "rx_packets")
        ) >= u64::from(p.transmitted),
        "vnet2 traffic not through the dataplane\n{}",
        c1.0
    );
    let status = d.status(&world);
    assert_eq!(status["last_reload"]["ok"], true, "{status}");

    // The running ping saw none of it.
    let out = background
        .wait_output(Duration::from_secs(20))
        .expect("background ping ends");
    let r = parse_ping(&out.stdout).expect("ping summary");
    assert!(
        r.all_received(),
        "vm1 -> vm2 lost echoes across the reloads: {r:?}\n{}",
        logs()
    );
    let end = d.counters(&world);
    assert!(
        delta(
            before.port("tap101i0", "rx_packets"),
            end.port("tap101i0", "rx_packets")
        ) >= u64::from(r.transmitted),
        "the background ping did not go through the dataplane\n{}",
        end.0
    );
    d.assert_running();
}

#[test]
fn sighup_reloads_and_show_filters_narrow_the_tables() {
    let world = world(&config_topology());
    let config = write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", ZONES_A), ("vnets.cfg", VNETS_A)],
    );
    // No file polling: only the signal can make the daemon see the change.
    let d = start_daemon_with(
        &world,
        "node1",
        &config,
        &["tap101i0", "tap102i0"],
        &["--config-poll-ms", "600000"],
    );
    let logs = || d.diag(&world);
    write_sdn(
        &world,
        "sdn",
        &[("zones.cfg", ZONES_A), ("vnets.cfg", VNETS_B)],
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(d.vnet_names(&world), ["vnet0"], "changed without a signal");
    d.proc.signal(Sig::Hup);
    assert!(
        d.wait_for_ports(&world, Duration::from_secs(5), &["tap103i0", "tap104i0"]),
        "SIGHUP did not load vnet1: {:?}\n{}",
        d.vnet_names(&world),
        logs()
    );
    assert_eq!(d.vnet_names(&world), ["vnet0", "vnet1"], "{}", logs());
    assert_ping(&world, "vm1", "10.0.0.3", &quick(2), "vnet0", &logs);
    assert_ping(&world, "vm3", "10.0.1.3", &quick(2), "vnet1", &logs);

    // Filters narrow every table to what they name.
    let only = |args: &[&str], key: &str| names(&d.json(&world, args), key);
    assert_eq!(
        only(&["show", "vnets", "--vnet", "vnet1"], "vnet"),
        ["vnet1"]
    );
    assert_eq!(
        only(&["show", "vnets", "--zone", "simple1"], "vnet"),
        ["vnet0", "vnet1"]
    );
    assert_eq!(
        only(&["show", "ports", "--port", "tap103i0"], "ifname"),
        ["tap103i0"]
    );
    let fdb_vnet0 = only(&["show", "fdb", "--vnet", "vnet0"], "vnet");
    assert!(
        !fdb_vnet0.is_empty() && fdb_vnet0.iter().all(|v| v == "vnet0"),
        "{fdb_vnet0:?}"
    );
    let fdb_port = only(&["show", "fdb", "--port", "tap101i0"], "ifname");
    assert_eq!(fdb_port, ["tap101i0"], "vm1's MAC only");
    let bad = d.cli(&world, &["show", "fdb", "--vnet", "nope"]);
    assert_eq!(bad.status.code(), Some(1), "{}{}", bad.stdout, bad.stderr);
    assert!(
        bad.stderr.contains("unknown VNet 'nope'") && bad.stderr.trim().lines().count() == 1,
        "not one clear line: {}",
        bad.stderr
    );
    d.assert_running();
}
