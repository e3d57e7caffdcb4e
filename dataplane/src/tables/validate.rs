//! [`ForwardingTables::validate`]: the consistency checks for tables
//! assembled by hand through the `pub` fields.

use super::{
    BdEncap, BdId, BridgeDomain, ForwardingTables, MAX_BDS, MAX_PORTS, MAX_VTEPS, MAX_VXLAN_PORTS,
    MIN_MTU, PortRole, PortSlot, TablesError, Tpid, Vid, VlanBinding, VlanKey, VniKey, VtepIdx,
    check_encap, check_next_hop,
};

impl ForwardingTables {
    /// Checks every index, bound and cross-reference (for tables assembled
    /// through the `pub` fields; the builder methods keep them valid).
    pub fn validate(&self) -> Result<(), TablesError> {
        if self.ports.len() > MAX_PORTS {
            return Err(TablesError::PortOutOfRange {
                port: self.ports.len() - 1,
            });
        }
        if self.bds.len() > MAX_BDS {
            return Err(TablesError::TooManyBds);
        }
        if self.vteps.len() > MAX_VTEPS {
            return Err(TablesError::TooManyVteps);
        }
        for (idx, port) in PortSlot::all().zip(&self.ports) {
            match port.role {
                PortRole::Unused => continue,
                PortRole::Guest { bd } => {
                    let member = self.bd(bd).is_some_and(|b| b.guest_ports.contains(&idx));
                    if !member {
                        return Err(TablesError::Inconsistent(
                            "a guest port is not listed by its bridge domain",
                        ));
                    }
                }
                PortRole::Uplink => {}
            }
            if port.mtu < MIN_MTU {
                return Err(TablesError::MtuTooSmall {
                    port: idx,
                    mtu: port.mtu,
                });
            }
        }
        for (id, bd) in self.bds.iter().enumerate() {
            self.validate_bd(id as BdId, bd)?;
        }
        for (key, binding) in &self.vlan_bindings {
            self.validate_vlan_binding(key, binding)?;
        }
        let mut udp_ports = Vec::new();
        for (key, &bd) in &self.vni_bindings {
            let encap = self.bds.get(usize::from(bd)).map(|b| b.encap);
            if encap
                != Some(BdEncap::Vxlan {
                    vni: key.vni,
                    udp_port: key.udp_port,
                })
            {
                return Err(TablesError::Inconsistent(
                    "a VNI binding does not match its bridge domain",
                ));
            }
            if !udp_ports.contains(&key.udp_port) {
                udp_ports.push(key.udp_port);
            }
        }
        if udp_ports.len() > MAX_VXLAN_PORTS {
            return Err(TablesError::TooManyVxlanPorts);
        }
        for (idx, vtep) in self.vteps.iter().enumerate() {
            if self.vtep_by_ip.get(&vtep.ip) != Some(&(idx as VtepIdx)) {
                return Err(TablesError::Inconsistent("vtep_by_ip does not match vteps"));
            }
            if let Some(nh) = &vtep.next_hop {
                check_next_hop(vtep.ip, nh)?;
                self.expect_uplink(nh.port)?;
            }
        }
        if self.vtep_by_ip.len() != self.vteps.len() {
            return Err(TablesError::Inconsistent("vtep_by_ip does not match vteps"));
        }
        Ok(())
    }

    fn validate_bd(&self, id: BdId, bd: &BridgeDomain) -> Result<(), TablesError> {
        check_encap(bd)?;
        if let Some(uplink) = bd.uplink {
            self.expect_uplink(uplink)?;
        }
        let registered = match bd.encap {
            BdEncap::Local => true,
            BdEncap::Vlan { vid } => {
                let key = VlanKey {
                    port: bd.uplink.unwrap_or_default(),
                    tpid: Tpid::Dot1q,
                    vid,
                };
                self.vlan_bindings.get(&key) == Some(&VlanBinding::Bd(id))
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
                match (self.vlan_bindings.get(&key), c_vid) {
                    (Some(VlanBinding::QinQ { untagged, .. }), None) => *untagged == Some(id),
                    (Some(VlanBinding::QinQ { by_cvid, .. }), Some(c)) => {
                        by_cvid.get(&c) == Some(&id)
                    }
                    _ => false,
                }
            }
            BdEncap::Vxlan { vni, udp_port } => {
                self.vni_bindings.get(&VniKey { udp_port, vni }) == Some(&id)
            }
        };
        if !registered {
            return Err(TablesError::Inconsistent(
                "a bridge domain's tag or VNI is not bound to it",
            ));
        }
        for &port in &bd.guest_ports {
            let ok = self
                .port(port)
                .is_some_and(|p| p.role == PortRole::Guest { bd: id });
            if !ok {
                return Err(TablesError::WrongPortRole {
                    port,
                    expected: "a guest port of this bridge domain",
                });
            }
        }
        for &vtep in &bd.vteps {
            let Some(v) = self.vteps.get(usize::from(vtep)) else {
                return Err(TablesError::UnknownVtep { vtep: vtep.into() });
            };
            if self.local_vtep_ips.contains(&v.ip) {
                return Err(TablesError::Inconsistent(
                    "a local VTEP address is listed as a peer",
                ));
            }
        }
        Ok(())
    }

    fn validate_vlan_binding(
        &self,
        key: &VlanKey,
        binding: &VlanBinding,
    ) -> Result<(), TablesError> {
        let matches = |bd: BdId, want: &dyn Fn(&BdEncap) -> bool| {
            self.bds
                .get(usize::from(bd))
                .is_some_and(|b| b.uplink == Some(key.port) && want(&b.encap))
        };
        let ok = match binding {
            VlanBinding::Bd(bd) => {
                key.tpid == Tpid::Dot1q && matches(*bd, &|e| *e == BdEncap::Vlan { vid: key.vid })
            }
            VlanBinding::QinQ { untagged, by_cvid } => {
                let service = |e: &BdEncap, want_c: Option<Vid>| {
                    matches!(*e, BdEncap::QinQ { s_tpid, s_vid, c_vid }
                        if s_tpid == key.tpid && s_vid == key.vid && c_vid == want_c)
                };
                untagged.is_none_or(|bd| matches(bd, &|e| service(e, None)))
                    && by_cvid
                        .iter()
                        .all(|(&c, &bd)| matches(bd, &|e| service(e, Some(c))))
            }
        };
        if ok {
            Ok(())
        } else {
            Err(TablesError::Inconsistent(
                "a VLAN binding does not match its bridge domain",
            ))
        }
    }
}
