//! Loading the eBPF programs and programming their maps.
//!
//! Layer: the control edge of the fast path. It loads `xsdn-xdp.o` (built by
//! `cargo xtask build-ebpf`), which holds the XDP program (uplinks, the
//! punt device) and the tc program (guest ports), attaches them to the
//! interfaces the dataplane owns and fills the maps described in
//! `xsdn-common` (the kernel tier's maps through [`KernelMaps`]).
//!
//! Guarantees:
//! - programs are attached through BPF links owned by this process, so they
//!   detach when the process exits for any reason, including `kill -9`
//!   (fail-open to the kernel path);
//! - [`XdpSteering::detach_all`] (also run on drop) detaches every program
//!   this value attached;
//! - log records of the program (aya-log; rare, rate-limited events only)
//!   are available through [`XdpSteering::take_logger`] and go to the `log`
//!   crate, which the binaries route into their `tracing` output.

use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use aya::Ebpf;
use aya::maps::{HashMap, MapData, PerCpuArray, XskMap};
use aya::programs::tc::{SchedClassifierLinkId, TcAttachOptions};
use aya::programs::{LinkOrder, SchedClassifier, TcAttachType, Xdp, XdpMode, xdp::XdpLinkId};
use xsdn_common::kernel_tier::{GUEST_PROGRAM, UPLINK_PROGRAM};
use xsdn_common::{
    PORTS_MAP, PortConf, STATS_MAP, STEER_MAP, SteerKey, XDP_PROGRAM, XDP_STAT_COUNT, XSKS_MAP,
};

use crate::kernel_tier::{KernelMaps, KernelMapsError};

/// File name of the compiled XDP object.
pub const OBJECT_NAME: &str = "xsdn-xdp.o";
/// Environment variable naming the XDP object explicitly.
pub const OBJECT_ENV: &str = "XSDN_XDP_OBJECT";

/// Errors of the XDP edge.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    /// The object file was not found anywhere it was looked for.
    #[error(
        "XDP object {OBJECT_NAME} not found (looked at: {tried}); build it with `cargo xtask build-ebpf` or pass its path with --xdp-object / {OBJECT_ENV}"
    )]
    ObjectNotFound {
        /// Paths tried, comma separated.
        tried: String,
    },
    /// The object could not be loaded into the kernel.
    #[error("loading XDP object {path}")]
    Load {
        /// Object path.
        path: PathBuf,
        /// Loader error.
        #[source]
        source: Box<aya::EbpfError>,
    },
    /// A map the program must have is missing.
    #[error("XDP object has no map {0}")]
    MissingMap(&'static str),
    /// A program the object must have is missing.
    #[error("XDP object has no program {0}")]
    MissingProgram(&'static str),
    /// The kernel tier's maps could not be set up.
    #[error("the kernel tier's maps")]
    Kernel(#[source] KernelMapsError),
    /// A program operation failed.
    #[error("{what}")]
    Program {
        /// What was attempted.
        what: String,
        /// The failure.
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    /// A map operation failed.
    #[error("{what}")]
    Map {
        /// What was attempted.
        what: String,
        /// The failure.
        #[source]
        source: Box<aya::maps::MapError>,
    },
}

/// How the program is attached to an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// Native (driver) mode; fails where the driver has no XDP support.
    Native,
    /// Generic (skb) mode; works everywhere, slower, sees GSO frames whole.
    Generic,
    /// Native, falling back to generic.
    Auto,
}

impl AttachMode {
    /// Lower-case name (`native`, `generic`).
    pub fn as_str(self) -> &'static str {
        match self {
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
            AttachMode::Auto => "auto",
        }
    }
}

/// Finds the XDP object: `explicit` or `$XSDN_XDP_OBJECT` when given (and
/// only there), else next to the running executable and its parent
/// directories (the layout of a cargo target dir), then `/usr/lib/xsdn/`.
pub fn find_object(explicit: Option<&Path>) -> Result<PathBuf, XdpError> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    // An explicit path (flag or environment) is authoritative: when it does
    // not exist, say so rather than load something else.
    let explicit = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(OBJECT_ENV).map(PathBuf::from));
    if let Some(path) = explicit {
        candidates.push(path);
    } else {
        if let Ok(exe) = std::env::current_exe() {
            let mut dir = exe.parent();
            for _ in 0..3 {
                let Some(d) = dir else { break };
                candidates.push(d.join(OBJECT_NAME));
                dir = d.parent();
            }
        }
        candidates.push(PathBuf::from("/usr/lib/xsdn").join(OBJECT_NAME));
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| XdpError::ObjectNotFound {
            tried: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Reader of the XDP program's log records (poll its fd, then `flush`).
pub type XdpLogger = aya_log::EbpfLogger<&'static dyn log::Log>;

/// Where a tc program of the kernel tier hangs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcHook {
    /// A guest port: `xsdn_guest` forwards established traffic or punts.
    Guest,
    /// An uplink: `xsdn_uplink` redirects what `xsdn_xdp` passed up the
    /// stack for it.
    Uplink,
}

impl TcHook {
    /// The program's name in the object.
    pub const fn program(self) -> &'static str {
        match self {
            TcHook::Guest => GUEST_PROGRAM,
            TcHook::Uplink => UPLINK_PROGRAM,
        }
    }
}

