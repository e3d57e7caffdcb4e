//! A dataplane worker thread and the handle that drives it.
//!
//! Layer: glue between the AF_XDP sockets ([`crate::xsk`]) and the
//! forwarding [`Pipeline`]. The thread owns its UMEM, sockets, pipeline and
//! MAC table; nothing of it is shared except single-writer counters. The
//! daemon talks to it through [`WorkerHandle`]: open or close a port's
//! sockets, swap in new tables, or run a read-only query (table dumps,
//! socket statistics) between two batches. Commands wake the thread through
//! an eventfd, so they take effect at once; between commands the thread
//! sleeps in `poll(2)` when idle and never spins.

mod engine;
mod kernel_sync;

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use engine::Engine;
pub use engine::PortQueues;
use kernel_sync::KernelSync;
pub use kernel_sync::KernelSyncStats;

use crate::counters::PortCounters;
use crate::kernel_tier::FdbWriter;
use crate::pipeline::{Fdb, Generation, Pipeline, PipelineCounters, Tick};
use crate::tables::{ForwardingTables, PortSlot};
use crate::xsk::{Waker, XskSet, XskSettings};

/// Idle wait before re-checking commands and the stop flag, in ms.
const IDLE_WAIT_MS: i32 = 100;
/// Idle wait while work is pending that raises no readiness event
/// (transmit completions, held frames, a kernel-tier resynchronization),
/// in ms.
const PENDING_WAIT_MS: i32 = 5;
/// How long the daemon waits for the worker to carry out a command that
/// opens or closes sockets.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the daemon waits for the worker to answer a query (it answers
/// between two batches, within milliseconds when healthy): a hung worker
/// must not hold the daemon's event loop, and its watchdog, for long.
const QUERY_TIMEOUT: Duration = Duration::from_secs(1);

/// Settings of one worker.
#[derive(Clone, Copy, Debug)]
pub struct WorkerConfig {
    /// UMEM and ring geometry.
    pub xsk: XskSettings,
    /// MAC table capacity.
    pub fdb_capacity: usize,
    /// MAC ageing time.
    pub fdb_age: Duration,
    /// Most MACs learning gives one VNet (bridge domain).
    pub fdb_max_per_vnet: usize,
    /// Broadcast, multicast and unknown-unicast frames each guest port may
    /// flood per second (0: no limit).
    pub flood_rate: u32,
    /// Number of per-VNet counter slots.
    pub vnet_counter_slots: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            xsk: XskSettings::default(),
            fdb_capacity: 16384,
            fdb_age: Duration::from_secs(300),
            fdb_max_per_vnet: 4096,
            flood_rate: 10_000,
            vnet_counter_slots: 4096,
        }
    }
}

/// Read-only view of a worker's state, given to queries.
pub struct WorkerView<'a> {
    /// The pipeline (tables, MAC table, counters).
    pub pipeline: &'a Pipeline,
    /// The sockets (statistics).
    pub sockets: &'a XskSet,
    /// Open ports, by slot index.
    pub ports: &'a [Option<PortQueues>],
    /// The worker's clock (milliseconds since start), for FDB ages.
    pub now: Tick,
    /// Punted frames without a valid port tag, dropped.
    pub punt_rejected: u64,
    /// The mirroring of the MAC table into the kernel tier (`None`
    /// without the kernel tier).
    pub kernel_sync: Option<KernelSyncStats>,
}

impl WorkerView<'_> {
    /// The kernel's AF_XDP statistics of port `slot`, summed over its
    /// queues (zero for a slot without sockets).
    pub fn port_socket_stats(&self, slot: PortSlot) -> crate::xsk::SocketStats {
        let mut sum = crate::xsk::SocketStats::default();
        let queues = self.ports.get(slot.index()).and_then(Option::as_ref);
        for &q in queues.map(|p| p.queues.as_slice()).unwrap_or(&[]) {
            if let Ok(stats) = self.sockets.stats(q) {
                sum.add(&stats);
            }
        }
        sum
    }
}

