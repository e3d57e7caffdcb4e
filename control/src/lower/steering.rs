//! The XDP steering keys of uplinks: which of an uplink's frames go to
//! the dataplane.
//!
//! Layer: pure. On an uplink (steered `Matched`) only frames whose outer
//! tag is a VLAN zone's tag or a QinQ zone's service tag (with its
//! protocol's TPID), or whose UDP destination port and VXLAN VNI both
//! belong to a served VNet, are steered; everything else (the host's own
//! traffic, VNIs the kernel serves) passes to the kernel. Keys are kept
//! once each, in the order first asked for.

use xsdn_common::{SteerKey, SteerKind};
use xsdn_dataplane::tables::Tpid;

use crate::config::model::VlanProtocol;

/// The steering keys of one plan, without duplicates.
#[derive(Debug, Default)]
pub struct SteerKeys(Vec<SteerKey>);

impl SteerKeys {
    fn add(&mut self, ifindex: u32, kind: SteerKind, value: u32) {
        let key = SteerKey {
            ifindex,
            kind: kind as u32,
            value,
        };
        if !self.0.contains(&key) {
            self.0.push(key);
        }
    }

    /// A VLAN zone's 802.1Q tag `vid` on uplink `ifindex`.
    pub fn vlan(&mut self, ifindex: u32, vid: u16) {
        self.add(ifindex, SteerKind::Dot1qVid, u32::from(vid));
    }

    /// A QinQ zone's service tag on uplink `ifindex`; returns the TPID the
    /// service tag carries.
    pub fn service_tag(&mut self, ifindex: u32, protocol: &VlanProtocol, vid: u16) -> Tpid {
        let tpid = protocol.tpid();
        let kind = match tpid {
            Tpid::Dot1ad => SteerKind::Dot1adVid,
            Tpid::Dot1q => SteerKind::Dot1qVid,
        };
        self.add(ifindex, kind, u32::from(vid));
        tpid
    }

    /// A VXLAN VNet (`udp_port`, `vni`) on uplink `ifindex`.
    pub fn vxlan(&mut self, ifindex: u32, udp_port: u16, vni: u32) {
        self.add(ifindex, SteerKind::UdpDstPort, u32::from(udp_port));
        self.add(ifindex, SteerKind::VxlanVni, vni);
    }

    /// The keys.
    pub fn into_vec(self) -> Vec<SteerKey> {
        self.0
    }
}
