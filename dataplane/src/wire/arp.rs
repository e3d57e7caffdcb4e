//! ARP for Ethernet and IPv4 (RFC 826), the only hardware/protocol pair the
//! dataplane handles; the view's offsets assume 6-byte hardware and 4-byte
//! protocol addresses.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Hardware type (HTYPE=1)    |   Protocol type (PTYPE=0x0800)|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  HLEN (=6)    |   PLEN (=4)   |          Operation            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Sender hardware address (6) | Sender protocol addr (4) |
//! |         Target hardware address (6) | Target protocol addr (4) |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use core::net::Ipv4Addr;

use super::{Error, EtherType, EthernetAddress, Result, read_array, read_u16, write_u16};

enum_with_unknown! {
    /// ARP operation code (RFC 826; IANA "ARP operation codes").
    pub enum Operation(u16) {
        /// Request (who has `target_protocol_addr`?).
        Request = 1,
        /// Reply (`sender_protocol_addr` is at `sender_hardware_addr`).
        Reply = 2,
    }
}

enum_with_unknown! {
    /// ARP hardware type (IANA "Hardware Types").
    pub enum Hardware(u16) {
        /// Ethernet (10 Mb and up).
        Ethernet = 1,
    }
}

mod field {
    use crate::wire::Field;

    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;
    pub const SHA: Field = 8..14;
    pub const SPA: Field = 14..18;
    pub const THA: Field = 18..24;
    pub const TPA: Field = 24..28;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const HEADER_LEN: usize = field::TPA.end;

/// A view of an Ethernet/IPv4 ARP packet.
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

    /// Wraps a received buffer, checking that it holds a whole packet.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds [`HEADER_LEN`] bytes (the address
    /// lengths are checked by [`Repr::parse`]).
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

    /// Hardware type (HTYPE).
    #[inline]
    pub fn hardware_type(&self) -> Hardware {
        Hardware::from_raw(read_u16(self.buffer.as_ref(), field::HTYPE.start))
    }

