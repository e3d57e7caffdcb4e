//! Operations (privileged; fail without root): Prometheus metrics scraped
//! by a real Prometheus, reloads under traffic, rejected configurations.

use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use xsdn_testbed::{
    Daemon, DaemonOpts, UdpOpts, World, ensure_root, examples, set_testbed_bin, start_daemon,
    wait_until, write_config,
};

const ZONES: &str = "simple: simple1\n";
const VNETS: &str = "vnet: vnet0\n\tzone simple1\n";

/// The tests of this file run one at a time: the reload test counts every
/// datagram of a steady flow, and a Prometheus server starting next to it
/// on a 2-core machine can starve the guests' veth queues.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Takes this file's turn (see [`ONE_AT_A_TIME`]); a failed test does not
/// block the others.
fn turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner)
}

fn world() -> World {
    ensure_root().expect("privileged test");
    set_testbed_bin(env!("CARGO_BIN_EXE_xsdn-testbed"));
    World::up(&examples::simple()).expect("topology")
}

/// `xsdn daemon` on node1 with its metrics on 127.0.0.1:19469 (inside
/// node1's namespace).
fn daemon_with_metrics(world: &World, config: &std::path::Path) -> Daemon {
    start_daemon(
        world,
        "node1",
        config,
        &DaemonOpts {
            metrics: Some("127.0.0.1:19469".into()),
            ..DaemonOpts::default()
        },
    )
    .expect("daemon")
}

fn curl(world: &World, url: &str) -> String {
    let out = world
        .exec("node1", &["curl", "-sf", "--max-time", "5", url])
        .unwrap_or_else(|e| panic!("curl {url}: {e:#}"));
    out.stdout
}

/// The value of a Prometheus instant query (None while there is no sample).
fn prometheus_value(world: &World, query: &str) -> Option<f64> {
    let url = format!(
        "http://127.0.0.1:19090/api/v1/query?query={}",
        query
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22")
            .replace('=', "%3D")
    );
    let out = world
        .exec("node1", &["curl", "-sf", "--max-time", "5", &url])
        .ok()?;
    let v: serde_json::Value = serde_json::from_str(&out.stdout).ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[test]
fn metrics_pass_promtool_and_a_real_prometheus_sees_the_vnet_counter_rise() {
    let _turn = turn();
    let world = world();
    let config =
        write_config(&world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]).expect("config");
    let daemon = daemon_with_metrics(&world, &config);
    let ping = world
        .ping("vm1", "10.0.0.3", 3, Duration::from_millis(50), None)
        .expect("ping");
    assert!(ping.all_received(), "{ping:?}");

    // Loopback only, by default and here.
    let listening = world.exec("node1", &["ss", "-ltn"]).expect("ss").stdout;
    assert!(listening.contains("127.0.0.1:19469"), "{listening}");

    // The exposition is valid Prometheus text format.
    let body = curl(&world, "http://127.0.0.1:19469/metrics");
    for name in [
        "xsdn_build_info",
        "xsdn_config_generation 1",
        "xsdn_vnet_rx_packets_total{vnet=\"vnet0\",zone=\"simple1\",encap=\"local\",tag=\"\"}",
        "xsdn_port_drops_total{port=",
        "xsdn_xsk_rx_dropped_total{port=",
        "xsdn_fdb_entries",
    ] {
        assert!(body.contains(name), "missing {name} in:\n{body}");
    }
    let file = world.dir().join("metrics.txt");
    std::fs::write(&file, &body).expect("write");
    let check = world
        .try_exec(
            "node1",
            &[
                "sh",
                "-c",
                &format!("promtool check metrics < {}", file.display()),
            ],
        )
        .expect("promtool");
    assert!(
        check.success(),
        "promtool check metrics failed:\n{}{}",
        check.stdout,
        check.stderr
    );

    // A real Prometheus scrapes the daemon every second.
    let prom_dir = world.dir().join("prometheus");
    std::fs::create_dir_all(prom_dir.join("data")).expect("dir");
    let prom_config = prom_dir.join("prometheus.yml");
    std::fs::write(
        &prom_config,
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: xsdn\n    static_configs:\n      - targets: ['127.0.0.1:19469']\n",
    )
    .expect("write");
    let prom = world
        .spawn(
            "node1",
            &[
                "prometheus",
                &format!("--config.file={}", prom_config.display()),
                &format!("--storage.tsdb.path={}", prom_dir.join("data").display()),
                "--web.listen-address=127.0.0.1:19090",
            ],
        )
        .expect("prometheus");
    let query = "sum(xsdn_vnet_rx_packets_total{vnet=\"vnet0\"})";
    let mut first = None;
    assert!(
        wait_until(Duration::from_secs(30), || {
            first = prometheus_value(&world, query);
            first.is_some()
        }),
        "Prometheus never scraped the daemon:\n{}",
        prom.stderr()
    );
    let first = first.expect("value");
    let more = world
        .ping("vm1", "10.0.0.3", 20, Duration::from_millis(20), None)
        .expect("ping");
    assert!(more.all_received());
    let mut last = first;
    let rose = wait_until(Duration::from_secs(20), || {
        last = prometheus_value(&world, query).unwrap_or(first);
        last >= first + 40.0
    });
    assert!(
        rose,
        "the VNet packet counter did not rise by the 40 frames sent (first {first}, last {last})"
    );
    drop(daemon);
}

