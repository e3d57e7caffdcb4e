//! `xsdn show`, `xsdn status` and `xsdn reload`: the running daemon's
//! tables and state, over its control socket.
//!
//! Human-readable tables by default, `--json` for the daemon's JSON as is
//! (field names in `docs/cli.md`). Errors are one line on stderr with exit
//! code 1 (daemon not running, permission denied, unknown VNet...).

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;
use xsdn_common::XdpStat;

use crate::daemon::api::{self, Filter, Request, Table};
use crate::daemon::settings::DEFAULT_SOCKET;

/// Options shared by the client commands.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// The daemon's control socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Print the daemon's JSON answer instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `xsdn show`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// What to show.
    #[arg(value_enum)]
    pub table: Table,
    /// Only this zone.
    #[arg(long)]
    pub zone: Option<String>,
    /// Only this VNet.
    #[arg(long)]
    pub vnet: Option<String>,
    /// Only this port (interface name).
    #[arg(long)]
    pub port: Option<String>,
    /// Socket and output format.
    #[command(flatten)]
    pub common: Common,
}

/// Arguments of `xsdn status` and `xsdn reload`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Socket and output format.
    #[command(flatten)]
    pub common: Common,
}

fn call(common: &Common, request: &Request) -> anyhow::Result<Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(api::call(&common.socket, request))?)
}

/// `xsdn show TABLE`.
pub fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let request = Request::Show {
        table: args.table,
        filter: Filter {
            zone: args.zone,
            vnet: args.vnet,
            port: args.port,
        },
    };
    let value = call(&args.common, &request)?;
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", render_table(args.table, &value));
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `xsdn trace`.
#[derive(clap::Args, Debug)]
pub struct TraceArgs {
    /// The frame to explain.
    #[command(flatten)]
    pub frame: crate::daemon::trace::FrameSpec,
    /// Socket and output format.
    #[command(flatten)]
    pub common: Common,
}

/// `xsdn trace`: what the pipeline would do with a frame, stage by stage.
pub fn trace(args: TraceArgs) -> anyhow::Result<ExitCode> {
    let value = call(&args.common, &Request::Trace { frame: args.frame })?;
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", render_trace(&value));
    }
    Ok(ExitCode::SUCCESS)
}

/// The human-readable form of a trace.
pub fn render_trace(v: &Value) -> String {
    let mut out = String::new();
    for s in v["stages"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:<9} {}\n",
            cell(&s["stage"]),
            cell(&s["result"])
        ));
    }
    out.push_str(&format!("verdict   {}", cell(&v["verdict"])));
    if let Some(reason) = v["drop"].as_str() {
        out.push_str(&format!(" ({reason})"));
    }
    out.push('\n');
    if let Some(tier) = v["tier"].as_str() {
        out.push_str(&format!("tier      {tier}: {}\n", cell(&v["tier_reason"])));
    }
    out
}

/// `xsdn status`.
pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let value = call(&args.common, &Request::Status)?;
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", render_status(&value));
    }
    Ok(ExitCode::SUCCESS)
}

/// `xsdn reload`: exit 0 when the new configuration was accepted, 1 when
/// it was rejected (the previous one stays in force).
pub fn reload(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let value = call(&args.common, &Request::Reload)?;
    let ok = value["last_reload"]["ok"].as_bool().unwrap_or(false);
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let generation = value["config_generation"].as_u64().unwrap_or(0);
        if ok {
            println!("configuration reloaded (generation {generation})");
        } else {
            println!("configuration rejected; generation {generation} stays in force:");
        }
        for m in value["last_reload"]["messages"]
            .as_array()
            .into_iter()
            .flatten()
        {
            println!("  {}", m.as_str().unwrap_or_default());
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A cell: strings as is, null as `-`, arrays joined with commas.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        other => other.to_string(),
    }
}

fn drops_total(v: &Value) -> u64 {
    v.as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0)
}

fn encap_cell(v: &Value) -> String {
    match v["type"].as_str() {
        Some("vlan") => format!("vlan {}", cell(&v["vlan"])),
        Some("qinq") => format!(
            "qinq {} ({}) vlan {}",
            cell(&v["service_vlan"]),
            cell(&v["vlan_protocol"]),
            cell(&v["vlan"])
        ),
        Some("vxlan") => format!("vxlan {} port {}", cell(&v["vni"]), cell(&v["dst_port"])),
        Some(other) => other.to_owned(),
        None => "-".into(),
    }
}

