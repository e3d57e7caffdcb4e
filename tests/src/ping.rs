//! `ping` (iputils) from inside a namespace, and a parser for its summary.
//!
//! Loss is not an error: the result says how many replies came back, and
//! tests assert on it. Errors are reserved for ping not running or printing
//! no summary (e.g. a bad address).

use std::time::Duration;

use anyhow::{Result, bail};

use crate::World;
use crate::cmd::require_tool;

/// Options of one ping run.
#[derive(Debug, Clone, PartialEq)]
pub struct PingOpts {
    /// Echo requests to send (`-c`).
    pub count: u32,
    /// Gap between requests (`-i`; below 200 ms needs root, which we have).
    pub interval: Duration,
    /// Payload size in bytes (`-s`); ping's default (56) when `None`.
    pub size: Option<usize>,
    /// Set the don't-fragment bit / forbid fragmentation (`-M do`).
    pub dont_fragment: bool,
    /// Source interface or address (`-I`).
    pub source: Option<String>,
    /// How long to wait for the last reply (`-W`).
    pub wait: Duration,
}

impl Default for PingOpts {
    fn default() -> Self {
        PingOpts {
            count: 3,
            interval: Duration::from_millis(200),
            size: None,
            dont_fragment: false,
            source: None,
            // Generous: ping exits as soon as every reply is in, so only
            // lossy runs pay for it, and busy CI machines need it.
            wait: Duration::from_secs(2),
        }
    }
}

impl PingOpts {
    /// `count` requests, 200 ms apart, default size.
    pub fn new(count: u32) -> Self {
        PingOpts {
            count,
            ..Self::default()
        }
    }

    /// The `ping` command line for `dst`.
    pub fn args(&self, dst: &str) -> Vec<String> {
        let mut v: Vec<String> = vec!["ping".into(), "-n".into()];
        v.extend(["-c".into(), self.count.to_string()]);
        v.extend(["-i".into(), format!("{:.3}", self.interval.as_secs_f64())]);
        v.extend([
            "-W".into(),
            format!("{:.3}", self.wait.as_secs_f64().max(0.001)),
        ]);
        if let Some(s) = self.size {
            v.extend(["-s".into(), s.to_string()]);
        }
        if self.dont_fragment {
            v.extend(["-M".into(), "do".into()]);
        }
        if let Some(src) = &self.source {
            v.extend(["-I".into(), src.clone()]);
        }
        v.push(dst.to_string());
        v
    }

    /// An upper bound on how long the run takes.
    fn timeout(&self) -> Duration {
        self.interval * self.count + self.wait + Duration::from_secs(5)
    }
}

/// Summary of one ping run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PingResult {
    /// Requests sent.
    pub transmitted: u32,
    /// Replies received (duplicates not counted).
    pub received: u32,
    /// Duplicate replies.
    pub duplicates: u32,
    /// Errors reported (e.g. "message too long", unreachable).
    pub errors: u32,
    /// Average round-trip time, if any reply came back.
    pub rtt_avg: Option<Duration>,
}

impl PingResult {
    /// True if every request got exactly one reply.
    pub fn all_received(&self) -> bool {
        self.transmitted > 0 && self.received == self.transmitted && self.duplicates == 0
    }

    /// True if no reply came back.
    pub fn none_received(&self) -> bool {
        self.received == 0
    }
}

/// Parses ping's summary lines (`N packets transmitted, M received, ...`
/// and `rtt min/avg/max/mdev = ...`).
pub fn parse_ping(output: &str) -> Result<PingResult> {
    let Some(line) = output.lines().find(|l| l.contains("packets transmitted")) else {
        bail!("no ping summary in output:\n{}", output.trim());
    };
    let mut r = PingResult::default();
    for part in line.split(',') {
        let part = part.trim();
        let (num, what) = part.split_once(' ').unwrap_or((part, ""));
        let num = num.trim_start_matches('+');
        let Ok(n) = num.parse::<u32>() else { continue };
        match what {
            w if w.starts_with("packets transmitted") => r.transmitted = n,
            w if w.starts_with("received") => r.received = n,
            w if w.starts_with("duplicates") => r.duplicates = n,
            w if w.starts_with("errors") => r.errors = n,
            _ => {}
        }
    }
    r.rtt_avg = output
        .lines()
        .find(|l| l.starts_with("rtt ") || l.starts_with("round-trip"))
        .and_then(|l| l.split('=').nth(1))
        .and_then(|v| v.trim().split('/').nth(1))
        .and_then(|avg| avg.parse::<f64>().ok())
        .map(|ms| Duration::from_secs_f64(ms / 1000.0));
    Ok(r)
}

