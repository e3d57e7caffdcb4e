//! ICMP for IPv4 (RFC 792) and IPv6 (RFC 4443): one view of the common
//! 8-byte header, enough for echo, "fragmentation needed" (RFC 1191) and
//! "packet too big".
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |     Code      |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  Rest of header (by type):                    |
//! |  echo: Identifier | Sequence number                           |
//! |  v4 frag needed (RFC 1191): unused (16) | Next-hop MTU (16)    |
//! |  v6 packet too big (RFC 4443 3.2): MTU (32)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Data (echo data, or as much of the invoking packet as fits)  |
//! ```
//! The ICMPv4 checksum covers the message only; the ICMPv6 checksum also
//! covers the IPv6 pseudo-header (RFC 4443 section 2.3).

use core::net::Ipv6Addr;

use super::checksum::{self, pseudo_header_v6};
use super::{Error, IpProtocol, Result, read_u16, read_u32, write_u16, write_u32};

enum_with_unknown! {
    /// ICMPv4 message type (RFC 792; IANA "ICMP Type Numbers").
    pub enum Icmpv4Message(u8) {
        /// Echo reply.
        EchoReply = 0,
        /// Destination unreachable (code 4: fragmentation needed).
        DstUnreachable = 3,
        /// Redirect.
        Redirect = 5,
        /// Echo request.
        EchoRequest = 8,
        /// Time exceeded (code 0: TTL exceeded in transit).
        TimeExceeded = 11,
        /// Parameter problem.
        ParamProblem = 12,
    }
}

enum_with_unknown! {
    /// ICMPv6 message type (RFC 4443, RFC 4861).
    pub enum Icmpv6Message(u8) {
        /// Destination unreachable.
        DstUnreachable = 1,
        /// Packet too big.
        PacketTooBig = 2,
        /// Time exceeded (code 0: hop limit exceeded in transit).
        TimeExceeded = 3,
        /// Parameter problem.
        ParamProblem = 4,
        /// Echo request.
        EchoRequest = 128,
        /// Echo reply.
        EchoReply = 129,
        /// Router solicitation (RFC 4861).
        RouterSolicit = 133,
        /// Router advertisement (RFC 4861).
        RouterAdvert = 134,
        /// Neighbor solicitation (RFC 4861).
        NeighborSolicit = 135,
        /// Neighbor advertisement (RFC 4861).
        NeighborAdvert = 136,
        /// Redirect (RFC 4861).
        Redirect = 137,
    }
}

/// ICMPv4 destination unreachable code "fragmentation needed and DF set"
/// (RFC 792, RFC 1191).
pub const CODE_FRAG_NEEDED: u8 = 4;
/// Time exceeded code "TTL / hop limit exceeded in transit" (both versions).
pub const CODE_TTL_EXCEEDED: u8 = 0;

mod field {
    use crate::wire::{Field, Rest};

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    /// Rest of header: echo identifier / v6 MTU high half.
    pub const REST: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQNO: Field = 6..8;
    pub const NEXT_HOP_MTU: Field = 6..8;
    pub const PAYLOAD: Rest = 8..;
}

