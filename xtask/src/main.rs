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
    /// Benchmarks: the pipeline microbenchmarks (ns/frame) and the system
    /// benchmark (packets/s through xsdn next to the kernel path; root).
    Bench {
        /// Seconds of load per system measurement.
        #[arg(long, default_value_t = 4.0)]
        seconds: f64,
        /// Skip the microbenchmarks.
        #[arg(long)]
        system_only: bool,
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
        } => {
            ebpf::build_ebpf(&paths)?;
            if !system_only {
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
            util::run(
                std::process::Command::new(paths.target.join("release/xsdn-sysbench"))
                    .args(["--seconds", &seconds.to_string()]),
            )
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
