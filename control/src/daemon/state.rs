//! The running daemon: its state and its event loop.
//!
//! One task owns all state; nothing is shared with locks. Connection tasks
//! (control socket, metrics) read their request, hand it to the loop over a
//! channel and write the answer the loop sends back, so a slow client never
//! stalls the loop. Configuration reloads and kernel re-plans run in the
//! loop, off the workers' hot path; the result reaches the worker as one new
//! tables generation.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use futures_util::StreamExt;
use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use xsdn_common::{PortMode, SteerKey};
use xsdn_dataplane::tables::{ForwardingTables, PortIdx};
use xsdn_dataplane::worker::{WorkerConfig, WorkerHandle};
use xsdn_dataplane::xdp::{AttachMode, XdpSteering, find_object};
use xsdn_dataplane::xsk::XskSettings;

use crate::compile::compile;
use crate::compile::{CompiledNode, Encap};
use crate::config::load::{self, Prefer};
use crate::config::model::SdnConfig;
use crate::diag::Severity;
use crate::validate;

use super::api::{self, Request, Response};
use super::ports::{AttachedPort, give_back, set_host_path, take_over};
use super::{AttachArg, Settings, metrics};
use crate::diag::Diagnostic;
use crate::lower::{self, LowerSettings, SlotAllocator, Steering};
use crate::netlink::Kernel;
use crate::node::kernel_state::{KernelState, RouteTo};
use crate::node::live;

/// Quiet time after a kernel notification before re-planning (coalesces
/// bursts, including the notifications our own changes cause).
const KERNEL_SETTLE: Duration = Duration::from_millis(50);
/// How often the XDP program's log records are read.
const XDP_LOG_POLL: Duration = Duration::from_millis(500);
/// How often to re-plan while a VXLAN next hop is still unresolved.
const UNRESOLVED_RETRY: Duration = Duration::from_millis(500);

/// Result of the last configuration load.
#[derive(Clone, Debug)]
pub struct ReloadOutcome {
    /// When it happened.
    pub at: SystemTime,
    /// Whether the configuration was accepted.
    pub ok: bool,
    /// Errors (when rejected) and warnings, one line each.
    pub messages: Vec<String>,
}

/// Configuration state: the last good configuration and the last attempt.
#[derive(Debug, Default)]
pub struct ConfigState {
    /// Generation of the configuration in force (0 = none yet).
    pub generation: u64,
    /// The configuration in force.
    pub good: Option<SdnConfig>,
    /// The last reload attempt.
    pub last: Option<ReloadOutcome>,
    /// Reload attempts by outcome.
    pub reloads_ok: u64,
    /// Rejected reloads.
    pub reloads_failed: u64,
    /// File fingerprints of the last load (change detection).
    fingerprint: Vec<(PathBuf, Option<(SystemTime, u64)>)>,
}

/// The daemon's state, owned by the event loop.
pub struct Daemon {
    /// Effective settings.
    pub settings: Settings,
    /// Netlink handle.
    pub kernel: Kernel,
    /// The XDP program and maps.
    pub xdp: XdpSteering,
    /// The worker.
    pub worker: WorkerHandle,
    /// Configuration state.
    pub config: ConfigState,
    /// Compiled tables of the configuration in force.
    pub compiled: Option<CompiledNode>,
    /// Last kernel snapshot.
    pub kernel_state: KernelState,
    /// Ports taken over, by slot.
    pub ports: BTreeMap<PortIdx, AttachedPort>,
    /// Steering rules installed.
    pub steer: Vec<SteerKey>,
    /// VNet -> counter slot.
    pub vnet_counters: BTreeMap<String, usize>,
    /// The tables the worker runs.
    pub tables: Arc<ForwardingTables>,
    /// Generation of the tables the worker runs.
    pub tables_generation: u64,
    /// Warnings of the last plan.
    pub plan_warnings: Vec<Diagnostic>,
    /// Next hops waiting for the kernel to resolve them.
    pub unresolved: Vec<(u32, IpAddr)>,
    /// When the daemon started.
    pub started: Instant,
    slots: SlotAllocator,
}

impl Daemon {
    fn attach_mode(&self) -> AttachMode {
        match self.settings.attach {
            AttachArg::Auto => AttachMode::Auto,
            AttachArg::Native => AttachMode::Native,
            AttachArg::Generic => AttachMode::Generic,
        }
    }