/// Length of the common header (type, code, checksum, rest of header).
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// A view of an ICMPv4 or ICMPv6 message.
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

    /// Raw message type; see [`Icmpv4Message`] and [`Icmpv6Message`].
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// Message type as ICMPv4.
    #[inline]
    pub fn msg_type_v4(&self) -> Icmpv4Message {
        Icmpv4Message::from_raw(self.msg_type())
    }

    /// Message type as ICMPv6.
    #[inline]
    pub fn msg_type_v6(&self) -> Icmpv6Message {
        Icmpv6Message::from_raw(self.msg_type())
    }

    /// Message code.
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The four "rest of header" bytes as one value.
    #[inline]
    pub fn rest_of_header(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::REST.start)
    }

    /// Echo identifier (echo request/reply).
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// Echo sequence number (echo request/reply).
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQNO.start)
    }

    /// Next-hop MTU of an ICMPv4 "fragmentation needed" (RFC 1191).
    #[inline]
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::NEXT_HOP_MTU.start)
    }

    /// MTU of an ICMPv6 "packet too big" (RFC 4443 section 3.2).
    #[inline]
    pub fn mtu(&self) -> u32 {
        self.rest_of_header()
    }

    /// The data after the 8-byte header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }

    /// True if the ICMPv4 checksum over the whole buffer verifies.
    #[inline]
    pub fn verify_checksum_v4(&self) -> bool {
        checksum::verify(0, self.buffer.as_ref())
    }

    /// True if the ICMPv6 checksum over the pseudo-header and the whole
    /// buffer verifies.
    #[inline]
    pub fn verify_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let data = self.buffer.as_ref();
        let pseudo = pseudo_header_v6(src, dst, IpProtocol::Icmpv6, data.len() as u32);
        checksum::verify(pseudo, data)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    /// Sets the message code.
    #[inline]
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, value);
    }

    /// Sets the four "rest of header" bytes.
    #[inline]
    pub fn set_rest_of_header(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::REST.start, value);
    }

    /// Sets the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT.start, value);
    }

    /// Sets the echo sequence number.
    #[inline]
    pub fn set_echo_seq_no(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQNO.start, value);
    }

    /// Sets the ICMPv4 next-hop MTU (and clears the unused half).
    #[inline]
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        self.set_rest_of_header(u32::from(value));
    }

    /// Sets the ICMPv6 packet-too-big MTU.
    #[inline]
    pub fn set_mtu(&mut self, value: u32) {
        self.set_rest_of_header(value);
    }

    /// Computes and writes the ICMPv4 checksum over the whole buffer.
    pub fn fill_checksum_v4(&mut self) {
        self.set_checksum(0);
        let csum = checksum::compute(0, self.buffer.as_ref());
        self.set_checksum(csum);
    }

    /// Computes and writes the ICMPv6 checksum over the pseudo-header and
    /// the whole buffer.
    pub fn fill_checksum_v6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let pseudo = pseudo_header_v6(src, dst, IpProtocol::Icmpv6, data.len() as u32);
        let csum = checksum::compute(pseudo, data);
        self.set_checksum(csum);
    }

    /// The data after the 8-byte header, mutable.
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

/// The common 8-byte ICMP header as values (either version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Raw message type.
    pub msg_type: u8,
    /// Message code.
    pub code: u8,
    /// The four "rest of header" bytes.
    pub rest_of_header: u32,
}

impl Repr {
    /// An ICMPv4 echo request or reply.
    pub const fn echo_v4(request: bool, ident: u16, seq_no: u16) -> Repr {
        let msg = if request {
            Icmpv4Message::EchoRequest
        } else {
            Icmpv4Message::EchoReply
        };
        Repr {
            msg_type: msg.raw(),
            code: 0,
            rest_of_header: (ident as u32) << 16 | seq_no as u32,
        }
    }

    /// An ICMPv6 echo request or reply.
    pub const fn echo_v6(request: bool, ident: u16, seq_no: u16) -> Repr {
        let msg = if request {
            Icmpv6Message::EchoRequest
        } else {
            Icmpv6Message::EchoReply
        };
        Repr {
            msg_type: msg.raw(),
            code: 0,
            rest_of_header: (ident as u32) << 16 | seq_no as u32,
        }
    }

    /// An ICMPv4 "fragmentation needed and DF set" with the next-hop MTU.
    pub const fn frag_needed(mtu: u16) -> Repr {
        Repr {
            msg_type: Icmpv4Message::DstUnreachable.raw(),
            code: CODE_FRAG_NEEDED,
            rest_of_header: mtu as u32,
        }
    }

    /// An ICMPv6 "packet too big" with the MTU.
    pub const fn packet_too_big(mtu: u32) -> Repr {
        Repr {
            msg_type: Icmpv6Message::PacketTooBig.raw(),
            code: 0,
            rest_of_header: mtu,
        }
    }

