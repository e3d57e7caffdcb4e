//! Mirroring the worker's MAC table into the in-kernel tier.
//!
//! Every change the pipeline makes to its MAC table (a MAC learnt or moved,
//! a static entry, an entry aged out or flushed) is logged by the table
//! (`Fdb::track_changes`) and applied here between two passes, one map
//! write per change. When the log overflowed, or a new tables generation
//! changed what the entries mean, the whole table is written again, a part
//! per pass (bounded in slots looked at and in entries written), so no
//! pass stalls forwarding for long, and the worker does not sleep while a
//! resynchronization is under way. Once it is complete, the entries of
//! older generations are freed: the worker is the map's only writer, so it
//! cannot free an entry it has just written. Work per pass is bounded by
//! what the pass learnt: a flood of new source MACs costs at most one map
//! write per received frame.

use std::sync::Arc;

use xsdn_common::kernel_tier::{FdbKey, FdbValue};

use crate::kernel_tier::{FdbWriter, fdb_entry, fdb_key, kernel_bd};
use crate::pipeline::{Fdb, FdbChange, FdbEntry, Location, Pipeline, Tick};
use crate::tables::{BdId, ForwardingTables};
use crate::wire::EthernetAddress;

/// MAC table slots looked at per step of a resynchronization.
const RESYNC_STEP: usize = 512;
/// At most this many slots looked at per pass (a few tens of
/// microseconds)...
const RESYNC_SLOTS_PER_PASS: usize = 32 * RESYNC_STEP;
/// ...and at most about this many entries written per pass (one map
/// update each), so a resynchronization never stalls forwarding for long.
const RESYNC_WRITES_PER_PASS: usize = 512;
/// Ticks (ms) between two steps of the freshness scan.
const FRESH_PERIOD: Tick = 100;
/// Kernel entries looked up per freshness step at most (one lookup each,
/// one update per refreshed entry).
const FRESH_CHECKS: usize = 64;

/// What the worker's mirroring of its MAC table into the kernel tier has
/// done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelSyncStats {
    /// Entries the kernel refused (its table full): those MACs stay with
    /// userspace.
    pub refused: u64,
    /// Entries of older generations freed after resynchronizations.
    pub swept: u64,
    /// MAC ages refreshed from the kernel tier's hits (traffic the kernel
    /// tier carried that userspace never saw).
    pub refreshed: u64,
}

/// The worker's handle on the kernel tier's MAC table, and where a
/// resynchronization stands.
#[derive(Debug)]
pub struct KernelSync {
    writer: FdbWriter,
    /// Next slot to rewrite, while resynchronizing.
    resync: Option<usize>,
    /// Where the freshness scan goes on, and when it last ran.
    fresh_cursor: usize,
    fresh_at: Tick,
    stats: KernelSyncStats,
}

impl KernelSync {
    /// Mirrors into `writer`, starting with a full resynchronization.
    pub fn new(writer: FdbWriter) -> KernelSync {
        KernelSync {
            writer,
            resync: Some(0),
            fresh_cursor: 0,
            fresh_at: 0,
            stats: KernelSyncStats::default(),
        }
    }

    /// What the mirroring has done so far.
    pub fn stats(&self) -> KernelSyncStats {
        self.stats
    }

    /// Applies the pipeline's logged changes, then one part of a pending
    /// resynchronization, then (every [`FRESH_PERIOD`] ticks) one part of
    /// the freshness scan.
    pub fn sync(&mut self, pipeline: &mut Pipeline, now: Tick) {
        self.apply_changes(pipeline);
        if now.saturating_sub(self.fresh_at) >= FRESH_PERIOD {
            self.fresh_at = now;
            self.refresh_ages(pipeline, now);
        }
    }

