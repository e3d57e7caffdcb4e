//! One UMEM shared by every AF_XDP socket of a worker.
//!
//! All sockets of a worker share one UMEM, so a frame received on one port is
//! transmitted on another without a copy: the RX chunk goes straight into the
//! other socket's TX ring. Each (interface, queue) gets its own fill and
//! completion rings, as the kernel requires for a UMEM shared across
//! devices.
//!
//! The UMEM's own socket (the one every other socket names in its
//! `XDP_SHARED_UMEM` bind) is an *anchor* bound to `lo`, which never goes
//! away and never receives (no XDP program steers to it). The kernel refuses
//! shared binds once the owner socket is unbound, which happens when its
//! interface is deleted; anchoring on `lo` keeps guest ports free to come
//! and go. The anchor binds in copy mode with `XDP_USE_NEED_WAKEUP`, and
//! every shared socket inherits both (the kernel rejects flags on shared
//! binds). Copy mode is what veth and tap offer anyway; zero-copy NICs
//! would need a UMEM of their own (not done yet).
//!
//! Batching follows the usual AF_XDP discipline: RX acquires up to a batch
//! of descriptors and releases them once; TX enqueues a batch, commits once
//! and kicks the kernel only when the ring asks for it (`needs_wakeup`), and
//! keeps kicking while copy-mode TX leaves descriptors behind (the kernel
//! sends at most 32 per `sendto`).

use std::ffi::CString;
use std::io;
use std::num::NonZeroU32;
use std::os::fd::RawFd;

use xdpilone::xdp::XdpDesc;
use xdpilone::{DeviceQueue, IfInfo, RingRx, RingTx, Socket, SocketConfig, Umem, UmemConfig, User};

use super::area::{Area, Frame};
use super::pool::{FramePool, MAX_QUEUE_SLOT};

/// Largest RX/TX batch handled at once.
pub const BATCH: usize = 64;

/// A batch of frames, fixed capacity, no allocation.
pub type FrameBatch = heapless::Vec<Frame, BATCH>;

/// Interface the anchor socket binds to.
const ANCHOR_IFACE: &str = "lo";

/// Geometry of the UMEM and rings.
#[derive(Clone, Copy, Debug)]
pub struct XskSettings {
    /// Number of UMEM chunks.
    pub frames: u32,
    /// Chunk size (2048 or 4096).
    pub frame_size: u32,
    /// Entries in each RX, TX and fill ring (power of two).
    pub ring_size: u32,
    /// Entries in each completion ring (power of two). In copy mode a TX
    /// completion is posted only when the kernel frees the skb it built,
    /// which a receiving socket may hold for a while (a TCP receive buffer
    /// holds thousands), so this ring must be deeper than the TX ring.
    pub completion_size: u32,
    /// How many chunks to keep in each fill ring.
    pub fill_target: u32,
}

impl Default for XskSettings {
    fn default() -> Self {
        XskSettings {
            frames: 16384,
            frame_size: 4096,
            ring_size: 2048,
            completion_size: 8192,
            fill_target: 1024,
        }
    }
}

/// Kernel statistics of one socket (`XDP_STATISTICS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocketStats {
    /// Frames dropped by the kernel for lack of RX ring space or other reasons.
    pub rx_dropped: u64,
    /// Invalid RX descriptors.
    pub rx_invalid_descs: u64,
    /// Invalid TX descriptors.
    pub tx_invalid_descs: u64,
    /// Frames dropped because the RX ring was full.
    pub rx_ring_full: u64,
    /// Times the fill ring was empty when a frame arrived.
    pub rx_fill_ring_empty_descs: u64,
    /// Times the TX ring was empty when the kernel looked.
    pub tx_ring_empty_descs: u64,
}

impl SocketStats {
    /// Adds `other` field by field (summing a port's queues).
    pub fn add(&mut self, other: &SocketStats) {
        self.rx_dropped += other.rx_dropped;
        self.rx_invalid_descs += other.rx_invalid_descs;
        self.tx_invalid_descs += other.tx_invalid_descs;
        self.rx_ring_full += other.rx_ring_full;
        self.rx_fill_ring_empty_descs += other.rx_fill_ring_empty_descs;
        self.tx_ring_empty_descs += other.tx_ring_empty_descs;
    }
}

/// Stable handle of a queue inside its [`XskSet`] (a slot number; slot 0
/// is the anchor and is never handed out).
pub type QueueIdx = usize;

