//! The forwarding state of one configuration generation: ports, bridge
//! domains (one per VNet), how uplink tags and VXLAN VNIs map to bridge
//! domains, and the VXLAN peers (VTEPs) with their resolved next hops.
//!
//! Layer: plain data between the daemon (which builds it from the compiled
//! SDN configuration plus live node state: interfaces, routes, neighbours)
//! and the [`pipeline`](crate::pipeline) (which only reads it). A new
//! generation is built off the worker thread and swapped in whole as an
//! `Arc<ForwardingTables>`; nothing in here changes while a worker uses it.
//!
//! Guarantees:
//! - everything is index-based ([`PortSlot`], [`BdId`], [`VtepIdx`]) and
//!   reading it never allocates;
//! - the builder methods ([`ForwardingTables::set_uplink`],
//!   [`ForwardingTables::add_bd`], ...) keep the tables consistent and
//!   bounded ([`MAX_PORTS`], [`MAX_BDS`], [`MAX_VTEPS`]);
//!   [`ForwardingTables::validate`] checks tables assembled by hand through
//!   the `pub` fields. The pipeline still reads every index with `get()`,
//!   so even tables that were never validated cannot make it panic: a
//!   dangling index drops the frame with a reason;
//! - one `(uplink, TPID, VID)` or `(UDP port, VNI)` maps to at most one
//!   bridge domain, so a tag or VNI can never reach two tenants.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

use crate::wire::EthernetAddress;

pub use xsdn_common::{Encap, PortSlot, Tpid, Vid, Vni, VtepIdx};

/// A bridge domain (one VNet) of one generation: index into
/// [`ForwardingTables::bds`].
pub type BdId = u16;

/// Most port slots (`xsdn_common::MAX_PORTS`).
pub const MAX_PORTS: usize = xsdn_common::MAX_PORTS as usize;
/// Most bridge domains per node.
pub const MAX_BDS: usize = 4096;
/// Most VXLAN peers per node (all zones together).
pub const MAX_VTEPS: usize = 512;
/// Most distinct VXLAN UDP destination ports per node.
pub const MAX_VXLAN_PORTS: usize = 8;
/// Smallest MTU a port may have (the IPv4 minimum, RFC 791).
pub const MIN_MTU: u32 = 68;

/// A small, fast, deterministic hasher for the tables' maps. Their keys come
/// from the configuration, not from received frames, so hash flooding is
/// not a concern; lookups keyed by frame fields only probe.
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHasher(u64);

impl FastHasher {
    const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::MULTIPLIER);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let (words, rest) = bytes.as_chunks::<8>();
        for word in words {
            self.mix(u64::from_le_bytes(*word));
        }
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 56));
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.mix(u64::from(value));
    }

    #[inline]
    fn write_u16(&mut self, value: u16) {
        self.mix(u64::from(value));
    }

    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.mix(u64::from(value));
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.mix(value);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.mix(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // murmur3's finaliser, so that low bits depend on every input bit.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// What a port slot is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortRole {
    /// Free slot: frames received on it are dropped (`unknown_port`).
    Unused,
    /// A guest's tap/veth, member of exactly one bridge domain.
    Guest {
        /// Its bridge domain.
        bd: BdId,
    },
    /// A physical uplink: carries VLAN/QinQ-tagged frames of the zones on
    /// it and the VXLAN underlay.
    Uplink,
}

/// One port slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortEntry {
    /// Interface name (identity across generations).
    pub name: String,
    /// What the port is for.
    pub role: PortRole,
    /// The interface's MAC address.
    pub mac: EthernetAddress,
    /// The interface index (0 while unknown: the kernel tier then leaves
    /// the port to userspace).
    pub ifindex: u32,
    /// The interface MTU (IP payload bytes; see the pipeline's MTU rule).
    pub mtu: u32,
}

impl PortEntry {
    /// A free slot.
    pub fn unused() -> PortEntry {
        PortEntry {
            name: String::new(),
            role: PortRole::Unused,
            mac: EthernetAddress::ZERO,
            ifindex: 0,
            mtu: 0,
        }
    }
}

