//! The AF_XDP dataplane on this host: the XDP program, the worker, and
//! the interfaces they own.
//!
//! Layer: system edge, shared by `xsdn daemon` and `xsdn switch` (the one
//! place that assembles a running dataplane). [`DataplaneHost::start`]
//! loads the XDP object and spawns the worker; the owner then takes ports
//! over ([`ports`]), installs steering keys and hands the worker tables.
//! Guarantees: the host knows every port it took over and every steering
//! key it installed, so [`DataplaneHost::release`] gives all of them back
//! (RX VLAN stripping restored, [`vlan_offload`]) and detaches XDP; should
//! the process die instead, the kernel detaches the program (BPF links
//! owned by the process) and the kernel bridges forward again.

pub mod counters_json;
pub mod ports;
pub mod punt;
pub mod vlan_offload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use xsdn_common::{SteerKey, XDP_STAT_COUNT};
use xsdn_dataplane::tables::{ForwardingTables, PortSlot};
use xsdn_dataplane::worker::{WorkerConfig, WorkerError, WorkerHandle};
use xsdn_dataplane::xdp::{AttachMode, XdpError, XdpLogger, XdpSteering, find_object};
use xsdn_dataplane::xsk::XskSettings;

use crate::diag::error_chain;
use ports::{AttachedPort, PortRequest};

/// XDP attach mode, as a command-line value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AttachArg {
    /// Native (driver) mode, falling back to generic.
    Auto,
    /// Native (driver) mode only.
    Native,
    /// Generic (skb) mode only.
    Generic,
}

impl From<AttachArg> for AttachMode {
    fn from(arg: AttachArg) -> AttachMode {
        match arg {
            AttachArg::Auto => AttachMode::Auto,
            AttachArg::Native => AttachMode::Native,
            AttachArg::Generic => AttachMode::Generic,
        }
    }
}

/// Errors of the dataplane host.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The XDP program or one of its maps.
    #[error(transparent)]
    Xdp(#[from] XdpError),
    /// The worker did not start or answer.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// The worker could not open a port's AF_XDP sockets.
    #[error("AF_XDP sockets on {port}")]
    Sockets {
        /// Interface name.
        port: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Attaching a port failed (the take-over was undone).
    #[error("taking {port} over")]
    Attach {
        /// Interface name.
        port: String,
        /// Cause.
        #[source]
        source: XdpError,
    },
    /// A port slot that holds no port.
    #[error("port slot {0} is not taken over")]
    NoSuchPort(PortSlot),
    /// The punt device could not be set up.
    #[error("the punt device: {0}")]
    Punt(String),
}

/// How to start the dataplane.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// XDP object override (else `$XSDN_XDP_OBJECT`, next to the binary,
    /// `/usr/lib/xsdn/`).
    pub xdp_object: Option<PathBuf>,
    /// XDP attach mode for every port.
    pub attach: AttachMode,
    /// UMEM frames of 4 KiB.
    pub frames: u32,
    /// MAC table capacity.
    pub fdb_capacity: usize,
    /// MAC ageing time (`None`: the worker's default).
    pub fdb_age: Option<Duration>,
    /// Most MACs learnt per VNet (`None`: the worker's default).
    pub fdb_max_per_vnet: Option<usize>,
    /// Flooded frames per guest port and second (`None`: the worker's
    /// default; 0: no limit).
    pub flood_rate: Option<u32>,
    /// Forward established traffic in the kernel tier (guest ports get the
    /// tc program, misses reach userspace through the punt device).
    pub kernel_tier: bool,
}

/// The running dataplane: XDP program, worker, owned ports and steering
/// keys.
pub struct DataplaneHost {
    xdp: XdpSteering,
    worker: WorkerHandle,
    attach: AttachMode,
    ports: BTreeMap<PortSlot, AttachedPort>,
    steer: Vec<SteerKey>,
    punt: Option<punt::PuntDevice>,
}

impl DataplaneHost {
    /// Loads the XDP object and spawns the worker with `tables`.
    pub fn start(
        config: &HostConfig,
        tables: Arc<ForwardingTables>,
    ) -> Result<DataplaneHost, HostError> {
        let object = find_object(config.xdp_object.as_deref())?;
        let xdp = XdpSteering::load(&object)?;
        let defaults = WorkerConfig::default();
        let worker = WorkerHandle::spawn(
            WorkerConfig {
                xsk: XskSettings {
                    frames: config.frames,
                    ..XskSettings::default()
                },
                fdb_capacity: config.fdb_capacity,
                fdb_age: config.fdb_age.unwrap_or(defaults.fdb_age),
                fdb_max_per_vnet: config.fdb_max_per_vnet.unwrap_or(defaults.fdb_max_per_vnet),
                flood_rate: config.flood_rate.unwrap_or(defaults.flood_rate),
                ..defaults
            },
            tables,
        )?;
        let mut host = DataplaneHost {
            xdp,
            worker,
            attach: config.attach,
            ports: BTreeMap::new(),
            steer: Vec::new(),
            punt: None,
        };
        if config.kernel_tier {
            host.punt = Some(punt::PuntDevice::create(&mut host.xdp, &host.worker)?);
            let writer = host
                .xdp
                .kernel()
                .fdb_writer()
                .map_err(xsdn_dataplane::xdp::XdpError::Kernel)?;
            host.worker.attach_kernel_tier(writer)?;
        }
        Ok(host)
    }

