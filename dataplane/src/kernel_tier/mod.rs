//! The in-kernel tier, seen from userspace: what the userspace pipeline
//! writes into the eBPF programs' maps, and when.
//!
//! The userspace pipeline stays the reference: it decides every frame the
//! kernel tier punts (new and moved sources, unknown destinations,
//! broadcast, multicast, tagged guest frames, anything unusual) and
//! everything it learns becomes an entry the kernel tier can act on.
//!
//! - [`entries`] (pure): the `FdbValue` of a MAC at a location: the
//!   [`Action`](crate::pipeline::Action) that reaches it, with the egress
//!   interface and, for VXLAN over IPv4, the resolved outer headers;
//! - [`layout`] (pure): the rest of the maps' contents for one tables
//!   generation: bridge domains with their generations and flags, tag and
//!   VNI bindings on uplinks, the peers allowed into each VXLAN domain,
//!   our VTEP addresses;
//! - [`generations`] (pure): gives each bridge domain a generation that
//!   changes exactly when a cached decision of that domain could become
//!   wrong (its tag, VNI, peers or their next hops, member ports, MTUs,
//!   isolation), so a reload invalidates what it must and nothing else;
//! - [`maps`] (the I/O edge): typed handles on the maps, applied by diff,
//!   the MAC-table writer the worker uses, and the counters;
//! - [`counters`] (pure): the kernel tier's per-port and per-domain
//!   figures, added into the userspace tier's snapshots.

pub mod counters;
pub mod entries;
pub mod generations;
pub mod layout;
pub mod maps;

pub use counters::{KernelBdCounters, KernelPortCounters};
pub use entries::{fdb_entry, fdb_key, kernel_bd};
pub use generations::Generations;
pub use layout::{Layout, layout};
pub use maps::{FdbWriter, KernelMaps, KernelMapsError};