/// How a bridge domain's frames leave the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BdEncap {
    /// Simple zone: guests only, nothing leaves the node.
    Local,
    /// VLAN zone: one 802.1Q tag on the zone's uplink.
    Vlan {
        /// The VNet's VLAN id.
        vid: Vid,
    },
    /// QinQ zone: service tag with the zone's protocol, then an 802.1Q
    /// customer tag (none for the zone's tag-less VNet).
    QinQ {
        /// Service tag protocol (`vlan-protocol`: 802.1q, the default, or
        /// 802.1ad).
        s_tpid: Tpid,
        /// Service VLAN id (the zone's `tag`).
        s_vid: Vid,
        /// Customer VLAN id (the VNet's `tag`), `None` for the tag-less VNet.
        c_vid: Option<Vid>,
    },
    /// VXLAN zone (RFC 7348) with a static flood list.
    Vxlan {
        /// The VNet's VNI.
        vni: Vni,
        /// The zone's UDP destination port (`vxlan-port`, default 4789).
        udp_port: u16,
    },
}

impl BdEncap {
    /// How the domain's frames are wrapped on its uplink (VLAN and QinQ
    /// zones; plain otherwise).
    #[inline]
    pub const fn uplink_encap(&self) -> Encap {
        match *self {
            BdEncap::Vlan { vid } => Encap::Vlan { vid },
            BdEncap::QinQ {
                s_tpid,
                s_vid,
                c_vid,
            } => Encap::QinQ {
                s_tpid,
                s_vid,
                c_vid,
            },
            BdEncap::Local | BdEncap::Vxlan { .. } => Encap::Plain,
        }
    }
}

/// One bridge domain: the forwarding view of one VNet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeDomain {
    /// VNet name (identity across generations, with `encap`).
    pub vnet: String,
    /// Zone name.
    pub zone: String,
    /// How frames leave the node.
    pub encap: BdEncap,
    /// Guest ports in the bridge domain.
    pub guest_ports: Vec<PortSlot>,
    /// The zone's uplink (VLAN and QinQ zones only).
    pub uplink: Option<PortSlot>,
    /// The zone's peers except this node (VXLAN zones only).
    pub vteps: Vec<VtepIdx>,
    /// Slot of the VNet's counters (stable across generations, chosen by
    /// the daemon).
    pub counter_slot: usize,
    /// MAC learning (`false` for `bridge-disable-mac-learning`: only static
    /// FDB entries are used, unknown destinations are flooded).
    pub learning: bool,
    /// `isolate-ports`: guests reach the uplink/VTEPs but not each other.
    pub isolate_ports: bool,
    /// The in-kernel tier's generation of this domain (see
    /// `kernel_tier::Generations`; 0 until assigned).
    pub kernel_generation: u32,
}

impl BridgeDomain {
    /// A bridge domain with learning on, no isolation, no members, counter
    /// slot 0.
    pub fn new(vnet: &str, zone: &str, encap: BdEncap) -> BridgeDomain {
        BridgeDomain {
            vnet: vnet.to_owned(),
            zone: zone.to_owned(),
            encap,
            guest_ports: Vec::new(),
            uplink: None,
            vteps: Vec::new(),
            counter_slot: 0,
            learning: true,
            isolate_ports: false,
            kernel_generation: 0,
        }
    }

    /// Sets the uplink.
    pub fn with_uplink(mut self, port: PortSlot) -> BridgeDomain {
        self.uplink = Some(port);
        self
    }

    /// Sets the counter slot.
    pub fn with_counter_slot(mut self, slot: usize) -> BridgeDomain {
        self.counter_slot = slot;
        self
    }

    /// Sets `isolate-ports`.
    pub fn with_isolated_ports(mut self, isolate: bool) -> BridgeDomain {
        self.isolate_ports = isolate;
        self
    }

    /// Sets MAC learning.
    pub fn with_learning(mut self, learning: bool) -> BridgeDomain {
        self.learning = learning;
        self
    }

    /// True if the identity (VNet name and encapsulation) is the same: the
    /// pipeline keeps a bridge domain's learnt MACs across a reload only
    /// then.
    pub fn same_identity(&self, other: &BridgeDomain) -> bool {
        self.vnet == other.vnet && self.encap == other.encap
    }
}

