//! Taking an interface over with the fast path, and giving it back.
//!
//! Layer: system edge (XDP and tc programs, their maps, the worker's
//! sockets, `ethtool`). A port is taken over one of three ways:
//! - **uplink** (`SteerMatched`) and, without the kernel tier, **guest
//!   port** (`SteerAll`): the worker opens one AF_XDP socket per RX queue,
//!   the sockets go into the port's XSKMAP slots, the port's configuration
//!   goes into `PORTS`, and only then is the XDP program attached, so no
//!   frame is ever steered to an empty slot;
//! - **guest port with the kernel tier** (`Guest`): no XDP at all (XDP on a
//!   veth turns GSO off on its peer, and on a tap it cannot take GSO
//!   super-frames); the worker opens one transmit-only socket, the
//!   configuration goes into `PORTS` (the port's slot, its bridge domain's
//!   kernel id, whether XDP may redirect frames to it: taps always, veths
//!   not, since their peer has no NAPI unless GRO is on), then the tc
//!   program is attached to its ingress.
//!
//! A take-over that fails half way is undone. Giving back reverses the
//! order: detach, forget the port, empty the slots, close the sockets.
//! Uplinks also have RX VLAN stripping turned off while owned (see
//! [`super::vlan_offload`]).

use xsdn_common::{
    MAX_QUEUES_PER_PORT, PORT_FLAG_HOST_PATH, PORT_FLAG_KERNEL_TIER, PORT_FLAG_UPLINK_TC,
    PORT_FLAG_XDP_TARGET, PortConf, PortMode,
};
use xsdn_dataplane::tables::PortSlot;
use xsdn_dataplane::worker::WorkerHandle;
use xsdn_dataplane::xdp::{AttachMode, TcHook, XdpSteering};

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
    /// The kernel tier serves this port (a `Guest` port; an uplink whose
    /// established traffic XDP forwards).
    pub kernel_tier: bool,
    /// A `Guest` port: the kernel id of its bridge domain.
    pub bd: u16,
    /// A `Guest` port that accepts frames redirected from XDP (a tap).
    pub xdp_target: bool,
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
    kernel_tier: bool,
    bd: u16,
    xdp_target: bool,
    uplink_tc: bool,
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

    /// A tap: XDP on an uplink may redirect frames into it (a veth needs
    /// NAPI on its peer for that).
    pub fn xdp_target(&self) -> bool {
        self.xdp_target
    }

    /// An uplink with its tc program: the kernel tier reaches any guest
    /// port from it, TCP through GRO.
    pub fn uplink_tc(&self) -> bool {
        self.uplink_tc
    }

    /// Steering mode.
    pub fn mode(&self) -> PortMode {
        self.mode
    }

    /// XDP attach mode that worked (meaningless for a `Guest` port, which
    /// has the tc program instead).
    pub fn attach(&self) -> AttachMode {
        self.attach
    }

    /// How frames of this port are handled, for people: `native` or
    /// `generic` XDP, or `tc` for a guest port of the kernel tier.
    pub fn hook(&self) -> &'static str {
        if self.mode == PortMode::Guest {
            "tc"
        } else {
            self.attach.as_str()
        }
    }

    /// A `Guest` port: the kernel id of its bridge domain.
    pub fn bd(&self) -> u16 {
        self.bd
    }

    /// Whether the kernel tier serves this port.
    pub fn kernel_tier(&self) -> bool {
        self.kernel_tier
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

/// The programs' configuration of a port.
fn port_conf(port: &AttachedPort) -> PortConf {
    let mut flags = 0;
    if port.host_mac.is_some() {
        flags |= PORT_FLAG_HOST_PATH;
    }
    if port.kernel_tier {
        flags |= PORT_FLAG_KERNEL_TIER;
    }
    if port.xdp_target {
        flags |= PORT_FLAG_XDP_TARGET;
    }
    if port.uplink_tc {
        flags |= PORT_FLAG_UPLINK_TC;
    }
    PortConf {
        xsk_base: xsk_base(port.slot),
        mode: port.mode as u32,
        host_mac: port.host_mac.unwrap_or_default(),
        flags,
        slot: port.slot.raw(),
        bd: port.bd,
        reserved: 0,
    }
}

/// Changes the host path of a port already taken over (the host's
/// addresses on its bridge came or went).
pub fn set_host_path(
    xdp: &mut XdpSteering,
    port: &mut AttachedPort,
    host_mac: Option<[u8; 6]>,
) -> Result<(), HostError> {
    let previous = std::mem::replace(&mut port.host_mac, host_mac);
    if let Err(e) = xdp.set_port(port.ifindex, port_conf(port)) {
        port.host_mac = previous;
        return Err(e.into());
    }
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
        kernel_tier,
        bd,
        xdp_target,
    } = request;
    if mode == PortMode::Guest {
        return take_over_guest(xdp, worker, slot, name, ifindex, host_mac, bd, xdp_target);
    }
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
    let mut port = AttachedPort {
        slot,
        name,
        ifindex,
        mode,
        attach,
        queues: sockets.len() as u32,
        stripping,
        host_mac,
        kernel_tier: kernel_tier && mode == PortMode::SteerMatched,
        bd: 0,
        xdp_target: false,
        uplink_tc: false,
    };
    // The uplink's tc program before XDP, so XDP never passes a marked
    // frame up a stack where nothing would redirect it.
    if port.kernel_tier {
        match xdp.attach_tc(TcHook::Uplink, ifindex, &port.name) {
            Ok(()) => port.uplink_tc = true,
            Err(e) => tracing::warn!(
                port = port.name,
                error = %error_chain(&e),
                "no tc program on the uplink: from the wire, the kernel tier reaches taps only, without GRO"
            ),
        }
    }
    let conf = port_conf(&port);
    let result = (|| {
        for &(queue, fd) in &sockets {
            xdp.set_socket(base + queue, fd)?;
        }
        xdp.set_port(ifindex, conf)?;
        xdp.attach(ifindex, &port.name, attach)
    })();
    let all_queues = xsdn_dataplane::netdev::rx_queues(&port.name);
    if all_queues > sockets.len() as u32 {
        tracing::warn!(
            port = port.name,
            queues = all_queues,
            served = sockets.len(),
            "the port has more RX queues than the dataplane serves; frames on the others go to the kernel"
        );
    }
    if matches!(result, Ok(AttachMode::Generic)) {
        tracing::warn!(
            port = port.name,
            "XDP runs in generic (skb) mode here: slower, and GSO frames larger than the MTU are dropped (mtu_exceeded); native mode is preferred"
        );
    }
    port.attach = *result.as_ref().unwrap_or(&attach);
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

/// Takes a guest port over for the kernel tier: a transmit-only socket,
/// its configuration, then the tc program.
#[expect(clippy::too_many_arguments, reason = "the fields of one request")]
fn take_over_guest(
    xdp: &mut XdpSteering,
    worker: &WorkerHandle,
    slot: PortSlot,
    name: String,
    ifindex: u32,
    host_mac: Option<[u8; 6]>,
    bd: u16,
    xdp_target: bool,
) -> Result<AttachedPort, HostError> {
    let sockets = worker
        .open_port_tx_only(slot, &name)?
        .map_err(|source| HostError::Sockets {
            port: name.clone(),
            source,
        })?;
    let port = AttachedPort {
        slot,
        name,
        ifindex,
        mode: PortMode::Guest,
        attach: AttachMode::Native,
        queues: sockets.len() as u32,
        stripping: Stripping::default(),
        host_mac,
        kernel_tier: true,
        bd,
        xdp_target,
        uplink_tc: false,
    };
    let result = xdp
        .set_port(ifindex, port_conf(&port))
        .and_then(|()| xdp.attach_tc(TcHook::Guest, ifindex, &port.name));
    match result {
        Ok(()) => Ok(port),
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
    if let Err(e) = xdp.detach_tc(port.ifindex) {
        tracing::debug!(port = %port.name, error = %error_chain(&e), "detaching tc");
    }
    if let Err(e) = xdp.remove_port(port.ifindex) {
        tracing::debug!(port = %port.name, error = %error_chain(&e), "removing the port from PORTS");
    }
    let base = xsk_base(port.slot);
    if port.mode != PortMode::Guest {
        for queue in 0..port.queues.max(1) {
            if let Err(e) = xdp.clear_socket(base + queue) {
                tracing::debug!(port = %port.name, error = %error_chain(&e), "clearing an XSKMAP slot");
            }
        }
    }
    if let Err(e) = worker.close_port(port.slot) {
        tracing::warn!(port = %port.name, error = %error_chain(&e), "closing the port's sockets");
    }
    vlan_offload::restore(&port.name, &port.stripping);
}
