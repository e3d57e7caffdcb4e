//! Watching a frame's walk: the hooks the walk calls at each stage.
//!
//! The same walk serves forwarding ([`Quiet`]: every hook is an empty
//! inlined default, so the compiled hot path is the walk alone), tracing
//! (`xsdn trace`: a recording observer with [`Observer::LIVE`] false, so
//! nothing is learnt or counted) and tests (observers that collect the
//! decision). An observer sees; it never steers.

use crate::counters::DropReason;
use crate::tables::{BdId, ForwardingTables};
use crate::wire::{EthernetAddress, FrameMeta, Malformed};

use super::fdb::Fdb;
use super::{Action, InnerFrame, Source};

/// Where in the walk a frame was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Header validation.
    Parse,
    /// Finding the bridge domain.
    Classify,
    /// Looking up the destination.
    Lookup,
    /// Building the outputs (a flood with nowhere to go).
    Egress,
}

impl Stage {
    /// The stage's name, as `xsdn trace` prints it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Classify => "classify",
            Stage::Lookup => "lookup",
            Stage::Egress => "egress",
        }
    }
}

/// Hooks called by the walk, in this order: [`parsed`](Self::parsed),
/// [`classified`](Self::classified), then [`unicast`](Self::unicast) or
/// [`flooded`](Self::flooded), then [`output`](Self::output) once per
/// output; [`dropped`](Self::dropped) ends the walk early for a frame that
/// is dropped whole. Every hook has a no-op default.
pub trait Observer {
    /// Whether the walk has effects: learning the source MAC and counting.
    /// A trace sets it to `false` and changes nothing.
    const LIVE: bool = true;

    /// The frame's outer headers parsed.
    #[inline(always)]
    fn parsed(&mut self, _frame: &[u8], _meta: &FrameMeta) {}

    /// Which header was malformed (before [`dropped`](Self::dropped) with
    /// `malformed`).
    #[inline(always)]
    fn malformed(&mut self, _why: Malformed) {}

    /// The whole frame is dropped at `stage`.
    #[inline(always)]
    fn dropped(&mut self, _stage: Stage, _reason: DropReason) {}

    /// The frame belongs to bridge domain `bd` and came from `source`;
    /// `frame` is the received frame as it will be forwarded (a guest's
    /// partial checksum completed), `inner` says where its inner frame is
    /// and what was stripped, `inner_meta` describes the inner frame.
    #[inline(always)]
    fn classified(
        &mut self,
        _tables: &ForwardingTables,
        _bd: BdId,
        _source: Source,
        _frame: &[u8],
        _inner: &InnerFrame,
        _inner_meta: &FrameMeta,
    ) {
    }

    /// `dst` is a known unicast destination of `bd`, reached by `action`:
    /// the cacheable `(bridge domain, destination MAC) -> action` pair.
    #[inline(always)]
    fn unicast(
        &mut self,
        _tables: &ForwardingTables,
        _fdb: &Fdb,
        _bd: BdId,
        _dst: &EthernetAddress,
        _action: &Action,
    ) {
    }

    /// `dst` (broadcast, multicast or unknown) is flooded in `bd`.
    #[inline(always)]
    fn flooded(&mut self, _bd: BdId, _dst: &EthernetAddress) {}

    /// One output: the bytes that leave on `action.port`, or why this
    /// output was dropped.
    #[inline(always)]
    fn output(
        &mut self,
        _tables: &ForwardingTables,
        _action: &Action,
        _result: Result<&[u8], DropReason>,
    ) {
    }
}

/// The forwarding path's observer: sees nothing, costs nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {}
