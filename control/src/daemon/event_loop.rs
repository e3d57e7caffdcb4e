//! The daemon's event loop: signals, timers, kernel notifications and
//! requests, one at a time.
//!
//! Layer: daemon, the top of it. One task owns all state; nothing is
//! shared with locks. Connection tasks (control socket, metrics) read
//! their request, hand it to the loop over a channel and write the answer
//! the loop sends back, so a slow client never stalls the loop. Reloads
//! ([`ConfigSource`]) and re-plans ([`Reconciler`]) run here, off the
//! workers' hot path; readers get a [`DaemonView`]. A `reload` request is
//! carried out here, then answered by [`respond`] like any other.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use xsdn_dataplane::tables::ForwardingTables;

use crate::dataplane_host::{DataplaneHost, HostConfig, HostError};
use crate::lower::LowerSettings;
use crate::netlink::{Kernel, KernelError};

use super::Settings;
use super::api::{self, Request, Response};
use super::config_source::ConfigSource;
use super::reconcile::Reconciler;
use super::view::DaemonView;
use super::{exposition, metrics, respond};

/// Quiet time after a kernel notification before re-planning (coalesces
/// bursts, including the notifications our own changes cause).
const KERNEL_SETTLE: Duration = Duration::from_millis(50);
/// Longest a burst of notifications can postpone re-planning: a steady
/// stream (a guest sending ARP from fresh MACs keeps the neighbour table
/// busy) must not keep the daemon from ever taking over a new port.
const KERNEL_SETTLE_MAX: Duration = Duration::from_millis(500);
/// How often the XDP program's log records are read.
const XDP_LOG_POLL: Duration = Duration::from_millis(500);
/// How often the worker's liveness is checked.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(500);
/// A worker whose loop has not passed for this long hangs.
const WORKER_HANG: Duration = Duration::from_secs(3);
/// Exit status when the worker hung (the process ends without waiting for
/// it; the kernel detaches every program with the process).
const EXIT_WORKER_HUNG: i32 = 70;
/// How often to re-plan while a VXLAN next hop is still unresolved.
const UNRESOLVED_RETRY: Duration = Duration::from_millis(500);
/// ...doubling while it stays unresolved (a peer that is down), up to this.
const UNRESOLVED_RETRY_MAX: Duration = Duration::from_secs(10);

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The control socket could not be bound.
    #[error("control socket {}", .path.display())]
    ControlSocket {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The metrics address could not be bound.
    #[error("metrics address {addr}")]
    Metrics {
        /// The address.
        addr: std::net::SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A signal handler could not be installed.
    #[error("{signal} handler")]
    Signal {
        /// The signal.
        signal: &'static str,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Netlink.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// The dataplane.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The kernel notifications stopped.
    #[error("the netlink connection closed")]
    NetlinkClosed,
    /// The dataplane worker thread died (a panic): the daemon exits so
    /// that its supervisor restarts it; the kernel bridges forward
    /// meanwhile.
    #[error("the dataplane worker died")]
    WorkerDied,
}

type ControlRequest = (Request, oneshot::Sender<Response>);

/// Accepts control connections and forwards their requests to the loop.
async fn accept_control(listener: UnixListener, to_loop: mpsc::Sender<ControlRequest>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let to_loop = to_loop.clone();
        tokio::spawn(api::serve_one(stream, move |request| async move {
            let (reply, answer) = oneshot::channel();
            if to_loop.send((request, reply)).await.is_err() {
                return Response::error("the daemon is shutting down");
            }
            answer
                .await
                .unwrap_or_else(|_| Response::error("the daemon is shutting down"))
        }));
    }
}

fn on_signal(
    kind: SignalKind,
    name: &'static str,
) -> Result<tokio::signal::unix::Signal, DaemonError> {
    signal(kind).map_err(|source| DaemonError::Signal {
        signal: name,
        source,
    })
}

/// The state the loop owns: the configuration source and the reconciler,
/// stepped together.
struct Daemon {
    node: String,
    started: Instant,
    config: ConfigSource,
    reconciler: Reconciler,
}

impl Daemon {
    /// The read-only view for one answer.
    fn view(&self) -> DaemonView<'_> {
        DaemonView::new(
            &self.node,
            &self.config,
            self.reconciler.applied(),
            self.started,
        )
    }

    /// Re-plans with the configuration in force (none: nothing to do).
    async fn reconcile(&mut self) {
        if let Some(cfg) = self.config.in_force() {
            self.reconciler.reconcile(cfg).await;
        }
    }

    /// Reloads the configuration and, when accepted, re-plans.
    async fn reload(&mut self) {
        if self.config.reload().ok {
            self.reconcile().await;
        }
    }
}

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn serve(settings: Settings) -> Result<(), DaemonError> {
    let listener =
        api::bind(&settings.socket, 0o600)
            .await
            .map_err(|source| DaemonError::ControlSocket {
                path: settings.socket.clone(),
                source,
            })?;
    let (kernel, mut kernel_events) = Kernel::connect_watching()?;
    let mut host = DataplaneHost::start(
        &HostConfig {
            xdp_object: settings.xdp_object.clone(),
            attach: settings.attach.into(),
            frames: settings.frames,
            fdb_capacity: settings.fdb_size,
            fdb_age: Some(Duration::from_secs(settings.fdb_age_secs)),
            fdb_max_per_vnet: Some(settings.fdb_max_per_vnet),
            flood_rate: Some(settings.flood_rate),
            kernel_tier: settings.kernel_tier,
        },
        Arc::new(ForwardingTables::new()),
    )?;
    // The XDP program logs only rare, rate-limited events; reading its
    // ring buffer twice a second is plenty (and needs no fd registration).
    let mut xdp_logs = host.take_xdp_logger();
    let lowering = LowerSettings {
        uplinks: settings.uplinks.clone(),
        ports: settings.ports.clone(),
        vtep_ip: settings.vtep_ip,
    };
    let mut daemon = Daemon {
        node: settings.node.clone(),
        started: Instant::now(),
        config: ConfigSource::new(settings.config.clone()),
        reconciler: Reconciler::new(settings.node.clone(), kernel, lowering, host),
    };
    daemon.reload().await;

    let (control_tx, mut control_rx) = mpsc::channel::<ControlRequest>(16);
    let control_task = tokio::spawn(accept_control(listener, control_tx));
    let (scrape_tx, mut scrape_rx) = mpsc::channel::<oneshot::Sender<String>>(16);
    let metrics_task = match settings.metrics {
        Some(addr) => {
            let listener = metrics::bind(addr)
                .await
                .map_err(|source| DaemonError::Metrics { addr, source })?;
            tracing::info!(%addr, "serving /metrics");
            Some(tokio::spawn(metrics::serve_via(listener, scrape_tx)))
        }
        None => None,
    };
    let mut sigterm = on_signal(SignalKind::terminate(), "SIGTERM")?;
    let mut sigint = on_signal(SignalKind::interrupt(), "SIGINT")?;
    let mut sighup = on_signal(SignalKind::hangup(), "SIGHUP")?;
    let mut config_poll = tokio::time::interval(Duration::from_millis(settings.config_poll_ms));
    let mut settle = Settle::default();
    let mut retry = Backoff::new(UNRESOLVED_RETRY, UNRESOLVED_RETRY_MAX);
    let mut log_poll = tokio::time::interval(XDP_LOG_POLL);
    let mut watchdog = tokio::time::interval(WATCHDOG_PERIOD);
    let mut liveness = Liveness::new(daemon.view().worker().heartbeat());
    tracing::info!(node = %settings.node, socket = %settings.socket.display(), "running");

    loop {
        if !daemon.reconciler.has_unresolved() {
            retry.reset(tokio::time::Instant::now());
        }
        let settle_at = settle
            .deadline()
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sighup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration");
                daemon.reload().await;
            }
            _ = config_poll.tick() => {
                if daemon.config.changed() {
                    tracing::info!("configuration files changed: reloading");
                    daemon.reload().await;
                }
            }
            event = kernel_events.next() => {
                if event.is_none() {
                    return Err(DaemonError::NetlinkClosed);
                }
                settle.note(tokio::time::Instant::now());
            }
            _ = tokio::time::sleep_until(settle_at), if settle.pending() => {
                settle = Settle::default();
                daemon.reconcile().await;
            }
            _ = watchdog.tick() => {
                let worker = daemon.view().worker();
                if !worker.is_running() {
                    tracing::error!("the dataplane worker died: stopping (the kernel bridges forward meanwhile)");
                    return Err(DaemonError::WorkerDied);
                }
                if liveness.hung(worker.heartbeat(), std::time::Instant::now()) {
                    tracing::error!(
                        after = ?WORKER_HANG,
                        "the dataplane worker hangs: exiting at once (the kernel bridges forward meanwhile)"
                    );
                    // Joining a hung thread would block for ever: end the
                    // process, which detaches every program with it.
                    std::process::exit(EXIT_WORKER_HUNG);
                }
            }
            _ = log_poll.tick(), if xdp_logs.is_some() => {
                if let Some(logs) = xdp_logs.as_mut() {
                    logs.flush();
                }
            }
            _ = tokio::time::sleep_until(retry.next()), if daemon.reconciler.has_unresolved() => {
                retry.fired(tokio::time::Instant::now());
                daemon.reconcile().await;
            }
            Some((request, reply)) = control_rx.recv() => {
                if matches!(request, Request::Reload) {
                    daemon.reload().await;
                }
                let _ = reply.send(respond::respond(&daemon.view(), request));
            }
            Some(reply) = scrape_rx.recv() => {
                let _ = reply.send(exposition::render(&daemon.view()));
            }
        }
    }
    tracing::info!("stopping");
    control_task.abort();
    if let Some(task) = metrics_task {
        task.abort();
    }
    let _ = std::fs::remove_file(&settings.socket);
    daemon.reconciler.forget_neighbours().await;
    daemon.reconciler.shutdown();
    Ok(())
}

