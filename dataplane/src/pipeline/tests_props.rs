//! Property tests: the walk (decision, rewrite, replication) never panics, on arbitrary
//! bytes, on structured and then mutated frames, against randomly built
//! tables (valid ones, and valid ones corrupted through the `pub` fields);
//! with valid tables, every output stays in the frame's bridge domain, and
//! a frame put on the wire is classified back into the same domain.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use proptest::prelude::*;

use super::testing::{Buffers, HEADROOM, Walked, chunk_with, slot, vid, vni, walk};
use super::*;
use crate::counters::DropReason;
use crate::tables::{
    BdEncap, BdId, BridgeDomain, FastMap, NextHop, PortRole, Tpid, VlanBinding, VlanKey, VniKey,
    Vtep,
};
use crate::wire::build::{FrameBuilder, mac};
use crate::wire::{EthernetAddress, L3Meta, VlanTag, parse_frame, parse_vxlan};

fn ip(n: u8, v6: bool) -> IpAddr {
    if v6 {
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, n.into()).into()
    } else {
        Ipv4Addr::new(10, 0, 0, n).into()
    }
}

/// A bridge domain recipe: kind (0 local, 1 VLAN, 2 QinQ, 3 VXLAN), VID or
/// VNI, customer VID, 802.1ad / port 4789, second uplink, isolation,
/// learning, peers.
type BdRecipe = (u8, u16, Option<u16>, bool, bool, bool, bool, Vec<u8>);

#[derive(Clone, Debug)]
struct TablesRecipe {
    v6: bool,
    bds: Vec<BdRecipe>,
    guests: Vec<(usize, u8)>,
    next_hops: Vec<Option<bool>>,
}

const GUEST_PORTS: [usize; 8] = [1, 2, 3, 4, 6, 7, 8, 9];

fn tables_recipe() -> impl Strategy<Value = TablesRecipe> {
    let bd = (
        0u8..4,
        1u16..5,
        proptest::option::of(1u16..4),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::bool::weighted(0.85),
        proptest::collection::vec(1u8..6, 0..4),
    );
    (
        any::<bool>(),
        proptest::collection::vec(bd, 1..5),
        proptest::collection::vec((any::<usize>(), 0u8..3), GUEST_PORTS.len()),
        proptest::collection::vec(proptest::option::of(any::<bool>()), 6),
    )
        .prop_map(|(v6, bds, guests, next_hops)| TablesRecipe {
            v6,
            bds,
            guests,
            next_hops,
        })
}

/// Builds valid tables (conflicting bridge domains are left out, as the
/// daemon would reject them).
fn build(r: &TablesRecipe) -> ForwardingTables {
    let mut t = ForwardingTables::new();
    t.set_uplink(slot(0), "up0", mac(0xe0), 1500).unwrap();
    t.set_uplink(slot(5), "up5", mac(0xe5), 1400).unwrap();
    t.local_vtep_ips.push(ip(1, r.v6));
    for (i, &(kind, tag, c_vid, flag, second, isolate, learning, ref peers)) in
        r.bds.iter().enumerate()
    {
        let uplink = slot(if second { 5 } else { 0 });
        let (encap, uplink) = match kind {
            0 => (BdEncap::Local, None),
            1 => (BdEncap::Vlan { vid: vid(tag) }, Some(uplink)),
            2 => {
                let s_tpid = if flag { Tpid::Dot1ad } else { Tpid::Dot1q };
                let encap = BdEncap::QinQ {
                    s_tpid,
                    s_vid: vid(tag),
                    c_vid: c_vid.map(vid),
                };
                (encap, Some(uplink))
            }
            _ => {
                let udp_port = if flag { 4789 } else { 8472 };
                let encap = BdEncap::Vxlan {
                    vni: vni(tag.into()),
                    udp_port,
                };
                (encap, None)
            }
        };
        let mut bd = BridgeDomain::new(&format!("v{i}"), "z", encap)
            .with_isolated_ports(isolate)
            .with_learning(learning)
            .with_counter_slot(i);
        bd.uplink = uplink;
        if let Ok(id) = t.add_bd(bd)
            && kind == 3
        {
            for &peer in peers {
                t.add_peer(id, ip(peer, r.v6)).unwrap();
            }
        }
    }
    if !t.bds.is_empty() {
        for (&port, &(choice, mtu)) in GUEST_PORTS.iter().zip(&r.guests) {
            let bd = (choice % t.bds.len()) as u16;
            let mtu = [1500, 1450, 3000][usize::from(mtu)];
            t.add_guest_port(slot(port), &format!("tap{port}"), mac(0x40), mtu, bd)
                .unwrap();
        }
    }
    for (vtep, nh) in r.next_hops.iter().enumerate().take(t.vteps.len()) {
        let nh = nh.map(|second| NextHop {
            port: slot(if second { 5 } else { 0 }),
            dst_mac: mac(0xfe),
            src_mac: mac(0xe0),
            src_ip: ip(1, r.v6),
        });
        t.set_next_hop(vtep as u16, nh).unwrap();
    }
    t.validate().unwrap();
    t
}

