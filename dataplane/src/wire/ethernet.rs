//! Ethernet II header (IEEE 802.3 clause 3.2, RFC 894) and MAC addresses.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Destination address (6 bytes)                |
//! +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//! |                    Source address (6 bytes)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     EtherType (or TPID)       |  Payload ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! The frame check sequence is not part of the buffers the dataplane sees.

use core::fmt;
use core::str::FromStr;

use super::{Error, EtherType, Result, read_array, read_u16, write_u16};

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);
    /// `00:00:00:00:00:00`.
    pub const ZERO: EthernetAddress = EthernetAddress([0; 6]);

    /// Copies an address out of the first six bytes of `data`; `None` if
    /// `data` is shorter than six bytes.
    #[inline]
    pub fn from_slice(data: &[u8]) -> Option<EthernetAddress> {
        data.first_chunk::<6>().map(|b| EthernetAddress(*b))
    }

    /// The six address bytes.
    #[inline]
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// True for `ff:ff:ff:ff:ff:ff`.
    #[inline]
    pub const fn is_broadcast(&self) -> bool {
        let b = self.0;
        b[0] & b[1] & b[2] & b[3] & b[4] & b[5] == 0xff
    }

    /// True if the group bit (I/G, least significant bit of the first byte)
    /// is set; broadcast is a multicast address.
    #[inline]
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// True if the group bit is clear (an individual address).
    #[inline]
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// True if the locally administered bit (U/L) is set.
    #[inline]
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// True for `00:00:00:00:00:00`.
    #[inline]
    pub const fn is_zero(&self) -> bool {
        let b = self.0;
        b[0] | b[1] | b[2] | b[3] | b[4] | b[5] == 0
    }
}

