//! Background processes of a world (daemons, tcpdump, iperf3 servers).
//!
//! Each [`Proc`] runs in its own process group with stdout/stderr going to
//! files in the world's temp directory, so a failing test can print them.
//! The children live in a [`ProcTable`] shared by the world and the handles:
//! whichever drops first (the `Proc` or the `World`) stops the process with
//! SIGTERM to the whole group, then SIGKILL after a grace period.
//!
//! A leader is reaped only after its group has been SIGKILLed, so a group
//! id is never signalled after the kernel could have reused it.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::cmd::{self, Output};
use crate::sys::{self, Sig};

/// Grace between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

enum State {
    Running(Child),
    Exited(ExitStatus),
}

#[derive(Default)]
struct Inner {
    procs: HashMap<u64, State>,
    next: u64,
    closed: bool,
}

/// The children of one world.
#[derive(Default)]
pub struct ProcTable {
    inner: Mutex<Inner>,
}

/// A background process; stopped when dropped.
pub struct Proc {
    id: u64,
    pid: u32,
    command: String,
    stdout: PathBuf,
    stderr: PathBuf,
    table: Arc<ProcTable>,
}

impl ProcTable {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts `args` with output in `dir/<n>-<label>.{out,err}`.
    pub fn spawn(self: &Arc<Self>, args: &[String], dir: &Path, label: &str) -> Result<Proc> {
        let command = cmd::display(args);
        let (prog, rest) = args.split_first().context("empty command line")?;
        let mut inner = self.lock();
        if inner.closed {
            bail!("cannot start `{command}`: the world is being torn down");
        }
        let id = inner.next;
        inner.next += 1;
        let stdout = dir.join(format!("{id}-{label}.out"));
        let stderr = dir.join(format!("{id}-{label}.err"));
        let out =
            File::create(&stdout).with_context(|| format!("creating {}", stdout.display()))?;
        let err =
            File::create(&stderr).with_context(|| format!("creating {}", stderr.display()))?;
        let mut c = Command::new(prog);
        c.args(rest)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        let child = match c.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(cmd::missing_tool_error(prog));
            }
            Err(e) => return Err(e).with_context(|| format!("starting `{command}`")),
        };
        let pid = child.id();
        inner.procs.insert(id, State::Running(child));
        Ok(Proc {
            id,
            pid,
            command,
            stdout,
            stderr,
            table: Arc::clone(self),
        })
    }

    /// Stops every running process (TERM, grace, KILL) and refuses new ones.
    pub fn shutdown(&self, grace: Duration) {
        let mut inner = self.lock();
        inner.closed = true;
        let ids: Vec<u64> = inner.procs.keys().copied().collect();
        stop_many(&mut inner, &ids, grace);
    }
}

/// TERM the groups, wait for the leaders to exit, KILL the groups, reap.
fn stop_many(inner: &mut Inner, ids: &[u64], grace: Duration) {
    let pids: Vec<(u64, u32)> = ids
        .iter()
        .filter_map(|id| match inner.procs.get(id) {
            Some(State::Running(c)) => Some((*id, c.id())),
            _ => None,
        })
        .collect();
    for (_, pid) in &pids {
        sys::kill_group(*pid, Sig::Term);
    }
    let deadline = Instant::now() + grace;
    let mut nap = Duration::from_millis(1);
    while pids.iter().any(|(_, p)| sys::pid_running(*p)) && Instant::now() < deadline {
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    }
    for (id, pid) in &pids {
        // The leader is at worst a zombie here, so the group id is still ours.
        sys::kill_group(*pid, Sig::Kill);
        if let Some(State::Running(child)) = inner.procs.remove(id) {
            let mut child = child;
            let status = child.wait();
            if let Ok(s) = status {
                inner.procs.insert(*id, State::Exited(s));
            }
        }
    }
}

impl Proc {
    /// Process id of the group leader (the program itself: `ip netns exec`
    /// replaces itself with it).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The command line.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Path of the captured stdout.
    pub fn stdout_path(&self) -> &Path {
        &self.stdout
    }

