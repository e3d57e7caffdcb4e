//! What the kernel tier's MAC table holds for one MAC: the action that
//! reaches it, resolved for the eBPF programs.

use core::net::IpAddr;

use xsdn_common::kernel_tier::{FdbKey, FdbValue, MAX_KERNEL_BDS};

use crate::pipeline::{Encap, Location, action_to};
use crate::tables::{BdId, BridgeDomain, ForwardingTables};
use crate::wire::EthernetAddress;

/// The kernel id of a bridge domain: its VNet counter slot, stable for the
/// daemon's lifetime; `None` beyond what the kernel tier holds.
#[inline]
pub fn kernel_bd(domain: &BridgeDomain) -> Option<u16> {
    u16::try_from(domain.counter_slot)
        .ok()
        .filter(|&id| u32::from(id) < MAX_KERNEL_BDS)
}

/// The kernel tier's key of `mac` in bridge domain `bd` of `tables`.
pub fn fdb_key(tables: &ForwardingTables, bd: BdId, mac: &EthernetAddress) -> Option<FdbKey> {
    Some(FdbKey {
        bd: kernel_bd(tables.bd(bd)?)?,
        mac: mac.0,
    })
}

/// The kernel tier's entry for `mac`, which lives at `location` in bridge
/// domain `bd` of `tables`: its key and value. `None` when the kernel tier
/// cannot act on it: the location is not (or no longer) a member, the
/// egress has no interface index, a VXLAN peer's next hop is unresolved or
/// not IPv4 (IPv6 underlays stay in userspace), or the domain has no
/// kernel id.
pub fn fdb_entry(
    tables: &ForwardingTables,
    bd: BdId,
    mac: &EthernetAddress,
    location: Location,
) -> Option<(FdbKey, FdbValue)> {
    let domain = tables.bd(bd)?;
    let kernel = kernel_bd(domain)?;
    let action = action_to(tables, bd, domain, location)?;
    let port = tables.port(action.port)?;
    if port.ifindex == 0 {
        return None;
    }
    let mut value = FdbValue {
        generation: domain.kernel_generation,
        ifindex: port.ifindex,
        action: action.encode(),
        mtu: port.mtu,
        ..FdbValue::default()
    };
    if let Encap::Vxlan { vtep, .. } = action.encap {
        let peer = tables.vtep(vtep)?;
        let next_hop = peer.next_hop?;
        let (IpAddr::V4(src), IpAddr::V4(dst)) = (next_hop.src_ip, peer.ip) else {
            return None;
        };
        value.outer_dst_mac = next_hop.dst_mac.0;
        value.outer_src_mac = next_hop.src_mac.0;
        value.outer_src_ip = src.octets();
        value.outer_dst_ip = dst.octets();
    }
    Some((
        FdbKey {
            bd: kernel,
            mac: mac.0,
        },
        value,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::{UPLINK, slot, vlan_zone, vtep_ip, vxlan_zone};
    use crate::wire::build::mac;
    use xsdn_common::action::kind;

    #[test]
    fn entries_carry_the_action_the_pipeline_would_take() {
        let mut t = vlan_zone();
        for (i, port) in t.ports.iter_mut().enumerate() {
            port.ifindex = 10 + i as u32;
        }
        t.bds[0].kernel_generation = 7;
        let (key, guest) = fdb_entry(&t, 0, &mac(1), Location::Port(slot(1))).expect("guest");
        assert_eq!((key.bd, key.mac), (0, mac(1).0));
        assert_eq!((guest.generation, guest.ifindex), (7, 11));
        assert_eq!(guest.action.kind, kind::PLAIN);
        let (_, up) = fdb_entry(&t, 0, &mac(9), Location::Port(UPLINK)).expect("uplink");
        assert_eq!(
            (up.ifindex, up.action.kind, up.action.vid),
            (10, kind::VLAN, 10)
        );
        // Port 3 is in the other VNet: no entry for it in this one.
        assert_eq!(fdb_entry(&t, 0, &mac(3), Location::Port(slot(3))), None);
        // Without an interface index the kernel cannot reach the port.
        t.ports[2].ifindex = 0;
        assert_eq!(fdb_entry(&t, 0, &mac(2), Location::Port(slot(2))), None);
    }

    #[test]
    fn vxlan_entries_carry_resolved_ipv4_outer_headers_only() {
        for v6 in [false, true] {
            let mut t = vxlan_zone(v6);
            for (i, port) in t.ports.iter_mut().enumerate() {
                port.ifindex = 20 + i as u32;
            }
            let entry = fdb_entry(&t, 0, &mac(9), Location::Vtep(0));
            if v6 {
                assert_eq!(entry, None, "IPv6 underlays stay in userspace");
                continue;
            }
            let (_, value) = entry.expect("vxlan");
            assert_eq!(value.action.kind, kind::VXLAN);
            assert_eq!(value.ifindex, 20);
            let IpAddr::V4(peer) = vtep_ip(2, false) else {
                unreachable!()
            };
            assert_eq!(value.outer_dst_ip, peer.octets());
        }
    }
}
