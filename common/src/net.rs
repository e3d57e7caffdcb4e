//! The network's own vocabulary, shared by every layer: EtherTypes, VLAN
//! tag protocols and ids, VXLAN network identifiers and port slots.
//!
//! Ranges are enforced by construction: a [`Vid`] is always `1..=4094` and
//! a [`Vni`] always `1..=16777215`, so configuration checks, the forwarding
//! tables and the eBPF programs cannot disagree on what is valid.

use core::fmt;

/// EtherTypes (IEEE 802 numbers) the dataplane looks at.
pub mod ethertype {
    /// IPv4 (RFC 894).
    pub const IPV4: u16 = 0x0800;
    /// ARP (RFC 826).
    pub const ARP: u16 = 0x0806;
    /// IEEE 802.1Q tag (C-tag), also the customer tag of QinQ.
    pub const VLAN: u16 = 0x8100;
    /// IPv6 (RFC 8200).
    pub const IPV6: u16 = 0x86dd;
    /// IEEE 802.1ad service tag (S-tag).
    pub const QINQ: u16 = 0x88a8;
}

/// The protocol of a VLAN tag (its TPID).
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tpid {
    /// IEEE 802.1Q, TPID 0x8100.
    Dot1q = ethertype::VLAN,
    /// IEEE 802.1ad, TPID 0x88a8.
    Dot1ad = ethertype::QINQ,
}

impl Tpid {
    /// The TPID of a raw EtherType, `None` if it is not a tag.
    #[inline]
    pub const fn from_raw(raw: u16) -> Option<Tpid> {
        match raw {
            ethertype::VLAN => Some(Tpid::Dot1q),
            ethertype::QINQ => Some(Tpid::Dot1ad),
            _ => None,
        }
    }

    /// The TPID on the wire.
    #[inline]
    pub const fn raw(self) -> u16 {
        self as u16
    }

    /// The name Proxmox uses (`vlan-protocol`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Tpid::Dot1q => "802.1q",
            Tpid::Dot1ad => "802.1ad",
        }
    }
}

impl fmt::Display for Tpid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A VLAN id that can be configured: `1..=4094` (0 means "priority tag
/// only" and 4095 is reserved by IEEE 802.1Q; Linux refuses both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(into = "u16", try_from = "u16")
)]
pub struct Vid(u16);

impl Vid {
    /// The smallest VLAN id.
    pub const MIN: u16 = 1;
    /// The largest VLAN id.
    pub const MAX: u16 = 4094;

    /// `vid` if it is in `1..=4094`.
    #[inline]
    pub const fn new(vid: u16) -> Option<Vid> {
        if vid >= Vid::MIN && vid <= Vid::MAX {
            Some(Vid(vid))
        } else {
            None
        }
    }

    /// `vid` if it fits in 16 bits and is in `1..=4094` (configuration
    /// values are parsed wider than a tag).
    #[inline]
    pub const fn from_u64(vid: u64) -> Option<Vid> {
        if vid >= Vid::MIN as u64 && vid <= Vid::MAX as u64 {
            Some(Vid(vid as u16))
        } else {
            None
        }
    }

    /// The VLAN id.
    #[inline]
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Vid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<Vid> for u16 {
    fn from(vid: Vid) -> u16 {
        vid.0
    }
}

impl TryFrom<u16> for Vid {
    type Error = OutOfRange;

    fn try_from(vid: u16) -> Result<Vid, OutOfRange> {
        Vid::new(vid).ok_or(OutOfRange {
            what: "VLAN id",
            min: Vid::MIN as u32,
            max: Vid::MAX as u32,
        })
    }
}

/// A VXLAN network identifier that can be configured: `1..=16777215`
/// (24 bits, RFC 7348 section 5; Proxmox's schema starts at 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(into = "u32", try_from = "u32")
)]
pub struct Vni(u32);

impl Vni {
    /// The smallest VNI.
    pub const MIN: u32 = 1;
    /// The largest VNI (24 bits).
    pub const MAX: u32 = 0x00ff_ffff;

    /// `vni` if it is in `1..=16777215`.
    #[inline]
    pub const fn new(vni: u32) -> Option<Vni> {
        if vni >= Vni::MIN && vni <= Vni::MAX {
            Some(Vni(vni))
        } else {
            None
        }
    }

    /// `vni` if it is in `1..=16777215` (configuration values are parsed
    /// wider than a VNI).
    #[inline]
    pub const fn from_u64(vni: u64) -> Option<Vni> {
        if vni >= Vni::MIN as u64 && vni <= Vni::MAX as u64 {
            Some(Vni(vni as u32))
        } else {
            None
        }
    }

    /// The VNI.
    #[inline]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Vni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<Vni> for u32 {
    fn from(vni: Vni) -> u32 {
        vni.0
    }
}

impl TryFrom<u32> for Vni {
    type Error = OutOfRange;

    fn try_from(vni: u32) -> Result<Vni, OutOfRange> {
        Vni::new(vni).ok_or(OutOfRange {
            what: "VNI",
            min: Vni::MIN,
            max: Vni::MAX,
        })
    }
}

/// A value outside the range of [`Vid`] or [`Vni`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    /// What the value was.
    pub what: &'static str,
    /// The smallest valid value.
    pub min: u32,
    /// The largest valid value.
    pub max: u32,
}

impl fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} out of range {}..{}", self.what, self.min, self.max)
    }
}

/// Most port slots: interfaces the dataplane can own at once.
pub const MAX_PORTS: u32 = 256;

/// A port slot: the dataplane's stable number for an interface it owns,
/// the same in the forwarding tables, the worker, the counters and the
/// eBPF maps. Always below [`MAX_PORTS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(transparent))]
pub struct PortSlot(u16);

impl PortSlot {
    /// Slot `index` if it is below [`MAX_PORTS`].
    #[inline]
    pub const fn new(index: usize) -> Option<PortSlot> {
        if index < MAX_PORTS as usize {
            Some(PortSlot(index as u16))
        } else {
            None
        }
    }

    /// The slot as an index into per-port arrays (always below
    /// [`MAX_PORTS`]).
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The slot as its map encoding.
    #[inline]
    pub const fn raw(self) -> u16 {
        self.0
    }

    /// Every slot, in order.
    pub fn all() -> impl Iterator<Item = PortSlot> {
        (0..MAX_PORTS as u16).map(PortSlot)
    }
}

impl fmt::Display for PortSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_enforced_by_construction() {
        assert_eq!(Vid::new(0), None);
        assert_eq!(Vid::new(1).map(Vid::get), Some(1));
        assert_eq!(Vid::new(4094).map(Vid::get), Some(4094));
        assert_eq!(Vid::new(4095), None);
        assert_eq!(Vid::from_u64(65536 + 10), None);
        assert_eq!(Vni::new(0), None);
        assert_eq!(Vni::new(0x00ff_ffff).map(Vni::get), Some(16_777_215));
        assert_eq!(Vni::new(0x0100_0000), None);
        assert_eq!(Vni::from_u64(u64::from(u32::MAX) + 5), None);
        assert_eq!(PortSlot::new(255).map(PortSlot::index), Some(255));
        assert_eq!(PortSlot::new(256), None);
    }

    #[test]
    fn tpids_round_trip() {
        for tpid in [Tpid::Dot1q, Tpid::Dot1ad] {
            assert_eq!(Tpid::from_raw(tpid.raw()), Some(tpid));
        }
        assert_eq!(Tpid::from_raw(ethertype::IPV4), None);
        assert_eq!(Tpid::Dot1ad.raw(), 0x88a8);
    }
}
