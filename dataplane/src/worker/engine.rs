//! The hot loop: receive a batch, let the pipeline decide per frame,
//! rewrite, stage per egress port, transmit.
//!
//! Guarantees: no allocation, lock or log per frame (batches, staging
//! areas and the flood list are fixed-capacity and created up front); every
//! frame is transmitted or dropped and counted with a reason, on the port
//! it came in on (and on its VNet by the pipeline); unicast frames are
//! transmitted from their RX chunk, floods copy once per extra output.

use std::time::Instant;

use crate::counters::{DropReason, PortCounters};
use crate::fdb::Tick;
use crate::pipeline::{Decision, Egress, FloodList, InnerFrame, Pipeline};
use crate::tables::{MAX_PORTS, PortIdx};
use crate::xsk::{Frame, FrameBatch, QueueIdx, XskSet};

/// Headroom of frames built for copies (the kernel gives RX frames 256).
const COPY_HEADROOM: usize = 256;

/// The AF_XDP sockets of one port.
#[derive(Clone, Debug, Default)]
pub struct PortQueues {
    /// Interface name.
    pub name: String,
    /// Sockets, one per RX queue (slot in the [`XskSet`]).
    pub queues: Vec<QueueIdx>,
}

impl PortQueues {
    /// The socket used to transmit on this port.
    fn tx_queue(&self) -> Option<QueueIdx> {
        self.queues.first().copied()
    }
}

/// Everything the hot loop works on.
pub struct Engine {
    pub(super) xsk: XskSet,
    pub(super) ports: Vec<Option<PortQueues>>,
    pub(super) counters: std::sync::Arc<[PortCounters]>,
    pub(super) pipeline: Pipeline,
    staged: Vec<FrameBatch>,
    rx: FrameBatch,
    flood: Box<FloodList>,
    pollfds: Vec<libc::pollfd>,
    started: Instant,
    tx_in_flight: bool,
}

impl Engine {
    /// An engine with no ports.
    pub fn new(
        xsk: XskSet,
        pipeline: Pipeline,
        counters: std::sync::Arc<[PortCounters]>,
    ) -> Engine {
        Engine {
            xsk,
            ports: vec![None; MAX_PORTS],
            counters,
            pipeline,
            staged: (0..MAX_PORTS).map(|_| FrameBatch::new()).collect(),
            rx: FrameBatch::new(),
            flood: Box::new(FloodList::new()),
            pollfds: Vec::with_capacity(MAX_PORTS + 1),
            started: Instant::now(),
            tx_in_flight: false,
        }
    }

    /// Milliseconds since the engine started (the FDB's clock).
    pub fn now(&self) -> Tick {
        self.started.elapsed().as_millis() as Tick
    }

    /// Whether transmitted frames still await completion.
    pub fn tx_in_flight(&self) -> bool {
        self.tx_in_flight
    }

    /// Fills `pollfds` with the RX sockets plus `extra` and waits up to
    /// `timeout_ms` for any to become readable.
    pub fn wait(&mut self, extra: libc::c_int, timeout_ms: i32) {
        self.xsk.poll_fds(&mut self.pollfds);
        self.pollfds.push(libc::pollfd {
            fd: extra,
            events: libc::POLLIN,
            revents: 0,
        });
        crate::xsk::wait_readable(&mut self.pollfds, timeout_ms);
    }

    /// One pass over every port queue; returns the frames received.
    pub fn poll_once(&mut self) -> usize {
        let now = self.now();
        let mut received = 0;
        for port in 0..self.ports.len() {
            let Some(queues) = self.ports[port].as_ref() else {
                continue;
            };
            for i in 0..queues.queues.len() {
                let Some(q) = self.ports[port]
                    .as_ref()
                    .and_then(|p| p.queues.get(i).copied())
                else {
                    break;
                };
                self.xsk.reap(q);
                self.xsk.refill(q);
                let n = self.xsk.receive(q, &mut self.rx);
                if n == 0 {
                    continue;
                }
                received += n;
                self.process_batch(port, now);
                self.flush_all();
            }
        }
        self.tx_in_flight = false;
        for port in 0..self.ports.len() {
            if let Some(q) = self.ports[port].as_ref().and_then(PortQueues::tx_queue) {
                self.tx_in_flight |= self.xsk.service_tx(q);
            }
        }
        self.pipeline.tick(now);
        received
    }

    fn drop_frame(&mut self, port: PortIdx, frame: Frame, reason: DropReason) {
        self.counters[port].drop_frame(reason);
        self.xsk.pool().free(frame);
    }

