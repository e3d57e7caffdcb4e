//! Answers to control-socket requests: `status`, `reload` and the `show`
//! tables, as JSON with the field names documented in `docs/cli.md`.
//!
//! Field names follow `bridge -j fdb` where the same thing is meant
//! (`mac`, `ifname`, `dst`, `vni`, `vlan`, `state`).
//!
//! Layer: daemon reader. Everything here reads a [`DaemonView`]; a
//! `reload` has already been carried out by the event loop when its
//! answer is written here.

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

use serde_json::{Value, json};
use xsdn_dataplane::counters::PortSnapshot;
use xsdn_dataplane::pipeline::BdSnapshot;
use xsdn_dataplane::pipeline::{Encap, Location};
use xsdn_dataplane::tables::{BdEncap, ForwardingTables, PortRole, PortSlot};
use xsdn_dataplane::wire::EthernetAddress;

use super::api::{Filter, Request, Response, Table};
use super::view::DaemonView;
use crate::dataplane_host::counters_json::xdp_json;

/// Answers one request (for `reload`: the outcome of the reload the event
/// loop just did).
pub fn respond(daemon: &DaemonView, request: Request) -> Response {
    let result = match request {
        Request::Status => Ok(status(daemon)),
        Request::Reload => Ok(reload_result(daemon)),
        Request::Trace { frame } => trace(daemon, &frame),
        #[cfg(debug_assertions)]
        Request::Fault { fault } => {
            use xsdn_dataplane::worker::WorkerFault;
            let fault = match fault {
                super::api::Fault::WorkerPanic => WorkerFault::Panic,
                super::api::Fault::WorkerHang => WorkerFault::Hang,
            };
            tracing::warn!(?fault, "injecting a worker fault (test request)");
            daemon
                .worker()
                .inject_fault(fault)
                .map(|()| serde_json::json!({"injected": format!("{fault:?}")}))
                .map_err(|e| e.to_string())
        }
        Request::Show { table, filter } => check_filter(daemon, &filter).map(|()| match table {
            Table::Ports => ports(daemon, &filter),
            Table::Vnets => vnets(daemon, &filter),
            Table::Fdb => fdb(daemon, &filter),
            Table::Vteps => vteps(daemon, &filter),
            Table::Routes => routes(daemon, &filter),
            Table::Counters => counters(daemon, &filter),
            Table::Kernel => kernel_entries(daemon, &filter),
        }),
    };
    match result {
        Ok(value) => Response::ok(value),
        Err(message) => Response::error(message),
    }
}

/// Rejects filters naming things that do not exist (one clear line).
fn check_filter(daemon: &DaemonView, filter: &Filter) -> Result<(), String> {
    let tables = daemon.tables();
    if let Some(vnet) = &filter.vnet
        && !tables.bds.iter().any(|bd| &bd.vnet == vnet)
    {
        return Err(format!("unknown VNet '{vnet}' (not served on this node)"));
    }
    if let Some(zone) = &filter.zone
        && !tables.bds.iter().any(|bd| &bd.zone == zone)
    {
        return Err(format!(
            "unknown zone '{zone}' (no VNet of it served on this node)"
        ));
    }
    if let Some(port) = &filter.port
        && daemon.port_named(port).is_none()
    {
        return Err(format!(
            "unknown port '{port}' (not taken over by the dataplane)"
        ));
    }
    Ok(())
}

