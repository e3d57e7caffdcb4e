//! `xsdn render`: write the node's `/etc/network/interfaces.d/sdn` and
//! `/etc/frr/frr.conf` as the Proxmox generator would.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::facts_args::FactsArgs;
use crate::cli::gate::{self, EXIT_USAGE};
use crate::config::load::{self, DEFAULT_SDN_DIR, Prefer};
use crate::render::{render_frr, render_interfaces};

/// Which file to print when no `--out` is given.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    /// `interfaces.d/sdn`
    Sdn,
    /// `frr.conf`
    Frr,
}

/// Arguments of `xsdn render`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 rendered; 1 the configuration has errors (they are \
printed, nothing is written or printed; see --force); 2 usage or I/O error, or a node fact \
that cannot be found."
)]
pub struct Args {
    /// SDN directory (its .running-config, else its .cfg files) or a
    /// running-config JSON file.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SDN_DIR)]
    pub config: PathBuf,
    /// Use the .cfg files (pending changes) even if .running-config exists.
    #[arg(long)]
    pub pending: bool,
    /// Local FRR configuration to merge [default: /etc/frr/frr.conf.local if it exists].
    #[arg(long, value_name = "FILE")]
    pub frr_local: Option<PathBuf>,
    /// Write DIR/sdn and DIR/frr.conf (the latter only when the configuration
    /// has controllers or fabrics; a stale DIR/frr.conf is removed otherwise)
    /// instead of printing. Each file is replaced atomically.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print only one of the files (without --out).
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Render even when the configuration has errors (the output may then
    /// miss or misconfigure interfaces).
    #[arg(long)]
    pub force: bool,
    /// Node facts.
    #[command(flatten)]
    pub facts: FactsArgs,
}

/// Writes `text` to `path` through a temporary file in the same directory
/// and a rename, so readers see the old or the new file, never a part.
fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.xsdn-{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

/// Runs `xsdn render`; exit status as documented in `--help`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    Ok(render(&args).unwrap_or_else(|e| {
        eprintln!("xsdn render: {e:#}");
        ExitCode::from(EXIT_USAGE)
    }))
}

