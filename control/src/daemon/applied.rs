//! What the dataplane runs now, as the last reconcile left it.
//!
//! Layer: daemon state. Written only by [`super::reconcile`], read through
//! [`super::view`]. Guarantees: the tables generation grows only when the
//! forwarding tables actually change (compared by value, the generation
//! number aside), so an unchanged re-plan costs the worker nothing.

use std::net::IpAddr;
use std::sync::Arc;

use xsdn_dataplane::tables::ForwardingTables;

use crate::compile::CompiledNode;
use crate::dataplane_host::DataplaneHost;
use crate::diag::Diagnostic;

/// The forwarding tables handed to the worker, and their generation.
#[derive(Debug, Default)]
struct TablesInForce {
    tables: Arc<ForwardingTables>,
    generation: u64,
}

impl TablesInForce {
    /// Adopts `tables` as a new generation when they differ from the ones
    /// in force (the generation number aside); returns whether they did.
    fn adopt(&mut self, mut tables: ForwardingTables) -> bool {
        tables.generation = self.tables.generation;
        if tables == *self.tables {
            return false;
        }
        self.generation += 1;
        tables.generation = self.generation;
        self.tables = Arc::new(tables);
        true
    }
}

/// The running dataplane and the plan it was last moved to.
pub struct Applied {
    host: DataplaneHost,
    in_force: TablesInForce,
    compiled: Option<CompiledNode>,
    diagnostics: Vec<Diagnostic>,
    unresolved: Vec<(u32, IpAddr)>,
}

impl Applied {
    /// A dataplane running empty tables (generation 0).
    pub fn new(host: DataplaneHost) -> Applied {
        Applied {
            host,
            in_force: TablesInForce::default(),
            compiled: None,
            diagnostics: Vec::new(),
            unresolved: Vec::new(),
        }
    }

    /// The dataplane: ports taken over, worker, XDP counters.
    pub fn host(&self) -> &DataplaneHost {
        &self.host
    }

    /// The tables the worker runs.
    pub fn tables(&self) -> &Arc<ForwardingTables> {
        &self.in_force.tables
    }

    /// Generation of the tables the worker runs (0 = none handed out yet).
    pub fn tables_generation(&self) -> u64 {
        self.in_force.generation
    }

    /// The compiled node of the configuration in force.
    pub fn compiled(&self) -> Option<&CompiledNode> {
        self.compiled.as_ref()
    }

    /// What the last plan could not serve.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// `(ifindex, address)` next hops the kernel has not resolved yet.
    pub fn unresolved(&self) -> &[(u32, IpAddr)] {
        &self.unresolved
    }

    pub(super) fn host_mut(&mut self) -> &mut DataplaneHost {
        &mut self.host
    }

    /// Records the outcome of a lowering: the compiled node it came from,
    /// its diagnostics and its unresolved next hops.
    pub(super) fn record(
        &mut self,
        compiled: CompiledNode,
        diagnostics: Vec<Diagnostic>,
        unresolved: Vec<(u32, IpAddr)>,
    ) {
        self.compiled = Some(compiled);
        self.diagnostics = diagnostics;
        self.unresolved = unresolved;
    }

    /// Adopts `tables` as a new generation when they differ from the ones
    /// in force; returns whether they did.
    pub(super) fn adopt_tables(&mut self, tables: ForwardingTables) -> bool {
        self.in_force.adopt(tables)
    }

    /// The dataplane, for shutting it down.
    pub(super) fn into_host(self) -> DataplaneHost {
        self.host
    }
}

#[cfg(test)]
mod tests {
    use xsdn_dataplane::tables::{BdEncap, BridgeDomain};

    use super::*;

    fn one_vnet(name: &str) -> ForwardingTables {
        let mut tables = ForwardingTables::new();
        tables
            .add_bd(BridgeDomain::new(name, "z1", BdEncap::Local))
            .expect("bd");
        tables
    }

    #[test]
    fn a_new_generation_only_when_the_tables_change() {
        let mut in_force = TablesInForce::default();
        assert!(!in_force.adopt(ForwardingTables::new()), "empty as before");
        assert_eq!(in_force.generation, 0);
        assert!(in_force.adopt(one_vnet("v1")));
        assert_eq!(in_force.generation, 1);
        assert_eq!(in_force.tables.generation, 1, "the worker sees the number");
        assert!(!in_force.adopt(one_vnet("v1")), "the same tables again");
        assert_eq!(in_force.generation, 1);
        assert!(in_force.adopt(one_vnet("v2")));
        assert_eq!(in_force.generation, 2);
    }
}
