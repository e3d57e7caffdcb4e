//! Taking an interface over with the fast path, and giving it back.
//!
//! Layer: system edge (XDP maps, the worker's sockets, `ethtool`).
//! Guarantees: taking over, the worker opens one AF_XDP socket per RX
//! queue, the sockets go into the port's XSKMAP slots, the port's steering
//! mode goes into `PORTS`, and only then is the XDP program attached, so no
//! frame is ever steered to an empty slot; a take-over that fails half way
//! is undone. Giving back reverses the order: detach, forget the port,
//! empty the slots, close the sockets. Uplinks also have RX VLAN stripping
//! turned off while owned (see [`super::vlan_offload`]).

use xsdn_common::{MAX_QUEUES_PER_PORT, PORT_FLAG_HOST_PATH, PortConf, PortMode};
use xsdn_dataplane::tables::PortSlot;
use xsdn_dataplane::worker::WorkerHandle;
use xsdn_dataplane::xdp::{AttachMode, XdpSteering};

use super::HostError;
use super::vlan_offload::{self, Stripping};
use crate::diag::error_chain;

/// An interface to take over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortRequest {
    /// Port slot.
    pub slot: PortSlot,
    /// Interface name.
    pub name: String,
    /// Interface index.
    pub ifindex: u32,
    /// Steering mode.
    pub mode: PortMode,
    /// A guest port whose bridge carries host addresses: the bridge's MAC
    /// (frames for the host's stack go to the kernel, see
    /// [`PORT_FLAG_HOST_PATH`]).
    pub host_mac: Option<[u8; 6]>,
}

/// An interface the fast path owns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedPort {
    slot: PortSlot,
    name: String,
    ifindex: u32,
    mode: PortMode,
    attach: AttachMode,
    queues: u32,
    stripping: Stripping,
    host_mac: Option<[u8; 6]>,
}

impl AttachedPort {
    /// Port slot.
    pub fn slot(&self) -> PortSlot {
        self.slot
    }

    /// Interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Interface index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Steering mode.
    pub fn mode(&self) -> PortMode {
        self.mode
    }

    /// XDP attach mode that worked.
    pub fn attach(&self) -> AttachMode {
        self.attach
    }

    /// Number of RX queues (one socket each).
    pub fn queues(&self) -> u32 {
        self.queues
    }

    /// The bridge MAC of a guest port with a host path.
    pub fn host_mac(&self) -> Option<[u8; 6]> {
        self.host_mac
    }
}

/// The XDP program's configuration of a port.
fn port_conf(slot: PortSlot, mode: PortMode, host_mac: Option<[u8; 6]>) -> PortConf {
    PortConf {
        xsk_base: xsk_base(slot),
        mode: mode as u32,
        host_mac: host_mac.unwrap_or_default(),
        flags: if host_mac.is_some() {
            PORT_FLAG_HOST_PATH
        } else {
            0
        },
    }
}

/// Changes the host path of a port already taken over (the host's
/// addresses on its bridge came or went).
pub fn set_host_path(
    xdp: &mut XdpSteering,
    port: &mut AttachedPort,
    host_mac: Option<[u8; 6]>,
) -> Result<(), HostError> {
    xdp.set_port(port.ifindex, port_conf(port.slot, port.mode, host_mac))?;
    port.host_mac = host_mac;
    Ok(())
}

/// First XSKMAP slot of port `slot`.
pub fn xsk_base(slot: PortSlot) -> u32 {
    u32::from(slot.raw()) * MAX_QUEUES_PER_PORT
}

/// Takes `request.name` over as port `request.slot`.
pub fn take_over(
    xdp: &mut XdpSteering,
    worker: &WorkerHandle,
    request: PortRequest,
    attach: AttachMode,
) -> Result<AttachedPort, HostError> {
    let PortRequest {
        slot,
        name,
        ifindex,
        mode,
        host_mac,
    } = request;
    let sockets = worker
        .open_port(slot, &name)?
        .map_err(|source| HostError::Sockets {
            port: name.clone(),
            source,
        })?;
    let base = xsk_base(slot);
    // Uplinks: tags must stay in the frame for the XDP program to see them.
    let stripping = if mode == PortMode::SteerMatched {
        vlan_offload::disable(&name)
    } else {
        Stripping::default()
    };
    let result = (|| {
        for &(queue, fd) in &sockets {
            xdp.set_socket(base + queue, fd)?;
        }
        xdp.set_port(ifindex, port_conf(slot, mode, host_mac))?;
        xdp.attach(ifindex, &name, attach)
    })();
    let all_queues = xsdn_dataplane::netdev::rx_queues(&name);
    if all_queues > sockets.len() as u32 {
        tracing::warn!(
            port = name,
            queues = all_queues,
            served = sockets.len(),
            "the port has more RX queues than the dataplane serves; frames on the others go to the kernel"
        );
    }
    if matches!(result, Ok(AttachMode::Generic)) {
        tracing::warn!(
            port = name,
            "XDP runs in generic (skb) mode here: slower, and GSO frames larger than the MTU are dropped (mtu_exceeded); native mode is preferred"
        );
    }
    let port = AttachedPort {
        slot,
        name,
        ifindex,
        mode,
        attach: *result.as_ref().unwrap_or(&attach),
        queues: sockets.len() as u32,
        stripping,
        host_mac,
    };
    match result {
        Ok(_) => Ok(port),
        Err(source) => {
            give_back(xdp, worker, &port);
            Err(HostError::Attach {
                port: port.name,
                source,
            })
        }
    }
}

/// Gives `port` back to the kernel. Best effort: every step is tried;
/// failures are logged (the interface may already be gone).
pub fn give_back(xdp: &mut XdpSteering, worker: &WorkerHandle, port: &AttachedPort) {
    if let Err(e) = xdp.detach(port.ifindex) {
        tracing::debug!(port = %port.name, error = %error_chain(&e), "detaching XDP");
    }
    if let Err(e) = xdp.remove_port(port.ifindex) {
        tracing::debug!(port = %port.name, error = %error_chain(&e), "removing the port from PORTS");
    }
    let base = xsk_base(port.slot);
    for queue in 0..port.queues.max(1) {
        if let Err(e) = xdp.clear_socket(base + queue) {
            tracing::debug!(port = %port.name, error = %error_chain(&e), "clearing an XSKMAP slot");
        }
    }
    if let Err(e) = worker.close_port(port.slot) {
        tracing::warn!(port = %port.name, error = %error_chain(&e), "closing the port's sockets");
    }
    vlan_offload::restore(&port.name, &port.stripping);
}
