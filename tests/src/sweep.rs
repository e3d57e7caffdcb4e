//! Leftover sweep: removes what crashed or SIGKILLed test processes left
//! behind, and nothing else.
//!
//! Only automatic-world namespaces (`xsdnt-<pid>-<seq>-<role>`) whose
//! `<pid>` no longer runs are deleted (processes inside them are killed
//! first), plus their temp dirs `$TMPDIR/xsdnt-<pid>-<seq>`. Namespaces
//! without the `xsdnt-` prefix, by-hand worlds (`xsdnt-m-...`) and worlds
//! of live processes are never touched. Cheap when there is nothing to do:
//! one directory listing of `/run/netns`.

use anyhow::{Context, Result};

use crate::names::{NsOwner, parse_dir_name, parse_ns_name};
use crate::sys;
use crate::teardown::delete_namespace;

/// Where iproute2 keeps named network namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// What a sweep removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Namespaces deleted.
    pub namespaces: Vec<String>,
    /// Temp dirs removed.
    pub dirs: Vec<String>,
}

/// All named network namespaces (sorted; empty if none were ever made).
pub fn list_namespaces() -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = match std::fs::read_dir(NETNS_DIR) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(e).with_context(|| format!("listing {NETNS_DIR}")),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {NETNS_DIR}"))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Namespaces of this project (any owner), sorted.
pub fn our_namespaces() -> Result<Vec<(String, NsOwner)>> {
    Ok(list_namespaces()?
        .into_iter()
        .filter_map(|n| parse_ns_name(&n).map(|o| (n, o)))
        .collect())
}

/// True if the namespace belongs to an automatic world whose process is gone.
pub fn is_leftover(owner: &NsOwner) -> bool {
    match owner {
        NsOwner::Auto { pid, .. } => !sys::pid_running(*pid),
        NsOwner::Manual { .. } => false,
    }
}

/// Removes leftovers of dead test processes (see the module docs).
pub fn sweep_leftovers() -> Result<SweepReport> {
    let mut report = SweepReport::default();
    let mut errors = Vec::new();
    for (name, owner) in our_namespaces()? {
        if is_leftover(&owner) {
            match delete_namespace(&name) {
                Ok(()) => report.namespaces.push(name),
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
    }
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(String::from) else {
                continue;
            };
            let Some((pid, _)) = parse_dir_name(&name) else {
                continue;
            };
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && !sys::pid_running(pid) {
                match std::fs::remove_dir_all(entry.path()) {
                    Ok(()) => report.dirs.push(entry.path().display().to_string()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => errors.push(format!("removing {}: {e}", entry.path().display())),
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(report)
    } else {
        anyhow::bail!("sweep: {}", errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_rules() {
        let me = std::process::id();
        assert!(!is_leftover(&NsOwner::Auto {
            pid: me,
            seq: 0,
            role: "n".into()
        }));
        assert!(is_leftover(&NsOwner::Auto {
            pid: 4_194_305,
            seq: 0,
            role: "n".into()
        }));
        assert!(!is_leftover(&NsOwner::Manual {
            world: "demo".into(),
            role: "n".into()
        }));
    }
}