impl World {
    /// Pings `dst` from namespace `from`: `count` requests `interval` apart
    /// with an optional payload `size`.
    pub fn ping(
        &self,
        from: &str,
        dst: &str,
        count: u32,
        interval: Duration,
        size: Option<usize>,
    ) -> Result<PingResult> {
        let opts = PingOpts {
            count,
            interval,
            size,
            ..PingOpts::default()
        };
        self.ping_with(from, dst, &opts)
    }

    /// Pings with full options (e.g. `dont_fragment` for MTU tests).
    pub fn ping_with(&self, from: &str, dst: &str, opts: &PingOpts) -> Result<PingResult> {
        require_tool("ping")?;
        let args = opts.args(dst);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.exec_timeout(from, &argv, opts.timeout())?;
        parse_ping(&out.stdout).map_err(|e| {
            e.context(format!(
                "`{}` ({}): {}",
                out.command,
                out.status,
                out.stderr.trim()
            ))
        })
    }

    /// True once `dst` answers a single ping from `from`; tries until
    /// `timeout` (useful while a daemon or FRR converges).
    pub fn wait_ping(&self, from: &str, dst: &str, timeout: Duration) -> Result<bool> {
        let opts = PingOpts {
            count: 1,
            wait: Duration::from_millis(300),
            ..PingOpts::default()
        };
        let mut last_err = None;
        let ok = crate::wait::wait_until(timeout, || match self.ping_with(from, dst, &opts) {
            Ok(r) => r.received > 0,
            Err(e) => {
                last_err = Some(e);
                false
            }
        });
        match (ok, last_err) {
            (false, Some(e)) => Err(e),
            (ok, _) => Ok(ok),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "PING 10.0.3.101 (10.0.3.101) 56(84) bytes of data.
64 bytes from 10.0.3.101: icmp_seq=1 ttl=64 time=0.050 ms
64 bytes from 10.0.3.101: icmp_seq=2 ttl=64 time=0.048 ms

--- 10.0.3.101 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 1002ms
rtt min/avg/max/mdev = 0.040/0.049/0.058/0.007 ms
";

    #[test]
    fn parses_success() {
        let r = parse_ping(OK).unwrap();
        assert_eq!((r.transmitted, r.received, r.errors), (2, 2, 0));
        assert!(r.all_received());
        assert_eq!(r.rtt_avg, Some(Duration::from_micros(49)));
    }

    #[test]
    fn parses_loss_errors_and_duplicates() {
        let lost = "--- 10.0.3.9 ping statistics ---\n\
                    3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2040ms\n";
        let r = parse_ping(lost).unwrap();
        assert_eq!((r.transmitted, r.received, r.errors), (3, 0, 3));
        assert!(r.none_received() && !r.all_received());
        assert_eq!(r.rtt_avg, None);
        let dup = "4 packets transmitted, 4 received, +2 duplicates, 0% packet loss, time 3004ms\n";
        let r = parse_ping(dup).unwrap();
        assert_eq!(r.duplicates, 2);
        assert!(!r.all_received());
        let partial = "10 packets transmitted, 7 received, 30% packet loss, time 9010ms\n";
        assert_eq!(parse_ping(partial).unwrap().received, 7);
    }

    #[test]
    fn no_summary_is_an_error() {
        assert!(parse_ping("ping: 10.0.3.x: Name or service not known\n").is_err());
    }

    #[test]
    fn command_line() {
        let o = PingOpts {
            count: 5,
            interval: Duration::from_millis(10),
            size: Some(1422),
            dont_fragment: true,
            ..PingOpts::default()
        };
        assert_eq!(
            o.args("10.0.3.101").join(" "),
            "ping -n -c 5 -i 0.010 -W 2.000 -s 1422 -M do 10.0.3.101"
        );
    }
}
