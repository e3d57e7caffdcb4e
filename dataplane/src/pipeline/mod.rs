//! The forwarding pipeline of the layer-2 zone types (simple, VLAN, QinQ,
//! VXLAN): per frame, parse -> classify to a bridge domain -> learn the
//! source -> look up the destination -> rewrite (tag push/pop, VXLAN
//! encap/decap) for each output.
//!
//! Layer: pure logic between the worker (which owns the AF_XDP rings and
//! UMEM chunks) and the [`tables`](crate::tables) (read-only state of one
//! configuration generation). No I/O, no clock (time is passed in), no
//! allocation, locking or logging per frame.
//!
//! # Using it (the worker)
//! 1. [`Pipeline::decide`] on the received frame: [`Decision::Drop`] (count
//!    the reason on the ingress port), [`Decision::Unicast`] (one
//!    [`Egress`]) or [`Decision::Flood`] (list the outputs with
//!    [`Pipeline::flood_egresses`]).
//! 2. For each output, [`Pipeline::rewrite_copy`] into a fresh chunk, and
//!    for the last one [`Pipeline::rewrite_in_place`] in the received chunk
//!    (in-place rewriting overwrites the bytes in front of the inner body,
//!    so it must come last). Both return the new `(start, len)` in the chunk
//!    or a drop reason.
//! 3. [`Pipeline::tick`] now and then (aging), [`Pipeline::set_tables`] on
//!    a reload, [`Pipeline::count_vnet_drop`] for drops after the pipeline
//!    (TX ring full, no buffer).
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
//!   [`DropReason`] counted per VNet when the VNet is known.
//!
//! # Cache key and action
//! Every unicast decision is a pure function of a [`FlowKey`] (see
//! [`Pipeline::flow_key`]) while the tables generation and the MAC table
//! entry of the destination stay the same:
//! - **key** = (ingress port, the received VLAN tags' TPIDs and VIDs, for
//!   VXLAN the (peer, local address, UDP port, VNI), destination MAC of the
//!   (inner) frame);
//! - **action** = [`Action`]: what to strip ([`Strip`]: nothing, one or two
//!   outer tags, or the VXLAN outer headers) and the [`Egress`] (port, tags
//!   to push, VXLAN encapsulation towards a VTEP).
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
mod explain;
mod forward;
mod key;
mod rewrite;
mod stats;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_props;
#[cfg(test)]
mod tests_vxlan;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use crate::counters::DropReason;
use crate::fdb::{Fdb, Tick};
use crate::tables::{
    BdId, ForwardingTables, MAX_PORTS, MAX_VTEPS, MAX_VXLAN_PORTS, PortIdx, VtepIdx,
};
use crate::wire::parse_frame;

pub use explain::{Explanation, TraceOutput, TraceStage};
pub use key::{FlowKey, TagKey, VxlanKey};
pub use stats::{BdCounters, BdSnapshot, PipelineCounters};

/// Slots examined per [`Pipeline::tick`] by the MAC table's aging sweep.
pub const SWEEP_BUDGET: usize = 1024;
/// Most outputs of one flooded frame (every port plus every VTEP).
pub const FLOOD_MAX: usize = MAX_PORTS + MAX_VTEPS;

/// The outputs of a flooded frame.
pub type FloodList = heapless::Vec<Egress, FLOOD_MAX>;

/// Where a frame entered its bridge domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A guest port.
    Guest(PortIdx),
    /// The zone's uplink (VLAN/QinQ).
    Uplink(PortIdx),
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

/// Tags to push after the MAC addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TagPush {
    /// None.
    None,
    /// One 802.1Q tag.
    Vlan {
        /// VLAN id.
        vid: u16,
    },
    /// A service tag, then an 802.1Q customer tag unless `c_vid` is `None`.
    QinQ {
        /// Service tag TPID (0x8100 or 0x88a8).
        s_tpid: u16,
        /// Service VLAN id.
        s_vid: u16,
        /// Customer VLAN id.
        c_vid: Option<u16>,
    },
}

impl TagPush {
    /// Bytes pushed (0, 4 or 8).
    #[inline]
    pub const fn len(&self) -> usize {
        match self {
            TagPush::None => 0,
            TagPush::Vlan { .. } | TagPush::QinQ { c_vid: None, .. } => 4,
            TagPush::QinQ { c_vid: Some(_), .. } => 8,
        }
    }

