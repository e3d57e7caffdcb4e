//! VM-like guest ports: a relay standing in for QEMU.
//!
//! Proxmox plugs a VM into its bridge with a tap (`tap<vmid>i<n>`) that
//! QEMU opens with `IFF_VNET_HDR` and the CSUM/TSO offloads on, so the
//! guest's TCP reaches the node as GSO super-frames (up to 64 KiB) with
//! partial checksums, and the node may hand it the same. There is no
//! QEMU (nor vhost-net) here, so [`relay`] plays its part: it opens two
//! taps that way, the node's port and a second one that the test world
//! moves into the guest's namespace as `eth0`, and copies every frame
//! between them with its `virtio_net_hdr`, so super-frames and partial
//! checksums cross intact in both directions, as between a virtio-net
//! guest and its tap.
//!
//! - The relay blocks on reads (one thread per direction), never polls.
//! - It exits when either tap goes away (its namespace deleted, the world
//!   torn down), so it needs no supervision and outlives the process that
//!   built a by-hand world.
//! - It keeps counters (frames and GSO super-frames each way, failed
//!   writes) in a JSON file rewritten a few times a second
//!   ([`VmTapStats`], read with [`World::vm_tap_stats`]), so a test can show
//!   that super-frames really flowed.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tun_rs::{DeviceBuilder, Layer, SyncDevice};

use crate::world::World;

/// Bytes of the `virtio_net_hdr` in front of every frame.
const VNET_HDR_LEN: usize = 10;
/// Largest frame the relay copies: a 64 KiB super-frame, its Ethernet and
/// VLAN headers and the `virtio_net_hdr`.
const MAX_FRAME: usize = 65_536 + 64 + VNET_HDR_LEN;
/// How often the counters file is rewritten.
const STATS_PERIOD: Duration = Duration::from_millis(200);

/// What the relay has copied, as written to its counters file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmTapStats {
    /// Frames from the guest to the node's port.
    pub from_guest: u64,
    /// Of those, GSO super-frames.
    pub gso_from_guest: u64,
    /// Frames from the node's port to the guest.
    pub to_guest: u64,
    /// Of those, GSO super-frames.
    pub gso_to_guest: u64,
    /// Frames a tap refused (counted, not retried).
    pub write_errors: u64,
    /// When these counters were read, in milliseconds since the Unix
    /// epoch: a reader waits for a snapshot taken after the traffic it
    /// wants counted ([`World::vm_tap_stats`]).
    pub taken_at_ms: u64,
}

#[derive(Default)]
struct Counters {
    from_guest: AtomicU64,
    gso_from_guest: AtomicU64,
    to_guest: AtomicU64,
    gso_to_guest: AtomicU64,
    write_errors: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> VmTapStats {
        VmTapStats {
            from_guest: self.from_guest.load(Ordering::Relaxed),
            gso_from_guest: self.gso_from_guest.load(Ordering::Relaxed),
            to_guest: self.to_guest.load(Ordering::Relaxed),
            gso_to_guest: self.gso_to_guest.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            taken_at_ms: unix_ms(),
        }
    }
}

/// Milliseconds since the Unix epoch.
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Opens tap `name` as QEMU does for a virtio-net guest: `IFF_VNET_HDR`,
/// checksum and TSO offloads on.
fn open_tap(name: &str) -> Result<SyncDevice> {
    DeviceBuilder::new()
        .name(name)
        .layer(Layer::L2)
        .offload(true)
        .build_sync()
        .with_context(|| format!("opening tap {name} with IFF_VNET_HDR and offloads"))
}

/// Whether a frame with its `virtio_net_hdr` is a GSO super-frame
/// (`gso_type`, the header's second byte, is not `VIRTIO_NET_HDR_GSO_NONE`).
fn is_gso(frame: &[u8]) -> bool {
    frame.get(1).is_some_and(|&t| t != 0)
}