    fn fingerprint(&self) -> Vec<(PathBuf, Option<(SystemTime, u64)>)> {
        load::watched_files(&self.settings.config)
            .into_iter()
            .map(|p| {
                let stamp = std::fs::metadata(&p)
                    .ok()
                    .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
                (p, stamp)
            })
            .collect()
    }

    /// Whether the configuration files changed since the last load.
    pub fn config_changed(&self) -> bool {
        self.fingerprint() != self.config.fingerprint
    }

    /// Loads, validates and (if valid) adopts the configuration. An
    /// invalid configuration leaves the one in force untouched.
    pub fn reload_config(&mut self) -> &ReloadOutcome {
        self.config.fingerprint = self.fingerprint();
        let outcome = match load::load(&self.settings.config, Prefer::Running) {
            Err(e) => ReloadOutcome {
                at: SystemTime::now(),
                ok: false,
                messages: vec![super::chain(&e)],
            },
            Ok(loaded) => {
                let diagnostics = validate::report(&loaded.parsed);
                let errors: Vec<String> = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .map(ToString::to_string)
                    .collect();
                if errors.is_empty() {
                    // The generation counts distinct configurations: the
                    // same files read again keep it.
                    if self.config.good.as_ref() != Some(&loaded.parsed.config) {
                        self.config.good = Some(loaded.parsed.config);
                        self.config.generation += 1;
                    }
                    ReloadOutcome {
                        at: SystemTime::now(),
                        ok: true,
                        messages: diagnostics.iter().map(ToString::to_string).collect(),
                    }
                } else {
                    ReloadOutcome {
                        at: SystemTime::now(),
                        ok: false,
                        messages: errors,
                    }
                }
            }
        };
        if outcome.ok {
            self.config.reloads_ok += 1;
            tracing::info!(
                generation = self.config.generation,
                warnings = outcome.messages.len(),
                "configuration loaded"
            );
        } else {
            self.config.reloads_failed += 1;
            tracing::error!(
                errors = %outcome.messages.join("; "),
                "configuration rejected; the previous one stays in force"
            );
        }
        self.config.last.insert(outcome)
    }

    /// Re-reads the kernel state, recompiles for this node and applies the
    /// resulting plan.
    pub async fn replan(&mut self) {
        let Some(cfg) = self.config.good.clone() else {
            return;
        };
        let kernel_state = match self.kernel.snapshot().await {
            Ok(state) => state,
            Err(e) => {
                tracing::error!(error = %super::chain(&e), "reading the kernel state");
                return;
            }
        };
        let facts =
            live::kernel_facts(&self.settings.node, &self.kernel, &kernel_state, &cfg).await;
        let tables = match compile(&cfg, &facts) {
            Ok(tables) => tables,
            Err(e) => {
                tracing::error!(error = %super::chain(&e), "compiling the configuration for this node");
                return;
            }
        };
        let mut routes: HashMap<IpAddr, RouteTo> = HashMap::new();
        for vnet in &tables.vnets {
            if let Encap::Vxlan { peers, .. } = &vnet.encap {
                for peer in peers {
                    if routes.contains_key(peer) {
                        continue;
                    }
                    if let Ok(route) = self.kernel.route_get(*peer).await {
                        routes.insert(*peer, route);
                    }
                }
            }
        }
        let settings = LowerSettings {
            uplinks: self.settings.uplinks.clone(),
            ports: self.settings.ports.clone(),
            vtep_ip: self.settings.vtep_ip,
        };
        let plan = lower::lower(&tables, &kernel_state, &routes, &settings, &mut self.slots);
        for &(ifindex, ip) in &plan.unresolved {
            if let Err(e) = self.kernel.ensure_managed_neighbour(ifindex, ip).await {
                tracing::warn!(%ip, error = %super::chain(&e), "asking the kernel to resolve a VXLAN next hop");
            }
        }
        if plan.diagnostics != self.plan_warnings {
            for warning in &plan.diagnostics {
                tracing::warn!("{warning}");
            }
        }
        self.plan_warnings = plan.diagnostics.clone();
        self.unresolved = plan.unresolved.clone();
        self.vnet_counters = plan.vnet_counters.clone();
        self.compiled = Some(tables);
        self.kernel_state = kernel_state;
        self.apply(plan);
    }