    /// Protocol type (PTYPE), an EtherType.
    #[inline]
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from_raw(read_u16(self.buffer.as_ref(), field::PTYPE.start))
    }

    /// Hardware address length (HLEN).
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length (PLEN).
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// True if the fixed fields say Ethernet/IPv4 (HTYPE 1, PTYPE 0x0800,
    /// HLEN 6, PLEN 4).
    #[inline]
    pub fn is_ethernet_ipv4(&self) -> bool {
        self.hardware_type() == Hardware::Ethernet
            && self.protocol_type() == EtherType::Ipv4
            && self.hardware_len() == 6
            && self.protocol_len() == 4
    }

    /// Operation code.
    #[inline]
    pub fn operation(&self) -> Operation {
        Operation::from_raw(read_u16(self.buffer.as_ref(), field::OPER.start))
    }

    /// Sender hardware address (SHA).
    #[inline]
    pub fn sender_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress(read_array(self.buffer.as_ref(), field::SHA.start))
    }

    /// Sender protocol address (SPA).
    #[inline]
    pub fn sender_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::SPA.start))
    }

    /// Target hardware address (THA).
    #[inline]
    pub fn target_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress(read_array(self.buffer.as_ref(), field::THA.start))
    }

    /// Target protocol address (TPA).
    #[inline]
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::TPA.start))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the hardware type.
    #[inline]
    pub fn set_hardware_type(&mut self, value: Hardware) {
        write_u16(self.buffer.as_mut(), field::HTYPE.start, value.raw());
    }

    /// Sets the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, value: EtherType) {
        write_u16(self.buffer.as_mut(), field::PTYPE.start, value.raw());
    }

    /// Sets the hardware address length.
    #[inline]
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the protocol address length.
    #[inline]
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the operation code.
    #[inline]
    pub fn set_operation(&mut self, value: Operation) {
        write_u16(self.buffer.as_mut(), field::OPER.start, value.raw());
    }

    /// Sets the sender hardware address.
    #[inline]
    pub fn set_sender_hardware_addr(&mut self, value: EthernetAddress) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&value.0);
    }

    /// Sets the sender protocol address.
    #[inline]
    pub fn set_sender_protocol_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&value.octets());
    }

    /// Sets the target hardware address.
    #[inline]
    pub fn set_target_hardware_addr(&mut self, value: EthernetAddress) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&value.0);
    }

    /// Sets the target protocol address.
    #[inline]
    pub fn set_target_protocol_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&value.octets());
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Operation.
    pub operation: Operation,
    /// Sender hardware address.
    pub sender_hardware_addr: EthernetAddress,
    /// Sender protocol address.
    pub sender_protocol_addr: Ipv4Addr,
    /// Target hardware address.
    pub target_hardware_addr: EthernetAddress,
    /// Target protocol address.
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    /// Reads a checked packet; fails unless it is Ethernet/IPv4 ARP.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if !packet.is_ethernet_ipv4() {
            return Err(Error);
        }
        Ok(Repr {
            operation: packet.operation(),
            sender_hardware_addr: packet.sender_hardware_addr(),
            sender_protocol_addr: packet.sender_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    /// The reply a host owning `target_protocol_addr` at `hardware_addr`
    /// sends to this request (RFC 826 "Packet Reception").
    pub fn reply(&self, hardware_addr: EthernetAddress) -> Repr {
        Repr {
            operation: Operation::Reply,
            sender_hardware_addr: hardware_addr,
            sender_protocol_addr: self.target_protocol_addr,
            target_hardware_addr: self.sender_hardware_addr,
            target_protocol_addr: self.sender_protocol_addr,
        }
    }

    /// Length of the emitted packet.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the packet, fixed fields included.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_hardware_type(Hardware::Ethernet);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_sender_hardware_addr(self.sender_hardware_addr);
        packet.set_sender_protocol_addr(self.sender_protocol_addr);
        packet.set_target_hardware_addr(self.target_hardware_addr);
        packet.set_target_protocol_addr(self.target_protocol_addr);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    // RFC 826 "Packet format": who-has 192.168.1.1 tell 192.168.1.10.
    static PACKET_BYTES: [u8; 28] = [
        0x00, 0x01, // HTYPE Ethernet
        0x08, 0x00, // PTYPE IPv4
        0x06, 0x04, // HLEN, PLEN
        0x00, 0x01, // request
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // SHA
        0xc0, 0xa8, 0x01, 0x0a, // SPA 192.168.1.10
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // THA
        0xc0, 0xa8, 0x01, 0x01, // TPA 192.168.1.1
    ];

    const SHA: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

    fn repr() -> Repr {
        Repr {
            operation: Operation::Request,
            sender_hardware_addr: SHA,
            sender_protocol_addr: Ipv4Addr::new(192, 168, 1, 10),
            target_hardware_addr: EthernetAddress::ZERO,
            target_protocol_addr: Ipv4Addr::new(192, 168, 1, 1),
        }
    }

    #[test]
    fn test_deconstruct() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(packet.hardware_type(), Hardware::Ethernet);
        assert_eq!(packet.protocol_type(), EtherType::Ipv4);
        assert_eq!(packet.hardware_len(), 6);
        assert_eq!(packet.protocol_len(), 4);
        assert!(packet.is_ethernet_ipv4());
        assert_eq!(packet.operation(), Operation::Request);
        assert_eq!(packet.sender_hardware_addr(), SHA);
        assert_eq!(
            packet.sender_protocol_addr(),
            Ipv4Addr::new(192, 168, 1, 10)
        );
        assert_eq!(packet.target_hardware_addr(), EthernetAddress::ZERO);
        assert_eq!(packet.target_protocol_addr(), Ipv4Addr::new(192, 168, 1, 1));
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 28];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_hardware_type(Hardware::Ethernet);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(Operation::Request);
        packet.set_sender_hardware_addr(SHA);
        packet.set_sender_protocol_addr(Ipv4Addr::new(192, 168, 1, 10));
        packet.set_target_hardware_addr(EthernetAddress::ZERO);
        packet.set_target_protocol_addr(Ipv4Addr::new(192, 168, 1, 1));
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn test_parse() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&packet).unwrap(), repr());
    }

    #[test]
    fn test_emit() {
        let mut bytes = [0xa5u8; 28];
        repr().emit(&mut Packet::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, PACKET_BYTES);
        assert_eq!(repr().buffer_len(), 28);
    }

    #[test]
    fn test_reply() {
        let mac = EthernetAddress([0x02, 0, 0, 0, 0, 0xfe]);
        let reply = repr().reply(mac);
        assert_eq!(reply.operation, Operation::Reply);
        assert_eq!(reply.sender_hardware_addr, mac);
        assert_eq!(reply.sender_protocol_addr, Ipv4Addr::new(192, 168, 1, 1));
        assert_eq!(reply.target_hardware_addr, SHA);
        assert_eq!(reply.target_protocol_addr, Ipv4Addr::new(192, 168, 1, 10));
    }

    #[test]
    fn test_rejects_other_pairs_and_truncation() {
        assert_eq!(Packet::new_checked(&PACKET_BYTES[..27]), Err(Error));
        for (at, value) in [(1, 6u8), (2, 0x86), (4, 8), (5, 16)] {
            let mut bytes = PACKET_BYTES;
            bytes[at] = value;
            let packet = Packet::new_checked(&bytes[..]).unwrap();
            assert_eq!(Repr::parse(&packet), Err(Error), "byte {at}");
        }
    }
}