/// One AF_XDP socket bound to (interface, queue), with its four rings.
struct XskQueue {
    ifname: String,
    ifindex: u32,
    queue_id: u32,
    // Field order is drop order: rings before the device queue before the
    // socket owner.
    rx: RingRx,
    tx: RingTx,
    device: DeviceQueue,
    user: User,
    /// Chunks currently owned by the kernel through this queue's fill ring.
    in_fill: u32,
    /// Chunks handed to the TX ring and not yet completed.
    in_tx: u32,
    /// How many chunks this queue's fill ring should hold.
    fill_target: u32,
    /// A transmit-only socket: nothing is steered to it, so its fill ring
    /// holds no chunks.
    tx_only: bool,
}

/// The sockets of one worker and the UMEM they share.
pub struct XskSet {
    // Sockets are dropped before the UMEM and the mapping.
    rings: Rings,
    umem: Umem,
    area: Area,
}

/// The sockets' rings and the frame pool: everything of an [`XskSet`] but
/// the UMEM area itself, so that frames of the area can be read and written
/// while frames are received, allocated and transmitted
/// ([`XskSet::split`]).
pub struct Rings {
    queues: Vec<Option<XskQueue>>,
    pool: FramePool,
    settings: XskSettings,
    /// Descriptors the kernel returned that the pool did not expect.
    bad_descriptors: u64,
}

fn errno(context: &str, err: xdpilone::Errno) -> io::Error {
    io::Error::new(
        io::Error::from_raw_os_error(err.get_raw()).kind(),
        format!("{context}: {err}"),
    )
}

