//! The in-kernel tier's maps: the contract between the userspace pipeline,
//! which decides, and the eBPF programs, which repeat its decisions for
//! established unicast traffic without leaving the kernel.
//!
//! Model:
//! - a **bridge domain** has a stable kernel id (the VNet's counter slot,
//!   below [`MAX_KERNEL_BDS`]) and a [`BdConf`] in [`BDS_MAP`] carrying its
//!   **generation**; every change that can make a cached decision wrong
//!   (its tag, VNI, peers, MTU, member ports, a next hop) bumps it, which
//!   turns every entry of that domain into a miss at once;
//! - the **MAC table** [`FDB_MAP`] maps `(bridge domain, MAC)` to the
//!   [`Action`](crate::Action) that reaches that MAC, with the egress
//!   interface and, for VXLAN, the resolved outer headers ([`FdbValue`]).
//!   Userspace installs an entry when it learns a MAC (or a move) and
//!   deletes it when the MAC ages out or is flushed. An entry from an older
//!   generation is a miss;
//! - a frame is handled in the kernel only when **both** its source and its
//!   destination have current entries and the source entry points back at
//!   the port (or peer) the frame came from: a new or moved source, an
//!   unknown destination, broadcast and multicast all go to userspace (a
//!   **punt**), which learns, floods and installs;
//! - classification on uplinks uses [`TAG_BIND_MAP`] (VLAN/QinQ tags) and
//!   [`VNI_BIND_MAP`] (VXLAN UDP port + VNI, then the source must be a peer
//!   of that bridge domain in [`PEERS_MAP`] and the destination one of
//!   [`LOCAL_IPS_MAP`]);
//! - counters are per-CPU ([`KSTATS_MAP`]), summed by userspace into the
//!   same port and VNet counters the userspace tier keeps.
//!
//! Guest frames that miss are punted to userspace through the punt device
//! pair: the guest-port program pushes an outer 802.1ad tag whose VLAN id
//! is the port slot ([`PUNT_TAG_LEN`] bytes in the frame) and redirects the
//! frame to [`PUNT_TX_DEVICE`], whose peer [`PUNT_RX_DEVICE`] steers
//! everything to the dataplane's AF_XDP socket; the worker takes the tag
//! off and forwards the frame as received on that port.

/// Most bridge domains the kernel tier knows (kernel ids `0..4096`).
pub const MAX_KERNEL_BDS: u32 = 4096;
/// Entries of [`FDB_MAP`].
pub const FDB_MAP_SIZE: u32 = 65536;
/// Entries of [`TAG_BIND_MAP`] and [`VNI_BIND_MAP`].
pub const BIND_MAP_SIZE: u32 = 16384;
/// Entries of [`PEERS_MAP`].
pub const PEERS_MAP_SIZE: u32 = 16384;
/// Entries of [`LOCAL_IPS_MAP`].
pub const LOCAL_IPS_MAP_SIZE: u32 = 64;

/// Name of the array `kernel bd id -> BdConf`.
pub const BDS_MAP: &str = "BDS";
/// Name of the hash map `FdbKey -> FdbValue`.
pub const FDB_MAP: &str = "FDB";
/// Name of the hash map `TagBindKey -> BindValue`.
pub const TAG_BIND_MAP: &str = "TAGBIND";
/// Name of the hash map `VniBindKey -> BindValue`.
pub const VNI_BIND_MAP: &str = "VNIBIND";
/// Name of the hash map `PeerKey -> u32` (value unused, 1).
pub const PEERS_MAP: &str = "PEERS";
/// Name of the hash map `IpKey -> u32` (value unused, 1): this node's VTEP
/// addresses.
pub const LOCAL_IPS_MAP: &str = "LOCALIPS";
/// Name of the per-CPU array of kernel-tier counters ([`kstat`]).
pub const KSTATS_MAP: &str = "KSTATS";
/// Name of the array holding the punt device's ifindex at index 0.
pub const PUNT_MAP: &str = "PUNT";
/// Name of the tc program on guest ports.
pub const GUEST_PROGRAM: &str = "xsdn_guest";

/// Name of the tc program on uplinks (redirects what the XDP program
/// marked).
pub const UPLINK_PROGRAM: &str = "xsdn_uplink";

/// The device guest-port programs redirect misses to.
pub const PUNT_TX_DEVICE: &str = "xsdn-punt0";
/// Its peer, where the XDP program steers every frame to the dataplane.
pub const PUNT_RX_DEVICE: &str = "xsdn-punt1";

