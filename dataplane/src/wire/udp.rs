//! UDP header (RFC 768).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Source Port          |       Destination Port        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            Length             |           Checksum            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! The checksum covers the pseudo-header, header and data; over IPv4 a zero
//! checksum means "none", a computed zero is sent as `0xffff`; over IPv6 the
//! checksum is mandatory (RFC 8200 section 8.1).

use super::checksum::{self, PseudoHeader};
use super::{Error, IpProtocol, Result, read_u16, write_u16};

mod field {
    use crate::wire::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// The IANA-assigned VXLAN port (RFC 7348 section 5).
pub const VXLAN_PORT: u16 = 4789;

/// A view of a UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a received buffer; see [`Packet::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the header and that the length field is
    /// at least 8 and fits the buffer.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(Error);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN || len > buf_len {
            return Err(Error);
        }
        Ok(())
    }

    /// Returns the underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// Length field (header and data).
    #[inline]
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// True if the length field announces no data.
    #[inline]
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The data: from the header to the length field.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// True if the checksum verifies for `ip`; a zero checksum over IPv4
    /// ("none") verifies, over IPv6 it does not.
    pub fn verify_checksum(&self, ip: &PseudoHeader) -> bool {
        let len = self.len();
        if self.checksum() == 0 {
            return matches!(ip, PseudoHeader::V4 { .. });
        }
        let pseudo = ip.sum(IpProtocol::Udp, u32::from(len));
        checksum::verify(pseudo, &self.buffer.as_ref()[..usize::from(len)])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, value);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, value);
    }

    /// Sets the length field.
    #[inline]
    pub fn set_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, value);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Computes and writes the checksum over the pseudo-header of `ip` and
    /// the first `len()` bytes; a computed zero is written as `0xffff`.
    pub fn fill_checksum(&mut self, ip: &PseudoHeader) {
        let len = self.len();
        self.set_checksum(0);
        let pseudo = ip.sum(IpProtocol::Udp, u32::from(len));
        let csum = match checksum::compute(pseudo, &self.buffer.as_ref()[..usize::from(len)]) {
            0 => 0xffff,
            csum => csum,
        };
        self.set_checksum(csum);
    }

    /// The data, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Length of the data after the header.
    pub payload_len: u16,
}

impl Repr {
    /// Reads a checked datagram (the checksum is not verified; see
    /// [`Packet::verify_checksum`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.len() - HEADER_LEN as u16,
        })
    }

    /// Length of the emitted header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header with length `8 + payload_len` (saturating) and a
    /// zero checksum; write the data, then call [`Packet::fill_checksum`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.payload_len.saturating_add(HEADER_LEN as u16));
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod test {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    // RFC 768: 54321 -> 4789, length 12, checksum 0x261c over the IPv4
    // pseudo-header 10.0.0.1 -> 10.0.0.2, data "ping".
    static PACKET_BYTES: [u8; 12] = [
        0xd4, 0x31, 0x12, 0xb5, 0x00, 0x0c, 0x26, 0x1c, 0x70, 0x69, 0x6e, 0x67,
    ];
    // The same datagram over IPv6 2001:db8::1 -> 2001:db8::2: checksum 0xdea9.
    const CHECKSUM_V6: u16 = 0xdea9;

    fn v4() -> PseudoHeader {
        PseudoHeader::V4 {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
        }
    }

    fn v6() -> PseudoHeader {
        PseudoHeader::V6 {
            src: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
            dst: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
        }
    }

    fn repr() -> Repr {
        Repr {
            src_port: 54321,
            dst_port: VXLAN_PORT,
            payload_len: 4,
        }
    }

    #[test]
    fn test_deconstruct() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(packet.src_port(), 54321);
        assert_eq!(packet.dst_port(), 4789);
        assert_eq!(packet.len(), 12);
        assert!(!packet.is_empty());
        assert_eq!(packet.checksum(), 0x261c);
        assert_eq!(packet.payload(), b"ping");
        assert!(packet.verify_checksum(&v4()));
        assert!(!packet.verify_checksum(&v6()));
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 12];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_src_port(54321);
        packet.set_dst_port(4789);
        packet.set_len(12);
        packet.set_checksum(0xffff);
        packet.payload_mut().copy_from_slice(b"ping");
        packet.fill_checksum(&v4());
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn test_parse() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet).unwrap(), repr());
    }

    #[test]
    fn test_emit() {
        let mut bytes = [0xa5u8; 12];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        repr().emit(&mut packet);
        assert_eq!(packet.checksum(), 0);
        packet.payload_mut().copy_from_slice(b"ping");
        packet.fill_checksum(&v4());
        assert_eq!(bytes, PACKET_BYTES);
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.fill_checksum(&v6());
        assert_eq!(packet.checksum(), CHECKSUM_V6);
        assert!(packet.verify_checksum(&v6()));
    }

    #[test]
    fn test_check_len() {
        assert_eq!(Packet::new_checked(&PACKET_BYTES[..7]), Err(Error));
        assert_eq!(Packet::new_checked(&PACKET_BYTES[..11]), Err(Error));
        let mut bytes = PACKET_BYTES;
        bytes[5] = 7;
        assert_eq!(Packet::new_checked(&bytes[..]), Err(Error));
        bytes[5] = 8;
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.is_empty() && packet.payload().is_empty());
    }

    #[test]
    fn test_zero_checksum() {
        let mut bytes = PACKET_BYTES;
        bytes[6..8].fill(0);
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.verify_checksum(&v4()));
        assert!(!packet.verify_checksum(&v6()));
    }

    #[test]
    fn test_computed_zero_is_sent_as_ffff() {
        // Choose the source port so that the sum over everything else is
        // 0xffff: then the complement is 0 and must go out as 0xffff.
        let mut bytes = PACKET_BYTES;
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_src_port(0);
        packet.set_checksum(0);
        let pseudo = v4().sum(IpProtocol::Udp, 12);
        let rest = checksum::add(pseudo, checksum::sum(packet.as_ref()));
        packet.set_src_port(!rest);
        packet.fill_checksum(&v4());
        assert_eq!(packet.checksum(), 0xffff);
        assert!(packet.verify_checksum(&v4()));
    }
}
