//! Tearing worlds down: on drop, during panic unwinding, and on
//! Ctrl-C/SIGTERM/SIGHUP.
//!
//! Each live world registers a [`Teardown`] in a process-global registry.
//! The first world installs a signal handler (the `ctrlc` crate: a
//! self-pipe and its own thread, so the handler may run commands) that
//! tears every registered world down and exits with status 130.
//! A teardown runs at most once, whoever gets there first.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::Duration;

use anyhow::{Result, anyhow};

use crate::cmd;
use crate::proc::{ProcTable, STOP_GRACE};
use crate::sys::{self, Sig};

/// What must be removed when a world goes away.
pub struct Teardown {
    id: u64,
    state: Mutex<Option<Parts>>,
}

struct Parts {
    namespaces: Vec<String>,
    procs: Arc<ProcTable>,
    dir: Option<PathBuf>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);
static REGISTRY: Mutex<Option<HashMap<u64, Arc<Teardown>>>> = Mutex::new(None);
static HANDLER: Once = Once::new();

fn registry() -> MutexGuard<'static, Option<HashMap<u64, Arc<Teardown>>>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

impl Teardown {
    /// Registers a world's namespaces, processes and temp dir (`dir` is
    /// removed recursively at teardown).
    pub fn register(
        namespaces: Vec<String>,
        procs: Arc<ProcTable>,
        dir: Option<PathBuf>,
    ) -> Arc<Self> {
        install_signal_handler();
        let t = Arc::new(Teardown {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            state: Mutex::new(Some(Parts {
                namespaces,
                procs,
                dir,
            })),
        });
        registry()
            .get_or_insert_with(HashMap::new)
            .insert(t.id, Arc::clone(&t));
        t
    }

    fn take(&self) -> Option<Parts> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn unregister(&self) {
        if let Some(map) = registry().as_mut() {
            map.remove(&self.id);
        }
    }

    /// Removes everything now; later calls do nothing. Returns the first
    /// errors (everything is attempted regardless).
    pub fn run(&self) -> Result<()> {
        // Hold the state lock for the whole run so a concurrent caller (the
        // signal handler) waits until the namespaces are really gone.
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let result = match guard.take() {
            Some(parts) => parts.remove(),
            None => Ok(()),
        };
        drop(guard);
        self.unregister();
        result
    }

    /// Forgets everything without removing it (the world persists), except
    /// that background processes are stopped.
    pub fn disarm(&self) {
        if let Some(parts) = self.take() {
            parts.procs.shutdown(STOP_GRACE);
        }
        self.unregister();
    }
}

impl Parts {
    fn remove(self) -> Result<()> {
        self.procs.shutdown(STOP_GRACE);
        let mut errors = Vec::new();
        // Guests first, switch last: the reverse of creation.
        for ns in self.namespaces.iter().rev() {
            if let Err(e) = delete_namespace(ns) {
                errors.push(format!("{e:#}"));
            }
        }
        if let Some(dir) = &self.dir
            && let Err(e) = std::fs::remove_dir_all(dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            errors.push(format!("removing {}: {e}", dir.display()));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(anyhow!("teardown: {}", errors.join("; ")))
        }
    }
}

/// Kills every process inside `ns` (SIGKILL) and deletes it. A namespace
/// that is already gone is not an error.
pub fn delete_namespace(ns: &str) -> Result<()> {
    if !namespace_exists(ns) {
        return Ok(());
    }
    let timeout = Duration::from_secs(10);
    if let Ok(out) = cmd::run_unchecked(&["ip", "netns", "pids", ns], timeout) {
        for pid in out
            .stdout
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
        {
            if pid != std::process::id() {
                sys::kill_pid(pid, Sig::Kill);
            }
        }
    }
    let out = cmd::run_unchecked(&["ip", "netns", "del", ns], timeout)?;
    if out.success() || !namespace_exists(ns) {
        Ok(())
    } else {
        out.check().map(|_| ())
    }
}

/// True if `/run/netns/<ns>` exists.
pub fn namespace_exists(ns: &str) -> bool {
    std::path::Path::new(crate::sweep::NETNS_DIR)
        .join(ns)
        .exists()
}

/// Tears every registered world down (used by the signal handler).
pub fn teardown_all() {
    let worlds: Vec<Arc<Teardown>> = registry()
        .as_ref()
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default();
    for w in worlds {
        if let Err(e) = w.run() {
            eprintln!("xsdn-testbed: {e:#}");
        }
    }
}

/// Installs the Ctrl-C/SIGTERM/SIGHUP handler once per process.
pub fn install_signal_handler() {
    HANDLER.call_once(|| {
        let res = ctrlc::set_handler(|| {
            eprintln!("xsdn-testbed: interrupted, tearing down test worlds");
            teardown_all();
            std::process::exit(130);
        });
        if let Err(e) = res {
            eprintln!(
                "xsdn-testbed: could not install the Ctrl-C handler ({e}); \
                 leftovers of an interrupted run are removed by the next sweep"
            );
        }
    });
}
