//! A running test world: the namespaces of a [`Topology`], built with
//! iproute2 commands, plus the processes started in them.
//!
//! [`World::up`] sweeps leftovers of dead test processes, builds the plan
//! (see [`crate::plan`]) and runs it; if any step fails, everything made so
//! far is removed and the error names the command and its stderr.
//! Dropping the world (also while a panic unwinds) stops its processes,
//! deletes its namespaces and its temp dir; so does Ctrl-C (see
//! [`crate::teardown`]). Commands run in a namespace through
//! `ip netns exec <ns> ...`, which only ever accepts this world's
//! namespaces, so tests cannot send traffic anywhere else by mistake.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, DEFAULT_TIMEOUT, Output};
use crate::names::WorldId;
use crate::persist::{self, WorldState};
use crate::plan::{GuestPort, Step, plan};
use crate::preflight::{ensure_root, testbed_bin};
use crate::proc::{Proc, ProcTable};
use crate::sweep::sweep_leftovers;
use crate::teardown::{Teardown, delete_namespace, namespace_exists};
use crate::topology::Topology;
use crate::vmtap;
use crate::wait::wait_until;

/// Timeout of each build command.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// A live set of namespaces; torn down on drop.
pub struct World {
    id: WorldId,
    topology: Topology,
    namespaces: Vec<(String, String)>,
    ports: Vec<GuestPort>,
    dir: PathBuf,
    procs: Arc<ProcTable>,
    teardown: Arc<Teardown>,
}

impl World {
    /// Builds `topo` with unique namespace names (`xsdnt-<pid>-<seq>-<role>`).
    pub fn up(topo: &Topology) -> Result<World> {
        Self::build(topo, WorldId::next_auto())
    }

    /// Builds a by-hand world named `name` (`xsdnt-m-<name>-<role>`), which
    /// the automatic sweep leaves alone; see [`World::persist`].
    pub fn up_named(topo: &Topology, name: &str) -> Result<World> {
        let id = WorldId::manual(name)?;
        if persist::read_state(name)?.is_some() || !persist::live_namespaces(name)?.is_empty() {
            bail!("a world named {name:?} already exists: `xsdn-testbed down {name}` first");
        }
        Self::build(topo, id)
    }