/// Ways to break tables through their `pub` fields.
#[derive(Clone, Debug)]
enum Corruption {
    Role(usize, u16),
    GuestPort(usize, usize),
    PeerIndex(usize, u16),
    VlanBinding(usize, u16, u16),
    QinQBinding(usize, u16, u16),
    VniBinding(u32, u16),
    Uplink(usize, usize),
    NextHopPort(usize, usize),
    NextHopFamily(usize),
    RemoveVtep,
    CounterSlot(usize, usize),
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        (0usize..12, any::<u16>()).prop_map(|(p, b)| Corruption::Role(p, b)),
        (0usize..8, 0usize..300).prop_map(|(b, p)| Corruption::GuestPort(b, p)),
        (0usize..8, any::<u16>()).prop_map(|(b, v)| Corruption::PeerIndex(b, v)),
        (0usize..8, 1u16..5, any::<u16>()).prop_map(|(p, v, b)| Corruption::VlanBinding(p, v, b)),
        (0usize..8, 1u16..5, any::<u16>()).prop_map(|(p, v, b)| Corruption::QinQBinding(p, v, b)),
        (1u32..5, any::<u16>()).prop_map(|(v, b)| Corruption::VniBinding(v, b)),
        (0usize..8, 0usize..300).prop_map(|(b, p)| Corruption::Uplink(b, p)),
        (0usize..6, 0usize..300).prop_map(|(v, p)| Corruption::NextHopPort(v, p)),
        (0usize..6).prop_map(Corruption::NextHopFamily),
        Just(Corruption::RemoveVtep),
        (0usize..8, any::<usize>()).prop_map(|(b, s)| Corruption::CounterSlot(b, s)),
    ]
}

fn corrupt(t: &mut ForwardingTables, c: &Corruption) {
    let n_bds = t.bds.len().max(1);
    match *c {
        Corruption::Role(port, bd) => {
            if let Some(p) = t.ports.get_mut(port) {
                p.role = PortRole::Guest { bd };
            }
        }
        Corruption::GuestPort(bd, port) => {
            if let Some(b) = t.bds.get_mut(bd % n_bds) {
                b.guest_ports.push(slot(port % 256));
            }
        }
        Corruption::PeerIndex(bd, vtep) => {
            if let Some(b) = t.bds.get_mut(bd % n_bds) {
                b.vteps.push(vtep);
            }
        }
        Corruption::VlanBinding(port, tag, bd) => {
            let key = VlanKey {
                port: slot(port),
                tpid: Tpid::Dot1q,
                vid: vid(tag),
            };
            t.vlan_bindings.insert(key, VlanBinding::Bd(bd));
        }
        Corruption::QinQBinding(port, tag, bd) => {
            let mut by_cvid = FastMap::default();
            by_cvid.insert(vid(tag), bd);
            let key = VlanKey {
                port: slot(port),
                tpid: Tpid::Dot1ad,
                vid: vid(tag),
            };
            let binding = VlanBinding::QinQ {
                untagged: Some(bd),
                by_cvid,
            };
            t.vlan_bindings.insert(key, binding);
        }
        Corruption::VniBinding(v, bd) => {
            t.vni_bindings.insert(
                VniKey {
                    udp_port: 4789,
                    vni: vni(v),
                },
                bd,
            );
        }
        Corruption::Uplink(bd, port) => {
            if let Some(b) = t.bds.get_mut(bd % n_bds) {
                b.uplink = Some(slot(port % 256));
            }
        }
        Corruption::NextHopPort(vtep, port) => {
            if let Some(Vtep {
                next_hop: Some(nh), ..
            }) = t.vteps.get_mut(vtep)
            {
                nh.port = slot(port % 256);
            }
        }
        Corruption::NextHopFamily(vtep) => {
            if let Some(Vtep {
                next_hop: Some(nh), ..
            }) = t.vteps.get_mut(vtep)
            {
                nh.src_ip = if nh.src_ip.is_ipv4() {
                    ip(1, true)
                } else {
                    ip(1, false)
                };
            }
        }
        Corruption::RemoveVtep => {
            t.vteps.pop();
        }
        Corruption::CounterSlot(bd, slot) => {
            if let Some(b) = t.bds.get_mut(bd % n_bds) {
                b.counter_slot = slot;
            }
        }
    }
}

