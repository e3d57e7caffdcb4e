//! The XDP steering program's maps: which interfaces the dataplane owns,
//! which uplink frames are its own, and where they go (the XSKMAP).
//!
//! Steering model: every interface the dataplane owns has a [`PortConf`] in
//! [`PORTS_MAP`]. A port in [`PortMode::SteerAll`] (a guest port) sends every
//! frame to its AF_XDP socket; a port in [`PortMode::SteerMatched`] (an
//! uplink) sends only frames matching a [`SteerKey`] in [`STEER_MAP`] (zone
//! VLAN tags, VXLAN UDP port + VNI) and passes everything else, the host's own
//! traffic, to the kernel. A frame is redirected to XSKMAP slot
//! `xsk_base + rx_queue_index`; an empty slot falls back to the kernel
//! (fail-open).

pub use crate::net::MAX_PORTS;

/// Name of the XSKMAP holding one AF_XDP socket per (port, queue).
pub const XSKS_MAP: &str = "XSKS";
/// Name of the hash map `ifindex (u32) -> PortConf`.
pub const PORTS_MAP: &str = "PORTS";
/// Name of the hash map `SteerKey -> u32` (value unused, must be 1).
pub const STEER_MAP: &str = "STEER";
/// Name of the per-CPU array of [`XdpStat`] counters (`u64` each).
pub const STATS_MAP: &str = "STATS";
/// Name of the XDP program in the object file.
pub const XDP_PROGRAM: &str = "xsdn_xdp";

/// Queues per port reserved in the XSKMAP.
pub const MAX_QUEUES_PER_PORT: u32 = 64;
/// First XSKMAP slot of the punt device (after every port's slots).
pub const PUNT_XSK_BASE: u32 = MAX_PORTS * MAX_QUEUES_PER_PORT;
/// Size of the XSKMAP: every port's slots, then the punt device's.
pub const XSKMAP_SIZE: u32 = PUNT_XSK_BASE + MAX_QUEUES_PER_PORT;
/// Size of the steering table.
pub const STEER_MAP_SIZE: u32 = 16384;

/// What the XDP program does with frames arriving on a port.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortMode {
    /// Pass everything to the kernel (port known but not taken over).
    Pass = 0,
    /// Steer every frame to the port's AF_XDP socket (guest ports).
    SteerAll = 1,
    /// Steer only frames matching a [`SteerKey`] (uplinks).
    SteerMatched = 2,
    /// A guest port served by the tc program ([`crate::kernel_tier`]):
    /// the XDP program passes its frames, the tc program forwards or punts
    /// them.
    Guest = 3,
}

impl PortMode {
    /// Decodes the raw map value; unknown values mean [`PortMode::Pass`].
    pub const fn from_raw(raw: u32) -> Self {
        match raw {
            1 => PortMode::SteerAll,
            2 => PortMode::SteerMatched,
            3 => PortMode::Guest,
            _ => PortMode::Pass,
        }
    }
}

/// Per-interface configuration, value of [`PORTS_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortConf {
    /// First XSKMAP slot of this port; queue `q` uses `xsk_base + q`.
    pub xsk_base: u32,
    /// A [`PortMode`] as `u32`.
    pub mode: u32,
    /// With [`PORT_FLAG_HOST_PATH`]: the MAC address of the kernel bridge
    /// the guest port belongs to.
    pub host_mac: [u8; 6],
    /// `PORT_FLAG_*` bits.
    pub flags: u16,
    /// The port's slot (its counters in the kernel tier).
    pub slot: u16,
    /// A [`PortMode::Guest`] port: the kernel id of its bridge domain.
    pub bd: u16,
    /// Zero.
    pub reserved: u32,
}
const _: () = assert!(core::mem::size_of::<PortConf>() == 24);

/// [`PortConf::flags`]: the host has addresses on this guest port's kernel
/// bridge (a subnet gateway, a management address). A [`PortMode::SteerAll`]
/// port then passes to the kernel, instead of steering, the frames the
/// host's own stack needs: unicast to [`PortConf::host_mac`], ARP, and IPv6
/// router/neighbour discovery (ICMPv6 types 133-137). The kernel bridge
/// delivers them locally and floods ARP/ND to its other ports itself.
pub const PORT_FLAG_HOST_PATH: u16 = 1;

