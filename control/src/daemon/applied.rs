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

/// The running dataplane and the plan it was last moved to.
pub struct Applied {
    host: DataplaneHost,
    tables: Arc<ForwardingTables>,
    tables_generation: u64,
    compiled: Option<CompiledNode>,
    diagnostics: Vec<Diagnostic>,
    unresolved: Vec<(u32, IpAddr)>,
}

impl Applied {
    /// A dataplane running empty tables (generation 0).
    pub fn new(host: DataplaneHost) -> Applied {
        Applied {
            host,
            tables: Arc::new(ForwardingTables::new()),
            tables_generation: 0,
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
        &self.tables
    }

    /// Generation of the tables the worker runs (0 = none handed out yet).
    pub fn tables_generation(&self) -> u64 {
        self.tables_generation
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
    pub(super) fn adopt_tables(&mut self, mut tables: ForwardingTables) -> bool {
        tables.generation = self.tables.generation;
        if tables == *self.tables {
            return false;
        }
        self.tables_generation += 1;
        tables.generation = self.tables_generation;
        self.tables = Arc::new(tables);
        true
    }

    /// The dataplane, for shutting it down.
    pub(super) fn into_host(self) -> DataplaneHost {
        self.host
    }
}
