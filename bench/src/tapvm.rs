//! A VM stand-in on a tap, for the small-frame benchmark's "from the wire
//! to a VM" direction: the uplink's kernel tier redirects frames to taps
//! (VM ports) in XDP, while container veths get theirs through userspace.
//!
//! The stand-in opens (creates) the tap as QEMU would (`IFF_TAP |
//! IFF_NO_PI`, no offloads needed for single frames), reads and discards
//! every frame (the tap counts what was read in its `tx_packets`), and
//! writes a hello frame (a broadcast ARP request from the VM's MAC) every
//! 200 ms, so bridges and dataplanes know where the VM lives. Reads block:
//! no busy polling.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tun_rs::{DeviceBuilder, Layer, SyncDevice};

/// Ring of frames waiting for the reader (the tap's `tx_queue_len`).
const QUEUE_LEN: u32 = 4096;

/// Opens tap `name` and returns it with the hello thread running.
pub fn open(name: &str, hello: Vec<u8>) -> anyhow::Result<Arc<SyncDevice>> {
    let device = DeviceBuilder::new()
        .name(name)
        .layer(Layer::L2)
        .tx_queue_len(QUEUE_LEN)
        .enable(false)
        .build_sync()
        .with_context(|| format!("opening tap {name}"))?;
    let device = Arc::new(device);
    let writer = Arc::clone(&device);
    std::thread::spawn(move || {
        loop {
            // A full queue or a down link loses one hello: harmless.
            let _ = writer.send(&hello);
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    Ok(device)
}

/// Reads and drops frames until an error.
pub fn drain(device: &SyncDevice) -> anyhow::Result<()> {
    let mut buf = vec![0u8; 65_536];
    loop {
        device.recv(&mut buf).context("reading the tap")?;
    }
}
