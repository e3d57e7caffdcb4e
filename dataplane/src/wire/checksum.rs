//! The Internet checksum (RFC 1071), its incremental update (RFC 1624), the
//! IPv4/IPv6 pseudo-headers (RFC 768, RFC 9293 section 3.1, RFC 8200
//! section 8.1), and L4 checksum completion on whole frames.
//!
//! Sums are returned folded to 16 bits and *not* complemented, as the host
//! value of the big-endian 16-bit words; the checksum written into a header
//! is the complement of the sum over the covered bytes with the checksum
//! field taken as zero. A block verifies when its sum (checksum field
//! included) is `0xffff`.
//!
//! # Checksum offload on veth
//! A guest behind veth sends UDP/TCP with `CHECKSUM_PARTIAL`: the checksum
//! field holds only the folded pseudo-header sum and the kernel expects the
//! device to finish it. After an AF_XDP hop nothing does, and the receiver
//! drops the segment. [`fill_l4_checksum`] and [`complete_checksums`]
//! recompute the UDP/TCP/ICMP checksum of a frame from scratch, so the
//! dataplane can send frames that verify whatever the sender left there.

use core::net::{Ipv4Addr, Ipv6Addr};

use super::frame::{FrameMeta, L3Meta, L4Meta, Malformed, parse_frame};
use super::{Error, IpProtocol, Result, read_u16, write_u16};

/// Folds a wide one's-complement accumulator to 16 bits (end-around carry).
#[inline]
const fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The one's-complement sum of `data` as big-endian 16-bit words, folded to
/// 16 bits and not complemented (RFC 1071 section 4.1). An odd trailing byte
/// is padded with a zero byte.
///
/// Reads 16 bytes per step as native-endian `u32` words into a 64-bit
/// accumulator and byte-swaps once at the end, which RFC 1071 section 2(B)
/// allows; any alignment of `data` is fine.
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    let (blocks, rest) = data.as_chunks::<16>();
    let mut acc: u64 = 0;
    for b in blocks {
        acc += u64::from(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            + u64::from(u32::from_ne_bytes([b[4], b[5], b[6], b[7]]))
            + u64::from(u32::from_ne_bytes([b[8], b[9], b[10], b[11]]))
            + u64::from(u32::from_ne_bytes([b[12], b[13], b[14], b[15]]));
    }
    let (words, rest) = rest.as_chunks::<4>();
    for w in words {
        acc += u64::from(u32::from_ne_bytes(*w));
    }
    let (pairs, rest) = rest.as_chunks::<2>();
    for p in pairs {
        acc += u64::from(u16::from_ne_bytes(*p));
    }
    if let Some(&last) = rest.first() {
        acc += u64::from(u16::from_ne_bytes([last, 0]));
    }
    // The sum of native-endian words is the byte-swapped big-endian sum.
    u16::from_be(fold(acc))
}

/// One's-complement addition of two folded sums.
#[inline]
pub const fn add(a: u16, b: u16) -> u16 {
    fold(a as u64 + b as u64)
}

/// One's-complement sum of several folded sums.
#[inline]
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// The checksum to store for a block whose sum with the checksum field zero
/// is `sum`: its complement.
#[inline]
pub const fn finish(sum: u16) -> u16 {
    !sum
}

/// The checksum of `data` (with its checksum field zero) plus a
/// pseudo-header sum: `finish(add(pseudo, sum(data)))`. Pass `pseudo = 0`
/// when there is no pseudo-header.
#[inline]
pub fn compute(pseudo: u16, data: &[u8]) -> u16 {
    finish(add(pseudo, sum(data)))
}

/// True if `data`, checksum field included, plus `pseudo` sums to `0xffff`.
#[inline]
pub fn verify(pseudo: u16, data: &[u8]) -> bool {
    add(pseudo, sum(data)) == 0xffff
}

