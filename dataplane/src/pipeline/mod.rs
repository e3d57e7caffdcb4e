//! The forwarding pipeline of the layer-2 zone types (simple, VLAN, QinQ,
//! VXLAN): per frame, one walk that parses, classifies to a bridge domain,
//! learns the source, looks up the destination, builds every output (tag
//! push/pop, VXLAN encap/decap) and counts.
//!
//! Layer: pure logic between the worker (which owns the AF_XDP rings and
//! UMEM chunks) and the [`tables`](crate::tables) (read-only state of one
//! configuration generation). No I/O, no clock (time is passed in), no
//! allocation, locking or logging per frame.
//!
//! # Using it (the worker)
//! [`Pipeline::process`] takes the received frame in its buffer
//! ([`RxFrame`]) and an [`Egress`] (the worker's TX staging). It decides,
//! rewrites, replicates and counts in one pass: every output but the last
//! is built in a fresh buffer the egress hands out
//! ([`Egress::send_copy`]); the last one is rewritten in the received
//! buffer, which [`Fate::Send`] then tells the worker to transmit (or
//! [`Fate::Drop`] to free). [`Pipeline::tick`] ages the MAC table;
//! [`Pipeline::swap_tables`] installs a [`Generation`] prepared off the
//! worker.
//!
//! # Watching it
//! The walk reports each stage to an [`Observer`]. Forwarding uses
//! [`Quiet`] (every hook a no-op, compiled away). [`Pipeline::explain`]
//! (`xsdn trace`) runs the very same walk on a scratch copy of the frame
//! with an observer that records the stages and learns and counts nothing
//! ([`Observer::LIVE`] is false), so a trace cannot disagree with
//! forwarding.
//!
//! # Guarantees
//! - **Never panics** on any frame, whatever the tables hold (every index is
//!   read with `get()`; property-tested on arbitrary and mutated frames
//!   against randomly built tables).
//! - **Tenant isolation**: a frame is classified to exactly one bridge
//!   domain (by guest port, by `(uplink, TPID, VID)` + customer tag, or by
//!   `(UDP port, VNI)` + peer), and every output of that frame is a member
//!   of the same bridge domain: the egress is rebuilt from that domain's own
//!   encapsulation (its VID, its service/customer tags, its VNI), never
//!   copied from the received tags; a MAC table entry pointing at a port or
//!   VTEP that is no longer in the domain is ignored (flooded instead).
//! - **Every frame is accounted for**: forwarded, or dropped with a
//!   [`DropReason`] counted on its ingress port and on its VNet when the
//!   VNet is known (see [`stats`](PipelineCounters) for where each count
//!   lands).
//!
//! # Cache key and action
//! Every unicast decision is a pure function of a [`FlowKey`] (see
//! [`Pipeline::flow_key`]) while the tables generation and the MAC table
//! entry of the destination stay the same:
//! - **key** = (ingress port, the received VLAN tags' TPIDs and VIDs, for
//!   VXLAN the (peer, local address, UDP port, VNI), destination MAC of the
//!   (inner) frame); what the ingress contributes decides the bridge domain
//!   and what is stripped ([`Strip`]), so for a given bridge domain the key
//!   is (bridge domain, destination MAC);
//! - **action** = [`Action`] (shared with the eBPF programs through
//!   `xsdn-common`): the egress port and how the frame is wrapped there
//!   ([`Encap`]: plain, one or two tags, or VXLAN towards a peer).
//!   [`Observer::unicast`] reports each such pair as the walk finds it.
//!
//! Per-frame work that is *not* in the action, and that a flow cache must
//! still do itself: learning (refresh) of the source MAC, completing a
//! guest's partial L4 checksum, the MTU check against the egress port, the
//! VXLAN UDP source port (a hash of the inner flow) and the outer IPv4 ID.
//! A cached action is invalidated by a new tables generation and by any
//! change (move, aging, flush) of the destination's MAC table entry.

mod checksum_fix;
mod classify;
mod encap;
pub mod fdb;
mod flood_limit;
mod forward;
mod generation;
mod key;
mod observe;
mod rewrite;
mod stats;
mod trace;
mod walk;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_props;
#[cfg(test)]
mod tests_vxlan;

use std::cell::Cell;
use std::sync::Arc;

use flood_limit::FloodLimit;