/// [`PortConf::flags`]: the kernel tier forwards established traffic of
/// this port (guest ports: the tc program; uplinks: the XDP program).
pub const PORT_FLAG_KERNEL_TIER: u16 = 2;

/// [`PortConf::flags`]: frames may be redirected to this guest port from
/// XDP (taps always; a veth only when its peer receives redirected frames,
/// which needs NAPI on that peer).
pub const PORT_FLAG_XDP_TARGET: u16 = 4;

/// [`PortConf::flags`] of an uplink: its tc program (`xsdn_uplink`) is
/// attached, so the XDP program may hand it a frame it decapsulated or
/// untagged, marked with a [`crate::kernel_tier::RedirectMeta`], through
/// the stack (where GRO merges a TCP stream's segments) for the redirect
/// to the guest port.
pub const PORT_FLAG_UPLINK_TC: u16 = 8;

/// Kinds of [`SteerKey`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SteerKind {
    /// Outermost tag is 802.1Q (TPID 0x8100) with VLAN id `value`.
    Dot1qVid = 1,
    /// Outermost tag is 802.1ad (TPID 0x88a8) with VLAN id `value`.
    Dot1adVid = 2,
    /// Untagged IPv4/IPv6 UDP with destination port `value` (VXLAN).
    UdpDstPort = 3,
    /// VXLAN network identifier `value`: a datagram to a [`UdpDstPort`]
    /// port is steered only when its VNI has this key too, so VXLAN the
    /// kernel serves on the same port (EVPN zones) stays with the kernel.
    ///
    /// [`UdpDstPort`]: SteerKind::UdpDstPort
    VxlanVni = 4,
}

/// Key of [`STEER_MAP`]: which frames on an uplink belong to the dataplane.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SteerKey {
    /// Interface index the rule applies to.
    pub ifindex: u32,
    /// A [`SteerKind`] as `u32`.
    pub kind: u32,
    /// VLAN id, UDP port or VNI, host byte order.
    pub value: u32,
}
const _: () = assert!(core::mem::size_of::<SteerKey>() == 12);

/// Indexes of the counters in [`STATS_MAP`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpStat {
    /// Frames handed to the kernel (not ours, or port in pass mode).
    Passed = 0,
    /// Frames redirected towards an AF_XDP socket (the kernel falls back
    /// to pass when the slot is empty).
    Redirected = 1,
    /// Frames on an interface without a [`PortConf`].
    UnknownPort = 2,
    /// Steered frames whose XSKMAP slot held no socket: they went to the
    /// kernel instead (fail-open; e.g. a queue the dataplane has no socket
    /// on). Counted within [`XdpStat::Redirected`] too.
    FellBack = 3,
    /// Frames from a guest port passed to the host's stack on its bridge
    /// ([`PORT_FLAG_HOST_PATH`]).
    ToHost = 4,
}

/// Number of counters in [`STATS_MAP`].
pub const XDP_STAT_COUNT: u32 = 5;

impl XdpStat {
    /// Every counter, in the order the CLI and the metrics list them.
    pub const ALL: [XdpStat; XDP_STAT_COUNT as usize] = [
        XdpStat::Redirected,
        XdpStat::Passed,
        XdpStat::UnknownPort,
        XdpStat::FellBack,
        XdpStat::ToHost,
    ];

    /// The counter's name: the JSON field of `xsdn show counters` and the
    /// `action` label of `xsdn_xdp_frames_total`.
    pub const fn name(self) -> &'static str {
        match self {
            XdpStat::Passed => "passed",
            XdpStat::Redirected => "redirected",
            XdpStat::UnknownPort => "unknown_port",
            XdpStat::FellBack => "fell_back",
            XdpStat::ToHost => "to_host",
        }
    }
}

#[cfg(feature = "user")]
mod user {
    // SAFETY: both types are `repr(C)`, `Copy`, made only of integers and
    // have no padding (sizes asserted above), so any byte pattern is valid.
    #[allow(unsafe_code)]
    unsafe impl aya::Pod for super::PortConf {}
    // SAFETY: see above.
    #[allow(unsafe_code)]
    unsafe impl aya::Pod for super::SteerKey {}
}
