//! `xsdn compile`: print what this node must do (the compiled node).
//!
//! Readable summary by default, the [`crate::compile::CompiledNode`] as JSON with
//! `--json` (field names documented in docs/compiled-node.md).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::facts_args::FactsArgs;
use crate::cli::gate::{self, EXIT_USAGE};
use crate::compile::{self, CompiledNode, Encap};
use crate::config::load::{self, DEFAULT_SDN_DIR, Prefer};

/// Arguments of `xsdn compile`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 compiled; 1 the configuration has errors (they are \
printed, no tables are printed; see --force); 2 usage or I/O error, or a node fact that \
cannot be found."
)]
pub struct Args {
    /// SDN directory (its .running-config, else its .cfg files) or a single
    /// configuration file.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SDN_DIR)]
    pub config: PathBuf,
    /// Use the .cfg files (pending changes) even if .running-config exists.
    #[arg(long)]
    pub pending: bool,
    /// Print the tables as JSON.
    #[arg(long)]
    pub json: bool,
    /// Compile even when the configuration has errors (VNets that cannot be
    /// compiled are listed as skipped).
    #[arg(long)]
    pub force: bool,
    /// Node facts.
    #[command(flatten)]
    pub facts: FactsArgs,
}

fn encap_summary(e: &Encap) -> String {
    let ips = |v: &[std::net::IpAddr]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let opt = |o: &Option<std::net::IpAddr>| o.map_or_else(|| "?".to_string(), |i| i.to_string());
    match e {
        Encap::Local => "local bridge".into(),
        Encap::Vlan {
            bridge, tag, ports, ..
        } => {
            format!("vlan {tag} on {bridge} (ports {})", ports.join(","))
        }
        Encap::Qinq {
            bridge,
            service_tag,
            protocol,
            customer_tag,
            ..
        } => format!(
            "qinq service {service_tag}/{} customer {} on {bridge}",
            protocol.as_str(),
            customer_tag.map_or_else(|| "untagged".into(), |t| t.to_string())
        ),
        Encap::Vxlan {
            vni,
            udp_port,
            local_ip,
            peers,
        } => format!(
            "vxlan vni {vni} port {udp_port} local {} peers {}",
            opt(local_ip),
            ips(peers)
        ),
        Encap::Evpn {
            vni,
            vrf_vni,
            udp_port,
            local_ip,
            anycast_mac,
            bgp_peers,
            ..
        } => format!(
            "evpn vni {vni} vrf-vni {} port {udp_port} local {} mac {} bgp-peers {}",
            vrf_vni.map_or_else(|| "-".into(), |v| v.to_string()),
            opt(local_ip),
            anycast_mac.as_deref().unwrap_or("-"),
            ips(bgp_peers)
        ),
    }
}

/// Writes the readable summary of `t`.
pub fn summary(t: &CompiledNode, out: &mut impl Write) -> std::io::Result<()> {
    let version = t
        .config_version
        .map_or_else(String::new, |v| format!(" (config version {v})"));
    writeln!(out, "node {}{version}", t.node)?;
    for z in &t.zones {
        let mtu = z.mtu.map_or_else(String::new, |m| format!(", mtu {m}"));
        if !z.participates {
            writeln!(
                out,
                "zone {} ({}): not on this node",
                z.id,
                z.zone_type.as_str()
            )?;
            continue;
        }
        write!(out, "zone {} ({}){mtu}", z.id, z.zone_type.as_str())?;
        if let Some(vrf) = &z.vrf {
            write!(
                out,
                ", {} vni {}",
                vrf.name,
                vrf.vni.map_or_else(|| "-".into(), |v| v.to_string())
            )?;
        }
        if z.exit.role != compile::resolve::ExitRole::None {
            let lr = if z.exit.local_routing {
                ", local routing"
            } else {
                ""
            };
            write!(out, ", exit node ({}{lr})", z.exit.role.as_str())?;
        }
        writeln!(out)?;
        for name in &z.vnets {
            let Some(v) = t.vnet(name) else { continue };
            let mtu = v.mtu.map_or_else(String::new, |m| format!(", mtu {m}"));
            writeln!(out, "  vnet {}: {}{mtu}", v.name, encap_summary(&v.encap))?;
            for s in &v.subnets {
                let gw = s
                    .gateway
                    .map_or_else(String::new, |g| format!(" gateway {g}"));
                writeln!(
                    out,
                    "    subnet {}{gw}{}",
                    s.cidr,
                    if s.snat { " snat" } else { "" }
                )?;
            }
        }
        for r in &z.snat {
            writeln!(
                out,
                "  snat {} -> {} via {}",
                r.source, r.to_source, r.out_iface
            )?;
        }
        if !z.null_routes.is_empty() {
            let n: Vec<String> = z.null_routes.iter().map(ToString::to_string).collect();
            writeln!(out, "  null routes {}", n.join(" "))?;
        }
    }
    for s in &t.skipped {
        writeln!(out, "skipped vnet {}: {}", s.vnet, s.reason)?;
    }
    for w in &t.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

/// Runs `xsdn compile`; exit status as documented in `--help`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    Ok(compile_to(&args, &mut out).unwrap_or_else(|e| {
        eprintln!("xsdn compile: {e:#}");
        ExitCode::from(EXIT_USAGE)
    }))
}

