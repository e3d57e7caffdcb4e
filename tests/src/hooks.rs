//! Which eBPF programs hold an interface, as the kernel reports it: XDP
//! (from `ip link`) and tcx ingress/egress (a `BPF_PROG_QUERY` by
//! `xsdn-testbed hooks`, run inside the namespace). Tests use it to check
//! that the dataplane hooked a port, and that it left nothing behind.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::preflight::testbed_bin;
use crate::world::World;

/// The programs on one interface.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hooks {
    /// An XDP program is attached.
    pub xdp: bool,
    /// Names of the tcx ingress programs.
    pub tcx_ingress: Vec<String>,
    /// Names of the tcx egress programs.
    pub tcx_egress: Vec<String>,
}

impl Hooks {
    /// Any program at all.
    pub fn any(&self) -> bool {
        self.xdp || !self.tcx_ingress.is_empty() || !self.tcx_egress.is_empty()
    }
}

/// The tcx programs of `ifname` in the current namespace (what
/// `xsdn-testbed hooks` prints, `xdp` left false).
pub fn query_tcx(ifname: &str) -> Result<Hooks> {
    use aya::programs::{SchedClassifier, TcAttachType};
    let names = |attach| -> Result<Vec<String>> {
        let (_, programs) = SchedClassifier::query_tcx(ifname, attach)
            .with_context(|| format!("querying the tcx programs of {ifname}"))?;
        Ok(programs
            .iter()
            .map(|p| p.name_as_str().unwrap_or("?").to_owned())
            .collect())
    };
    Ok(Hooks {
        xdp: false,
        tcx_ingress: names(TcAttachType::Ingress)?,
        tcx_egress: names(TcAttachType::Egress)?,
    })
}

impl World {
    /// The eBPF programs on interface `ifname` of namespace `ns`.
    pub fn hooks(&self, ns: &str, ifname: &str) -> Result<Hooks> {
        let link = self.exec(ns, &["ip", "link", "show", "dev", ifname])?;
        let bin = testbed_bin()?;
        let bin = bin.to_str().context("testbed binary path is not UTF-8")?;
        let out = self.exec(ns, &[bin, "hooks", ifname])?;
        let mut hooks: Hooks = serde_json::from_str(out.stdout.trim())
            .with_context(|| format!("xsdn-testbed hooks {ifname}: {:?}", out.stdout))?;
        hooks.xdp = link.stdout.contains("prog/xdp") || link.stdout.contains(" xdp");
        Ok(hooks)
    }
}