    /// True if nothing is pushed.
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// VXLAN encapsulation towards a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VxlanEncap {
    /// The peer.
    pub vtep: VtepIdx,
    /// VNI to send with.
    pub vni: u32,
    /// UDP destination port.
    pub udp_port: u16,
}

/// One output of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Egress {
    /// The bridge domain the frame belongs to (for its counters).
    pub bd: BdId,
    /// Port to transmit on (for VXLAN: the next hop's uplink).
    pub port: PortIdx,
    /// Tags to push.
    pub push: TagPush,
    /// VXLAN encapsulation, if any.
    pub vxlan: Option<VxlanEncap>,
}

/// The cacheable part of a unicast decision (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Action {
    /// What to strip from the received frame.
    pub strip: Strip,
    /// Where and how to send it.
    pub egress: Egress,
}

/// What to do with one received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Drop it, counting the reason on the ingress port.
    Drop(DropReason),
    /// Send it to one output.
    Unicast {
        /// Its bridge domain.
        bd: BdId,
        /// Where the inner frame is.
        inner: InnerFrame,
        /// The output.
        egress: Egress,
    },
    /// Send it to every output of its bridge domain but its source
    /// ([`Pipeline::flood_egresses`]).
    Flood {
        /// Its bridge domain.
        bd: BdId,
        /// Where the inner frame is.
        inner: InnerFrame,
        /// Where it came from.
        from: Source,
    },
}