/// Sum of the IPv4 pseudo-header (RFC 768; RFC 9293 section 3.1): source,
/// destination, zero, protocol, and the L4 length.
#[inline]
pub fn pseudo_header_v4(src: &Ipv4Addr, dst: &Ipv4Addr, protocol: IpProtocol, length: u16) -> u16 {
    let s = src.octets();
    let d = dst.octets();
    let acc = u64::from(u16::from_be_bytes([s[0], s[1]]))
        + u64::from(u16::from_be_bytes([s[2], s[3]]))
        + u64::from(u16::from_be_bytes([d[0], d[1]]))
        + u64::from(u16::from_be_bytes([d[2], d[3]]))
        + u64::from(protocol.raw())
        + u64::from(length);
    fold(acc)
}

/// Sum of the IPv6 pseudo-header (RFC 8200 section 8.1): source,
/// destination, the 32-bit upper-layer length and the next header.
#[inline]
pub fn pseudo_header_v6(
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
    next_header: IpProtocol,
    length: u32,
) -> u16 {
    let acc = u64::from(sum(&src.octets()))
        + u64::from(sum(&dst.octets()))
        + u64::from(length >> 16)
        + u64::from(length & 0xffff)
        + u64::from(next_header.raw());
    fold(acc)
}

/// The addresses of the IP header carrying a transport segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PseudoHeader {
    /// IPv4 source and destination.
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// IPv6 source and destination.
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Destination address.
        dst: Ipv6Addr,
    },
}

impl PseudoHeader {
    /// The pseudo-header sum for `protocol` and an L4 `length`. IPv4 carries
    /// only 16 bits of length; larger values are truncated there.
    #[inline]
    pub fn sum(&self, protocol: IpProtocol, length: u32) -> u16 {
        match self {
            PseudoHeader::V4 { src, dst } => pseudo_header_v4(src, dst, protocol, length as u16),
            PseudoHeader::V6 { src, dst } => pseudo_header_v6(src, dst, protocol, length),
        }
    }
}

/// RFC 1624 equation 3: the checksum after one 16-bit word covered by
/// `checksum` changes from `old` to `new`: `HC' = ~(~HC + ~m + m')`.
///
/// For UDP the caller keeps a zero ("no checksum", IPv4) checksum zero and
/// writes a computed zero as `0xffff`.
#[inline]
pub const fn update(checksum: u16, old: u16, new: u16) -> u16 {
    !fold(!checksum as u64 + !old as u64 + new as u64)
}

/// [`update`] for a 32-bit field (an IPv4 address).
#[inline]
pub const fn update_u32(checksum: u16, old: u32, new: u32) -> u16 {
    let acc = !checksum as u64
        + (!(old >> 16) & 0xffff) as u64
        + (!old & 0xffff) as u64
        + (new >> 16) as u64
        + (new & 0xffff) as u64;
    !fold(acc)
}

/// [`update`] for a field of any length starting at an even offset of the
/// covered block (ports, IPv4 and IPv6 addresses): the checksum after the
/// bytes `old` become `new`. Returns `None` if the lengths differ.
#[inline]
pub fn update_bytes(checksum: u16, old: &[u8], new: &[u8]) -> Option<u16> {
    if old.len() != new.len() {
        return None;
    }
    let acc = u64::from(!checksum) + u64::from(!sum(old)) + u64::from(sum(new));
    Some(!fold(acc))
}

/// Computes and writes the IPv4 header checksum of `header` (exactly the
/// header bytes, options included; at least 20 bytes).
#[inline]
pub fn fill_ipv4_header(header: &mut [u8]) -> Result<()> {
    if header.len() < 20 {
        return Err(Error);
    }
    write_u16(header, 10, 0);
    let csum = compute(0, header);
    write_u16(header, 10, csum);
    Ok(())
}

/// True if the IPv4 header (exactly the header bytes) verifies.
#[inline]
pub fn verify_ipv4_header(header: &[u8]) -> bool {
    header.len() >= 20 && verify(0, header)
}

