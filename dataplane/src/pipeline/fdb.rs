//! The MAC table (forwarding database): `(bridge domain, MAC) -> where the
//! MAC lives` (a port or a VXLAN peer), with learning, moves, aging and
//! static entries.
//!
//! Layer: owned by one pipeline (one worker thread); pure, no I/O, no clock:
//! time is a coarse [`Tick`] passed in by the caller (seconds or
//! milliseconds, the caller's choice; `age` is in the same unit).
//!
//! Guarantees:
//! - **bounded and allocation-free after creation**: an open-addressing
//!   table (linear probing, backward-shift deletion) preallocated at twice
//!   the entry bound; at most `max_entries` entries, and a key is never
//!   stored more than [`PROBE_LIMIT`] slots from its home slot, so every
//!   lookup, learn and removal probes at most [`PROBE_LIMIT`] slots whatever
//!   MACs the guests send (the hash is also seeded per table). A MAC that
//!   finds no room is not learned (counted as `table_full`) and its frames
//!   are flooded;
//! - **bounded per bridge domain**: learning never takes a domain past
//!   its share ([`Fdb::with_domain_limit`]; counted as `domain_full`), so
//!   a guest sending from endless source MACs fills its own VNet's share,
//!   not the table every other VNet learns in;
//! - group (multicast/broadcast) and all-zero source MACs are never learnt;
//! - static entries are neither moved by learning nor aged;
//! - aging is incremental: [`Fdb::sweep`] examines a bounded number of slots
//!   per call;
//! - statistics are single-writer atomics ([`FdbStats`]) that another thread
//!   may read through an `Arc`.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::counters::Counter;
use crate::tables::{BdId, PortSlot, VtepIdx};
use crate::wire::EthernetAddress;

/// Coarse time: the caller's clock, in the caller's unit.
pub type Tick = u64;

/// Longest probe sequence: a key lives at most this many slots after its
/// home slot.
pub const PROBE_LIMIT: usize = 32;

/// Where a MAC address lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// Behind a port (a guest port, or the uplink of a VLAN/QinQ domain).
    Port(PortSlot),
    /// Behind a VXLAN peer.
    Vtep(VtepIdx),
}

/// One entry, as [`Fdb::entries`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdbEntry {
    /// Bridge domain.
    pub bd: BdId,
    /// MAC address.
    pub mac: EthernetAddress,
    /// Where it lives.
    pub location: Location,
    /// Ticks since it was last seen (0 for static entries).
    pub age: Tick,
    /// Installed by the control plane, never learnt, moved or aged.
    pub is_static: bool,
}

/// What [`Fdb::learn`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learned {
    /// A group or all-zero address: never learnt.
    Ignored,
    /// A new entry.
    New,
    /// Known at the same place: refreshed.
    Refreshed,
    /// Known elsewhere: moved here.
    Moved,
    /// A static entry: left as it is.
    Static,
    /// No room (entry bound or probe limit): not learnt.
    Refused,
}

/// A change of the table, as the in-kernel tier must mirror it (see
/// [`Fdb::track_changes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdbChange {
    /// `mac` now lives at `location` in `bd` (new, moved, or a static
    /// entry installed).
    Installed {
        /// Bridge domain.
        bd: BdId,
        /// MAC address.
        mac: EthernetAddress,
        /// Where it lives.
        location: Location,
    },
    /// `mac` is no longer known in `bd` (aged, removed, flushed).
    Removed {
        /// Bridge domain.
        bd: BdId,
        /// MAC address.
        mac: EthernetAddress,
    },
}

/// Changes kept between two drains; beyond, the log overflows and the
/// reader must resynchronize from the whole table.
pub const CHANGE_LOG: usize = 4096;

/// Why [`Fdb::insert_static`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FdbError {
    /// Group and all-zero addresses cannot be stored.
    #[error("group or all-zero MAC address")]
    BadAddress,
    /// The table (or the key's probe window) is full.
    #[error("MAC table full")]
    Full,
}

