//! Classification: which bridge domain a received frame belongs to, where
//! it came from, and where its inner frame is.
//!
//! - **Guest port**: the port's bridge domain. The frame is the inner frame.
//!   Tags the guest put on it stay part of the body, within what the zone
//!   can carry: none in a QinQ zone (a guest's 802.1Q tag would be read as
//!   a customer tag, i.e. another VNet, at the far end), at most one in a
//!   VLAN zone (the wire then carries two), and at most the parser's two
//!   elsewhere; more is `tagged_from_guest`.
//! - **Uplink, tagged**: `(uplink, outer TPID, outer VID)` in
//!   [`ForwardingTables::vlan_bindings`]. A VLAN binding pops one tag
//!   (a second tag stays in the body); a QinQ binding pops the service tag
//!   and an 802.1Q customer tag that names a VNet of the zone, or only the
//!   service tag for the zone's tag-less VNet; anything else is
//!   `no_bridge_domain`.
//! - **Uplink, untagged UDP to a VXLAN port**: to one of our VTEP addresses
//!   (`vxlan_not_local`), a valid VXLAN header (`malformed`), a configured
//!   `(port, VNI)` (`no_bridge_domain`), from a configured peer *of that
//!   VNet* (`vxlan_unknown_peer`), and an inner frame that parses
//!   (`malformed`). VXLAN on a tagged underlay is not supported.
//! - Anything else on an uplink is `no_bridge_domain`; on a slot without a
//!   role, `unknown_port`.

use core::net::IpAddr;

use crate::counters::DropReason;
use crate::tables::{
    BdEncap, BdId, ForwardingTables, MAX_VXLAN_PORTS, PortRole, PortSlot, Tpid, Vid, VlanBinding,
    VlanKey, Vni, VniKey,
};
use crate::wire::{EtherType, FrameMeta, L3Meta, L4Meta, Malformed, parse_frame, parse_vxlan};

use super::{InnerFrame, Source, Strip};

/// Bytes of the destination and source MAC addresses.
pub(super) const MACS_LEN: usize = 12;
/// Bytes of one VLAN tag.
const TAG_LEN: usize = 4;

/// A frame that found its bridge domain.
#[derive(Debug)]
pub(super) struct Classified {
    pub bd: BdId,
    pub source: Source,
    pub inner: InnerFrame,
}

/// A frame that did not.
#[derive(Debug)]
pub(super) struct Rejected {
    pub reason: DropReason,
    /// The bridge domain, if it was known before the frame was rejected.
    pub bd: Option<BdId>,
    /// The detail of a `malformed` inner frame or VXLAN header.
    pub malformed: Option<Malformed>,
}

fn reject(reason: DropReason) -> Rejected {
    Rejected {
        reason,
        bd: None,
        malformed: None,
    }
}

fn reject_in(bd: BdId, reason: DropReason) -> Rejected {
    Rejected {
        reason,
        bd: Some(bd),
        malformed: None,
    }
}

/// Classifies `frame` (parsed into `meta`) received on `ingress`. The
/// inner frame's metadata is `meta` itself, except after a VXLAN
/// decapsulation, which parses the inner frame into `vxlan_inner` (kept
/// out of the result so that the common case copies no metadata).
#[inline(always)]
pub(super) fn classify(
    tables: &ForwardingTables,
    vxlan_ports: &heapless::Vec<u16, MAX_VXLAN_PORTS>,
    ingress: PortSlot,
    frame: &[u8],
    meta: &FrameMeta,
    vxlan_inner: &mut Option<FrameMeta>,
) -> Result<Classified, Rejected> {
    let role = tables.port(ingress).map(|p| p.role);
    match role {
        Some(PortRole::Guest { bd }) => from_guest(tables, ingress, bd, frame, meta),
        Some(PortRole::Uplink) => match meta.tags.outer() {
            Some(_) => from_tagged_uplink(tables, ingress, frame, meta),
            None => from_untagged_uplink(tables, vxlan_ports, frame, meta, vxlan_inner),
        },
        Some(PortRole::Unused) | None => Err(reject(DropReason::UnknownPort)),
    }
}

fn from_guest(
    tables: &ForwardingTables,
    ingress: PortSlot,
    bd: BdId,
    frame: &[u8],
    meta: &FrameMeta,
) -> Result<Classified, Rejected> {
    let Some(domain) = tables.bd(bd) else {
        return Err(reject(DropReason::NoBridgeDomain));
    };
    let tags_allowed = match domain.encap {
        BdEncap::QinQ { .. } => 0,
        BdEncap::Vlan { .. } => 1,
        BdEncap::Local | BdEncap::Vxlan { .. } => 2,
    };
    if meta.tags.len() > tags_allowed {
        return Err(reject_in(bd, DropReason::TaggedFromGuest));
    }
    Ok(Classified {
        bd,
        source: Source::Guest(ingress),
        inner: InnerFrame {
            mac_offset: 0,
            body_offset: MACS_LEN,
            end: frame.len(),
            strip: Strip::Nothing,
            flow_hash: 0,
        },
    })
}

