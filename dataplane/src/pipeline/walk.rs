//! The walk: one pass per frame that parses, classifies, learns, looks up,
//! builds every output and counts (see the module docs of the pipeline).
//!
//! Outputs of a flood come one by one from [`Flood`]; each is built in a
//! fresh buffer from the [`Egress`] as soon as the next one is known to
//! exist, and the last is rewritten in the received buffer (an in-place
//! rewrite overwrites the bytes in front of the inner body, so it must come
//! last). Nothing is listed, copied aside or allocated.
//!
//! # Codegen: the walk's state stays in registers
//! A unicast walk is a few hundred instructions, so store-forwarding stalls
//! weigh: a load of bytes that a recent store wrote but does not wholly
//! contain (a 16-byte copy of a struct just written field by field, a
//! 4-byte read inside a MAC copied as 4 + 2 bytes) waits for that store to
//! reach the cache. Such stalls, not extra instructions, made this walk
//! ~20 % slower than the two-call pipeline it replaced. These are workarounds
//! for how rustc/LLVM lay out the walk, not semantics; keep them:
//! - `parse_frame`'s result is borrowed, never moved out of (a move copies
//!   it with wide loads right after the callee's narrow stores);
//! - no reference into [`Found`] or to the [`Action`] leaves the inlined
//!   walk: out-of-line callees (`Pipeline::flood`, `rewrite::in_place`
//!   and `rewrite::copy`) take them by value, because one escaping
//!   reference keeps the whole struct in memory, where the field-wise
//!   writes and the later reads have different widths;
//! - classification is inlined whole (`classify` and its `from_*` steps),
//!   so its result is not written to a return slot and read back.

use crate::counters::DropReason;
use crate::tables::{BdEncap, BdId, PortSlot};
use crate::wire::{EthernetAddress, parse_frame};

use super::classify::{self, Classified};
use super::forward::{self, Flood};
use super::observe::{Observer, Quiet, Stage};
use super::{
    Action, Egress, Fate, InnerFrame, Pipeline, RxFrame, Source, Strip, checksum_fix, encap,
};
use super::{Tick, rewrite};

/// A frame that found its bridge domain: what the rest of the walk needs,
/// kept small (the frame's metadata stays where it was parsed). `Copy` so
/// that out-of-line steps take it by value (see the module docs: codegen).
#[derive(Clone, Copy)]
struct Found {
    bd: BdId,
    source: Source,
    inner: InnerFrame,
    /// The (inner) source and destination MACs.
    src: EthernetAddress,
    dst: EthernetAddress,
    /// The domain learns (not `bridge-disable-mac-learning`).
    learning: bool,
    /// The domain's VNet counter slot.
    counter_slot: usize,
}

impl Found {
    /// A slot for [`Pipeline::classify_frame`] to fill.
    const NONE: Found = Found {
        bd: 0,
        source: Source::Vtep(0),
        inner: InnerFrame {
            mac_offset: 0,
            body_offset: 0,
            end: 0,
            strip: Strip::Nothing,
            flow_hash: 0,
        },
        src: EthernetAddress::ZERO,
        dst: EthernetAddress::ZERO,
        learning: false,
        counter_slot: 0,
    };
}

impl Pipeline {
    /// Forwards one frame received on `ingress` at `now`: decides, learns
    /// the source, builds every output, counts. Outputs that need their own
    /// buffer go to `egress`; the returned [`Fate`] says what to do with
    /// the received buffer. May edit the frame: completes a guest's
    /// partial UDP/TCP checksum.
    #[inline]
    pub fn process<E: Egress>(
        &mut self,
        ingress: PortSlot,
        rx: RxFrame<'_>,
        now: Tick,
        egress: &mut E,
    ) -> Fate {
        self.process_observed(ingress, rx, now, egress, &mut Quiet)
    }

    /// [`Pipeline::process`], reporting each stage to `observer`.
    pub fn process_observed<E: Egress, O: Observer>(
        &mut self,
        ingress: PortSlot,
        mut rx: RxFrame<'_>,
        now: Tick,
        egress: &mut E,
        observer: &mut O,
    ) -> Fate {
        let mut found = Found::NONE;
        if let Err(fate) = self.classify_frame(ingress, &mut rx, observer, &mut found) {
            return fate;
        }
        if O::LIVE && found.learning {
            let location = forward::location_of(found.source);
            self.fdb.learn(found.bd, &found.src, location, now);
        }
        self.forward(ingress, &found, rx, now, egress, observer)
    }

    /// The walk without learning, for observers that must change nothing
    /// (`O::LIVE` false): what [`Pipeline::process_observed`] would do.
    pub(super) fn walk_unchanged<E: Egress, O: Observer>(
        &self,
        ingress: PortSlot,
        mut rx: RxFrame<'_>,
        egress: &mut E,
        observer: &mut O,
    ) -> Fate {
        let mut found = Found::NONE;
        match self.classify_frame(ingress, &mut rx, observer, &mut found) {
            // No flood budget is taken without `O::LIVE`: the time is unused.
            Ok(()) => self.forward(ingress, &found, rx, 0, egress, observer),
            Err(fate) => fate,
        }
    }

