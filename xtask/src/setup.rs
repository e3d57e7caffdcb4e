//! `cargo xtask setup`: install what a fresh Debian machine lacks.
//!
//! Idempotent and quick when everything is present: each step first checks
//! (dpkg status, tool version) and only then installs. Needs root only when
//! something is missing.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::{Paths, is_root, run};

/// Debian packages the project needs, and why.
pub const APT_PACKAGES: &[(&str, &str)] = &[
    ("rustc-web", "rustc 1.96 on LLVM 22 for the eBPF crate"),
    ("cargo-web", "cargo for the eBPF crate"),
    (
        "rust-web-src",
        "core sources for -Z build-std on bpfel-unknown-none",
    ),
    ("llvm-22-dev", "LLVM 22 for bpf-linker"),
    ("iproute2", "ip, bridge: namespaces and links in tests"),
    ("iputils-ping", "ping in tests and the demo"),
    ("tcpdump", "captures in tests"),
    ("iperf3", "TCP transfers in tests and benchmarks"),
    ("ethtool", "offload settings (tests; the daemon on uplinks)"),
    ("procps", "sysctl in the test world"),
    (
        "prometheus",
        "promtool and a real Prometheus server for the metrics tests",
    ),
    (
        "curl",
        "HTTP requests to /metrics and the Prometheus API in tests",
    ),
];

/// The bpf-linker version the eBPF build is known to work with.
pub const BPF_LINKER_VERSION: &str = "0.13.0";

/// Runs every setup step.
pub fn setup(paths: &Paths) -> anyhow::Result<()> {
    install_packages()?;
    install_bpf_linker(paths)?;
    Ok(())
}

fn package_installed(name: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", name])
        .output()
        .map(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).contains("install ok installed")
        })
        .unwrap_or(false)
}

fn install_packages() -> anyhow::Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !package_installed(name))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "missing Debian packages: {}; run `cargo xtask setup` as root (or apt-get install them)",
            missing.join(" ")
        );
    }
    eprintln!("xtask setup: installing {}", missing.join(" "));
    run(Command::new("apt-get")
        .args(["update", "-q"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .context("apt-get update")?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
    .context("apt-get install")?;
    Ok(())
}

fn install_bpf_linker(paths: &Paths) -> anyhow::Result<()> {
    let linker = paths.tools.join("bin/bpf-linker");
    if linker_version(&linker).as_deref() == Some(BPF_LINKER_VERSION) {
        return Ok(());
    }
    eprintln!("xtask setup: building bpf-linker {BPF_LINKER_VERSION} against LLVM 22 (about 90 s)");
    let path = format!(
        "/usr/lib/llvm-22/bin:{}",
        std::env::var("PATH").unwrap_or_default()
    );
    run(crate::util::cargo()
        .args([
            "install",
            "bpf-linker",
            "--version",
            BPF_LINKER_VERSION,
            "--locked",
            "--no-default-features",
            "--features",
            "llvm-22",
            "--root",
        ])
        .arg(&paths.tools)
        .env("PATH", path)
        .env("LLVM_PREFIX", "/usr/lib/llvm-22"))
    .context("cargo install bpf-linker")?;
    match linker_version(&linker) {
        Some(v) if v == BPF_LINKER_VERSION => Ok(()),
        other => bail!("bpf-linker installed but reports version {other:?}"),
    }
}

fn linker_version(linker: &Path) -> Option<String> {
    let out = Command::new(linker).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "bpf-linker 0.13.0"
    text.split_whitespace().nth(1).map(str::to_owned)
}
