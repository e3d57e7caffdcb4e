//! The kernel tier's maps for one tables generation, besides the MAC
//! table: which bridge domains are live and their generations, how uplink
//! tags and VXLAN VNIs map to them, which peers may send into each VXLAN
//! domain, and this node's VTEP addresses.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use xsdn_common::kernel_tier::{
    BD_FLAG_ACTIVE, BD_FLAG_ISOLATED, BIND_QINQ, BIND_QINQ_UNTAGGED, BIND_VLAN, BIND_VXLAN, BdConf,
    BindValue, IpKey, PeerKey, TagBindKey, VniBindKey,
};

use crate::tables::{BdEncap, ForwardingTables, Tpid};

use super::entries::kernel_bd;

/// The desired contents of the kernel tier's maps (all but the MAC table).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Live bridge domains by kernel id.
    pub bds: HashMap<u16, BdConf>,
    /// Uplink tag bindings.
    pub tag_binds: HashMap<TagBindKey, BindValue>,
    /// VXLAN VNI bindings.
    pub vni_binds: HashMap<VniBindKey, BindValue>,
    /// Peers allowed per VXLAN bridge domain.
    pub peers: HashSet<PeerKey>,
    /// This node's VTEP addresses.
    pub local_ips: HashSet<IpKey>,
}

/// The map key of an address.
pub fn ip_key(ip: IpAddr) -> IpKey {
    let mut addr = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => {
            addr[..4].copy_from_slice(&v4.octets());
            IpKey { family: 4, addr }
        }
        IpAddr::V6(v6) => IpKey {
            family: 6,
            addr: v6.octets(),
        },
    }
}

/// The layout of `tables` (their `kernel_generation`s assigned).
pub fn layout(tables: &ForwardingTables) -> Layout {
    let mut out = Layout::default();
    for ip in &tables.local_vtep_ips {
        out.local_ips.insert(ip_key(*ip));
    }
    for domain in &tables.bds {
        let Some(id) = kernel_bd(domain) else {
            continue;
        };
        let mut flags = BD_FLAG_ACTIVE;
        if domain.isolate_ports {
            flags |= BD_FLAG_ISOLATED;
        }
        out.bds.insert(
            id,
            BdConf {
                generation: domain.kernel_generation,
                flags,
            },
        );
        let uplink = domain
            .uplink
            .and_then(|u| tables.port(u))
            .map_or(0, |p| p.ifindex);
        let tag = |tpid: Tpid, vid: u16, c_vid: u16| TagBindKey {
            ifindex: uplink,
            tpid: tpid.raw(),
            vid,
            c_vid,
            reserved: 0,
        };
        let bind = |kind| BindValue { bd: id, kind };
        match domain.encap {
            BdEncap::Local => {}
            BdEncap::Vlan { vid } if uplink != 0 => {
                out.tag_binds
                    .insert(tag(Tpid::Dot1q, vid.get(), 0), bind(BIND_VLAN));
            }
            BdEncap::QinQ {
                s_tpid,
                s_vid,
                c_vid,
            } if uplink != 0 => {
                let (c, kind) = match c_vid {
                    Some(c) => (c.get(), BIND_QINQ),
                    None => (0, BIND_QINQ_UNTAGGED),
                };
                out.tag_binds
                    .insert(tag(s_tpid, s_vid.get(), c), bind(kind));
            }
            BdEncap::Vlan { .. } | BdEncap::QinQ { .. } => {}
            BdEncap::Vxlan { vni, udp_port } => {
                let key = VniBindKey {
                    udp_port,
                    reserved: 0,
                    vni: vni.get(),
                };
                out.vni_binds.insert(key, bind(BIND_VXLAN));
                for peer in domain.vteps.iter().filter_map(|&v| tables.vtep(v)) {
                    out.peers.insert(PeerKey {
                        bd: u32::from(id),
                        ip: ip_key(peer.ip),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{qinq_zones, vtep_ip, vxlan_zone};

    fn with_ifindexes(mut t: ForwardingTables) -> ForwardingTables {
        for (i, port) in t.ports.iter_mut().enumerate() {
            port.ifindex = 10 + i as u32;
        }
        t
    }

    #[test]
    fn qinq_zones_bind_service_and_customer_tags() {
        let t = with_ifindexes(qinq_zones(Tpid::Dot1ad));
        let l = layout(&t);
        assert_eq!(l.bds.len(), 3);
        let key = |vid, c_vid| TagBindKey {
            ifindex: 10,
            tpid: 0x88a8,
            vid,
            c_vid,
            reserved: 0,
        };
        assert_eq!(
            l.tag_binds.get(&key(20, 100)).map(|b| b.kind),
            Some(BIND_QINQ)
        );
        assert_eq!(
            l.tag_binds.get(&key(20, 0)).map(|b| b.kind),
            Some(BIND_QINQ_UNTAGGED)
        );
        assert_eq!(l.tag_binds.get(&key(30, 100)).map(|b| b.bd), Some(1));
        assert!(l.vni_binds.is_empty() && l.peers.is_empty());
    }

    #[test]
    fn vxlan_domains_admit_their_own_peers_only() {
        let t = with_ifindexes(vxlan_zone(false));
        let l = layout(&t);
        let peer = |bd: u32, n| PeerKey {
            bd,
            ip: ip_key(vtep_ip(n, false)),
        };
        assert!(l.peers.contains(&peer(0, 2)) && l.peers.contains(&peer(0, 3)));
        assert!(!l.peers.contains(&peer(0, 4)), "peer 4 is the other VNet's");
        assert!(l.peers.contains(&peer(1, 4)));
        assert!(!l.peers.contains(&peer(0, 1)), "this node is no peer");
        assert!(l.local_ips.contains(&ip_key(vtep_ip(1, false))));
        assert_eq!(l.vni_binds.len(), 2);
    }
}
