//! Mirroring the worker's MAC table into the in-kernel tier.
//!
//! Every change the pipeline makes to its MAC table (a MAC learnt or moved,
//! a static entry, an entry aged out or flushed) is logged by the table
//! (`Fdb::track_changes`) and applied here between two passes, one map
//! write per change. When the log overflowed, or a new tables generation
//! changed what the entries mean, the whole table is written again, a part
//! per pass (bounded in slots looked at and in entries written), so no
//! pass stalls forwarding for long, and the worker does not sleep while a
//! resynchronization is under way. Work per pass is bounded by what the
//! pass learnt: a flood of new source MACs costs at most one map write
//! per received frame.

use std::sync::Arc;

use crate::kernel_tier::{FdbWriter, fdb_entry, fdb_key};
use crate::pipeline::{FdbChange, FdbEntry, Location, Pipeline};
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

/// The worker's handle on the kernel tier's MAC table, and where a
/// resynchronization stands.
#[derive(Debug)]
pub struct KernelSync {
    writer: FdbWriter,
    /// Next slot to rewrite, while resynchronizing.
    resync: Option<usize>,
    /// Entries the kernel refused (its table full).
    refused: u64,
}

impl KernelSync {
    /// Mirrors into `writer`, starting with a full resynchronization.
    pub fn new(writer: FdbWriter) -> KernelSync {
        KernelSync {
            writer,
            resync: Some(0),
            refused: 0,
        }
    }

    /// Entries the kernel refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Applies the pipeline's logged changes, then one part of a pending
    /// resynchronization.
    pub fn sync(&mut self, pipeline: &mut Pipeline) {
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
                    self.refused += 1;
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
