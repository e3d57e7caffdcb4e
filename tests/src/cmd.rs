//! Running external commands (`ip`, `ping`, `tcpdump`, ...) with timeouts
//! and error messages that name the command and quote its stderr.
//!
//! The test world shells out to iproute2 rather than speaking netlink: it
//! is simple, matches what a person would type, and every failure can be
//! reproduced by pasting the command from the error message.
//!
//! Children get their own process group so a timeout (or teardown) can kill
//! everything they started. Waiting polls `try_wait` with growing sleeps
//! (1 ms up to 50 ms): never a busy loop.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::sys;

/// Default timeout of [`run`]-style helpers.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to wait for a finished command's pipes to close.
const PIPE_GRACE: Duration = Duration::from_secs(1);

/// Captured result of a finished command.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line that ran.
    pub command: String,
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

impl Output {
    /// True if the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Turns a non-zero exit into an error naming the command.
    pub fn check(self) -> Result<Output> {
        if self.success() {
            Ok(self)
        } else {
            Err(failure(
                &self.command,
                &self.status,
                &self.stderr,
                &self.stdout,
            ))
        }
    }
}

/// The error for a failed command: command line, status, stderr.
pub fn failure(command: &str, status: &ExitStatus, stderr: &str, stdout: &str) -> anyhow::Error {
    if let Some(tool) = missing_tool_in(stderr) {
        return missing_tool_error(&tool);
    }
    let mut msg = format!("`{command}` failed ({status})");
    let err = stderr.trim();
    if !err.is_empty() {
        msg.push_str(&format!("\nstderr: {err}"));
    }
    let out = stdout.trim();
    if err.is_empty() && !out.is_empty() {
        msg.push_str(&format!("\nstdout: {}", tail(out, 2000)));
    }
    anyhow!(msg)
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// `ip netns exec` reports a missing program as
/// `exec of "tcpdump" failed: No such file or directory`.
fn missing_tool_in(stderr: &str) -> Option<String> {
    let rest = stderr.split("exec of \"").nth(1)?;
    let (tool, after) = rest.split_once('"')?;
    after
        .contains("No such file or directory")
        .then(|| tool.to_string())
}

/// The error for a tool that is not installed.
pub fn missing_tool_error(tool: &str) -> anyhow::Error {
    anyhow!(
        "`{tool}` is not installed (or not on PATH); the test world needs iproute2, \
         iputils-ping, tcpdump, iperf3 and ethtool: run `cargo xtask setup`"
    )
}

/// Finds `tool` on `PATH` (or checks an explicit path).
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    if tool.contains('/') {
        let p = PathBuf::from(tool);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// Fails with a setup hint unless `tool` is installed.
pub fn require_tool(tool: &str) -> Result<()> {
    find_tool(tool)
        .map(|_| ())
        .ok_or_else(|| missing_tool_error(tool))
}

/// Quotes a command line for messages (and for pasting into a shell).
pub fn display(args: &[impl AsRef<str>]) -> String {
    args.iter()
        .map(|a| {
            let a = a.as_ref();
            let plain = !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@%+".contains(&b));
            if plain {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `args` (program first) to completion within `timeout`, capturing
/// output. Does not fail on a non-zero exit: see [`Output::check`].
pub fn run_unchecked(args: &[impl AsRef<str>], timeout: Duration) -> Result<Output> {
    let command = display(args);
    let (prog, rest) = args.split_first().context("empty command line")?;
    let mut cmd = Command::new(prog.as_ref());
    cmd.args(rest.iter().map(AsRef::as_ref))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(missing_tool_error(prog.as_ref()));
        }
        Err(e) => return Err(e).with_context(|| format!("starting `{command}`")),
    };
    let out_reader = child.stdout.take().map(spawn_reader);
    let err_reader = child.stderr.take().map(spawn_reader);
    let pid = child.id();
    let status = match wait_child(&mut child, timeout)? {
        Some(s) => s,
        None => {
            sys::kill_group(pid, sys::Sig::Kill);
            let _ = child.wait();
            bail!("`{command}` timed out after {timeout:?} and was killed");
        }
    };
    let grace = Instant::now() + PIPE_GRACE;
    let stdout = join_reader(out_reader, grace);
    let stderr = join_reader(err_reader, grace);
    Ok(Output {
        command,
        status,
        stdout,
        stderr,
    })
}

/// Like [`run_unchecked`] but fails on a non-zero exit.
pub fn run(args: &[impl AsRef<str>], timeout: Duration) -> Result<Output> {
    run_unchecked(args, timeout)?.check()
}

/// Waits for `child` up to `timeout`; `None` if it is still running.
pub fn wait_child(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().context("waiting for a child process")? {
            return Ok(Some(status));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        thread::sleep(nap.min(deadline - now));
        nap = (nap * 2).min(Duration::from_millis(50));
    }
}

/// Streams a pipe into a channel in chunks; the channel closes at EOF.
fn spawn_reader<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 8192];
        // A read error just ends the capture; the exit status still counts.
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collects a reader's output. A daemon started by the command may keep
/// the pipe open forever, so stop waiting for EOF after a short grace.
fn join_reader(rx: Option<mpsc::Receiver<Vec<u8>>>, deadline: Instant) -> String {
    let mut out = Vec::new();
    if let Some(rx) = rx {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => out.extend_from_slice(&chunk),
                Err(_) => break,
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads a (log) file as lossy UTF-8; empty if it does not exist.
pub fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(display(&["ip", "-n", "x", "link"]), "ip -n x link");
        assert_eq!(
            display(&["sh", "-c", "echo 'hi' there"]),
            r"sh -c 'echo '\''hi'\'' there'"
        );
        assert_eq!(display(&[""]), "''");
    }

    #[test]
    fn missing_tool_detection() {
        assert_eq!(
            missing_tool_in("exec of \"tcpdump\" failed: No such file or directory\n").as_deref(),
            Some("tcpdump")
        );
        assert_eq!(missing_tool_in("RTNETLINK answers: File exists"), None);
        let err = run(&["surely-not-a-tool-xsdn"], Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("cargo xtask setup"), "{err}");
    }

    #[test]
    fn runs_and_reports() {
        let out = run(
            &["sh", "-c", "echo out; echo err >&2"],
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        let err = run(
            &["sh", "-c", "echo boom >&2; exit 3"],
            Duration::from_secs(5),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`sh -c 'echo boom >&2; exit 3'` failed"),
            "{msg}"
        );
        assert!(msg.contains("stderr: boom"), "{msg}");
    }

    #[test]
    fn times_out() {
        let t0 = Instant::now();
        let err = run(&["sleep", "5"], Duration::from_millis(200)).unwrap_err();
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn background_child_does_not_hang_output() {
        let t0 = Instant::now();
        // The shell exits at once but leaves `sleep` holding stdout.
        let out = run(
            &["sh", "-c", "echo hi; sleep 3 & exit 0"],
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(out.stdout, "hi\n");
        assert!(t0.elapsed() < Duration::from_millis(2500));
    }
}
