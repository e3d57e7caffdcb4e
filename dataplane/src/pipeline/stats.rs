//! Everything one pipeline counts: per port, per VNet, and the detail of
//! malformed frames.
//!
//! Written only by the pipeline's worker thread (single-writer
//! [`Counter`]s), readable from any thread through the shared
//! `Arc<PipelineCounters>`. Readers sum over workers.
//!
//! Where a frame is counted:
//! - received: on its ingress port (every frame) and on its VNet (once
//!   classified);
//! - dropped by a decision or while building one of its outputs: on its
//!   ingress port and on its VNet when known;
//! - an output handed to the TX staging: on the VNet (`tx_*`);
//! - transmitted: on the egress port (`tx_*`) by the worker, which also
//!   counts what the TX side drops (`tx_ring_full`, `unknown_port`) on the
//!   egress port, since only it sees those.

use crate::counters::{Counter, DropReason, PortCounters};
use crate::tables::{BdId, ForwardingTables, MAX_PORTS, PortSlot};
use crate::wire::Malformed;

/// Counters of one VNet (bridge domain) in one worker.
#[derive(Debug, Default)]
pub struct BdCounters {
    /// Frames classified into the VNet.
    pub rx_packets: Counter,
    /// Bytes of those frames, as received (outer headers included).
    pub rx_bytes: Counter,
    /// Frames handed to the worker for transmission (one per output).
    pub tx_packets: Counter,
    /// Bytes of those frames, as emitted.
    pub tx_bytes: Counter,
    /// Frames of the VNet dropped, by [`DropReason`].
    pub drops: [Counter; DropReason::ALL.len()],
    /// Partial (offloaded) UDP/TCP checksums of guest frames completed.
    pub l4_checksums_completed: Counter,
    /// Guest UDP/TCP checksums that were wrong and not partial (forwarded
    /// untouched, so the receiver sees the corruption).
    pub bad_l4_checksum: Counter,
}

impl BdCounters {
    /// Counts a drop.
    #[inline]
    pub fn drop_frame(&self, reason: DropReason) {
        self.drops[reason.index()].inc();
    }

    /// A plain copy of the values.
    pub fn snapshot(&self) -> BdSnapshot {
        BdSnapshot {
            rx_packets: self.rx_packets.get(),
            rx_bytes: self.rx_bytes.get(),
            tx_packets: self.tx_packets.get(),
            tx_bytes: self.tx_bytes.get(),
            drops: DropReason::ALL.map(|r| (r.as_str(), self.drops[r.index()].get())),
            l4_checksums_completed: self.l4_checksums_completed.get(),
            bad_l4_checksum: self.bad_l4_checksum.get(),
        }
    }
}

/// Values of [`BdCounters`] at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BdSnapshot {
    /// Frames received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Frames transmitted.
    pub tx_packets: u64,
    /// Bytes transmitted.
    pub tx_bytes: u64,
    /// Drops by reason name.
    pub drops: [(&'static str, u64); DropReason::ALL.len()],
    /// Partial checksums completed.
    pub l4_checksums_completed: u64,
    /// Bad checksums seen.
    pub bad_l4_checksum: u64,
}

impl BdSnapshot {
    /// Total drops over all reasons.
    pub fn dropped(&self) -> u64 {
        self.drops.iter().map(|(_, n)| n).sum()
    }

    /// Drops for one reason.
    pub fn drops_for(&self, reason: DropReason) -> u64 {
        self.drops[reason.index()].1
    }
}

/// Everything one pipeline counts (see the module docs).
#[derive(Debug)]
pub struct PipelineCounters {
    ports: Box<[PortCounters]>,
    vnets: Box<[BdCounters]>,
    malformed: [Counter; Malformed::COUNT],
}

impl PipelineCounters {
    /// Counters for every port slot and for VNet counter slots
    /// `0..vnet_slots` (a bridge domain whose `counter_slot` is beyond is
    /// not counted).
    pub fn new(vnet_slots: usize) -> PipelineCounters {
        PipelineCounters {
            ports: (0..MAX_PORTS).map(|_| PortCounters::default()).collect(),
            vnets: (0..vnet_slots).map(|_| BdCounters::default()).collect(),
            malformed: core::array::from_fn(|_| Counter::default()),
        }
    }

    /// The counters of port slot `port`.
    #[inline]
    pub fn port(&self, port: PortSlot) -> &PortCounters {
        // Every slot has counters (`ports` has MAX_PORTS entries).
        &self.ports[port.index()]
    }

    /// The counters of every port slot, in slot order.
    pub fn ports(&self) -> &[PortCounters] {
        &self.ports
    }

    /// The counters of VNet counter slot `slot`.
    #[inline]
    pub fn vnet(&self, slot: usize) -> Option<&BdCounters> {
        self.vnets.get(slot)
    }

    /// Number of VNet counter slots.
    pub fn vnet_slots(&self) -> usize {
        self.vnets.len()
    }

    /// Frames dropped as `malformed` for reason `why` (any port).
    pub fn malformed(&self, why: Malformed) -> u64 {
        self.malformed[why.index()].get()
    }

    /// Malformed drops by reason name.
    pub fn malformed_snapshot(&self) -> [(&'static str, u64); Malformed::COUNT] {
        Malformed::ALL.map(|m| (m.as_str(), self.malformed[m.index()].get()))
    }

    #[inline]
    pub(super) fn count_malformed(&self, why: Malformed) {
        if let Some(c) = self.malformed.get(why.index()) {
            c.inc();
        }
    }

    /// The counters of bridge domain `bd` of `tables`.
    #[inline]
    pub fn bd(&self, tables: &ForwardingTables, bd: BdId) -> Option<&BdCounters> {
        self.vnet(tables.bd(bd)?.counter_slot)
    }

    #[inline]
    pub(super) fn count_bd_drop(&self, tables: &ForwardingTables, bd: BdId, reason: DropReason) {
        let slot = tables.bd(bd).map(|b| b.counter_slot);
        if let Some(c) = slot.and_then(|s| self.vnet(s)) {
            c.drop_frame(reason);
        }
    }
}