/// A frame recipe: source and destination (index into [`addr`]), tags
/// (802.1ad?, VID), payload kind, and optionally VXLAN around it (peer,
/// to us?, VNI, port 4789?, v6).
#[derive(Clone, Debug)]
struct FrameRecipe {
    src: u8,
    dst: u8,
    tags: Vec<(bool, u16)>,
    payload: u8,
    len: usize,
    vxlan: Option<(u8, bool, u32, bool, bool)>,
    mutations: Vec<(usize, u8)>,
    truncate: Option<usize>,
}

fn address_choice() -> impl Strategy<Value = u8> {
    prop_oneof![1 => Just(0u8), 1 => Just(7u8), 8 => 1u8..5]
}

fn frame_recipe() -> impl Strategy<Value = FrameRecipe> {
    let tags = prop_oneof![
        2 => Just(Vec::new()),
        1 => proptest::collection::vec((any::<bool>(), 1u16..5), 1..3),
    ];
    let mutations = prop_oneof![
        4 => Just(Vec::new()),
        1 => proptest::collection::vec((any::<usize>(), 1u8..=255), 1..3),
    ];
    (
        address_choice(),
        address_choice(),
        tags,
        0u8..5,
        0usize..120,
        proptest::option::weighted(
            0.25,
            (1u8..7, any::<bool>(), 1u32..6, any::<bool>(), any::<bool>()),
        ),
        mutations,
        proptest::option::weighted(0.1, any::<usize>()),
    )
        .prop_map(
            |(src, dst, tags, payload, len, vxlan, mutations, truncate)| FrameRecipe {
                src,
                dst,
                tags,
                payload,
                len,
                vxlan,
                mutations,
                truncate,
            },
        )
}

fn addr(n: u8) -> EthernetAddress {
    match n {
        0 => EthernetAddress::BROADCAST,
        7 => EthernetAddress([0x01, 0, 0x5e, 0, 0, 1]),
        n => mac(n),
    }
}

fn plain_frame(r: &FrameRecipe, tagged: bool) -> Vec<u8> {
    let mut b = FrameBuilder::new(addr(r.src), addr(r.dst));
    if tagged {
        for &(ad, vid) in &r.tags {
            b = b.tag(if ad {
                VlanTag::dot1ad(vid)
            } else {
                VlanTag::dot1q(vid)
            });
        }
    }
    let data = vec![0x33; r.len];
    let v4 = |b: FrameBuilder| b.ipv4([10, 9, 0, 1].into(), [10, 9, 0, 2].into());
    match r.payload {
        0 => v4(b).udp(1000, 2000, &data),
        1 => v4(b).partial_checksum().udp(1000, 2000, &data),
        2 => b
            .ipv6("fd09::1".parse().unwrap(), "fd09::2".parse().unwrap())
            .partial_checksum()
            .tcp(1, 2, crate::wire::tcp::TcpFlags::ACK, &data),
        3 => b.arp_request([10, 9, 0, 1].into(), [10, 9, 0, 2].into()),
        _ => b.ethernet_payload(crate::wire::EtherType::Unknown(0x88b5), &data),
    }
}

