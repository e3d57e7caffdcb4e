//! The reconcile step: moves the running dataplane to what the
//! configuration in force and the kernel's current state call for.
//!
//! Layer: daemon; the only writer of [`Applied`]. One step observes (a
//! kernel snapshot over netlink, node facts, `compile` for this node, the
//! route toward each VXLAN peer), lowers ([`crate::lower`], pure) and
//! applies the plan: ports that left are given back, kept ports get their
//! host path updated, steering rules are replaced, the tables are swapped
//! when they changed (before new ports are taken over, so a new port is
//! known before its first frame) and new ports are taken over. Failures are
//! logged and leave the rest of the plan applied; the next kernel event or
//! reload retries.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use xsdn_common::PortMode;
use xsdn_dataplane::kernel_tier::Generations;
use xsdn_dataplane::tables::PortSlot;

use crate::compile::{CompiledNode, Encap, compile};
use crate::config::model::SdnConfig;
use crate::dataplane_host::DataplaneHost;
use crate::dataplane_host::ports::PortRequest;
use crate::diag::error_chain;
use crate::lower::{self, LowerSettings, Plan, SlotAllocator, Steering};
use crate::netlink::Kernel;
use crate::node::kernel_state::RouteTo;
use crate::node::live;

use super::applied::Applied;

/// Reconciles the dataplane; owns it through [`Applied`].
pub struct Reconciler {
    node: String,
    kernel: Kernel,
    settings: LowerSettings,
    slots: SlotAllocator,
    generations: Generations,
    applied: Applied,
    /// Managed neighbour entries this daemon created, removed again when
    /// it stops.
    managed: std::collections::BTreeSet<(u32, IpAddr)>,
}

/// How a planned port is taken over: guest ports by the tc program when
/// the kernel tier runs, else by XDP steering everything; uplinks by XDP
/// steering what is the dataplane's.
fn mode_of(steering: Steering, kernel_tier: bool) -> PortMode {
    match steering {
        Steering::All if kernel_tier => PortMode::Guest,
        Steering::All => PortMode::SteerAll,
        Steering::Matched => PortMode::SteerMatched,
    }
}

/// The kernel's route toward every VXLAN peer of `compiled` (peers
/// without one are absent).
async fn peer_routes(kernel: &Kernel, compiled: &CompiledNode) -> HashMap<IpAddr, RouteTo> {
    let mut routes = HashMap::new();
    for vnet in &compiled.vnets {
        if let Encap::Vxlan { peers, .. } = &vnet.encap {
            for peer in peers {
                if routes.contains_key(peer) {
                    continue;
                }
                if let Ok(route) = kernel.route_get(*peer).await {
                    routes.insert(*peer, route);
                }
            }
        }
    }
    routes
}

impl Reconciler {
    /// A reconciler for node `node` running `host`.
    pub fn new(
        node: String,
        kernel: Kernel,
        settings: LowerSettings,
        host: DataplaneHost,
    ) -> Reconciler {
        Reconciler {
            node,
            kernel,
            settings,
            slots: SlotAllocator::default(),
            generations: Generations::default(),
            applied: Applied::new(host),
            managed: std::collections::BTreeSet::new(),
        }
    }

    /// What the dataplane runs now.
    pub fn applied(&self) -> &Applied {
        &self.applied
    }

    /// Whether a VXLAN next hop still waits for the kernel.
    pub fn has_unresolved(&self) -> bool {
        !self.applied.unresolved().is_empty()
    }

    /// Re-reads the kernel state, recompiles `cfg` for this node and
    /// applies the resulting plan.
    pub async fn reconcile(&mut self, cfg: &SdnConfig) {
        let kernel_state = match self.kernel.snapshot().await {
            Ok(state) => state,
            Err(e) => {
                tracing::error!(error = %error_chain(&e), "reading the kernel state");
                return;
            }
        };
        let facts = live::kernel_facts(&self.node, &self.kernel, &kernel_state, cfg).await;
        let compiled = match compile(cfg, &facts) {
            Ok(compiled) => compiled,
            Err(e) => {
                tracing::error!(error = %error_chain(&e), "compiling the configuration for this node");
                return;
            }
        };
        let routes = peer_routes(&self.kernel, &compiled).await;
        let plan = lower::lower(
            &compiled,
            &kernel_state,
            &routes,
            &self.settings,
            &mut self.slots,
        );
        for &(ifindex, ip) in &plan.unresolved {
            match self.kernel.ensure_managed_neighbour(ifindex, ip).await {
                Ok(true) => {
                    self.managed.insert((ifindex, ip));
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(%ip, error = %error_chain(&e), "asking the kernel to resolve a VXLAN next hop");
                }
            }
        }
        if plan.diagnostics != self.applied.diagnostics() {
            for diagnostic in &plan.diagnostics {
                tracing::warn!("{diagnostic}");
            }
        }
        self.applied
            .record(compiled, plan.diagnostics.clone(), plan.unresolved.clone());
        self.apply(plan);
    }