type Query = Box<dyn FnOnce(&WorkerView<'_>) + Send>;

enum Command {
    OpenPort {
        slot: PortSlot,
        name: String,
        tx_only: bool,
        reply: mpsc::Sender<io::Result<Vec<(u32, RawFd)>>>,
    },
    OpenPunt {
        name: String,
        reply: mpsc::Sender<io::Result<Vec<(u32, RawFd)>>>,
    },
    ClosePunt {
        reply: mpsc::Sender<()>,
    },
    AttachKernelTier(FdbWriter),
    ClosePort {
        slot: PortSlot,
        reply: mpsc::Sender<()>,
    },
    SwapTables(Arc<Generation>),
    Query(Query),
    /// Test builds only: make the worker fail ([`WorkerFault`]).
    #[cfg(debug_assertions)]
    Fault(WorkerFault),
}

/// A failure a test can inject into the worker (debug builds only), to
/// prove that the daemon notices it.
#[cfg(debug_assertions)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerFault {
    /// The worker thread panics.
    Panic,
    /// The worker thread stops making progress for good (it sleeps,
    /// ignoring everything, until the process ends).
    Hang,
}

/// The tables generations handed to the worker, kept here until the worker
/// no longer holds them, so that the worker never frees one.
#[derive(Debug)]
struct Handed {
    /// The tables the worker runs (or will, once it reads its commands).
    current: Arc<ForwardingTables>,
    /// Generations sent and perhaps still held by the worker.
    generations: Vec<Arc<Generation>>,
}

impl Handed {
    /// Drops, here, every generation only this side still holds (the
    /// worker has moved past it).
    fn release_unused(&mut self) {
        let newest = self.generations.len().saturating_sub(1);
        let mut index = 0;
        self.generations.retain(|g| {
            let keep =
                index == newest || Arc::strong_count(g) > 1 || Arc::strong_count(g.tables()) > 1;
            index += 1;
            keep
        });
    }
}

/// Errors of the handle.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The worker thread is gone.
    #[error("the dataplane worker thread has stopped")]
    Gone,
    /// The worker did not answer in time.
    #[error("the dataplane worker did not answer within {0:?}")]
    Timeout(Duration),
    /// The worker could not start.
    #[error("starting the dataplane worker")]
    Start(#[source] io::Error),
}

/// Drives one worker thread; stops and joins it on drop.
pub struct WorkerHandle {
    commands: mpsc::Sender<Command>,
    waker: Waker,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pipeline_counters: Arc<PipelineCounters>,
    handed: Mutex<Handed>,
    /// Passes of the worker's loop so far (it passes at least every
    /// [`IDLE_WAIT_MS`] while healthy).
    beats: Arc<AtomicU64>,
}

impl WorkerHandle {
    /// Starts a worker with `tables`; returns once its UMEM is ready.
    pub fn spawn(
        config: WorkerConfig,
        tables: Arc<ForwardingTables>,
    ) -> Result<WorkerHandle, WorkerError> {
        let waker = Waker::new().map_err(WorkerError::Start)?;
        let stop = Arc::new(AtomicBool::new(false));
        let pipeline_counters = Arc::new(PipelineCounters::new(config.vnet_counter_slots));
        let (commands, receiver) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        // The first tables count as a generation too: kept here until the
        // worker has swapped them out.
        let first = Generation::prepare(&ForwardingTables::new(), Arc::clone(&tables));
        let handed = Handed {
            current: Arc::clone(&tables),
            generations: vec![Arc::new(first)],
        };
        let beats = Arc::new(AtomicU64::new(0));
        let thread = {
            let waker = waker.clone();
            let stop = Arc::clone(&stop);
            let beats = Arc::clone(&beats);
            let pipeline_counters = Arc::clone(&pipeline_counters);
            std::thread::Builder::new()
                .name("xsdn-worker".into())
                .spawn(move || {
                    let xsk = match XskSet::new(config.xsk) {
                        Ok(xsk) => xsk,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let age = config.fdb_age.as_millis() as Tick;
                    let fdb = Fdb::new(config.fdb_capacity, age.max(1))
                        .with_domain_limit(config.fdb_max_per_vnet);
                    let mut pipeline = Pipeline::new(tables, fdb, pipeline_counters);
                    pipeline.set_flood_rate(config.flood_rate);
                    let engine = Engine::new(xsk, pipeline);
                    let _ = ready_tx.send(Ok(()));
                    run(engine, &receiver, &waker, &stop, &beats);
                })
                .map_err(WorkerError::Start)?
        };
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(WorkerError::Start(e)),
            Err(_) => return Err(WorkerError::Gone),
        }
        Ok(WorkerHandle {
            commands,
            waker,
            stop,
            thread: Some(thread),
            pipeline_counters,
            handed: Mutex::new(handed),
            beats,
        })
    }

    /// A counter the worker advances on every pass of its loop, at least
    /// every 100 ms while it is healthy: a value that stops moving means
    /// the worker hangs.
    pub fn heartbeat(&self) -> u64 {
        self.beats.load(Ordering::Relaxed)
    }

