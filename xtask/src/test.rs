//! `cargo xtask test`: everything CI checks, privileged tests included.

use anyhow::Context;

use crate::util::{Paths, is_root, run};

/// Runs formatting, lints, the build and every test.
pub fn test(paths: &Paths, extra: &[String]) -> anyhow::Result<()> {
    if !is_root() {
        eprintln!(
            "xtask test: not running as root; the privileged tests (namespaces, XDP) will fail"
        );
    }
    run(crate::util::cargo()
        .current_dir(&paths.root)
        .args(["fmt", "--all", "--", "--check"]))
    .context("formatting check (run `cargo fmt --all`)")?;
    run(crate::util::cargo().current_dir(&paths.root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--features",
        "xsdn-testbed/privileged",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ]))
    .context("clippy")?;
    run(crate::util::cargo().current_dir(&paths.root).args([
        "build",
        "--workspace",
        "--bins",
        "--quiet",
    ]))
    .context("building the binaries the integration tests run")?;
    let mut cmd = crate::util::cargo();
    cmd.current_dir(&paths.root)
        .args([
            "test",
            "--workspace",
            "--features",
            "xsdn-testbed/privileged",
        ])
        .args(extra)
        .env("XSDN_XDP_OBJECT", paths.xdp_object())
        .env("XSDN_BIN", paths.xsdn_bin())
        .env("XSDN_TESTBED_BIN", paths.testbed_bin())
        .env("XSDN_REQUIRE_ORACLE", "1");
    run(&mut cmd).context("tests")?;
    Ok(())
}
