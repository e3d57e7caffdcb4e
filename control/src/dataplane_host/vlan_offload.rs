//! RX VLAN stripping on uplinks.
//!
//! Layer: system edge (runs `ethtool`), used only by [`super::ports`].
//!
//! A NIC that strips VLAN tags on receive (`rx-vlan-offload`, and
//! `rx-vlan-stag-hw-parse` for 802.1ad) hands XDP an untagged frame and
//! keeps the tag in the descriptor, where the XDP program cannot steer on
//! it. While the daemon owns an uplink it turns both off, so tags stay in
//! the frame; when it gives the uplink back it restores what was on. After
//! a crash the setting simply stays off, which costs the kernel path
//! nothing: it handles in-frame tags itself.
//!
//! Done with the `ethtool` tool (present on every Proxmox node): the
//! feature interface is a generic-netlink family of its own, and a one-off
//! call per uplink does not justify a second netlink stack.

use std::process::Command;

/// Features that strip VLAN tags on receive.
const STRIPPING: [(&str, &str); 2] = [
    ("rx-vlan-offload", "rxvlan"),
    ("rx-vlan-stag-hw-parse", "rx-vlan-stag-hw-parse"),
];

/// Stripping features that were on (and changeable) before the daemon
/// turned them off; restored with [`restore`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stripping {
    was_on: Vec<&'static str>,
}

/// Parses `ethtool -k` output: the `-K` names of the stripping features
/// that are on and not fixed.
fn enabled(ethtool_k: &str) -> Vec<&'static str> {
    STRIPPING
        .iter()
        .filter(|(shown, _)| {
            ethtool_k.lines().any(|line| {
                let line = line.trim();
                line.strip_prefix(shown)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .is_some_and(|v| v.trim() == "on")
            })
        })
        .map(|(_, set)| *set)
        .collect()
}

fn ethtool_set(ifname: &str, features: &[&str], value: &str) -> Result<(), String> {
    let mut cmd = Command::new("ethtool");
    cmd.arg("-K").arg(ifname);
    for f in features {
        cmd.args([f, value]);
    }
    match cmd.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// Turns RX VLAN stripping off on `ifname`; returns what to restore.
/// Failures are logged: a NIC without the feature needs nothing.
pub fn disable(ifname: &str) -> Stripping {
    let shown = match Command::new("ethtool").arg("-k").arg(ifname).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(_) | Err(_) => {
            tracing::debug!(
                port = ifname,
                "ethtool -k unavailable; VLAN stripping left as is"
            );
            return Stripping::default();
        }
    };
    let was_on = enabled(&shown);
    if was_on.is_empty() {
        return Stripping::default();
    }
    match ethtool_set(ifname, &was_on, "off") {
        Ok(()) => {
            tracing::info!(port = ifname, features = %was_on.join(","), "RX VLAN stripping off while the dataplane owns the uplink");
            Stripping { was_on }
        }
        Err(e) => {
            tracing::warn!(port = ifname, error = %e, "cannot turn RX VLAN stripping off: tagged frames may bypass the dataplane");
            Stripping::default()
        }
    }
}

/// Restores what [`disable`] turned off.
pub fn restore(ifname: &str, stripping: &Stripping) {
    if stripping.was_on.is_empty() {
        return;
    }
    if let Err(e) = ethtool_set(ifname, &stripping.was_on, "on") {
        tracing::debug!(port = ifname, error = %e, "restoring RX VLAN stripping");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_changeable_features_that_are_on() {
        let out = "Features for eno1:\n\
                   rx-checksumming: on\n\
                   rx-vlan-offload: on\n\
                   tx-vlan-offload: on\n\
                   rx-vlan-stag-hw-parse: off\n";
        assert_eq!(enabled(out), ["rxvlan"]);
        let fixed = "rx-vlan-offload: off [fixed]\nrx-vlan-stag-hw-parse: on [fixed]\n";
        assert!(enabled(fixed).is_empty(), "fixed features cannot change");
        let both = "rx-vlan-offload: on\nrx-vlan-stag-hw-parse: on\n";
        assert_eq!(enabled(both), ["rxvlan", "rx-vlan-stag-hw-parse"]);
    }
}