// Inlined like every step of `classify`: out of line, its result would go
// through a return slot that the walk reads back with wider loads than the
// callee's stores, a store-forwarding stall per frame (a codegen workaround,
// see the walk's module docs).
#[inline(always)]
fn from_tagged_uplink(
    tables: &ForwardingTables,
    ingress: PortSlot,
    frame: &[u8],
    meta: &FrameMeta,
) -> Result<Classified, Rejected> {
    let tags = meta.tags.as_slice();
    let Some(outer) = tags.first() else {
        return Err(reject(DropReason::NoBridgeDomain));
    };
    // A tag no VNet can have (priority-only VID 0, reserved 4095, an
    // unknown TPID) classifies nowhere.
    let (Some(tpid), Some(vid)) = (Tpid::from_raw(outer.tpid.raw()), Vid::new(outer.vid)) else {
        return Err(reject(DropReason::NoBridgeDomain));
    };
    let key = VlanKey {
        port: ingress,
        tpid,
        vid,
    };
    let (bd, popped) = match tables.vlan_bindings.get(&key) {
        Some(VlanBinding::Bd(bd)) => (*bd, 1),
        Some(VlanBinding::QinQ { untagged, by_cvid }) => match tags.get(1) {
            None => (
                untagged.ok_or_else(|| reject(DropReason::NoBridgeDomain))?,
                1,
            ),
            Some(c_tag) if Tpid::from_raw(c_tag.tpid.raw()) == Some(Tpid::Dot1q) => {
                let bd = Vid::new(c_tag.vid).and_then(|c_vid| by_cvid.get(&c_vid).copied());
                (bd.ok_or_else(|| reject(DropReason::NoBridgeDomain))?, 2)
            }
            Some(_) => return Err(reject(DropReason::NoBridgeDomain)),
        },
        None => return Err(reject(DropReason::NoBridgeDomain)),
    };
    // The binding must belong to a domain on this very uplink.
    let on_this_uplink = tables.bd(bd).is_some_and(|b| b.uplink == Some(ingress));
    if !on_this_uplink {
        return Err(reject(DropReason::NoBridgeDomain));
    }
    Ok(Classified {
        bd,
        source: Source::Uplink(ingress),
        inner: InnerFrame {
            mac_offset: 0,
            body_offset: MACS_LEN + popped * TAG_LEN,
            end: frame.len(),
            strip: Strip::Tags(popped as u8),
            flow_hash: 0,
        },
    })
}

// Inlined: see `from_tagged_uplink`.
#[inline(always)]
fn from_untagged_uplink(
    tables: &ForwardingTables,
    vxlan_ports: &heapless::Vec<u16, MAX_VXLAN_PORTS>,
    frame: &[u8],
    meta: &FrameMeta,
    vxlan_inner: &mut Option<FrameMeta>,
) -> Result<Classified, Rejected> {
    let L4Meta::Udp { dst_port, .. } = meta.l4 else {
        return Err(reject(DropReason::NoBridgeDomain));
    };
    if !vxlan_ports.contains(&dst_port) {
        return Err(reject(DropReason::NoBridgeDomain));
    }
    let (peer, local): (IpAddr, IpAddr) = match meta.l3 {
        L3Meta::Ipv4 { src, dst, .. } => (src.into(), dst.into()),
        L3Meta::Ipv6 { src, dst, .. } => (src.into(), dst.into()),
        _ => return Err(reject(DropReason::NoBridgeDomain)),
    };
    if !tables.local_vtep_ips.contains(&local) {
        return Err(reject(DropReason::VxlanNotLocal));
    }
    let vxlan = match parse_vxlan(frame, meta) {
        Ok(Some(vxlan)) => vxlan,
        Ok(None) => return Err(reject(DropReason::VxlanFragment)),
        Err(why) => {
            return Err(Rejected {
                reason: DropReason::Malformed,
                bd: None,
                malformed: Some(why),
            });
        }
    };
    let Some(vni) = Vni::new(vxlan.vni) else {
        return Err(reject(DropReason::NoBridgeDomain));
    };
    let key = VniKey {
        udp_port: dst_port,
        vni,
    };
    let Some(&bd) = tables.vni_bindings.get(&key) else {
        return Err(reject(DropReason::NoBridgeDomain));
    };
    let Some(domain) = tables.bd(bd) else {
        return Err(reject(DropReason::NoBridgeDomain));
    };
    let vtep = tables
        .vtep_by_ip
        .get(&peer)
        .copied()
        .filter(|v| domain.vteps.contains(v));
    let Some(vtep) = vtep else {
        return Err(reject_in(bd, DropReason::VxlanUnknownPeer));
    };
    let range = vxlan.inner_range();
    let inner_bytes = frame.get(range.clone()).unwrap_or_default();
    *vxlan_inner = Some(parse_frame(inner_bytes).map_err(|why| Rejected {
        reason: DropReason::Malformed,
        bd: Some(bd),
        malformed: Some(why),
    })?);
    Ok(Classified {
        bd,
        source: Source::Vtep(vtep),
        inner: InnerFrame {
            mac_offset: range.start,
            body_offset: range.start + MACS_LEN,
            end: range.end,
            strip: Strip::Vxlan,
            flow_hash: 0,
        },
    })
}

/// True if the two bytes at `at` are a VLAN TPID (the body keeps a tag).
#[inline]
pub(super) fn starts_with_tag(bytes: &[u8], at: usize) -> bool {
    match bytes.get(at..at + 2) {
        Some(&[a, b]) => EtherType::from_raw(u16::from_be_bytes([a, b])).is_vlan_tpid(),
        _ => false,
    }
}