/// Lays out rows as aligned columns under `headers`.
fn columns(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(
        &headers.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(),
        &mut out,
    );
    for row in rows {
        line(row, &mut out);
    }
    out
}

fn rows(value: &Value, f: impl Fn(&Value) -> Vec<String>) -> Vec<Vec<String>> {
    value.as_array().into_iter().flatten().map(f).collect()
}

/// The human-readable form of one `show` answer.
pub fn render_table(table: Table, value: &Value) -> String {
    match table {
        Table::Ports => columns(
            &[
                "PORT",
                "ROLE",
                "VNETS",
                "XDP",
                "QUEUES",
                "RX_PACKETS",
                "TX_PACKETS",
                "DROPPED",
            ],
            &rows(value, |p| {
                vec![
                    cell(&p["ifname"]),
                    cell(&p["role"]),
                    cell(&p["vnets"]),
                    cell(&p["xdp_mode"]),
                    cell(&p["queues"]),
                    cell(&p["rx_packets"]),
                    cell(&p["tx_packets"]),
                    drops_total(&p["drops"]).to_string(),
                ]
            }),
        ),
        Table::Vnets => columns(
            &[
                "VNET", "ZONE", "ENCAP", "PORTS", "UPLINK", "VTEPS", "MTU", "FDB",
            ],
            &rows(value, |v| {
                vec![
                    cell(&v["vnet"]),
                    cell(&v["zone"]),
                    encap_cell(&v["encap"]),
                    cell(&v["ports"]),
                    cell(&v["uplink"]),
                    cell(&v["vteps"]),
                    cell(&v["mtu"]),
                    cell(&v["fdb_entries"]),
                ]
            }),
        ),
        Table::Fdb => columns(
            &["MAC", "VNET", "IFNAME", "DST", "VLAN/VNI", "STATE", "AGE"],
            &rows(value, |e| {
                let tag = if e["vni"].is_null() {
                    cell(&e["vlan"])
                } else {
                    cell(&e["vni"])
                };
                vec![
                    cell(&e["mac"]),
                    cell(&e["vnet"]),
                    cell(&e["ifname"]),
                    cell(&e["dst"]),
                    tag,
                    cell(&e["state"]),
                    format!("{:.0}s", e["age_secs"].as_f64().unwrap_or(0.0)),
                ]
            }),
        ),
        Table::Vteps => columns(
            &["DST", "VNETS", "STATE", "VIA", "NEXT_HOP_MAC", "SRC"],
            &rows(value, |v| {
                vec![
                    cell(&v["dst"]),
                    cell(&v["vnets"]),
                    cell(&v["state"]),
                    cell(&v["next_hop"]["ifname"]),
                    cell(&v["next_hop"]["dst_mac"]),
                    cell(&v["next_hop"]["src"]),
                ]
            }),
        ),
        Table::Routes => columns(
            &["ZONE", "DST", "VNET", "GATEWAY", "TYPE", "ROUTED_BY"],
            &rows(value, |r| {
                vec![
                    cell(&r["zone"]),
                    cell(&r["dst"]),
                    cell(&r["vnet"]),
                    cell(&r["gateway"]),
                    cell(&r["type"]),
                    cell(&r["routed_by"]),
                ]
            }),
        ),
        Table::Counters => render_counters(value),
        Table::Kernel => columns(
            &["MAC", "VNET", "IFNAME", "ACTION", "MTU", "STATE"],
            &rows(value, |e| {
                vec![
                    cell(&e["mac"]),
                    cell(&e["vnet"]),
                    cell(&e["ifname"]),
                    kernel_action_cell(&e["action"]),
                    cell(&e["mtu"]),
                    cell(&e["state"]),
                ]
            }),
        ),
    }
}