    /// Test builds only: makes the worker fail as `fault` says.
    #[cfg(debug_assertions)]
    pub fn inject_fault(&self, fault: WorkerFault) -> Result<(), WorkerError> {
        self.send(Command::Fault(fault))
    }

    fn send(&self, command: Command) -> Result<(), WorkerError> {
        self.commands.send(command).map_err(|_| WorkerError::Gone)?;
        self.waker.wake();
        Ok(())
    }

    /// Opens one AF_XDP socket per RX queue of interface `name` as port
    /// `slot`; returns `(queue id, socket fd)` for the XSKMAP.
    pub fn open_port(
        &self,
        slot: PortSlot,
        name: &str,
    ) -> Result<io::Result<Vec<(u32, RawFd)>>, WorkerError> {
        self.open(slot, name, false)
    }

    /// Opens transmit-only AF_XDP sockets on interface `name` as port
    /// `slot` (a guest port served by the tc program, whose received
    /// frames reach the worker through the punt device instead); returns
    /// `(queue id, socket fd)` of each.
    pub fn open_port_tx_only(
        &self,
        slot: PortSlot,
        name: &str,
    ) -> Result<io::Result<Vec<(u32, RawFd)>>, WorkerError> {
        self.open(slot, name, true)
    }

    fn open(
        &self,
        slot: PortSlot,
        name: &str,
        tx_only: bool,
    ) -> Result<io::Result<Vec<(u32, RawFd)>>, WorkerError> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::OpenPort {
            slot,
            name: name.to_owned(),
            tx_only,
            reply,
        })?;
        answer
            .recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| WorkerError::Timeout(COMMAND_TIMEOUT))
    }

    /// Opens one AF_XDP socket per RX queue of the punt device `name`;
    /// returns `(queue id, socket fd)` for the XSKMAP's punt slots.
    pub fn open_punt(&self, name: &str) -> Result<io::Result<Vec<(u32, RawFd)>>, WorkerError> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::OpenPunt {
            name: name.to_owned(),
            reply,
        })?;
        answer
            .recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| WorkerError::Timeout(COMMAND_TIMEOUT))
    }

    /// Closes the punt device's sockets.
    pub fn close_punt(&self) -> Result<(), WorkerError> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::ClosePunt { reply })?;
        answer
            .recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| WorkerError::Timeout(COMMAND_TIMEOUT))
    }

    /// Starts mirroring the MAC table into the kernel tier through
    /// `writer` (every entry is written at once, then every change).
    pub fn attach_kernel_tier(&self, writer: FdbWriter) -> Result<(), WorkerError> {
        self.send(Command::AttachKernelTier(writer))
    }

    /// Closes the sockets of port `slot` (clear its XSKMAP slots first).
    pub fn close_port(&self, slot: PortSlot) -> Result<(), WorkerError> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::ClosePort { slot, reply })?;
        answer
            .recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| WorkerError::Timeout(COMMAND_TIMEOUT))
    }

    /// Swaps in a new tables generation (between two batches). The
    /// generation is prepared here, on the caller's thread, and kept here
    /// until the worker has moved past it: the worker allocates and frees
    /// nothing for a swap.
    pub fn set_tables(&self, tables: Arc<ForwardingTables>) -> Result<(), WorkerError> {
        // A poisoned lock only means another caller panicked mid-swap; the
        // bookkeeping is still a valid list of generations.
        let mut handed = self.handed.lock().unwrap_or_else(|e| e.into_inner());
        let generation = Arc::new(Generation::prepare(&handed.current, Arc::clone(&tables)));
        handed.current = tables;
        handed.generations.push(Arc::clone(&generation));
        let sent = self.send(Command::SwapTables(generation));
        handed.release_unused();
        sent
    }

    /// Runs `f` on the worker thread between two batches and returns its
    /// result.
    pub fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&WorkerView<'_>) -> R + Send + 'static,
    ) -> Result<R, WorkerError> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::Query(Box::new(move |view| {
            let _ = reply.send(f(view));
        })))?;
        answer
            .recv_timeout(QUERY_TIMEOUT)
            .map_err(|_| WorkerError::Timeout(QUERY_TIMEOUT))
    }

    /// Per-port counters, indexed by port slot index.
    pub fn port_counters(&self) -> &[PortCounters] {
        self.pipeline_counters.ports()
    }

    /// Per-VNet and malformed-frame counters.
    pub fn pipeline_counters(&self) -> &Arc<PipelineCounters> {
        &self.pipeline_counters
    }

    /// Whether the thread is still running.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the thread and waits for it (sockets are closed on its way out).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(
    mut engine: Engine,
    commands: &mpsc::Receiver<Command>,
    waker: &Waker,
    stop: &AtomicBool,
    beats: &AtomicU64,
) {
    while !stop.load(Ordering::Relaxed) {
        beats.fetch_add(1, Ordering::Relaxed);
        while let Ok(command) = commands.try_recv() {
            handle(&mut engine, command);
        }
        if engine.poll_once() == 0 {
            let wait = if engine.work_pending() {
                PENDING_WAIT_MS
            } else {
                IDLE_WAIT_MS
            };
            engine.wait(waker.raw_fd(), wait);
            waker.clear();
        }
    }
}