    /// Keeps the MACs whose traffic the kernel tier carries from ageing
    /// out: entries past half the ageing time whose kernel entry saw them
    /// as a source since the last look are marked seen now. A part of the
    /// table per call, sized so the whole table is looked at within a
    /// quarter of the ageing time.
    fn refresh_ages(&mut self, pipeline: &mut Pipeline, now: Tick) {
        let fdb = pipeline.fdb();
        let age = fdb.age().max(1);
        let calls = (age / 4 / FRESH_PERIOD).max(1) as usize;
        let step = fdb.capacity().div_ceil(calls).max(RESYNC_STEP);
        let mut due: heapless::Vec<(BdId, EthernetAddress), FRESH_CHECKS> = heapless::Vec::new();
        // In chunks no larger than the room left in `due` (a slot holds at
        // most one entry), so no entry is skipped and the cursor always
        // moves on, however many entries are due.
        let (mut cursor, mut seen) = (self.fresh_cursor, 0);
        while seen < step && !due.is_full() {
            let room = FRESH_CHECKS - due.len();
            let next = fdb.scan_part(cursor, room, now, |e| {
                if !e.is_static && e.age >= age / 2 {
                    let _ = due.push((e.bd, e.mac));
                }
            });
            seen += room;
            match next {
                Some(next) => cursor = next,
                None => {
                    cursor = 0;
                    break;
                }
            }
        }
        self.fresh_cursor = cursor;
        let tables = Arc::clone(pipeline.tables());
        for (bd, mac) in due {
            if let Some(key) = fdb_key(&tables, bd, &mac)
                && self.writer.take_hit(&key)
            {
                pipeline.fdb_mut().touch(bd, &mac, now);
                self.stats.refreshed += 1;
            }
        }
    }

    fn apply_changes(&mut self, pipeline: &mut Pipeline) {
        let tables = Arc::clone(pipeline.tables());
        let overflowed = pipeline
            .fdb_mut()
            .drain_changes(|change| self.apply(&tables, change));
        if overflowed {
            self.resync = Some(0);
        }
        let (mut looked, mut written) = (0, 0);
        while let Some(start) = self.resync {
            if looked >= RESYNC_SLOTS_PER_PASS || written >= RESYNC_WRITES_PER_PASS {
                break;
            }
            self.resync = pipeline.fdb().scan_part(start, RESYNC_STEP, 0, |entry| {
                let FdbEntry {
                    bd, mac, location, ..
                } = entry;
                self.install(&tables, bd, &mac, location);
                written += 1;
            });
            looked += RESYNC_STEP;
            if self.resync.is_none() {
                let fdb = pipeline.fdb();
                let swept = self
                    .writer
                    .sweep(|key, value| stale(&tables, fdb, key, value));
                self.stats.swept += swept as u64;
            }
        }
    }

    /// Whether a resynchronization is under way (the worker should come
    /// back soon rather than sleep).
    pub fn busy(&self) -> bool {
        self.resync.is_some()
    }

    fn apply(&mut self, tables: &ForwardingTables, change: FdbChange) {
        match change {
            FdbChange::Installed { bd, mac, location } => {
                self.install(tables, bd, &mac, location);
            }
            FdbChange::Removed { bd, mac } => {
                if let Some(key) = fdb_key(tables, bd, &mac) {
                    self.writer.remove(&key);
                }
            }
        }
    }

    fn install(
        &mut self,
        tables: &ForwardingTables,
        bd: BdId,
        mac: &EthernetAddress,
        location: Location,
    ) {
        match fdb_entry(tables, bd, mac, location) {
            Some((key, value)) => {
                if !self.writer.install(&key, &value) {
                    self.stats.refused += 1;
                }
            }
            // Nothing the kernel tier can do for this MAC (an IPv6 peer, an
            // unresolved next hop...): make sure no older entry stays.
            None => {
                if let Some(key) = fdb_key(tables, bd, mac) {
                    self.writer.remove(&key);
                }
            }
        }
    }
}

/// Whether the kernel entry `key`/`value` is of no use under `tables` and
/// the MAC table `fdb`: its bridge domain is gone, it was installed for
/// another generation, or its MAC is no longer in the MAC table (a removal
/// lost with an overflowed or discarded change log).
fn stale(tables: &ForwardingTables, fdb: &Fdb, key: &FdbKey, value: &FdbValue) -> bool {
    let domain = tables
        .bds
        .iter()
        .position(|b| kernel_bd(b) == Some(key.bd) && b.kernel_generation == value.generation);
    match domain.and_then(|i| BdId::try_from(i).ok()) {
        Some(bd) => fdb.lookup(bd, &EthernetAddress(key.mac)).is_none(),
        None => true,
    }
}