/// Compiles and writes the result to `out`.
fn compile_to(args: &Args, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let prefer = if args.pending {
        Prefer::Pending
    } else {
        Prefer::Running
    };
    let loaded = load::load(&args.config, prefer)?;
    if let Some(code) = gate::refuse_errors("compile", &loaded, args.force) {
        return Ok(code);
    }
    let (facts, warnings) = args.facts.facts(&loaded.parsed.config)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let tables = compile::compile(&loaded.parsed.config, &facts)?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &tables)?;
        writeln!(out)?;
    } else {
        summary(&tables, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn scratch(name: &str, rc: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xsdn-compile-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("rc.json"), rc).unwrap();
        fs::write(
            d.join("interfaces"),
            "iface vmbr0 inet static\n\taddress 192.168.0.1/24\n\tbridge-ports eno1\n",
        )
        .unwrap();
        d
    }

    fn args(d: &std::path::Path, force: bool) -> Args {
        Args {
            config: d.join("rc.json"),
            pending: false,
            json: true,
            force,
            facts: FactsArgs {
                node: Some("n1".into()),
                interfaces: Some(d.join("interfaces")),
                ..FactsArgs::default()
            },
        }
    }

    fn compiled(a: &Args) -> (ExitCode, String) {
        let mut out = Vec::new();
        let code = compile_to(a, &mut out).unwrap_or_else(|_| ExitCode::from(EXIT_USAGE));
        (code, String::from_utf8(out).unwrap())
    }

    const GOOD: &str = r#"{"version": 3,
      "zones": {"ids": {"lan": {"type": "vlan", "bridge": "vmbr0"}}},
      "vnets": {"ids": {"v20": {"type": "vnet", "zone": "lan", "tag": 20}}}}"#;

    #[test]
    fn compiles_a_good_configuration() {
        let d = scratch("good", GOOD);
        let (code, out) = compiled(&args(&d, false));
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(out.contains("\"name\": \"v20\""), "{out}");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn configuration_errors_print_no_tables_and_exit_1_unless_forced() {
        let d = scratch("broken", &GOOD[..GOOD.len() - 20]);
        let (code, out) = compiled(&args(&d, false));
        assert_eq!(code, ExitCode::from(1));
        assert!(out.is_empty(), "{out}");
        let (code, out) = compiled(&args(&d, true));
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(out.contains("\"vnets\": []"), "{out}");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn missing_facts_and_io_problems_exit_2() {
        let d = scratch("facts", GOOD);
        let mut a = args(&d, false);
        a.facts.local_ip = Some("192.0.2.2".parse().unwrap());
        assert_eq!(run(a).unwrap(), ExitCode::from(2), "no interface holds it");
        let mut a = args(&d, false);
        a.config = d.join("missing");
        assert_eq!(run(a).unwrap(), ExitCode::from(2));
        let _ = fs::remove_dir_all(&d);
    }
}
