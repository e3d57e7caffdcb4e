//! The daemon's Prometheus metrics (names, labels and meaning are listed in
//! `docs/metrics.md`).
//!
//! Rendered at scrape time from the workers' single-writer counters (summed
//! over workers) and the daemon's own state; nothing on the forwarding path
//! waits for a scrape. Labels are bounded: ports, VNets, zones, queues,
//! drop reasons; never MAC or IP addresses.
//!
//! Layer: daemon reader; reads a [`DaemonView`] only.

use xsdn_common::XdpStat;
use xsdn_dataplane::counters::DropReason;
use xsdn_dataplane::tables::{BdEncap, PortRole, PortSlot};

use xsdn_dataplane::counters::PortSnapshot;
use xsdn_dataplane::kernel_tier::KernelPortCounters;
use xsdn_dataplane::pipeline::BdSnapshot;

use super::metrics::{Exposition, Kind};

/// A counter family: name, help, and how to read it from a snapshot.
type CounterFamily<S> = (&'static str, &'static str, fn(&S) -> u64);
use super::view::DaemonView;

/// Per-socket kernel statistics of one port queue.
struct SocketRow {
    port: String,
    queue: u32,
    stats: xsdn_dataplane::xsk::SocketStats,
}

/// Renders every metric.
pub fn render(daemon: &DaemonView) -> String {
    let mut e = Exposition::new();
    build_info(&mut e, daemon);
    config(&mut e, daemon);
    ports(&mut e, daemon);
    vnets(&mut e, daemon);
    pipeline(&mut e, daemon);
    kernel_tier(&mut e, daemon);
    sockets(&mut e, daemon);
    e.finish()
}

fn build_info(e: &mut Exposition, daemon: &DaemonView) {
    e.family(
        "xsdn_build_info",
        Kind::Gauge,
        "Build information; always 1.",
    )
    .sample(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
        - daemon.uptime().as_secs_f64();
    e.family(
        "xsdn_start_time_seconds",
        Kind::Gauge,
        "Start time of the daemon since the Unix epoch.",
    )
    .sample(&[], started.floor());
}

fn config(e: &mut Exposition, daemon: &DaemonView) {
    e.family(
        "xsdn_config_generation",
        Kind::Gauge,
        "Generation of the SDN configuration in force (0 = none loaded).",
    )
    .sample_u64(&[], daemon.config_generation());
    e.family(
        "xsdn_tables_generation",
        Kind::Gauge,
        "Generation of the forwarding tables the workers run.",
    )
    .sample_u64(&[], daemon.tables_generation());
    e.family(
        "xsdn_config_reloads_total",
        Kind::Counter,
        "Configuration loads by result (failed = rejected; the previous configuration stays in force).",
    )
    .sample_u64(&[("result", "ok")], daemon.reloads_ok())
    .sample_u64(&[("result", "failed")], daemon.reloads_failed());
    let (ok, at) = daemon.last_reload().map_or((0.0, 0.0), |r| {
        (
            if r.ok { 1.0 } else { 0.0 },
            r.at.duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64().floor()),
        )
    });
    e.family(
        "xsdn_config_last_reload_success",
        Kind::Gauge,
        "1 if the last configuration load was accepted, 0 if rejected.",
    )
    .sample(&[], ok);
    e.family(
        "xsdn_config_last_reload_timestamp_seconds",
        Kind::Gauge,
        "Time of the last configuration load since the Unix epoch.",
    )
    .sample(&[], at);
}

fn role(daemon: &DaemonView, slot: PortSlot) -> &'static str {
    match daemon.tables().port(slot).map(|p| p.role) {
        Some(PortRole::Guest { .. }) => "guest",
        Some(PortRole::Uplink) => "uplink",
        _ => "unused",
    }
}

