//! Privileged self-tests of the namespace test world. They need root and
//! **fail** (never skip) without it: run them with `cargo xtask test` or
//! `sudo -E cargo test -p xsdn-testbed`.

use std::collections::HashSet;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use xsdn_testbed::names::WorldId;
use xsdn_testbed::pcap::ETHERTYPE_IPV4;
use xsdn_testbed::sweep::list_namespaces;
use xsdn_testbed::sys::{self, Sig};
use xsdn_testbed::{
    IperfOpts, PingOpts, Topology, UdpOpts, World, ensure_root, examples, persist, set_testbed_bin,
    sweep_leftovers, wait_until,
};

const BIN: &str = env!("CARGO_BIN_EXE_xsdn-testbed");

/// Every privileged test starts here: fails (does not skip) without root.
fn setup() {
    ensure_root().expect("privileged test world");
    set_testbed_bin(BIN);
}

fn up(topo: &Topology) -> World {
    World::up(topo).unwrap_or_else(|e| panic!("World::up: {e:#}"))
}

fn live(names: &[String]) -> Vec<String> {
    let all: HashSet<String> = list_namespaces().unwrap().into_iter().collect();
    names.iter().filter(|n| all.contains(*n)).cloned().collect()
}

fn real_names(w: &World) -> Vec<String> {
    w.namespaces().iter().map(|(_, n)| n.clone()).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn check_example(name: &str) {
    setup();
    let topo = examples::by_name(name).unwrap();
    let w = up(&topo);
    let names = real_names(&w);
    assert_eq!(names.len(), topo.roles().len());
    assert_eq!(live(&names), names, "{name}: every namespace exists");
    for (role, ns) in w.namespaces() {
        assert!(
            ns.starts_with("xsdnt-") && ns.ends_with(&format!("-{role}")),
            "{ns}"
        );
    }
    for node in &topo.nodes {
        let links = w.exec(&node.name, &["ip", "-br", "link"]).unwrap().stdout;
        assert!(links.contains("vmbr0"), "{name}/{}: {links}", node.name);
        for b in &node.bridges {
            assert!(links.contains(&b.name), "{name}/{}: {links}", node.name);
        }
        if topo.switch.is_some() {
            let eno1 = w
                .exec(&node.name, &["ip", "-d", "link", "show", "eno1"])
                .unwrap()
                .stdout;
            assert!(
                eno1.contains("master vmbr0") && eno1.contains("state UP"),
                "{eno1}"
            );
        }
    }
    for g in &topo.guests {
        let port = w.guest_port(&g.name).unwrap();
        let shown = w
            .exec(&port.node, &["ip", "link", "show", &port.port])
            .unwrap()
            .stdout;
        assert!(
            shown.contains(&format!("master {}", port.bridge)),
            "{shown}"
        );
        let addr = w
            .exec(&g.name, &["ip", "-br", "addr", "show", "eth0"])
            .unwrap()
            .stdout;
        let want = g.address.as_deref().unwrap();
        assert!(addr.contains(want), "{addr}");
        // A tap's operstate reads UNKNOWN; the flags tell it is up with a
        // carrier (the relay holds it open).
        let link = w
            .exec(&g.name, &["ip", "link", "show", "eth0"])
            .unwrap()
            .stdout;
        assert!(link.contains(",UP,LOWER_UP"), "{link}");
        if let Some(mtu) = g.mtu {
            let l = w
                .exec(&g.name, &["ip", "link", "show", "eth0"])
                .unwrap()
                .stdout;
            assert!(l.contains(&format!("mtu {mtu}")), "{l}");
        }
    }
    drop(w);
    assert!(
        live(&names).is_empty(),
        "{name}: namespaces left after drop"
    );
}

#[test]
fn example_vlan_comes_up() {
    check_example("vlan");
}

#[test]
fn example_qinq_comes_up() {
    check_example("qinq");
}

#[test]
fn example_vxlan_comes_up() {
    check_example("vxlan");
}

#[test]
fn example_evpn_comes_up() {
    check_example("evpn");
}

#[test]
fn example_simple_comes_up() {
    check_example("simple");
}

#[test]
fn example_two_guests_one_node_comes_up() {
    check_example("two_guests_one_node");
}

#[test]
fn parallel_worlds_have_unique_names() {
    setup();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                let w = up(&examples::two_guests_one_node());
                let r = w.ping("a", "10.0.0.2", 1, ms(100), None).unwrap();
                assert!(r.all_received(), "{r:?}");
                (real_names(&w), w)
            })
        })
        .collect();
    let worlds: Vec<(Vec<String>, World)> =
        handles.into_iter().map(|h| h.join().unwrap()).collect();
    let a: HashSet<&String> = worlds[0].0.iter().collect();
    assert!(worlds[1].0.iter().all(|n| !a.contains(n)), "{:?}", worlds);
    let pid = std::process::id();
    assert!(worlds[0].0[0].starts_with(&format!("xsdnt-{pid}-")));
}