    fn process_batch(&mut self, ingress: PortIdx, now: Tick) {
        let mut batch = core::mem::take(&mut self.rx);
        for mut frame in batch.drain(..) {
            let counters = &self.counters[ingress];
            counters.rx_packets.inc();
            counters.rx_bytes.add(u64::from(frame.len()));
            let decision = self
                .pipeline
                .decide(ingress, self.xsk.area().data_mut(&mut frame), now);
            match decision {
                Decision::Drop(reason) => self.drop_frame(ingress, frame, reason),
                Decision::Unicast { inner, egress, .. } => {
                    self.emit_in_place(ingress, frame, &egress, &inner);
                }
                Decision::Flood { bd, inner, from } => {
                    let mut flood = core::mem::take(&mut *self.flood);
                    self.pipeline.flood_egresses(bd, from, &mut flood);
                    if flood.is_empty() {
                        self.pipeline.count_vnet_drop(bd, DropReason::NoDestination);
                        self.drop_frame(ingress, frame, DropReason::NoDestination);
                    } else {
                        self.flood(ingress, frame, &inner, &flood);
                    }
                    flood.clear();
                    *self.flood = flood;
                }
            }
        }
        self.rx = batch;
    }

    /// Rewrites `frame` in place for `egress` and stages it.
    fn emit_in_place(
        &mut self,
        ingress: PortIdx,
        mut frame: Frame,
        egress: &Egress,
        inner: &InnerFrame,
    ) {
        let (start, len) = (frame.headroom() as usize, frame.len() as usize);
        let size = self.xsk.area().frame_size();
        let result = {
            let area = self.xsk.area();
            self.pipeline
                .rewrite_in_place(egress, inner, area.chunk_mut(&mut frame), start, len)
        };
        match result {
            Ok((start, len)) => {
                if frame.set_bounds(start as u32, len as u32, size) {
                    self.stage(egress.port, frame);
                } else {
                    self.drop_frame(ingress, frame, DropReason::NoHeadroom);
                }
            }
            Err(reason) => self.drop_frame(ingress, frame, reason),
        }
    }

    /// Copies `frame` for every output but the last, which gets the frame
    /// itself.
    fn flood(&mut self, ingress: PortIdx, frame: Frame, inner: &InnerFrame, outputs: &FloodList) {
        let Some((last, rest)) = outputs.split_last() else {
            return;
        };
        let size = self.xsk.area().frame_size();
        for egress in rest {
            let (area, pool) = self.xsk.area_and_pool();
            let Some(mut copy) = pool.alloc(COPY_HEADROOM as u32) else {
                self.pipeline
                    .count_vnet_drop(egress.bd, DropReason::NoBuffer);
                self.counters[ingress].drop_frame(DropReason::NoBuffer);
                continue;
            };
            let result = self.pipeline.rewrite_copy(
                egress,
                inner,
                area.data(&frame),
                area.chunk_mut(&mut copy),
                COPY_HEADROOM,
            );
            match result {
                Ok((start, len)) if copy.set_bounds(start as u32, len as u32, size) => {
                    self.stage(egress.port, copy);
                }
                Ok(_) => self.drop_frame(ingress, copy, DropReason::NoHeadroom),
                Err(reason) => self.drop_frame(ingress, copy, reason),
            }
        }
        self.emit_in_place(ingress, frame, last, inner);
    }

    fn stage(&mut self, port: PortIdx, frame: Frame) {
        if self.ports.get(port).and_then(Option::as_ref).is_none() {
            // The tables name a port whose sockets are not open (yet).
            self.drop_frame(port.min(MAX_PORTS - 1), frame, DropReason::UnknownPort);
            return;
        }
        if self.staged[port].is_full() {
            self.flush(port);
        }
        if let Err(frame) = self.staged[port].push(frame) {
            self.drop_frame(port, frame, DropReason::TxRingFull);
        }
    }

    fn flush_all(&mut self) {
        for port in 0..self.staged.len() {
            if !self.staged[port].is_empty() {
                self.flush(port);
            }
        }
    }

    fn flush(&mut self, port: PortIdx) {
        let Some(q) = self.ports[port].as_ref().and_then(PortQueues::tx_queue) else {
            let mut batch = core::mem::take(&mut self.staged[port]);
            for frame in batch.drain(..) {
                self.drop_frame(port, frame, DropReason::UnknownPort);
            }
            self.staged[port] = batch;
            return;
        };
        let batch = &mut self.staged[port];
        let frames = batch.len();
        let bytes: u64 = batch.iter().map(|f| u64::from(f.len())).sum();
        let sent = self.xsk.transmit(q, batch);
        let counters = &self.counters[port];
        counters.tx_packets.add(sent as u64);
        if sent == frames {
            counters.tx_bytes.add(bytes);
        } else {
            // Unsent frames went back to the pool; bytes are pro rata.
            counters
                .tx_bytes
                .add(bytes * sent as u64 / frames.max(1) as u64);
            for _ in sent..frames {
                counters.drop_frame(DropReason::TxRingFull);
            }
        }
    }

    /// Frees the frames staged for `port` (its sockets are going away).
    pub(super) fn discard_staged(&mut self, port: PortIdx) {
        let mut batch = core::mem::take(&mut self.staged[port]);
        for frame in batch.drain(..) {
            self.xsk.pool().free(frame);
        }
        self.staged[port] = batch;
    }
}