/// [`BdConf::flags`]: the domain is live in the kernel tier.
pub const BD_FLAG_ACTIVE: u32 = 1;
/// [`BdConf::flags`]: `isolate-ports` (guest to guest is never cached).
pub const BD_FLAG_ISOLATED: u32 = 2;

/// One bridge domain, value of [`BDS_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BdConf {
    /// Entries of [`FDB_MAP`] with another generation are misses.
    pub generation: u32,
    /// `BD_FLAG_*` bits.
    pub flags: u32,
}
const _: () = assert!(core::mem::size_of::<BdConf>() == 8);

/// Key of [`FDB_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FdbKey {
    /// Kernel bridge domain id.
    pub bd: u16,
    /// MAC address.
    pub mac: [u8; 6],
}
const _: () = assert!(core::mem::size_of::<FdbKey>() == 8);

/// Value of [`FDB_MAP`]: how to reach one MAC of one bridge domain.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FdbValue {
    /// The bridge domain generation the entry was installed in.
    pub generation: u32,
    /// Egress interface (a guest port, or the uplink for tags and VXLAN).
    pub ifindex: u32,
    /// The action (encoded).
    pub action: crate::ActionEntry,
    /// VXLAN: outer destination MAC (the next hop).
    pub outer_dst_mac: [u8; 6],
    /// VXLAN: outer source MAC (ours on the uplink).
    pub outer_src_mac: [u8; 6],
    /// VXLAN over IPv4: our VTEP address (network byte order as bytes).
    pub outer_src_ip: [u8; 4],
    /// VXLAN over IPv4: the peer's address.
    pub outer_dst_ip: [u8; 4],
    /// The egress interface's MTU (for the MTU rule and VXLAN).
    pub mtu: u32,
    /// Set (to 1) by the eBPF programs when the entry's MAC is the source
    /// of a frame they forward; userspace clears it when it refreshes the
    /// MAC's age from it, so a MAC whose traffic stays in the kernel tier
    /// does not age out. Written as 0 on install.
    pub hit: u32,
}
const _: () = assert!(core::mem::size_of::<FdbValue>() == 56);

/// Key of [`TAG_BIND_MAP`]: the outer tag (and customer tag) of a frame on
/// an uplink.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TagBindKey {
    /// The uplink.
    pub ifindex: u32,
    /// Outer TPID.
    pub tpid: u16,
    /// Outer VLAN id.
    pub vid: u16,
    /// 802.1Q customer VLAN id after a QinQ service tag (0: none).
    pub c_vid: u16,
    /// Zero.
    pub reserved: u16,
}
const _: () = assert!(core::mem::size_of::<TagBindKey>() == 12);

/// Key of [`VNI_BIND_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct VniBindKey {
    /// UDP destination port.
    pub udp_port: u16,
    /// Zero.
    pub reserved: u16,
    /// VNI.
    pub vni: u32,
}
const _: () = assert!(core::mem::size_of::<VniBindKey>() == 8);

/// [`BindValue::kind`]: a VLAN zone's VNet (pop one tag; a guest's own
/// tag may follow and stays in the body).
pub const BIND_VLAN: u16 = 1;
/// [`BindValue::kind`]: a QinQ zone's VNet (pop the service and the
/// customer tag).
pub const BIND_QINQ: u16 = 2;
/// [`BindValue::kind`]: a QinQ zone's tag-less VNet (pop the service tag;
/// nothing may follow it).
pub const BIND_QINQ_UNTAGGED: u16 = 3;
/// [`BindValue::kind`]: a VXLAN VNet.
pub const BIND_VXLAN: u16 = 4;

/// Value of [`TAG_BIND_MAP`] and [`VNI_BIND_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BindValue {
    /// Kernel bridge domain id.
    pub bd: u16,
    /// One of the `BIND_*` kinds.
    pub kind: u16,
}
const _: () = assert!(core::mem::size_of::<BindValue>() == 4);

/// An address: IPv4 in the first 4 bytes with `family` 4, IPv6 with 6.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IpKey {
    /// 4 or 6.
    pub family: u32,
    /// The address bytes (network order), zero-padded.
    pub addr: [u8; 16],
}
const _: () = assert!(core::mem::size_of::<IpKey>() == 20);

/// Key of [`PEERS_MAP`]: a VTEP allowed to send into a bridge domain.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PeerKey {
    /// Kernel bridge domain id (as `u32`).
    pub bd: u32,
    /// The peer's address.
    pub ip: IpKey,
}
const _: () = assert!(core::mem::size_of::<PeerKey>() == 24);

