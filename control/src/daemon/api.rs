//! The control socket protocol between `xsdn` commands and the daemon.
//!
//! A unix stream socket, root-only by default (mode 0600). One request per
//! connection: the client writes one JSON line, the daemon answers with one
//! JSON line and closes. Requests and responses are the serde types below;
//! their field names are part of the documented `--json` output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// Largest request line accepted.
const MAX_REQUEST: usize = 64 * 1024;
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A table the daemon can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    /// Interfaces the dataplane owns.
    Ports,
    /// VNets (bridge domains) and their encapsulation.
    Vnets,
    /// Learned and static MAC addresses.
    Fdb,
    /// Remote VXLAN tunnel endpoints and their next hops.
    Vteps,
    /// Routes (gateways, connected subnets) per zone.
    Routes,
    /// Counters per port and per VNet.
    Counters,
    /// The in-kernel tier's MAC entries: what established traffic to each
    /// MAC does without leaving the kernel.
    Kernel,
}

/// Optional filters of a `show` request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Only this zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Only this VNet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet: Option<String>,
    /// Only this port (interface name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
}

/// A request to the daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Daemon status: generation, last reload, uptime, interfaces.
    Status,
    /// One table, filtered.
    Show {
        /// Which table.
        table: Table,
        /// Filters.
        #[serde(default)]
        filter: Filter,
    },
    /// Re-read the configuration now.
    Reload,
    /// Explain what the pipeline would do with a described frame.
    Trace {
        /// The frame.
        frame: super::trace::FrameSpec,
    },
    /// Debug builds only (tests of the watchdog): make the worker fail.
    #[cfg(debug_assertions)]
    Fault {
        /// How.
        fault: Fault,
    },
}

/// A failure a test injects into the worker (debug builds only).
#[cfg(debug_assertions)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The worker thread panics.
    WorkerPanic,
    /// The worker thread stops making progress.
    WorkerHang,
}

/// The daemon's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The result when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// A one-line error when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    /// A successful response.
    pub fn ok(result: serde_json::Value) -> Response {
        Response {
            ok: true,
            result: Some(result),
            error: None,
        }
    }

    /// A failed response.
    pub fn error(message: impl Into<String>) -> Response {
        Response {
            ok: false,
            result: None,
            error: Some(message.into()),
        }
    }
}

/// Errors of the client side, each a one-line message for the user.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens on the socket.
    #[error("daemon not running (no control socket at {0}; start `xsdn daemon` or pass --socket)")]
    NotRunning(PathBuf),
    /// The socket exists but may not be opened by this user.
    #[error("permission denied on {0} (the control socket is root-only by default)")]
    PermissionDenied(PathBuf),
    /// Any other I/O failure.
    #[error("control socket {path}")]
    Io {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The daemon answered something that is not a response.
    #[error("bad answer from the daemon: {0}")]
    BadAnswer(String),
    /// The daemon answered with an error.
    #[error("{0}")]
    Daemon(String),
}

/// Sends `request` to the daemon at `path` and returns its result.
pub async fn call(path: &Path, request: &Request) -> Result<serde_json::Value, ClientError> {
    let io = |source: std::io::Error| ClientError::Io {
        path: path.to_path_buf(),
        source,
    };
    let stream = UnixStream::connect(path)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning(path.to_path_buf())
            }
            std::io::ErrorKind::PermissionDenied => {
                ClientError::PermissionDenied(path.to_path_buf())
            }
            _ => io(e),
        })?;
    let (read, mut write) = stream.into_split();
    let mut line =
        serde_json::to_string(request).map_err(|e| ClientError::BadAnswer(e.to_string()))?;
    line.push('\n');
    write.write_all(line.as_bytes()).await.map_err(io)?;
    write.shutdown().await.map_err(io)?;
    let mut answer = String::new();
    BufReader::new(read)
        .read_line(&mut answer)
        .await
        .map_err(io)?;
    let response: Response =
        serde_json::from_str(&answer).map_err(|e| ClientError::BadAnswer(e.to_string()))?;
    if response.ok {
        Ok(response.result.unwrap_or(serde_json::Value::Null))
    } else {
        Err(ClientError::Daemon(
            response.error.unwrap_or_else(|| "unknown error".into()),
        ))
    }
}

/// Binds the control socket at `path`: creates its directory, refuses to
/// start when another daemon answers there, removes a stale socket file,
/// and restricts the socket to its owner (root) unless `mode` says
/// otherwise.
pub async fn bind(path: &Path, mode: u32) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("another daemon is listening on {}", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

/// Reads one request from a connection, lets `handle` answer it, writes the
/// answer. Malformed requests get an error response, never a crash.
pub async fn serve_one<F, Fut>(stream: UnixStream, handle: F)
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = BufReader::new(read).take(MAX_REQUEST as u64);
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await {
        Err(_) => Response::error("request timed out"),
        Ok(Err(e)) => Response::error(format!("reading the request: {e}")),
        Ok(Ok(_)) => match serde_json::from_str::<Request>(&line) {
            Ok(request) => handle(request).await,
            Err(e) => Response::error(format!("bad request: {e}")),
        },
    };
    let mut out = serde_json::to_string(&response)
        .unwrap_or_else(|_| r#"{"ok":false,"error":"unserialisable response"}"#.into());
    out.push('\n');
    let _ = write.write_all(out.as_bytes()).await;
    let _ = write.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_json_is_stable() {
        let r = Request::Show {
            table: Table::Fdb,
            filter: Filter {
                vnet: Some("myvnet1".into()),
                ..Filter::default()
            },
        };
        assert_eq!(
            serde_json::to_string(&r).expect("json"),
            r#"{"request":"show","table":"fdb","filter":{"vnet":"myvnet1"}}"#
        );
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"request":"status"}"#).expect("parse"),
            Request::Status
        );
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"request":"show","table":"ports"}"#)
                .expect("parse"),
            Request::Show {
                table: Table::Ports,
                filter: Filter::default()
            }
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn round_trip_over_a_socket() {
        let dir = std::env::temp_dir().join(format!("xsdn-api-test-{}", std::process::id()));
        let path = dir.join("s.sock");
        let listener = bind(&path, 0o600).await.expect("bind");
        let server = tokio::spawn(async move {
            for _ in 0..2 {
                let (stream, _) = listener.accept().await.expect("accept");
                serve_one(stream, |req| async move {
                    match req {
                        Request::Status => Response::ok(serde_json::json!({"generation": 3})),
                        _ => Response::error("unknown VNet 'nope'"),
                    }
                })
                .await;
            }
        });
        let status = call(&path, &Request::Status).await.expect("status");
        assert_eq!(status["generation"], 3);
        let err = call(
            &path,
            &Request::Show {
                table: Table::Fdb,
                filter: Filter::default(),
            },
        )
        .await
        .expect_err("error response");
        assert_eq!(err.to_string(), "unknown VNet 'nope'");
        server.await.expect("server");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn missing_socket_says_daemon_not_running() {
        let err = call(Path::new("/nonexistent/xsdn.sock"), &Request::Status)
            .await
            .expect_err("no daemon");
        assert!(err.to_string().starts_with("daemon not running"), "{err}");
    }
}