    /// Moves the running dataplane to `plan`: gives back ports that left,
    /// swaps the tables, takes over new ports, updates steering rules.
    fn apply(&mut self, plan: lower::Plan) {
        let attach = self.attach_mode();
        // Ports that left or changed identity.
        let stale: Vec<PortIdx> = self
            .ports
            .iter()
            .filter(|(slot, port)| {
                plan.ports.get(slot).is_none_or(|p| {
                    p.name != port.name
                        || p.ifindex != port.ifindex
                        || mode_of(p.steering) != port.mode
                })
            })
            .map(|(slot, _)| *slot)
            .collect();
        for slot in stale {
            if let Some(port) = self.ports.remove(&slot) {
                tracing::info!(port = %port.name, "giving the port back to the kernel");
                give_back(&mut self.xdp, &self.worker, &port);
            }
        }
        // Kept ports whose bridge gained or lost host addresses.
        for (slot, port) in &mut self.ports {
            let Some(planned) = plan.ports.get(slot) else {
                continue;
            };
            if planned.host_mac != port.host_mac {
                match set_host_path(&mut self.xdp, port, planned.host_mac) {
                    Ok(()) => tracing::info!(
                        port = %port.name,
                        host_path = planned.host_mac.is_some(),
                        "host path changed (frames for the bridge's own addresses go to the kernel)"
                    ),
                    Err(e) => {
                        tracing::error!(port = %port.name, error = format!("{e:#}"), "updating the port's host path")
                    }
                }
            }
        }
        // Steering rules: remove what is gone, add what is new.
        for key in self.steer.clone() {
            if !plan.steer.contains(&key) {
                let _ = self.xdp.remove_steer(key);
            }
        }
        for key in &plan.steer {
            if let Err(e) = self.xdp.add_steer(*key) {
                tracing::error!(error = %super::chain(&e), "installing a steering rule");
            }
        }
        self.steer = plan.steer.clone();
        // Tables first, so new ports are known before their first frame.
        if format!("{:?}", plan.tables) != format!("{:?}", self.tables) {
            self.tables_generation += 1;
            let mut tables = plan.tables;
            tables.generation = self.tables_generation;
            self.tables = Arc::new(tables);
            if let Err(e) = self.worker.set_tables(Arc::clone(&self.tables)) {
                tracing::error!(error = %super::chain(&e), "handing new tables to the worker");
            }
        }
        for (slot, planned) in &plan.ports {
            if self.ports.contains_key(slot) {
                continue;
            }
            let mode = mode_of(planned.steering);
            match take_over(
                &mut self.xdp,
                &self.worker,
                *slot,
                &planned.name,
                planned.ifindex,
                mode,
                planned.host_mac,
                attach,
            ) {
                Ok(port) => {
                    tracing::info!(
                        port = %port.name,
                        role = if mode == PortMode::SteerAll { "guest" } else { "uplink" },
                        vnet = planned.vnet.as_deref().unwrap_or("-"),
                        xdp = port.attach.as_str(),
                        queues = port.queues,
                        host_path = port.host_mac.is_some(),
                        "took the port over"
                    );
                    self.ports.insert(*slot, port);
                }
                Err(e) => {
                    tracing::error!(port = %planned.name, error = format!("{e:#}"), "taking the port over")
                }
            }
        }
    }

    /// Gives every port back and stops the worker.
    pub fn shutdown(mut self) {
        let ports: Vec<AttachedPort> = self.ports.values().cloned().collect();
        for port in &ports {
            give_back(&mut self.xdp, &self.worker, port);
        }
        for key in std::mem::take(&mut self.steer) {
            let _ = self.xdp.remove_steer(key);
        }
        if let Err(e) = self.xdp.detach_all() {
            tracing::warn!(error = %super::chain(&e), "detaching XDP");
        }
        self.worker.stop();
        tracing::info!("stopped; every port is back with the kernel");
    }
}