    /// Whether the kernel tier runs.
    pub fn kernel_tier(&self) -> bool {
        self.punt.is_some()
    }

    /// Writes the kernel tier's maps for `tables` (their generations
    /// assigned); the worker frees the MAC entries of older generations
    /// once it has written the new ones. Does nothing without the kernel
    /// tier.
    pub fn apply_kernel_layout(&mut self, tables: &ForwardingTables) -> Result<(), HostError> {
        if self.punt.is_none() {
            return Ok(());
        }
        let layout = xsdn_dataplane::kernel_tier::layout(tables);
        self.xdp
            .kernel()
            .apply(&layout)
            .map_err(xsdn_dataplane::xdp::XdpError::Kernel)?;
        Ok(())
    }

    /// The loaded programs and their maps, to read (counters, the kernel
    /// tier's entries).
    pub fn programs(&self) -> &XdpSteering {
        &self.xdp
    }

    /// The reader of the XDP program's log records (once).
    pub fn take_xdp_logger(&mut self) -> Option<XdpLogger> {
        self.xdp.take_logger()
    }

    /// Takes an interface over.
    pub fn take_over(&mut self, request: PortRequest) -> Result<&AttachedPort, HostError> {
        let slot = request.slot;
        let port = ports::take_over(&mut self.xdp, &self.worker, request, self.attach)?;
        self.ports.insert(slot, port);
        Ok(&self.ports[&slot])
    }

    /// Gives the port in `slot` back to the kernel.
    pub fn give_back(&mut self, slot: PortSlot) -> Option<AttachedPort> {
        let port = self.ports.remove(&slot)?;
        ports::give_back(&mut self.xdp, &self.worker, &port);
        Some(port)
    }

    /// Changes the host path of the port in `slot`.
    pub fn set_host_path(
        &mut self,
        slot: PortSlot,
        host_mac: Option<[u8; 6]>,
    ) -> Result<(), HostError> {
        let port = self
            .ports
            .get_mut(&slot)
            .ok_or(HostError::NoSuchPort(slot))?;
        ports::set_host_path(&mut self.xdp, port, host_mac)
    }

    /// Installs exactly `keys` as the uplinks' steering rules: removes the
    /// ones not in it, adds the others. Returns the keys that could not be
    /// installed, with why.
    pub fn set_steering(&mut self, keys: &[SteerKey]) -> Vec<(SteerKey, HostError)> {
        for key in &self.steer {
            if !keys.contains(key) {
                let _ = self.xdp.remove_steer(*key);
            }
        }
        let mut failed = Vec::new();
        for key in keys {
            if let Err(e) = self.xdp.add_steer(*key) {
                failed.push((*key, HostError::from(e)));
            }
        }
        self.steer = keys.to_vec();
        failed
    }

    /// Hands the worker a new tables generation.
    pub fn set_tables(&self, tables: Arc<ForwardingTables>) -> Result<(), HostError> {
        Ok(self.worker.set_tables(tables)?)
    }

    /// The ports taken over, by slot.
    pub fn ports(&self) -> &BTreeMap<PortSlot, AttachedPort> {
        &self.ports
    }

    /// The port taken over as interface `name`.
    pub fn port_named(&self, name: &str) -> Option<&AttachedPort> {
        self.ports.values().find(|p| p.name() == name)
    }

    /// The worker (queries, counters).
    pub fn worker(&self) -> &WorkerHandle {
        &self.worker
    }

    /// The XDP program's counters, when readable.
    pub fn xdp_stats(&self) -> Option<[u64; XDP_STAT_COUNT as usize]> {
        self.xdp.stats().ok()
    }

    /// Gives every port back, removes the steering rules and detaches XDP
    /// everywhere; the worker keeps running (its counters stay readable).
    pub fn release(&mut self) -> Result<(), HostError> {
        let slots: Vec<PortSlot> = self.ports.keys().copied().collect();
        for slot in slots {
            self.give_back(slot);
        }
        for key in std::mem::take(&mut self.steer) {
            let _ = self.xdp.remove_steer(key);
        }
        if let Some(punt) = self.punt.take() {
            punt.remove(&mut self.xdp, &self.worker);
        }
        Ok(self.xdp.detach_all()?)
    }

    /// Releases everything (see [`DataplaneHost::release`]; a failure is
    /// logged) and stops the worker.
    pub fn shutdown(mut self) {
        if let Err(e) = self.release() {
            tracing::warn!(error = %error_chain(&e), "detaching XDP");
        }
        self.stop();
    }

    /// Stops the worker.
    pub fn stop(self) {
        self.worker.stop();
    }
}
