//! iperf3 between namespaces: a server [`crate::Proc`] and a client run
//! whose JSON report (`-J`) is parsed into an [`IperfResult`].

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::World;
use crate::cmd::require_tool;
use crate::proc::Proc;
use crate::wait::wait_until;

/// Default iperf3 port.
pub const IPERF_PORT: u16 = 5201;

/// Client options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IperfOpts {
    /// Server port.
    pub port: u16,
    /// Test length (`-t`, whole seconds, at least 1); with `bytes`, only
    /// the client's timeout (plus 20 s).
    pub duration: Duration,
    /// Send exactly this many bytes (`-n`) instead of for `duration`.
    pub bytes: Option<u64>,
    /// UDP instead of TCP (`-u`).
    pub udp: bool,
    /// Target bitrate (`-b`, e.g. `100M`); iperf3's default if `None`.
    pub bitrate: Option<String>,
    /// Buffer / datagram length (`-l`).
    pub length: Option<usize>,
    /// Parallel streams (`-P`).
    pub parallel: Option<u32>,
    /// Server sends, client receives (`-R`).
    pub reverse: bool,
}

impl Default for IperfOpts {
    fn default() -> Self {
        IperfOpts {
            port: IPERF_PORT,
            duration: Duration::from_secs(1),
            bytes: None,
            udp: false,
            bitrate: None,
            length: None,
            parallel: None,
            reverse: false,
        }
    }
}

impl IperfOpts {
    /// The client command line.
    pub fn args(&self, server: &str) -> Vec<String> {
        let secs = self.duration.as_secs().max(1);
        let mut v: Vec<String> = ["iperf3", "-c", server, "-J"].map(String::from).to_vec();
        v.extend(["-p".into(), self.port.to_string()]);
        match self.bytes {
            Some(n) => v.extend(["-n".into(), n.to_string()]),
            None => v.extend(["-t".into(), secs.to_string()]),
        }
        if self.udp {
            v.push("-u".into());
        }
        if let Some(b) = &self.bitrate {
            v.extend(["-b".into(), b.clone()]);
        }
        if let Some(l) = self.length {
            v.extend(["-l".into(), l.to_string()]);
        }
        if let Some(p) = self.parallel {
            v.extend(["-P".into(), p.to_string()]);
        }
        if self.reverse {
            v.push("-R".into());
        }
        v
    }
}

/// What an iperf3 run moved.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct IperfResult {
    /// Bytes the sender sent.
    pub sent_bytes: u64,
    /// Bytes the receiver got.
    pub received_bytes: u64,
    /// Receiver-side throughput.
    pub bits_per_second: f64,
    /// TCP retransmissions (TCP only).
    pub retransmits: Option<u64>,
    /// Lost datagrams (UDP only).
    pub lost_packets: Option<u64>,
    /// Datagrams sent (UDP only).
    pub packets: Option<u64>,
}

/// Parses iperf3's `-J` report.
pub fn parse_iperf_json(text: &str) -> Result<IperfResult> {
    let v: Value = serde_json::from_str(text).context("iperf3 output is not JSON")?;
    if let Some(err) = v.get("error").and_then(Value::as_str) {
        bail!("iperf3: {err}");
    }
    let end = v
        .get("end")
        .context("iperf3 report has no \"end\" section")?;
    let num = |sec: &str, key: &str| {
        end.get(sec)
            .and_then(|s| s.get(key))
            .and_then(Value::as_f64)
    };
    let is_udp = (end.get("sum").is_some() && end.get("sum_sent").is_none())
        || v.pointer("/start/test_start/protocol")
            .and_then(Value::as_str)
            == Some("UDP");
    let mut r = IperfResult::default();
    if is_udp {
        let sum = if end.get("sum").is_some() {
            "sum"
        } else {
            "sum_received"
        };
        r.sent_bytes = num("sum_sent", "bytes")
            .or(num(sum, "bytes"))
            .unwrap_or(0.0) as u64;
        r.packets = num(sum, "packets").map(|p| p as u64);
        r.lost_packets = num(sum, "lost_packets").map(|p| p as u64);
        let delivered = match (r.packets, r.lost_packets) {
            (Some(p), Some(l)) if p > 0 => r.sent_bytes.saturating_mul(p.saturating_sub(l)) / p,
            _ => r.sent_bytes,
        };
        r.received_bytes = num("sum_received", "bytes")
            .map(|b| b as u64)
            .unwrap_or(delivered);
        r.bits_per_second = num("sum_received", "bits_per_second")
            .or(num(sum, "bits_per_second"))
            .unwrap_or(0.0);
    } else {
        r.sent_bytes = num("sum_sent", "bytes").context("no end.sum_sent.bytes")? as u64;
        r.received_bytes =
            num("sum_received", "bytes").context("no end.sum_received.bytes")? as u64;
        r.bits_per_second = num("sum_received", "bits_per_second").unwrap_or(0.0);
        r.retransmits = num("sum_sent", "retransmits").map(|x| x as u64);
    }
    Ok(r)
}

