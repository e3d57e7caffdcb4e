//! Port and counter slots, remembered across plans.
//!
//! Layer: pure state, owned by the daemon for its lifetime and lent to
//! every lowering. Guarantees: an interface keeps its port slot while it
//! stays in the plans; new interfaces get slots round-robin, so a slot
//! freed by a removed guest is not reused by the next one at once (a MAC
//! entry never outlives its port into another one); a VNet keeps its
//! counter slot for the daemon's lifetime.

use std::collections::{BTreeMap, HashMap};

use xsdn_dataplane::tables::{MAX_PORTS, PortIdx};

use super::plan::PlannedPort;

/// Port and counter slots remembered across plans.
#[derive(Debug, Default)]
pub struct SlotAllocator {
    ports: HashMap<String, PortIdx>,
    next_port: PortIdx,
    counters: HashMap<String, usize>,
}

impl SlotAllocator {
    /// The slot of interface `name`, allocating one if new; `in_use` tells
    /// the slots the plan being built holds already.
    pub fn port(&mut self, name: &str, in_use: impl Fn(PortIdx) -> bool) -> Option<PortIdx> {
        if let Some(&slot) = self.ports.get(name) {
            return Some(slot);
        }
        let taken: Vec<PortIdx> = self.ports.values().copied().collect();
        for i in 0..MAX_PORTS {
            let slot = (self.next_port + i) % MAX_PORTS;
            if !taken.contains(&slot) && !in_use(slot) {
                self.next_port = (slot + 1) % MAX_PORTS;
                self.ports.insert(name.to_owned(), slot);
                return Some(slot);
            }
        }
        None
    }

    /// Forgets interfaces that are not in `keep`.
    pub fn retain_ports(&mut self, keep: &BTreeMap<PortIdx, PlannedPort>) {
        self.ports
            .retain(|name, slot| keep.get(slot).is_some_and(|p| &p.name == name));
    }

    /// The counter slot of VNet `vnet` (stable for the daemon's lifetime).
    pub fn counter(&mut self, vnet: &str) -> usize {
        let next = self.counters.len();
        *self.counters.entry(vnet.to_owned()).or_insert(next)
    }
}
