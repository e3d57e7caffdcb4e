//! Prometheus exposition: a text-format writer and a minimal HTTP endpoint.
//!
//! The writer produces the Prometheus text format 0.0.4: one `# HELP` and
//! one `# TYPE` line per family, samples of a family together, label values
//! escaped (`\\`, `\"`, `\n`). The endpoint answers `GET /metrics` on one
//! address (loopback by default) with whatever the render callback returns
//! at scrape time; packet counters are read from the workers'
//! single-writer counters there, without touching the forwarding loop
//! (MAC table figures are read by the worker between two batches).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// Connections served at once; more wait in the listen backlog until one
/// ends, so a crowd of clients costs neither file descriptors nor renders
/// beyond this.
const MAX_CONNECTIONS: usize = 8;
/// How long a client may take to send its request head.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one connection may take in all.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head read.
const MAX_HEAD: usize = 16 * 1024;

/// Content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Metric family type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic counter (name ends in `_total`).
    Counter,
    /// Value that goes up and down.
    Gauge,
}

/// Builds one exposition, family by family.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

/// One family being written; samples are added with [`Family::sample`].
pub struct Family<'a> {
    out: &'a mut String,
    name: &'a str,
}

impl Exposition {
    /// An empty exposition.
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Starts family `name` with its help text and type.
    pub fn family<'a>(&'a mut self, name: &'a str, kind: Kind, help: &str) -> Family<'a> {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        Family {
            out: &mut self.out,
            name,
        }
    }

    /// The finished text.
    pub fn finish(self) -> String {
        self.out
    }
}

impl Family<'_> {
    /// Adds one sample with `labels` (name, value) pairs.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: f64) -> &mut Self {
        self.series(labels);
        let _ = writeln!(self.out, " {}", format_value(value));
        self
    }

    /// Adds one sample of an integer counter or gauge (printed exactly;
    /// an `f64` would round above 2^53).
    pub fn sample_u64(&mut self, labels: &[(&str, &str)], value: u64) -> &mut Self {
        self.series(labels);
        let _ = writeln!(self.out, " {value}");
        self
    }

    /// Writes the metric name and its label set.
    fn series(&mut self, labels: &[(&str, &str)]) {
        self.out.push_str(self.name);
        if labels.is_empty() {
            return;
        }
        self.out.push('{');
        for (i, (name, value)) in labels.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let _ = write!(self.out, "{name}=\"{}\"", escape_label(value));
        }
        self.out.push('}');
    }
}

fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped. Each
/// scrape asks the owner of the state for the body through `scrapes` (the
/// daemon's event loop renders it), so no state is shared. At most
/// [`MAX_CONNECTIONS`] connections are served at once, each for at most
/// [`CONNECTION_TIMEOUT`] (its request head within [`REQUEST_TIMEOUT`]).
pub async fn serve_via(listener: TcpListener, scrapes: mpsc::Sender<oneshot::Sender<String>>) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        // Accept only with a free slot: the others wait in the backlog.
        let Ok(slot) = std::sync::Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let scrapes = scrapes.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, answer(stream, scrapes)).await;
            drop(slot);
        });
    }
}

/// Binds the metrics listener.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

async fn render_via(scrapes: &mpsc::Sender<oneshot::Sender<String>>) -> Option<String> {
    let (reply, body) = oneshot::channel();
    scrapes.send(reply).await.ok()?;
    body.await.ok()
}