#[test]
fn a_reload_under_traffic_loses_nothing_and_a_bad_config_changes_nothing() {
    let _turn = turn();
    let world = world();
    let config =
        write_config(&world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]).expect("config");
    let daemon = daemon_with_metrics(&world, &config);
    let ping = world
        .ping("vm1", "10.0.0.3", 2, Duration::from_millis(50), None)
        .expect("ping");
    assert!(ping.all_received(), "{ping:?}");
    let generation = daemon.status(&world).expect("status")["config_generation"]
        .as_u64()
        .expect("generation");

    // A steady flow of 3000 datagrams over ~3 s, counted at both ends,
    // while the configuration changes twice (a new zone and VNet that do
    // not touch vnet0, then a rejected one).
    let bin = env!("CARGO_BIN_EXE_xsdn-testbed");
    let receiver = world
        .spawn(
            "vm2",
            &[
                bin,
                "udp-recv",
                "--bind",
                "10.0.0.3:41000",
                "--count",
                "3000",
                "--timeout-ms",
                "15000",
            ],
        )
        .expect("receiver");
    assert!(wait_until(Duration::from_secs(5), || receiver
        .stderr()
        .contains("listening")
        || !receiver.is_running()));
    let sender = world
        .spawn(
            "vm1",
            &[
                bin,
                "udp-send",
                "--dst",
                "10.0.0.3:41000",
                "--count",
                "3000",
                "--size",
                "200",
                "--interval-us",
                "1000",
            ],
        )
        .expect("sender");
    std::thread::sleep(Duration::from_millis(700));
    std::fs::write(
        config.join("zones.cfg"),
        format!("{ZONES}\nsimple: other\n"),
    )
    .expect("write");
    std::fs::write(
        config.join("vnets.cfg"),
        format!("{VNETS}\nvnet: vnet9\n\tzone other\n"),
    )
    .expect("write");
    let reload = daemon.cli(&world, &["reload"]).expect("reload");
    assert!(
        reload.success(),
        "valid reload refused: {}{}",
        reload.stdout,
        reload.stderr
    );
    // The reload must have happened while the datagrams flowed, or this
    // test proves nothing about reloads under traffic.
    assert!(
        sender.is_running(),
        "the sender finished before the valid reload: no traffic crossed it"
    );
    // The daemon may also have noticed the files change by itself: the
    // accepted generation is whatever it is now, past the first one.
    let accepted = daemon.status(&world).expect("status")["config_generation"]
        .as_u64()
        .expect("generation");
    assert!(accepted > generation, "the valid change was not adopted");
    std::thread::sleep(Duration::from_millis(700));
    std::fs::write(
        config.join("vnets.cfg"),
        format!("{VNETS}\nvnet: vnet9\n\tzone other\n\ttag 5000\n"),
    )
    .expect("write");
    let rejected = daemon.cli(&world, &["reload"]).expect("reload");
    assert!(
        sender.is_running(),
        "the sender finished before the rejected reload: no traffic crossed it"
    );
    assert_eq!(
        rejected.status.code(),
        Some(1),
        "bad config accepted: {}",
        rejected.stdout
    );
    assert!(
        rejected.stdout.contains("vnets.cfg:") && rejected.stdout.contains("tag"),
        "the rejection does not name file and key: {}",
        rejected.stdout
    );
    let sent = sender.wait_output(Duration::from_secs(20)).expect("sender");
    let received = receiver
        .wait_output(Duration::from_secs(20))
        .expect("receiver");
    let sent: serde_json::Value = serde_json::from_str(sent.stdout.trim()).expect("sender json");
    let received: serde_json::Value =
        serde_json::from_str(received.stdout.trim()).expect("receiver json");
    assert_eq!(sent["sent"], 3000, "{sent}");
    if received["received"] != 3000 {
        // Say where they went: the receiver's socket buffer or the path.
        let counters = daemon
            .show(&world, "counters")
            .map_or_else(|e| format!("{e:#}"), |c| c.to_string());
        let links = world
            .exec("node1", &["ip", "-s", "link"])
            .map_or_else(|e| format!("{e:#}"), |o| o.stdout);
        panic!(
            "frames lost across the reloads: {received}\ndaemon counters: {counters}\nnode1 links:\n{links}"
        );
    }

    // The rejection is visible in status and in the metrics; the accepted
    // change is in force and traffic still flows.
    let status = daemon.status(&world).expect("status");
    assert_eq!(status["last_reload"]["ok"], false, "{status}");
    assert_eq!(
        status["config_generation"].as_u64(),
        Some(accepted),
        "{status}"
    );
    assert!(status["reloads_failed"].as_u64() >= Some(1));
    let metrics = curl(&world, "http://127.0.0.1:19469/metrics");
    for line in [
        "xsdn_config_last_reload_success 0".to_string(),
        format!("xsdn_config_generation {accepted}"),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no '{line}' in the metrics:\n{metrics}"
        );
    }
    let failed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("xsdn_config_reloads_total{result=\"failed\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(failed >= 1, "failed reloads not counted:\n{metrics}");
    let vnets = daemon.show(&world, "vnets").expect("vnets");
    assert!(
        vnets
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v["vnet"] == "vnet9")),
        "the accepted change is not in force: {vnets}"
    );
    let dst: IpAddr = "10.0.0.3".parse().expect("ip");
    let udp = world
        .udp_exchange(
            "vm1",
            "vm2",
            dst,
            &UdpOpts {
                count: 50,
                ..UdpOpts::default()
            },
        )
        .expect("udp");
    assert!(udp.all_ok(), "{udp:?}");
}