    /// Path of the captured stderr.
    pub fn stderr_path(&self) -> &Path {
        &self.stderr
    }

    /// Stdout so far.
    pub fn stdout(&self) -> String {
        cmd::read_lossy(&self.stdout)
    }

    /// Stderr so far.
    pub fn stderr(&self) -> String {
        cmd::read_lossy(&self.stderr)
    }

    /// Exit status if the process has exited (reaps it).
    pub fn try_status(&self) -> Result<Option<ExitStatus>> {
        let mut inner = self.table.lock();
        let Some(state) = inner.procs.get_mut(&self.id) else {
            bail!("`{}`: process entry lost", self.command);
        };
        match state {
            State::Exited(s) => Ok(Some(*s)),
            State::Running(child) => {
                // Once reaped, the group is no longer signalled: anything the
                // leader left behind dies with the world's namespaces.
                match child.try_wait().context("waiting for a child")? {
                    Some(s) => {
                        *state = State::Exited(s);
                        Ok(Some(s))
                    }
                    None => Ok(None),
                }
            }
        }
    }

    /// True while the process has not exited.
    pub fn is_running(&self) -> bool {
        matches!(self.try_status(), Ok(None))
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait(&self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        let mut nap = Duration::from_millis(1);
        loop {
            if let Some(s) = self.try_status()? {
                return Ok(Some(s));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            thread::sleep(nap.min(deadline.saturating_duration_since(Instant::now())));
            nap = (nap * 2).min(Duration::from_millis(50));
        }
    }

    /// Waits up to `timeout` for the process to exit and returns its output;
    /// fails (quoting stderr) if it is still running then.
    pub fn wait_output(&self, timeout: Duration) -> Result<Output> {
        match self.wait(timeout)? {
            Some(status) => Ok(self.output(status)),
            None => Err(anyhow!(
                "`{}` still running after {timeout:?}\nstderr: {}",
                self.command,
                self.stderr().trim()
            )),
        }
    }

    fn output(&self, status: ExitStatus) -> Output {
        Output {
            command: self.command.clone(),
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }

    /// Sends a signal to the whole group (no-op once exited).
    pub fn signal(&self, sig: Sig) {
        let inner = self.table.lock();
        if let Some(State::Running(_)) = inner.procs.get(&self.id) {
            sys::kill_group(self.pid, sig);
        }
    }

    /// Stops the process: SIGTERM to the group, SIGKILL after `grace`.
    pub fn stop_with(&self, grace: Duration) -> Result<Output> {
        let mut inner = self.table.lock();
        stop_many(&mut inner, &[self.id], grace);
        match inner.procs.get(&self.id) {
            Some(State::Exited(s)) => Ok(self.output(*s)),
            _ => bail!("`{}`: could not reap the process", self.command),
        }
    }

    /// Stops the process with the default grace ([`STOP_GRACE`]).
    pub fn stop(&self) -> Result<Output> {
        self.stop_with(STOP_GRACE)
    }

    /// Crash: SIGKILL to the group at once (no SIGTERM first), then reap.
    pub fn kill9(&self) -> Result<Output> {
        let mut inner = self.table.lock();
        if let Some(State::Running(child)) = inner.procs.get_mut(&self.id) {
            sys::kill_group(self.pid, Sig::Kill);
            let status = child
                .wait()
                .with_context(|| format!("reaping `{}`", self.command))?;
            inner.procs.insert(self.id, State::Exited(status));
        }
        match inner.procs.get(&self.id) {
            Some(State::Exited(s)) => Ok(self.output(*s)),
            _ => bail!("`{}`: process entry lost", self.command),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let mut inner = self.table.lock();
        stop_many(&mut inner, &[self.id], STOP_GRACE);
        inner.procs.remove(&self.id);
    }
}

impl std::fmt::Debug for Proc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proc")
            .field("pid", &self.pid)
            .field("command", &self.command)
            .finish()
    }
}
