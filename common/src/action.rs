//! The action: what happens to a frame once the dataplane knows its bridge
//! domain and destination. It is the contract between the tiers: the
//! userspace pipeline produces one per output of a frame, and for a known
//! unicast destination that action is exactly what the in-kernel tier caches
//! under the key (bridge domain, destination MAC).
//!
//! [`Action`] is the typed form everyone computes with; [`ActionEntry`] is
//! its fixed-layout encoding for BPF maps (plain integers, no padding, no
//! `bool`), with a lossless [`Action::encode`] / [`ActionEntry::decode`]
//! round trip. `decode` refuses any byte pattern that is not an action, so a
//! corrupted map value is a miss, never a wrong forward.

use crate::net::{PortSlot, Tpid, Vid, Vni};

/// Index of a VXLAN peer in one tables generation.
pub type VtepIdx = u16;

/// How a frame is wrapped when it leaves on its egress port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encap {
    /// As it is (to a guest port).
    Plain,
    /// One 802.1Q tag (a VLAN zone's uplink).
    Vlan {
        /// VLAN id.
        vid: Vid,
    },
    /// A service tag, then an 802.1Q customer tag unless `c_vid` is `None`
    /// (a QinQ zone's uplink).
    QinQ {
        /// Service tag protocol.
        s_tpid: Tpid,
        /// Service VLAN id.
        s_vid: Vid,
        /// Customer VLAN id (`None`: the zone's tag-less VNet).
        c_vid: Option<Vid>,
    },
    /// VXLAN outer headers towards a peer (RFC 7348).
    Vxlan {
        /// The peer.
        vtep: VtepIdx,
        /// The VNI to send with.
        vni: Vni,
        /// UDP destination port.
        udp_port: u16,
    },
}

impl Encap {
    /// Bytes of VLAN tags pushed after the MAC addresses (0, 4 or 8).
    #[inline]
    pub const fn tags_len(&self) -> usize {
        match self {
            Encap::Plain | Encap::Vxlan { .. } => 0,
            Encap::Vlan { .. } | Encap::QinQ { c_vid: None, .. } => 4,
            Encap::QinQ { c_vid: Some(_), .. } => 8,
        }
    }
}

/// One output of a frame: the port it leaves on and how it is wrapped. For
/// VXLAN the port is the uplink of the peer's next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Action {
    /// Egress port.
    pub port: PortSlot,
    /// Wrapping on that port.
    pub encap: Encap,
}

/// [`ActionEntry::kind`] values.
pub mod kind {
    /// [`super::Encap::Plain`].
    pub const PLAIN: u8 = 0;
    /// [`super::Encap::Vlan`].
    pub const VLAN: u8 = 1;
    /// [`super::Encap::QinQ`].
    pub const QINQ: u8 = 2;
    /// [`super::Encap::Vxlan`].
    pub const VXLAN: u8 = 3;
}

/// [`ActionEntry::flags`]: a QinQ action carries a customer tag.
pub const ACTION_FLAG_C_TAG: u8 = 1;

/// The map encoding of an [`Action`]. Fields a kind does not use are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ActionEntry {
    /// Egress port slot.
    pub port: u16,
    /// One of [`kind`].
    pub kind: u8,
    /// `ACTION_FLAG_*` bits.
    pub flags: u8,
    /// QinQ: service tag TPID.
    pub tpid: u16,
    /// VLAN: the VLAN id; QinQ: the service VLAN id.
    pub vid: u16,
    /// QinQ with [`ACTION_FLAG_C_TAG`]: the customer VLAN id.
    pub c_vid: u16,
    /// VXLAN: the peer.
    pub vtep: u16,
    /// VXLAN: UDP destination port.
    pub udp_port: u16,
    /// Reserved, zero.
    pub reserved: u16,
    /// VXLAN: the VNI.
    pub vni: u32,
}
const _: () = assert!(core::mem::size_of::<ActionEntry>() == 20);