#[test]
fn trace_explains_without_sending_or_learning() {
    let _turn = turn();
    let world = world();
    let config =
        write_config(&world, "sdn", &[("zones.cfg", ZONES), ("vnets.cfg", VNETS)]).expect("config");
    let daemon = start_daemon(&world, "node1", &config, &DaemonOpts::default()).expect("daemon");
    let port = world.guest_port("vm1").expect("vm1 port").port.clone();
    let before = daemon
        .vnet_counter(&world, "vnet0", "rx_packets")
        .expect("counter");
    let trace_args = [
        "trace",
        "--port",
        port.as_str(),
        "--src-mac",
        "02:00:00:00:00:77",
        "--dst-mac",
        "02:00:00:00:00:78",
    ];
    let trace = daemon.json(&world, &trace_args).expect("trace");
    // A trace sends nothing: many traces must not move the VNet counters
    // (a few frames of background guest traffic are tolerated).
    for _ in 0..49 {
        daemon.json(&world, &trace_args).expect("trace");
    }
    assert_eq!(trace["verdict"], "flood", "{trace}");
    let stages: Vec<&str> = trace["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter_map(|s| s["stage"].as_str())
        .collect();
    assert_eq!(
        &stages[..4],
        ["parse", "classify", "learn", "lookup"],
        "{trace}"
    );
    // Nothing was learnt or counted.
    let fdb = daemon.show(&world, "fdb").expect("fdb");
    assert!(
        !fdb.to_string().contains("02:00:00:00:00:77"),
        "trace must not learn: {fdb}"
    );
    let after = daemon
        .vnet_counter(&world, "vnet0", "rx_packets")
        .expect("counter");
    assert!(
        after < before + 10,
        "50 traces moved rx_packets from {before} to {after}"
    );
    let bad = daemon
        .cli(&world, &["trace", "--port", "nope"])
        .expect("cli");
    assert_eq!(bad.status.code(), Some(1));
    assert!(bad.stderr.contains("unknown port 'nope'"), "{}", bad.stderr);
}
