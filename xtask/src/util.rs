//! Paths and process helpers shared by the xtask commands.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// Well-known locations of the workspace.
pub struct Paths {
    /// Workspace root.
    pub root: PathBuf,
    /// Cargo target directory.
    pub target: PathBuf,
    /// Project-local tools (bpf-linker), kept out of git.
    pub tools: PathBuf,
}

impl Paths {
    /// Locates the workspace from xtask's own manifest directory.
    pub fn discover() -> anyhow::Result<Paths> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("xtask has no parent directory")?
            .to_path_buf();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let tools = root.join(".tools");
        Ok(Paths {
            root,
            target,
            tools,
        })
    }

    /// Where `build-ebpf` leaves the XDP object for the binaries to find.
    pub fn xdp_object(&self) -> PathBuf {
        self.target.join("xsdn-xdp.o")
    }

    /// Where `build-ebpf` leaves the benchmark's XDP object.
    pub fn bench_xdp_object(&self) -> PathBuf {
        self.target.join("xsdn-bench-xdp.o")
    }

    /// The debug `xsdn` binary.
    pub fn xsdn_bin(&self) -> PathBuf {
        self.target.join("debug/xsdn")
    }

    /// The debug `xsdn-testbed` binary.
    pub fn testbed_bin(&self) -> PathBuf {
        self.target.join("debug/xsdn-testbed")
    }
}

/// A `cargo` command for the workspace: the same cargo that runs xtask
/// (`$CARGO`), so a Debian `cargo` earlier in `PATH` (installed for the
/// eBPF build) never builds the workspace.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command, inheriting stdio; fails with the command line on a
/// non-zero exit.
pub fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let line = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {line}"))?;
    if !status.success() {
        bail!("{line} failed ({status})");
    }
    Ok(())
}

/// Stdout of a tool, if it runs and succeeds.
pub fn tool_output(tool: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(tool).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether the process runs as root.
pub fn is_root() -> bool {
    tool_output("id", &["-u"]).is_some_and(|uid| uid.trim() == "0")
}
