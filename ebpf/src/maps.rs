//! Every map of the programs, named as `xsdn-common` names them.

use aya_ebpf::macros::map;
use aya_ebpf::maps::{Array, HashMap, PerCpuArray, XskMap};
use xsdn_common::kernel_tier::{
    BIND_MAP_SIZE, BdConf, BindValue, FDB_MAP_SIZE, FdbKey, FdbValue, IpKey, LOCAL_IPS_MAP_SIZE,
    MAX_KERNEL_BDS, PEERS_MAP_SIZE, PeerKey, TagBindKey, VniBindKey, kstat,
};
use xsdn_common::{MAX_PORTS, PortConf, STEER_MAP_SIZE, SteerKey, XDP_STAT_COUNT, XSKMAP_SIZE};

#[map(name = "XSKS")]
pub static XSKS: XskMap = XskMap::with_max_entries(XSKMAP_SIZE, 0);

#[map(name = "PORTS")]
pub static PORTS: HashMap<u32, PortConf> = HashMap::with_max_entries(MAX_PORTS, 0);

#[map(name = "STEER")]
pub static STEER: HashMap<SteerKey, u32> = HashMap::with_max_entries(STEER_MAP_SIZE, 0);

#[map(name = "STATS")]
pub static STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(XDP_STAT_COUNT, 0);

#[map(name = "BDS")]
pub static BDS: Array<BdConf> = Array::with_max_entries(MAX_KERNEL_BDS, 0);

#[map(name = "FDB")]
pub static FDB: HashMap<FdbKey, FdbValue> = HashMap::with_max_entries(FDB_MAP_SIZE, 0);

#[map(name = "TAGBIND")]
pub static TAGBIND: HashMap<TagBindKey, BindValue> = HashMap::with_max_entries(BIND_MAP_SIZE, 0);

#[map(name = "VNIBIND")]
pub static VNIBIND: HashMap<VniBindKey, BindValue> = HashMap::with_max_entries(BIND_MAP_SIZE, 0);

#[map(name = "PEERS")]
pub static PEERS: HashMap<PeerKey, u32> = HashMap::with_max_entries(PEERS_MAP_SIZE, 0);

#[map(name = "LOCALIPS")]
pub static LOCALIPS: HashMap<IpKey, u32> = HashMap::with_max_entries(LOCAL_IPS_MAP_SIZE, 0);

#[map(name = "KSTATS")]
pub static KSTATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(kstat::SIZE, 0);

#[map(name = "PUNT")]
pub static PUNT: Array<u32> = Array::with_max_entries(1, 0);

/// The port configuration of `ifindex`.
#[inline(always)]
pub fn port(ifindex: u32) -> Option<PortConf> {
    // SAFETY: the value is a plain `Copy` struct read once; the reference
    // does not outlive this statement.
    unsafe { PORTS.get(&ifindex) }.copied()
}

/// The current entry of `mac` in kernel bridge domain `bd` (generation
/// `generation`), `None` when absent or stale.
#[inline(always)]
pub fn fdb(bd: u16, mac: [u8; 6], generation: u32) -> Option<FdbValue> {
    source(bd, mac, generation).map(|s| s.value)
}

/// A source entry found by [`source`]: its value, and where to note that
/// the MAC was seen.
pub struct Source {
    /// The entry.
    pub value: FdbValue,
    slot: *mut FdbValue,
}

impl Source {
    /// Notes that the MAC was the source of a forwarded frame (for
    /// userspace's ageing): sets `hit` unless already set, so a busy MAC
    /// does not write its cache line on every frame.
    #[inline(always)]
    pub fn seen(&self) {
        // SAFETY: `slot` points at the map value the lookup returned, valid
        // for the program's run; a racing write of the same word by
        // another CPU or userspace is harmless (a hint).
        unsafe {
            if (*self.slot).hit == 0 {
                (*self.slot).hit = 1;
            }
        }
    }
}

/// Like [`fdb`], for a frame's source: keeps a handle to mark it seen.
#[inline(always)]
pub fn source(bd: u16, mac: [u8; 6], generation: u32) -> Option<Source> {
    let key = FdbKey { bd, mac };
    let slot = FDB.get_ptr_mut(&key)?;
    // SAFETY: a pointer just returned by the map lookup, valid for the
    // program's run.
    let value = unsafe { *slot };
    (value.generation == generation).then_some(Source { value, slot })
}

/// The configuration of kernel bridge domain `bd` if it is active.
#[inline(always)]
pub fn bd(bd: u16) -> Option<BdConf> {
    let conf = BDS.get(u32::from(bd)).copied()?;
    (conf.flags & xsdn_common::kernel_tier::BD_FLAG_ACTIVE != 0).then_some(conf)
}