/// Where the L4 checksum of a frame lives and what it covers.
struct L4Span {
    start: usize,
    end: usize,
    checksum_at: usize,
    pseudo: u16,
    is_udp: bool,
    zero_is_none: bool,
}

fn l4_span(frame_len: usize, meta: &FrameMeta) -> Result<Option<L4Span>> {
    let start = usize::from(meta.l4_offset);
    let (ip_payload, pseudo): (usize, Option<PseudoHeader>) = match meta.l3 {
        L3Meta::Ipv4 {
            src,
            dst,
            total_len,
            ihl,
            is_fragment,
            ..
        } => {
            if is_fragment {
                // The checksum covers the reassembled datagram.
                return Ok(None);
            }
            let len = usize::from(total_len)
                .checked_sub(usize::from(ihl) * 4)
                .ok_or(Error)?;
            (len, Some(PseudoHeader::V4 { src, dst }))
        }
        L3Meta::Ipv6 {
            src,
            dst,
            payload_len,
            ..
        } => (
            usize::from(payload_len),
            Some(PseudoHeader::V6 { src, dst }),
        ),
        _ => return Ok(None),
    };
    let is_v4 = matches!(pseudo, Some(PseudoHeader::V4 { .. }));
    let (len, protocol, checksum_field, is_udp) = match meta.l4 {
        L4Meta::Udp { len, .. } => (usize::from(len), IpProtocol::Udp, 6, true),
        L4Meta::Tcp { .. } => (ip_payload, IpProtocol::Tcp, 16, false),
        L4Meta::Icmpv4 { .. } if is_v4 => (ip_payload, IpProtocol::Icmp, 2, false),
        L4Meta::Icmpv6 { .. } if !is_v4 => (ip_payload, IpProtocol::Icmpv6, 2, false),
        _ => return Ok(None),
    };
    let end = start.checked_add(len).ok_or(Error)?;
    if end > frame_len || len < checksum_field + 2 || len > ip_payload {
        return Err(Error);
    }
    let pseudo = match (protocol, pseudo) {
        (IpProtocol::Icmp, _) | (_, None) => 0,
        (_, Some(ph)) => ph.sum(protocol, len as u32),
    };
    Ok(Some(L4Span {
        start,
        end,
        checksum_at: start + checksum_field,
        pseudo,
        is_udp,
        zero_is_none: is_udp && is_v4,
    }))
}

/// Recomputes and writes the UDP, TCP, ICMP or ICMPv6 checksum of `frame`
/// from scratch, whatever the checksum field held (a `CHECKSUM_PARTIAL`
/// pseudo-header sum, garbage, or a correct value).
///
/// `meta` must be [`parse_frame`]'s result for `frame`. Returns `Ok(true)`
/// if a checksum was written, `Ok(false)` if the frame has no such L4 header
/// (or is an IPv4 fragment, whose checksum covers the whole datagram), and
/// `Err` if `meta` does not fit `frame`. A UDP checksum computing to zero is
/// written as `0xffff` (RFC 768; RFC 8200 section 8.1).
pub fn fill_l4_checksum(frame: &mut [u8], meta: &FrameMeta) -> Result<bool> {
    let Some(span) = l4_span(frame.len(), meta)? else {
        return Ok(false);
    };
    write_u16(frame, span.checksum_at, 0);
    let mut csum = compute(span.pseudo, &frame[span.start..span.end]);
    if span.is_udp && csum == 0 {
        csum = 0xffff;
    }
    write_u16(frame, span.checksum_at, csum);
    Ok(true)
}

/// Verifies the L4 checksum of `frame`: `Ok(true)` if it verifies or there
/// is nothing to verify (no UDP/TCP/ICMP header, an IPv4 fragment, or UDP
/// over IPv4 with checksum 0 meaning "none"), `Ok(false)` if it does not
/// (UDP over IPv6 with checksum 0 does not), `Err` if `meta` does not fit.
pub fn verify_l4_checksum(frame: &[u8], meta: &FrameMeta) -> Result<bool> {
    let Some(span) = l4_span(frame.len(), meta)? else {
        return Ok(true);
    };
    let field = read_u16(frame, span.checksum_at);
    if field == 0 && span.is_udp {
        return Ok(span.zero_is_none);
    }
    Ok(verify(span.pseudo, &frame[span.start..span.end]))
}

