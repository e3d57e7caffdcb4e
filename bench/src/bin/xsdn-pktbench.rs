//! `xsdn-pktbench`: small-frame packet rates through one node, per zone
//! type, direction and frame size: the kernel path, `xsdn daemon
//! --kernel-tier off`, `xsdn daemon` with its kernel tier, and the raw XDP
//! redirect ceiling, in one run (see `xsdn_bench::pktbench` and
//! `bench/README.md`). Root only; builds its own namespaces.

use std::path::PathBuf;

use clap::Parser;
use xsdn_bench::pktbench::measure::Tools;
use xsdn_bench::pktbench::scenario::Zone;
use xsdn_bench::pktbench::{Settings, report, run_zone, sibling};
use xsdn_bench::xdpgen;
use xsdn_testbed::{ensure_root, set_testbed_bin};

/// Small-frame packet rates: kernel, xsdn userspace, xsdn kernel tier, raw
/// XDP ceiling.
#[derive(Parser, Debug)]
#[command(name = "xsdn-pktbench")]
struct Args {
    /// Zone types to measure (`simple`, `vlan`, `qinq`, `vxlan`).
    #[arg(long, value_delimiter = ',', default_value = "simple,vlan,qinq,vxlan")]
    zones: Vec<String>,
    /// Frame sizes: 64 (the minimum frame) and IP packet sizes (capped at
    /// the VNet's MTU).
    #[arg(long, value_delimiter = ',', default_value = "64,1500")]
    sizes: Vec<usize>,
    /// Seconds per run.
    #[arg(long, default_value_t = 1.5)]
    seconds: f64,
    /// Runs per measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The benchmark's XDP object (default: `xsdn-bench-xdp.o` near the
    /// binary, or `$XSDN_BENCH_XDP_OBJECT`).
    #[arg(long)]
    object: Option<PathBuf>,
    /// An `xsdn` binary from before the kernel tier (its `xsdn-xdp.o` next
    /// to it or up to two directories above), measured as an extra
    /// `before` column: is the userspace-only path no slower than it was?
    #[arg(long)]
    baseline_xsdn: Option<PathBuf>,
    /// Print the table as Markdown.
    #[arg(long)]
    markdown: bool,
    /// Print every measurement as JSON instead of the table.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure_root()?;
    set_testbed_bin(sibling("xsdn-testbed")?);
    let zones: Vec<Zone> = args
        .zones
        .iter()
        .map(|z| Zone::parse(z))
        .collect::<anyhow::Result<_>>()?;
    if !(args.seconds > 0.0 && args.seconds <= 60.0) || args.runs == 0 {
        anyhow::bail!("--seconds must be in (0, 60] and --runs at least 1");
    }
    let settings = Settings {
        tools: Tools {
            xdpgen: sibling("xsdn-xdpgen")?,
            object: xdpgen::find_object(args.object.as_deref())?,
            seconds: args.seconds,
            runs: args.runs,
        },
        sizes: args.sizes.clone(),
        baseline: args.baseline_xsdn.clone(),
    };
    let mut cells = Vec::new();
    for (i, zone) in zones.iter().enumerate() {
        cells.extend(run_zone(*zone, &settings, i == 0)?);
    }
    let rows = report::rows(&cells);
    let mut verdicts = report::verdicts(&rows);
    verdicts.extend(report::baseline_verdicts(&rows));
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "cells": cells,
                "rows": rows,
                "targets": verdicts,
            }))?
        );
        return Ok(());
    }
    println!(
        "Delivered Mpps, median of {} runs of {} s:",
        args.runs, args.seconds
    );
    print!("{}", report::table(&rows, args.markdown));
    let generator: Vec<String> = cells
        .iter()
        .filter(|c| c.path == xsdn_bench::pktbench::PathKind::Generator)
        .map(|c| {
            format!(
                "{} B: offered {:.3} Mpps, received {:.3}",
                c.sent_len,
                c.rate.offered_pps / 1e6,
                c.rate.delivered_pps / 1e6
            )
        })
        .collect();
    if !generator.is_empty() {
        println!(
            "\nGenerator alone (into an XDP drop on its peer): {}",
            generator.join("; ")
        );
    }
    println!("\nTargets:");
    print!("{}", report::verdict_lines(&verdicts));
    Ok(())
}