impl XskSet {
    /// Maps the UMEM, registers it with the kernel and binds the anchor
    /// socket on `lo`. No port is bound yet.
    pub fn new(settings: XskSettings) -> io::Result<XskSet> {
        for (what, size) in [
            ("ring size", settings.ring_size),
            ("completion ring size", settings.completion_size),
        ] {
            if !size.is_power_of_two() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{what} {size} is not a power of two"),
                ));
            }
        }
        let area = Area::new(settings.frames, settings.frame_size)?;
        let config = UmemConfig {
            fill_size: settings.ring_size,
            complete_size: settings.completion_size,
            frame_size: settings.frame_size,
            headroom: 0,
            flags: 0,
        };
        // SAFETY: the area is a page-aligned private mapping of exactly
        // `frames * frame_size` bytes that outlives the `Umem` (both live in
        // this struct and `umem` is declared, hence dropped, first).
        let umem = unsafe { Umem::new(config, area.as_raw()) }
            .map_err(|e| errno("registering the UMEM", e))?;
        let pool = FramePool::full(&area);
        let mut set = XskSet {
            rings: Rings {
                queues: Vec::new(),
                pool,
                settings,
                bad_descriptors: 0,
            },
            umem,
            area,
        };
        set.bind(ANCHOR_IFACE, 0, true, false).map_err(|e| {
            if e.raw_os_error() == Some(libc::EBUSY) || e.kind() == io::ErrorKind::ResourceBusy {
                io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    "another xsdn dataplane runs in this network namespace (its UMEM anchor holds lo queue 0); stop it first",
                )
            } else {
                e
            }
        })?;
        Ok(set)
    }

    /// The UMEM area, for reading and writing frames.
    #[inline]
    pub fn area(&self) -> &Area {
        &self.area
    }

    /// The frame pool, for allocating and freeing userspace frames.
    #[inline]
    pub fn pool(&mut self) -> &mut FramePool {
        &mut self.rings.pool
    }

    /// The area and the pool at once (copying into fresh frames).
    #[inline]
    pub fn area_and_pool(&mut self) -> (&Area, &mut FramePool) {
        (&self.area, &mut self.rings.pool)
    }

    /// Descriptors the kernel returned that no queue was holding.
    pub fn bad_descriptors(&self) -> u64 {
        self.rings.bad_descriptors
    }

    /// Slots of the bound port queues (the anchor excluded).
    pub fn open_queues(&self) -> impl Iterator<Item = QueueIdx> + '_ {
        self.rings.open_queues()
    }

    /// Creates a socket for `(ifname, queue_id)`, binds it and fills its
    /// fill ring. Returns its slot, stable until [`XskSet::close`].
    pub fn open(&mut self, ifname: &str, queue_id: u32) -> io::Result<QueueIdx> {
        self.bind(ifname, queue_id, false, false)
    }

    /// Like [`XskSet::open`], for a socket that only transmits (no program
    /// steers frames to it): its fill ring gets no chunks.
    pub fn open_tx_only(&mut self, ifname: &str, queue_id: u32) -> io::Result<QueueIdx> {
        self.bind(ifname, queue_id, false, true)
    }

    fn bind(
        &mut self,
        ifname: &str,
        queue_id: u32,
        anchor: bool,
        tx_only: bool,
    ) -> io::Result<QueueIdx> {
        let slot = if anchor {
            0
        } else {
            (1..self.rings.queues.len())
                .find(|&i| self.rings.queues[i].is_none())
                .unwrap_or(self.rings.queues.len().max(1))
        };
        if slot > usize::from(MAX_QUEUE_SLOT) {
            return Err(io::Error::other("too many AF_XDP sockets"));
        }
        let cname = CString::new(ifname).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "interface name has a NUL byte")
        })?;
        let mut info = IfInfo::invalid();
        info.from_name(&cname)
            .map_err(|e| errno(&format!("interface {ifname}"), e))?;
        info.set_queue(queue_id);
        let socket = if anchor {
            Socket::with_shared(&info, &self.umem)
        } else {
            Socket::new(&info)
        }
        .map_err(|e| errno(&format!("AF_XDP socket for {ifname} queue {queue_id}"), e))?;
        let device = self.umem.fq_cq(&socket).map_err(|e| {
            errno(
                &format!("fill/completion rings for {ifname} queue {queue_id}"),
                e,
            )
        })?;
        let ring = NonZeroU32::new(self.rings.settings.ring_size);
        let bind_flags = if anchor {
            SocketConfig::XDP_BIND_NEED_WAKEUP | SocketConfig::XDP_BIND_COPY
        } else {
            // Shared-UMEM sockets inherit copy mode and need_wakeup from the
            // anchor; the kernel rejects any flag here.
            0
        };
        let user = self
            .umem
            .rx_tx(
                &socket,
                &SocketConfig {
                    rx_size: ring,
                    tx_size: ring,
                    bind_flags,
                },
            )
            .map_err(|e| errno(&format!("RX/TX rings for {ifname} queue {queue_id}"), e))?;
        let rx = user.map_rx().map_err(|e| errno("mapping the RX ring", e))?;
        let tx = user.map_tx().map_err(|e| errno("mapping the TX ring", e))?;
        self.umem
            .bind(&user)
            .map_err(|e| errno(&format!("binding AF_XDP to {ifname} queue {queue_id}"), e))?;
        let queue = XskQueue {
            ifname: ifname.to_owned(),
            ifindex: info.ifindex(),
            queue_id,
            rx,
            tx,
            device,
            user,
            in_fill: 0,
            in_tx: 0,
            tx_only: anchor || tx_only,
            fill_target: if anchor || tx_only {
                0
            } else {
                self.rings.settings.fill_target
            },
        };
        if slot == self.rings.queues.len() {
            self.rings.queues.push(None);
        }
        self.rings.queues[slot] = Some(queue);
        self.rebalance();
        self.rings.refill(slot);
        Ok(slot)
    }

    /// Shares the UMEM between the fill rings of the open queues: each gets
    /// at most the configured target and at most half the frames divided by
    /// the number of queues (at least 64), so every queue has buffers and
    /// half the UMEM stays free for TX and flooded copies. Queues above
    /// their new target drain to it as frames arrive.
    fn rebalance(&mut self) {
        let receiving = self.rings.queues.iter().skip(1).flatten();
        let open = receiving.filter(|q| !q.tx_only).count().max(1) as u32;
        let share = (self.rings.settings.frames / 2 / open).max(64);
        let target = share.min(self.rings.settings.fill_target);
        for queue in self.rings.queues.iter_mut().skip(1).flatten() {
            if !queue.tx_only {
                queue.fill_target = target;
            }
        }
    }

    /// Closes the socket of slot `q` and takes back every chunk its rings
    /// held. Frames the caller still has from it stay valid. The anchor and
    /// unknown slots are ignored.
    pub fn close(&mut self, q: QueueIdx) {
        if q == 0 {
            return;
        }
        if let Some(slot) = self.rings.queues.get_mut(q) {
            // Dropping the queue closes the socket: the kernel stops using
            // its rings before we hand their chunks out again.
            drop(slot.take());
            self.rings.pool.reclaim(q as u16);
            self.rebalance();
        }
    }

    /// The socket's file descriptor, to put into the XSKMAP (-1 for an
    /// unknown slot, which the map rejects).
    pub fn fd(&self, q: QueueIdx) -> RawFd {
        self.rings
            .queues
            .get(q)
            .and_then(Option::as_ref)
            .map_or(-1, |queue| queue.user.as_raw_fd())
    }

    /// Interface name, index and queue id of a slot.
    pub fn describe(&self, q: QueueIdx) -> Option<(&str, u32, u32)> {
        let queue = self.rings.queues.get(q)?.as_ref()?;
        Some((&queue.ifname, queue.ifindex, queue.queue_id))
    }

    /// The area and the rings at once: frames of the area can be read and
    /// written while the rings receive, allocate and transmit.
    #[inline]
    pub fn split(&mut self) -> (&Area, &mut Rings) {
        (&self.area, &mut self.rings)
    }

    /// Tops the fill ring of `q` up to its target.
    pub fn refill(&mut self, q: QueueIdx) {
        self.rings.refill(q);
    }

    /// Receives up to `out`'s free capacity of frames from `q`.
    pub fn receive(&mut self, q: QueueIdx, out: &mut FrameBatch) -> usize {
        self.rings.receive(&self.area, q, out)
    }

    /// Moves completed TX chunks of `q` back to the pool.
    pub fn reap(&mut self, q: QueueIdx) -> u32 {
        self.rings.reap(&self.area, q)
    }

    /// See [`Rings::transmit`] (frames that do not fit stay in `batch`).
    pub fn transmit(&mut self, q: QueueIdx, batch: &mut FrameBatch) -> usize {
        self.rings.transmit(&self.area, q, batch)
    }

    /// See [`Rings::service_tx`].
    pub fn service_tx(&mut self, q: QueueIdx) -> bool {
        self.rings.service_tx(&self.area, q)
    }

    /// Kernel statistics of the socket in slot `q`.
    pub fn stats(&self, q: QueueIdx) -> io::Result<SocketStats> {
        self.rings.stats(q)
    }

    /// File descriptors to wait on for RX (`poll(2)`), anchor excluded.
    pub fn poll_fds(&self, out: &mut Vec<libc::pollfd>) {
        self.rings.poll_fds(out);
    }
}

