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

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use engine::Engine;
pub use engine::PortQueues;

use crate::counters::PortCounters;
use crate::fdb::{Fdb, Tick};
use crate::pipeline::{Pipeline, PipelineCounters};
use crate::tables::{ForwardingTables, MAX_PORTS, PortIdx};
use crate::xsk::{self, Waker, XskSet, XskSettings};

/// Idle wait before re-checking commands and the stop flag, in ms.
const IDLE_WAIT_MS: i32 = 100;
/// Idle wait while transmitted frames await completion (completions raise
/// no readiness event), in ms.
const TX_IN_FLIGHT_WAIT_MS: i32 = 5;
/// How long the daemon waits for the worker to answer a command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of one worker.
#[derive(Clone, Copy, Debug)]
pub struct WorkerConfig {
    /// UMEM and ring geometry.
    pub xsk: XskSettings,
    /// MAC table capacity.
    pub fdb_capacity: usize,
    /// MAC ageing time.
    pub fdb_age: Duration,
    /// Number of per-VNet counter slots.
    pub vnet_counter_slots: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            xsk: XskSettings::default(),
            fdb_capacity: 16384,
            fdb_age: Duration::from_secs(300),
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
    /// Open ports by slot.
    pub ports: &'a [Option<PortQueues>],
    /// The worker's clock (milliseconds since start), for FDB ages.
    pub now: Tick,
}

impl WorkerView<'_> {
    /// The kernel's AF_XDP statistics of port `slot`, summed over its
    /// queues (zero for a slot without sockets).
    pub fn port_socket_stats(&self, slot: PortIdx) -> crate::xsk::SocketStats {
        let mut sum = crate::xsk::SocketStats::default();
        let queues = self.ports.get(slot).and_then(Option::as_ref);
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
        slot: PortIdx,
        name: String,
        reply: mpsc::Sender<io::Result<Vec<(u32, RawFd)>>>,
    },
    ClosePort {
        slot: PortIdx,
        reply: mpsc::Sender<()>,
    },
    SetTables(Arc<ForwardingTables>),
    Query(Query),
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
    port_counters: Arc<[PortCounters]>,
    pipeline_counters: Arc<PipelineCounters>,
}

impl WorkerHandle {
    /// Starts a worker with `tables`; returns once its UMEM is ready.
    pub fn spawn(
        config: WorkerConfig,
        tables: Arc<ForwardingTables>,
    ) -> Result<WorkerHandle, WorkerError> {
        let waker = Waker::new().map_err(WorkerError::Start)?;
        let stop = Arc::new(AtomicBool::new(false));
        let port_counters: Arc<[PortCounters]> =
            (0..MAX_PORTS).map(|_| PortCounters::default()).collect();
        let pipeline_counters = Arc::new(PipelineCounters::new(config.vnet_counter_slots));
        let (commands, receiver) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = {
            let waker = waker.clone();
            let stop = Arc::clone(&stop);
            let port_counters = Arc::clone(&port_counters);
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
                    let fdb = Fdb::new(config.fdb_capacity, age.max(1));
                    let pipeline = Pipeline::new(tables, fdb, pipeline_counters);
                    let engine = Engine::new(xsk, pipeline, port_counters);
                    let _ = ready_tx.send(Ok(()));
                    run(engine, &receiver, &waker, &stop);
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
            port_counters,
            pipeline_counters,
        })
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
        slot: PortIdx,
        name: &str,
    ) -> Result<io::Result<Vec<(u32, RawFd)>>, WorkerError> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::OpenPort {
            slot,
            name: name.to_owned(),
            reply,
        })?;
        answer
            .recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| WorkerError::Timeout(COMMAND_TIMEOUT))
    }

    /// Closes the sockets of port `slot` (clear its XSKMAP slots first).
    pub fn close_port(&self, slot: PortIdx) -> Result<(), WorkerError> {
        let (reply, answer) = mpsc::channel();
        self.send(Command::ClosePort { slot, reply })?;
        answer
            .recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| WorkerError::Timeout(COMMAND_TIMEOUT))
    }

    /// Swaps in a new tables generation (between two batches).
    pub fn set_tables(&self, tables: Arc<ForwardingTables>) -> Result<(), WorkerError> {
        self.send(Command::SetTables(tables))
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
            .recv_timeout(COMMAND_TIMEOUT)
            .map_err(|_| WorkerError::Timeout(COMMAND_TIMEOUT))
    }

    /// Per-port counters, indexed by port slot.
    pub fn port_counters(&self) -> &Arc<[PortCounters]> {
        &self.port_counters
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

fn run(mut engine: Engine, commands: &mpsc::Receiver<Command>, waker: &Waker, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        while let Ok(command) = commands.try_recv() {
            handle(&mut engine, command);
        }
        if engine.poll_once() == 0 {
            let wait = if engine.tx_in_flight() {
                TX_IN_FLIGHT_WAIT_MS
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
        Command::OpenPort { slot, name, reply } => {
            let _ = reply.send(open_port(engine, slot, &name));
        }
        Command::ClosePort { slot, reply } => {
            close_port(engine, slot);
            let _ = reply.send(());
        }
        Command::SetTables(tables) => engine.pipeline.set_tables(tables),
        Command::Query(query) => {
            let view = WorkerView {
                pipeline: &engine.pipeline,
                sockets: &engine.xsk,
                ports: &engine.ports,
                now: engine.now(),
            };
            query(&view);
        }
    }
}

fn open_port(engine: &mut Engine, slot: PortIdx, name: &str) -> io::Result<Vec<(u32, RawFd)>> {
    if slot >= MAX_PORTS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("port slot {slot} out of range"),
        ));
    }
    close_port(engine, slot);
    let queues = xsk::rx_queues(name).min(xsdn_common::MAX_QUEUES_PER_PORT);
    let mut opened = Vec::with_capacity(queues as usize);
    let mut fds = Vec::with_capacity(queues as usize);
    for queue in 0..queues {
        match engine.xsk.open(name, queue) {
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
    engine.ports[slot] = Some(PortQueues {
        name: name.to_owned(),
        queues: opened,
    });
    Ok(fds)
}

fn close_port(engine: &mut Engine, slot: PortIdx) {
    engine.discard_staged(slot);
    if let Some(port) = engine.ports.get_mut(slot).and_then(Option::take) {
        for q in port.queues {
            engine.xsk.close(q);
        }
    }
}
