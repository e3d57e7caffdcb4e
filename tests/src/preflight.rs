//! What the environment must provide: root, the runtime tools, and the
//! `xsdn-testbed` helper binary (the UDP tools run inside namespaces).
//!
//! Privileged tests call [`ensure_root`] first and **fail** (never skip)
//! when it errors.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Result, bail};

use crate::cmd::require_tool;
use crate::sys;

/// Tools the test world runs.
pub const TOOLS: &[&str] = &["ip", "ping", "tcpdump", "iperf3", "ethtool", "sysctl"];

/// Name of the helper binary.
pub const TESTBED_BIN: &str = "xsdn-testbed";

/// Environment variable that overrides where the helper binary is.
pub const TESTBED_BIN_ENV: &str = "XSDN_TESTBED_BIN";

static BIN_OVERRIDE: OnceLock<PathBuf> = OnceLock::new();

/// Fails unless running as root with iproute2 present. Privileged tests
/// call this first and fail (not skip) on error.
pub fn ensure_root() -> Result<()> {
    if !sys::is_root() {
        bail!(
            "building network namespaces needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); \
             privileged tests fail instead of skipping: run them with `cargo xtask test` \
             (which runs them as root) or `sudo -E cargo test -p xsdn-testbed`"
        );
    }
    require_tool("ip")
}

/// Fails naming the first missing runtime tool (see [`TOOLS`]).
pub fn check_tools() -> Result<()> {
    TOOLS.iter().try_for_each(|t| require_tool(t))
}

/// Tells the library where the `xsdn-testbed` binary is (integration tests
/// of this crate pass `env!("CARGO_BIN_EXE_xsdn-testbed")`). First call wins.
pub fn set_testbed_bin(path: impl Into<PathBuf>) {
    let _ = BIN_OVERRIDE.set(path.into());
}

/// Finds the `xsdn-testbed` binary: [`set_testbed_bin`], then
/// `$XSDN_TESTBED_BIN`, then the running executable if it is the testbed,
/// then next to the running executable (or its parent, for test binaries
/// in `target/<profile>/deps`).
pub fn testbed_bin() -> Result<PathBuf> {
    if let Some(p) = BIN_OVERRIDE.get() {
        return Ok(p.clone());
    }
    if let Some(p) = std::env::var_os(TESTBED_BIN_ENV) {
        return Ok(PathBuf::from(p));
    }
    if let Ok(exe) = std::env::current_exe() {
        if exe.file_name().is_some_and(|f| f == TESTBED_BIN) {
            return Ok(exe);
        }
        let mut dir = exe.parent().map(PathBuf::from);
        for _ in 0..2 {
            let Some(d) = dir else { break };
            let cand = d.join(TESTBED_BIN);
            if cand.is_file() {
                return Ok(cand);
            }
            dir = d.parent().map(PathBuf::from);
        }
    }
    bail!(
        "cannot find the `{TESTBED_BIN}` helper binary: build it with \
         `cargo build -p xsdn-testbed` or set {TESTBED_BIN_ENV}"
    )
}
