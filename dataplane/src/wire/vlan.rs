//! One VLAN tag: IEEE 802.1Q (C-tag, TPID 0x8100) or 802.1ad (S-tag, TPID
//! 0x88a8); a QinQ frame carries two stacked tags, outer (S) first.
//!
//! The view starts *after* the TPID, which is the EtherType field of the
//! header before it (the Ethernet header or the outer tag): the four bytes are
//! the tag control information and the EtherType of what follows
//! (IEEE 802.1Q-2018 clause 9.6, figure 9-1).
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | PCP |D|         VID           |     EtherType (or next TPID)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::{Error, EtherType, Result, read_u16, write_u16};

mod field {
    use crate::wire::{Field, Rest};

    /// Tag control information: PCP (3 bits), DEI (1 bit), VID (12 bits).
    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
    pub const PAYLOAD: Rest = 4..;
}

/// Length of one tag after its TPID.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// Largest VLAN id value (12 bits); 0 means "priority tag, no VLAN" and
/// 4095 is reserved.
pub const VID_MAX: u16 = 0x0fff;

/// A view of one VLAN tag (TCI + inner EtherType).
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

    /// Wraps a received buffer, checking that it holds a whole tag.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds a whole tag.
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

    /// The raw 16-bit tag control information.
    #[inline]
    pub fn tci(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::TCI.start)
    }

    /// Priority code point (0..=7).
    #[inline]
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop eligible indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN identifier (0..=4095).
    #[inline]
    pub fn vid(&self) -> u16 {
        self.tci() & VID_MAX
    }

    /// EtherType of what follows the tag (the TPID of the next tag, if
    /// stacked).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from_raw(read_u16(self.buffer.as_ref(), field::ETHERTYPE.start))
    }

    /// The bytes after the tag.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the raw tag control information.
    #[inline]
    pub fn set_tci(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::TCI.start, value);
    }

    /// Sets the priority code point (the low three bits of `value`).
    #[inline]
    pub fn set_pcp(&mut self, value: u8) {
        let tci = (self.tci() & 0x1fff) | (u16::from(value & 0x07) << 13);
        self.set_tci(tci);
    }

    /// Sets the drop eligible indicator.
    #[inline]
    pub fn set_dei(&mut self, value: bool) {
        let tci = (self.tci() & !0x1000) | if value { 0x1000 } else { 0 };
        self.set_tci(tci);
    }

    /// Sets the VLAN identifier (the low twelve bits of `value`).
    #[inline]
    pub fn set_vid(&mut self, value: u16) {
        let tci = (self.tci() & !VID_MAX) | (value & VID_MAX);
        self.set_tci(tci);
    }

    /// Sets the EtherType of what follows the tag.
    #[inline]
    pub fn set_ethertype(&mut self, value: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE.start, value.raw());
    }

    /// The bytes after the tag, mutable.
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

/// A parsed VLAN tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Priority code point (0..=7).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (0..=4095).
    pub vid: u16,
    /// EtherType of what follows.
    pub ethertype: EtherType,
}