    /// Reads the header of a checked message (the checksum is not verified).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            msg_type: packet.msg_type(),
            code: packet.msg_code(),
            rest_of_header: packet.rest_of_header(),
        })
    }

    /// Length of the emitted header.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header with a zero checksum; write the data, then call
    /// [`Packet::fill_checksum_v4`] or [`Packet::fill_checksum_v6`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_msg_type(self.msg_type);
        packet.set_msg_code(self.code);
        packet.set_checksum(0);
        packet.set_rest_of_header(self.rest_of_header);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    // RFC 792 "Echo or Echo Reply Message": type 8, code 0, checksum 0x06fa,
    // identifier 0x1234, sequence 1, data "ping".
    static ECHO_V4_BYTES: [u8; 12] = [
        0x08, 0x00, 0x06, 0xfa, 0x12, 0x34, 0x00, 0x01, 0x70, 0x69, 0x6e, 0x67,
    ];
    // RFC 4443 4.1: echo request, checksum 0x333e over the pseudo-header
    // 2001:db8::1 -> 2001:db8::2.
    static ECHO_V6_BYTES: [u8; 12] = [
        0x80, 0x00, 0x33, 0x3e, 0x12, 0x34, 0x00, 0x01, 0x70, 0x69, 0x6e, 0x67,
    ];
    // RFC 792 / RFC 1191: destination unreachable, code 4, next-hop MTU 1450,
    // checksum 0xea42, then the invoking IPv4 header and its first 8 bytes.
    static FRAG_NEEDED_BYTES: [u8; 36] = [
        0x03, 0x04, 0xea, 0x42, 0x00, 0x00, 0x05, 0xaa, // header
        0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x14, 0x97, // invoking
        0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, // IPv4 header
        0xd4, 0x31, 0x12, 0xb5, 0x00, 0x0c, 0x26, 0x1c, // and 8 bytes
    ];
    // RFC 4443 3.2: packet too big, MTU 1280, checksum 0x2afc over the
    // pseudo-header 2001:db8::fe -> 2001:db8::1, then 8 invoking bytes.
    static PTB_BYTES: [u8; 16] = [
        0x02, 0x00, 0x2a, 0xfc, 0x00, 0x00, 0x05, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x11,
        0x40,
    ];

    const A1: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    const A2: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
    const AFE: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0xfe);

    #[test]
    fn test_deconstruct() {
        let p = Packet::new_checked(&ECHO_V4_BYTES[..]).unwrap();
        assert_eq!(p.msg_type_v4(), Icmpv4Message::EchoRequest);
        assert_eq!((p.msg_code(), p.checksum()), (0, 0x06fa));
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1234, 1));
        assert_eq!(p.payload(), b"ping");
        assert!(p.verify_checksum_v4());

        let p = Packet::new_checked(&ECHO_V6_BYTES[..]).unwrap();
        assert_eq!(p.msg_type_v6(), Icmpv6Message::EchoRequest);
        assert!(p.verify_checksum_v6(&A1, &A2));
        assert!(!p.verify_checksum_v6(&A2, &A2));

        let p = Packet::new_checked(&FRAG_NEEDED_BYTES[..]).unwrap();
        assert_eq!(p.msg_type_v4(), Icmpv4Message::DstUnreachable);
        assert_eq!((p.msg_code(), p.next_hop_mtu()), (CODE_FRAG_NEEDED, 1450));
        assert_eq!(p.payload().len(), 28);
        assert!(p.verify_checksum_v4());

        let p = Packet::new_checked(&PTB_BYTES[..]).unwrap();
        assert_eq!(p.msg_type_v6(), Icmpv6Message::PacketTooBig);
        assert_eq!(p.mtu(), 1280);
        assert!(p.verify_checksum_v6(&AFE, &A1));
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 12];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_msg_type(Icmpv4Message::EchoRequest.raw());
        p.set_msg_code(0);
        p.set_echo_ident(0x1234);
        p.set_echo_seq_no(1);
        p.payload_mut().copy_from_slice(b"ping");
        p.fill_checksum_v4();
        assert_eq!(bytes, ECHO_V4_BYTES);

        let mut bytes = [0xa5u8; 16];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_msg_type(Icmpv6Message::PacketTooBig.raw());
        p.set_msg_code(0);
        p.set_mtu(1280);
        p.payload_mut().copy_from_slice(&PTB_BYTES[8..]);
        p.fill_checksum_v6(&AFE, &A1);
        assert_eq!(bytes, PTB_BYTES);
    }

    #[test]
    fn test_parse() {
        let p = Packet::new_checked(&ECHO_V6_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), Repr::echo_v6(true, 0x1234, 1));
        let p = Packet::new_checked(&FRAG_NEEDED_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap(), Repr::frag_needed(1450));
    }

    #[test]
    fn test_emit() {
        let mut bytes = [0xa5u8; 12];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        Repr::echo_v6(true, 0x1234, 1).emit(&mut p);
        p.payload_mut().copy_from_slice(b"ping");
        p.fill_checksum_v6(&A1, &A2);
        assert_eq!(bytes, ECHO_V6_BYTES);

        let mut bytes = [0xa5u8; 36];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        Repr::frag_needed(1450).emit(&mut p);
        p.payload_mut().copy_from_slice(&FRAG_NEEDED_BYTES[8..]);
        p.fill_checksum_v4();
        assert_eq!(bytes, FRAG_NEEDED_BYTES);

        let mut bytes = [0xa5u8; 16];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        Repr::packet_too_big(1280).emit(&mut p);
        p.payload_mut().copy_from_slice(&PTB_BYTES[8..]);
        p.fill_checksum_v6(&AFE, &A1);
        assert_eq!(bytes, PTB_BYTES);
        assert_eq!(Repr::echo_v4(false, 1, 2).msg_type, 0);
    }

    #[test]
    fn test_truncated() {
        assert_eq!(Packet::new_checked(&ECHO_V4_BYTES[..7]), Err(Error));
    }
}