/// The loaded XDP program and typed handles on its maps.
pub struct XdpSteering {
    logger: Option<XdpLogger>,
    // Links are dropped (detached) before the program and its maps.
    links: BTreeMap<u32, (XdpLinkId, AttachMode)>,
    tc_links: BTreeMap<u32, (TcHook, SchedClassifierLinkId)>,
    kernel: KernelMaps,
    xsks: XskMap<MapData>,
    ports: HashMap<MapData, u32, PortConf>,
    steer: HashMap<MapData, SteerKey, u32>,
    stats: PerCpuArray<MapData, u64>,
    ebpf: Ebpf,
}

fn map_err(what: impl Into<String>) -> impl FnOnce(aya::maps::MapError) -> XdpError {
    let what = what.into();
    move |source| XdpError::Map {
        what,
        source: Box::new(source),
    }
}

fn prog_err(what: impl Into<String>) -> impl FnOnce(aya::programs::ProgramError) -> XdpError {
    let what = what.into();
    move |source| XdpError::Program {
        what,
        source: Box::new(source),
    }
}

impl XdpSteering {
    /// Loads and verifies the program from `path`; attaches nothing yet.
    pub fn load(path: &Path) -> Result<XdpSteering, XdpError> {
        let mut ebpf = Ebpf::load_file(path).map_err(|source| XdpError::Load {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        let program: &mut Xdp = ebpf
            .program_mut(XDP_PROGRAM)
            .ok_or(XdpError::MissingProgram(XDP_PROGRAM))?
            .try_into()
            .map_err(prog_err("XDP program type"))?;
        program
            .load()
            .map_err(prog_err("verifying the XDP program"))?;
        for hook in [TcHook::Guest, TcHook::Uplink] {
            let program: &mut SchedClassifier = ebpf
                .program_mut(hook.program())
                .ok_or(XdpError::MissingProgram(hook.program()))?
                .try_into()
                .map_err(prog_err("tc program type"))?;
            program.load().map_err(prog_err(format!(
                "verifying the tc program {}",
                hook.program()
            )))?;
        }
        // Without a reader the program's (rare) log records are dropped in
        // the kernel; that is harmless, so a failure here is not fatal.
        let logger = aya_log::EbpfLogger::init(&mut ebpf).ok();
        let xsks = XskMap::try_from(
            ebpf.take_map(XSKS_MAP)
                .ok_or(XdpError::MissingMap(XSKS_MAP))?,
        )
        .map_err(map_err(XSKS_MAP))?;
        let ports = HashMap::try_from(
            ebpf.take_map(PORTS_MAP)
                .ok_or(XdpError::MissingMap(PORTS_MAP))?,
        )
        .map_err(map_err(PORTS_MAP))?;
        let steer = HashMap::try_from(
            ebpf.take_map(STEER_MAP)
                .ok_or(XdpError::MissingMap(STEER_MAP))?,
        )
        .map_err(map_err(STEER_MAP))?;
        let stats = PerCpuArray::try_from(
            ebpf.take_map(STATS_MAP)
                .ok_or(XdpError::MissingMap(STATS_MAP))?,
        )
        .map_err(map_err(STATS_MAP))?;
        let kernel = KernelMaps::take(&mut ebpf).map_err(XdpError::Kernel)?;
        Ok(XdpSteering {
            logger,
            links: BTreeMap::new(),
            tc_links: BTreeMap::new(),
            kernel,
            xsks,
            ports,
            steer,
            stats,
            ebpf,
        })
    }

    /// The reader of the program's log records, once (the caller polls it).
    pub fn take_logger(&mut self) -> Option<XdpLogger> {
        self.logger.take()
    }

    fn program(&mut self) -> Result<&mut Xdp, XdpError> {
        self.ebpf
            .program_mut(XDP_PROGRAM)
            .ok_or(XdpError::MissingProgram(XDP_PROGRAM))?
            .try_into()
            .map_err(prog_err("XDP program type"))
    }

    fn tc_program(&mut self, hook: TcHook) -> Result<&mut SchedClassifier, XdpError> {
        self.ebpf
            .program_mut(hook.program())
            .ok_or(XdpError::MissingProgram(hook.program()))?
            .try_into()
            .map_err(prog_err("tc program type"))
    }

    /// The kernel tier's maps.
    pub fn kernel(&mut self) -> &mut KernelMaps {
        &mut self.kernel
    }

    /// The kernel tier's maps, to read.
    pub fn kernel_view(&self) -> &KernelMaps {
        &self.kernel
    }

    /// Attaches the tc program of `hook` to `name`'s ingress, through a
    /// tcx link owned by this process (it goes away with the process).
    /// Attaching twice is a no-op.
    pub fn attach_tc(&mut self, hook: TcHook, ifindex: u32, name: &str) -> Result<(), XdpError> {
        if self.tc_links.contains_key(&ifindex) {
            return Ok(());
        }
        let link = self
            .tc_program(hook)?
            .attach_with_options(
                name,
                TcAttachType::Ingress,
                TcAttachOptions::TcxOrder(LinkOrder::default()),
            )
            .map_err(prog_err(format!(
                "attaching the tc program {} to {name}",
                hook.program()
            )))?;
        self.tc_links.insert(ifindex, (hook, link));
        Ok(())
    }

    /// Detaches the tc program from `ifindex` if this value attached one.
    pub fn detach_tc(&mut self, ifindex: u32) -> Result<(), XdpError> {
        if let Some((hook, link)) = self.tc_links.remove(&ifindex) {
            self.tc_program(hook)?
                .detach(link)
                .map_err(prog_err(format!("detaching tc from ifindex {ifindex}")))?;
        }
        Ok(())
    }

    /// Attaches the program to `ifindex` (`name` is for messages). Returns
    /// the mode that worked. Attaching twice is a no-op.
    pub fn attach(
        &mut self,
        ifindex: u32,
        name: &str,
        mode: AttachMode,
    ) -> Result<AttachMode, XdpError> {
        if let Some((_, mode)) = self.links.get(&ifindex) {
            return Ok(*mode);
        }
        let program = self.program()?;
        let attempt = |program: &mut Xdp, mode: XdpMode| program.attach_to_if_index(ifindex, mode);
        let (link, used) = match mode {
            AttachMode::Native => (
                attempt(program, XdpMode::Driver)
                    .map_err(prog_err(format!("attaching XDP (native) to {name}")))?,
                AttachMode::Native,
            ),
            AttachMode::Generic => (
                attempt(program, XdpMode::Skb)
                    .map_err(prog_err(format!("attaching XDP (generic) to {name}")))?,
                AttachMode::Generic,
            ),
            AttachMode::Auto => match attempt(program, XdpMode::Driver) {
                Ok(link) => (link, AttachMode::Native),
                Err(_) => (
                    attempt(program, XdpMode::Skb)
                        .map_err(prog_err(format!("attaching XDP to {name}")))?,
                    AttachMode::Generic,
                ),
            },
        };
        self.links.insert(ifindex, (link, used));
        Ok(used)
    }

    /// Detaches the program from `ifindex` if this value attached it.
    pub fn detach(&mut self, ifindex: u32) -> Result<(), XdpError> {
        if let Some((link, _)) = self.links.remove(&ifindex) {
            self.program()?
                .detach(link)
                .map_err(prog_err(format!("detaching XDP from ifindex {ifindex}")))?;
        }
        Ok(())
    }

    /// Detaches every program this value attached; returns the first error
    /// but tries them all.
    pub fn detach_all(&mut self) -> Result<(), XdpError> {
        let mut first = None;
        let ifindexes: Vec<u32> = self.links.keys().copied().collect();
        for ifindex in ifindexes {
            if let Err(err) = self.detach(ifindex) {
                first.get_or_insert(err);
            }
        }
        let tc: Vec<u32> = self.tc_links.keys().copied().collect();
        for ifindex in tc {
            if let Err(err) = self.detach_tc(ifindex) {
                first.get_or_insert(err);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// Interfaces with the program attached, and how.
    pub fn attached(&self) -> impl Iterator<Item = (u32, AttachMode)> + '_ {
        self.links
            .iter()
            .map(|(ifindex, (_, mode))| (*ifindex, *mode))
    }

    /// Sets how frames on `ifindex` are steered.
    pub fn set_port(&mut self, ifindex: u32, conf: PortConf) -> Result<(), XdpError> {
        self.ports
            .insert(ifindex, conf, 0)
            .map_err(map_err(format!("PORTS[{ifindex}]")))
    }

    /// Forgets `ifindex`: its frames go to the kernel again.
    pub fn remove_port(&mut self, ifindex: u32) -> Result<(), XdpError> {
        match self.ports.remove(&ifindex) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(err) => Err(map_err(format!("PORTS[{ifindex}]"))(err)),
        }
    }

    /// Puts socket `fd` into XSKMAP slot `slot`.
    pub fn set_socket(&mut self, slot: u32, fd: RawFd) -> Result<(), XdpError> {
        self.xsks
            .set(slot, fd, 0)
            .map_err(map_err(format!("XSKS[{slot}]")))
    }

    /// Empties XSKMAP slot `slot` (its frames fall back to the kernel).
    pub fn clear_socket(&mut self, slot: u32) -> Result<(), XdpError> {
        match self.xsks.unset(slot) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(err) => Err(map_err(format!("XSKS[{slot}]"))(err)),
        }
    }

    /// Adds a steering rule for an uplink.
    pub fn add_steer(&mut self, key: SteerKey) -> Result<(), XdpError> {
        self.steer
            .insert(key, 1, 0)
            .map_err(map_err(format!("STEER[{key:?}]")))
    }

    /// Removes a steering rule.
    pub fn remove_steer(&mut self, key: SteerKey) -> Result<(), XdpError> {
        match self.steer.remove(&key) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(err) => Err(map_err(format!("STEER[{key:?}]"))(err)),
        }
    }

    /// The program's counters, summed over CPUs, indexed by
    /// [`xsdn_common::XdpStat`].
    pub fn stats(&self) -> Result<[u64; XDP_STAT_COUNT as usize], XdpError> {
        let mut out = [0u64; XDP_STAT_COUNT as usize];
        for (i, slot) in out.iter_mut().enumerate() {
            let values = self
                .stats
                .get(&(i as u32), 0)
                .map_err(map_err(format!("STATS[{i}]")))?;
            *slot = values.iter().sum();
        }
        Ok(out)
    }
}

impl Drop for XdpSteering {
    fn drop(&mut self) {
        // Best effort: the links also go away with the process.
        let _ = self.detach_all();
    }
}
