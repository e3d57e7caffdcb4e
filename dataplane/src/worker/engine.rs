//! The hot loop: receive a batch, hand each frame to the pipeline's walk,
//! stage what it sends per egress port, transmit.
//!
//! The pipeline decides, rewrites, replicates and counts; the engine
//! supplies buffers (the received chunk, fresh chunks for copies through
//! [`Staging`], its [`Egress`]) and transmits. Guarantees: no allocation,
//! lock or log per frame (batches and staging areas are fixed-capacity and
//! created up front); every frame is transmitted, held for the next pass
//! (its port's TX ring was full; bounded by one batch per port), or dropped
//! and counted with a reason. Drops are counted on the port where they happen: the
//! pipeline counts decision drops on the ingress port, the engine counts
//! what fails at transmission (`tx_ring_full`, a port without sockets) on
//! the egress port. Unicast frames are transmitted from their RX chunk;
//! floods copy once per extra output.

use std::sync::Arc;
use std::time::Instant;

use xsdn_common::ethertype::QINQ;
use xsdn_common::kernel_tier::PUNT_TAG_LEN;

use super::kernel_sync::KernelSync;
use crate::counters::{DropReason, PortCounters};
use crate::pipeline::{Egress, Fate, Pipeline, PipelineCounters, RxFrame, Tick};
use crate::tables::{MAX_PORTS, PortSlot};
use crate::xsk::{Area, Frame, FrameBatch, QueueIdx, Rings, XskSet};

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
    /// Open ports, by slot index.
    pub(super) ports: Vec<Option<PortQueues>>,
    pub(super) pipeline: Pipeline,
    /// The punt device: guest frames the kernel tier hands to userspace,
    /// each behind an 802.1ad tag naming its port slot.
    pub(super) punt: Option<PortQueues>,
    /// Punted frames without a valid port tag (dropped).
    pub(super) punt_rejected: u64,
    /// The kernel tier's MAC table mirror, once attached.
    pub(super) kernel: Option<KernelSync>,
    counters: Arc<PipelineCounters>,
    /// Frames waiting for transmission, by egress slot index.
    staged: Vec<FrameBatch>,
    rx: FrameBatch,
    pollfds: Vec<libc::pollfd>,
    started: Instant,
    work_pending: bool,
}

impl Engine {
    /// An engine with no ports.
    pub fn new(xsk: XskSet, pipeline: Pipeline) -> Engine {
        Engine {
            xsk,
            ports: vec![None; MAX_PORTS],
            counters: pipeline.counters(),
            pipeline,
            punt: None,
            punt_rejected: 0,
            kernel: None,
            staged: (0..MAX_PORTS).map(|_| FrameBatch::new()).collect(),
            rx: FrameBatch::new(),
            pollfds: Vec::with_capacity(MAX_PORTS + 1),
            started: Instant::now(),
            work_pending: false,
        }
    }

    /// Milliseconds since the engine started (the FDB's clock).
    pub fn now(&self) -> Tick {
        self.started.elapsed().as_millis() as Tick
    }

    /// Whether work is pending without a readiness event to wake the
    /// worker: transmitted frames awaiting completion, frames a full TX ring
    /// held back, a resynchronization of the kernel tier under way.
    pub fn work_pending(&self) -> bool {
        self.work_pending
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
        for port in PortSlot::all() {
            let Some(queues) = self.ports[port.index()].as_ref() else {
                continue;
            };
            for i in 0..queues.queues.len() {
                let Some(q) = self.ports[port.index()]
                    .as_ref()
                    .and_then(|p| p.queues.get(i).copied())
                else {
                    break;
                };
                let n = self.receive(q);
                if n == 0 {
                    continue;
                }
                received += n;
                self.process_batch(port, now);
                self.flush_all();
            }
        }
        received += self.poll_punt(now);
        if let Some(kernel) = self.kernel.as_mut() {
            kernel.sync(&mut self.pipeline, now);
        }
        // Frames a full TX ring held back go out first.
        self.flush_all();
        self.work_pending = self.staged.iter().any(|b| !b.is_empty())
            || self.kernel.as_ref().is_some_and(KernelSync::busy);
        for port in &self.ports {
            if let Some(q) = port.as_ref().and_then(PortQueues::tx_queue) {
                self.work_pending |= self.xsk.service_tx(q);
            }
        }
        self.pipeline.tick(now);
        received
    }