/// Key of an uplink's tag classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VlanKey {
    /// The uplink.
    pub port: PortSlot,
    /// Outer tag protocol.
    pub tpid: Tpid,
    /// Outer VLAN id.
    pub vid: Vid,
}

/// What an outer tag on an uplink leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VlanBinding {
    /// A VLAN zone's VNet: pop this one tag.
    Bd(BdId),
    /// A QinQ zone's service tag: pop it, then classify by the customer
    /// tag (always 802.1Q).
    QinQ {
        /// The zone's tag-less VNet, for frames with only the service tag.
        untagged: Option<BdId>,
        /// Customer VLAN id -> VNet.
        by_cvid: FastMap<Vid, BdId>,
    },
}

/// Key of the VXLAN classification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VniKey {
    /// UDP destination port.
    pub udp_port: u16,
    /// VNI.
    pub vni: Vni,
}

/// How to reach a VTEP: resolved by the daemon from the kernel's routes and
/// neighbour table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NextHop {
    /// Uplink to transmit on.
    pub port: PortSlot,
    /// The next hop's MAC (gateway or the peer itself).
    pub dst_mac: EthernetAddress,
    /// Our MAC on that uplink.
    pub src_mac: EthernetAddress,
    /// Outer source address: this node's VTEP address (same family as the
    /// peer).
    pub src_ip: IpAddr,
}

/// One VXLAN peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vtep {
    /// The peer's VTEP address.
    pub ip: IpAddr,
    /// How to reach it; `None` while unresolved (frames to it are dropped
    /// with `next_hop_unresolved`).
    pub next_hop: Option<NextHop>,
}

/// Why tables were rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TablesError {
    /// A port index is not below [`MAX_PORTS`].
    #[error("port {port} out of range (max {MAX_PORTS})")]
    PortOutOfRange {
        /// The index.
        port: usize,
    },
    /// A port slot is already in use.
    #[error("port {port} is already in use")]
    PortInUse {
        /// The index.
        port: PortSlot,
    },
    /// A port is referenced with the wrong role (or not configured).
    #[error("port {port} is not {expected}")]
    WrongPortRole {
        /// The index.
        port: PortSlot,
        /// The role it should have.
        expected: &'static str,
    },
    /// A port's MTU is below [`MIN_MTU`].
    #[error("port {port}: MTU {mtu} below {MIN_MTU}")]
    MtuTooSmall {
        /// The index.
        port: PortSlot,
        /// The MTU.
        mtu: u32,
    },
    /// Too many bridge domains.
    #[error("more than {MAX_BDS} bridge domains")]
    TooManyBds,
    /// Too many VTEPs.
    #[error("more than {MAX_VTEPS} VTEPs")]
    TooManyVteps,
    /// Too many distinct VXLAN ports.
    #[error("more than {MAX_VXLAN_PORTS} VXLAN UDP ports")]
    TooManyVxlanPorts,
    /// A bridge domain id does not exist.
    #[error("bridge domain {bd} does not exist")]
    UnknownBd {
        /// The id.
        bd: usize,
    },
    /// A VTEP index does not exist.
    #[error("VTEP {vtep} does not exist")]
    UnknownVtep {
        /// The index.
        vtep: usize,
    },
    /// A VLAN id, VNI or TPID is out of range, or an encapsulation lacks
    /// (or has a superfluous) uplink.
    #[error("bridge domain {vnet}: {problem}")]
    BadEncap {
        /// VNet name.
        vnet: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// Two bridge domains claim the same tag or VNI.
    #[error("bridge domain {vnet}: its {what} is already used by bridge domain {other}")]
    Conflict {
        /// VNet name.
        vnet: String,
        /// The tag or VNI.
        what: &'static str,
        /// The bridge domain already holding it.
        other: BdId,
    },
    /// A next hop's source address family differs from the peer's, or its
    /// port is not an uplink.
    #[error("VTEP {ip}: {problem}")]
    BadNextHop {
        /// The peer.
        ip: IpAddr,
        /// What is wrong.
        problem: &'static str,
    },
    /// The tables contradict themselves (hand-built tables only).
    #[error("inconsistent tables: {0}")]
    Inconsistent(&'static str),
}

/// The forwarding state of one generation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardingTables {
    /// Generation number (informational; set by the daemon).
    pub generation: u64,
    /// Port slots, indexed by [`PortSlot`]; at most [`MAX_PORTS`].
    pub ports: Vec<PortEntry>,
    /// Bridge domains, indexed by [`BdId`]; at most [`MAX_BDS`].
    pub bds: Vec<BridgeDomain>,
    /// Uplink classification by outer tag.
    pub vlan_bindings: FastMap<VlanKey, VlanBinding>,
    /// This node's VTEP addresses: VXLAN to any other address is dropped.
    pub local_vtep_ips: Vec<IpAddr>,
    /// VXLAN classification.
    pub vni_bindings: FastMap<VniKey, BdId>,
    /// VXLAN peers, indexed by [`VtepIdx`]; at most [`MAX_VTEPS`].
    pub vteps: Vec<Vtep>,
    /// Peer address -> index into `vteps`.
    pub vtep_by_ip: FastMap<IpAddr, VtepIdx>,
}