impl From<[u8; 6]> for EthernetAddress {
    #[inline]
    fn from(bytes: [u8; 6]) -> Self {
        EthernetAddress(bytes)
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Error of [`EthernetAddress::from_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseEthernetAddressError;

impl fmt::Display for ParseEthernetAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid MAC address (expected aa:bb:cc:dd:ee:ff)")
    }
}

impl std::error::Error for ParseEthernetAddressError {}

impl FromStr for EthernetAddress {
    type Err = ParseEthernetAddressError;

    /// Parses six groups of two hex digits separated by `:` (or all by `-`),
    /// case-insensitive.
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut parts = s.split(sep);
        for byte in out.iter_mut() {
            let part = parts.next().ok_or(ParseEthernetAddressError)?;
            if part.len() != 2 || !part.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(ParseEthernetAddressError);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| ParseEthernetAddressError)?;
        }
        if parts.next().is_some() {
            return Err(ParseEthernetAddressError);
        }
        Ok(EthernetAddress(out))
    }
}

mod field {
    use crate::wire::{Field, Rest};

    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
}

/// Length of the Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// Minimum frame length without FCS (shorter frames are padded on a real
/// wire; veth and AF_XDP do not pad).
pub const MIN_FRAME_LEN: usize = 60;

/// A view of an Ethernet II frame.
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

    /// Wraps a received buffer, checking that it holds a whole header.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds a whole header.
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

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress(read_array(self.buffer.as_ref(), field::DESTINATION.start))
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress(read_array(self.buffer.as_ref(), field::SOURCE.start))
    }

    /// EtherType, or the TPID of the first VLAN tag of a tagged frame.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from_raw(read_u16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    /// The bytes after the header (tags included, for a tagged frame).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, value: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&value.0);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, value: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&value.0);
    }

    /// Sets the EtherType (or the TPID of the first tag).
    #[inline]
    pub fn set_ethertype(&mut self, value: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE.start, value.raw());
    }

    /// The bytes after the header, mutable.
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

/// A parsed Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: EthernetAddress,
    /// Destination address.
    pub dst_addr: EthernetAddress,
    /// EtherType (the TPID of the first tag, for a tagged frame).
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads the header of a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            ethertype: packet.ethertype(),
        })
    }

    /// Length of the emitted header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header; the buffer must hold at least [`HEADER_LEN`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_dst_addr(self.dst_addr);
        packet.set_src_addr(self.src_addr);
        packet.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    // IEEE 802.3 clause 3.2 / RFC 894: destination, source, EtherType 0x0800,
    // then four payload bytes.
    static FRAME_BYTES: [u8; 18] = [
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // destination
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // source
        0x08, 0x00, // EtherType IPv4
        0xaa, 0x00, 0x00, 0xff, // payload
    ];
    static PAYLOAD_BYTES: [u8; 4] = [0xaa, 0x00, 0x00, 0xff];

    const DST: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
    const SRC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

    #[test]
    fn test_deconstruct() {
        let frame = Packet::new_checked(&FRAME_BYTES[..]).unwrap();
        assert_eq!(frame.dst_addr(), DST);
        assert_eq!(frame.src_addr(), SRC);
        assert_eq!(frame.ethertype(), EtherType::Ipv4);
        assert_eq!(frame.payload(), &PAYLOAD_BYTES[..]);
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 18];
        let mut frame = Packet::new_unchecked(&mut bytes[..]);
        frame.set_dst_addr(DST);
        frame.set_src_addr(SRC);
        frame.set_ethertype(EtherType::Ipv4);
        frame.payload_mut().copy_from_slice(&PAYLOAD_BYTES);
        assert_eq!(bytes, FRAME_BYTES);
    }

    fn repr() -> Repr {
        Repr {
            src_addr: SRC,
            dst_addr: DST,
            ethertype: EtherType::Ipv4,
        }
    }

    #[test]
    fn test_parse() {
        let frame = Packet::new_checked(&FRAME_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&frame).unwrap(), repr());
    }

    #[test]
    fn test_emit() {
        let mut bytes = [0xa5u8; 18];
        let mut frame = Packet::new_unchecked(&mut bytes[..]);
        repr().emit(&mut frame);
        frame.payload_mut().copy_from_slice(&PAYLOAD_BYTES);
        assert_eq!(bytes, FRAME_BYTES);
        assert_eq!(repr().buffer_len(), HEADER_LEN);
    }

    #[test]
    fn test_truncated() {
        assert_eq!(Packet::new_checked(&FRAME_BYTES[..13]), Err(Error));
        assert!(Packet::new_checked(&FRAME_BYTES[..14]).is_ok());
    }

    #[test]
    fn test_unknown_ethertype() {
        let mut bytes = FRAME_BYTES;
        bytes[12..14].copy_from_slice(&[0x88, 0xcc]);
        let frame = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(frame.ethertype(), EtherType::Unknown(0x88cc));
        assert_eq!(u16::from(frame.ethertype()), 0x88cc);
        assert_eq!(EtherType::from(0x8100), EtherType::Vlan);
        assert_eq!(EtherType::from(0x88a8), EtherType::QinQ);
        assert_eq!(EtherType::from(0x86dd), EtherType::Ipv6);
        assert_eq!(EtherType::from(0x0806), EtherType::Arp);
    }

    #[test]
    fn test_address_classes() {
        assert!(EthernetAddress::BROADCAST.is_broadcast());
        assert!(EthernetAddress::BROADCAST.is_multicast());
        assert!(!EthernetAddress::BROADCAST.is_unicast());
        let mcast = EthernetAddress([0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]);
        assert!(mcast.is_multicast() && !mcast.is_broadcast());
        // 52:54:00 (QEMU) and 02:... are locally administered.
        assert!(SRC.is_unicast() && SRC.is_local());
        assert!(DST.is_unicast() && DST.is_local());
        let global = EthernetAddress([0x00, 0x1b, 0x21, 0x01, 0x02, 0x03]);
        assert!(global.is_unicast() && !global.is_local() && !global.is_zero());
        assert!(EthernetAddress::ZERO.is_zero() && EthernetAddress::ZERO.is_unicast());
    }

    #[test]
    fn test_display_from_str() {
        assert_eq!(SRC.to_string(), "52:54:00:12:34:56");
        assert_eq!(format!("{:?}", DST), "02:00:00:00:00:02");
        assert_eq!("52:54:00:12:34:56".parse::<EthernetAddress>(), Ok(SRC));
        assert_eq!("52-54-00-12-34-56".parse::<EthernetAddress>(), Ok(SRC));
        assert_eq!("FF:ff:FF:ff:FF:ff".parse(), Ok(EthernetAddress::BROADCAST));
        for bad in [
            "",
            "52:54:00:12:34",
            "52:54:00:12:34:56:78",
            "52:54:00:12:34:5",
            "52:54:00:12:34:567",
            "52:54:00:12:34:5g",
            "52:54-00:12:34:56",
            "+2:54:00:12:34:56",
        ] {
            assert_eq!(
                bad.parse::<EthernetAddress>(),
                Err(ParseEthernetAddressError),
                "{bad}"
            );
        }
    }

    #[test]
    fn test_from_slice() {
        assert_eq!(EthernetAddress::from_slice(&FRAME_BYTES), Some(DST));
        assert_eq!(EthernetAddress::from_slice(&FRAME_BYTES[..5]), None);
    }
}