use crate::counters::DropReason;
use crate::tables::{ForwardingTables, MAX_VXLAN_PORTS, PortSlot, VtepIdx};

pub use fdb::{Fdb, FdbChange, FdbEntry, Location, Tick};
pub use forward::action_to;
pub use generation::Generation;
pub use key::{FlowKey, TagKey, VxlanKey};
pub use observe::{Observer, Quiet, Stage};
pub use stats::{BdCounters, BdSnapshot, PipelineCounters};
pub use trace::{Explanation, TraceClassified, TraceOutput, TraceStage};
pub use xsdn_common::{Action, Encap};

/// Slots examined per [`Pipeline::tick`] by the MAC table's aging sweep.
pub const SWEEP_BUDGET: usize = 1024;

/// Where a frame entered its bridge domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A guest port.
    Guest(PortSlot),
    /// The zone's uplink (VLAN/QinQ).
    Uplink(PortSlot),
    /// A VXLAN peer.
    Vtep(VtepIdx),
}

/// What was removed in front of the inner frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strip {
    /// Nothing (frames from guests).
    Nothing,
    /// This many outer VLAN tags (1 or 2).
    Tags(u8),
    /// The outer Ethernet, IP, UDP and VXLAN headers.
    Vxlan,
}

/// Where the inner frame is in the received buffer, without copying it:
/// its destination and source MACs at `mac_offset`, then (after the
/// stripped tags, if any) its body from `body_offset` (the EtherType or a
/// tag the frame keeps) to `end`. Offsets are relative to the start of the
/// received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InnerFrame {
    /// Offset of the inner destination MAC (the source MAC follows).
    pub mac_offset: usize,
    /// Offset of the inner body (EtherType onwards).
    pub body_offset: usize,
    /// End of the inner frame.
    pub end: usize,
    /// What was stripped.
    pub strip: Strip,
    /// Hash of the inner flow (VXLAN bridge domains only, else 0): the
    /// UDP source port of an encapsulation is `49152 + flow_hash % 16384`.
    pub flow_hash: u16,
}

/// A received frame in its buffer: the frame is `chunk[start..start +
/// len]`; the bytes before `start` are free headroom the rewrite may use
/// for pushed tags or outer headers.
#[derive(Debug)]
pub struct RxFrame<'a> {
    /// The whole buffer.
    pub chunk: &'a mut [u8],
    /// Offset of the frame in the buffer.
    pub start: usize,
    /// Length of the frame.
    pub len: usize,
}

impl RxFrame<'_> {
    /// The received bytes, `None` if the bounds do not fit the buffer.
    #[inline]
    fn bytes(&self) -> Option<&[u8]> {
        self.chunk
            .get(self.start..self.start.checked_add(self.len)?)
    }

    #[inline]
    fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        let end = self.start.checked_add(self.len)?;
        self.chunk.get_mut(self.start..end)
    }
}

/// What becomes of the received buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Transmit `chunk[start..start + len]` (rewritten in place) on `port`.
    Send {
        /// Egress port.
        port: PortSlot,
        /// Offset of the output in the buffer.
        start: usize,
        /// Its length.
        len: usize,
    },
    /// Free the buffer: the frame was dropped for this reason (already
    /// counted), or all its outputs went out in copies and the last one
    /// failed.
    Drop(DropReason),
}

/// Where the outputs that need a buffer of their own go: the worker's TX
/// staging (or a test's or trace's collector).
pub trait Egress {
    /// Takes a fresh buffer, lets `build` write one output into it
    /// (`build(buffer, headroom)` returns the output's `(start, len)` in
    /// the buffer, or why it cannot be built) and queues it on `port`.
    /// Returns the output's length, [`DropReason::NoBuffer`] when no buffer
    /// is free (without calling `build`), or `build`'s error (the buffer
    /// goes back).
    fn send_copy<F>(&mut self, port: PortSlot, build: F) -> Result<usize, DropReason>
    where
        F: FnOnce(&mut [u8], usize) -> Result<(usize, usize), DropReason>;
}

/// The per-worker forwarding pipeline.
#[derive(Debug)]
pub struct Pipeline {
    tables: Arc<ForwardingTables>,
    fdb: Fdb,
    counters: Arc<PipelineCounters>,
    vxlan_ports: heapless::Vec<u16, MAX_VXLAN_PORTS>,
    ip_ident: Cell<u16>,
    /// The `now` of the last aging step.
    last_sweep: Option<Tick>,
    /// Flooded frames per guest port and second.
    flood_limit: FloodLimit,
}

