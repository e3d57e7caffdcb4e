//! Learning locations, destination lookup and flood expansion, all inside
//! one bridge domain.
//!
//! Rules:
//! - group destinations (broadcast, multicast) and unknown unicast are
//!   flooded; a MAC table entry whose location is no longer a member of the
//!   bridge domain (a reload moved the port) is treated as unknown;
//! - known unicast back to where the frame came from is `same_port`
//!   (from a VTEP to a MAC behind a VTEP too: split horizon, as a Linux
//!   bridge never forwards from its vxlan port to itself);
//! - guest to guest in a domain with `isolate_ports` is `port_isolated`
//!   (Proxmox's `isolate-ports` isolates guest ports, not the uplink);
//! - floods go to the domain's guest ports but the source (none at all
//!   from an isolated guest), its uplink unless the frame came from it,
//!   and every VTEP unless it came from one (head-end replication with
//!   split horizon).

use crate::counters::DropReason;
use crate::fdb::{Fdb, Location};
use crate::tables::{BdEncap, BdId, BridgeDomain, ForwardingTables, PortIdx, PortRole, VtepIdx};
use crate::wire::EthernetAddress;

use super::{Egress, FloodList, PipelineCounters, Source, TagPush, VxlanEncap};

/// Where a frame from `source` is learnt.
#[inline]
pub(super) fn location_of(source: Source) -> Location {
    match source {
        Source::Guest(port) | Source::Uplink(port) => Location::Port(port),
        Source::Vtep(vtep) => Location::Vtep(vtep),
    }
}

/// True if `port` is a guest port of `bd`.
#[inline]
fn is_guest_of(tables: &ForwardingTables, port: PortIdx, bd: BdId) -> bool {
    tables
        .ports
        .get(port)
        .is_some_and(|p| p.role == PortRole::Guest { bd })
}

/// True if `port` is the uplink of `domain`.
#[inline]
fn is_uplink_of(tables: &ForwardingTables, port: PortIdx, domain: &BridgeDomain) -> bool {
    domain.uplink == Some(port)
        && tables
            .ports
            .get(port)
            .is_some_and(|p| p.role == PortRole::Uplink)
}

/// The tags a domain's frames carry on its uplink.
#[inline]
fn uplink_push(encap: &BdEncap) -> TagPush {
    match *encap {
        BdEncap::Vlan { vid } => TagPush::Vlan { vid },
        BdEncap::QinQ {
            s_tpid,
            s_vid,
            c_vid,
        } => TagPush::QinQ {
            s_tpid,
            s_vid,
            c_vid,
        },
        BdEncap::Local | BdEncap::Vxlan { .. } => TagPush::None,
    }
}

/// The output towards VTEP `vtep` of a VXLAN domain, `None` if the domain
/// is not VXLAN, `Err` if the next hop is unresolved.
#[inline]
fn vtep_egress(
    tables: &ForwardingTables,
    bd: BdId,
    domain: &BridgeDomain,
    vtep: VtepIdx,
) -> Option<Result<Egress, DropReason>> {
    let BdEncap::Vxlan { vni, udp_port } = domain.encap else {
        return None;
    };
    let next_hop = tables.vteps.get(usize::from(vtep))?.next_hop;
    Some(match next_hop {
        Some(nh) => Ok(Egress {
            bd,
            port: nh.port,
            push: TagPush::None,
            vxlan: Some(VxlanEncap {
                vtep,
                vni,
                udp_port,
            }),
        }),
        None => Err(DropReason::NextHopUnresolved),
    })
}

/// The unicast output for `dst`: `Ok(None)` to flood, `Err` to drop.
#[inline]
pub(super) fn lookup(
    tables: &ForwardingTables,
    fdb: &Fdb,
    bd: BdId,
    domain: &BridgeDomain,
    source: Source,
    dst: &EthernetAddress,
) -> Result<Option<Egress>, DropReason> {
    if dst.is_multicast() {
        return Ok(None);
    }
    let Some(location) = fdb.lookup(bd, dst) else {
        return Ok(None);
    };
    match location {
        Location::Port(port) if is_guest_of(tables, port, bd) => {
            match source {
                Source::Guest(from) if from == port => return Err(DropReason::SamePort),
                Source::Guest(_) if domain.isolate_ports => return Err(DropReason::PortIsolated),
                _ => {}
            }
            Ok(Some(Egress {
                bd,
                port,
                push: TagPush::None,
                vxlan: None,
            }))
        }
        Location::Port(port) if is_uplink_of(tables, port, domain) => {
            if source == Source::Uplink(port) {
                return Err(DropReason::SamePort);
            }
            Ok(Some(Egress {
                bd,
                port,
                push: uplink_push(&domain.encap),
                vxlan: None,
            }))
        }
        Location::Vtep(vtep) if domain.vteps.contains(&vtep) => {
            if let Source::Vtep(_) = source {
                return Err(DropReason::SamePort);
            }
            vtep_egress(tables, bd, domain, vtep).transpose()
        }
        // Stale: no longer a member of the domain.
        Location::Port(_) | Location::Vtep(_) => Ok(None),
    }
}

/// Fills `out` with the outputs of a flooded frame (see the module docs).
pub(super) fn flood(
    tables: &ForwardingTables,
    counters: Option<&PipelineCounters>,
    bd: BdId,
    from: Source,
    out: &mut FloodList,
) {
    out.clear();
    let Some(domain) = tables.bds.get(usize::from(bd)) else {
        return;
    };
    let isolated = domain.isolate_ports && matches!(from, Source::Guest(_));
    if !isolated {
        for &port in &domain.guest_ports {
            if from != Source::Guest(port) && is_guest_of(tables, port, bd) {
                let egress = Egress {
                    bd,
                    port,
                    push: TagPush::None,
                    vxlan: None,
                };
                if out.push(egress).is_err() {
                    return;
                }
            }
        }
    }
    if let Some(uplink) = domain.uplink
        && from != Source::Uplink(uplink)
        && is_uplink_of(tables, uplink, domain)
    {
        let egress = Egress {
            bd,
            port: uplink,
            push: uplink_push(&domain.encap),
            vxlan: None,
        };
        if out.push(egress).is_err() {
            return;
        }
    }
    if let Source::Vtep(_) = from {
        return;
    }
    for &vtep in &domain.vteps {
        match vtep_egress(tables, bd, domain, vtep) {
            Some(Ok(egress)) if out.push(egress).is_err() => return,
            Some(Err(reason)) => {
                if let Some(counters) = counters {
                    counters.count_bd_drop(tables, bd, reason);
                }
            }
            Some(Ok(_)) | None => {}
        }
    }
}

/// Where an entry learnt under `old` lives under `new` (in bridge domain
/// `new_bd`): the same port slot if it still has the same name and is a
/// member of the domain, the VTEP with the same address if it is one of
/// the domain's peers; else `None` (the entry is flushed).
pub(super) fn carry_location(
    old: &ForwardingTables,
    new: &ForwardingTables,
    new_bd: BdId,
    location: Location,
) -> Option<Location> {
    let domain = new.bds.get(usize::from(new_bd))?;
    match location {
        Location::Port(port) => {
            let same_name = old.ports.get(port)?.name == new.ports.get(port)?.name;
            let member = is_guest_of(new, port, new_bd) || is_uplink_of(new, port, domain);
            (same_name && member).then_some(location)
        }
        Location::Vtep(vtep) => {
            let ip = old.vteps.get(usize::from(vtep))?.ip;
            let idx = *new.vtep_by_ip.get(&ip)?;
            domain.vteps.contains(&idx).then_some(Location::Vtep(idx))
        }
    }
}