impl Action {
    /// The map encoding.
    pub const fn encode(&self) -> ActionEntry {
        let mut e = ActionEntry {
            port: self.port.raw(),
            kind: kind::PLAIN,
            flags: 0,
            tpid: 0,
            vid: 0,
            c_vid: 0,
            vtep: 0,
            udp_port: 0,
            reserved: 0,
            vni: 0,
        };
        match self.encap {
            Encap::Plain => {}
            Encap::Vlan { vid } => {
                e.kind = kind::VLAN;
                e.vid = vid.get();
            }
            Encap::QinQ {
                s_tpid,
                s_vid,
                c_vid,
            } => {
                e.kind = kind::QINQ;
                e.tpid = s_tpid.raw();
                e.vid = s_vid.get();
                if let Some(c_vid) = c_vid {
                    e.flags = ACTION_FLAG_C_TAG;
                    e.c_vid = c_vid.get();
                }
            }
            Encap::Vxlan {
                vtep,
                vni,
                udp_port,
            } => {
                e.kind = kind::VXLAN;
                e.vtep = vtep;
                e.vni = vni.get();
                e.udp_port = udp_port;
            }
        }
        e
    }
}

impl ActionEntry {
    /// The action this entry encodes, `None` if it encodes none (unknown
    /// kind, out-of-range tag or VNI, stray flags).
    pub const fn decode(&self) -> Option<Action> {
        let Some(port) = PortSlot::new(self.port as usize) else {
            return None;
        };
        let encap = match self.kind {
            kind::PLAIN if self.flags == 0 => Encap::Plain,
            kind::VLAN if self.flags == 0 => match Vid::new(self.vid) {
                Some(vid) => Encap::Vlan { vid },
                None => return None,
            },
            kind::QINQ => {
                let (Some(s_tpid), Some(s_vid)) = (Tpid::from_raw(self.tpid), Vid::new(self.vid))
                else {
                    return None;
                };
                let c_vid = match self.flags {
                    0 => None,
                    ACTION_FLAG_C_TAG => match Vid::new(self.c_vid) {
                        Some(c_vid) => Some(c_vid),
                        None => return None,
                    },
                    _ => return None,
                };
                Encap::QinQ {
                    s_tpid,
                    s_vid,
                    c_vid,
                }
            }
            kind::VXLAN if self.flags == 0 => match Vni::new(self.vni) {
                Some(vni) => Encap::Vxlan {
                    vtep: self.vtep,
                    vni,
                    udp_port: self.udp_port,
                },
                None => return None,
            },
            _ => return None,
        };
        Some(Action { port, encap })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vid(v: u16) -> Vid {
        Vid::new(v).expect("vid")
    }

    #[test]
    fn every_kind_round_trips() {
        let port = PortSlot::new(7).expect("slot");
        let encaps = [
            Encap::Plain,
            Encap::Vlan { vid: vid(10) },
            Encap::QinQ {
                s_tpid: Tpid::Dot1ad,
                s_vid: vid(20),
                c_vid: Some(vid(100)),
            },
            Encap::QinQ {
                s_tpid: Tpid::Dot1q,
                s_vid: vid(30),
                c_vid: None,
            },
            Encap::Vxlan {
                vtep: 3,
                vni: Vni::new(100_000).expect("vni"),
                udp_port: 4789,
            },
        ];
        for encap in encaps {
            let action = Action { port, encap };
            assert_eq!(action.encode().decode(), Some(action));
        }
    }

    #[test]
    fn garbage_decodes_to_nothing() {
        let good = Action {
            port: PortSlot::new(1).expect("slot"),
            encap: Encap::Vlan { vid: vid(10) },
        }
        .encode();
        for bad in [
            ActionEntry { kind: 9, ..good },
            ActionEntry { vid: 4095, ..good },
            ActionEntry { port: 256, ..good },
            ActionEntry { flags: 2, ..good },
            ActionEntry {
                kind: kind::QINQ,
                tpid: 0x0800,
                ..good
            },
            ActionEntry {
                kind: kind::VXLAN,
                vni: 0,
                ..good
            },
        ] {
            assert_eq!(bad.decode(), None, "{bad:?}");
        }
    }
}

#[cfg(feature = "user")]
mod user {
    // SAFETY: `ActionEntry` is `repr(C)`, `Copy`, made only of integers and
    // has no padding (size asserted above), so any byte pattern is a valid
    // value (`decode` decides whether it is an action).
    #[allow(unsafe_code)]
    unsafe impl aya::Pod for super::ActionEntry {}
}