impl Rings {
    /// The frame pool, for allocating and freeing userspace frames.
    #[inline]
    pub fn pool(&mut self) -> &mut FramePool {
        &mut self.pool
    }

    /// Slots of the bound port queues (the anchor excluded).
    pub fn open_queues(&self) -> impl Iterator<Item = QueueIdx> + '_ {
        self.queues
            .iter()
            .enumerate()
            .skip(1)
            .filter_map(|(i, q)| q.as_ref().map(|_| i))
    }

    fn queue(&mut self, q: QueueIdx) -> Option<&mut XskQueue> {
        self.queues.get_mut(q).and_then(Option::as_mut)
    }

    /// Tops the fill ring of `q` up to its target.
    pub fn refill(&mut self, q: QueueIdx) {
        let Some(queue) = self.queues.get_mut(q).and_then(Option::as_mut) else {
            return;
        };
        let want = queue.fill_target.saturating_sub(queue.in_fill);
        if want == 0 || self.pool.is_empty() {
            return;
        }
        let mut writer = queue.device.fill(want);
        let mut added = 0;
        while added < writer.capacity() {
            let Some(base) = self.pool.lend_for_fill(q as u16) else {
                break;
            };
            if !writer.insert_once(base) {
                // Cannot happen within capacity; give the chunk back.
                self.pool.recycle(base, q as u16);
                break;
            }
            added += 1;
        }
        writer.commit();
        drop(writer);
        queue.in_fill += added;
        if queue.device.needs_wakeup() {
            queue.device.wake();
        }
    }

    /// Receives up to `out`'s free capacity of frames from `q`.
    pub fn receive(&mut self, area: &Area, q: QueueIdx, out: &mut FrameBatch) -> usize {
        let room = (out.capacity() - out.len()) as u32;
        let Some(queue) = self.queues.get_mut(q).and_then(Option::as_mut) else {
            return 0;
        };
        if room == 0 {
            return 0;
        }
        let mut reader = queue.rx.receive(room);
        let mut got = 0;
        while let Some(desc) = reader.read() {
            got += 1;
            match Frame::from_kernel(area, desc.addr, desc.len) {
                Some(frame) if self.pool.returned_by(frame.base(), q as u16) => {
                    // Capacity was checked above.
                    let _ = out.push(frame);
                }
                _ => self.bad_descriptors += 1,
            }
        }
        reader.release();
        drop(reader);
        queue.in_fill = queue.in_fill.saturating_sub(got);
        got as usize
    }

    /// Moves completed TX chunks of `q` back to the pool.
    pub fn reap(&mut self, area: &Area, q: QueueIdx) -> u32 {
        let Some(queue) = self.queues.get_mut(q).and_then(Option::as_mut) else {
            return 0;
        };
        if queue.in_tx == 0 {
            return 0;
        }
        let mut reader = queue.device.complete(queue.in_tx);
        let mut done = 0;
        while let Some(addr) = reader.read() {
            done += 1;
            if !self.pool.recycle(area.chunk_base(addr), q as u16) {
                self.bad_descriptors += 1;
            }
        }
        reader.release();
        drop(reader);
        queue.in_tx = queue.in_tx.saturating_sub(done);
        done
    }

    /// Queues the frames of `batch`, in order, for transmission on `q` and
    /// kicks the kernel until the TX ring is drained or stops making
    /// progress. Frames that do not fit the ring stay in `batch`, in order,
    /// for the caller to offer again (an unknown slot frees them); returns
    /// how many were queued.
    pub fn transmit(&mut self, area: &Area, q: QueueIdx, batch: &mut FrameBatch) -> usize {
        if batch.is_empty() {
            return 0;
        }
        self.reap(area, q);
        let Some(queue) = self.queues.get_mut(q).and_then(Option::as_mut) else {
            for frame in batch.drain(..) {
                self.pool.free(frame);
            }
            return 0;
        };
        let mut writer = queue.tx.transmit(batch.len() as u32);
        let mut sent = 0;
        let mut held = FrameBatch::new();
        for frame in batch.drain(..) {
            if frame.area() != area.id() {
                // Not ours: its address means nothing in this UMEM.
                self.bad_descriptors += 1;
                continue;
            }
            let desc = XdpDesc {
                addr: frame.addr(),
                len: frame.len(),
                options: 0,
            };
            // Once one frame did not fit, the rest wait too (order kept).
            if held.is_empty() && writer.insert_once(desc) {
                sent += 1;
                self.pool.lend_for_tx(frame, q as u16);
            } else if let Err(frame) = held.push(frame) {
                // Cannot happen: `held` has the capacity `batch` had.
                self.pool.free(frame);
            }
        }
        writer.commit();
        drop(writer);
        *batch = held;
        queue.in_tx += sent as u32;
        self.kick(q);
        sent
    }

    /// Reaps completions of `q` and kicks its TX ring again if descriptors
    /// are still waiting there (a previous kick can stall while the
    /// completion ring is full). Returns whether TX work remains in flight.
    pub fn service_tx(&mut self, area: &Area, q: QueueIdx) -> bool {
        self.reap(area, q);
        let pending = self.queue(q).is_some_and(|queue| queue.tx.pending() > 0);
        if pending {
            self.kick(q);
        }
        self.queue(q).is_some_and(|queue| queue.in_tx > 0)
    }

    /// Wakes the kernel for TX while descriptors remain unconsumed.
    fn kick(&mut self, q: QueueIdx) {
        let rounds = (self.settings.ring_size / 16).max(4);
        let Some(queue) = self.queue(q) else {
            return;
        };
        // Copy mode sends at most 32 frames per wakeup; a full ring of 2048
        // needs 64 kicks. Stop early when the kernel makes no progress.
        let mut last = u32::MAX;
        for _ in 0..rounds {
            let pending = queue.tx.pending();
            if pending == 0 || pending == last {
                break;
            }
            last = pending;
            if !queue.tx.needs_wakeup() {
                break;
            }
            queue.tx.wake();
        }
    }

    /// Kernel statistics of the socket in slot `q`.
    pub fn stats(&self, q: QueueIdx) -> io::Result<SocketStats> {
        let queue = self
            .queues
            .get(q)
            .and_then(Option::as_ref)
            .ok_or_else(|| io::Error::other(format!("no AF_XDP socket in slot {q}")))?;
        let raw = queue
            .user
            .statistics_v2()
            .map_err(|e| errno("XDP_STATISTICS", e))?;
        Ok(SocketStats {
            rx_dropped: raw.rx_dropped,
            rx_invalid_descs: raw.rx_invalid_descs,
            tx_invalid_descs: raw.tx_invalid_descs,
            rx_ring_full: raw.rx_ring_full,
            rx_fill_ring_empty_descs: raw.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: raw.tx_ring_empty_descs,
        })
    }

    /// File descriptors to wait on for RX (`poll(2)`), anchor excluded.
    pub fn poll_fds(&self, out: &mut Vec<libc::pollfd>) {
        out.clear();
        out.extend(self.queues.iter().skip(1).flatten().map(|q| libc::pollfd {
            fd: q.user.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }));
    }
}

/// Waits until one of `fds` is readable or `timeout_ms` passes. Returns
/// whether anything is readable. Interrupted waits count as a timeout.
pub fn wait_readable(fds: &mut [libc::pollfd], timeout_ms: i32) -> bool {
    if fds.is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(timeout_ms.max(0) as u64));
        return false;
    }
    // SAFETY: `fds` is a valid, exclusively borrowed slice of pollfd for
    // the duration of the call and its length fits nfds_t.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    n > 0
}
