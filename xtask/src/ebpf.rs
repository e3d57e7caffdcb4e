//! `cargo xtask build-ebpf`: build the XDP program from source.
//!
//! The registry-only route measured in `shared/notes/platform.md`: Debian's
//! rustc-web (1.96, LLVM 22) with its `rust-web-src` builds `core` for
//! `bpfel-unknown-none` (`-Z build-std`, enabled with `RUSTC_BOOTSTRAP=1`),
//! and bpf-linker 0.13 (built against LLVM 22 by `xtask setup`) links it.
//! The userspace workspace keeps using the rustup toolchain.

use std::process::Command;

use anyhow::Context;

use crate::util::{Paths, run};

/// Environment variables set by the outer `cargo run` that must not leak
/// into the eBPF build (they would point at the rustup toolchain or
/// override the eBPF crate's own rustflags).
const SCRUBBED_ENV: &[&str] = &[
    "CARGO",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTUP_TOOLCHAIN",
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_TARGET",
    "CARGO_MAKEFLAGS",
    "CARGO_TARGET_DIR",
];

/// Builds the XDP objects and copies them to `target/xsdn-xdp.o` (the
/// dataplane's) and `target/xsdn-bench-xdp.o` (the benchmark's generator,
/// forwarder and sink).
pub fn build_ebpf(paths: &Paths) -> anyhow::Result<()> {
    let ebpf_target = paths.target.join("ebpf");
    let path = format!(
        "{}:/usr/lib/llvm-22/bin:{}",
        paths.tools.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("/usr/bin/cargo");
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
    cmd.current_dir(paths.root.join("ebpf"))
        .args(["build", "--release", "--quiet"])
        .env("PATH", path)
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", &ebpf_target);
    run(&mut cmd).context("building the XDP program (ebpf/)")?;
    for (bin, dest) in [
        ("xsdn-xdp", paths.xdp_object()),
        ("xsdn-bench-xdp", paths.bench_xdp_object()),
    ] {
        let built = ebpf_target.join("bpfel-unknown-none/release").join(bin);
        std::fs::copy(&built, &dest)
            .with_context(|| format!("copying {} to {}", built.display(), dest.display()))?;
        eprintln!("xtask: XDP object at {}", dest.display());
    }
    Ok(())
}
