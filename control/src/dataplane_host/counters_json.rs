//! The XDP program's counters as JSON, shared by `xsdn switch`'s summary
//! and the daemon's `xsdn show counters`.
//!
//! Layer: pure formatting. Names are [`XdpStat::name`], the same as the
//! Prometheus `action` label.

use serde_json::Value;
use xsdn_common::{XDP_STAT_COUNT, XdpStat};

/// The XDP program's counters as `{name: frames}`.
pub fn xdp_json(stats: &[u64; XDP_STAT_COUNT as usize]) -> Value {
    XdpStat::ALL
        .iter()
        .map(|&stat| (stat.name().to_owned(), Value::from(stats[stat as usize])))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