async fn answer(
    mut stream: TcpStream,
    scrapes: mpsc::Sender<oneshot::Sender<String>>,
) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    // Read the request head (up to a blank line, at most MAX_HEAD bytes),
    // looking for the blank line only in what each read added.
    let head = async {
        while request.len() < MAX_HEAD {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            let from = request.len().saturating_sub(3);
            request.extend_from_slice(&buf[..n]);
            if request[from..].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        Ok::<(), std::io::Error>(())
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, head).await {
        Ok(result) => result?,
        Err(_) => return Ok(()),
    }
    let head = String::from_utf8_lossy(&request);
    let mut first = head.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => match render_via(&scrapes).await {
            Some(body) => ("200 OK", CONTENT_TYPE, body),
            None => (
                "503 Service Unavailable",
                "text/plain; charset=utf-8",
                "shutting down\n".to_owned(),
            ),
        },
        ("GET" | "HEAD", "/") => (
            "200 OK",
            "text/plain; charset=utf-8",
            "xsdn metrics: see /metrics\n".to_owned(),
        ),
        ("GET" | "HEAD", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found\n".into(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "method not allowed\n".into(),
        ),
    };
    let body = if method == "HEAD" {
        String::new()
    } else {
        body
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_is_well_formed() {
        let mut e = Exposition::new();
        e.family(
            "xsdn_vnet_rx_packets_total",
            Kind::Counter,
            "Frames received into a VNet.",
        )
        .sample_u64(&[("vnet", "myvnet1"), ("zone", "z\"1")], 42)
        .sample_u64(&[("vnet", "a\\b\nc"), ("zone", "z")], 7);
        e.family("xsdn_up", Kind::Gauge, "Always 1.")
            .sample(&[], 1.0);
        let text = e.finish();
        assert_eq!(
            text,
            "# HELP xsdn_vnet_rx_packets_total Frames received into a VNet.\n\
             # TYPE xsdn_vnet_rx_packets_total counter\n\
             xsdn_vnet_rx_packets_total{vnet=\"myvnet1\",zone=\"z\\\"1\"} 42\n\
             xsdn_vnet_rx_packets_total{vnet=\"a\\\\b\\nc\",zone=\"z\"} 7\n\
             # HELP xsdn_up Always 1.\n\
             # TYPE xsdn_up gauge\n\
             xsdn_up 1\n"
        );
    }

    #[test]
    fn values_format_like_prometheus() {
        assert_eq!(format_value(1.5), "1.5");
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
    }

    /// Connections to local `port` a process has accepted: established
    /// sockets with that local port that have an inode (a connection still
    /// in the listen backlog has none). Read from `/proc/self/net/tcp`, so
    /// what other tests of this process open does not count.
    fn accepted_on(port: u16) -> usize {
        let table = std::fs::read_to_string("/proc/self/net/tcp").unwrap_or_default();
        table
            .lines()
            .skip(1)
            .filter(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let local_port = f
                    .get(1)
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| u16::from_str_radix(p, 16).ok());
                local_port == Some(port)
                    && f.get(3) == Some(&"01")
                    && f.get(9).is_some_and(|inode| *inode != "0")
            })
            .count()
    }

    /// A metrics endpoint on a free loopback port whose body is
    /// `xsdn_up 1`: its address and the server and renderer tasks.
    async fn endpoint() -> (
        std::net::SocketAddr,
        tokio::task::JoinHandle<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let listener = bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (scrapes, mut requests) = mpsc::channel::<oneshot::Sender<String>>(4);
        let server = tokio::spawn(serve_via(listener, scrapes));
        let renderer = tokio::spawn(async move {
            while let Some(reply) = requests.recv().await {
                let _ = reply.send("xsdn_up 1\n".to_owned());
            }
        });
        (addr, server, renderer)
    }

    /// Clients that connect and send nothing are accepted `MAX_CONNECTIONS`
    /// at a time (the rest wait in the backlog, costing the daemon no file
    /// descriptor) and each holds its slot for the request timeout at
    /// most: a real scrape behind them is answered within seconds.
    #[tokio::test(flavor = "current_thread")]
    async fn a_crowd_of_silent_clients_delays_a_scrape_but_does_not_stop_it() {
        const CROWD: usize = 24;
        let (addr, server, renderer) = endpoint().await;
        let mut silent = Vec::new();
        for _ in 0..CROWD {
            silent.push(TcpStream::connect(addr).await.expect("connect"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let accepted = accepted_on(addr.port());
        assert!(
            accepted <= MAX_CONNECTIONS,
            "{accepted} silent connections accepted at once"
        );
        let started = std::time::Instant::now();
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(30), s.read_to_string(&mut answer))
            .await
            .expect("the scrape was never answered")
            .expect("read");
        assert!(answer.ends_with("xsdn_up 1\n"), "{answer}");
        // CROWD silent clients, MAX_CONNECTIONS at a time, REQUEST_TIMEOUT
        // each, then the scrape.
        let bound = REQUEST_TIMEOUT * (CROWD / MAX_CONNECTIONS + 1) as u32;
        assert!(started.elapsed() < bound, "{:?}", started.elapsed());
        drop(silent);
        server.abort();
        renderer.abort();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn endpoint_serves_metrics_and_404() {
        let (addr, server, renderer) = endpoint().await;
        for (path, want_status, want_body) in [
            ("/metrics", "200 OK", Some("xsdn_up 1\n")),
            ("/nope", "404 Not Found", None),
        ] {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .expect("write");
            let mut answer = String::new();
            s.read_to_string(&mut answer).await.expect("read");
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {want_status}")),
                "{answer}"
            );
            if let Some(body) = want_body {
                assert!(answer.contains(CONTENT_TYPE), "{answer}");
                assert!(answer.ends_with(body), "{answer}");
            }
        }
        server.abort();
        renderer.abort();
    }
}