fn mode_of(steering: Steering) -> PortMode {
    match steering {
        Steering::All => PortMode::SteerAll,
        Steering::Matched => PortMode::SteerMatched,
    }
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

/// Runs the daemon until SIGINT or SIGTERM.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listener = api::bind(&settings.socket, 0o600)
        .await
        .with_context(|| format!("control socket {}", settings.socket.display()))?;
    let (kernel, mut kernel_events) = Kernel::connect_watching()?;
    let object = find_object(settings.xdp_object.as_deref())?;
    let mut xdp = XdpSteering::load(&object)?;
    // The XDP program logs only rare, rate-limited events; reading its
    // ring buffer twice a second is plenty (and needs no fd registration).
    let mut xdp_logs = xdp.take_logger();
    let worker = WorkerHandle::spawn(
        WorkerConfig {
            xsk: XskSettings {
                frames: settings.frames,
                ..XskSettings::default()
            },
            fdb_capacity: settings.fdb_size,
            fdb_age: Duration::from_secs(settings.fdb_age_secs),
            ..WorkerConfig::default()
        },
        Arc::new(ForwardingTables::new()),
    )?;
    let metrics_addr = settings.metrics;
    let socket_path = settings.socket.clone();
    let poll = Duration::from_millis(settings.config_poll_ms);
    let mut daemon = Daemon {
        settings,
        kernel,
        xdp,
        worker,
        config: ConfigState::default(),
        compiled: None,
        kernel_state: KernelState::default(),
        ports: BTreeMap::new(),
        steer: Vec::new(),
        vnet_counters: BTreeMap::new(),
        tables: Arc::new(ForwardingTables::new()),
        tables_generation: 0,
        plan_warnings: Vec::new(),
        unresolved: Vec::new(),
        started: Instant::now(),
        slots: SlotAllocator::default(),
    };
    daemon.reload_config();
    daemon.replan().await;

    let (control_tx, mut control_rx) = mpsc::channel::<ControlRequest>(16);
    let control_task = tokio::spawn(accept_control(listener, control_tx));
    let (scrape_tx, mut scrape_rx) = mpsc::channel::<oneshot::Sender<String>>(16);
    let metrics_task = match metrics_addr {
        Some(addr) => {
            let listener = metrics::bind(addr)
                .await
                .with_context(|| format!("metrics address {addr}"))?;
            tracing::info!(%addr, "serving /metrics");
            Some(tokio::spawn(metrics::serve_via(listener, scrape_tx)))
        }
        None => None,
    };
    let mut sigterm = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut config_poll = tokio::time::interval(poll);
    let mut settle: Option<tokio::time::Instant> = None;
    let mut retry = tokio::time::interval(UNRESOLVED_RETRY);
    let mut log_poll = tokio::time::interval(XDP_LOG_POLL);
    tracing::info!(node = %daemon.settings.node, socket = %socket_path.display(), "running");

    loop {
        let settle_at =
            settle.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sighup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration");
                if daemon.reload_config().ok {
                    daemon.replan().await;
                }
            }
            _ = config_poll.tick() => {
                if daemon.config_changed() {
                    tracing::info!("configuration files changed: reloading");
                    if daemon.reload_config().ok {
                        daemon.replan().await;
                    }
                }
            }
            event = kernel_events.next() => {
                if event.is_none() {
                    anyhow::bail!("the netlink connection closed");
                }
                settle = Some(tokio::time::Instant::now() + KERNEL_SETTLE);
            }
            _ = tokio::time::sleep_until(settle_at), if settle.is_some() => {
                settle = None;
                daemon.replan().await;
            }
            _ = log_poll.tick(), if xdp_logs.is_some() => {
                if let Some(logs) = xdp_logs.as_mut() {
                    logs.flush();
                }
            }
            _ = retry.tick(), if !daemon.unresolved.is_empty() => {
                daemon.replan().await;
            }
            Some((request, reply)) = control_rx.recv() => {
                let response = super::respond::respond(&mut daemon, request).await;
                let _ = reply.send(response);
            }
            Some(reply) = scrape_rx.recv() => {
                let _ = reply.send(super::exposition::render(&daemon));
            }
        }
    }
    tracing::info!("stopping");
    control_task.abort();

    if let Some(task) = metrics_task {
        task.abort();
    }
    let _ = std::fs::remove_file(&socket_path);
    daemon.shutdown();
    Ok(())
}