impl World {
    /// Starts `iperf3 -s -p <port>` in `ns` and waits until it listens.
    pub fn iperf3_server(&self, ns: &str, port: u16) -> Result<Proc> {
        require_tool("iperf3")?;
        let p = self.spawn(ns, &["iperf3", "-s", "-p", &port.to_string()])?;
        if !self.wait_listening(ns, port, Duration::from_secs(5))? {
            bail!(
                "`{}` is not listening after 5 s: {}",
                p.command(),
                p.stderr().trim()
            );
        }
        Ok(p)
    }

    /// Runs an iperf3 client in `ns` against `server` (an IP).
    pub fn iperf3_client(&self, ns: &str, server: &str, opts: &IperfOpts) -> Result<IperfResult> {
        require_tool("iperf3")?;
        let args = opts.args(server);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let timeout = opts.duration + Duration::from_secs(20);
        let out = self.exec_timeout(ns, &argv, timeout)?;
        // On failure iperf3 still prints JSON with an "error" field.
        parse_iperf_json(&out.stdout)
            .with_context(|| format!("`{}` ({}) {}", out.command, out.status, out.stderr.trim()))
    }

    /// True once something listens on TCP `port` in `ns` (checked with
    /// `ss`), false after `timeout`.
    pub fn wait_listening(&self, ns: &str, port: u16, timeout: Duration) -> Result<bool> {
        let filter = format!("sport = :{port}");
        let mut err = None;
        let ok = wait_until(timeout, || match self.exec(ns, &["ss", "-Hltn", &filter]) {
            Ok(o) => !o.stdout.trim().is_empty(),
            Err(e) => {
                err = Some(e);
                true
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(ok),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = r#"{"start":{"test_start":{"protocol":"TCP"}},
      "end":{"sum_sent":{"bytes":1000,"bits_per_second":8000.0,"retransmits":2},
             "sum_received":{"bytes":990,"bits_per_second":7920.0}}}"#;

    const UDP: &str = r#"{"start":{"test_start":{"protocol":"UDP"}},
      "end":{"sum":{"bytes":10000,"bits_per_second":80000.0,"packets":10,"lost_packets":1,"lost_percent":10.0}}}"#;

    #[test]
    fn parses_tcp() {
        let r = parse_iperf_json(TCP).unwrap();
        assert_eq!(
            (r.sent_bytes, r.received_bytes, r.retransmits),
            (1000, 990, Some(2))
        );
        assert_eq!(r.bits_per_second, 7920.0);
        assert_eq!(r.lost_packets, None);
    }

    #[test]
    fn parses_udp() {
        let r = parse_iperf_json(UDP).unwrap();
        assert_eq!((r.sent_bytes, r.received_bytes), (10000, 9000));
        assert_eq!((r.packets, r.lost_packets), (Some(10), Some(1)));
        assert_eq!(r.retransmits, None);
    }

    #[test]
    fn reports_errors() {
        let e = parse_iperf_json(r#"{"start":{},"end":{},"error":"unable to connect to server"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unable to connect"), "{e}");
        assert!(parse_iperf_json("not json").is_err());
    }

    #[test]
    fn command_line() {
        let o = IperfOpts {
            udp: true,
            bitrate: Some("10M".into()),
            length: Some(1400),
            ..IperfOpts::default()
        };
        assert_eq!(
            o.args("10.0.0.3").join(" "),
            "iperf3 -c 10.0.0.3 -J -p 5201 -t 1 -u -b 10M -l 1400"
        );
    }
}