    /// Drops the whole frame: counts it on `ingress` (and on `bd`).
    fn drop_frame<O: Observer>(
        &self,
        ingress: PortSlot,
        bd: Option<BdId>,
        stage: Stage,
        reason: DropReason,
        observer: &mut O,
    ) -> Fate {
        if O::LIVE {
            self.count_drop(ingress, bd, reason);
        }
        observer.dropped(stage, reason);
        Fate::Drop(reason)
    }

    #[inline]
    fn count_drop_in_bd(&self, bd: BdId, reason: DropReason) {
        self.counters.count_bd_drop(&self.tables, bd, reason);
    }

    #[inline]
    fn count_drop(&self, ingress: PortSlot, bd: Option<BdId>, reason: DropReason) {
        self.counters.port(ingress).drop_frame(reason);
        if let Some(bd) = bd {
            self.counters.count_bd_drop(&self.tables, bd, reason);
        }
    }

    /// Parse and classify; counts the frame as received.
    #[inline(always)]
    fn classify_frame<O: Observer>(
        &self,
        ingress: PortSlot,
        rx: &mut RxFrame<'_>,
        observer: &mut O,
        found: &mut Found,
    ) -> Result<(), Fate> {
        if O::LIVE {
            let port = self.counters.port(ingress);
            port.rx_packets.inc();
            port.rx_bytes.add(rx.len as u64);
        }
        let tables = &*self.tables;
        let Some(frame) = rx.bytes_mut() else {
            return Err(self.drop_frame(
                ingress,
                None,
                Stage::Parse,
                DropReason::Malformed,
                observer,
            ));
        };
        // Borrowed, not moved out (see the module docs: codegen).
        let parsed = parse_frame(frame);
        let meta = match &parsed {
            Ok(meta) => meta,
            &Err(why) => {
                if O::LIVE {
                    self.counters.count_malformed(why);
                }
                observer.malformed(why);
                return Err(self.drop_frame(
                    ingress,
                    None,
                    Stage::Parse,
                    DropReason::Malformed,
                    observer,
                ));
            }
        };
        observer.parsed(frame, meta);
        let mut vxlan_inner = None;
        let classified = classify::classify(
            tables,
            &self.vxlan_ports,
            ingress,
            frame,
            meta,
            &mut vxlan_inner,
        );
        let Classified {
            bd,
            source,
            mut inner,
        } = match classified {
            Ok(classified) => classified,
            Err(rejected) => {
                if let Some(why) = rejected.malformed {
                    if O::LIVE {
                        self.counters.count_malformed(why);
                    }
                    observer.malformed(why);
                }
                let stage = Stage::Classify;
                return Err(self.drop_frame(
                    ingress,
                    rejected.bd,
                    stage,
                    rejected.reason,
                    observer,
                ));
            }
        };
        // `classify` only returns bridge domains that exist.
        let Some(domain) = tables.bd(bd) else {
            let reason = DropReason::NoBridgeDomain;
            return Err(self.drop_frame(ingress, None, Stage::Classify, reason, observer));
        };
        let counters = if O::LIVE {
            self.counters.vnet(domain.counter_slot)
        } else {
            None
        };
        if let Some(c) = counters {
            c.rx_packets.inc();
            c.rx_bytes.add(frame.len() as u64);
        }
        if let Source::Guest(_) = source {
            checksum_fix::complete_guest_checksum(frame, meta, counters);
        }
        let inner_meta = vxlan_inner.as_ref().unwrap_or(meta);
        if matches!(domain.encap, BdEncap::Vxlan { .. }) {
            inner.flow_hash = encap::flow_hash(inner_meta);
        }
        observer.classified(tables, bd, source, frame, &inner, inner_meta);
        // Written field by field into the caller's slot: no struct is moved
        // on the way back (a moved struct costs a store-forwarding stall).
        found.bd = bd;
        found.source = source;
        found.inner = inner;
        found.src = inner_meta.src;
        found.dst = inner_meta.dst;
        found.learning = domain.learning;
        found.counter_slot = domain.counter_slot;
        Ok(())
    }

