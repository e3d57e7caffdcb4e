//! The kernel tier's maps from userspace: typed handles, applied by diff,
//! the MAC-table writer the worker owns, and the per-CPU counters.

use std::collections::HashMap as StdHashMap;
use std::os::fd::AsFd;

use aya::Ebpf;

/// `BPF_EXIST`: update only an existing element.
const BPF_EXIST: u64 = 2;
use aya::maps::{Array, HashMap, IterableMap, Map, MapData, MapError, PerCpuArray};
use xsdn_common::kernel_tier::{
    BDS_MAP, BdConf, BindValue, FDB_MAP, FdbKey, FdbValue, IpKey, KSTATS_MAP, LOCAL_IPS_MAP,
    MAX_KERNEL_BDS, PEERS_MAP, PUNT_MAP, PeerKey, TAG_BIND_MAP, TagBindKey, VNI_BIND_MAP,
    VniBindKey, kstat,
};

use super::counters::{KernelBdCounters, KernelPortCounters};
use super::layout::Layout;
use crate::tables::PortSlot;

/// Errors of the kernel tier's maps.
#[derive(Debug, thiserror::Error)]
pub enum KernelMapsError {
    /// The object has no such map.
    #[error("the eBPF object has no map {0}")]
    Missing(&'static str),
    /// A map operation failed.
    #[error("{what}")]
    Map {
        /// What was attempted.
        what: String,
        /// The failure.
        #[source]
        source: Box<MapError>,
    },
    /// Duplicating a map handle failed.
    #[error("duplicating the handle of map {0}")]
    Dup(&'static str, #[source] std::io::Error),
}

fn map_err(what: impl Into<String>) -> impl FnOnce(MapError) -> KernelMapsError {
    let what = what.into();
    move |source| KernelMapsError::Map {
        what,
        source: Box::new(source),
    }
}

fn take(ebpf: &mut Ebpf, name: &'static str) -> Result<Map, KernelMapsError> {
    ebpf.take_map(name).ok_or(KernelMapsError::Missing(name))
}

/// Typed handles on every map of the kernel tier but the MAC table's
/// writer (see [`FdbWriter`]), and what was last written to them.
pub struct KernelMaps {
    bds: Array<MapData, BdConf>,
    tag_binds: HashMap<MapData, TagBindKey, BindValue>,
    vni_binds: HashMap<MapData, VniBindKey, BindValue>,
    peers: HashMap<MapData, PeerKey, u32>,
    local_ips: HashMap<MapData, IpKey, u32>,
    fdb: HashMap<MapData, FdbKey, FdbValue>,
    kstats: PerCpuArray<MapData, u64>,
    punt: Array<MapData, u32>,
    written: Layout,
}

impl KernelMaps {
    /// Takes the kernel tier's maps out of a loaded object.
    pub fn take(ebpf: &mut Ebpf) -> Result<KernelMaps, KernelMapsError> {
        Ok(KernelMaps {
            bds: Array::try_from(take(ebpf, BDS_MAP)?).map_err(map_err(BDS_MAP))?,
            tag_binds: HashMap::try_from(take(ebpf, TAG_BIND_MAP)?)
                .map_err(map_err(TAG_BIND_MAP))?,
            vni_binds: HashMap::try_from(take(ebpf, VNI_BIND_MAP)?)
                .map_err(map_err(VNI_BIND_MAP))?,
            peers: HashMap::try_from(take(ebpf, PEERS_MAP)?).map_err(map_err(PEERS_MAP))?,
            local_ips: HashMap::try_from(take(ebpf, LOCAL_IPS_MAP)?)
                .map_err(map_err(LOCAL_IPS_MAP))?,
            fdb: HashMap::try_from(take(ebpf, FDB_MAP)?).map_err(map_err(FDB_MAP))?,
            kstats: PerCpuArray::try_from(take(ebpf, KSTATS_MAP)?).map_err(map_err(KSTATS_MAP))?,
            punt: Array::try_from(take(ebpf, PUNT_MAP)?).map_err(map_err(PUNT_MAP))?,
            written: Layout::default(),
        })
    }

    /// A second handle on the MAC table, for the worker thread.
    pub fn fdb_writer(&self) -> Result<FdbWriter, KernelMapsError> {
        let fd = self
            .fdb
            .map()
            .fd()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| KernelMapsError::Dup(FDB_MAP, e))?;
        let data = MapData::from_fd(fd).map_err(map_err(FDB_MAP))?;
        let map = Map::from_map_data(data).map_err(map_err(FDB_MAP))?;
        Ok(FdbWriter {
            map: HashMap::try_from(map).map_err(map_err(FDB_MAP))?,
        })
    }

    /// Names the punt device (0: none; guest frames then go to the kernel
    /// bridges instead of userspace).
    pub fn set_punt(&mut self, ifindex: u32) -> Result<(), KernelMapsError> {
        self.punt.set(0, ifindex, 0).map_err(map_err("PUNT[0]"))
    }

    /// Writes `layout`: adds and updates what is new, removes what is gone
    /// (a bridge domain that is gone becomes inactive). Bridge domains are
    /// written first when they are added, last when they are removed, so
    /// the programs never see a binding to a domain that is not live.
    pub fn apply(&mut self, layout: &Layout) -> Result<(), KernelMapsError> {
        for (&id, conf) in &layout.bds {
            if self.written.bds.get(&id) != Some(conf) {
                self.bds
                    .set(u32::from(id), conf, 0)
                    .map_err(map_err(format!("BDS[{id}]")))?;
            }
        }
        sync(
            &mut self.tag_binds,
            &self.written.tag_binds,
            &layout.tag_binds,
            TAG_BIND_MAP,
        )?;
        sync(
            &mut self.vni_binds,
            &self.written.vni_binds,
            &layout.vni_binds,
            VNI_BIND_MAP,
        )?;
        let as_map = |set: &std::collections::HashSet<PeerKey>| {
            set.iter().map(|k| (*k, 1u32)).collect::<StdHashMap<_, _>>()
        };
        sync(
            &mut self.peers,
            &as_map(&self.written.peers),
            &as_map(&layout.peers),
            PEERS_MAP,
        )?;
        let as_map = |set: &std::collections::HashSet<IpKey>| {
            set.iter().map(|k| (*k, 1u32)).collect::<StdHashMap<_, _>>()
        };
        sync(
            &mut self.local_ips,
            &as_map(&self.written.local_ips),
            &as_map(&layout.local_ips),
            LOCAL_IPS_MAP,
        )?;
        for &id in self.written.bds.keys() {
            if !layout.bds.contains_key(&id) {
                self.bds
                    .set(u32::from(id), BdConf::default(), 0)
                    .map_err(map_err(format!("BDS[{id}]")))?;
            }
        }
        self.written = layout.clone();
        Ok(())
    }

    /// Every MAC entry, for `xsdn show`.
    pub fn fdb_entries(&self) -> Vec<(FdbKey, FdbValue)> {
        self.fdb.iter().filter_map(Result::ok).collect()
    }

    /// The entry of `key`, if installed.
    pub fn fdb_entry(&self, key: &FdbKey) -> Option<FdbValue> {
        self.fdb.get(key, 0).ok()
    }

    /// The live generation of kernel bridge domain `id`, if live.
    pub fn bd_generation(&self, id: u16) -> Option<u32> {
        self.written.bds.get(&id).map(|b| b.generation)
    }

    /// The `BD_FLAG_*` bits of kernel bridge domain `id`, if live.
    pub fn bd_flags(&self, id: u16) -> Option<u32> {
        self.written.bds.get(&id).map(|b| b.flags)
    }

    /// Counter `index` of [`KSTATS_MAP`], summed over CPUs.
    fn kstat(&self, index: u32) -> Result<u64, KernelMapsError> {
        let values = self
            .kstats
            .get(&index, 0)
            .map_err(map_err(format!("{KSTATS_MAP}[{index}]")))?;
        Ok(values.iter().sum())
    }

    /// What the kernel tier did on port `slot`.
    pub fn port_counters(&self, slot: PortSlot) -> Result<KernelPortCounters, KernelMapsError> {
        let field = |f: u32| self.kstat(kstat::port(slot.index() as u32, f));
        Ok(KernelPortCounters {
            rx_packets: field(kstat::PORT_RX_PACKETS)?,
            rx_bytes: field(kstat::PORT_RX_BYTES)?,
            tx_packets: field(kstat::PORT_TX_PACKETS)?,
            tx_bytes: field(kstat::PORT_TX_BYTES)?,
            punted: field(kstat::PORT_PUNTED)?,
            mtu_exceeded: field(kstat::PORT_MTU_EXCEEDED)?,
        })
    }

    /// What the kernel tier did in kernel bridge domain `bd` (zero for an
    /// id the tier never used).
    pub fn bd_counters(&self, bd: u16) -> Result<KernelBdCounters, KernelMapsError> {
        if u32::from(bd) >= MAX_KERNEL_BDS {
            return Ok(KernelBdCounters::default());
        }
        let field = |f: u32| self.kstat(kstat::bd(u32::from(bd), f));
        Ok(KernelBdCounters {
            rx_packets: field(kstat::BD_RX_PACKETS)?,
            rx_bytes: field(kstat::BD_RX_BYTES)?,
            tx_packets: field(kstat::BD_TX_PACKETS)?,
            tx_bytes: field(kstat::BD_TX_BYTES)?,
            mtu_exceeded: field(kstat::BD_MTU_EXCEEDED)?,
        })
    }
}

/// Brings one hash map from `written` to `wanted`.
fn sync<K, V>(
    map: &mut HashMap<MapData, K, V>,
    written: &StdHashMap<K, V>,
    wanted: &StdHashMap<K, V>,
    name: &'static str,
) -> Result<(), KernelMapsError>
where
    K: aya::Pod + Eq + std::hash::Hash + std::fmt::Debug,
    V: aya::Pod + PartialEq,
{
    for (key, value) in wanted {
        if written.get(key) != Some(value) {
            map.insert(key, value, 0)
                .map_err(map_err(format!("{name}[{key:?}]")))?;
        }
    }
    for key in written.keys() {
        if !wanted.contains_key(key) {
            match map.remove(key) {
                Ok(()) | Err(MapError::KeyNotFound) => {}
                Err(e) => return Err(map_err(format!("{name}[{key:?}]"))(e)),
            }
        }
    }
    Ok(())
}

/// The worker's handle on the kernel tier's MAC table.
pub struct FdbWriter {
    map: HashMap<MapData, FdbKey, FdbValue>,
}

impl FdbWriter {
    /// Installs (or replaces) one entry; false if the kernel refused it
    /// (the table is full).
    pub fn install(&mut self, key: &FdbKey, value: &FdbValue) -> bool {
        self.map.insert(key, value, 0).is_ok()
    }