impl Decision {
    /// The cacheable action of a unicast decision.
    pub fn action(&self) -> Option<Action> {
        match *self {
            Decision::Unicast { inner, egress, .. } => Some(Action {
                strip: inner.strip,
                egress,
            }),
            _ => None,
        }
    }
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
        };
        pipeline.set_tables(tables);
        pipeline
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

    /// Decides what happens to `frame`, received on port `ingress` at
    /// `now`. May edit the frame: completes a guest's partial UDP/TCP
    /// checksum. Learns the source MAC.
    pub fn decide(&mut self, ingress: PortIdx, frame: &mut [u8], now: Tick) -> Decision {
        let meta = match parse_frame(frame) {
            Ok(meta) => meta,
            Err(why) => {
                self.counters.count_malformed(why);
                return Decision::Drop(DropReason::Malformed);
            }
        };
        let tables = &*self.tables;
        let classified = match classify::classify(tables, &self.vxlan_ports, ingress, frame, &meta)
        {
            Ok(classified) => classified,
            Err(rejected) => {
                if let Some(why) = rejected.malformed {
                    self.counters.count_malformed(why);
                }
                if let Some(bd) = rejected.bd {
                    self.counters.count_bd_drop(tables, bd, rejected.reason);
                }
                return Decision::Drop(rejected.reason);
            }
        };
        let classify::Classified {
            bd: bd_id,
            source,
            mut inner,
            inner_meta,
        } = classified;
        // `classify` only returns bridge domains that exist.
        let Some(bd) = tables.bds.get(usize::from(bd_id)) else {
            return Decision::Drop(DropReason::NoBridgeDomain);
        };
        let bd_counters = self.counters.vnet(bd.counter_slot);
        if let Some(c) = bd_counters {
            c.rx_packets.inc();
            c.rx_bytes.add(frame.len() as u64);
        }
        if let Source::Guest(_) = source {
            checksum_fix::complete_guest_checksum(frame, &meta, bd_counters);
        }
        if bd.learning {
            self.fdb
                .learn(bd_id, &inner_meta.src, forward::location_of(source), now);
        }
        if matches!(bd.encap, crate::tables::BdEncap::Vxlan { .. }) {
            inner.flow_hash = encap::flow_hash(&inner_meta);
        }
        match forward::lookup(tables, &self.fdb, bd_id, bd, source, &inner_meta.dst) {
            Ok(Some(egress)) => Decision::Unicast {
                bd: bd_id,
                inner,
                egress,
            },
            Ok(None) => Decision::Flood {
                bd: bd_id,
                inner,
                from: source,
            },
            Err(reason) => {
                if let Some(c) = bd_counters {
                    c.drop_frame(reason);
                }
                Decision::Drop(reason)
            }
        }
    }

    /// Lists in `out` (cleared first) every output of a broadcast, multicast
    /// or unknown-unicast frame of bridge domain `bd` that came from
    /// `from`: the domain's guest ports but the source (none from a guest
    /// with `isolate_ports`), its uplink unless the frame came from it, and
    /// every VTEP with a resolved next hop unless the frame came from a
    /// VTEP (split horizon). VTEPs without a next hop are skipped and
    /// counted as `next_hop_unresolved` on the VNet. An empty list means
    /// the frame has nowhere to go: drop it as `no_destination`.
    pub fn flood_egresses(&self, bd: BdId, from: Source, out: &mut FloodList) {
        forward::flood(&self.tables, Some(&self.counters), bd, from, out);
    }

    /// Rewrites the frame at `chunk[start..start + len]` (a received frame
    /// described by `inner`) in place for `egress`, using the headroom in
    /// front of it; returns the output's `(start, len)` in `chunk`. Moves
    /// only the 12 MAC bytes for a tag push/pop; the inner body stays where
    /// it is. Fails with `mtu_exceeded`, `next_hop_unresolved` or
    /// `no_headroom` (counted on the VNet; count it on the port too).
    pub fn rewrite_in_place(
        &self,
        egress: &Egress,
        inner: &InnerFrame,
        chunk: &mut [u8],
        start: usize,
        len: usize,
    ) -> Result<(usize, usize), DropReason> {
        let result = rewrite::in_place(self, egress, inner, chunk, start, len);
        self.count_tx(egress, &result);
        result
    }

    /// Builds the output for `egress` of the received frame `src`
    /// (described by `inner`) in `dst_chunk` at offset `headroom`; returns
    /// its `(start, len)` in `dst_chunk`. Same output and errors as
    /// [`Self::rewrite_in_place`].
    pub fn rewrite_copy(
        &self,
        egress: &Egress,
        inner: &InnerFrame,
        src: &[u8],
        dst_chunk: &mut [u8],
        headroom: usize,
    ) -> Result<(usize, usize), DropReason> {
        let result = rewrite::copy(self, egress, inner, src, dst_chunk, headroom);
        self.count_tx(egress, &result);
        result
    }

    fn count_tx(&self, egress: &Egress, result: &Result<(usize, usize), DropReason>) {
        match *result {
            Ok((_, len)) => {
                if let Some(c) = self.bd_counters(egress.bd) {
                    c.tx_packets.inc();
                    c.tx_bytes.add(len as u64);
                }
            }
            Err(reason) => self.count_vnet_drop(egress.bd, reason),
        }
    }

    fn bd_counters(&self, bd: BdId) -> Option<&BdCounters> {
        let slot = self.tables.bds.get(usize::from(bd))?.counter_slot;
        self.counters.vnet(slot)
    }

    /// Counts a drop of a frame of `bd` that happened after the pipeline
    /// (e.g. `tx_ring_full`, `no_buffer`, `no_destination`).
    pub fn count_vnet_drop(&self, bd: BdId, reason: DropReason) {
        self.counters.count_bd_drop(&self.tables, bd, reason);
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

    /// Switches to a new tables generation. MAC table entries survive for
    /// bridge domains whose identity (VNet name and encapsulation) is
    /// unchanged, renumbered if their id changed, as long as their location
    /// is still a member of the domain (same port name, same VTEP address);
    /// all other entries are flushed. Not per frame: may allocate a little.
    pub fn set_tables(&mut self, tables: Arc<ForwardingTables>) {
        let old = std::mem::replace(&mut self.tables, tables);
        let new = &*self.tables;
        let by_vnet: HashMap<&str, BdId> = new
            .bds
            .iter()
            .enumerate()
            .map(|(id, bd)| (bd.vnet.as_str(), id as BdId))
            .collect();
        let remap: Vec<Option<BdId>> = old
            .bds
            .iter()
            .map(|old_bd| {
                let id = *by_vnet.get(old_bd.vnet.as_str())?;
                new.bds[usize::from(id)].same_identity(old_bd).then_some(id)
            })
            .collect();
        self.fdb.remap(|entry| {
            let new_bd = (*remap.get(usize::from(entry.bd))?)?;
            let location = forward::carry_location(&old, new, new_bd, entry.location)?;
            Some((new_bd, location))
        });
        self.vxlan_ports.clear();
        for port in new.vxlan_udp_ports() {
            // `vxlan_udp_ports` yields at most MAX_VXLAN_PORTS ports.
            let _ = self.vxlan_ports.push(port);
        }
    }

    /// The cache key of `frame` received on `ingress` (see the module
    /// docs), or `None` if the frame is malformed.
    pub fn flow_key(&self, ingress: PortIdx, frame: &[u8]) -> Option<FlowKey> {
        key::flow_key(&self.tables, &self.vxlan_ports, ingress, frame)
    }
}