#[test]
fn guests_ping_through_the_node_bridge() {
    setup();
    let w = up(&examples::two_guests_one_node());
    let r = w.ping("a", "10.0.0.2", 3, ms(50), None).unwrap();
    assert!(r.all_received(), "{r:?}");
    let big = w.ping("b", "10.0.0.1", 2, ms(50), Some(1400)).unwrap();
    assert!(big.all_received(), "{big:?}");
    // Don't-fragment beyond the MTU fails locally.
    let df = PingOpts {
        count: 1,
        size: Some(1600),
        dont_fragment: true,
        ..PingOpts::new(1)
    };
    let r = w.ping_with("a", "10.0.0.2", &df).unwrap();
    assert_eq!(r.received, 0, "{r:?}");
}

#[test]
fn vxlan_nodes_ping_over_the_switch() {
    setup();
    let w = up(&examples::vxlan());
    let r = w.ping("node1", "192.168.0.3", 3, ms(50), None).unwrap();
    assert!(r.all_received(), "{r:?}");
    // Full-size frames cross the underlay (MTU 1500).
    let df = PingOpts {
        size: Some(1472),
        dont_fragment: true,
        interval: ms(50),
        ..PingOpts::new(2)
    };
    assert!(
        w.ping_with("node2", "192.168.0.1", &df)
            .unwrap()
            .all_received()
    );
    // Without the product nothing joins the guests: vm1 cannot reach vm2.
    let lone = PingOpts {
        wait: ms(300),
        ..PingOpts::new(1)
    };
    assert!(
        w.ping_with("vm1", "10.0.3.101", &lone)
            .unwrap()
            .none_received()
    );
}

#[test]
fn drop_removes_every_namespace_and_process() {
    setup();
    let w = up(&examples::simple());
    let names = real_names(&w);
    let dir = w.dir().to_path_buf();
    let sleeper = w.spawn("vm1", &["sleep", "100"]).unwrap();
    let pid = sleeper.pid();
    // A process not started through the world (e.g. a daemon) dies too.
    w.exec("node1", &["sh", "-c", "sleep 100 >/dev/null 2>&1 &"])
        .unwrap();
    std::mem::forget(sleeper);
    assert!(sys::pid_running(pid));
    drop(w);
    assert!(live(&names).is_empty());
    assert!(!dir.exists());
    assert!(wait_until(Duration::from_secs(2), || !sys::pid_running(
        pid
    )));
    let all = list_namespaces().unwrap();
    assert!(all.iter().all(|n| !names.contains(n)), "{all:?}");
}

#[test]
fn a_panic_still_tears_down() {
    setup();
    let names = std::sync::Mutex::new(Vec::new());
    let res = std::panic::catch_unwind(|| {
        let w = up(&examples::two_guests_one_node());
        names.lock().unwrap().extend(real_names(&w));
        panic!("test failure inside a world");
    });
    assert!(res.is_err());
    let names = names.into_inner().unwrap();
    assert_eq!(names.len(), 3);
    assert!(
        live(&names).is_empty(),
        "left after panic: {:?}",
        live(&names)
    );
}

