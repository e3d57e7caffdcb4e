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
//!   split horizon). [`Flood`] yields them one by one: no list is built.

use crate::counters::DropReason;
use crate::tables::{
    BdEncap, BdId, BridgeDomain, Encap, ForwardingTables, PortRole, PortSlot, VtepIdx,
};
use crate::wire::EthernetAddress;

use super::fdb::{Fdb, Location};
use super::{Action, Source};

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
fn is_guest_of(tables: &ForwardingTables, port: PortSlot, bd: BdId) -> bool {
    tables
        .port(port)
        .is_some_and(|p| p.role == PortRole::Guest { bd })
}

/// True if `port` is the uplink of `domain`.
#[inline]
fn is_uplink_of(tables: &ForwardingTables, port: PortSlot, domain: &BridgeDomain) -> bool {
    domain.uplink == Some(port)
        && tables
            .port(port)
            .is_some_and(|p| p.role == PortRole::Uplink)
}

/// The output towards VTEP `vtep` of a VXLAN domain, `None` if the domain
/// is not VXLAN or the VTEP does not exist, `Err` if its next hop is
/// unresolved.
#[inline]
fn vtep_action(
    tables: &ForwardingTables,
    domain: &BridgeDomain,
    vtep: VtepIdx,
) -> Option<Result<Action, DropReason>> {
    let BdEncap::Vxlan { vni, udp_port } = domain.encap else {
        return None;
    };
    let next_hop = tables.vtep(vtep)?.next_hop;
    Some(match next_hop {
        Some(nh) => Ok(Action {
            port: nh.port,
            encap: Encap::Vxlan {
                vtep,
                vni,
                udp_port,
            },
        }),
        None => Err(DropReason::NextHopUnresolved),
    })
}

/// The action that reaches a MAC living at `location` in bridge domain
/// `bd`, whoever sends to it: `None` when the location is not (or no
/// longer) a member of the domain or is a peer without a resolved next
/// hop. (The source rules, `same_port`, `port_isolated` and split horizon,
/// are [`lookup`]'s.)
pub fn action_to(
    tables: &ForwardingTables,
    bd: BdId,
    domain: &BridgeDomain,
    location: Location,
) -> Option<Action> {
    match location {
        Location::Port(port) if is_guest_of(tables, port, bd) => Some(Action {
            port,
            encap: Encap::Plain,
        }),
        Location::Port(port) if is_uplink_of(tables, port, domain) => Some(Action {
            port,
            encap: domain.encap.uplink_encap(),
        }),
        Location::Vtep(vtep) if domain.vteps.contains(&vtep) => {
            vtep_action(tables, domain, vtep)?.ok()
        }
        Location::Port(_) | Location::Vtep(_) => None,
    }
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
) -> Result<Option<Action>, DropReason> {
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
            Ok(Some(Action {
                port,
                encap: Encap::Plain,
            }))
        }
        Location::Port(port) if is_uplink_of(tables, port, domain) => {
            if source == Source::Uplink(port) {
                return Err(DropReason::SamePort);
            }
            Ok(Some(Action {
                port,
                encap: domain.encap.uplink_encap(),
            }))
        }
        Location::Vtep(vtep) if domain.vteps.contains(&vtep) => {
            if let Source::Vtep(_) = source {
                return Err(DropReason::SamePort);
            }
            vtep_action(tables, domain, vtep).transpose()
        }
        // Stale: no longer a member of the domain.
        Location::Port(_) | Location::Vtep(_) => Ok(None),
    }
}

/// Which members [`Flood`] is walking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FloodStage {
    Guests,
    Uplink,
    Vteps,
    Done,
}

/// The outputs of a flooded frame of one bridge domain, in order: guest
/// ports, the uplink, the VTEPs. A VTEP without a resolved next hop yields
/// `Err(next_hop_unresolved)` (count it, send nothing). Borrows the tables;
/// allocates nothing.
pub(super) struct Flood<'a> {
    tables: &'a ForwardingTables,
    bd: BdId,
    domain: Option<&'a BridgeDomain>,
    from: Source,
    stage: FloodStage,
    next: usize,
}

impl<'a> Flood<'a> {
    /// The outputs of a frame of `bd` that came from `from`.
    pub(super) fn new(tables: &'a ForwardingTables, bd: BdId, from: Source) -> Flood<'a> {
        let domain = tables.bd(bd);
        let isolated = domain.is_some_and(|d| d.isolate_ports) && matches!(from, Source::Guest(_));
        Flood {
            tables,
            bd,
            domain,
            from,
            stage: if isolated {
                FloodStage::Uplink
            } else {
                FloodStage::Guests
            },
            next: 0,
        }
    }
}

impl Iterator for Flood<'_> {
    type Item = Result<Action, DropReason>;

    fn next(&mut self) -> Option<Self::Item> {
        let domain = self.domain?;
        loop {
            match self.stage {
                FloodStage::Guests => {
                    let Some(&port) = domain.guest_ports.get(self.next) else {
                        self.stage = FloodStage::Uplink;
                        continue;
                    };
                    self.next += 1;
                    if self.from != Source::Guest(port) && is_guest_of(self.tables, port, self.bd) {
                        return Some(Ok(Action {
                            port,
                            encap: Encap::Plain,
                        }));
                    }
                }
                FloodStage::Uplink => {
                    self.stage = if matches!(self.from, Source::Vtep(_)) {
                        FloodStage::Done
                    } else {
                        FloodStage::Vteps
                    };
                    self.next = 0;
                    if let Some(uplink) = domain.uplink
                        && self.from != Source::Uplink(uplink)
                        && is_uplink_of(self.tables, uplink, domain)
                    {
                        return Some(Ok(Action {
                            port: uplink,
                            encap: domain.encap.uplink_encap(),
                        }));
                    }
                }
                FloodStage::Vteps => {
                    let Some(&vtep) = domain.vteps.get(self.next) else {
                        self.stage = FloodStage::Done;
                        continue;
                    };
                    self.next += 1;
                    if let Some(output) = vtep_action(self.tables, domain, vtep) {
                        return Some(output);
                    }
                }
                FloodStage::Done => return None,
            }
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
    let domain = new.bd(new_bd)?;
    match location {
        Location::Port(port) => {
            let same_name = old.port(port)?.name == new.port(port)?.name;
            let member = is_guest_of(new, port, new_bd) || is_uplink_of(new, port, domain);
            (same_name && member).then_some(location)
        }
        Location::Vtep(vtep) => {
            let ip = old.vtep(vtep)?.ip;
            let idx = *new.vtep_by_ip.get(&ip)?;
            domain.vteps.contains(&idx).then_some(Location::Vtep(idx))
        }
    }
}