impl Repr {
    /// Reads a checked tag.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            pcp: packet.pcp(),
            dei: packet.dei(),
            vid: packet.vid(),
            ethertype: packet.ethertype(),
        })
    }

    /// Length of the emitted tag.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the tag; out-of-range `pcp`/`vid` are truncated to their field
    /// widths.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let tci = (u16::from(self.pcp & 0x07) << 13)
            | if self.dei { 0x1000 } else { 0 }
            | (self.vid & VID_MAX);
        packet.set_tci(tci);
        packet.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::wire::ethernet;

    // IEEE 802.1Q-2018 9.6: TCI = PCP 5, DEI 0, VID 100 (0xa064), then the
    // inner EtherType (IPv4) and two payload bytes.
    static TAG_BYTES: [u8; 6] = [0xa0, 0x64, 0x08, 0x00, 0x45, 0x00];

    // A QinQ frame (IEEE 802.1ad): Ethernet header with TPID 0x88a8, S-tag
    // VID 200 PCP 0, TPID 0x8100, C-tag VID 4094 PCP 7 DEI 1, EtherType ARP.
    static QINQ_BYTES: [u8; 22] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source
        0x88, 0xa8, // TPID 802.1ad
        0x00, 0xc8, // S-tag TCI: VID 200
        0x81, 0x00, // TPID 802.1Q
        0xff, 0xfe, // C-tag TCI: PCP 7, DEI 1, VID 4094
        0x08, 0x06, // EtherType ARP
    ];

    fn repr() -> Repr {
        Repr {
            pcp: 5,
            dei: false,
            vid: 100,
            ethertype: EtherType::Ipv4,
        }
    }

    #[test]
    fn test_deconstruct() {
        let tag = Packet::new_checked(&TAG_BYTES[..]).unwrap();
        assert_eq!(tag.tci(), 0xa064);
        assert_eq!(tag.pcp(), 5);
        assert!(!tag.dei());
        assert_eq!(tag.vid(), 100);
        assert_eq!(tag.ethertype(), EtherType::Ipv4);
        assert_eq!(tag.payload(), &[0x45, 0x00]);
    }

    #[test]
    fn test_construct() {
        let mut bytes = [0xa5u8; 6];
        let mut tag = Packet::new_unchecked(&mut bytes[..]);
        tag.set_tci(0);
        tag.set_pcp(5);
        tag.set_dei(true);
        tag.set_dei(false);
        tag.set_vid(100);
        tag.set_ethertype(EtherType::Ipv4);
        tag.payload_mut().copy_from_slice(&[0x45, 0x00]);
        assert_eq!(bytes, TAG_BYTES);
    }

    #[test]
    fn test_setters_keep_other_bits() {
        let mut bytes = [0u8; 4];
        let mut tag = Packet::new_unchecked(&mut bytes[..]);
        tag.set_tci(0xffff);
        tag.set_vid(0);
        assert_eq!(tag.tci(), 0xf000);
        tag.set_pcp(0);
        assert_eq!(tag.tci(), 0x1000);
        tag.set_vid(0xffff);
        assert_eq!(tag.tci(), 0x1fff);
        tag.set_dei(false);
        assert_eq!(tag.tci(), 0x0fff);
    }

    #[test]
    fn test_parse() {
        let tag = Packet::new_checked(&TAG_BYTES[..]).unwrap();
        assert_eq!(Repr::parse(&tag).unwrap(), repr());
    }

    #[test]
    fn test_emit() {
        let mut bytes = [0xa5u8; 6];
        let mut tag = Packet::new_unchecked(&mut bytes[..]);
        repr().emit(&mut tag);
        tag.payload_mut().copy_from_slice(&[0x45, 0x00]);
        assert_eq!(bytes, TAG_BYTES);
    }

    #[test]
    fn test_truncated() {
        assert_eq!(Packet::new_checked(&TAG_BYTES[..3]), Err(Error));
    }

    #[test]
    fn test_qinq_stack() {
        let eth = ethernet::Packet::new_checked(&QINQ_BYTES[..]).unwrap();
        assert_eq!(eth.ethertype(), EtherType::QinQ);
        let outer = Packet::new_checked(eth.payload()).unwrap();
        assert_eq!((outer.pcp(), outer.dei(), outer.vid()), (0, false, 200));
        assert_eq!(outer.ethertype(), EtherType::Vlan);
        let inner = Packet::new_checked(outer.payload()).unwrap();
        assert_eq!((inner.pcp(), inner.dei(), inner.vid()), (7, true, 4094));
        assert_eq!(inner.ethertype(), EtherType::Arp);
        assert!(inner.payload().is_empty());
    }

    #[test]
    fn test_emit_qinq_stack() {
        let mut bytes = [0xa5u8; 22];
        let mut eth = ethernet::Packet::new_unchecked(&mut bytes[..]);
        ethernet::Repr {
            dst_addr: ethernet::EthernetAddress::BROADCAST,
            src_addr: ethernet::EthernetAddress([2, 0, 0, 0, 0, 1]),
            ethertype: EtherType::QinQ,
        }
        .emit(&mut eth);
        let mut outer = Packet::new_unchecked(eth.payload_mut());
        Repr {
            pcp: 0,
            dei: false,
            vid: 200,
            ethertype: EtherType::Vlan,
        }
        .emit(&mut outer);
        let mut inner = Packet::new_unchecked(outer.payload_mut());
        Repr {
            pcp: 7,
            dei: true,
            vid: 4094,
            ethertype: EtherType::Arp,
        }
        .emit(&mut inner);
        assert_eq!(bytes, QINQ_BYTES);
    }
}
