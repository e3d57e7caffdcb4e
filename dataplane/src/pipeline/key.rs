//! The cache key of a frame: everything a unicast decision depends on
//! besides the tables generation and the destination's MAC table entry
//! (see the pipeline's module docs for the action and invalidation).
//!
//! A later flow cache (in the XDP program) computes the same key from the
//! same headers: Ethernet, up to two tags, and for VXLAN on an uplink the
//! outer IP addresses, UDP destination port, VNI and inner destination MAC.

use core::net::IpAddr;

use crate::tables::{ForwardingTables, MAX_VXLAN_PORTS, PortRole, PortSlot};
use crate::wire::{EthernetAddress, L3Meta, L4Meta, parse_frame, parse_vxlan};

/// One received VLAN tag, as far as forwarding cares (priority and DEI do
/// not matter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TagKey {
    /// TPID.
    pub tpid: u16,
    /// VLAN id.
    pub vid: u16,
}

/// The VXLAN part of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VxlanKey {
    /// Outer source address (the peer).
    pub peer: IpAddr,
    /// Outer destination address (ours).
    pub local: IpAddr,
    /// UDP destination port.
    pub udp_port: u16,
    /// VNI.
    pub vni: u32,
}

/// The cache key of a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// Ingress port.
    pub ingress: PortSlot,
    /// The received (outer) tags, outermost first.
    pub tags: [Option<TagKey>; 2],
    /// The VXLAN header's context, for VXLAN received on an uplink.
    pub vxlan: Option<VxlanKey>,
    /// Destination MAC of the (inner) frame.
    pub dst: EthernetAddress,
}

/// Computes the key of `frame` received on `ingress`; `None` if the frame
/// (or its VXLAN header) is malformed.
pub(super) fn flow_key(
    tables: &ForwardingTables,
    vxlan_ports: &heapless::Vec<u16, MAX_VXLAN_PORTS>,
    ingress: PortSlot,
    frame: &[u8],
) -> Option<FlowKey> {
    let meta = parse_frame(frame).ok()?;
    let mut tags = [None; 2];
    for (slot, tag) in tags.iter_mut().zip(meta.tags.iter()) {
        *slot = Some(TagKey {
            tpid: tag.tpid.raw(),
            vid: tag.vid,
        });
    }
    let on_uplink = tables
        .port(ingress)
        .is_some_and(|p| p.role == PortRole::Uplink);
    let addresses = match meta.l3 {
        L3Meta::Ipv4 { src, dst, .. } => Some((IpAddr::from(src), IpAddr::from(dst))),
        L3Meta::Ipv6 { src, dst, .. } => Some((IpAddr::from(src), IpAddr::from(dst))),
        _ => None,
    };
    let vxlan_port = match meta.l4 {
        L4Meta::Udp { dst_port, .. } if vxlan_ports.contains(&dst_port) => Some(dst_port),
        _ => None,
    };
    if let (true, true, Some((peer, local)), Some(udp_port)) =
        (on_uplink, meta.tags.is_empty(), addresses, vxlan_port)
    {
        let vx = parse_vxlan(frame, &meta).ok()??;
        let inner = frame.get(vx.inner_range())?;
        return Some(FlowKey {
            ingress,
            tags,
            vxlan: Some(VxlanKey {
                peer,
                local,
                udp_port,
                vni: vx.vni,
            }),
            dst: EthernetAddress::from_slice(inner.get(..6)?)?,
        });
    }
    Some(FlowKey {
        ingress,
        tags,
        vxlan: None,
        dst: meta.dst,
    })
}