impl ForwardingTables {
    /// Empty tables.
    pub fn new() -> ForwardingTables {
        ForwardingTables::default()
    }

    /// Records the interface index of configured port `port`.
    pub fn set_ifindex(&mut self, port: PortSlot, ifindex: u32) -> Result<(), TablesError> {
        match self.ports.get_mut(port.index()) {
            Some(entry) if entry.role != PortRole::Unused => {
                entry.ifindex = ifindex;
                Ok(())
            }
            _ => Err(TablesError::WrongPortRole {
                port,
                expected: "a configured port",
            }),
        }
    }

    /// The entry of port slot `port` (`None` beyond the configured slots).
    #[inline]
    pub fn port(&self, port: PortSlot) -> Option<&PortEntry> {
        self.ports.get(port.index())
    }

    /// Bridge domain `bd`.
    #[inline]
    pub fn bd(&self, bd: BdId) -> Option<&BridgeDomain> {
        self.bds.get(usize::from(bd))
    }

    /// VXLAN peer `vtep`.
    #[inline]
    pub fn vtep(&self, vtep: VtepIdx) -> Option<&Vtep> {
        self.vteps.get(usize::from(vtep))
    }

    /// The slots of the configured ports (every role but unused), in order.
    pub fn used_ports(&self) -> impl Iterator<Item = (PortSlot, &PortEntry)> + '_ {
        PortSlot::all()
            .zip(&self.ports)
            .filter(|(_, p)| p.role != PortRole::Unused)
    }

    fn claim_port(&mut self, port: PortSlot, entry: PortEntry) -> Result<(), TablesError> {
        if entry.mtu < MIN_MTU {
            return Err(TablesError::MtuTooSmall {
                port,
                mtu: entry.mtu,
            });
        }
        let at = port.index();
        if self.ports.len() <= at {
            self.ports.resize_with(at + 1, PortEntry::unused);
        }
        if self.ports[at].role != PortRole::Unused {
            return Err(TablesError::PortInUse { port });
        }
        self.ports[at] = entry;
        Ok(())
    }

    /// Configures slot `port` as an uplink.
    pub fn set_uplink(
        &mut self,
        port: PortSlot,
        name: &str,
        mac: EthernetAddress,
        mtu: u32,
    ) -> Result<(), TablesError> {
        let entry = PortEntry {
            name: name.to_owned(),
            role: PortRole::Uplink,
            mac,
            ifindex: 0,
            mtu,
        };
        self.claim_port(port, entry)
    }

    /// Configures slot `port` as a guest port of `bd`.
    pub fn add_guest_port(
        &mut self,
        port: PortSlot,
        name: &str,
        mac: EthernetAddress,
        mtu: u32,
        bd: BdId,
    ) -> Result<(), TablesError> {
        if usize::from(bd) >= self.bds.len() {
            return Err(TablesError::UnknownBd { bd: bd.into() });
        }
        let entry = PortEntry {
            name: name.to_owned(),
            role: PortRole::Guest { bd },
            mac,
            ifindex: 0,
            mtu,
        };
        self.claim_port(port, entry)?;
        self.bds[usize::from(bd)].guest_ports.push(port);
        Ok(())
    }

    /// Adds a bridge domain (its `guest_ports` and `vteps` must be empty:
    /// use [`Self::add_guest_port`] and [`Self::add_peer`]) and registers
    /// its tag or VNI. The uplink of a VLAN/QinQ domain must already be
    /// set with [`Self::set_uplink`].
    pub fn add_bd(&mut self, bd: BridgeDomain) -> Result<BdId, TablesError> {
        if self.bds.len() >= MAX_BDS {
            return Err(TablesError::TooManyBds);
        }
        if !bd.guest_ports.is_empty() || !bd.vteps.is_empty() {
            return Err(TablesError::Inconsistent(
                "add_bd takes a bridge domain without members",
            ));
        }
        check_encap(&bd)?;
        if let Some(uplink) = bd.uplink {
            self.expect_uplink(uplink)?;
        }
        let id = self.bds.len() as BdId;
        match bd.encap {
            BdEncap::Local => {}
            BdEncap::Vlan { vid } => {
                let key = VlanKey {
                    port: bd.uplink.unwrap_or_default(),
                    tpid: Tpid::Dot1q,
                    vid,
                };
                match self.vlan_bindings.get(&key) {
                    Some(existing) => return Err(conflict(&bd, "VLAN tag", existing)),
                    None => {
                        self.vlan_bindings.insert(key, VlanBinding::Bd(id));
                    }
                }
            }
            BdEncap::QinQ {
                s_tpid,
                s_vid,
                c_vid,
            } => {
                let key = VlanKey {
                    port: bd.uplink.unwrap_or_default(),
                    tpid: s_tpid,
                    vid: s_vid,
                };
                let binding = self
                    .vlan_bindings
                    .entry(key)
                    .or_insert_with(|| VlanBinding::QinQ {
                        untagged: None,
                        by_cvid: FastMap::default(),
                    });
                let VlanBinding::QinQ { untagged, by_cvid } = binding else {
                    return Err(conflict(&bd, "service tag", binding));
                };
                match c_vid {
                    None => match untagged {
                        Some(other) => {
                            return Err(TablesError::Conflict {
                                vnet: bd.vnet,
                                what: "tag-less slot of the zone",
                                other: *other,
                            });
                        }
                        None => *untagged = Some(id),
                    },
                    Some(c_vid) => match by_cvid.get(&c_vid) {
                        Some(&other) => {
                            return Err(TablesError::Conflict {
                                vnet: bd.vnet,
                                what: "customer tag",
                                other,
                            });
                        }
                        None => {
                            by_cvid.insert(c_vid, id);
                        }
                    },
                }
            }
            BdEncap::Vxlan { vni, udp_port } => {
                let key = VniKey { udp_port, vni };
                if let Some(&other) = self.vni_bindings.get(&key) {
                    return Err(TablesError::Conflict {
                        vnet: bd.vnet,
                        what: "VNI",
                        other,
                    });
                }
                let mut ports: Vec<u16> = self.vni_bindings.keys().map(|k| k.udp_port).collect();
                ports.push(udp_port);
                ports.sort_unstable();
                ports.dedup();
                if ports.len() > MAX_VXLAN_PORTS {
                    return Err(TablesError::TooManyVxlanPorts);
                }
                self.vni_bindings.insert(key, id);
            }
        }
        self.bds.push(bd);
        Ok(id)
    }

    fn expect_uplink(&self, port: PortSlot) -> Result<(), TablesError> {
        match self.port(port) {
            Some(PortEntry {
                role: PortRole::Uplink,
                ..
            }) => Ok(()),
            _ => Err(TablesError::WrongPortRole {
                port,
                expected: "an uplink",
            }),
        }
    }

    /// The VTEP for `ip`, created (unresolved) if new.
    pub fn add_vtep(&mut self, ip: IpAddr) -> Result<VtepIdx, TablesError> {
        if let Some(&idx) = self.vtep_by_ip.get(&ip) {
            return Ok(idx);
        }
        if self.vteps.len() >= MAX_VTEPS {
            return Err(TablesError::TooManyVteps);
        }
        let idx = self.vteps.len() as VtepIdx;
        self.vteps.push(Vtep { ip, next_hop: None });
        self.vtep_by_ip.insert(ip, idx);
        Ok(idx)
    }

    /// Adds the zone peer `ip` to VXLAN bridge domain `bd`. Returns `None`
    /// (and adds nothing) if `ip` is one of [`Self::local_vtep_ips`].
    pub fn add_peer(&mut self, bd: BdId, ip: IpAddr) -> Result<Option<VtepIdx>, TablesError> {
        let Some(entry) = self.bds.get(usize::from(bd)) else {
            return Err(TablesError::UnknownBd { bd: bd.into() });
        };
        if !matches!(entry.encap, BdEncap::Vxlan { .. }) {
            return Err(TablesError::BadEncap {
                vnet: entry.vnet.clone(),
                problem: "peers on a bridge domain that is not VXLAN",
            });
        }
        if self.local_vtep_ips.contains(&ip) {
            return Ok(None);
        }
        let idx = self.add_vtep(ip)?;
        let vteps = &mut self.bds[usize::from(bd)].vteps;
        if !vteps.contains(&idx) {
            vteps.push(idx);
        }
        Ok(Some(idx))
    }

    /// Sets (or clears) the next hop of `vtep`.
    pub fn set_next_hop(
        &mut self,
        vtep: VtepIdx,
        next_hop: Option<NextHop>,
    ) -> Result<(), TablesError> {
        let ip = match self.vteps.get(usize::from(vtep)) {
            Some(v) => v.ip,
            None => return Err(TablesError::UnknownVtep { vtep: vtep.into() }),
        };
        if let Some(nh) = &next_hop {
            check_next_hop(ip, nh)?;
            self.expect_uplink(nh.port)?;
        }
        self.vteps[usize::from(vtep)].next_hop = next_hop;
        Ok(())
    }

    /// The distinct VXLAN UDP destination ports in use.
    pub fn vxlan_udp_ports(&self) -> impl Iterator<Item = u16> + '_ {
        let mut seen = [0u16; MAX_VXLAN_PORTS];
        let mut count = 0;
        self.vni_bindings.keys().filter_map(move |k| {
            if seen[..count].contains(&k.udp_port) || count == MAX_VXLAN_PORTS {
                return None;
            }
            seen[count] = k.udp_port;
            count += 1;
            Some(k.udp_port)
        })
    }
}