/// What [`complete_partial_l4_checksum`] found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumFix {
    /// No UDP/TCP header, or an IPv4 fragment: nothing to check.
    NotApplicable,
    /// The checksum verifies (or is UDP-over-IPv4 "no checksum").
    Valid,
    /// The field held only the pseudo-header sum (`CHECKSUM_PARTIAL` from a
    /// sender that offloads checksums); the full checksum was written.
    Completed,
    /// The checksum neither verifies nor is a partial one: left untouched.
    Bad,
}

/// Completes the UDP/TCP checksum of a frame sent with checksum offload
/// (`CHECKSUM_PARTIAL`): when the checksum does not verify and the field
/// holds exactly the folded pseudo-header sum, the full checksum is written.
/// A checksum that is simply wrong is left as it is (a corrupt segment must
/// not be made to look good), and reported as [`ChecksumFix::Bad`].
///
/// `meta` must be [`parse_frame`]'s result for `frame`.
pub fn complete_partial_l4_checksum(frame: &mut [u8], meta: &FrameMeta) -> Result<ChecksumFix> {
    if !matches!(meta.l4, L4Meta::Udp { .. } | L4Meta::Tcp { .. }) {
        return Ok(ChecksumFix::NotApplicable);
    }
    let Some(span) = l4_span(frame.len(), meta)? else {
        return Ok(ChecksumFix::NotApplicable);
    };
    let field = read_u16(frame, span.checksum_at);
    if field == 0 && span.is_udp && span.zero_is_none {
        return Ok(ChecksumFix::Valid);
    }
    if verify(span.pseudo, &frame[span.start..span.end]) {
        return Ok(ChecksumFix::Valid);
    }
    // One's complement has two zeros: 0x0000 and 0xffff are the same sum.
    let partial =
        field == span.pseudo || (field ^ span.pseudo == 0xffff && (field == 0 || field == 0xffff));
    if !partial {
        return Ok(ChecksumFix::Bad);
    }
    fill_l4_checksum(frame, meta)?;
    Ok(ChecksumFix::Completed)
}

/// Parses `frame` and rewrites its L4 checksum (see [`fill_l4_checksum`]);
/// returns the frame's metadata.
pub fn complete_checksums(frame: &mut [u8]) -> core::result::Result<FrameMeta, Malformed> {
    let meta = parse_frame(frame)?;
    // `meta` comes from this very frame, so the span always fits.
    let _ = fill_l4_checksum(frame, &meta);
    Ok(meta)
}

/// Writes the IPv4 header checksum of a frame parsed into `meta`;
/// `Ok(false)` if the frame is not IPv4.
pub fn fill_ipv4_checksum(frame: &mut [u8], meta: &FrameMeta) -> Result<bool> {
    let L3Meta::Ipv4 { ihl, .. } = meta.l3 else {
        return Ok(false);
    };
    let start = usize::from(meta.l3_offset);
    let header = frame
        .get_mut(start..start + usize::from(ihl) * 4)
        .ok_or(Error)?;
    fill_ipv4_header(header)?;
    Ok(true)
}

/// True if the frame is not IPv4 or its IPv4 header checksum verifies.
pub fn verify_ipv4_checksum(frame: &[u8], meta: &FrameMeta) -> bool {
    let L3Meta::Ipv4 { ihl, .. } = meta.l3 else {
        return true;
    };
    let start = usize::from(meta.l3_offset);
    frame
        .get(start..start + usize::from(ihl) * 4)
        .is_some_and(verify_ipv4_header)
}

#[cfg(test)]
#[path = "tests/checksum.rs"]
mod test;
