//! Process-level system calls: signals to processes and process groups,
//! process liveness (from `/proc`), and the effective uid. Safe wrappers
//! from `nix`; no `unsafe` here.

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// The signals the test world sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// SIGTERM: please stop.
    Term,
    /// SIGKILL: stop now.
    Kill,
    /// SIGINT: what tcpdump and friends expect from Ctrl-C.
    Int,
    /// SIGHUP: daemons re-read their configuration.
    Hup,
}

impl Sig {
    fn nix(self) -> Signal {
        match self {
            Sig::Term => Signal::SIGTERM,
            Sig::Kill => Signal::SIGKILL,
            Sig::Int => Signal::SIGINT,
            Sig::Hup => Signal::SIGHUP,
        }
    }
}

fn to_pid(pid: u32) -> Option<Pid> {
    i32::try_from(pid)
        .ok()
        .filter(|p| *p > 1)
        .map(Pid::from_raw)
}

/// Sends `sig` to every process of group `pgid`; false if none exists.
pub fn kill_group(pgid: u32, sig: Sig) -> bool {
    to_pid(pgid).is_some_and(|p| killpg(p, sig.nix()).is_ok())
}

/// Sends `sig` to process `pid`; false if it does not exist.
pub fn kill_pid(pid: u32, sig: Sig) -> bool {
    to_pid(pid).is_some_and(|p| kill(p, sig.nix()).is_ok())
}

/// True if `pid` exists and has not exited (zombies count as exited).
pub fn pid_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat_state(&stat).is_some_and(|s| s != 'Z' && s != 'X'),
        Err(_) => false,
    }
}

/// True if a process `pid` exists at all (running or zombie).
pub fn pid_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The state letter of a `/proc/<pid>/stat` line (after the `(comm)`).
fn stat_state(stat: &str) -> Option<char> {
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// True when running with effective uid 0.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing() {
        assert_eq!(stat_state("42 (a) b) c) S 1 2 3"), Some('S'));
        assert_eq!(stat_state("42 (zomb) Z 1"), Some('Z'));
        assert_eq!(stat_state("garbage"), None);
    }

    #[test]
    fn own_process_is_running() {
        assert!(pid_running(std::process::id()));
        assert!(pid_exists(std::process::id()));
        // pid_max is at most 2^22.
        assert!(!pid_exists(4_194_305));
        assert!(!kill_pid(0, Sig::Term), "never signal our own group via 0");
        assert!(!kill_group(1, Sig::Term), "never signal init's group");
    }
}