    /// Whether the eBPF programs saw the entry's MAC as a source since the
    /// last call (its `hit`), clearing it. False for an absent entry.
    pub fn take_hit(&mut self, key: &FdbKey) -> bool {
        let Ok(mut value) = self.map.get(key, 0) else {
            return false;
        };
        if value.hit == 0 {
            return false;
        }
        value.hit = 0;
        // BPF_EXIST: never recreate an entry removed meanwhile.
        let _ = self.map.insert(key, value, BPF_EXIST);
        true
    }

    /// Removes one entry (absent is fine).
    pub fn remove(&mut self, key: &FdbKey) {
        let _ = self.map.remove(key);
    }

    /// Removes every entry `stale` says no bridge domain can use any more;
    /// returns how many. The worker calls it once a resynchronization has
    /// written the current generation's entries: the worker is the map's
    /// only writer, so no entry it has just written can be swept.
    pub fn sweep(&mut self, stale: impl Fn(&FdbKey, &FdbValue) -> bool) -> usize {
        let doomed: Vec<FdbKey> = self
            .map
            .iter()
            .filter_map(Result::ok)
            .filter(|(key, value)| stale(key, value))
            .map(|(key, _)| key)
            .collect();
        for key in &doomed {
            let _ = self.map.remove(key);
        }
        doomed.len()
    }
}

impl std::fmt::Debug for FdbWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FdbWriter")
    }
}