fn build_frame(r: &FrameRecipe) -> Vec<u8> {
    let mut frame = match r.vxlan {
        None => plain_frame(r, true),
        Some((peer, to_us, vni, std_port, v6)) => {
            let inner = plain_frame(r, r.len.is_multiple_of(2));
            let dst = if to_us { ip(1, v6) } else { ip(9, v6) };
            let outer = FrameBuilder::new(mac(0xfe), mac(0xe0));
            let outer = match (ip(peer, v6), dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => outer.ipv4(s, d),
                (IpAddr::V6(s), IpAddr::V6(d)) => outer.ipv6(s, d),
                _ => unreachable!(),
            };
            let mut frame = outer.vxlan(50000, vni, &inner);
            if !std_port {
                let l4 = usize::from(parse_frame(&frame).unwrap().l4_offset);
                frame[l4 + 2..l4 + 4].copy_from_slice(&8472u16.to_be_bytes());
            }
            frame
        }
    };
    for &(at, xor) in &r.mutations {
        let len = frame.len();
        frame[at % len] ^= xor;
    }
    if let Some(cut) = r.truncate {
        frame.truncate(cut % (frame.len() + 1));
    }
    frame
}

fn observer(tables: &Arc<ForwardingTables>) -> Pipeline {
    Pipeline::new(
        Arc::clone(tables),
        Fdb::with_seed(16, 300, 1),
        Arc::new(PipelineCounters::new(4)),
    )
}

/// Runs a frame through the walk; checks that the buffer's fate agrees
/// with the last output and, with `check`, that every output stays in the
/// frame's bridge domain.
fn exercise(
    p: &mut Pipeline,
    ingress: usize,
    frame: &[u8],
    now: u64,
    check: bool,
) -> Result<(), TestCaseError> {
    let ingress = slot(ingress);
    let mut chunk = chunk_with(frame);
    let mut walked = Walked::default();
    let rx = RxFrame {
        chunk: &mut chunk,
        start: HEADROOM,
        len: frame.len(),
    };
    let fate = p.process_observed(ingress, rx, now, &mut Buffers::default(), &mut walked);
    match fate {
        Fate::Send { port, start, len } => {
            let last = walked.outputs.last().cloned();
            prop_assert_eq!(last.as_ref().map(|(a, _)| a.port), Some(port));
            let sent = chunk.get(start..start + len).map(<[u8]>::to_vec);
            prop_assert_eq!(last.map(|(_, bytes)| bytes.ok()), Some(sent));
        }
        Fate::Drop(reason) => {
            let last_failed = walked.outputs.last().and_then(|(_, r)| r.clone().err());
            prop_assert!(walked.dropped == Some(reason) || last_failed == Some(reason));
        }
    }
    if let (true, Some(bd)) = (check, walked.bd) {
        check_outputs(p.tables(), bd, &walked.inner, &walked.outputs)?;
    }
    Ok(())
}

