//! By-hand worlds that outlive the command that made them.
//!
//! [`crate::World::persist`] writes `/run/xsdn-testbed/<name>.json`
//! ([`WorldState`]) and leaves the namespaces (`xsdnt-m-<name>-<role>`)
//! up; [`down`] removes exactly that world's namespaces, its temp dir and
//! the state file. `/run` is a tmpfs, so a reboot forgets everything, like
//! the namespaces themselves.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::names::{NsOwner, WorldId, check_world_name};
use crate::plan::GuestPort;
use crate::sweep::our_namespaces;
use crate::teardown::delete_namespace;
use crate::topology::Topology;

/// Directory of the state files.
pub const STATE_DIR: &str = "/run/xsdn-testbed";

/// Contents of a state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorldState {
    /// World name.
    pub name: String,
    /// `(role, namespace)` pairs.
    pub namespaces: Vec<(String, String)>,
    /// Node-side guest ports.
    pub ports: Vec<GuestPort>,
    /// Temp dir of the world (logs), removed by `down`.
    pub dir: PathBuf,
    /// The topology it was built from.
    pub topology: Topology,
}

/// Path of the state file of world `name`.
pub fn state_path(name: &str) -> PathBuf {
    Path::new(STATE_DIR).join(format!("{name}.json"))
}

/// Writes the state file.
pub fn write_state(state: &WorldState) -> Result<PathBuf> {
    std::fs::create_dir_all(STATE_DIR).with_context(|| format!("creating {STATE_DIR}"))?;
    let path = state_path(&state.name);
    let json = serde_json::to_string_pretty(state).context("serialising world state")?;
    std::fs::write(&path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Reads the state file of world `name`, `None` if there is none.
pub fn read_state(name: &str) -> Result<Option<WorldState>> {
    let path = state_path(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let state =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(Some(state))
}

/// All state files, sorted by name.
pub fn list_states() -> Result<Vec<WorldState>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(STATE_DIR) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("listing {STATE_DIR}")),
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".json")) else {
            continue;
        };
        if let Some(s) = read_state(name)? {
            out.push(s);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Namespaces of by-hand world `name` that exist right now.
pub fn live_namespaces(name: &str) -> Result<Vec<String>> {
    Ok(our_namespaces()?
        .into_iter()
        .filter(|(_, o)| matches!(o, NsOwner::Manual { world, .. } if world == name))
        .map(|(n, _)| n)
        .collect())
}

/// Removes by-hand world `name`: its namespaces (from the state file and
/// any other `xsdnt-m-<name>-*`), temp dir and state file. Returns the
/// namespaces deleted; fails if the world does not exist.
pub fn down(name: &str) -> Result<Vec<String>> {
    check_world_name(name)?;
    let state = read_state(name)?;
    let prefix = WorldId::Manual(name.to_string()).prefix();
    let mut targets: Vec<String> = live_namespaces(name)?;
    if let Some(s) = &state {
        for (_, ns) in &s.namespaces {
            if ns.starts_with(&prefix) && !targets.contains(ns) {
                targets.push(ns.clone());
            }
        }
    }
    if state.is_none() && targets.is_empty() {
        bail!("no by-hand world named {name:?} (see `xsdn-testbed list`)");
    }
    let mut deleted = Vec::new();
    // Guests were created last: delete in reverse name order of the state,
    // which does not matter for correctness (deleting a namespace deletes
    // its veth ends and their peers).
    for ns in targets.iter().rev() {
        delete_namespace(ns)?;
        deleted.push(ns.clone());
    }
    if let Some(s) = &state {
        let is_ours = s
            .dir
            .file_name()
            .and_then(|f| f.to_str())
            .is_some_and(|f| f == prefix.trim_end_matches('-'));
        if is_ours {
            match std::fs::remove_dir_all(&s.dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", s.dir.display())),
            }
        }
        let path = state_path(name);
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(deleted)
}