    /// Reaps and refills queue `q`, then receives a batch into `self.rx`;
    /// returns its size.
    fn receive(&mut self, q: QueueIdx) -> usize {
        self.xsk.reap(q);
        self.xsk.refill(q);
        self.xsk.receive(q, &mut self.rx)
    }

    /// Receives and forwards what the punt device delivered.
    fn poll_punt(&mut self, now: Tick) -> usize {
        let mut received = 0;
        let queues = self.punt.as_ref().map_or(0, |p| p.queues.len());
        for i in 0..queues {
            let Some(q) = self.punt.as_ref().and_then(|p| p.queues.get(i).copied()) else {
                break;
            };
            let n = self.receive(q);
            if n == 0 {
                continue;
            }
            received += n;
            self.process_punted(now);
            self.flush_all();
        }
        received
    }

    /// Forwards punted frames: each carries its port slot in an outer
    /// 802.1ad tag, which is taken off before the walk sees the frame.
    fn process_punted(&mut self, now: Tick) {
        let mut batch = core::mem::take(&mut self.rx);
        let mut kept = FrameBatch::new();
        let mut ingress = None;
        for mut frame in batch.drain(..) {
            let slot = self.untag_punted(&mut frame);
            match slot {
                Some(slot) if ingress.is_none_or(|i| i == slot) => {
                    ingress = Some(slot);
                    // Capacity: at most as many frames as `batch` held.
                    let _ = kept.push(frame);
                }
                Some(slot) => {
                    // Another port's frame: forward what is kept first, so
                    // each port's frames keep their order.
                    if let Some(port) = ingress {
                        self.rx = core::mem::take(&mut kept);
                        self.process_batch(port, now);
                    }
                    ingress = Some(slot);
                    let _ = kept.push(frame);
                }
                None => {
                    self.punt_rejected += 1;
                    self.xsk.pool().free(frame);
                }
            }
        }
        if let Some(port) = ingress {
            self.rx = kept;
            self.process_batch(port, now);
        }
        self.rx = batch;
    }

    /// Takes the port tag off a punted frame; `None` if it has none.
    fn untag_punted(&mut self, frame: &mut Frame) -> Option<PortSlot> {
        let data = self.xsk.area().data_mut(frame);
        if data.len() < 12 + PUNT_TAG_LEN + 2 || data[12..14] != QINQ.to_be_bytes() {
            return None;
        }
        let vid = u16::from_be_bytes([data[14], data[15]]) & 0x0fff;
        let slot = PortSlot::new(usize::from(vid))?;
        data.copy_within(0..12, PUNT_TAG_LEN);
        frame.pull_head(PUNT_TAG_LEN as u32).then_some(slot)
    }

    fn process_batch(&mut self, ingress: PortSlot, now: Tick) {
        let mut batch = core::mem::take(&mut self.rx);
        let (area, rings) = self.xsk.split();
        let size = area.frame_size();
        let mut staging = Staging {
            area,
            rings,
            staged: &mut self.staged,
            ports: &self.ports,
            counters: &self.counters,
        };
        for mut frame in batch.drain(..) {
            let rx = RxFrame {
                start: frame.headroom() as usize,
                len: frame.len() as usize,
                chunk: area.chunk_mut(&mut frame),
            };
            match self.pipeline.process(ingress, rx, now, &mut staging) {
                Fate::Send { port, start, len } => {
                    if frame.set_bounds(start as u32, len as u32, size) {
                        staging.stage(port, frame);
                    } else {
                        staging
                            .counters
                            .port(ingress)
                            .drop_frame(DropReason::NoHeadroom);
                        staging.rings.pool().free(frame);
                    }
                }
                Fate::Drop(_) => staging.rings.pool().free(frame),
            }
        }
        self.rx = batch;
    }