fn check_outputs(
    tables: &Arc<ForwardingTables>,
    bd: BdId,
    inner_bytes: &[u8],
    outputs: &[(Action, Result<Vec<u8>, DropReason>)],
) -> Result<(), TestCaseError> {
    let domain = &tables.bds[usize::from(bd)];
    for (action, out) in outputs {
        let Ok(out) = out else {
            continue;
        };
        match action.encap {
            Encap::Vxlan {
                vtep,
                vni,
                udp_port,
            } => {
                prop_assert!(domain.vteps.contains(&vtep));
                prop_assert_eq!(domain.encap, BdEncap::Vxlan { vni, udp_port });
                let meta = parse_frame(out).unwrap();
                let dst = match meta.l3 {
                    L3Meta::Ipv4 { dst, .. } => IpAddr::from(dst),
                    L3Meta::Ipv6 { dst, .. } => IpAddr::from(dst),
                    _ => panic!("not IP"),
                };
                prop_assert_eq!(dst, tables.vteps[usize::from(vtep)].ip);
                let vxlan = parse_vxlan(out, &meta).unwrap().unwrap();
                prop_assert_eq!(vxlan.vni, vni.get());
                prop_assert_eq!(&out[vxlan.inner_range()], inner_bytes);
            }
            Encap::Plain => {
                let role = tables.ports[action.port.index()].role;
                prop_assert_eq!(role, PortRole::Guest { bd });
                prop_assert_eq!(&out[..], inner_bytes);
            }
            Encap::Vlan { .. } | Encap::QinQ { .. } => {
                prop_assert_eq!(Some(action.port), domain.uplink);
                // What a peer with the same tables makes of it: this domain.
                let seen = walk(&mut observer(tables), action.port, out, 0);
                match seen.dropped {
                    None => prop_assert_eq!(seen.bd, Some(bd)),
                    Some(reason) => {
                        prop_assert_eq!(reason, DropReason::SamePort);
                        prop_assert_eq!(&out[..6], &out[6..12]);
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn prop_arbitrary_bytes_never_panic(
        recipe in tables_recipe(),
        frames in proptest::collection::vec((0usize..12, proptest::collection::vec(any::<u8>(), 0..160)), 1..16),
    ) {
        let mut p = pipeline_for(build(&recipe));
        for (now, (ingress, bytes)) in frames.iter().enumerate() {
            exercise(&mut p, *ingress, bytes, now as u64, false)?;
        }
    }

    #[test]
    fn prop_frames_stay_in_their_bridge_domain(
        recipe in tables_recipe(),
        frames in proptest::collection::vec((0usize..11, frame_recipe()), 1..32),
    ) {
        let mut p = pipeline_for(build(&recipe));
        for (now, (ingress, frame)) in frames.iter().enumerate() {
            exercise(&mut p, *ingress, &build_frame(frame), now as u64, true)?;
            p.tick(now as u64);
        }
    }

    #[test]
    fn prop_corrupted_tables_never_panic(
        recipe in tables_recipe(),
        corruptions in proptest::collection::vec(corruption(), 1..6),
        frames in proptest::collection::vec((0usize..12, frame_recipe()), 1..16),
        reload in any::<bool>(),
    ) {
        let mut tables = build(&recipe);
        for c in &corruptions {
            corrupt(&mut tables, c);
        }
        let mut p = pipeline_for(build(&recipe));
        if !reload {
            p = pipeline_for(tables.clone());
        }
        for (now, (ingress, frame)) in frames.iter().enumerate() {
            exercise(&mut p, *ingress, &build_frame(frame), now as u64, false)?;
            if reload && now == 0 {
                p.set_tables(Arc::new(tables.clone()));
            }
        }
    }
}

fn pipeline_for(tables: ForwardingTables) -> Pipeline {
    Pipeline::new(
        Arc::new(tables),
        Fdb::with_seed(64, 16, 3),
        Arc::new(PipelineCounters::new(8)),
    )
}

#[test]
fn broadcast_with_learning_off_reaches_every_other_guest() {
    let recipe = TablesRecipe {
        v6: false,
        bds: vec![(0, 1, None, false, false, false, false, vec![])],
        guests: vec![(0, 0); 8],
        next_hops: vec![None; 6],
    };
    let frame = FrameRecipe {
        src: 1,
        dst: 0,
        tags: vec![],
        payload: 0,
        len: 0,
        vxlan: None,
        mutations: vec![],
        truncate: None,
    };
    let frame = build_frame(&frame);
    let mut p = pipeline_for(build(&recipe));
    let walked = walk(&mut p, slot(1), &frame, 0);
    assert_eq!(walked.dropped, None, "{walked:?}");
    assert!(walked.flooded);
    let mut receivers: Vec<usize> = walked.outputs.iter().map(|(a, _)| a.port.index()).collect();
    receivers.sort_unstable();
    // Every guest of the VNet but the sender, and nothing else.
    assert_eq!(receivers, [2, 3, 4, 6, 7, 8, 9]);
    for (action, bytes) in &walked.outputs {
        assert_eq!(action.encap, Encap::Plain);
        assert_eq!(
            bytes.as_deref(),
            Ok(&frame[..]),
            "unchanged to {:?}",
            action.port
        );
    }
    // Learning is off: the sender was not learnt.
    assert!(p.fdb().is_empty());
}