fn ports(e: &mut Exposition, daemon: &DaemonView) {
    let mut kernel_rows = Vec::new();
    let rows: Vec<(String, &'static str, PortSnapshot)> = daemon
        .ports()
        .map(|p| {
            let (traffic, kernel_tier) = daemon.port_traffic(p.slot());
            if let Some(k) = kernel_tier {
                kernel_rows.push((p.name().to_owned(), role(daemon, p.slot()), k));
            }
            (p.name().to_owned(), role(daemon, p.slot()), traffic)
        })
        .collect();
    let families: [CounterFamily<PortSnapshot>; 4] = [
        (
            "xsdn_port_rx_packets_total",
            "Frames received from a port by the dataplane.",
            |s| s.rx_packets,
        ),
        (
            "xsdn_port_rx_bytes_total",
            "Bytes received from a port by the dataplane.",
            |s| s.rx_bytes,
        ),
        (
            "xsdn_port_tx_packets_total",
            "Frames transmitted on a port by the dataplane.",
            |s| s.tx_packets,
        ),
        (
            "xsdn_port_tx_bytes_total",
            "Bytes transmitted on a port by the dataplane.",
            |s| s.tx_bytes,
        ),
    ];
    for (name, help, value) in families {
        let mut f = e.family(name, Kind::Counter, help);
        for (port, role, s) in &rows {
            f.sample_u64(&[("port", port), ("role", role)], value(s));
        }
    }
    let mut f = e.family(
        "xsdn_port_drops_total",
        Kind::Counter,
        "Frames received on a port and dropped by the dataplane, by reason.",
    );
    for (port, role, s) in &rows {
        for reason in DropReason::ALL {
            f.sample_u64(
                &[("port", port), ("role", role), ("reason", reason.as_str())],
                s.drops[reason.index()].1,
            );
        }
    }
    kernel_tier_ports(e, &kernel_rows);
}

/// The kernel tier's share of each port's frames, and what it punted.
fn kernel_tier_ports(e: &mut Exposition, rows: &[(String, &'static str, KernelPortCounters)]) {
    let families: [CounterFamily<KernelPortCounters>; 5] = [
        (
            "xsdn_port_kernel_tier_rx_packets_total",
            "Frames received from a port and forwarded in the kernel tier (part of xsdn_port_rx_packets_total).",
            |s| s.rx_packets,
        ),
        (
            "xsdn_port_kernel_tier_rx_bytes_total",
            "Bytes received from a port and forwarded in the kernel tier.",
            |s| s.rx_bytes,
        ),
        (
            "xsdn_port_kernel_tier_tx_packets_total",
            "Frames transmitted on a port by the kernel tier (part of xsdn_port_tx_packets_total).",
            |s| s.tx_packets,
        ),
        (
            "xsdn_port_kernel_tier_tx_bytes_total",
            "Bytes transmitted on a port by the kernel tier.",
            |s| s.tx_bytes,
        ),
        (
            "xsdn_port_punted_total",
            "Frames of a port the kernel tier handed to the userspace pipeline (new or moved sources, unknown destinations, broadcast, anything unusual).",
            |s| s.punted,
        ),
    ];
    for (name, help, value) in families {
        let mut f = e.family(name, Kind::Counter, help);
        for (port, role, s) in rows {
            f.sample_u64(&[("port", port), ("role", role)], value(s));
        }
    }
}

fn vnets(e: &mut Exposition, daemon: &DaemonView) {
    let rows: Vec<(
        String,
        String,
        String,
        String,
        xsdn_dataplane::pipeline::BdSnapshot,
    )> = daemon
        .tables()
        .bds
        .iter()
        .filter_map(|bd| {
            let (kind, tag) = match bd.encap {
                BdEncap::Local => ("local", String::new()),
                BdEncap::Vlan { vid } => ("vlan", vid.to_string()),
                BdEncap::QinQ { s_vid, c_vid, .. } => (
                    "qinq",
                    match c_vid {
                        Some(c) => format!("{s_vid}.{c}"),
                        None => s_vid.to_string(),
                    },
                ),
                BdEncap::Vxlan { vni, .. } => ("vxlan", vni.to_string()),
            };
            let (snapshot, _) = daemon.vnet_traffic(bd)?;
            Some((
                bd.vnet.clone(),
                bd.zone.clone(),
                kind.to_owned(),
                tag,
                snapshot,
            ))
        })
        .collect();
    let families: [CounterFamily<BdSnapshot>; 4] = [
        (
            "xsdn_vnet_rx_packets_total",
            "Frames received into a VNet (from guests, its uplink tag or its VNI).",
            |s| s.rx_packets,
        ),
        (
            "xsdn_vnet_rx_bytes_total",
            "Bytes received into a VNet.",
            |s| s.rx_bytes,
        ),
        (
            "xsdn_vnet_tx_packets_total",
            "Frames of a VNet transmitted (each flooded copy counts).",
            |s| s.tx_packets,
        ),
        (
            "xsdn_vnet_tx_bytes_total",
            "Bytes of a VNet transmitted.",
            |s| s.tx_bytes,
        ),
    ];
    for (name, help, value) in families {
        let mut f = e.family(name, Kind::Counter, help);
        for (vnet, zone, kind, tag, s) in &rows {
            f.sample_u64(
                &[
                    ("vnet", vnet),
                    ("zone", zone),
                    ("encap", kind),
                    ("tag", tag),
                ],
                value(s),
            );
        }
    }
    let mut f = e.family(
        "xsdn_vnet_drops_total",
        Kind::Counter,
        "Frames of a VNet dropped, by reason.",
    );
    for (vnet, zone, _, _, s) in &rows {
        for reason in DropReason::ALL {
            f.sample_u64(
                &[("vnet", vnet), ("zone", zone), ("reason", reason.as_str())],
                s.drops[reason.index()].1,
            );
        }
    }
    let mut f = e.family(
        "xsdn_vnet_l4_checksums_completed_total",
        Kind::Counter,
        "UDP/TCP checksums a guest left to offload, completed by the dataplane.",
    );
    for (vnet, zone, _, _, s) in &rows {
        f.sample_u64(&[("vnet", vnet), ("zone", zone)], s.l4_checksums_completed);
    }
}

fn pipeline(e: &mut Exposition, daemon: &DaemonView) {
    let counters = daemon.worker().pipeline_counters();
    let mut f = e.family(
        "xsdn_malformed_frames_total",
        Kind::Counter,
        "Frames dropped because a header failed validation, by reason.",
    );
    for (reason, n) in counters.malformed_snapshot() {
        f.sample_u64(&[("reason", reason)], n);
    }
    if let Some(x) = daemon.xdp_stats() {
        let mut f = e.family(
            "xsdn_xdp_frames_total",
            Kind::Counter,
            "Frames seen by the XDP program, by action (redirected to AF_XDP, passed to the kernel, on an unknown interface, fell back to the kernel for lack of a socket, from a guest to the host's own stack).",
        );
        for stat in XdpStat::ALL {
            f.sample_u64(&[("action", stat.name())], x[stat as usize]);
        }
    }
    if let Some(fdb) = daemon.fdb_summary() {
        e.family("xsdn_fdb_entries", Kind::Gauge, "MAC table entries.")
            .sample_u64(&[], fdb.entries);
        e.family("xsdn_fdb_capacity", Kind::Gauge, "MAC table capacity.")
            .sample_u64(&[], fdb.capacity);
        let mut f = e.family(
            "xsdn_fdb_events_total",
            Kind::Counter,
            "MAC table events: learned, moved, aged (evicted by age), flushed (reload), table_full (not learnt), vnet_full (not learnt: the VNet had its share).",
        );
        for (event, n) in fdb.events {
            f.sample_u64(&[("event", event)], n);
        }
    }
}

fn kernel_tier(e: &mut Exposition, daemon: &DaemonView) {
    let Some((punt_rejected, sync)) = daemon.worker_tier_stats() else {
        return;
    };
    e.family(
        "xsdn_punt_rejected_total",
        Kind::Counter,
        "Frames handed up by the kernel tier without a valid port tag, dropped.",
    )
    .sample_u64(&[], punt_rejected);
    if let Some(sync) = sync {
        e.family(
            "xsdn_kernel_tier_fdb_events_total",
            Kind::Counter,
            "Kernel tier MAC table: refused (its table full, the MAC stays with userspace), swept (entries of older generations freed), refreshed (MAC ages kept fresh by kernel-tier traffic).",
        )
        .sample_u64(&[("event", "refused")], sync.refused)
        .sample_u64(&[("event", "swept")], sync.swept)
        .sample_u64(&[("event", "refreshed")], sync.refreshed);
    }
}

fn sockets(e: &mut Exposition, daemon: &DaemonView) {
    let rows: Vec<SocketRow> = daemon
        .worker()
        .query(|view| {
            let mut rows = Vec::new();
            for port in view.ports.iter().flatten() {
                for (queue, &q) in port.queues.iter().enumerate() {
                    if let Ok(stats) = view.sockets.stats(q) {
                        rows.push(SocketRow {
                            port: port.name.clone(),
                            queue: queue as u32,
                            stats,
                        });
                    }
                }
            }
            rows
        })
        .unwrap_or_default();
    let families: [CounterFamily<xsdn_dataplane::xsk::SocketStats>; 5] = [
        (
            "xsdn_xsk_rx_dropped_total",
            "AF_XDP: frames the kernel dropped before the RX ring.",
            |s| s.rx_dropped,
        ),
        (
            "xsdn_xsk_rx_ring_full_total",
            "AF_XDP: frames dropped because the RX ring was full.",
            |s| s.rx_ring_full,
        ),
        (
            "xsdn_xsk_fill_ring_empty_total",
            "AF_XDP: times a frame arrived with the fill ring empty.",
            |s| s.rx_fill_ring_empty_descs,
        ),
        (
            "xsdn_xsk_tx_invalid_total",
            "AF_XDP: invalid TX descriptors.",
            |s| s.tx_invalid_descs,
        ),
        (
            "xsdn_xsk_rx_invalid_total",
            "AF_XDP: invalid RX descriptors.",
            |s| s.rx_invalid_descs,
        ),
    ];
    for (name, help, value) in families {
        let mut f = e.family(name, Kind::Counter, help);
        for row in &rows {
            f.sample_u64(
                &[("port", &row.port), ("queue", &row.queue.to_string())],
                value(&row.stats),
            );
        }
    }
}
