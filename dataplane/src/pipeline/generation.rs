//! A tables generation prepared off the worker thread.
//!
//! Swapping tables must not allocate or free on the worker: everything a
//! swap needs beyond the new tables (which bridge domain ids carry their
//! learnt MACs over) is computed here, on the caller's thread, from the
//! previous and the next tables. The caller also keeps the generations it
//! handed over alive until the worker has moved past them (see
//! `WorkerHandle::set_tables`), so the worker only ever drops the last
//! reference of nothing.

use std::collections::HashMap;
use std::sync::Arc;

use crate::tables::{BdId, ForwardingTables};

/// New tables plus how the MAC table's bridge domain ids carry over from
/// the tables before them.
#[derive(Debug)]
pub struct Generation {
    tables: Arc<ForwardingTables>,
    /// Old bridge domain id -> new id, for domains with the same identity
    /// (VNet name and encapsulation); `None`: flushed.
    bd_remap: Box<[Option<BdId>]>,
}

impl Generation {
    /// Prepares the switch from `previous` to `next`.
    pub fn prepare(previous: &ForwardingTables, next: Arc<ForwardingTables>) -> Generation {
        let by_vnet: HashMap<&str, BdId> = next
            .bds
            .iter()
            .enumerate()
            .map(|(id, bd)| (bd.vnet.as_str(), id as BdId))
            .collect();
        let bd_remap = previous
            .bds
            .iter()
            .map(|old| {
                let id = *by_vnet.get(old.vnet.as_str())?;
                next.bd(id)?.same_identity(old).then_some(id)
            })
            .collect();
        drop(by_vnet);
        Generation {
            tables: next,
            bd_remap,
        }
    }

    /// The new tables.
    pub fn tables(&self) -> &Arc<ForwardingTables> {
        &self.tables
    }

    /// The new id of old bridge domain `old`, `None` if its entries are
    /// flushed.
    #[inline]
    pub fn carried_bd(&self, old: BdId) -> Option<BdId> {
        *self.bd_remap.get(usize::from(old))?
    }
}
