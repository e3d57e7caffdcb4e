//! One measurement of the small-frame benchmark: a sink (and, for the raw
//! ceiling, a forwarder) attached with `xsdn-xdpgen`, the generator run a
//! few times for a fixed time, the sink interface's `rx_packets` (or the
//! VM stand-in's tap's `tx_packets`) read around each run; the median run
//! is kept.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use xsdn_testbed::{Proc, World, wait_until};

use super::frames::hex;
use super::scenario::If;
use crate::xdpgen::SendReport;

/// The binaries and settings every measurement uses.
#[derive(Clone, Debug)]
pub struct Tools {
    /// `xsdn-xdpgen`.
    pub xdpgen: PathBuf,
    /// `xsdn-bench-xdp.o`.
    pub object: PathBuf,
    /// Seconds per run.
    pub seconds: f64,
    /// Runs per measurement (the median is kept).
    pub runs: usize,
}

/// Offered and delivered rates of one run, frames per second.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Rate {
    /// What the generator sent.
    pub offered_pps: f64,
    /// What the sink interface received.
    pub delivered_pps: f64,
}

/// A program of `xsdn-xdpgen` held on an interface while the value lives.
pub struct Held {
    proc: Proc,
}

impl Held {
    fn start(world: &World, tools: &Tools, ns: &str, args: &[&str]) -> anyhow::Result<Held> {
        let xdpgen = tools.xdpgen.display().to_string();
        let object = tools.object.display().to_string();
        let mut argv = vec![xdpgen.as_str(), "--object", object.as_str()];
        argv.extend_from_slice(args);
        let proc = world.spawn(ns, &argv)?;
        if !wait_until(Duration::from_secs(10), || {
            proc.stdout().contains("ready") || !proc.is_running()
        }) || !proc.is_running()
        {
            bail!(
                "xsdn-xdpgen {} in {ns} did not start: {}",
                args.join(" "),
                proc.stderr()
            );
        }
        Ok(Held { proc })
    }

    /// Drops every frame arriving on `at`.
    pub fn sink(world: &World, tools: &Tools, at: If) -> anyhow::Result<Held> {
        Self::start(world, tools, at.ns, &["sink", "--iface", at.name])
    }

    /// The VM stand-in on tap `at` (created), saying hello with `hello`.
    pub fn tap_vm(world: &World, tools: &Tools, at: If, hello: &[u8]) -> anyhow::Result<Held> {
        let hello = hex(hello);
        Self::start(
            world,
            tools,
            at.ns,
            &["tap-vm", "--name", at.name, "--hello", &hello],
        )
    }

    /// Redirects every frame arriving on `from` to `to` (same namespace).
    pub fn forwarder(world: &World, tools: &Tools, from: If, to: If) -> anyhow::Result<Held> {
        if from.ns != to.ns {
            bail!("forwarder between namespaces {} and {}", from.ns, to.ns);
        }
        Self::start(
            world,
            tools,
            from.ns,
            &["forward", "--iface", from.name, "--to", to.name],
        )
    }

    /// Detaches (stops the process).
    pub fn stop(self) -> anyhow::Result<()> {
        self.proc.stop().map(|_| ())
    }
}

/// An interface counter from sysfs.
pub fn counter(world: &World, at: If, name: &str) -> anyhow::Result<u64> {
    let path = format!("/sys/class/net/{}/statistics/{name}", at.name);
    let out = world.exec(at.ns, &["cat", &path])?;
    out.stdout
        .trim()
        .parse()
        .with_context(|| format!("{}:{path}: {:?}", at.ns, out.stdout))
}

/// One generator run of `frame` out of `gen_out`, counted by `sink`'s
/// `counter` (`rx_packets`, or `tx_packets` of a tap).
pub fn run_once(
    world: &World,
    tools: &Tools,
    gen_out: If,
    (sink, name): (If, &str),
    frame: &[u8],
) -> anyhow::Result<Rate> {
    let before = counter(world, sink, name)?;
    let xdpgen = tools.xdpgen.display().to_string();
    let object = tools.object.display().to_string();
    let seconds = tools.seconds.to_string();
    let frame = hex(frame);
    let out = world.exec_timeout(
        gen_out.ns,
        &[
            &xdpgen,
            "--object",
            &object,
            "send",
            "--iface",
            gen_out.name,
            "--frame",
            &frame,
            "--seconds",
            &seconds,
        ],
        Duration::from_secs_f64(tools.seconds + 30.0),
    )?;
    if !out.success() {
        bail!("xsdn-xdpgen send in {}: {}", gen_out.ns, out.stderr.trim());
    }
    let report: SendReport = serde_json::from_str(out.stdout.trim())
        .with_context(|| format!("xsdn-xdpgen printed {:?}", out.stdout))?;
    // Frames still in rings and queues land within a few milliseconds.
    std::thread::sleep(Duration::from_millis(100));
    let after = counter(world, sink, name)?;
    Ok(Rate {
        offered_pps: report.pps(),
        delivered_pps: after.saturating_sub(before) as f64 / report.seconds,
    })
}

/// `tools.runs` runs; the one with the median delivered rate.
pub fn median_of_runs(
    world: &World,
    tools: &Tools,
    gen_out: If,
    sink: (If, &str),
    frame: &[u8],
) -> anyhow::Result<(Rate, Vec<Rate>)> {
    let mut runs = Vec::with_capacity(tools.runs);
    for _ in 0..tools.runs.max(1) {
        runs.push(run_once(world, tools, gen_out, sink, frame)?);
    }
    let mut sorted = runs.clone();
    sorted.sort_by(|a, b| a.delivered_pps.total_cmp(&b.delivered_pps));
    Ok((sorted[sorted.len() / 2], runs))
}