    fn build(topo: &Topology, id: WorldId) -> Result<World> {
        ensure_root()?;
        cmd::require_tool("sysctl")?;
        topo.validate()?;
        if let Err(e) = sweep_leftovers() {
            eprintln!("xsdn-testbed: leftover sweep: {e:#}");
        }
        let plan = plan(topo, &id)?;
        if let WorldId::Auto { .. } = id {
            // Our pid and sequence number are unique among live processes,
            // so an existing namespace of that name is a leftover of a dead
            // process that had our pid.
            for (_, ns) in &plan.namespaces {
                delete_namespace(ns)?;
            }
        }
        let dir = std::env::temp_dir().join(id.dir_name());
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("removing stale {}", dir.display()))?;
        }
        // Created here, not recursively, and private: if anything appeared at
        // this path since the removal above (a planted symlink), creation
        // fails instead of following it.
        std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        let procs = Arc::new(ProcTable::default());
        let names: Vec<String> = plan.namespaces.iter().map(|(_, n)| n.clone()).collect();
        let teardown = Teardown::register(names, Arc::clone(&procs), Some(dir.clone()));
        let world = World {
            id,
            topology: topo.clone(),
            namespaces: plan.namespaces,
            ports: plan.ports,
            dir,
            procs,
            teardown,
        };
        // On error `world` drops here and removes what was made.
        for step in &plan.steps {
            run_step(step, &world.dir).context("building the test world")?;
        }
        Ok(world)
    }

    /// The real namespace name of `role`; panics (naming the known roles)
    /// if the topology has no such namespace. See [`World::try_ns`].
    pub fn ns(&self, role: &str) -> &str {
        match self.try_ns(role) {
            Some(n) => n,
            None => panic!("{}", self.unknown(role)),
        }
    }

    /// The real namespace name of `role`, or `None`.
    pub fn try_ns(&self, role: &str) -> Option<&str> {
        self.namespaces
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, n)| n.as_str())
    }

    /// Resolves a role or a real namespace name of this world.
    pub fn resolve(&self, ns: &str) -> Result<&str> {
        self.namespaces
            .iter()
            .find(|(r, n)| r == ns || n == ns)
            .map(|(_, n)| n.as_str())
            .with_context(|| self.unknown(ns))
    }

    fn unknown(&self, ns: &str) -> String {
        let roles: Vec<&str> = self.namespaces.iter().map(|(r, _)| r.as_str()).collect();
        format!(
            "this world has no namespace {ns:?} (it has: {})",
            roles.join(", ")
        )
    }

    /// `(role, real name)` of every namespace, in creation order.
    pub fn namespaces(&self) -> &[(String, String)] {
        &self.namespaces
    }

    /// The topology this world was built from.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The node-side port of `guest` (e.g. node `node1`, port `tap101i0`).
    pub fn guest_port(&self, guest: &str) -> Option<&GuestPort> {
        self.ports.iter().find(|p| p.guest == guest)
    }

    /// The node-side ports of all guests.
    pub fn guest_ports(&self) -> &[GuestPort] {
        &self.ports
    }

    /// The world's temp dir (process logs, captures).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The world's naming id.
    pub fn id(&self) -> &WorldId {
        &self.id
    }

    fn netns_exec(&self, ns: &str, args: &[&str]) -> Result<Vec<String>> {
        if args.is_empty() {
            bail!("empty command for namespace {ns:?}");
        }
        let real = self.resolve(ns)?;
        let mut v: Vec<String> = ["ip", "netns", "exec", real].map(String::from).to_vec();
        v.extend(args.iter().map(|a| a.to_string()));
        Ok(v)
    }

    /// Runs `args` in namespace `ns` (role or real name); fails with the
    /// command line and stderr on a non-zero exit or after 60 s.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Result<Output> {
        self.try_exec(ns, args)?.check()
    }

    /// Like [`World::exec`] but returns the output whatever the exit status.
    pub fn try_exec(&self, ns: &str, args: &[&str]) -> Result<Output> {
        self.exec_timeout(ns, args, DEFAULT_TIMEOUT)
    }

    /// Runs `args` in `ns` with a timeout; does not check the exit status.
    pub fn exec_timeout(&self, ns: &str, args: &[&str], timeout: Duration) -> Result<Output> {
        cmd::run_unchecked(&self.netns_exec(ns, args)?, timeout)
    }

    /// Starts a background process in `ns`; it is stopped when the returned
    /// [`Proc`] or the world drops. Output goes to files in [`World::dir`].
    pub fn spawn(&self, ns: &str, args: &[&str]) -> Result<Proc> {
        let argv = self.netns_exec(ns, args)?;
        let prog = Path::new(args[0])
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("proc");
        let label = format!("{ns}-{prog}");
        self.procs.spawn(&argv, &self.dir, &label)
    }

    /// Starts a background process in `ns` like [`World::spawn`] and waits
    /// (up to 5 s) until it writes `ready` to stderr: a receiver that must
    /// listen before its sender starts. Fails with its stderr if it exits
    /// or stays silent.
    pub fn spawn_ready(&self, ns: &str, args: &[&str], ready: &str) -> Result<Proc> {
        let proc = self.spawn(ns, args)?;
        let up = crate::wait::wait_until(Duration::from_secs(5), || {
            proc.stderr().contains(ready) || !proc.is_running()
        });
        if !up || !proc.stderr().contains(ready) {
            bail!(
                "`{}` did not start: {}",
                proc.command(),
                proc.stderr().trim()
            );
        }
        Ok(proc)
    }

    /// Everything the world's background processes wrote so far (each
    /// `.out`/`.err` file under a header), for failure messages:
    /// `assert!(ok, "{}", world.logs())`.
    pub fn logs(&self) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "out" || e == "err"));
        files.sort();
        let mut text = String::new();
        for f in files {
            let body = cmd::read_lossy(&f);
            if !body.trim().is_empty() {
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default();
                text.push_str(&format!("==> {name} <==\n{}\n", body.trim_end()));
            }
        }
        text
    }

    /// Sets a sysctl inside `ns` (e.g. `net.ipv4.ip_forward`, `1`).
    pub fn sysctl(&self, ns: &str, key: &str, value: &str) -> Result<()> {
        self.exec(ns, &["sysctl", "-q", "-w", &format!("{key}={value}")])
            .map(|_| ())
    }

    /// Tears down now, reporting errors (dropping does the same silently,
    /// printing errors to stderr).
    pub fn down(self) -> Result<()> {
        self.teardown.run()
    }

    /// Leaves a by-hand world up after this process exits and writes its
    /// state file (`/run/xsdn-testbed/<name>.json`); background processes
    /// are stopped. Only worlds made with [`World::up_named`] can persist.
    pub fn persist(self) -> Result<PathBuf> {
        let WorldId::Manual(name) = &self.id else {
            bail!("only by-hand worlds (World::up_named) can persist; automatic ones are swept");
        };
        let state = WorldState {
            name: name.clone(),
            namespaces: self.namespaces.clone(),
            ports: self.ports.clone(),
            dir: self.dir.clone(),
            topology: self.topology.clone(),
        };
        let path = persist::write_state(&state)?;
        self.teardown.disarm();
        Ok(path)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Err(e) = self.teardown.run() {
            eprintln!("xsdn-testbed: {e:#}");
        }
    }
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("namespaces", &self.namespaces)
            .field("dir", &self.dir)
            .finish()
    }
}