/// What a kernel-tier entry does, in one cell: `forward`, `vlan 10`,
/// `qinq 802.1ad 20.100`, `vxlan 100000 -> 192.168.0.3 (02:..)`.
fn kernel_action_cell(action: &Value) -> String {
    match action["type"].as_str() {
        Some("vlan") => format!("vlan {}", cell(&action["vlan"])),
        Some("qinq") => match action["vlan"].as_u64() {
            Some(c) => format!(
                "qinq {} {}.{c}",
                cell(&action["vlan_protocol"]),
                cell(&action["service_vlan"])
            ),
            None => format!(
                "qinq {} {}",
                cell(&action["vlan_protocol"]),
                cell(&action["service_vlan"])
            ),
        },
        Some("vxlan") => format!(
            "vxlan {} -> {} ({})",
            cell(&action["vni"]),
            cell(&action["dst"]),
            cell(&action["next_hop_mac"])
        ),
        _ => cell(&action["type"]),
    }
}

/// `xdp: redirected N passed N ...` from the `{name: frames}` object of
/// the XDP program's counters, in [`XdpStat::ALL`] order.
pub(crate) fn xdp_line(xdp: &Value) -> String {
    let mut line = String::from("xdp:");
    for stat in XdpStat::ALL {
        line.push_str(&format!(" {} {}", stat.name(), cell(&xdp[stat.name()])));
    }
    line
}

fn render_counters(value: &Value) -> String {
    let mut out = columns(
        &[
            "PORT",
            "RX_PACKETS",
            "RX_BYTES",
            "TX_PACKETS",
            "TX_BYTES",
            "DROPPED",
            "KERNEL_RX",
            "KERNEL_TX",
            "PUNTED",
        ],
        &rows(&value["ports"], |p| {
            vec![
                cell(&p["ifname"]),
                cell(&p["rx_packets"]),
                cell(&p["rx_bytes"]),
                cell(&p["tx_packets"]),
                cell(&p["tx_bytes"]),
                drops_total(&p["drops"]).to_string(),
                cell(&p["kernel_tier"]["rx_packets"]),
                cell(&p["kernel_tier"]["tx_packets"]),
                cell(&p["kernel_tier"]["punted"]),
            ]
        }),
    );
    out.push('\n');
    out.push_str(&columns(
        &[
            "VNET",
            "ZONE",
            "RX_PACKETS",
            "RX_BYTES",
            "TX_PACKETS",
            "TX_BYTES",
            "DROPPED",
        ],
        &rows(&value["vnets"], |v| {
            vec![
                cell(&v["vnet"]),
                cell(&v["zone"]),
                cell(&v["rx_packets"]),
                cell(&v["rx_bytes"]),
                cell(&v["tx_packets"]),
                cell(&v["tx_bytes"]),
                drops_total(&v["drops"]).to_string(),
            ]
        }),
    ));
    let mut drops: Vec<String> = Vec::new();
    for (what, list, key) in [
        ("port", &value["ports"], "ifname"),
        ("vnet", &value["vnets"], "vnet"),
    ] {
        for item in list.as_array().into_iter().flatten() {
            for (reason, n) in item["drops"].as_object().into_iter().flatten() {
                if n.as_u64().unwrap_or(0) > 0 {
                    drops.push(format!("  {what} {}: {reason} {n}", cell(&item[key])));
                }
            }
        }
    }
    for port in value["ports"].as_array().into_iter().flatten() {
        for (what, n) in port["kernel"].as_object().into_iter().flatten() {
            if n.as_u64().unwrap_or(0) > 0 {
                drops.push(format!(
                    "  port {} (kernel AF_XDP): {what} {n}",
                    cell(&port["ifname"])
                ));
            }
        }
    }
    for (reason, n) in value["malformed"].as_object().into_iter().flatten() {
        if n.as_u64().unwrap_or(0) > 0 {
            drops.push(format!("  malformed {reason}: {n}"));
        }
    }
    if !drops.is_empty() {
        out.push_str("\ndrops by reason:\n");
        out.push_str(&drops.join("\n"));
        out.push('\n');
    }
    if value["xdp"].is_object() {
        out.push_str(&format!("\n{}\n", xdp_line(&value["xdp"])));
    }
    out
}

