//! Per-worker counters, written by one thread and read by any.
//!
//! A [`Counter`] has exactly one writer (its worker), so an increment is a
//! relaxed load plus a relaxed store: plain moves on x86-64, no locked
//! instruction, no shared cache line with other workers. Readers (CLI,
//! metrics) sum the workers' values at read time.

use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing single-writer counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Must only be called by the owning worker thread.
    #[inline]
    pub fn add(&self, n: u64) {
        let value = self.0.load(Ordering::Relaxed).wrapping_add(n);
        self.0.store(value, Ordering::Relaxed);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Current value.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Why the dataplane dropped a frame. The names are stable: they appear in
/// `xsdn show counters` and in metrics labels.
///
/// Frames failing header validation are all counted as
/// [`DropReason::Malformed`]; the pipeline keeps the detail (which header,
/// see [`crate::wire::Malformed`]) in its own per-reason counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The frame failed header validation.
    Malformed,
    /// The destination's TX ring was full.
    TxRingFull,
    /// No free UMEM frame to build a copy in.
    NoBuffer,
    /// The destination is reached through the port the frame came from
    /// (for VXLAN: a frame from a peer to a MAC behind a peer, split
    /// horizon).
    SamePort,
    /// The kernel returned a descriptor outside the UMEM.
    BadDescriptor,
    /// Received on a port slot with no role in the current tables.
    UnknownPort,
    /// Tag or VNI not configured on this port (no bridge domain).
    NoBridgeDomain,
    /// A guest sent a tagged frame its zone cannot carry (QinQ: any tag,
    /// which would be taken for a customer tag; VLAN: more than one).
    TaggedFromGuest,
    /// VXLAN to an address that is not one of this node's VTEP addresses.
    VxlanNotLocal,
    /// VXLAN from an address that is not a configured peer of the VNI.
    VxlanUnknownPeer,
    /// A fragmented VXLAN datagram (not reassembled by the dataplane).
    VxlanFragment,
    /// The VTEP's next hop (route or neighbour) is not resolved.
    NextHopUnresolved,
    /// The frame would exceed the egress port's MTU (never truncated).
    MtuExceeded,
    /// Guest-to-guest in a bridge domain with `isolate-ports`.
    PortIsolated,
    /// A broadcast/unknown frame with nowhere to go in its bridge domain.
    NoDestination,
    /// Not enough room before or after the frame in its chunk for the
    /// rewritten frame.
    NoHeadroom,
    /// A broadcast, multicast or unknown-unicast frame from a guest port
    /// over its flood budget (`flood_rate`).
    FloodRateLimited,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 17] = [
        DropReason::Malformed,
        DropReason::TxRingFull,
        DropReason::NoBuffer,
        DropReason::SamePort,
        DropReason::BadDescriptor,
        DropReason::UnknownPort,
        DropReason::NoBridgeDomain,
        DropReason::TaggedFromGuest,
        DropReason::VxlanNotLocal,
        DropReason::VxlanUnknownPeer,
        DropReason::VxlanFragment,
        DropReason::NextHopUnresolved,
        DropReason::MtuExceeded,
        DropReason::PortIsolated,
        DropReason::NoDestination,
        DropReason::NoHeadroom,
        DropReason::FloodRateLimited,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::TxRingFull => "tx_ring_full",
            DropReason::NoBuffer => "no_buffer",
            DropReason::SamePort => "same_port",
            DropReason::BadDescriptor => "bad_descriptor",
            DropReason::UnknownPort => "unknown_port",
            DropReason::NoBridgeDomain => "no_bridge_domain",
            DropReason::TaggedFromGuest => "tagged_from_guest",
            DropReason::VxlanNotLocal => "vxlan_not_local",
            DropReason::VxlanUnknownPeer => "vxlan_unknown_peer",
            DropReason::VxlanFragment => "vxlan_fragment",
            DropReason::NextHopUnresolved => "next_hop_unresolved",
            DropReason::MtuExceeded => "mtu_exceeded",
            DropReason::PortIsolated => "port_isolated",
            DropReason::NoDestination => "no_destination",
            DropReason::NoHeadroom => "no_headroom",
            DropReason::FloodRateLimited => "flood_rate_limited",
        }
    }

    /// Index into [`PortCounters::drops`].
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Counters of one port in one worker.
#[derive(Debug, Default)]
pub struct PortCounters {
    /// Frames received from the port.
    pub rx_packets: Counter,
    /// Bytes received from the port.
    pub rx_bytes: Counter,
    /// Frames transmitted on the port.
    pub tx_packets: Counter,
    /// Bytes transmitted on the port.
    pub tx_bytes: Counter,
    /// Frames received on the port and dropped, by [`DropReason`].
    pub drops: [Counter; DropReason::ALL.len()],
}

impl PortCounters {
    /// Counts a drop of a frame received on this port.
    #[inline]
    pub fn drop_frame(&self, reason: DropReason) {
        self.drops[reason.index()].inc();
    }

    /// A plain copy of the values.
    pub fn snapshot(&self) -> PortSnapshot {
        PortSnapshot {
            rx_packets: self.rx_packets.get(),
            rx_bytes: self.rx_bytes.get(),
            tx_packets: self.tx_packets.get(),
            tx_bytes: self.tx_bytes.get(),
            drops: DropReason::ALL.map(|r| (r.as_str(), self.drops[r.index()].get())),
        }
    }
}

/// Values of [`PortCounters`] at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortSnapshot {
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
}

impl PortSnapshot {
    /// Total drops over all reasons.
    pub fn dropped(&self) -> u64 {
        self.drops.iter().map(|(_, n)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_and_snapshot() {
        let c = PortCounters::default();
        c.rx_packets.inc();
        c.rx_bytes.add(60);
        c.drop_frame(DropReason::NoBuffer);
        c.drop_frame(DropReason::NoBuffer);
        let s = c.snapshot();
        assert_eq!(s.rx_packets, 1);
        assert_eq!(s.rx_bytes, 60);
        assert_eq!(s.dropped(), 2);
        assert_eq!(s.drops[DropReason::NoBuffer.index()], ("no_buffer", 2));
    }

    #[test]
    fn reason_indexes_match_order() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }

    #[test]
    fn reason_names_are_unique_snake_case() {
        let mut names: Vec<&str> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::ALL.len());
    }
}