#[test]
fn a_failed_build_leaves_nothing() {
    setup();
    // Valid on paper, refused by the kernel: IPv6 needs an MTU >= 1280.
    let topo = Topology::new()
        .node(xsdn_testbed::NodeSpec::new("failnode"))
        .guest(
            xsdn_testbed::GuestSpec::new("failvm", "failnode", "vmbr0")
                .mtu(1000)
                .address("fd00::1/64"),
        );
    let msg = format!("{:#}", World::up(&topo).unwrap_err());
    assert!(
        msg.contains("ip -n xsdnt-") && msg.contains("addr add fd00::1/64"),
        "{msg}"
    );
    assert!(msg.contains("stderr: RTNETLINK"), "quotes stderr: {msg}");
    let prefix = format!("xsdnt-{}-", std::process::id());
    let left: Vec<String> = list_namespaces()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with(&prefix) && (n.ends_with("-failnode") || n.ends_with("-failvm")))
        .collect();
    assert!(left.is_empty(), "left after a failed build: {left:?}");
}

fn pid_max() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Namespaces a test fabricates by hand; deleted on drop, even on failure.
struct Fabricated(Vec<String>);

impl Fabricated {
    fn add(&mut self, ns: &str) {
        ip_netns(&["add", ns]);
        self.0.push(ns.to_string());
    }
}

impl Drop for Fabricated {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = xsdn_testbed::teardown::delete_namespace(ns);
        }
    }
}

fn ip_netns(args: &[&str]) {
    let st = Command::new("ip").arg("netns").args(args).status().unwrap();
    assert!(st.success(), "ip netns {args:?}");
}

