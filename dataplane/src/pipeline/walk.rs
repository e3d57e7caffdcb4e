//! The walk: one pass per frame that parses, classifies, learns, looks up,
//! builds every output and counts (see the module docs of the pipeline).
//!
//! Outputs of a flood come one by one from [`Flood`]; each is built in a
//! fresh buffer from the [`Egress`] as soon as the next one is known to
//! exist, and the last is rewritten in the received buffer (an in-place
//! rewrite overwrites the bytes in front of the inner body, so it must come
//! last). Nothing is listed, copied aside or allocated.

use crate::counters::DropReason;
use crate::tables::{BdEncap, BdId, PortSlot};
use crate::wire::{FrameMeta, parse_frame};

use super::classify::{self, Classified};
use super::forward::{self, Flood};
use super::observe::{Observer, Quiet, Stage};
use super::{Action, Egress, Fate, InnerFrame, Pipeline, RxFrame, Source, checksum_fix, encap};
use super::{Tick, rewrite};

/// A frame that found its bridge domain.
struct Found {
    bd: BdId,
    source: Source,
    inner: InnerFrame,
    inner_meta: FrameMeta,
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
        let found = match self.classify_frame(ingress, &mut rx, observer) {
            Ok(found) => found,
            Err(fate) => return fate,
        };
        if O::LIVE && self.tables.bd(found.bd).is_some_and(|bd| bd.learning) {
            let location = forward::location_of(found.source);
            self.fdb
                .learn(found.bd, &found.inner_meta.src, location, now);
        }
        self.forward(ingress, &found, rx, egress, observer)
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
        match self.classify_frame(ingress, &mut rx, observer) {
            Ok(found) => self.forward(ingress, &found, rx, egress, observer),
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
    fn count_drop(&self, ingress: PortSlot, bd: Option<BdId>, reason: DropReason) {
        self.counters.port(ingress).drop_frame(reason);
        if let Some(bd) = bd {
            self.counters.count_bd_drop(&self.tables, bd, reason);
        }
    }

    /// Parse and classify; counts the frame as received.
    fn classify_frame<O: Observer>(
        &self,
        ingress: PortSlot,
        rx: &mut RxFrame<'_>,
        observer: &mut O,
    ) -> Result<Found, Fate> {
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
        let meta = match parse_frame(frame) {
            Ok(meta) => meta,
            Err(why) => {
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
        observer.parsed(frame, &meta);
        let classified = classify::classify(tables, &self.vxlan_ports, ingress, frame, &meta);
        let Classified {
            bd,
            source,
            mut inner,
            inner_meta,
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
            checksum_fix::complete_guest_checksum(frame, &meta, counters);
        }
        if matches!(domain.encap, BdEncap::Vxlan { .. }) {
            inner.flow_hash = encap::flow_hash(&inner_meta);
        }
        observer.classified(tables, bd, source, frame, &inner, &inner_meta);
        Ok(Found {
            bd,
            source,
            inner,
            inner_meta,
        })
    }

    /// Look up the destination and build every output.
    fn forward<E: Egress, O: Observer>(
        &self,
        ingress: PortSlot,
        found: &Found,
        rx: RxFrame<'_>,
        egress: &mut E,
        observer: &mut O,
    ) -> Fate {
        let tables = &*self.tables;
        let Some(domain) = tables.bd(found.bd) else {
            let reason = DropReason::NoBridgeDomain;
            return self.drop_frame(ingress, None, Stage::Classify, reason, observer);
        };
        let dst = &found.inner_meta.dst;
        match forward::lookup(tables, &self.fdb, found.bd, domain, found.source, dst) {
            Err(reason) => {
                self.drop_frame(ingress, Some(found.bd), Stage::Lookup, reason, observer)
            }
            Ok(Some(action)) => {
                observer.unicast(tables, &self.fdb, found.bd, dst, &action);
                self.emit_in_place(ingress, found, &action, rx, observer)
            }
            Ok(None) => {
                observer.flooded(found.bd, dst);
                let mut pending: Option<Action> = None;
                for output in Flood::new(tables, found.bd, found.source) {
                    match output {
                        Ok(action) => {
                            if let Some(previous) = pending.replace(action) {
                                self.emit_copy(ingress, found, &previous, &rx, egress, observer);
                            }
                        }
                        Err(reason) => {
                            // A peer without a next hop: this output only.
                            if O::LIVE {
                                self.counters.count_bd_drop(tables, found.bd, reason);
                            }
                        }
                    }
                }
                match pending {
                    Some(last) => self.emit_in_place(ingress, found, &last, rx, observer),
                    None => {
                        let reason = DropReason::NoDestination;
                        self.drop_frame(ingress, Some(found.bd), Stage::Egress, reason, observer)
                    }
                }
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
            let result = rewrite::copy(self, action, &found.inner, src, buffer, headroom);
            observer.output(tables, action, output_bytes(buffer, result));
            result
        });
        match sent {
            Ok(len) => {
                if O::LIVE {
                    self.count_output(found.bd, len);
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
    fn emit_in_place<O: Observer>(
        &self,
        ingress: PortSlot,
        found: &Found,
        action: &Action,
        rx: RxFrame<'_>,
        observer: &mut O,
    ) -> Fate {
        let tables = &*self.tables;
        match rewrite::in_place(self, action, &found.inner, rx.chunk, rx.start, rx.len) {
            Ok((start, len)) => {
                observer.output(tables, action, output_bytes(rx.chunk, Ok((start, len))));
                if O::LIVE {
                    self.count_output(found.bd, len);
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
    fn count_output(&self, bd: BdId, len: usize) {
        if let Some(c) = self.counters.bd(&self.tables, bd) {
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
