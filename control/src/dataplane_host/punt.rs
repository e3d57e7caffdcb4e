//! The punt device: how guest frames the kernel tier does not forward
//! reach the userspace pipeline.
//!
//! Layer: system edge (`ip`, `ethtool`, the XDP program's maps, the
//! worker's sockets). Guest ports carry the tc program instead of XDP (XDP
//! there would cost GSO), and tc cannot hand a frame to an AF_XDP socket.
//! So the tc program tags a frame it does not forward with an 802.1ad tag
//! naming its port slot and redirects it to [`PUNT_TX_DEVICE`], one end of
//! a veth pair that belongs to the dataplane; on the other end,
//! [`PUNT_RX_DEVICE`], the XDP program steers every frame to the worker's
//! AF_XDP socket, and the worker takes the tag off and forwards the frame
//! as if it came in on that port.
//!
//! - The pair is created at start (an old one, left by a crash, is
//!   replaced) and deleted at stop. Should the daemon die, the guest ports'
//!   tc programs go with it and the pair is just an idle link.
//! - VLAN insertion offload is off on the sending end, so the tag is
//!   written into the frame (outermost, before any tag the guest sent)
//!   instead of travelling beside it, where XDP would not see it.
//! - XDP on the receiving end makes the sending end drop GSO, so a guest's
//!   GSO super-frame is segmented on its way to userspace: the worker sees
//!   frames of at most the guest's MTU.

use std::process::Command;

use xsdn_common::kernel_tier::{PUNT_RX_DEVICE, PUNT_TX_DEVICE};
use xsdn_common::{PUNT_XSK_BASE, PortConf, PortMode};
use xsdn_dataplane::worker::WorkerHandle;
use xsdn_dataplane::xdp::{AttachMode, XdpSteering};

use super::HostError;
use crate::diag::error_chain;

/// MTU of the pair: the largest a veth with native XDP accepts (a page
/// less XDP headroom, the Ethernet header and the skb's shared info:
/// 3506 bytes on 4 KiB pages, the kernel refuses XDP above it), which is
/// above any guest MTU but jumbo, with room for the tag.
const PUNT_MTU: u32 = 3500;

/// The punt device pair, set up.
#[derive(Debug)]
pub struct PuntDevice {
    rx_ifindex: u32,
    queues: u32,
}

fn run(what: &str, cmd: &mut Command) -> Result<(), HostError> {
    match cmd.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(HostError::Punt(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
        Err(e) => Err(HostError::Punt(format!("{what}: {e}"))),
    }
}

/// Deletes the pair if it exists (deleting one end deletes both).
fn delete_pair() {
    let _ = Command::new("ip")
        .args(["link", "del", PUNT_TX_DEVICE])
        .output();
}

impl PuntDevice {
    /// Creates the pair and makes the worker and the programs use it.
    pub fn create(xdp: &mut XdpSteering, worker: &WorkerHandle) -> Result<PuntDevice, HostError> {
        delete_pair();
        let mtu = PUNT_MTU.to_string();
        run(
            "creating the punt device",
            Command::new("ip").args([
                "link",
                "add",
                PUNT_TX_DEVICE,
                "mtu",
                &mtu,
                "type",
                "veth",
                "peer",
                "name",
                PUNT_RX_DEVICE,
                "mtu",
                &mtu,
            ]),
        )?;
        let result = Self::set_up(xdp, worker);
        if result.is_err() {
            delete_pair();
        }
        result
    }

    fn set_up(xdp: &mut XdpSteering, worker: &WorkerHandle) -> Result<PuntDevice, HostError> {
        run(
            "turning VLAN insertion offload off on the punt device",
            Command::new("ethtool").args([
                "-K",
                PUNT_TX_DEVICE,
                "txvlan",
                "off",
                "tx-vlan-stag-hw-insert",
                "off",
            ]),
        )?;
        for dev in [PUNT_RX_DEVICE, PUNT_TX_DEVICE] {
            // The pair carries punted guest frames only: without IPv6 the
            // host sends nothing of its own on it (router solicitations,
            // MLD reports), which the worker would drop as untagged.
            let sysctl = format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6");
            if let Err(e) = std::fs::write(&sysctl, "1") {
                tracing::debug!(error = %e, path = %sysctl, "IPv6 left on for the punt device");
            }
            run(
                "bringing the punt device up",
                Command::new("ip").args(["link", "set", dev, "up"]),
            )?;
        }
        let tx_ifindex = xsdn_dataplane::netdev::ifindex(PUNT_TX_DEVICE)
            .map_err(|e| HostError::Punt(format!("{PUNT_TX_DEVICE}: {e}")))?;
        let rx_ifindex = xsdn_dataplane::netdev::ifindex(PUNT_RX_DEVICE)
            .map_err(|e| HostError::Punt(format!("{PUNT_RX_DEVICE}: {e}")))?;
        let sockets = worker
            .open_punt(PUNT_RX_DEVICE)?
            .map_err(|source| HostError::Sockets {
                port: PUNT_RX_DEVICE.to_owned(),
                source,
            })?;
        let device = PuntDevice {
            rx_ifindex,
            queues: sockets.len() as u32,
        };
        let result = (|| {
            for &(queue, fd) in &sockets {
                xdp.set_socket(PUNT_XSK_BASE + queue, fd)?;
            }
            let conf = PortConf {
                xsk_base: PUNT_XSK_BASE,
                mode: PortMode::SteerAll as u32,
                host_mac: [0; 6],
                flags: 0,
                slot: 0,
                bd: 0,
                reserved: 0,
            };
            xdp.set_port(rx_ifindex, conf)?;
            xdp.attach(rx_ifindex, PUNT_RX_DEVICE, AttachMode::Native)?;
            xdp.kernel()
                .set_punt(tx_ifindex)
                .map_err(xsdn_dataplane::xdp::XdpError::Kernel)
        })();
        match result {
            Ok(()) => Ok(device),
            Err(e) => {
                device.remove(xdp, worker);
                Err(HostError::Attach {
                    port: PUNT_RX_DEVICE.to_owned(),
                    source: e,
                })
            }
        }
    }

    /// Stops punting (guest frames the kernel tier does not forward then
    /// go to the kernel bridges), closes the worker's sockets and deletes
    /// the pair. Best effort.
    pub fn remove(self, xdp: &mut XdpSteering, worker: &WorkerHandle) {
        if let Err(e) = xdp.kernel().set_punt(0) {
            tracing::debug!(error = %error_chain(&e), "clearing the punt device");
        }
        let _ = xdp.detach(self.rx_ifindex);
        let _ = xdp.remove_port(self.rx_ifindex);
        for queue in 0..self.queues.max(1) {
            let _ = xdp.clear_socket(PUNT_XSK_BASE + queue);
        }
        if let Err(e) = worker.close_punt() {
            tracing::warn!(error = %error_chain(&e), "closing the punt device's sockets");
        }
        delete_pair();
    }
}