fn render(args: &Args) -> anyhow::Result<ExitCode> {
    let prefer = if args.pending {
        Prefer::Pending
    } else {
        Prefer::Running
    };
    let loaded = load::load(&args.config, prefer)?;
    if let Some(code) = gate::refuse_errors("render", &loaded, args.force) {
        return Ok(code);
    }
    let cfg = &loaded.parsed.config;
    let (facts, warnings) = args.facts.facts(cfg)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let wants_frr = !cfg.controllers.is_empty() || !cfg.fabrics.is_empty();
    let local_path = args.frr_local.clone().or_else(|| {
        let p = PathBuf::from("/etc/frr/frr.conf.local");
        p.is_file().then_some(p)
    });
    let local = match &local_path {
        Some(p) => Some(fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?),
        None => None,
    };
    let sdn = render_interfaces(cfg, &facts);
    for w in &sdn.warnings {
        eprintln!("warning: {w}");
    }
    let frr = wants_frr.then(|| render_frr(cfg, &facts, local.as_deref()));
    for w in frr.iter().flat_map(|f| &f.warnings) {
        eprintln!("warning: {w}");
    }
    if let Some(dir) = &args.out {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let p = dir.join("sdn");
        write_atomic(&p, &sdn.text)?;
        eprintln!("wrote {}", p.display());
        let p = dir.join("frr.conf");
        match &frr {
            Some(f) => {
                write_atomic(&p, &f.text)?;
                eprintln!("wrote {}", p.display());
            }
            None if p.exists() => {
                fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
                eprintln!(
                    "removed {} (the configuration has no controllers or fabrics)",
                    p.display()
                );
            }
            None => {}
        }
        return Ok(ExitCode::SUCCESS);
    }
    match (args.only, &frr) {
        (Some(Only::Sdn), _) | (None, None) => print!("{}", sdn.text),
        (Some(Only::Frr), Some(f)) => print!("{}", f.text),
        (Some(Only::Frr), None) => {
            anyhow::bail!("the configuration has no controllers or fabrics: no frr.conf")
        }
        (None, Some(f)) => print!("==> sdn <==\n{}\n==> frr.conf <==\n{}", sdn.text, f.text),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    const EVPN: &str = r#"{"version": 4,
      "zones": {"ids": {"zz": {"type": "evpn", "controller": "ctl", "vrf-vxlan": 900}}},
      "vnets": {"ids": {"v9": {"type": "vnet", "zone": "zz", "tag": 90}}},
      "controllers": {"ids": {"ctl": {"type": "evpn", "asn": 65000, "peers": "10.0.0.1,10.0.0.2"}}}}"#;
    const VLAN: &str = r#"{"version": 5,
      "zones": {"ids": {"zz": {"type": "vlan", "bridge": "vmbr0"}}},
      "vnets": {"ids": {"v9": {"type": "vnet", "zone": "zz", "tag": 90}}}}"#;

    /// A scratch directory with `rc.json`, an interfaces file and an empty
    /// `frr.conf.local`.
    fn scratch(name: &str, rc: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xsdn-render-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("rc.json"), rc).unwrap();
        fs::write(
            d.join("interfaces"),
            "iface vmbr0 inet static\n\taddress 10.0.0.1/24\n\tbridge-ports eno1\n",
        )
        .unwrap();
        fs::write(d.join("frr.conf.local"), "").unwrap();
        d
    }

    fn args(d: &Path, force: bool) -> Args {
        Args {
            config: d.join("rc.json"),
            pending: false,
            frr_local: Some(d.join("frr.conf.local")),
            out: Some(d.join("out")),
            only: None,
            force,
            facts: FactsArgs {
                node: Some("n1".into()),
                interfaces: Some(d.join("interfaces")),
                ..FactsArgs::default()
            },
        }
    }

    #[test]
    fn writes_sdn_and_frr_with_facts_from_flags() {
        let d = scratch("ok", EVPN);
        assert_eq!(run(args(&d, false)).unwrap(), ExitCode::SUCCESS);
        let sdn = fs::read_to_string(d.join("out/sdn")).unwrap();
        assert!(sdn.starts_with("#version:4\n"));
        assert!(sdn.contains("\tvxlan-local-tunnelip 10.0.0.1\n"), "{sdn}");
        let frr = fs::read_to_string(d.join("out/frr.conf")).unwrap();
        assert!(
            frr.contains(" neighbor 10.0.0.2 peer-group VTEP\n"),
            "{frr}"
        );
        assert!(!frr.contains("neighbor 10.0.0.1 "), "{frr}");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn configuration_errors_write_nothing_and_exit_1_unless_forced() {
        for (name, rc) in [
            ("truncated", &EVPN[..EVPN.len() / 2]),
            (
                "badtag",
                r#"{"zones": {"ids": {"zz": {"type": "vlan", "bridge": "vmbr0"}}},
                    "vnets": {"ids": {"v9": {"type": "vnet", "zone": "zz", "tag": "abc"}}}}"#,
            ),
            ("noids", r#"{"zones": {"zz": {"type": "simple"}}}"#),
        ] {
            let d = scratch(name, rc);
            fs::create_dir_all(d.join("out")).unwrap();
            fs::write(d.join("out/sdn"), "previous\n").unwrap();
            assert_eq!(run(args(&d, false)).unwrap(), ExitCode::from(1), "{name}");
            assert_eq!(
                fs::read_to_string(d.join("out/sdn")).unwrap(),
                "previous\n",
                "{name}"
            );
            assert!(!d.join("out/frr.conf").exists(), "{name}");
            assert_eq!(run(args(&d, true)).unwrap(), ExitCode::SUCCESS, "{name}");
            let sdn = fs::read_to_string(d.join("out/sdn")).unwrap();
            assert!(sdn.starts_with("#version:"), "{name}: {sdn}");
            let _ = fs::remove_dir_all(&d);
        }
    }

    #[test]
    fn stale_frr_conf_is_removed_and_files_are_replaced_not_rewritten() {
        let d = scratch("stale", EVPN);
        assert_eq!(run(args(&d, false)).unwrap(), ExitCode::SUCCESS);
        assert!(d.join("out/frr.conf").exists());
        let inode = fs::metadata(d.join("out/sdn")).unwrap().ino();
        fs::write(d.join("rc.json"), VLAN).unwrap();
        assert_eq!(run(args(&d, false)).unwrap(), ExitCode::SUCCESS);
        assert!(!d.join("out/frr.conf").exists(), "stale frr.conf removed");
        let sdn = fs::read_to_string(d.join("out/sdn")).unwrap();
        assert!(sdn.starts_with("#version:5\n"), "{sdn}");
        assert_ne!(
            fs::metadata(d.join("out/sdn")).unwrap().ino(),
            inode,
            "written to a new file and renamed over the old one"
        );
        let names: Vec<String> = fs::read_dir(d.join("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["sdn"], "no temporary files left");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn usage_io_and_missing_facts_exit_2() {
        let d = scratch("usage", EVPN);
        let mut a = args(&d, false);
        a.facts.local_ip = Some("192.0.2.99".parse().unwrap());
        assert_eq!(run(a).unwrap(), ExitCode::from(2), "no interface holds it");
        let mut a = args(&d, false);
        a.config = d.join("missing");
        assert_eq!(run(a).unwrap(), ExitCode::from(2), "no such config");
        let mut a = args(&d, false);
        a.facts.interfaces = Some(d.join("missing"));
        assert_eq!(run(a).unwrap(), ExitCode::from(2), "no interfaces file");
        fs::write(d.join("rc.json"), VLAN).unwrap();
        let mut a = args(&d, false);
        a.out = None;
        a.only = Some(Only::Frr);
        assert_eq!(run(a).unwrap(), ExitCode::from(2), "no frr.conf to print");
        assert!(!d.join("out").exists(), "nothing written");
        let _ = fs::remove_dir_all(&d);
    }
}
