//! Port and counter slots, remembered across plans.
//!
//! Layer: pure state, owned by the daemon for its lifetime and lent to
//! every lowering. Guarantees: an interface keeps its port slot while it
//! stays in the plans; new interfaces get slots round-robin, so a slot
//! freed by a removed guest is not reused by the next one at once (a MAC
//! entry never outlives its port into another one); a VNet keeps its
//! counter slot for the daemon's lifetime.

use std::collections::{BTreeMap, HashMap};

use xsdn_dataplane::tables::{MAX_PORTS, PortSlot};

use super::plan::PlannedPort;

/// Port and counter slots remembered across plans.
#[derive(Debug, Default)]
pub struct SlotAllocator {
    ports: HashMap<String, PortSlot>,
    next_port: PortSlot,
    counters: HashMap<String, usize>,
}

impl SlotAllocator {
    /// The slot of interface `name`, allocating one if new; `in_use` tells
    /// the slots the plan being built holds already.
    pub fn port(&mut self, name: &str, in_use: impl Fn(PortSlot) -> bool) -> Option<PortSlot> {
        if let Some(&slot) = self.ports.get(name) {
            return Some(slot);
        }
        let taken: Vec<PortSlot> = self.ports.values().copied().collect();
        for i in 0..MAX_PORTS {
            let slot = PortSlot::new((self.next_port.index() + i) % MAX_PORTS)?;
            if !taken.contains(&slot) && !in_use(slot) {
                self.next_port = PortSlot::new((slot.index() + 1) % MAX_PORTS)?;
                self.ports.insert(name.to_owned(), slot);
                return Some(slot);
            }
        }
        None
    }

    /// Forgets interfaces that are not in `keep`.
    pub fn retain_ports(&mut self, keep: &BTreeMap<PortSlot, PlannedPort>) {
        self.ports
            .retain(|name, slot| keep.get(slot).is_some_and(|p| &p.name == name));
    }

    /// The counter slot of VNet `vnet` (stable for the daemon's lifetime).
    pub fn counter(&mut self, vnet: &str) -> usize {
        let next = self.counters.len();
        *self.counters.entry(vnet.to_owned()).or_insert(next)
    }
}