fn unix_secs(t: std::time::SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn last_reload(daemon: &DaemonView) -> Value {
    match daemon.last_reload() {
        Some(r) => json!({
            "at": unix_secs(r.at),
            "ok": r.ok,
            "messages": r.messages,
        }),
        None => Value::Null,
    }
}

fn status(daemon: &DaemonView) -> Value {
    let ports: Vec<Value> = daemon
        .ports()
        .map(|p| {
            json!({
                "ifname": p.name(),
                "ifindex": p.ifindex(),
                "role": role_name(daemon.tables(), p.slot()),
                "xdp_mode": p.hook(),
                "queues": p.queues(),
            })
        })
        .collect();
    let (punt_rejected, sync) = daemon.worker_tier_stats().unzip();
    let kernel_tier = match sync.flatten() {
        Some(sync) => {
            let entries = daemon.kernel_fdb();
            let current = entries.iter().filter(|(_, _, current)| *current).count();
            json!({
                "enabled": true,
                "entries": current,
                "stale_entries": entries.len() - current,
                "refused": sync.refused,
                "swept": sync.swept,
                "refreshed": sync.refreshed,
            })
        }
        None => json!({ "enabled": false }),
    };
    let fdb = daemon.fdb_summary().map(|f| {
        let mut v = json!({"entries": f.entries, "capacity": f.capacity});
        for (event, n) in f.events {
            v[event] = json!(n);
        }
        v
    });
    json!({
        "node": daemon.node(),
        "config": daemon.config_path().display().to_string(),
        "config_generation": daemon.config_generation(),
        "tables_generation": daemon.tables_generation(),
        "last_reload": last_reload(daemon),
        "reloads_ok": daemon.reloads_ok(),
        "reloads_failed": daemon.reloads_failed(),
        "uptime_secs": daemon.uptime().as_secs(),
        "worker_running": daemon.worker().is_running(),
        "ports": ports,
        "fdb": fdb,
        "kernel_tier": kernel_tier,
        "punt_rejected": punt_rejected,
        "warnings": daemon.diagnostics().iter().map(ToString::to_string).collect::<Vec<_>>(),
        "unresolved_next_hops": daemon.unresolved().iter().map(|(_, ip)| ip.to_string()).collect::<Vec<_>>(),
    })
}

fn reload_result(daemon: &DaemonView) -> Value {
    json!({
        "config_generation": daemon.config_generation(),
        "last_reload": last_reload(daemon),
    })
}

fn role_name(tables: &ForwardingTables, slot: PortSlot) -> &'static str {
    match tables.port(slot).map(|p| p.role) {
        Some(PortRole::Guest { .. }) => "guest",
        Some(PortRole::Uplink) => "uplink",
        _ => "unused",
    }
}

/// VNet of a guest port, or the VNets an uplink carries.
fn port_vnets(tables: &ForwardingTables, slot: PortSlot) -> Vec<&str> {
    match tables.port(slot).map(|p| p.role) {
        Some(PortRole::Guest { bd }) => tables
            .bds
            .get(usize::from(bd))
            .map(|b| vec![b.vnet.as_str()])
            .unwrap_or_default(),
        Some(PortRole::Uplink) => {
            let mut vnets: Vec<&str> = tables
                .bds
                .iter()
                .filter(|b| {
                    b.uplink == Some(slot)
                        || b.vteps.iter().any(|v| {
                            tables
                                .vteps
                                .get(usize::from(*v))
                                .and_then(|t| t.next_hop)
                                .map(|n| n.port)
                                == Some(slot)
                        })
                })
                .map(|b| b.vnet.as_str())
                .collect();
            vnets.dedup();
            vnets
        }
        _ => Vec::new(),
    }
}

fn zone_of<'a>(tables: &'a ForwardingTables, vnet: &str) -> Option<&'a str> {
    tables
        .bds
        .iter()
        .find(|b| b.vnet == vnet)
        .map(|b| b.zone.as_str())
}

fn port_matches(daemon: &DaemonView, slot: PortSlot, name: &str, filter: &Filter) -> bool {
    let tables = daemon.tables();
    let vnets = port_vnets(tables, slot);
    filter.port.as_ref().is_none_or(|p| p == name)
        && filter
            .vnet
            .as_ref()
            .is_none_or(|v| vnets.contains(&v.as_str()))
        && filter
            .zone
            .as_ref()
            .is_none_or(|z| vnets.iter().any(|v| zone_of(tables, v) == Some(z.as_str())))
}