/// Copies frames from `from` to `to` until a read fails for good (the tap
/// is gone); returns that error.
fn copy(
    from: &SyncDevice,
    to: &SyncDevice,
    frames: &AtomicU64,
    gso: &AtomicU64,
    errors: &AtomicU64,
) -> io::Error {
    let mut buf = vec![0u8; MAX_FRAME];
    loop {
        let n = match from.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return e,
        };
        let frame = &buf[..n];
        match to.send(frame) {
            Ok(_) => {
                frames.fetch_add(1, Ordering::Relaxed);
                if is_gso(frame) {
                    gso.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) if e.raw_os_error() == Some(nix::libc::EBADFD) => return e,
            Err(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn write_stats(path: &Path, stats: &VmTapStats) {
    let tmp = path.with_extension("tmp");
    if let Ok(text) = serde_json::to_string(stats)
        && std::fs::write(&tmp, text).is_ok()
    {
        let _ = std::fs::rename(&tmp, path);
    }
}

/// Relays between tap `port` (the node's side) and tap `guest` (to be
/// moved into the guest's namespace) until either goes away; counters go
/// to `stats`. Prints a line on stderr once both taps exist.
pub fn relay(port: &str, guest: &str, stats: &Path) -> Result<()> {
    let port_tap = Arc::new(open_tap(port)?);
    let guest_tap = Arc::new(open_tap(guest)?);
    let counters = Arc::new(Counters::default());
    write_stats(stats, &counters.snapshot());
    eprintln!("vmtap: relaying {port} <-> {guest} (IFF_VNET_HDR, CSUM+TSO)");

    let (done_tx, done_rx) = std::sync::mpsc::channel::<(&'static str, io::Error)>();
    {
        let (from, to, c, done) = (
            Arc::clone(&guest_tap),
            Arc::clone(&port_tap),
            Arc::clone(&counters),
            done_tx.clone(),
        );
        std::thread::spawn(move || {
            let e = copy(
                &from,
                &to,
                &c.from_guest,
                &c.gso_from_guest,
                &c.write_errors,
            );
            let _ = done.send(("guest tap", e));
        });
    }
    {
        let (from, to, c, done) = (
            Arc::clone(&port_tap),
            Arc::clone(&guest_tap),
            Arc::clone(&counters),
            done_tx,
        );
        std::thread::spawn(move || {
            let e = copy(&from, &to, &c.to_guest, &c.gso_to_guest, &c.write_errors);
            let _ = done.send(("port tap", e));
        });
    }
    let stats: PathBuf = stats.to_owned();
    loop {
        match done_rx.recv_timeout(STATS_PERIOD) {
            Ok((which, e)) => {
                write_stats(&stats, &counters.snapshot());
                eprintln!("vmtap: {which} gone ({e}); stopping");
                return Ok(());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                write_stats(&stats, &counters.snapshot());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// Where the relay of the guest on port `port` keeps its counters.
pub fn stats_path(dir: &Path, port: &str) -> PathBuf {
    dir.join(format!("vmtap-{port}.json"))
}

/// Where the relay of port `port` logs.
pub fn log_path(dir: &Path, port: &str) -> PathBuf {
    dir.join(format!("vmtap-{port}.log"))
}

impl World {
    /// The counters of VM-like guest `guest`'s relay, as read after this
    /// call began: everything relayed before the call is counted. Waits
    /// for the relay's next rewrite of its counters file (a few hundred
    /// milliseconds at most).
    pub fn vm_tap_stats(&self, guest: &str) -> Result<VmTapStats> {
        let port = self
            .guest_port(guest)
            .with_context(|| format!("no guest {guest:?}"))?;
        let path = stats_path(self.dir(), &port.port);
        let asked_at = unix_ms();
        let deadline = Instant::now() + STATS_PERIOD * 10;
        loop {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("reading {} (is {guest} a VM-like guest?)", path.display())
            })?;
            let stats: VmTapStats = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            if stats.taken_at_ms >= asked_at {
                return Ok(stats);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the relay of {guest} stopped updating {} (last snapshot {stats:?})",
                path.display()
            );
            std::thread::sleep(STATS_PERIOD / 4);
        }
    }
}
