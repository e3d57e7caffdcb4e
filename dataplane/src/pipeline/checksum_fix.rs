//! Completing the L4 checksums guests leave partial.
//!
//! A guest behind veth (or tap with offloads) sends UDP and TCP with
//! `CHECKSUM_PARTIAL`: the checksum field holds only the pseudo-header sum
//! and the kernel expects the device to finish it. After an AF_XDP hop
//! nothing does, and the receiver drops the segment. So, for frames
//! received **from guest ports only** (uplink frames come off a wire or
//! from another xsdn node and are complete):
//! - a checksum that verifies (or UDP over IPv4 with checksum 0, "none") is
//!   left alone;
//! - a field holding exactly the pseudo-header sum is completed in place
//!   (counted as `l4_checksums_completed` on the VNet);
//! - anything else is a real corruption: left as it is, so the receiver
//!   still sees it, and counted as `bad_l4_checksum`.
//!
//! The policy itself is [`complete_partial_l4_checksum`]; this module
//! applies it and counts. IPv4 fragments and frames without UDP/TCP are not
//! touched. The cost is one checksum pass over the segment, for guest
//! frames only.

use crate::wire::FrameMeta;
use crate::wire::checksum::{ChecksumFix, complete_partial_l4_checksum};

use super::BdCounters;

/// Completes a guest frame's partial UDP/TCP checksum (see the module
/// docs). `meta` is [`crate::wire::parse_frame`]'s result for `frame`.
#[inline]
pub(super) fn complete_guest_checksum(
    frame: &mut [u8],
    meta: &FrameMeta,
    counters: Option<&BdCounters>,
) {
    match complete_partial_l4_checksum(frame, meta) {
        Ok(ChecksumFix::Completed) => {
            if let Some(c) = counters {
                c.l4_checksums_completed.inc();
            }
        }
        Ok(ChecksumFix::Bad) => {
            if let Some(c) = counters {
                c.bad_l4_checksum.inc();
            }
        }
        // `meta` comes from this very frame, so `Err` cannot happen; either
        // way the frame is forwarded as it is.
        Ok(ChecksumFix::Valid | ChecksumFix::NotApplicable) | Err(_) => {}
    }
}