fn handle(engine: &mut Engine, command: Command) {
    match command {
        Command::OpenPort {
            slot,
            name,
            tx_only,
            reply,
        } => {
            let _ = reply.send(open_port(engine, slot, &name, tx_only));
        }
        Command::OpenPunt { name, reply } => {
            let _ = reply.send(open_punt(engine, &name));
        }
        Command::ClosePunt { reply } => {
            close_punt(engine);
            let _ = reply.send(());
        }
        Command::AttachKernelTier(writer) => {
            engine.pipeline.fdb_mut().track_changes(true);
            engine.kernel = Some(KernelSync::new(writer));
        }
        Command::ClosePort { slot, reply } => {
            close_port(engine, slot);
            let _ = reply.send(());
        }
        Command::SwapTables(generation) => engine.pipeline.swap_tables(&generation),
        #[cfg(debug_assertions)]
        Command::Fault(WorkerFault::Panic) => panic!("worker fault injected by a test"),
        #[cfg(debug_assertions)]
        Command::Fault(WorkerFault::Hang) => loop {
            std::thread::sleep(Duration::from_secs(3600));
        },
        Command::Query(query) => {
            let view = WorkerView {
                pipeline: &engine.pipeline,
                sockets: &engine.xsk,
                ports: &engine.ports,
                now: engine.now(),
                punt_rejected: engine.punt_rejected,
                kernel_sync: engine.kernel.as_ref().map(KernelSync::stats),
            };
            query(&view);
        }
    }
}

fn open_port(
    engine: &mut Engine,
    slot: PortSlot,
    name: &str,
    tx_only: bool,
) -> io::Result<Vec<(u32, RawFd)>> {
    close_port(engine, slot);
    let (queues, fds) = open_queues(engine, name, tx_only)?;
    engine.ports[slot.index()] = Some(queues);
    Ok(fds)
}

fn open_punt(engine: &mut Engine, name: &str) -> io::Result<Vec<(u32, RawFd)>> {
    close_punt(engine);
    let (queues, fds) = open_queues(engine, name, false)?;
    engine.punt = Some(queues);
    Ok(fds)
}

fn close_punt(engine: &mut Engine) {
    engine.discard_all_staged();
    if let Some(punt) = engine.punt.take() {
        for q in punt.queues {
            engine.xsk.close(q);
        }
    }
}

/// One socket per RX queue of `name`.
fn open_queues(
    engine: &mut Engine,
    name: &str,
    tx_only: bool,
) -> io::Result<(PortQueues, Vec<(u32, RawFd)>)> {
    // A transmitting port needs one socket; a receiving one, one per queue.
    let queues = if tx_only {
        1
    } else {
        crate::netdev::rx_queues(name).min(xsdn_common::MAX_QUEUES_PER_PORT)
    };
    let mut opened = Vec::with_capacity(queues as usize);
    let mut fds = Vec::with_capacity(queues as usize);
    for queue in 0..queues {
        let socket = if tx_only {
            engine.xsk.open_tx_only(name, queue)
        } else {
            engine.xsk.open(name, queue)
        };
        match socket {
            Ok(q) => {
                fds.push((queue, engine.xsk.fd(q)));
                opened.push(q);
            }
            Err(e) => {
                for q in opened {
                    engine.xsk.close(q);
                }
                return Err(e);
            }
        }
    }
    let queues = PortQueues {
        name: name.to_owned(),
        queues: opened,
    };
    Ok((queues, fds))
}

fn close_port(engine: &mut Engine, slot: PortSlot) {
    engine.discard_staged(slot);
    if let Some(port) = engine.ports.get_mut(slot.index()).and_then(Option::take) {
        for q in port.queues {
            engine.xsk.close(q);
        }
    }
}
