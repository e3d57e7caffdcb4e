//! The kernel tier's counters, one port or one bridge domain at a time,
//! and how they add into the userspace tier's snapshots: users see one
//! figure per port and VNet whichever tier moved the frame, plus how much
//! of it the kernel tier carried.
//!
//! The two tiers never count the same frame: the kernel tier counts what
//! it forwards (or drops) itself, a frame it punts is counted only as
//! `punted` here and then by the userspace pipeline that forwards it.

use crate::counters::{DropReason, PortSnapshot};
use crate::pipeline::BdSnapshot;

/// What the kernel tier did on one port (summed over CPUs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelPortCounters {
    /// Frames received and handled in the kernel tier.
    pub rx_packets: u64,
    /// Their bytes (a GSO super-frame counts once, with all its bytes).
    pub rx_bytes: u64,
    /// Frames the kernel tier sent on the port.
    pub tx_packets: u64,
    /// Their bytes.
    pub tx_bytes: u64,
    /// Frames handed to the userspace pipeline (counted there as well).
    pub punted: u64,
    /// Frames dropped because they exceed the egress MTU.
    pub mtu_exceeded: u64,
}

/// What the kernel tier did in one bridge domain (summed over CPUs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelBdCounters {
    /// Frames handled in the kernel tier.
    pub rx_packets: u64,
    /// Their bytes, as received.
    pub rx_bytes: u64,
    /// Frames sent.
    pub tx_packets: u64,
    /// Their bytes, as sent.
    pub tx_bytes: u64,
    /// Frames dropped because they exceed the egress MTU.
    pub mtu_exceeded: u64,
}

/// Adds the kernel tier's `[rx_packets, rx_bytes, tx_packets, tx_bytes]`
/// and MTU drops into the same fields of a userspace snapshot.
fn add_into(
    totals: [&mut u64; 4],
    drops: &mut [(&'static str, u64)],
    traffic: [u64; 4],
    mtu_exceeded: u64,
) {
    for (total, n) in totals.into_iter().zip(traffic) {
        *total += n;
    }
    drops[DropReason::MtuExceeded.index()].1 += mtu_exceeded;
}

impl KernelPortCounters {
    /// Adds the kernel tier's frames into the userspace tier's `snapshot`
    /// of the same port.
    pub fn add_to(&self, s: &mut PortSnapshot) {
        let totals = [
            &mut s.rx_packets,
            &mut s.rx_bytes,
            &mut s.tx_packets,
            &mut s.tx_bytes,
        ];
        let traffic = [
            self.rx_packets,
            self.rx_bytes,
            self.tx_packets,
            self.tx_bytes,
        ];
        add_into(totals, &mut s.drops, traffic, self.mtu_exceeded);
    }
}

impl KernelBdCounters {
    /// Adds the kernel tier's frames into the userspace tier's `snapshot`
    /// of the same bridge domain.
    pub fn add_to(&self, s: &mut BdSnapshot) {
        let totals = [
            &mut s.rx_packets,
            &mut s.rx_bytes,
            &mut s.tx_packets,
            &mut s.tx_bytes,
        ];
        let traffic = [
            self.rx_packets,
            self.rx_bytes,
            self.tx_packets,
            self.tx_bytes,
        ];
        add_into(totals, &mut s.drops, traffic, self.mtu_exceeded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_frames_add_into_the_port_and_domain_figures() {
        let mut port = PortSnapshot {
            rx_packets: 1,
            rx_bytes: 100,
            tx_packets: 2,
            tx_bytes: 200,
            drops: DropReason::ALL.map(|r| (r.as_str(), 0)),
        };
        KernelPortCounters {
            rx_packets: 10,
            rx_bytes: 1000,
            tx_packets: 20,
            tx_bytes: 2000,
            punted: 5,
            mtu_exceeded: 3,
        }
        .add_to(&mut port);
        assert_eq!(
            (
                port.rx_packets,
                port.rx_bytes,
                port.tx_packets,
                port.tx_bytes
            ),
            (11, 1100, 22, 2200)
        );
        assert_eq!(
            port.drops[DropReason::MtuExceeded.index()],
            ("mtu_exceeded", 3)
        );
        assert_eq!(port.dropped(), 3, "punted frames are not drops");

        let mut bd = BdSnapshot {
            rx_packets: 1,
            rx_bytes: 1,
            tx_packets: 1,
            tx_bytes: 1,
            drops: DropReason::ALL.map(|r| (r.as_str(), 0)),
            l4_checksums_completed: 0,
            bad_l4_checksum: 0,
        };
        KernelBdCounters {
            rx_packets: 4,
            rx_bytes: 40,
            tx_packets: 3,
            tx_bytes: 30,
            mtu_exceeded: 1,
        }
        .add_to(&mut bd);
        assert_eq!(
            (bd.rx_packets, bd.rx_bytes, bd.tx_packets, bd.tx_bytes),
            (5, 41, 4, 31)
        );
        assert_eq!(bd.dropped(), 1);
    }
}