/// Whether the worker makes progress: its heartbeat must move at least
/// once within [`WORKER_HANG`].
#[derive(Clone, Copy, Debug)]
struct Liveness {
    beat: u64,
    moved_at: std::time::Instant,
}

impl Liveness {
    fn new(beat: u64) -> Liveness {
        Liveness {
            beat,
            moved_at: std::time::Instant::now(),
        }
    }

    /// Takes the heartbeat `beat` seen at `now`; true once it has not
    /// moved for [`WORKER_HANG`].
    fn hung(&mut self, beat: u64, now: std::time::Instant) -> bool {
        if beat != self.beat {
            self.beat = beat;
            self.moved_at = now;
        }
        now.duration_since(self.moved_at) >= WORKER_HANG
    }
}

/// Retries at growing intervals: `first`, then twice as long each time up
/// to `max`, until [`Backoff::reset`].
#[derive(Clone, Copy, Debug)]
struct Backoff {
    first: Duration,
    max: Duration,
    delay: Duration,
    at: tokio::time::Instant,
}

impl Backoff {
    fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            delay: first,
            at: tokio::time::Instant::now() + first,
        }
    }

    /// When the next retry is due.
    fn next(&self) -> tokio::time::Instant {
        self.at
    }

    /// A retry ran at `now`: the next one waits twice as long.
    fn fired(&mut self, now: tokio::time::Instant) {
        self.delay = (self.delay * 2).min(self.max);
        self.at = now + self.delay;
    }

    /// Nothing to retry: the next need starts again at `first`.
    fn reset(&mut self, now: tokio::time::Instant) {
        self.delay = self.first;
        self.at = now + self.first;
    }
}