/// Statistics of one table; written by its owner, readable by anyone.
#[derive(Debug, Default)]
pub struct FdbStats {
    entries: AtomicU64,
    /// Dynamic entries created by learning.
    pub learned: Counter,
    /// Entries moved to another port or VTEP by learning.
    pub moved: Counter,
    /// Entries removed by aging.
    pub aged: Counter,
    /// Entries removed by flushes (reloads, [`Fdb::flush_bd`]).
    pub flushed: Counter,
    /// Addresses not learnt for lack of room.
    pub table_full: Counter,
    /// Addresses not learnt because their bridge domain had its share.
    pub domain_full: Counter,
}

impl FdbStats {
    /// Entries in the table now.
    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::Relaxed)
    }
}

const EMPTY: u64 = 0;
const KIND_PORT: u8 = 0;
const KIND_VTEP: u8 = 1;

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// `bd << 48 | mac`, or [`EMPTY`] (bd 0 with the zero MAC, which is
    /// never stored).
    key: u64,
    last_seen: Tick,
    index: u16,
    kind: u8,
    is_static: bool,
}

impl Slot {
    #[inline]
    fn location(&self) -> Location {
        if self.kind == KIND_VTEP {
            Location::Vtep(self.index)
        } else {
            // Stored from a `PortSlot`, so always a valid slot.
            Location::Port(PortSlot::new(usize::from(self.index)).unwrap_or_default())
        }
    }

    #[inline]
    fn set_location(&mut self, location: Location) {
        (self.kind, self.index) = match location {
            Location::Port(p) => (KIND_PORT, p.raw()),
            Location::Vtep(v) => (KIND_VTEP, v),
        };
    }
}

#[inline]
fn key_of(bd: BdId, mac: &EthernetAddress) -> u64 {
    let m = mac.0;
    (u64::from(bd) << 48) | u64::from_be_bytes([0, 0, m[0], m[1], m[2], m[3], m[4], m[5]])
}

#[inline]
fn unkey(key: u64) -> (BdId, EthernetAddress) {
    let b = key.to_be_bytes();
    (
        (key >> 48) as BdId,
        EthernetAddress([b[2], b[3], b[4], b[5], b[6], b[7]]),
    )
}

/// A probe result.
enum Probe {
    Found(usize),
    Vacant(usize),
    Full,
}

/// The MAC table of one pipeline.
#[derive(Debug)]
pub struct Fdb {
    slots: Box<[Slot]>,
    mask: usize,
    max_entries: usize,
    len: usize,
    /// Most learnt entries per bridge domain, and the entries of each.
    domain_limit: usize,
    per_domain: Box<[u32]>,
    age: Tick,
    seed: u64,
    sweep_cursor: usize,
    stats: Arc<FdbStats>,
    /// Scratch list for [`Fdb::remap`], allocated once at creation with
    /// room for every entry, so a remap never allocates.
    rekeyed: Vec<Rekeyed>,
    /// Changes since the last drain, when tracking ([`Fdb::track_changes`]).
    changes: Option<heapless::Deque<FdbChange, CHANGE_LOG>>,
    /// Changes were lost since the last drain: mirror the whole table.
    overflowed: bool,
}

/// An entry [`Fdb::remap`] moves to another bridge domain: key, location,
/// last seen, static.
type Rekeyed = (u64, Location, Tick, bool);

