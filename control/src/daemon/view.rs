//! A read-only view of the running daemon, for the readers: control
//! socket answers ([`super::respond`]), `/metrics` ([`super::exposition`])
//! and `xsdn trace`.
//!
//! Layer: daemon; borrows the event loop's state for one answer and
//! exposes only accessors, so a reader can neither change the dataplane
//! nor reach the reconcile step or the loop.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use xsdn_common::XDP_STAT_COUNT;
use xsdn_common::kernel_tier::{FdbKey, FdbValue};
use xsdn_dataplane::counters::PortSnapshot;
use xsdn_dataplane::kernel_tier::{KernelBdCounters, KernelMaps, KernelPortCounters};
use xsdn_dataplane::pipeline::BdSnapshot;
use xsdn_dataplane::tables::{BridgeDomain, ForwardingTables, PortSlot};
use xsdn_dataplane::worker::{KernelSyncStats, WorkerHandle};

use crate::compile::CompiledNode;
use crate::dataplane_host::ports::AttachedPort;
use crate::diag::Diagnostic;

use super::applied::Applied;
use super::config_source::{ConfigSource, ReloadOutcome};

/// The daemon's state as readers see it.
#[derive(Clone, Copy)]
pub struct DaemonView<'a> {
    node: &'a str,
    config: &'a ConfigSource,
    applied: &'a Applied,
    started: Instant,
}

/// The worker's MAC table at a glance.
#[derive(Clone, Copy, Debug)]
pub struct FdbSummary {
    /// Entries in the table.
    pub entries: u64,
    /// Entries it can hold.
    pub capacity: u64,
    /// Events so far by name: learned, moved, aged (evicted by age),
    /// flushed (reloads), table_full (not learnt for lack of room),
    /// vnet_full (not learnt: the VNet had its share).
    pub events: [(&'static str, u64); 6],
}

impl<'a> DaemonView<'a> {
    /// A view of node `node`'s daemon, started at `started`.
    pub fn new(
        node: &'a str,
        config: &'a ConfigSource,
        applied: &'a Applied,
        started: Instant,
    ) -> DaemonView<'a> {
        DaemonView {
            node,
            config,
            applied,
            started,
        }
    }

    /// This node's name.
    pub fn node(&self) -> &'a str {
        self.node
    }

    /// Where the configuration is read from.
    pub fn config_path(&self) -> &'a Path {
        self.config.path()
    }

    /// Generation of the configuration in force (0 = none yet).
    pub fn config_generation(&self) -> u64 {
        self.config.generation()
    }

    /// The last reload attempt.
    pub fn last_reload(&self) -> Option<&'a ReloadOutcome> {
        self.config.last_reload()
    }

    /// Accepted reloads.
    pub fn reloads_ok(&self) -> u64 {
        self.config.reloads_ok()
    }

    /// Rejected reloads.
    pub fn reloads_failed(&self) -> u64 {
        self.config.reloads_failed()
    }

    /// Time since the daemon started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The tables the worker runs.
    pub fn tables(&self) -> &'a Arc<ForwardingTables> {
        self.applied.tables()
    }

    /// Generation of the tables the worker runs.
    pub fn tables_generation(&self) -> u64 {
        self.applied.tables_generation()
    }

    /// The compiled node of the configuration in force.
    pub fn compiled(&self) -> Option<&'a CompiledNode> {
        self.applied.compiled()
    }

    /// The ports taken over, by slot.
    pub fn ports(&self) -> impl Iterator<Item = &'a AttachedPort> + 'a {
        self.applied.host().ports().values()
    }

    /// The port taken over as interface `name`.
    pub fn port_named(&self, name: &str) -> Option<&'a AttachedPort> {
        self.applied.host().port_named(name)
    }

    /// The worker (queries between batches, counters).
    pub fn worker(&self) -> &'a WorkerHandle {
        self.applied.host().worker()
    }

    /// The XDP program's counters, when readable.
    pub fn xdp_stats(&self) -> Option<[u64; XDP_STAT_COUNT as usize]> {
        self.applied.host().xdp_stats()
    }

    /// What the last plan could not serve.
    pub fn diagnostics(&self) -> &'a [Diagnostic] {
        self.applied.diagnostics()
    }

    /// VXLAN next hops the kernel has not resolved yet.
    pub fn unresolved(&self) -> &'a [(u32, IpAddr)] {
        self.applied.unresolved()
    }

    /// The kernel tier's maps, when the kernel tier runs.
    pub fn kernel_tier(&self) -> Option<&'a KernelMaps> {
        let host = self.applied.host();
        host.kernel_tier().then(|| host.programs().kernel_view())
    }

    /// Port `slot`'s counters with both tiers' frames added, and the
    /// kernel tier's share (`None` without the kernel tier, or when its
    /// counters cannot be read).
    pub fn port_traffic(&self, slot: PortSlot) -> (PortSnapshot, Option<KernelPortCounters>) {
        let mut total = self.worker().port_counters()[slot.index()].snapshot();
        let kernel = self.kernel_tier().and_then(|k| k.port_counters(slot).ok());
        if let Some(k) = &kernel {
            k.add_to(&mut total);
        }
        (total, kernel)
    }

    /// VNet `domain`'s counters with both tiers' frames added, and the
    /// kernel tier's share; `None` when the worker has no counters for it.
    pub fn vnet_traffic(
        &self,
        domain: &BridgeDomain,
    ) -> Option<(BdSnapshot, Option<KernelBdCounters>)> {
        let mut total = self
            .worker()
            .pipeline_counters()
            .vnet(domain.counter_slot)?
            .snapshot();
        let kernel = self.kernel_tier().and_then(|k| {
            let id = xsdn_dataplane::kernel_tier::kernel_bd(domain)?;
            k.bd_counters(id).ok()
        });
        if let Some(k) = &kernel {
            k.add_to(&mut total);
        }
        Some((total, kernel))
    }

    /// The worker's MAC table: size and events so far; `None` when the
    /// worker does not answer.
    pub fn fdb_summary(&self) -> Option<FdbSummary> {
        self.worker()
            .query(|view| {
                let fdb = view.pipeline.fdb();
                let stats = fdb.stats();
                FdbSummary {
                    entries: fdb.len() as u64,
                    capacity: fdb.max_entries() as u64,
                    events: [
                        ("learned", stats.learned.get()),
                        ("moved", stats.moved.get()),
                        ("aged", stats.aged.get()),
                        ("flushed", stats.flushed.get()),
                        ("table_full", stats.table_full.get()),
                        ("vnet_full", stats.domain_full.get()),
                    ],
                }
            })
            .ok()
    }

    /// Frames the worker dropped from the punt path for lack of a valid
    /// port tag, and what its mirroring into the kernel tier has done
    /// (`None` without the kernel tier); `None` when the worker does not
    /// answer.
    pub fn worker_tier_stats(&self) -> Option<(u64, Option<KernelSyncStats>)> {
        self.worker()
            .query(|view| (view.punt_rejected, view.kernel_sync))
            .ok()
    }

    /// The kernel tier's MAC entries, each with whether it is current (its
    /// domain's generation in force); empty without the kernel tier.
    pub fn kernel_fdb(&self) -> Vec<(FdbKey, FdbValue, bool)> {
        let Some(kernel) = self.kernel_tier() else {
            return Vec::new();
        };
        kernel
            .fdb_entries()
            .into_iter()
            .map(|(key, value)| {
                let current = kernel.bd_generation(key.bd) == Some(value.generation);
                (key, value, current)
            })
            .collect()
    }
}
