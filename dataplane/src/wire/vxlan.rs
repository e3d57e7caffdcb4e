//! VXLAN header (RFC 7348 section 5): 8 bytes in a UDP datagram (IANA port
//! 4789), followed by the inner Ethernet frame.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |R|R|R|R|I|R|R|R|            Reserved                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                VXLAN Network Identifier (VNI) |   Reserved    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! The I flag must be 1 for a valid VNI; the R bits are sent as zero and
//! ignored on receipt.

use super::{Error, Result};

mod field {
    use crate::wire::{Field, Rest};

    pub const FLAGS: usize = 0;
    pub const RESERVED0: Field = 1..4;
    pub const VNI: Field = 4..7;
    pub const RESERVED1: usize = 7;
    pub const PAYLOAD: Rest = 8..;
}

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// The I flag: the VNI is valid.
pub const FLAG_I: u8 = 0x08;

/// Largest VNI (24 bits).
pub const VNI_MAX: u32 = 0x00ff_ffff;

/// A view of a VXLAN header and the inner frame after it.
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

    /// Wraps a received buffer, checking that it holds the 8-byte header.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the 8-byte header.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error)
        } else {
            Ok(())
        }
    }

    /// Returns the underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The flags byte.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// True if the I flag (valid VNI) is set.
    #[inline]
    pub fn has_vni(&self) -> bool {
        self.flags() & FLAG_I != 0
    }

    /// The 24-bit VXLAN network identifier.
    #[inline]
    pub fn vni(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VNI];
        u32::from_be_bytes([0, b[0], b[1], b[2]])
    }

    /// The inner Ethernet frame.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the flags byte.
    #[inline]
    pub fn set_flags(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLAGS] = value;
    }

    /// Sets the VNI (the low 24 bits of `value`).
    #[inline]
    pub fn set_vni(&mut self, value: u32) {
        let b = value.to_be_bytes();
        self.buffer.as_mut()[field::VNI].copy_from_slice(&b[1..4]);
    }

    /// Zeroes both reserved fields.
    #[inline]
    pub fn clear_reserved(&mut self) {
        let data = self.buffer.as_mut();
        data[field::RESERVED0].fill(0);
        data[field::RESERVED1] = 0;
    }

    /// The inner Ethernet frame, mutable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed VXLAN header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// VXLAN network identifier (24 bits).
    pub vni: u32,
}

impl Repr {
    /// Reads a checked header; fails if the I flag is clear.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if !packet.has_vni() {
            return Err(Error);
        }
        Ok(Repr { vni: packet.vni() })
    }

    /// Length of the emitted header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header: I flag, zero reserved fields, the VNI truncated
    /// to 24 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_flags(FLAG_I);
        packet.clear_reserved();
        packet.set_vni(self.vni);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    // RFC 7348 section 5: flags 0x08 (I), reserved, VNI 0x0a0b0c (658188),
    // reserved; then the first two bytes of the inner frame.
    static PACKET_BYTES: [u8; 10] = [0x08, 0x00, 0x00, 0x00, 0x0a, 0x0b, 0x0c, 0x00, 0xff, 0xff];

    #[test]
    fn test_deconstruct() {
        let p = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.flags(), FLAG_I);
        assert!(p.has_vni());
        assert_eq!(p.vni(), 0x0a0b0c);
        assert_eq!(p.payload(), &[0xff, 0xff]);
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 10];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_flags(FLAG_I);
        p.clear_reserved();
        p.set_vni(0xff0a_0b0c);
        p.payload_mut().fill(0xff);
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn test_parse() {
        let p = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), Repr { vni: 0x0a0b0c });
    }

    #[test]
    fn test_emit() {
        let mut bytes = [0xa5u8; 10];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        let repr = Repr { vni: 0x0a0b0c };
        repr.emit(&mut p);
        p.payload_mut().fill(0xff);
        assert_eq!(bytes, PACKET_BYTES);
        assert_eq!(repr.buffer_len(), 8);
    }

    #[test]
    fn test_flags_and_length() {
        assert_eq!(Packet::new_checked(&PACKET_BYTES[..7]), Err(Error));
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0xf7; // every R bit set, I clear
        assert_eq!(Repr::parse(&Packet::new_unchecked(&bytes[..])), Err(Error));
        bytes[0] = 0xff; // R bits are ignored on receipt
        bytes[1..4].fill(0xff);
        bytes[7] = 0xff;
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), Repr { vni: 0x0a0b0c });
    }
}