impl Fdb {
    /// A table holding at most `max_entries` (at least 1) entries that age
    /// out after `age` ticks without a frame from them.
    pub fn new(max_entries: usize, age: Tick) -> Fdb {
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64);
        Fdb::with_seed(max_entries, age, seed)
    }

    /// [`Fdb::new`] with a fixed hash seed (reproducible tests and
    /// benchmarks).
    pub fn with_seed(max_entries: usize, age: Tick, seed: u64) -> Fdb {
        let max_entries = max_entries.max(1);
        let capacity = (max_entries * 2).next_power_of_two().max(16);
        Fdb {
            slots: vec![Slot::default(); capacity].into_boxed_slice(),
            mask: capacity - 1,
            max_entries,
            len: 0,
            domain_limit: max_entries,
            per_domain: vec![0; usize::from(BdId::MAX) + 1].into_boxed_slice(),
            age,
            seed,
            sweep_cursor: 0,
            stats: Arc::new(FdbStats::default()),
            rekeyed: Vec::with_capacity(max_entries),
            changes: None,
            overflowed: false,
        }
    }

    /// Learning never takes one bridge domain past `limit` entries (at
    /// least 1); the table's own bound still applies.
    pub fn with_domain_limit(mut self, limit: usize) -> Fdb {
        self.domain_limit = limit.max(1);
        self
    }

    /// Entries of bridge domain `bd`.
    pub fn domain_len(&self, bd: BdId) -> usize {
        self.per_domain[usize::from(bd)] as usize
    }

    /// Entries in the table.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry bound.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// The aging time in ticks.
    pub fn age(&self) -> Tick {
        self.age
    }

    /// Shared handle on the statistics.
    pub fn stats(&self) -> Arc<FdbStats> {
        Arc::clone(&self.stats)
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        // murmur3's finaliser over the seeded key.
        let mut h = key ^ self.seed;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^= h >> 33;
        h as usize & self.mask
    }

    #[inline]
    fn probe(&self, key: u64) -> Probe {
        let home = self.home(key);
        for i in 0..PROBE_LIMIT {
            let idx = (home + i) & self.mask;
            let slot_key = self.slots[idx].key;
            if slot_key == key {
                return Probe::Found(idx);
            }
            if slot_key == EMPTY {
                return Probe::Vacant(idx);
            }
        }
        Probe::Full
    }

    fn set_len(&mut self, len: usize) {
        self.len = len;
        self.stats.entries.store(len as u64, Ordering::Relaxed);
    }

    /// One more entry, of bridge domain `bd`.
    fn grow(&mut self, bd: BdId) {
        self.set_len(self.len + 1);
        self.per_domain[usize::from(bd)] += 1;
    }

    /// Where `mac` lives in `bd`, if known.
    #[inline]
    pub fn lookup(&self, bd: BdId, mac: &EthernetAddress) -> Option<Location> {
        match self.probe(key_of(bd, mac)) {
            Probe::Found(idx) => Some(self.slots[idx].location()),
            _ => None,
        }
    }

    /// Marks dynamic entry (`bd`, `mac`) as seen at `now` without learning
    /// anything (its location stays; no change is logged): for traffic the
    /// in-kernel tier forwarded. False if there is no such dynamic entry.
    pub fn touch(&mut self, bd: BdId, mac: &EthernetAddress, now: Tick) -> bool {
        match self.probe(key_of(bd, mac)) {
            Probe::Found(idx) if !self.slots[idx].is_static => {
                self.slots[idx].last_seen = now;
                true
            }
            _ => false,
        }
    }

    /// Starts (or stops) logging changes for a mirror of the table (the
    /// in-kernel tier): [`Fdb::drain_changes`] then hands them out. The
    /// log is bounded ([`CHANGE_LOG`]); when it overflows, the drain says
    /// so and the mirror must be rebuilt from [`Fdb::entries`].
    pub fn track_changes(&mut self, on: bool) {
        self.changes = on.then(heapless::Deque::new);
        self.overflowed = on;
    }

    /// Hands every logged change to `apply`, oldest first, and empties the
    /// log. Returns true, applying nothing, if changes were lost since the
    /// last drain (or tracking just started, or the mirror was
    /// invalidated): the mirror must then be rebuilt from the table.
    pub fn drain_changes(&mut self, mut apply: impl FnMut(FdbChange)) -> bool {
        let Some(log) = self.changes.as_mut() else {
            return false;
        };
        if std::mem::take(&mut self.overflowed) {
            log.clear();
            return true;
        }
        while let Some(change) = log.pop_front() {
            apply(change);
        }
        false
    }

    /// Marks the mirror as needing a rebuild (e.g. after a new tables
    /// generation changed what the entries mean).
    pub fn invalidate_mirror(&mut self) {
        if self.changes.is_some() {
            self.overflowed = true;
        }
    }

    #[inline]
    fn log(&mut self, change: FdbChange) {
        if let Some(log) = self.changes.as_mut()
            && log.push_back(change).is_err()
        {
            log.clear();
            self.overflowed = true;
        }
    }

    /// Records that `mac` sent a frame from `location` in `bd` at `now`.
    #[inline]
    pub fn learn(
        &mut self,
        bd: BdId,
        mac: &EthernetAddress,
        location: Location,
        now: Tick,
    ) -> Learned {
        if mac.is_multicast() || mac.is_zero() {
            return Learned::Ignored;
        }
        let key = key_of(bd, mac);
        match self.probe(key) {
            Probe::Found(idx) => {
                let slot = &mut self.slots[idx];
                if slot.is_static {
                    return Learned::Static;
                }
                if slot.last_seen != now {
                    slot.last_seen = now;
                }
                if slot.location() == location {
                    return Learned::Refreshed;
                }
                slot.set_location(location);
                self.stats.moved.inc();
                self.log(FdbChange::Installed {
                    bd,
                    mac: *mac,
                    location,
                });
                Learned::Moved
            }
            Probe::Vacant(_)
                if self.len < self.max_entries && self.domain_len(bd) >= self.domain_limit =>
            {
                self.stats.domain_full.inc();
                Learned::Refused
            }
            Probe::Vacant(idx) if self.len < self.max_entries => {
                let slot = &mut self.slots[idx];
                slot.key = key;
                slot.last_seen = now;
                slot.is_static = false;
                slot.set_location(location);
                self.grow(bd);
                self.stats.learned.inc();
                self.log(FdbChange::Installed {
                    bd,
                    mac: *mac,
                    location,
                });
                Learned::New
            }
            Probe::Vacant(_) | Probe::Full => {
                self.stats.table_full.inc();
                Learned::Refused
            }
        }
    }

    /// Installs (or replaces) a static entry.
    pub fn insert_static(
        &mut self,
        bd: BdId,
        mac: &EthernetAddress,
        location: Location,
    ) -> Result<(), FdbError> {
        self.insert(key_of(bd, mac), location, 0, true)
    }

    fn insert(
        &mut self,
        key: u64,
        location: Location,
        last_seen: Tick,
        is_static: bool,
    ) -> Result<(), FdbError> {
        let (bd, mac) = unkey(key);
        if mac.is_multicast() || mac.is_zero() {
            return Err(FdbError::BadAddress);
        }
        let idx = match self.probe(key) {
            Probe::Found(idx) => idx,
            Probe::Vacant(idx) if self.len < self.max_entries => {
                self.grow(bd);
                idx
            }
            Probe::Vacant(_) | Probe::Full => return Err(FdbError::Full),
        };
        let slot = &mut self.slots[idx];
        slot.key = key;
        slot.last_seen = last_seen;
        slot.is_static = is_static;
        slot.set_location(location);
        self.log(FdbChange::Installed { bd, mac, location });
        Ok(())
    }

    /// Removes the entry for `mac` in `bd` (static or not); true if there
    /// was one.
    pub fn remove(&mut self, bd: BdId, mac: &EthernetAddress) -> bool {
        match self.probe(key_of(bd, mac)) {
            Probe::Found(idx) => {
                self.remove_at(idx);
                true
            }
            _ => false,
        }
    }

    /// Empties slot `idx` and shifts the following entries of its cluster
    /// back, so that no probe sequence has a hole (Knuth's algorithm R).
    fn remove_at(&mut self, mut hole: usize) {
        let (bd, mac) = unkey(self.slots[hole].key);
        self.log(FdbChange::Removed { bd, mac });
        let mut next = (hole + 1) & self.mask;
        loop {
            let key = self.slots[next].key;
            if key == EMPTY {
                break;
            }
            let home = self.home(key);
            // Distance from home to `next` and to the hole, cyclically: the
            // entry may move into the hole if the hole lies between its
            // home and its current slot.
            let dist_next = next.wrapping_sub(home) & self.mask;
            let dist_hole = hole.wrapping_sub(home) & self.mask;
            if dist_hole < dist_next {
                self.slots[hole] = self.slots[next];
                hole = next;
            }
            next = (next + 1) & self.mask;
        }
        self.slots[hole] = Slot::default();
        self.set_len(self.len - 1);
        self.per_domain[usize::from(bd)] -= 1;
    }

    /// Removes every entry for which `keep` returns false; returns how many
    /// were removed. Examines every slot: for reloads, not per frame.
    pub fn retain(&mut self, mut keep: impl FnMut(&FdbEntry) -> bool) -> usize {
        let mut removed = 0;
        self.scan(|fdb, idx| {
            let slot = fdb.slots[idx];
            if keep(&fdb.entry_of(&slot, 0)) {
                false
            } else {
                removed += 1;
                fdb.remove_at(idx);
                true
            }
        });
        self.stats.flushed.add(removed as u64);
        removed
    }

    /// Calls `visit` once for every entry; `visit` returns true if it
    /// removed the entry at the index it was given. The scan starts after
    /// an empty slot, so no cluster wraps around its start and the
    /// backward shifts of removals never move an entry past the scan
    /// position: every entry is visited exactly once.
    fn scan(&mut self, mut visit: impl FnMut(&mut Fdb, usize) -> bool) {
        let start = self
            .slots
            .iter()
            .position(|s| s.key == EMPTY)
            .unwrap_or_default();
        let mut step = 0;
        while step < self.slots.len() {
            let idx = (start + step) & self.mask;
            // After a removal, a later entry of the cluster may have
            // shifted into `idx`: look at it again.
            if self.slots[idx].key == EMPTY || !visit(self, idx) {
                step += 1;
            }
        }
    }

    /// Removes every entry (static ones too) of bridge domain `bd`.
    pub fn flush_bd(&mut self, bd: BdId) -> usize {
        self.retain(|e| e.bd != bd)
    }

    /// Rewrites every entry through `f`: `None` removes it, `Some((bd,
    /// location))` keeps it (possibly under another bridge domain id or
    /// location); age and static flag are kept. Used when a new table
    /// generation renumbers bridge domains, ports or VTEPs. Allocates
    /// nothing: the entries that change bridge domain go through a scratch
    /// list sized at creation for every entry.
    pub fn remap(&mut self, mut f: impl FnMut(&FdbEntry) -> Option<(BdId, Location)>) {
        let mut rekeyed = std::mem::take(&mut self.rekeyed);
        rekeyed.clear();
        let mut removed = 0u64;
        self.scan(|fdb, idx| {
            let slot = fdb.slots[idx];
            let (bd, mac) = unkey(slot.key);
            match f(&fdb.entry_of(&slot, 0)) {
                Some((new_bd, location)) if new_bd == bd => {
                    fdb.slots[idx].set_location(location);
                    false
                }
                Some((new_bd, location)) => {
                    rekeyed.push((
                        key_of(new_bd, &mac),
                        location,
                        slot.last_seen,
                        slot.is_static,
                    ));
                    fdb.remove_at(idx);
                    true
                }
                None => {
                    removed += 1;
                    fdb.remove_at(idx);
                    true
                }
            }
        });
        for &(key, location, last_seen, is_static) in &rekeyed {
            if self.insert(key, location, last_seen, is_static).is_err() {
                removed += 1;
            }
        }
        rekeyed.clear();
        self.rekeyed = rekeyed;
        self.stats.flushed.add(removed);
    }

    /// Ages out dynamic entries not seen for `age` ticks, examining at most
    /// `budget` slots from where the previous call stopped; returns how
    /// many entries were removed. A full pass takes `capacity / budget`
    /// calls.
    pub fn sweep(&mut self, now: Tick, budget: usize) -> usize {
        let mut removed = 0;
        for _ in 0..budget.min(self.slots.len()) {
            let idx = self.sweep_cursor;
            let slot = self.slots[idx];
            if slot.key != EMPTY
                && !slot.is_static
                && now.saturating_sub(slot.last_seen) >= self.age
            {
                // The slot is examined again next step (an entry may have
                // shifted into it).
                self.remove_at(idx);
                removed += 1;
                continue;
            }
            self.sweep_cursor = (idx + 1) & self.mask;
        }
        self.stats.aged.add(removed as u64);
        removed
    }

    /// Slots of the table (the unit of [`Fdb::sweep`]'s budget).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    fn entry_of(&self, slot: &Slot, now: Tick) -> FdbEntry {
        let (bd, mac) = unkey(slot.key);
        FdbEntry {
            bd,
            mac,
            location: slot.location(),
            age: if slot.is_static {
                0
            } else {
                now.saturating_sub(slot.last_seen)
            },
            is_static: slot.is_static,
        }
    }

    /// Hands the entries of slots `start..start + budget` to `visit` (ages
    /// at `now`); returns where to go on, or `None` once the table is done.
    /// Bounded work per call: for mirroring the table a part at a time.
    pub fn scan_part(
        &self,
        start: usize,
        budget: usize,
        now: Tick,
        mut visit: impl FnMut(FdbEntry),
    ) -> Option<usize> {
        let end = start.saturating_add(budget).min(self.slots.len());
        for slot in self.slots.get(start..end).unwrap_or_default() {
            if slot.key != EMPTY {
                visit(self.entry_of(slot, now));
            }
        }
        (end < self.slots.len()).then_some(end)
    }

    /// Every entry, in table order, with its age at `now` (for `xsdn show
    /// fdb`).
    pub fn entries(&self, now: Tick) -> impl Iterator<Item = FdbEntry> + '_ {
        self.slots
            .iter()
            .filter(|s| s.key != EMPTY)
            .map(move |s| self.entry_of(s, now))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::pipeline::testing::slot;

    fn mac(n: u16) -> EthernetAddress {
        let [a, b] = n.to_be_bytes();
        EthernetAddress([0x02, 0, 0, 0, a, b])
    }

    #[test]
    fn learns_refreshes_and_moves() {
        let mut fdb = Fdb::with_seed(16, 300, 1);
        assert_eq!(
            fdb.learn(1, &mac(1), Location::Port(slot(3)), 10),
            Learned::New
        );
        assert_eq!(
            fdb.learn(1, &mac(1), Location::Port(slot(3)), 11),
            Learned::Refreshed
        );
        assert_eq!(fdb.lookup(1, &mac(1)), Some(Location::Port(slot(3))));
        // Same MAC in another bridge domain is another entry.
        assert_eq!(fdb.lookup(2, &mac(1)), None);
        assert_eq!(fdb.learn(1, &mac(1), Location::Vtep(7), 12), Learned::Moved);
        assert_eq!(fdb.lookup(1, &mac(1)), Some(Location::Vtep(7)));
        let stats = fdb.stats();
        assert_eq!((stats.learned.get(), stats.moved.get()), (1, 1));
        assert_eq!(stats.entries(), 1);
    }

    #[test]
    fn never_learns_group_or_zero_addresses() {
        let mut fdb = Fdb::with_seed(16, 300, 1);
        for bad in [
            EthernetAddress::BROADCAST,
            EthernetAddress([0x01, 0, 0x5e, 0, 0, 1]),
            EthernetAddress([0x33, 0x33, 0, 0, 0, 1]),
            EthernetAddress::ZERO,
        ] {
            assert_eq!(
                fdb.learn(0, &bad, Location::Port(slot(1)), 0),
                Learned::Ignored
            );
            assert_eq!(
                fdb.insert_static(0, &bad, Location::Port(slot(1))),
                Err(FdbError::BadAddress)
            );
        }
        assert!(fdb.is_empty());
    }

    #[test]
    fn a_domain_at_its_share_does_not_starve_the_others() {
        let mut fdb = Fdb::with_seed(64, 300, 1).with_domain_limit(8);
        // A flood of source MACs in domain 1 fills its share only.
        for n in 0..1000 {
            fdb.learn(1, &mac(n), Location::Port(slot(1)), 0);
        }
        assert_eq!(fdb.domain_len(1), 8);
        assert_eq!(fdb.stats().domain_full.get(), 992);
        // Domain 2 still learns, and known MACs of domain 1 still move.
        for n in 0..8 {
            assert_eq!(
                fdb.learn(2, &mac(n), Location::Port(slot(2)), 0),
                Learned::New
            );
        }
        assert_eq!(
            fdb.learn(1, &mac(0), Location::Port(slot(3)), 1),
            Learned::Moved
        );
        // Ageing gives the share back.
        // (A removal uses up budget: two full passes see every slot.)
        let aged = fdb.sweep(301, fdb.capacity()) + fdb.sweep(301, fdb.capacity());
        assert_eq!(aged, 16);
        assert_eq!((fdb.domain_len(1), fdb.domain_len(2)), (0, 0));
        assert_eq!(
            fdb.learn(1, &mac(500), Location::Port(slot(1)), 302),
            Learned::New
        );
        // Removals through a remap to another domain keep the counts.
        fdb.remap(|e| Some((3, e.location)));
        assert_eq!((fdb.domain_len(1), fdb.domain_len(3)), (0, 1));
    }

    #[test]
    fn full_table_refuses_and_counts() {
        let mut fdb = Fdb::with_seed(2, 300, 1);
        assert_eq!(
            fdb.learn(0, &mac(1), Location::Port(slot(1)), 0),
            Learned::New
        );
        assert_eq!(
            fdb.learn(0, &mac(2), Location::Port(slot(1)), 0),
            Learned::New
        );
        assert_eq!(
            fdb.learn(0, &mac(3), Location::Port(slot(1)), 0),
            Learned::Refused
        );
        assert_eq!(fdb.lookup(0, &mac(3)), None);
        assert_eq!(fdb.stats().table_full.get(), 1);
        // Known addresses still move when the table is full.
        assert_eq!(
            fdb.learn(0, &mac(2), Location::Port(slot(2)), 1),
            Learned::Moved
        );
    }

    #[test]
    fn aging_is_incremental_and_spares_static_entries() {
        let mut fdb = Fdb::with_seed(64, 100, 1);
        for n in 1..=40 {
            fdb.learn(0, &mac(n), Location::Port(slot(1)), 0);
        }
        fdb.insert_static(0, &mac(500), Location::Port(slot(2)))
            .unwrap();
        fdb.learn(0, &mac(1), Location::Port(slot(1)), 50); // seen recently
        // Not old enough yet.
        assert_eq!(fdb.sweep(99, fdb.capacity()), 0);
        // A small budget removes only part of the expired entries.
        let first = fdb.sweep(100, 8);
        assert!(first <= 8);
        let mut total = first;
        for _ in 0..fdb.capacity() {
            total += fdb.sweep(100, 8);
        }
        assert_eq!(total, 39);
        assert_eq!(fdb.lookup(0, &mac(1)), Some(Location::Port(slot(1))));
        assert_eq!(fdb.lookup(0, &mac(500)), Some(Location::Port(slot(2))));
        assert_eq!(fdb.len(), 2);
        assert_eq!(fdb.stats().aged.get(), 39);
        // Static entries are not moved by learning.
        assert_eq!(
            fdb.learn(0, &mac(500), Location::Port(slot(9)), 101),
            Learned::Static
        );
        assert_eq!(fdb.lookup(0, &mac(500)), Some(Location::Port(slot(2))));
    }

    #[test]
    fn flush_remap_and_listing() {
        let mut fdb = Fdb::with_seed(64, 100, 7);
        for n in 1..=10 {
            fdb.learn(n % 3, &mac(n), Location::Port(slot(usize::from(n))), 5);
        }
        assert_eq!(fdb.flush_bd(0), 3);
        assert_eq!(fdb.entries(5).filter(|e| e.bd == 0).count(), 0);
        // bd 1 becomes bd 4; bd 2 disappears.
        fdb.remap(|e| (e.bd == 1).then_some((4, e.location)));
        let listed: Vec<FdbEntry> = fdb.entries(8).collect();
        assert_eq!(listed.len(), 4);
        assert!(
            listed
                .iter()
                .all(|e| e.bd == 4 && e.age == 3 && !e.is_static)
        );
        assert_eq!(fdb.lookup(4, &mac(1)), Some(Location::Port(slot(1))));
        assert_eq!(fdb.lookup(1, &mac(1)), None);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Learn(u16, u16, u8, u64),
        Static(u16, u16, u8),
        Remove(u16, u16),
        Sweep(u64, usize),
        Flush(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (0..3u16, 0..60u16, 0..4u8, 0..50u64).prop_map(|(b, m, p, t)| Op::Learn(b, m, p, t)),
            1 => (0..3u16, 0..60u16, 0..4u8).prop_map(|(b, m, p)| Op::Static(b, m, p)),
            2 => (0..3u16, 0..60u16).prop_map(|(b, m)| Op::Remove(b, m)),
            1 => (0..80u64, 0..40usize).prop_map(|(t, n)| Op::Sweep(t, n)),
            1 => (0..3u16).prop_map(Op::Flush),
        ]
    }

    proptest! {
        /// The table behaves like a map, never exceeds its bound, and
        /// every entry stays reachable through all removals and shifts.
        #[test]
        fn prop_matches_a_model(seed: u64, ops in proptest::collection::vec(op(), 1..300)) {
            let max = 40;
            let mut fdb = Fdb::with_seed(max, 30, seed);
            let mut model: HashMap<(u16, u16), Location> = HashMap::new();
            for op in ops {
                match op {
                    Op::Learn(bd, m, p, t) => {
                        let loc = Location::Port(slot(usize::from(p)));
                        match fdb.learn(bd, &mac(m), loc, t) {
                            Learned::Ignored => prop_assert_eq!(m, 0),
                            Learned::Refused => prop_assert!(!model.contains_key(&(bd, m))),
                            Learned::Static => {}
                            _ => { model.insert((bd, m), loc); }
                        }
                    }
                    Op::Static(bd, m, p) => {
                        let loc = Location::Port(slot(usize::from(p)));
                        if fdb.insert_static(bd, &mac(m), loc).is_ok() {
                            model.insert((bd, m), loc);
                        }
                    }
                    Op::Remove(bd, m) => {
                        prop_assert_eq!(fdb.remove(bd, &mac(m)), model.remove(&(bd, m)).is_some());
                    }
                    Op::Sweep(t, n) => {
                        fdb.sweep(t, n);
                        model.retain(|&(bd, m), _| fdb.lookup(bd, &mac(m)).is_some());
                    }
                    Op::Flush(bd) => {
                        fdb.flush_bd(bd);
                        model.retain(|&(b, _), _| b != bd);
                    }
                }
                prop_assert!(fdb.len() <= max);
                prop_assert_eq!(fdb.len(), model.len());
                prop_assert_eq!(fdb.entries(0).count(), model.len());
                for (&(bd, m), &loc) in &model {
                    prop_assert_eq!(fdb.lookup(bd, &mac(m)), Some(loc));
                }
            }
        }
    }
}