    /// Look up the destination and build every output.
    #[inline(always)]
    fn forward<E: Egress, O: Observer>(
        &self,
        ingress: PortSlot,
        found: &Found,
        rx: RxFrame<'_>,
        now: Tick,
        egress: &mut E,
        observer: &mut O,
    ) -> Fate {
        let tables = &*self.tables;
        let Some(domain) = tables.bd(found.bd) else {
            let reason = DropReason::NoBridgeDomain;
            return self.drop_frame(ingress, None, Stage::Classify, reason, observer);
        };
        let dst = &found.dst;
        match forward::lookup(tables, &self.fdb, found.bd, domain, found.source, dst) {
            Err(reason) => {
                self.drop_frame(ingress, Some(found.bd), Stage::Lookup, reason, observer)
            }
            Ok(Some(action)) => {
                observer.unicast(tables, &self.fdb, found.bd, dst, &action);
                self.emit_in_place(ingress, found, &action, rx, observer)
            }
            Ok(None) => self.flood(ingress, *found, rx, now, egress, observer),
        }
    }

    /// Builds every output of a flooded frame: copies for all but the last,
    /// the received buffer for the last. Kept out of line: the unicast path
    /// stays small. Takes `found` by value: a reference would keep the
    /// unicast path's `Found` in memory (see the module docs: codegen).
    #[inline(never)]
    fn flood<E: Egress, O: Observer>(
        &self,
        ingress: PortSlot,
        found: Found,
        rx: RxFrame<'_>,
        now: Tick,
        egress: &mut E,
        observer: &mut O,
    ) -> Fate {
        let tables = &*self.tables;
        if O::LIVE
            && let Source::Guest(port) = found.source
            && !self.flood_limit.allow(port, now)
        {
            let reason = DropReason::FloodRateLimited;
            return self.drop_frame(ingress, Some(found.bd), Stage::Egress, reason, observer);
        }
        observer.flooded(found.bd, &found.dst);
        let mut pending: Option<Action> = None;
        for output in Flood::new(tables, found.bd, found.source) {
            match output {
                Ok(action) => {
                    if let Some(previous) = pending.replace(action) {
                        self.emit_copy(ingress, &found, &previous, &rx, egress, observer);
                    }
                }
                Err(reason) => {
                    // A peer without a next hop: this output only.
                    if O::LIVE {
                        self.count_drop_in_bd(found.bd, reason);
                    }
                }
            }
        }
        match pending {
            Some(last) => self.emit_in_place(ingress, &found, &last, rx, observer),
            None => {
                let reason = DropReason::NoDestination;
                self.drop_frame(ingress, Some(found.bd), Stage::Egress, reason, observer)
            }
        }
    }

    /// One output built in a fresh buffer from `egress`.
    fn emit_copy<E: Egress, O: Observer>(
        &self,
        ingress: PortSlot,
        found: &Found,
        action: &Action,
        rx: &RxFrame<'_>,
        egress: &mut E,
        observer: &mut O,
    ) {
        let tables = &*self.tables;
        let Some(src) = rx.bytes() else {
            return;
        };
        let mut built = false;
        let sent = egress.send_copy(action.port, |buffer, headroom| {
            built = true;
            let result = rewrite::copy(self, *action, found.inner, src, buffer, headroom);
            observer.output(tables, action, output_bytes(buffer, result));
            result
        });
        match sent {
            Ok(len) => {
                if O::LIVE {
                    self.count_output(found.counter_slot, len);
                }
            }
            Err(reason) => {
                if !built {
                    observer.output(tables, action, Err(reason));
                }
                if O::LIVE {
                    self.count_drop(ingress, Some(found.bd), reason);
                }
            }
        }
    }

    /// The last output, rewritten in the received buffer.
    #[inline(always)]
    fn emit_in_place<O: Observer>(
        &self,
        ingress: PortSlot,
        found: &Found,
        action: &Action,
        rx: RxFrame<'_>,
        observer: &mut O,
    ) -> Fate {
        let tables = &*self.tables;
        // By value: see the module docs (codegen).
        match rewrite::in_place(self, *action, found.inner, rx.chunk, rx.start, rx.len) {
            Ok((start, len)) => {
                observer.output(tables, action, output_bytes(rx.chunk, Ok((start, len))));
                if O::LIVE {
                    self.count_output(found.counter_slot, len);
                }
                Fate::Send {
                    port: action.port,
                    start,
                    len,
                }
            }
            Err(reason) => {
                observer.output(tables, action, Err(reason));
                if O::LIVE {
                    self.count_drop(ingress, Some(found.bd), reason);
                }
                Fate::Drop(reason)
            }
        }
    }

    #[inline]
    fn count_output(&self, counter_slot: usize, len: usize) {
        if let Some(c) = self.counters.vnet(counter_slot) {
            c.tx_packets.inc();
            c.tx_bytes.add(len as u64);
        }
    }
}

/// The bytes of an output built at `result` in `buffer`.
#[inline(always)]
fn output_bytes(
    buffer: &[u8],
    result: Result<(usize, usize), DropReason>,
) -> Result<&[u8], DropReason> {
    let (start, len) = result?;
    buffer
        .get(start..start.saturating_add(len))
        .ok_or(DropReason::NoHeadroom)
}
