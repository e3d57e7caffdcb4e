//! The SDN configuration in force: where it is read from, whether it
//! changed, and how the last reload went.
//!
//! Layer: daemon; reads files through [`crate::config::load`] and checks
//! them with [`crate::validate`], off the forwarding path. Guarantees: a
//! configuration with errors never replaces the one in force (it is
//! reported and counted); the generation counts distinct configurations,
//! so reading the same files again keeps it; change detection compares the
//! size, modification time and content of every file [`load::load`] may
//! read (pmxcfs keeps whole-second modification times, so an edit that
//! keeps the size within the same second shows only in the content).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::config::load::{self, Prefer};
use crate::config::model::SdnConfig;
use crate::diag::{Severity, error_chain};
use crate::validate;

/// Result of one configuration load.
#[derive(Clone, Debug)]
pub struct ReloadOutcome {
    /// When it happened.
    pub at: SystemTime,
    /// Whether the configuration was accepted.
    pub ok: bool,
    /// Errors (when rejected) and warnings, one line each.
    pub messages: Vec<String>,
}

/// Modification time, size and a hash of the content of each watched file
/// (`None`: absent).
type Fingerprint = Vec<(PathBuf, Option<(SystemTime, u64, u64)>)>;

/// Files larger than this are told apart by time and size only (no
/// configuration file of Proxmox's is near it).
const HASHED_UP_TO: u64 = 4 << 20;

/// The configuration in force and the reloads that led to it.
#[derive(Debug)]
pub struct ConfigSource {
    path: PathBuf,
    fingerprint: Fingerprint,
    generation: u64,
    in_force: Option<SdnConfig>,
    last: Option<ReloadOutcome>,
    reloads_ok: u64,
    reloads_failed: u64,
}

impl ConfigSource {
    /// A source reading `path` (a directory or a file); nothing is read
    /// before the first [`ConfigSource::reload`].
    pub fn new(path: PathBuf) -> ConfigSource {
        ConfigSource {
            path,
            fingerprint: Vec::new(),
            generation: 0,
            in_force: None,
            last: None,
            reloads_ok: 0,
            reloads_failed: 0,
        }
    }

    fn fingerprint(&self) -> Fingerprint {
        load::watched_files(&self.path)
            .into_iter()
            .map(|p| {
                let stamp = std::fs::metadata(&p).ok().map(|m| {
                    let hash = if m.len() <= HASHED_UP_TO {
                        content_hash(&p)
                    } else {
                        0
                    };
                    (
                        m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                        m.len(),
                        hash,
                    )
                });
                (p, stamp)
            })
            .collect()
    }

    /// Whether the configuration files changed since the last load.
    pub fn changed(&self) -> bool {
        self.fingerprint() != self.fingerprint
    }

    /// Loads, validates and (if valid) adopts the configuration. An
    /// invalid configuration leaves the one in force untouched.
    pub fn reload(&mut self) -> &ReloadOutcome {
        self.fingerprint = self.fingerprint();
        let outcome = match load::load(&self.path, Prefer::Running) {
            Err(e) => ReloadOutcome {
                at: SystemTime::now(),
                ok: false,
                messages: vec![error_chain(&e)],
            },
            Ok(loaded) => {
                let diagnostics = validate::report(&loaded.parsed);
                let errors: Vec<String> = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .map(ToString::to_string)
                    .collect();
                if errors.is_empty() {
                    if self.in_force.as_ref() != Some(&loaded.parsed.config) {
                        self.in_force = Some(loaded.parsed.config);
                        self.generation += 1;
                    }
                    ReloadOutcome {
                        at: SystemTime::now(),
                        ok: true,
                        messages: diagnostics.iter().map(ToString::to_string).collect(),
                    }
                } else {
                    ReloadOutcome {
                        at: SystemTime::now(),
                        ok: false,
                        messages: errors,
                    }
                }
            }
        };
        if outcome.ok {
            self.reloads_ok += 1;
            tracing::info!(
                generation = self.generation,
                warnings = outcome.messages.len(),
                "configuration loaded"
            );
        } else {
            self.reloads_failed += 1;
            tracing::error!(
                errors = %outcome.messages.join("; "),
                "configuration rejected; the previous one stays in force"
            );
        }
        self.last.insert(outcome)
    }

    /// Where the configuration is read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The configuration in force (`None` until one was accepted).
    pub fn in_force(&self) -> Option<&SdnConfig> {
        self.in_force.as_ref()
    }

    /// Generation of the configuration in force (0 = none yet).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The last reload attempt.
    pub fn last_reload(&self) -> Option<&ReloadOutcome> {
        self.last.as_ref()
    }

    /// Accepted reloads.
    pub fn reloads_ok(&self) -> u64 {
        self.reloads_ok
    }

    /// Rejected reloads.
    pub fn reloads_failed(&self) -> u64 {
        self.reloads_failed
    }
}

/// A hash of `path`'s content (0 if it cannot be read).
fn content_hash(path: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let Ok(bytes) = std::fs::read(path) else {
        return 0;
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_of_the_same_size_in_the_same_second_is_seen() {
        let dir = std::env::temp_dir().join(format!("xsdn-config-same-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let zones = dir.join("zones.cfg");
        std::fs::write(&zones, "simple: z1\n").expect("write");
        let when = std::fs::metadata(&zones)
            .and_then(|m| m.modified())
            .expect("mtime");
        let mut source = ConfigSource::new(dir.clone());
        assert!(source.reload().ok);
        assert!(!source.changed());
        // As pmxcfs may show it: another zone name of the same length, the
        // modification time unchanged.
        std::fs::write(&zones, "simple: z2\n").expect("write");
        std::fs::File::options()
            .write(true)
            .open(&zones)
            .and_then(|f| f.set_modified(when))
            .expect("set mtime");
        assert!(
            source.changed(),
            "a same-size edit within one second was missed"
        );
        assert!(source.reload().ok);
        assert_eq!(source.generation(), 2);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn invalid_configurations_never_replace_the_one_in_force() {
        let dir = std::env::temp_dir().join(format!("xsdn-config-source-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let zones = dir.join("zones.cfg");
        std::fs::write(&zones, "simple: z1\n").expect("write");
        let mut source = ConfigSource::new(dir.clone());
        assert!(source.changed(), "never loaded");
        assert!(source.reload().ok);
        assert_eq!(source.generation(), 1);
        assert!(!source.changed());
        assert!(source.reload().ok, "the same files again");
        assert_eq!(
            source.generation(),
            1,
            "same configuration, same generation"
        );
        std::fs::write(dir.join("vnets.cfg"), "vnet: v1\n\tzone nope\n").expect("write");
        assert!(source.changed());
        let outcome = source.reload();
        assert!(!outcome.ok);
        assert!(
            outcome.messages.iter().any(|m| m.starts_with("vnets.cfg:")),
            "{:?}",
            outcome.messages
        );
        assert_eq!(source.generation(), 1);
        assert!(source.in_force().is_some_and(|c| c.zones.len() == 1));
        assert_eq!((source.reloads_ok(), source.reloads_failed()), (2, 1));
        std::fs::remove_dir_all(&dir).expect("cleanup");
        let outcome = source.reload();
        assert!(!outcome.ok);
        assert!(
            outcome.messages[0].starts_with("cannot access "),
            "{:?}",
            outcome.messages
        );
    }
}
