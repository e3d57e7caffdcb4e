//! `xsdn check [DIR]`: validate an SDN configuration.
//!
//! Prints every problem to stderr, one per line
//! (`error: zones.cfg:12: zone 'z', key 'tag': ...`), then a summary.
//! Exit codes: 0 clean or warnings only, 1 errors, 2 usage or I/O error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::gate::{EXIT_CONFIG_ERRORS, EXIT_USAGE};
use crate::config::load::{self, DEFAULT_SDN_DIR, Prefer};
use crate::diag::Severity;
use crate::validate;

/// Arguments of `xsdn check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// SDN directory (its .cfg files, else .running-config) or a single
    /// configuration file (a .cfg file or a running-config JSON snapshot).
    #[arg(default_value = DEFAULT_SDN_DIR)]
    pub path: PathBuf,
    /// Check .running-config instead of the .cfg files when both exist.
    #[arg(long)]
    pub running: bool,
    /// Print the diagnostics as a JSON array on stdout instead of text on stderr.
    #[arg(long)]
    pub json: bool,
    /// Do not print warnings.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Runs `xsdn check`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let prefer = if args.running {
        Prefer::Running
    } else {
        Prefer::Pending
    };
    let loaded = match load::load(&args.path, prefer) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("xsdn check: {:#}", anyhow::Error::from(e));
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let diags = validate::report(&loaded.parsed);
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &diags)?;
        writeln!(out)?;
    } else {
        let mut err = std::io::stderr().lock();
        for d in &diags {
            if args.quiet && d.severity == Severity::Warning {
                continue;
            }
            writeln!(err, "{}: {d}", d.severity)?;
        }
        let cfg = &loaded.parsed.config;
        let summary = format!(
            "{}: {} zones, {} vnets, {} subnets, {} controllers; {errors} error(s), {warnings} warning(s)",
            args.path.display(),
            cfg.zones.len(),
            cfg.vnets.len(),
            cfg.subnets.len(),
            cfg.controllers.len(),
        );
        if errors > 0 {
            writeln!(err, "{summary}")?;
        } else {
            println!("{summary}");
        }
    }
    Ok(if errors > 0 {
        ExitCode::from(EXIT_CONFIG_ERRORS)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xsdn-check-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for (f, text) in files {
            std::fs::write(d.join(f), text).unwrap();
        }
        d
    }

    fn code(path: PathBuf) -> ExitCode {
        run(Args {
            path,
            running: false,
            json: false,
            quiet: true,
        })
        .unwrap()
    }

    #[test]
    fn exit_codes() {
        let clean = dir(
            "clean",
            &[
                ("zones.cfg", "simple: s1\n"),
                ("vnets.cfg", "vnet: v1\n\tzone s1\n"),
            ],
        );
        assert_eq!(code(clean.clone()), ExitCode::SUCCESS);
        let warn = dir("warn", &[("zones.cfg", "simple: s1\n\tcolour red\n")]);
        assert_eq!(code(warn.clone()), ExitCode::SUCCESS);
        let bad = dir("bad", &[("vnets.cfg", "vnet: v1\n\tzone nope\n")]);
        assert_eq!(code(bad.clone()), ExitCode::from(1));
        let running = dir(
            "running",
            &[(
                ".running-config",
                r#"{"vnets": {"ids": {"v1": {"type": "vnet", "zone": "z"}}}}"#,
            )],
        );
        assert_eq!(
            code(running.clone()),
            ExitCode::from(1),
            "falls back to .running-config"
        );
        let shapeless = dir(
            "shapeless",
            &[(
                ".running-config",
                r#"{"zones": [{"type": "simple"}], "vnets": {"idz": {"v1": {"type": "vnet"}}}}"#,
            )],
        );
        assert_eq!(
            code(shapeless.clone()),
            ExitCode::from(1),
            "blocks without an ids object are errors"
        );
        assert_eq!(code(clean.join("missing")), ExitCode::from(2));
        for d in [clean, warn, bad, running, shapeless] {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