fn run_step(step: &Step, dir: &Path) -> Result<()> {
    match step {
        Step::AddNs(ns) if namespace_exists(ns) => bail!("namespace {ns} already exists"),
        Step::VmTap {
            ns,
            port,
            guest_tap,
        } => start_vm_tap(ns, port, guest_tap, dir),
        _ => cmd::run(&step.command_line(), STEP_TIMEOUT).map(|_| ()),
    }
}

/// Starts the relay of a VM-like guest in the background, detached (a
/// shell starts it and exits, so nothing waits on it: it stops by itself
/// when its taps go away), and waits until both taps exist.
fn start_vm_tap(ns: &str, port: &str, guest_tap: &str, dir: &Path) -> Result<()> {
    let bin = testbed_bin()?;
    let log = vmtap::log_path(dir, port);
    let stats = vmtap::stats_path(dir, port);
    let argv: Vec<String> = [
        "ip",
        "netns",
        "exec",
        ns,
        "sh",
        "-c",
        r#""$0" vmtap --port "$1" --guest-tap "$2" --stats "$3" </dev/null >"$4" 2>&1 &"#,
    ]
    .map(String::from)
    .into_iter()
    .chain([
        bin.display().to_string(),
        port.to_owned(),
        guest_tap.to_owned(),
        stats.display().to_string(),
        log.display().to_string(),
    ])
    .collect();
    cmd::run(&argv, STEP_TIMEOUT)?;
    let exists = |ifname: &str| {
        cmd::run_unchecked(
            &["ip", "-n", ns, "link", "show", "dev", ifname].map(String::from),
            STEP_TIMEOUT,
        )
        .is_ok_and(|o| o.status.success())
    };
    if !wait_until(Duration::from_secs(5), || exists(port) && exists(guest_tap)) {
        bail!(
            "the relay of {port} did not open its taps in {ns}: {}",
            std::fs::read_to_string(&log).unwrap_or_default().trim()
        );
    }
    Ok(())
}