fn drops_json(drops: &[(&'static str, u64)]) -> Value {
    let map: BTreeMap<&str, u64> = drops.iter().copied().collect();
    json!(map)
}

fn port_counters_json(s: &PortSnapshot) -> Value {
    json!({
        "rx_packets": s.rx_packets,
        "rx_bytes": s.rx_bytes,
        "tx_packets": s.tx_packets,
        "tx_bytes": s.tx_bytes,
        "drops": drops_json(&s.drops),
    })
}

/// Kernel AF_XDP statistics per port slot, summed over its queues.
fn socket_stats(daemon: &DaemonView) -> BTreeMap<PortSlot, xsdn_dataplane::xsk::SocketStats> {
    daemon
        .worker()
        .query(|view| {
            PortSlot::all()
                .zip(view.ports)
                .filter(|(_, port)| port.is_some())
                .map(|(slot, _)| (slot, view.port_socket_stats(slot)))
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default()
}

fn ports(daemon: &DaemonView, filter: &Filter) -> Value {
    let kernel = socket_stats(daemon);
    let rows: Vec<Value> = daemon
        .ports()
        .filter(|p| port_matches(daemon, p.slot(), p.name(), filter))
        .map(|p| {
            let mut row = json!({
                "ifname": p.name(),
                "ifindex": p.ifindex(),
                "slot": p.slot(),
                "role": role_name(daemon.tables(), p.slot()),
                "vnets": port_vnets(daemon.tables(), p.slot()),
                "xdp_mode": p.hook(),
                "queues": p.queues(),
                "host_path": p.host_mac().is_some(),
            });
            let (traffic, kernel_tier) = daemon.port_traffic(p.slot());
            merge(&mut row, port_counters_json(&traffic));
            if let Some(k) = kernel_tier {
                let mut share = traffic_json(k.rx_packets, k.rx_bytes, k.tx_packets, k.tx_bytes);
                merge(
                    &mut share,
                    json!({"punted": k.punted, "mtu_exceeded": k.mtu_exceeded}),
                );
                merge(&mut row, json!({ "kernel_tier": share }));
            }
            if let Some(k) = kernel.get(&p.slot()) {
                merge(
                    &mut row,
                    json!({"kernel": {
                        "rx_dropped": k.rx_dropped,
                        "rx_ring_full": k.rx_ring_full,
                        "fill_ring_empty": k.rx_fill_ring_empty_descs,
                        "rx_invalid": k.rx_invalid_descs,
                        "tx_invalid": k.tx_invalid_descs,
                    }}),
                );
            }
            row
        })
        .collect();
    json!(rows)
}

/// `{rx_packets, rx_bytes, tx_packets, tx_bytes}`.
fn traffic_json(rx_packets: u64, rx_bytes: u64, tx_packets: u64, tx_bytes: u64) -> Value {
    json!({
        "rx_packets": rx_packets,
        "rx_bytes": rx_bytes,
        "tx_packets": tx_packets,
        "tx_bytes": tx_bytes,
    })
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

fn encap_json(encap: &BdEncap) -> Value {
    match *encap {
        BdEncap::Local => json!({"type": "local"}),
        BdEncap::Vlan { vid } => json!({"type": "vlan", "vlan": vid.get()}),
        BdEncap::QinQ {
            s_tpid,
            s_vid,
            c_vid,
        } => json!({
            "type": "qinq",
            "service_vlan": s_vid.get(),
            "vlan_protocol": s_tpid.as_str(),
            "vlan": c_vid.map(|c| c.get()),
        }),
        BdEncap::Vxlan { vni, udp_port } => {
            json!({"type": "vxlan", "vni": vni.get(), "dst_port": udp_port})
        }
    }
}

fn port_name(tables: &ForwardingTables, slot: PortSlot) -> &str {
    tables.port(slot).map_or("", |p| p.name.as_str())
}

fn vnets(daemon: &DaemonView, filter: &Filter) -> Value {
    let tables = daemon.tables();
    let fdb_by_bd: Vec<usize> = daemon
        .worker()
        .query({
            let n = tables.bds.len();
            move |view| {
                let mut counts = vec![0usize; n];
                for e in view.pipeline.fdb().entries(view.now) {
                    if let Some(c) = counts.get_mut(usize::from(e.bd)) {
                        *c += 1;
                    }
                }
                counts
            }
        })
        .unwrap_or_default();
    let rows: Vec<Value> = tables
        .bds
        .iter()
        .enumerate()
        .filter(|(_, bd)| {
            filter.vnet.as_ref().is_none_or(|v| v == &bd.vnet)
                && filter.zone.as_ref().is_none_or(|z| z == &bd.zone)
                && filter.port.as_ref().is_none_or(|p| {
                    bd.guest_ports.iter().any(|&g| port_name(tables, g) == p)
                        || bd.uplink.is_some_and(|u| port_name(tables, u) == p)
                })
        })
        .map(|(id, bd)| {
            let compiled = daemon.compiled().and_then(|c| c.vnet(&bd.vnet));
            json!({
                "vnet": bd.vnet,
                "zone": bd.zone,
                "zone_type": compiled.map(|v| v.zone_type),
                "encap": encap_json(&bd.encap),
                "ports": bd.guest_ports.iter().map(|&p| port_name(tables, p)).collect::<Vec<_>>(),
                "uplink": bd.uplink.map(|u| port_name(tables, u)),
                "vteps": bd.vteps.iter().filter_map(|&v| tables.vteps.get(usize::from(v))).map(|v| v.ip.to_string()).collect::<Vec<_>>(),
                "mtu": compiled.and_then(|v| v.mtu),
                "learning": bd.learning,
                "isolate_ports": bd.isolate_ports,
                "fdb_entries": fdb_by_bd.get(id).copied().unwrap_or(0),
            })
        })
        .collect();
    json!(rows)
}

fn fdb(daemon: &DaemonView, filter: &Filter) -> Value {
    let tables = std::sync::Arc::clone(daemon.tables());
    let entries = daemon
        .worker()
        .query(|view| view.pipeline.fdb().entries(view.now).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut rows: Vec<Value> = Vec::with_capacity(entries.len());
    for e in entries {
        let Some(bd) = tables.bds.get(usize::from(e.bd)) else {
            continue;
        };
        let (ifname, dst) = match e.location {
            Location::Port(p) => (port_name(&tables, p).to_owned(), None),
            Location::Vtep(v) => {
                let vtep = tables.vteps.get(usize::from(v));
                let uplink = vtep
                    .and_then(|t| t.next_hop)
                    .map(|n| port_name(&tables, n.port).to_owned())
                    .unwrap_or_default();
                (uplink, vtep.map(|t| t.ip.to_string()))
            }
        };
        if filter.vnet.as_ref().is_some_and(|v| v != &bd.vnet)
            || filter.zone.as_ref().is_some_and(|z| z != &bd.zone)
            || filter.port.as_ref().is_some_and(|p| p != &ifname)
        {
            continue;
        }
        let mut row = json!({
            "mac": e.mac.to_string(),
            "vnet": bd.vnet,
            "zone": bd.zone,
            "ifname": ifname,
            "state": if e.is_static { "permanent" } else { "reachable" },
            "age_secs": e.age as f64 / 1000.0,
        });
        match bd.encap {
            BdEncap::Vlan { vid } => merge(&mut row, json!({"vlan": vid})),
            BdEncap::QinQ { c_vid, .. } => merge(&mut row, json!({"vlan": c_vid})),
            BdEncap::Vxlan { vni, .. } => merge(&mut row, json!({"vni": vni})),
            BdEncap::Local => {}
        }
        if let Some(dst) = dst {
            merge(&mut row, json!({"dst": dst}));
        }
        rows.push(row);
    }
    rows.sort_by(|a, b| {
        (a["vnet"].as_str(), a["mac"].as_str()).cmp(&(b["vnet"].as_str(), b["mac"].as_str()))
    });
    json!(rows)
}

/// The kernel tier's MAC entries (empty without the kernel tier): per
/// entry its VNet, MAC, egress, what it does to the frame, and whether it
/// is current (installed for the domain's generation in force) or stale
/// (a miss, freed at the next reload).
fn kernel_entries(daemon: &DaemonView, filter: &Filter) -> Value {
    let tables = daemon.tables();
    let mut rows: Vec<Value> = Vec::new();
    for (key, value, current) in daemon.kernel_fdb() {
        let Some(bd) = tables
            .bds
            .iter()
            .find(|b| xsdn_dataplane::kernel_tier::kernel_bd(b) == Some(key.bd))
        else {
            continue;
        };
        let ifname = tables
            .ports
            .iter()
            .find(|p| p.ifindex == value.ifindex)
            .map_or_else(|| value.ifindex.to_string(), |p| p.name.clone());
        if filter.vnet.as_ref().is_some_and(|v| v != &bd.vnet)
            || filter.zone.as_ref().is_some_and(|z| z != &bd.zone)
            || filter.port.as_ref().is_some_and(|p| p != &ifname)
        {
            continue;
        }
        let action = match value.action.decode().map(|a| a.encap) {
            Some(Encap::Plain) => json!({"type": "forward"}),
            Some(Encap::Vlan { vid }) => json!({"type": "vlan", "vlan": vid.get()}),
            Some(Encap::QinQ {
                s_tpid,
                s_vid,
                c_vid,
            }) => json!({
                "type": "qinq",
                "service_vlan": s_vid.get(),
                "vlan_protocol": s_tpid.as_str(),
                "vlan": c_vid.map(|c| c.get()),
            }),
            Some(Encap::Vxlan { vni, udp_port, .. }) => json!({
                "type": "vxlan",
                "vni": vni.get(),
                "dst_port": udp_port,
                "dst": std::net::Ipv4Addr::from(value.outer_dst_ip).to_string(),
                "src": std::net::Ipv4Addr::from(value.outer_src_ip).to_string(),
                "next_hop_mac": EthernetAddress(value.outer_dst_mac).to_string(),
            }),
            None => json!({"type": "invalid"}),
        };
        rows.push(json!({
            "vnet": bd.vnet,
            "zone": bd.zone,
            "mac": EthernetAddress(key.mac).to_string(),
            "ifname": ifname,
            "action": action,
            "mtu": value.mtu,
            "generation": value.generation,
            "state": if current { "current" } else { "stale" },
        }));
    }
    rows.sort_by(|a, b| {
        (a["vnet"].as_str(), a["mac"].as_str()).cmp(&(b["vnet"].as_str(), b["mac"].as_str()))
    });
    json!(rows)
}

fn vteps(daemon: &DaemonView, filter: &Filter) -> Value {
    let tables = daemon.tables();
    let rows: Vec<Value> = tables
        .vteps
        .iter()
        .enumerate()
        .filter_map(|(idx, vtep)| {
            let vnets: Vec<&str> = tables
                .bds
                .iter()
                .filter(|bd| bd.vteps.contains(&(idx as u16)))
                .filter(|bd| filter.vnet.as_ref().is_none_or(|v| v == &bd.vnet))
                .filter(|bd| filter.zone.as_ref().is_none_or(|z| z == &bd.zone))
                .map(|bd| bd.vnet.as_str())
                .collect();
            if vnets.is_empty() {
                return None;
            }
            let next_hop = vtep.next_hop.map(|n| {
                json!({
                    "ifname": port_name(tables, n.port),
                    "dst_mac": n.dst_mac.to_string(),
                    "src_mac": n.src_mac.to_string(),
                    "src": n.src_ip.to_string(),
                })
            });
            if filter.port.as_ref().is_some_and(|p| {
                vtep.next_hop.map(|n| port_name(tables, n.port)) != Some(p.as_str())
            }) {
                return None;
            }
            Some(json!({
                "dst": vtep.ip.to_string(),
                "vnets": vnets,
                "state": if vtep.next_hop.is_some() { "resolved" } else { "unresolved" },
                "next_hop": next_hop,
            }))
        })
        .collect();
    json!(rows)
}

fn routes(daemon: &DaemonView, filter: &Filter) -> Value {
    let Some(compiled) = daemon.compiled() else {
        return json!([]);
    };
    // `--port`: the routes of the VNets the port carries.
    let carried: Option<Vec<&str>> = filter.port.as_ref().map(|name| {
        daemon
            .port_named(name)
            .map(|p| port_vnets(daemon.tables(), p.slot()))
            .unwrap_or_default()
    });
    let mut rows = Vec::new();
    for zone in compiled.zones.iter().filter(|z| z.participates) {
        if filter.zone.as_ref().is_some_and(|z| z != &zone.id) {
            continue;
        }
        for route in &zone.connected_routes {
            if filter.vnet.as_ref().is_some_and(|v| v != &route.vnet)
                || carried
                    .as_ref()
                    .is_some_and(|vnets| !vnets.contains(&route.vnet.as_str()))
            {
                continue;
            }
            let gateway = zone
                .gateways
                .iter()
                .find(|g| g.vnet == route.vnet && route.prefix.contains(&g.address))
                .map(|g| g.address.to_string());
            rows.push(json!({
                "zone": zone.id,
                "dst": route.prefix.to_string(),
                "vnet": route.vnet,
                "gateway": gateway,
                "type": "connected",
                "routed_by": "kernel",
            }));
        }
    }
    json!(rows)
}

fn bd_counters_json(s: &BdSnapshot) -> Value {
    json!({
        "rx_packets": s.rx_packets,
        "rx_bytes": s.rx_bytes,
        "tx_packets": s.tx_packets,
        "tx_bytes": s.tx_bytes,
        "drops": drops_json(&s.drops),
        "l4_checksums_completed": s.l4_checksums_completed,
        "bad_l4_checksum": s.bad_l4_checksum,
    })
}

fn counters(daemon: &DaemonView, filter: &Filter) -> Value {
    let tables = daemon.tables();
    let pipeline = daemon.worker().pipeline_counters();
    let vnets: Vec<Value> = tables
        .bds
        .iter()
        .filter(|bd| filter.vnet.as_ref().is_none_or(|v| v == &bd.vnet))
        .filter(|bd| filter.zone.as_ref().is_none_or(|z| z == &bd.zone))
        .filter_map(|bd| {
            let (traffic, kernel_tier) = daemon.vnet_traffic(bd)?;
            let mut row = json!({"vnet": bd.vnet, "zone": bd.zone});
            merge(&mut row, bd_counters_json(&traffic));
            if let Some(k) = kernel_tier {
                let share = traffic_json(k.rx_packets, k.rx_bytes, k.tx_packets, k.tx_bytes);
                merge(&mut row, json!({ "kernel_tier": share }));
            }
            Some(row)
        })
        .collect();
    let xdp = daemon.xdp_stats().map(|x| xdp_json(&x));
    json!({
        "ports": ports(daemon, filter),
        "vnets": vnets,
        "malformed": drops_json(&pipeline.malformed_snapshot()),
        "xdp": xdp,
    })
}

/// `xsdn trace`: builds the described frame and asks the worker's pipeline
/// what it would do with it; nothing is learnt, counted or sent.
fn trace(daemon: &DaemonView, spec: &super::trace::FrameSpec) -> Result<Value, String> {
    let port = daemon.port_named(&spec.port).ok_or_else(|| {
        format!(
            "unknown port '{}' (not taken over by the dataplane)",
            spec.port
        )
    })?;
    let frame = super::trace::build(spec)?;
    let slot = port.slot();
    let tables = std::sync::Arc::clone(daemon.tables());
    let explanation = daemon
        .worker()
        .query(move |view| view.pipeline.explain(slot, &frame))
        .map_err(|e| e.to_string())?;
    let tier = super::tier::tier_of(daemon, port, &explanation);
    let outputs: Vec<Value> = explanation
        .outputs
        .iter()
        .map(|o| {
            let ifname = port_name(&tables, o.port);
            match &o.frame {
                Ok(bytes) => json!({"ifname": ifname, "length": bytes.len()}),
                Err(reason) => json!({"ifname": ifname, "drop": reason.as_str()}),
            }
        })
        .collect();
    Ok(json!({
        "port": spec.port,
        "verdict": explanation.verdict,
        "drop": explanation.drop.map(|r| r.as_str()),
        "stages": explanation
            .stages
            .iter()
            .map(|s| json!({"stage": s.stage, "result": s.result}))
            .collect::<Vec<_>>(),
        "outputs": outputs,
        "tier": tier.tier,
        "tier_reason": tier.why,
    }))
}