impl Pipeline {
    /// A pipeline over `tables`, learning into `fdb` and counting into
    /// `counters` (shared with readers on other threads).
    pub fn new(
        tables: Arc<ForwardingTables>,
        fdb: Fdb,
        counters: Arc<PipelineCounters>,
    ) -> Pipeline {
        let mut pipeline = Pipeline {
            tables: Arc::new(ForwardingTables::new()),
            fdb,
            counters,
            vxlan_ports: heapless::Vec::new(),
            ip_ident: Cell::new(0),
            last_sweep: None,
            flood_limit: FloodLimit::new(0),
        };
        pipeline.set_tables(tables);
        pipeline
    }

    /// Limits the broadcast, multicast and unknown-unicast frames each
    /// guest port may flood to `per_second` (0: no limit; `now` ticks
    /// are then read as milliseconds). Frames over it are dropped as
    /// `flood_rate_limited`.
    pub fn set_flood_rate(&mut self, per_second: u32) {
        self.flood_limit = FloodLimit::new(per_second);
    }

    /// The current tables.
    pub fn tables(&self) -> &Arc<ForwardingTables> {
        &self.tables
    }

    /// The MAC table.
    pub fn fdb(&self) -> &Fdb {
        &self.fdb
    }

    /// The MAC table, for static entries.
    pub fn fdb_mut(&mut self) -> &mut Fdb {
        &mut self.fdb
    }

    /// Shared handle on the counters.
    pub fn counters(&self) -> Arc<PipelineCounters> {
        Arc::clone(&self.counters)
    }

    /// The next outer IPv4 identification.
    fn next_ip_ident(&self) -> u16 {
        let ident = self.ip_ident.get();
        self.ip_ident.set(ident.wrapping_add(1));
        ident
    }

    /// Ages the MAC table: one bounded step ([`SWEEP_BUDGET`] slots) per
    /// distinct `now`, so calling it every poll pass costs nothing until
    /// the clock moves. A full pass over the table takes
    /// `fdb().capacity() / SWEEP_BUDGET` ticks.
    pub fn tick(&mut self, now: Tick) {
        if self.last_sweep == Some(now) {
            return;
        }
        self.last_sweep = Some(now);
        self.fdb.sweep(now, SWEEP_BUDGET);
    }

    /// Switches to `tables`, preparing the [`Generation`] here: allocates,
    /// so not for the worker thread (which gets prepared generations
    /// through [`Pipeline::swap_tables`]); for tests and tools.
    pub fn set_tables(&mut self, tables: Arc<ForwardingTables>) {
        let generation = Generation::prepare(&self.tables, tables);
        self.swap_tables(&generation);
    }

    /// Switches to a new tables generation, prepared off the worker.
    /// MAC table entries survive for bridge domains whose identity (VNet
    /// name and encapsulation) is unchanged, renumbered if their id
    /// changed, as long as their location is still a member of the domain
    /// (same port name, same VTEP address); all other entries are flushed.
    /// Allocates and frees nothing as long as the caller keeps
    /// `generation` (and with it the previous tables, which it also holds)
    /// alive until this returns.
    pub fn swap_tables(&mut self, generation: &Generation) {
        let new = Arc::clone(generation.tables());
        let old = std::mem::replace(&mut self.tables, new);
        let new = &*self.tables;
        self.fdb.remap(|entry| {
            let new_bd = generation.carried_bd(entry.bd)?;
            let location = forward::carry_location(&old, new, new_bd, entry.location)?;
            Some((new_bd, location))
        });
        // What an entry means (its action, its generation in the kernel
        // tier) may have changed with the tables: a mirror must be rebuilt.
        self.fdb.invalidate_mirror();
        self.vxlan_ports.clear();
        for port in new.vxlan_udp_ports() {
            // `vxlan_udp_ports` yields at most MAX_VXLAN_PORTS ports.
            let _ = self.vxlan_ports.push(port);
        }
    }

    /// The cache key of `frame` received on `ingress` (see the module
    /// docs), or `None` if the frame is malformed.
    pub fn flow_key(&self, ingress: PortSlot, frame: &[u8]) -> Option<FlowKey> {
        key::flow_key(&self.tables, &self.vxlan_ports, ingress, frame)
    }
}