/// When to re-plan after kernel notifications: [`KERNEL_SETTLE`] after the
/// last one of a burst, but no later than [`KERNEL_SETTLE_MAX`] after its
/// first.
#[derive(Clone, Copy, Debug, Default)]
struct Settle {
    /// The first and the last notification of the burst.
    burst: Option<(tokio::time::Instant, tokio::time::Instant)>,
}

impl Settle {
    /// A notification arrived at `now`.
    fn note(&mut self, now: tokio::time::Instant) {
        let first = self.burst.map_or(now, |(first, _)| first);
        self.burst = Some((first, now));
    }

    /// Whether a re-plan is due at some point.
    fn pending(&self) -> bool {
        self.burst.is_some()
    }

    /// When to re-plan, if anything is pending.
    fn deadline(&self) -> Option<tokio::time::Instant> {
        self.burst
            .map(|(first, last)| (last + KERNEL_SETTLE).min(first + KERNEL_SETTLE_MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_still_heartbeat_is_a_hang_only_after_the_grace_time() {
        let t0 = std::time::Instant::now();
        let mut l = Liveness {
            beat: 5,
            moved_at: t0,
        };
        assert!(!l.hung(6, t0 + Duration::from_secs(2)));
        assert!(!l.hung(6, t0 + Duration::from_secs(4)));
        assert!(l.hung(6, t0 + Duration::from_secs(5)));
        assert!(!l.hung(7, t0 + Duration::from_secs(6)));
    }

    #[test]
    fn retries_for_an_unresolved_peer_back_off_to_the_maximum() {
        let t0 = tokio::time::Instant::now();
        let mut b = Backoff::new(UNRESOLVED_RETRY, UNRESOLVED_RETRY_MAX);
        b.reset(t0);
        let mut now = t0;
        let mut gaps = Vec::new();
        for _ in 0..8 {
            let at = b.next();
            gaps.push(at - now);
            now = at;
            b.fired(now);
        }
        let ms: Vec<u128> = gaps.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
        b.reset(now);
        assert_eq!(b.next() - now, UNRESOLVED_RETRY);
    }

    #[test]
    fn a_burst_settles_after_its_last_notification() {
        let t0 = tokio::time::Instant::now();
        let mut s = Settle::default();
        assert_eq!(s.deadline(), None);
        s.note(t0);
        s.note(t0 + Duration::from_millis(20));
        assert_eq!(
            s.deadline(),
            Some(t0 + Duration::from_millis(20) + KERNEL_SETTLE)
        );
    }

    #[test]
    fn a_steady_stream_cannot_postpone_re_planning_past_the_maximum() {
        let t0 = tokio::time::Instant::now();
        let mut s = Settle::default();
        // One notification every 30 ms for 10 s: each alone would push the
        // deadline 50 ms further.
        for i in 0..333 {
            s.note(t0 + Duration::from_millis(30 * i));
        }
        assert_eq!(s.deadline(), Some(t0 + KERNEL_SETTLE_MAX));
    }
}