fn conflict(bd: &BridgeDomain, what: &'static str, existing: &VlanBinding) -> TablesError {
    let other = match existing {
        VlanBinding::Bd(other) => *other,
        VlanBinding::QinQ {
            untagged, by_cvid, ..
        } => untagged
            .or_else(|| by_cvid.values().next().copied())
            .unwrap_or(0),
    };
    TablesError::Conflict {
        vnet: bd.vnet.clone(),
        what,
        other,
    }
}

fn check_encap(bd: &BridgeDomain) -> Result<(), TablesError> {
    let bad = |problem| {
        Err(TablesError::BadEncap {
            vnet: bd.vnet.clone(),
            problem,
        })
    };
    // VLAN ids, TPIDs and VNIs are valid by construction (`Vid`, `Tpid`,
    // `Vni`); what is left is the shape.
    match bd.encap {
        BdEncap::Local | BdEncap::Vxlan { .. } if bd.uplink.is_some() => {
            bad("an uplink on a bridge domain that is not VLAN or QinQ")
        }
        BdEncap::Vlan { .. } | BdEncap::QinQ { .. } if bd.uplink.is_none() => {
            bad("a VLAN or QinQ bridge domain without an uplink")
        }
        BdEncap::Vxlan { udp_port: 0, .. } => bad("VXLAN UDP port 0"),
        _ => Ok(()),
    }
}

fn check_next_hop(ip: IpAddr, nh: &NextHop) -> Result<(), TablesError> {
    if ip.is_ipv4() != nh.src_ip.is_ipv4() {
        return Err(TablesError::BadNextHop {
            ip,
            problem: "source and peer address families differ",
        });
    }
    Ok(())
}

mod validate;

#[cfg(test)]
mod tests;