fn render_status(v: &Value) -> String {
    let mut out = String::new();
    let reload = &v["last_reload"];
    out.push_str(&format!(
        "node {}  config {}  generation {}  tables {}  uptime {}s\n",
        cell(&v["node"]),
        cell(&v["config"]),
        cell(&v["config_generation"]),
        cell(&v["tables_generation"]),
        cell(&v["uptime_secs"]),
    ));
    out.push_str(&format!(
        "last reload: {} ({} ok, {} failed)\n",
        match reload["ok"].as_bool() {
            Some(true) => "accepted",
            Some(false) => "REJECTED (previous configuration in force)",
            None => "none",
        },
        cell(&v["reloads_ok"]),
        cell(&v["reloads_failed"]),
    ));
    for m in reload["messages"].as_array().into_iter().flatten() {
        out.push_str(&format!("  {}\n", m.as_str().unwrap_or_default()));
    }
    out.push_str(&columns(
        &["PORT", "ROLE", "XDP", "QUEUES"],
        &rows(&v["ports"], |p| {
            vec![
                cell(&p["ifname"]),
                cell(&p["role"]),
                cell(&p["xdp_mode"]),
                cell(&p["queues"]),
            ]
        }),
    ));
    let fdb = &v["fdb"];
    if fdb.is_object() {
        out.push_str(&format!(
            "MAC table: {}/{} entries; {} learned, {} moved, {} aged, {} flushed, {} not learnt (table full), {} not learnt (VNet at its share)\n",
            cell(&fdb["entries"]),
            cell(&fdb["capacity"]),
            cell(&fdb["learned"]),
            cell(&fdb["moved"]),
            cell(&fdb["aged"]),
            cell(&fdb["flushed"]),
            cell(&fdb["table_full"]),
            cell(&fdb["vnet_full"]),
        ));
    }
    let tier = &v["kernel_tier"];
    if tier["enabled"].as_bool() == Some(true) {
        out.push_str(&format!(
            "kernel tier: {} entries ({} stale), {} refused (table full), {} swept, {} ages refreshed\n",
            cell(&tier["entries"]),
            cell(&tier["stale_entries"]),
            cell(&tier["refused"]),
            cell(&tier["swept"]),
            cell(&tier["refreshed"]),
        ));
    } else if tier.is_object() {
        out.push_str("kernel tier: off (every frame through userspace)\n");
    }
    if v["punt_rejected"].as_u64().is_some_and(|n| n > 0) {
        out.push_str(&format!(
            "punted frames rejected (no valid port tag): {}\n",
            cell(&v["punt_rejected"])
        ));
    }
    for w in v["warnings"].as_array().into_iter().flatten() {
        out.push_str(&format!("warning: {}\n", w.as_str().unwrap_or_default()));
    }
    for ip in v["unresolved_next_hops"].as_array().into_iter().flatten() {
        out.push_str(&format!("unresolved VXLAN next hop: {}\n", cell(ip)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fdb_table_is_aligned_and_names_vni_or_vlan() {
        let value = json!([
            {"mac": "52:54:00:00:00:01", "vnet": "myvnet1", "ifname": "tap101i0", "vni": 100000, "state": "reachable", "age_secs": 4.2},
            {"mac": "52:54:00:00:00:02", "vnet": "myvnet1", "ifname": "eno1", "dst": "192.168.0.3", "vni": 100000, "state": "reachable", "age_secs": 0.4}
        ]);
        let text = render_table(Table::Fdb, &value);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("MAC "));
        assert!(
            lines[1].contains("tap101i0")
                && lines[1].contains("100000")
                && lines[1].contains(" - ")
        );
        assert!(lines[2].contains("192.168.0.3"));
        let col = lines[0].find("VNET").expect("header");
        assert_eq!(
            &lines[1][col..col + 7],
            "myvnet1",
            "columns line up:\n{text}"
        );
    }

    #[test]
    fn counters_list_nonzero_drops_by_reason() {
        let value = json!({
            "ports": [{"ifname": "eno1", "rx_packets": 5, "rx_bytes": 500, "tx_packets": 1, "tx_bytes": 60,
                       "drops": {"mtu_exceeded": 2, "no_buffer": 0}}],
            "vnets": [],
            "malformed": {"truncated_udp": 1},
            "xdp": {"redirected": 7, "passed": 3, "unknown_port": 0, "fell_back": 0, "to_host": 0}
        });
        let text = render_table(Table::Counters, &value);
        assert!(text.contains("port eno1: mtu_exceeded 2"), "{text}");
        assert!(!text.contains("no_buffer"), "{text}");
        assert!(text.contains("malformed truncated_udp: 1"), "{text}");
        assert!(text.contains("redirected 7 passed 3"), "{text}");
    }
}