    /// Moves the running dataplane to `plan`.
    fn apply(&mut self, mut plan: Plan) {
        self.generations.assign(&mut plan.tables);
        self.give_back_departed(&plan);
        self.update_host_paths(&plan);
        let host = self.applied.host_mut();
        for (_, e) in host.set_steering(&plan.steer) {
            tracing::error!(error = %error_chain(&e), "installing a steering rule");
        }
        // Tables first, so new ports are known before their first frame.
        // The kernel tier's domains before the worker's tables: a domain
        // whose generation changed stops acting on its old entries at once,
        // and the worker then installs them again for the new tables.
        if self.applied.adopt_tables(plan.tables) {
            let tables = Arc::clone(self.applied.tables());
            if let Err(e) = self.applied.host_mut().apply_kernel_layout(&tables) {
                tracing::error!(error = %error_chain(&e), "writing the kernel tier's maps");
            }
            if let Err(e) = self.applied.host().set_tables(Arc::clone(&tables)) {
                tracing::error!(error = %error_chain(&e), "handing new tables to the worker");
            }
        }
        let kernel_bds = plan.vnet_counters.clone();
        self.take_over_new(plan.ports.into_iter(), &kernel_bds);
    }

    /// Gives back the ports that left the plan or changed identity.
    fn give_back_departed(&mut self, plan: &Plan) {
        let host = self.applied.host_mut();
        let kernel_tier = host.kernel_tier();
        let departed: Vec<PortSlot> = host
            .ports()
            .iter()
            .filter(|(slot, port)| {
                plan.ports.get(slot).is_none_or(|p| {
                    p.name != port.name()
                        || p.ifindex != port.ifindex()
                        || mode_of(p.steering, kernel_tier) != port.mode()
                        || p.vnet
                            .as_ref()
                            .and_then(|v| plan.vnet_counters.get(v))
                            .is_some_and(|&bd| usize::from(port.bd()) != bd)
                })
            })
            .map(|(slot, _)| *slot)
            .collect();
        for slot in departed {
            if let Some(port) = host.ports().get(&slot) {
                tracing::info!(port = %port.name(), "giving the port back to the kernel");
            }
            host.give_back(slot);
        }
    }

    /// Kept ports whose bridge gained or lost host addresses.
    fn update_host_paths(&mut self, plan: &Plan) {
        let host = self.applied.host_mut();
        let changed: Vec<(PortSlot, String, Option<[u8; 6]>)> = host
            .ports()
            .iter()
            .filter_map(|(slot, port)| {
                let planned = plan.ports.get(slot)?;
                (planned.host_mac != port.host_mac())
                    .then(|| (*slot, port.name().to_owned(), planned.host_mac))
            })
            .collect();
        for (slot, name, host_mac) in changed {
            match host.set_host_path(slot, host_mac) {
                Ok(()) => tracing::info!(
                    port = %name,
                    host_path = host_mac.is_some(),
                    "host path changed (frames for the bridge's own addresses go to the kernel)"
                ),
                Err(e) => {
                    tracing::error!(port = %name, error = %error_chain(&e), "updating the port's host path")
                }
            }
        }
    }

    /// Takes over the planned ports the dataplane does not own yet.
    fn take_over_new(
        &mut self,
        planned: impl Iterator<Item = (PortSlot, lower::PlannedPort)>,
        kernel_bds: &std::collections::BTreeMap<String, usize>,
    ) {
        let host = self.applied.host_mut();
        let kernel_tier = host.kernel_tier();
        for (slot, planned) in planned {
            if host.ports().contains_key(&slot) {
                continue;
            }
            let mode = mode_of(planned.steering, kernel_tier);
            let bd = planned
                .vnet
                .as_ref()
                .and_then(|v| kernel_bds.get(v))
                .and_then(|&b| u16::try_from(b).ok())
                .unwrap_or(0);
            let request = PortRequest {
                slot,
                name: planned.name.clone(),
                ifindex: planned.ifindex,
                mode,
                host_mac: planned.host_mac,
                kernel_tier,
                bd,
                // XDP can hand frames to a tap; to a veth only if its peer
                // receives them (NAPI), which a guest's veth does not by
                // default: those go through userspace from the wire.
                xdp_target: planned.kind.as_deref() == Some("tun"),
            };
            match host.take_over(request) {
                Ok(port) => {
                    tracing::info!(
                        port = %port.name(),
                        role = if mode == PortMode::SteerMatched { "uplink" } else { "guest" },
                        vnet = planned.vnet.as_deref().unwrap_or("-"),
                        hook = port.hook(),
                        queues = port.queues(),
                        host_path = port.host_mac().is_some(),
                        "took the port over"
                    );
                }
                Err(e) => {
                    tracing::error!(port = %planned.name, error = %error_chain(&e), "taking the port over")
                }
            }
        }
    }

    /// Removes the managed neighbour entries this daemon created (the
    /// kernel keeps resolving next hops on demand without them).
    pub async fn forget_neighbours(&mut self) {
        for (ifindex, ip) in std::mem::take(&mut self.managed) {
            if let Err(e) = self.kernel.delete_neighbour(ifindex, ip).await {
                tracing::debug!(%ip, error = %error_chain(&e), "removing a managed neighbour entry");
            }
        }
    }

    /// Gives every port back, removes the steering rules and stops the
    /// worker.
    pub fn shutdown(self) {
        self.applied.into_host().shutdown();
        tracing::info!("stopped; every port is back with the kernel");
    }
}
