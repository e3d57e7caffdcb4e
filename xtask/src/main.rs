//! xsdn project automation: `cargo xtask <command>`.
//!
//! Every command first runs `setup` (quick when nothing is missing), so each
//! works on a fresh Debian machine.

mod demo;
mod ebpf;
mod setup;
mod test;
mod util;

use clap::{Parser, Subcommand};

/// xsdn project automation.
#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install what the machine lacks (Debian packages, bpf-linker).
    Setup,
    /// Build the XDP programs (target/xsdn-xdp.o, target/xsdn-bench-xdp.o).
    BuildEbpf,
    /// Build the XDP program and the workspace binaries.
    Build,
    /// Bring up a namespace topology and show traffic crossing the AF_XDP
    /// dataplane (run as root).
    Demo,
    /// Bring a namespace topology up or down by hand, to poke at it with
    /// ping and tcpdump (runs `xsdn-testbed`; try `topo --help`).
    #[command(disable_help_flag = true)]
    Topo {
        /// Arguments for `xsdn-testbed` (`up vxlan`, `list`, `down NAME`...).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Benchmarks: the pipeline microbenchmarks (ns/frame), the system
    /// benchmark (packets/s through xsdn next to the kernel path, AF_XDP
    /// load generator) and the small-frame benchmark (XDP live-frames
    /// generator: kernel path, xsdn userspace only, xsdn kernel tier and the
    /// raw XDP redirect ceiling, per zone type, direction and frame size)
    /// and the TCP benchmark (single stream between VM-like and between
    /// container guests, per zone type: kernel path, xsdn userspace only,
    /// xsdn). The last three run as root.
    Bench {
        /// Seconds of load per system measurement.
        #[arg(long, default_value_t = 4.0)]
        seconds: f64,
        /// Skip the microbenchmarks.
        #[arg(long)]
        system_only: bool,
        /// Only the small-frame benchmark (no microbenchmarks, no AF_XDP
        /// load-generator benchmark).
        #[arg(long)]
        small_frames_only: bool,
        /// Small-frame benchmark: zone types (comma-separated; default all:
        /// simple,vlan,qinq,vxlan).
        #[arg(long)]
        zones: Option<String>,
        /// Small-frame benchmark: frame sizes (default 64,1500).
        #[arg(long)]
        sizes: Option<String>,
        /// Small-frame benchmark: seconds per run (default 1.5).
        #[arg(long)]
        run_seconds: Option<f64>,
        /// Small-frame benchmark: runs per measurement, median kept
        /// (default 3).
        #[arg(long)]
        runs: Option<usize>,
        /// Small-frame benchmark: an `xsdn` binary from before the kernel
        /// tier (with its `xsdn-xdp.o` beside it or up to two directories
        /// above), measured as a `before` column.
        #[arg(long)]
        baseline_xsdn: Option<std::path::PathBuf>,
        /// Small-frame benchmark: print its table as Markdown.
        #[arg(long)]
        markdown: bool,
        /// Only the TCP benchmark.
        #[arg(long)]
        tcp_only: bool,
        /// TCP benchmark: seconds per iperf3 run (default 3).
        #[arg(long)]
        tcp_seconds: Option<u64>,
    },
    /// Format check, clippy, build, and all tests including the privileged
    /// ones (run as root).
    Test {
        /// Extra arguments for `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let paths = util::Paths::discover()?;
    setup::setup(&paths)?;
    match cli.command {
        Cmd::Setup => Ok(()),
        Cmd::BuildEbpf => ebpf::build_ebpf(&paths),
        Cmd::Build => build(&paths),
        Cmd::Topo { args } => {
            build(&paths)?;
            util::run(std::process::Command::new(paths.testbed_bin()).args(&args))
        }
        Cmd::Bench {
            seconds,
            system_only,
            small_frames_only,
            zones,
            sizes,
            run_seconds,
            runs,
            baseline_xsdn,
            markdown,
            tcp_only,
            tcp_seconds,
        } => {
            ebpf::build_ebpf(&paths)?;
            if !system_only && !small_frames_only && !tcp_only {
                util::run(
                    util::cargo()
                        .current_dir(&paths.root)
                        .args(["bench", "-p", "xsdn-bench", "--bench", "pipeline", "--"])
                        .args(["--warm-up-time", "1", "--measurement-time", "3"]),
                )?;
            }
            util::run(util::cargo().current_dir(&paths.root).args([
                "build",
                "--release",
                "--workspace",
                "--bins",
                "--quiet",
            ]))?;
            let mut tcp = std::process::Command::new(paths.target.join("release/xsdn-tcpbench"));
            for (flag, value) in [
                ("--zones", zones.clone()),
                ("--seconds", tcp_seconds.map(|s| s.to_string())),
                ("--runs", runs.map(|r| r.to_string())),
            ] {
                if let Some(v) = value {
                    tcp.args([flag, &v]);
                }
            }
            if tcp_only {
                return util::run(&mut tcp);
            }
            if !small_frames_only {
                util::run(
                    std::process::Command::new(paths.target.join("release/xsdn-sysbench"))
                        .args(["--seconds", &seconds.to_string()]),
                )?;
            }
            let mut pkt = std::process::Command::new(paths.target.join("release/xsdn-pktbench"));
            pkt.arg("--object").arg(paths.bench_xdp_object());
            for (flag, value) in [
                ("--zones", zones),
                ("--sizes", sizes),
                ("--seconds", run_seconds.map(|s| s.to_string())),
                ("--runs", runs.map(|r| r.to_string())),
            ] {
                if let Some(v) = value {
                    pkt.args([flag, &v]);
                }
            }
            if let Some(path) = baseline_xsdn {
                pkt.arg("--baseline-xsdn").arg(path);
            }
            if markdown {
                pkt.arg("--markdown");
            }
            util::run(&mut pkt)?;
            if small_frames_only {
                return Ok(());
            }
            util::run(&mut tcp)
        }
        Cmd::Demo => {
            build(&paths)?;
            demo::demo(&paths)
        }
        Cmd::Test { args } => {
            ebpf::build_ebpf(&paths)?;
            test::test(&paths, &args)
        }
    }
}

/// Builds the XDP program and every workspace binary.
fn build(paths: &util::Paths) -> anyhow::Result<()> {
    ebpf::build_ebpf(paths)?;
    util::run(util::cargo().current_dir(&paths.root).args([
        "build",
        "--workspace",
        "--bins",
        "--quiet",
    ]))
}
