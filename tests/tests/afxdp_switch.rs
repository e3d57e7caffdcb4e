//! The first AF_XDP path, end to end (privileged; fails without root).
//!
//! guest a -> node port -> XDP -> AF_XDP -> `xsdn switch` -> AF_XDP TX ->
//! other node port -> guest b, with real ICMP and UDP and the guests'
//! default offload settings; then the dataplane stops (SIGTERM, and in a
//! second test `kill -9`) and the same traffic flows through the node's
//! kernel bridge.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use xsdn_testbed::{Proc, UdpOpts, World, ensure_root, examples, set_testbed_bin, wait_until};

fn xsdn_bin() -> PathBuf {
    xsdn_testbed::xsdn_bin().unwrap_or_else(|e| panic!("{e:#}"))
}

fn world() -> World {
    ensure_root().expect("privileged test");
    set_testbed_bin(env!("CARGO_BIN_EXE_xsdn-testbed"));
    World::up(&examples::two_guests_one_node()).expect("bring up the topology")
}

fn port_of(world: &World, guest: &str) -> String {
    world
        .guest_port(guest)
        .unwrap_or_else(|| panic!("guest {guest} has a port"))
        .port
        .clone()
}

fn has_xdp(world: &World, port: &str) -> bool {
    let out = world
        .exec("node1", &["ip", "link", "show", "dev", port])
        .expect("ip link show");
    out.stdout.contains("prog/xdp")
}

/// Starts `xsdn switch` on the two guest ports and waits until both carry
/// the XDP program and the switch reports it is forwarding.
fn start_switch(world: &World, a: &str, b: &str) -> Proc {
    let bin = xsdn_bin();
    let bin = bin.to_str().expect("utf-8 path");
    let proc = world
        .spawn(
            "node1",
            &[bin, "switch", "--port", a, "--port", b, "--summary", "json"],
        )
        .expect("spawn xsdn switch");
    let ready = wait_until(Duration::from_secs(10), || {
        !proc.is_running()
            || (proc.stderr().contains("switching") && has_xdp(world, a) && has_xdp(world, b))
    });
    assert!(
        ready && proc.is_running(),
        "xsdn switch did not come up:\n{}",
        proc.stderr()
    );
    proc
}

fn assert_traffic_flows(world: &World, what: &str) -> (u32, u32) {
    let ping = world
        .ping("a", "10.0.0.2", 5, Duration::from_millis(100), None)
        .expect("ping");
    assert!(ping.all_received(), "{what}: ping lost packets: {ping:?}");
    let opts = UdpOpts {
        count: 200,
        ..UdpOpts::default()
    };
    let dst: IpAddr = "10.0.0.2".parse().expect("ip");
    let udp = world
        .udp_exchange("a", "b", dst, &opts)
        .expect("udp exchange");
    assert!(
        udp.all_ok(),
        "{what}: UDP did not arrive intact (checksum errors {}, received {} of {}): {udp:?}",
        udp.csum_errors,
        udp.recv.received,
        udp.send.sent
    );
    (ping.transmitted, udp.send.sent)
}

fn summary(output: &str) -> serde_json::Value {
    let line = output
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON summary in xsdn switch output:\n{output}"));
    serde_json::from_str(line).expect("summary is JSON")
}

fn port_counter(summary: &serde_json::Value, port: &str, field: &str) -> u64 {
    summary["ports"]
        .as_array()
        .expect("ports array")
        .iter()
        .find(|p| p["name"] == port)
        .unwrap_or_else(|| panic!("port {port} in summary {summary}"))[field]
        .as_u64()
        .expect("counter")
}

#[test]
fn guests_talk_through_af_xdp_then_through_the_kernel_after_stop() {
    let world = world();
    let (a, b) = (port_of(&world, "a"), port_of(&world, "b"));
    assert_traffic_flows(&world, "kernel bridge before the switch");

    let switch = start_switch(&world, &a, &b);
    let (pings, datagrams) = assert_traffic_flows(&world, "through AF_XDP");
    let output = switch.stop().expect("stop xsdn switch");
    assert!(
        output.status.success(),
        "xsdn switch exited badly: {}",
        output.stderr
    );
    let summary = summary(&output.stdout);
    // Every echo request and datagram entered userspace from a and left on b.
    let sent_by_a = u64::from(pings + datagrams);
    assert!(
        port_counter(&summary, &a, "rx_packets") >= sent_by_a,
        "a's port received fewer frames than a sent: {summary}"
    );
    assert!(
        port_counter(&summary, &b, "tx_packets") >= sent_by_a,
        "b's port transmitted fewer frames than a sent: {summary}"
    );
    assert!(
        port_counter(&summary, &b, "rx_packets") >= u64::from(pings),
        "echo replies did not come back through userspace: {summary}"
    );
    assert!(
        summary["xdp"]["redirected"].as_u64().unwrap_or(0)
            >= 2 * u64::from(pings) + u64::from(datagrams),
        "XDP redirected too few frames: {summary}"
    );
    assert!(
        !has_xdp(&world, &a) && !has_xdp(&world, &b),
        "XDP left attached after stop"
    );

    assert_traffic_flows(&world, "kernel bridge after the switch stopped");
}

#[test]
fn a_killed_switch_fails_open_and_a_new_one_takes_over() {
    let world = world();
    let (a, b) = (port_of(&world, "a"), port_of(&world, "b"));
    let switch = start_switch(&world, &a, &b);
    assert_traffic_flows(&world, "through AF_XDP");
    switch.kill9().expect("kill -9");
    assert!(
        wait_until(Duration::from_secs(5), || !has_xdp(&world, &a)
            && !has_xdp(&world, &b)),
        "XDP still attached after kill -9"
    );
    assert_traffic_flows(&world, "kernel bridge after kill -9");

    let again = start_switch(&world, &a, &b);
    let (pings, datagrams) = assert_traffic_flows(&world, "through AF_XDP after restart");
    let output = again.stop().expect("stop");
    let summary = summary(&output.stdout);
    assert!(
        port_counter(&summary, &a, "rx_packets") >= u64::from(pings + datagrams),
        "the restarted switch did not carry the traffic: {summary}"
    );
}