    fn flush_all(&mut self) {
        let (area, rings) = self.xsk.split();
        for port in PortSlot::all() {
            let batch = &mut self.staged[port.index()];
            if !batch.is_empty() {
                let queue = self.ports[port.index()]
                    .as_ref()
                    .and_then(PortQueues::tx_queue);
                flush(area, rings, queue, batch, self.counters.port(port));
            }
        }
    }

    /// Frees every staged frame (before closing the punt device).
    pub(super) fn discard_all_staged(&mut self) {
        for port in PortSlot::all() {
            self.discard_staged(port);
        }
    }

    /// Frees the frames staged for `port` (its sockets are going away).
    pub(super) fn discard_staged(&mut self, port: PortSlot) {
        let pool = self.xsk.pool();
        for frame in self.staged[port.index()].drain(..) {
            pool.free(frame);
        }
    }
}

/// The engine's side of a walk: fresh chunks for copies, and per-port TX
/// staging that flushes a port's batch when it fills.
struct Staging<'a> {
    area: &'a Area,
    rings: &'a mut Rings,
    staged: &'a mut [FrameBatch],
    ports: &'a [Option<PortQueues>],
    counters: &'a PipelineCounters,
}

impl Staging<'_> {
    /// Queues `frame` for transmission on `port`.
    fn stage(&mut self, port: PortSlot, frame: Frame) {
        let counters = self.counters.port(port);
        let queue = self
            .ports
            .get(port.index())
            .and_then(Option::as_ref)
            .and_then(PortQueues::tx_queue);
        let (Some(queue), Some(batch)) = (queue, self.staged.get_mut(port.index())) else {
            // The tables name a port whose sockets are not open (yet).
            counters.drop_frame(DropReason::UnknownPort);
            self.rings.pool().free(frame);
            return;
        };
        if batch.is_full() {
            flush(self.area, self.rings, Some(queue), batch, counters);
        }
        if let Err(frame) = batch.push(frame) {
            counters.drop_frame(DropReason::TxRingFull);
            self.rings.pool().free(frame);
        }
    }
}

impl Egress for Staging<'_> {
    fn send_copy<F>(&mut self, port: PortSlot, build: F) -> Result<usize, DropReason>
    where
        F: FnOnce(&mut [u8], usize) -> Result<(usize, usize), DropReason>,
    {
        let Some(mut copy) = self.rings.pool().alloc(COPY_HEADROOM as u32) else {
            return Err(DropReason::NoBuffer);
        };
        let size = self.area.frame_size();
        match build(self.area.chunk_mut(&mut copy), COPY_HEADROOM) {
            Ok((start, len)) if copy.set_bounds(start as u32, len as u32, size) => {
                self.stage(port, copy);
                Ok(len)
            }
            Ok(_) => {
                self.rings.pool().free(copy);
                Err(DropReason::NoHeadroom)
            }
            Err(reason) => {
                self.rings.pool().free(copy);
                Err(reason)
            }
        }
    }
}

/// Transmits `batch` on `queue` (frees it when the port has no socket) and
/// counts what left on the egress port. Frames the TX ring had no room for
/// stay in `batch`, in order, and go first at the next flush: a full ring
/// delays frames instead of dropping them. The hold is bounded by the
/// batch ([`crate::xsk::BATCH`] frames per port): a frame staged while its
/// port's batch is still full after a flush is dropped as `tx_ring_full`.
fn flush(
    area: &Area,
    rings: &mut Rings,
    queue: Option<QueueIdx>,
    batch: &mut FrameBatch,
    counters: &PortCounters,
) {
    let Some(q) = queue else {
        for frame in batch.drain(..) {
            counters.drop_frame(DropReason::UnknownPort);
            rings.pool().free(frame);
        }
        return;
    };
    let lens: heapless::Vec<u32, { crate::xsk::BATCH }> = batch.iter().map(Frame::len).collect();
    let sent = rings.transmit(area, q, batch);
    counters.tx_packets.add(sent as u64);
    counters
        .tx_bytes
        .add(lens.iter().take(sent).map(|&l| u64::from(l)).sum());
}
