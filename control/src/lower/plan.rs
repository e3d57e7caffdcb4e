//! What lowering produces: the [`Plan`] the daemon reconciles the running
//! dataplane to, and the settings that shape it.
//!
//! Layer: pure data. A plan is complete and self-consistent for one
//! (configuration, kernel state) pair: its tables reference only the port
//! slots of its `ports`, and its steering keys only their interfaces.

use std::collections::BTreeMap;
use std::net::IpAddr;

use xsdn_common::SteerKey;
use xsdn_dataplane::tables::{ForwardingTables, PortSlot};

use crate::diag::Diagnostic;

/// Node settings that shape the plan.
#[derive(Clone, Debug, Default)]
pub struct LowerSettings {
    /// Uplinks to use instead of the zone bridges' ports / routed ports.
    pub uplinks: Vec<String>,
    /// Explicit guest ports: interface -> VNet.
    pub ports: BTreeMap<String, String>,
    /// VTEP source address override.
    pub vtep_ip: Option<IpAddr>,
}

/// How the XDP program treats a planned port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Steering {
    /// Every frame to the dataplane (guest ports).
    All,
    /// Only frames matching the plan's steering keys (uplinks).
    Matched,
}

/// An interface the dataplane takes over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedPort {
    /// Interface name.
    pub name: String,
    /// Interface index.
    pub ifindex: u32,
    /// Steering mode.
    pub steering: Steering,
    /// The VNet (guest ports) or `None` (uplinks).
    pub vnet: Option<String>,
    /// A guest port whose VNet bridge carries host addresses: the bridge's
    /// MAC (frames for the host's stack go to the kernel).
    pub host_mac: Option<[u8; 6]>,
    /// The interface's kind (`tun` for a VM's tap, `veth` for a
    /// container's), as the kernel reports it.
    pub kind: Option<String>,
}

/// The dataplane state for one configuration and kernel generation.
#[derive(Debug, Default)]
pub struct Plan {
    /// Forwarding tables for the workers (generation 0: the daemon numbers
    /// the generations it hands out).
    pub tables: ForwardingTables,
    /// Interfaces to take over, by port slot.
    pub ports: BTreeMap<PortSlot, PlannedPort>,
    /// Uplink steering rules for the XDP program.
    pub steer: Vec<SteerKey>,
    /// `(ifindex, address)` next hops the kernel must resolve (the daemon
    /// asks for managed neighbour entries).
    pub unresolved: Vec<(u32, IpAddr)>,
    /// Counter slot of each VNet.
    pub vnet_counters: BTreeMap<String, usize>,
    /// Parts of the configuration this node cannot serve, and why (see
    /// [`super::DIAGNOSTIC_FILE`]).
    pub diagnostics: Vec<Diagnostic>,
}

impl Plan {
    /// The slot of the planned port called `name`.
    pub fn slot_of(&self, name: &str) -> Option<PortSlot> {
        self.ports
            .iter()
            .find(|(_, p)| p.name == name)
            .map(|(&slot, _)| slot)
    }
}