/// XDP metadata in front of a frame the uplink's XDP program forwarded
/// (decapsulated or untagged) and passes up the stack for the uplink's tc
/// program to redirect: the frame goes through GRO in between, so a TCP
/// stream reaches the guest in super-frames, as on the kernel's own path.
/// Only an XDP program can write metadata, and GRO merges only frames with
/// equal metadata.
///
/// Fail-safe: the XDP program parks the frame's destination MAC here and
/// writes [`PARKED_DST_MAC`] in its place, which the tc program puts back.
/// Should the tc program be gone (the daemon died and its tc link closed
/// before its XDP link), the stack sees a frame for the 802.3x pause
/// address, which a bridge drops and the host stack never forwards: a
/// guest's frame never leaks into the uplink's bridge.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RedirectMeta {
    /// [`REDIRECT_MAGIC`].
    pub magic: u32,
    /// The guest port to redirect to.
    pub ifindex: u32,
    /// The frame's real destination MAC.
    pub dst_mac: [u8; 6],
    /// Zero.
    pub reserved: u16,
}
const _: () = assert!(core::mem::size_of::<RedirectMeta>() == 16);

/// The destination MAC a frame carries between the uplink's XDP and tc
/// programs (see [`RedirectMeta`]): the IEEE 802.3x pause address, which
/// bridges drop.
pub const PARKED_DST_MAC: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x01];

/// [`RedirectMeta::magic`].
pub const REDIRECT_MAGIC: u32 = 0x7853_6452;

/// Bytes of the outer 802.1ad tag (TPID + TCI) a punted frame carries:
/// its VLAN id is the guest port's slot.
pub const PUNT_TAG_LEN: usize = 4;

/// Layout of [`KSTATS_MAP`]: per port slot [`PORT_STATS`] counters, then
/// per kernel bridge domain [`BD_STATS`] counters.
pub mod kstat {
    use crate::net::MAX_PORTS;

    /// Port counter: frames received and handled in the kernel tier.
    pub const PORT_RX_PACKETS: u32 = 0;
    /// Port counter: their bytes.
    pub const PORT_RX_BYTES: u32 = 1;
    /// Port counter: frames sent by the kernel tier.
    pub const PORT_TX_PACKETS: u32 = 2;
    /// Port counter: their bytes.
    pub const PORT_TX_BYTES: u32 = 3;
    /// Port counter: frames punted to userspace.
    pub const PORT_PUNTED: u32 = 4;
    /// Port counter: frames dropped as `mtu_exceeded`.
    pub const PORT_MTU_EXCEEDED: u32 = 5;
    /// Counters per port.
    pub const PORT_STATS: u32 = 6;

    /// Bridge domain counter: frames handled in the kernel tier.
    pub const BD_RX_PACKETS: u32 = 0;
    /// Their bytes, as received.
    pub const BD_RX_BYTES: u32 = 1;
    /// Frames sent.
    pub const BD_TX_PACKETS: u32 = 2;
    /// Their bytes, as sent.
    pub const BD_TX_BYTES: u32 = 3;
    /// Frames dropped as `mtu_exceeded`.
    pub const BD_MTU_EXCEEDED: u32 = 4;
    /// Counters per bridge domain.
    pub const BD_STATS: u32 = 5;

    /// Index of port counter `field` of `slot`.
    #[inline(always)]
    pub const fn port(slot: u32, field: u32) -> u32 {
        slot * PORT_STATS + field
    }

    /// Index of bridge domain counter `field` of kernel bd `bd`.
    #[inline(always)]
    pub const fn bd(bd: u32, field: u32) -> u32 {
        MAX_PORTS * PORT_STATS + bd * BD_STATS + field
    }

    /// Size of the array.
    pub const SIZE: u32 = MAX_PORTS * PORT_STATS + super::MAX_KERNEL_BDS * BD_STATS;
}

#[cfg(feature = "user")]
#[allow(unsafe_code)]
mod user {
    use super::*;
    // SAFETY: `repr(C)`, `Copy`, integers only, no padding (size asserted
    // above): any byte pattern is a valid value. The same holds for every
    // impl below.
    unsafe impl aya::Pod for BdConf {}
    // SAFETY: as above.
    unsafe impl aya::Pod for FdbKey {}
    // SAFETY: as above (integers and byte arrays).
    unsafe impl aya::Pod for FdbValue {}
    // SAFETY: as above.
    unsafe impl aya::Pod for TagBindKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for VniBindKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for BindValue {}
    // SAFETY: as above (an integer and a byte array).
    unsafe impl aya::Pod for IpKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for PeerKey {}
}