#[test]
fn sweep_removes_leftovers_of_dead_pids_only() {
    setup();
    let dead = pid_max() + 1; // no process can have this pid
    let me = std::process::id();
    let tag = format!("sw{me}");
    let leftover = WorldId::Auto { pid: dead, seq: 7 }.ns_name(&tag);
    let alive = WorldId::Auto {
        pid: me,
        seq: 999_999,
    }
    .ns_name(&tag);
    let manual = WorldId::manual(&tag).unwrap().ns_name("node1");
    let foreign = format!("xsdnfake-{dead}-7-{tag}");
    let prep = format!("xsdnfake-prep-{tag}");
    let mut made = Fabricated(Vec::new());
    for ns in [&alive, &manual, &foreign, &prep] {
        made.add(ns);
    }
    // A process left running inside the leftover: start it in a namespace
    // nobody sweeps, then give that namespace the leftover's name (other
    // tests and processes sweep concurrently and may remove it at once).
    let mut sleeper = Command::new("ip")
        .args(["netns", "exec", &prep, "sleep", "100"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = sleeper.id();
    let inside = || {
        let out = Command::new("ip")
            .args(["netns", "pids", &prep])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .any(|p| p == pid.to_string())
    };
    assert!(
        wait_until(Duration::from_secs(5), inside),
        "sleeper never entered {prep}"
    );
    let dir = std::env::temp_dir().join(WorldId::Auto { pid: dead, seq: 7 }.dir_name());
    std::fs::create_dir_all(&dir).unwrap();
    ip_netns(&["attach", &leftover, &pid.to_string()]);
    made.0.push(leftover.clone());

    // Check the outcome, not which sweep did it.
    sweep_leftovers().unwrap();
    let all: HashSet<String> = list_namespaces().unwrap().into_iter().collect();
    assert!(!all.contains(&leftover), "leftover of a dead pid survived");
    assert!(!dir.exists(), "temp dir of a dead pid survived");
    assert!(all.contains(&alive), "namespace of a live pid was swept");
    assert!(all.contains(&manual), "by-hand world was swept");
    assert!(all.contains(&foreign), "foreign namespace was swept");
    assert!(all.contains(&prep), "foreign namespace was swept");
    let gone = wait_until(Duration::from_secs(5), || {
        sleeper.try_wait().unwrap().is_some()
    });
    if !gone {
        let _ = sleeper.kill();
    }
    assert!(gone, "the process inside the leftover was not killed");
}

#[test]
fn capture_sees_icmp() {
    setup();
    let w = up(&examples::two_guests_one_node());
    let cap = w.capture("b", "eth0", "icmp").unwrap();
    let r = w.ping("a", "10.0.0.2", 3, ms(50), None).unwrap();
    assert!(r.all_received(), "{r:?}");
    let frames = cap.stop().unwrap();
    let requests: Vec<_> = frames
        .iter()
        .filter(|f| f.is_icmp() && f.src_mac() == Some([0x52, 0x54, 0, 0, 0, 1]))
        .collect();
    assert_eq!(requests.len(), 3, "{} frames", frames.len());
    for f in &requests {
        assert_eq!(f.inner_ethertype(), Some(ETHERTYPE_IPV4));
        assert!(f.vlan_tags().is_empty());
        let ip = f.ipv4().unwrap();
        assert_eq!(
            (ip.proto, ip.src, ip.dst),
            (1, [10, 0, 0, 1], [10, 0, 0, 2])
        );
    }
    assert_eq!(frames.iter().filter(|f| f.is_icmp()).count(), 6);
}

#[test]
fn udp_exchange_reports_no_checksum_errors() {
    setup();
    let w = up(&examples::two_guests_one_node());
    let opts = UdpOpts {
        count: 200,
        size: 1200,
        ..UdpOpts::default()
    };
    let r = w.udp_exchange("a", "b", ip("10.0.0.2"), &opts).unwrap();
    assert!(r.all_ok(), "{r:?}");
    assert_eq!(r.recv.received, 200);
    assert_eq!(r.csum_errors, 0);
    assert_eq!(r.receiver_counters.get("Udp.InDatagrams"), 200);
}

#[test]
fn iperf3_between_guests() {
    setup();
    let w = up(&examples::two_guests_one_node());
    let _server = w.iperf3_server("b", 5201).unwrap();
    let r = w
        .iperf3_client("a", "10.0.0.2", &IperfOpts::default())
        .unwrap();
    assert!(r.received_bytes > 1_000_000, "{r:?}");
    assert!(r.retransmits.is_some());
    let udp = IperfOpts {
        udp: true,
        bitrate: Some("10M".into()),
        ..IperfOpts::default()
    };
    let r = w.iperf3_client("a", "10.0.0.2", &udp).unwrap();
    assert!(r.sent_bytes > 0 && r.packets.unwrap_or(0) > 0, "{r:?}");
}

#[test]
fn processes_exec_and_errors() {
    setup();
    let w = up(&examples::simple());
    let err = w.exec("vm1", &["false"]).unwrap_err().to_string();
    assert!(
        err.contains(&format!("ip netns exec {} false", w.ns("vm1"))),
        "{err}"
    );
    assert!(!w.try_exec("vm1", &["false"]).unwrap().success());
    assert!(w.exec("nope", &["true"]).is_err());
    let err = w
        .exec("vm1", &["no-such-tool-xsdn"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("cargo xtask setup"), "{err}");

    let echo = w
        .spawn("vm1", &["sh", "-c", "echo hello; echo oops >&2"])
        .unwrap();
    let out = echo.wait_output(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("hello\n", "oops\n")
    );
    let logs = w.logs();
    assert!(
        logs.contains("hello") && logs.contains("oops") && logs.contains("==> "),
        "{logs}"
    );

    let crash = w.spawn("node1", &["sleep", "100"]).unwrap();
    assert!(crash.is_running());
    let out = crash.kill9().unwrap();
    assert!(!out.status.success() && !crash.is_running());
    assert!(crash.wait_output(ms(10)).is_ok());

    let stuck = w.spawn("node1", &["sleep", "100"]).unwrap();
    assert!(stuck.wait_output(ms(100)).is_err());
    let pid = stuck.pid();
    drop(stuck);
    assert!(!sys::pid_running(pid));
    w.sysctl("node1", "net.ipv4.ip_forward", "1").unwrap();
}

#[test]
fn by_hand_world_persists_until_down() {
    setup();
    let name = format!("selftest{}", std::process::id());
    let w = World::up_named(&examples::simple(), &name).unwrap();
    let names = real_names(&w);
    assert!(
        names
            .iter()
            .all(|n| n.starts_with(&format!("xsdnt-m-{name}-")))
    );
    assert!(
        World::up_named(&examples::simple(), &name).is_err(),
        "name taken"
    );
    let state = w.persist().unwrap();
    assert!(state.exists());
    assert_eq!(live(&names), names, "persisted world stays up");
    sweep_leftovers().unwrap();
    assert_eq!(live(&names), names, "the sweep leaves by-hand worlds alone");
    let removed = persist::down(&name).unwrap();
    assert_eq!(removed.len(), names.len());
    assert!(live(&names).is_empty() && !state.exists());
    assert!(persist::down(&name).is_err(), "already gone");
}

#[test]
fn ctrl_c_tears_down_and_exits_130() {
    setup();
    let out = std::env::temp_dir().join(format!("xsdn-testbed-run-{}.out", std::process::id()));
    let file = std::fs::File::create(&out).unwrap();
    let mut child = Command::new(BIN)
        .args(["run", "two_guests_one_node"])
        .stdout(file)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(10), || read().contains("ready:")),
        "{}",
        read()
    );
    let prefix = format!("xsdnt-{}-", child.id());
    let mine = || -> Vec<String> {
        list_namespaces()
            .unwrap()
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .collect()
    };
    assert_eq!(mine().len(), 3, "{}", read());
    assert!(sys::kill_pid(child.id(), Sig::Int));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(mine().is_empty(), "left after Ctrl-C: {:?}", mine());
    let _ = std::fs::remove_file(&out);
}

#[test]
fn cli_help_and_examples() {
    let help = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = help(&["--help"]);
    for word in [
        "up ",
        "run ",
        "down ",
        "list ",
        "sweep ",
        "examples ",
        "print ",
        "udp-send ",
        "udp-recv ",
    ] {
        assert!(text.contains(&format!("\n  {word}")), "help lacks {word}");
    }
    // No command: the same help, and success.
    assert_eq!(help(&[]), text);
    for (cmd, usage) in [
        ("up", "up [OPTIONS] <topology.toml|example>"),
        ("up", "--name <NAME>"),
        ("run", "run <topology.toml|example>"),
        ("down", "down <NAME>"),
        ("print", "print <example|file>"),
        ("udp-send", "--dst <IP:PORT> --count <N>"),
        ("udp-send", "--interval-us <US>"),
        ("udp-recv", "--bind <IP:PORT> --count <N>"),
        ("udp-recv", "--timeout-ms <MS>"),
    ] {
        let text = help(&[cmd, "--help"]);
        assert!(text.contains(usage), "{cmd} --help lacks {usage}: {text}");
    }
    let ex = Command::new(BIN).arg("examples").output().unwrap();
    assert!(String::from_utf8_lossy(&ex.stdout).contains("vxlan"));
    let bad = Command::new(BIN).arg("frobnicate").output().unwrap();
    assert!(!bad.status.success());
}

#[test]
fn without_root_the_world_refuses_with_a_reason() {
    setup();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
            "up",
            "simple",
        ])
        .output()
        .expect("setpriv (util-linux)");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs root") && err.contains("cargo xtask test"),
        "{err}"
    );
}

#[test]
fn by_hand_cli_up_list_down() {
    setup();
    let name = format!("cli{}", std::process::id());
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/topologies/qinq.toml");
    let run = |args: &[&str]| {
        let o = Command::new(BIN).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        text
    };
    let up = run(&["up", file, "--name", &name]);
    let node1 = format!("xsdnt-m-{name}-node1");
    assert!(up.contains(&format!("ip netns exec {node1} bash")), "{up}");
    assert!(up.contains("port tap104i0 on node2/myvnet2"), "{up}");
    assert!(run(&["list"]).contains(&format!("{name} ")));
    let down = run(&["down", &name]);
    assert!(down.contains("7 namespaces"), "{down}");
    let all = list_namespaces().unwrap();
    assert!(
        all.iter()
            .all(|n| !n.starts_with(&format!("xsdnt-m-{name}-"))),
        "{all:?}"
    );
}
