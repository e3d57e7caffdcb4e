//! Packet capture with tcpdump inside a namespace.
//!
//! `tcpdump -U --immediate-mode -w <file>` writes each frame as it arrives;
//! [`World::capture`] returns once tcpdump says it is listening, and
//! [`Capture::stop`] waits for the file to stop growing, stops tcpdump and
//! parses the pcap file with [`crate::pcap`]. Offloads stay as the kernel
//! set them: what the capture shows is what the product must cope with.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::World;
use crate::cmd::require_tool;
use crate::pcap::{CapturedFrame, parse_pcap};
use crate::proc::Proc;
use crate::wait::wait_until;

/// A running capture.
#[derive(Debug)]
pub struct Capture {
    proc: Proc,
    path: PathBuf,
}

impl World {
    /// Captures on `iface` in namespace `ns` with a tcpdump `filter`
    /// expression (`""` for everything, e.g. `"icmp"`, `"udp port 4789"`).
    pub fn capture(&self, ns: &str, iface: &str, filter: &str) -> Result<Capture> {
        require_tool("tcpdump")?;
        let real = self.resolve(ns)?.to_string();
        let path = self.dir().join(format!(
            "{}-{iface}-{}.pcap",
            real,
            CAPTURE_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let path_s = path
            .to_str()
            .context("capture path is not UTF-8")?
            .to_string();
        // -Z root: keep privileges, so tcpdump can write into our temp dir.
        let mut args = vec![
            "tcpdump",
            "-i",
            iface,
            "-n",
            "-U",
            "--immediate-mode",
            "-Z",
            "root",
            "-w",
            &path_s,
        ];
        if !filter.trim().is_empty() {
            args.push(filter);
        }
        let proc = self.spawn(ns, &args)?;
        let started = wait_until(Duration::from_secs(5), || {
            proc.stderr().contains("listening on") || !proc.is_running()
        });
        if !started || !proc.is_running() {
            bail!(
                "`{}` did not start capturing: {}",
                proc.command(),
                proc.stderr().trim()
            );
        }
        Ok(Capture { proc, path })
    }
}

static CAPTURE_SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Capture {
    /// The pcap file (kept in the world's temp dir until teardown).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Frames written so far (the capture keeps running).
    pub fn frames(&self) -> Result<Vec<CapturedFrame>> {
        let bytes = std::fs::read(&self.path)
            .with_context(|| format!("reading {}", self.path.display()))?;
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        parse_pcap(&bytes).with_context(|| format!("parsing {}", self.path.display()))
    }

    /// Waits until at least `n` frames were captured or `timeout` passed;
    /// returns whether they were.
    pub fn wait_frames(&self, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.frames().is_ok_and(|f| f.len() >= n))
    }

    /// Lets in-flight frames land (the file stops growing, at most 1 s),
    /// stops tcpdump and returns every captured frame.
    pub fn stop(self) -> Result<Vec<CapturedFrame>> {
        let size = || std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut last = size();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            let now = size();
            if now == last {
                break;
            }
            last = now;
        }
        let out = self.proc.stop()?;
        let frames = self.frames();
        frames.with_context(|| format!("tcpdump said: {}", out.stderr.trim()))
    }
}
