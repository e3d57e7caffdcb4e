//! Microbenchmarks of the forwarding pipeline per zone type: its walk
//! (`Pipeline::process`) over a batch of 64 prebuilt frames, no I/O.
//!
//! Each case is known unicast (the MAC tables are warmed up first), so the
//! numbers are the steady-state cost of one frame: parse, classify, learn
//! (refresh), look up, complete/verify a guest's UDP checksum, and rewrite.
//! Per frame the loop also restores the first 128 bytes of the frame in its
//! chunk (the rewrite changes them), a few ns.
//!
//! Sizes are the guest-side frame (Ethernet header included, no FCS): for
//! VXLAN decapsulation the received frame is 50 bytes longer.
//!
//! Run: `cargo bench -p xsdn-bench --bench pipeline`; ns/frame = the
//! reported time / 64 (or 1e9 / the reported elements per second).

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use xsdn_dataplane::pipeline::testing::{
    Buffers, GATEWAY_MAC, HEADROOM, UPLINK, UPLINK_MAC, VNI, chunk_with, deliver, pipeline,
    qinq_zones, simple_zone, slot, vlan_zone, vxlan_zone, walk,
};
use xsdn_dataplane::pipeline::{Fate, Pipeline, RxFrame};
use xsdn_dataplane::tables::{PortSlot, Tpid};
use xsdn_dataplane::wire::EthernetAddress;
use xsdn_dataplane::wire::build::{FrameBuilder, mac};

/// Frames per batch.
const BATCH: usize = 64;
/// Guest-side frame sizes.
const SIZES: [usize; 2] = [64, 1500];
/// Bytes of the frame restored before each decision.
const RESTORED: usize = 128;
/// The tick all decisions happen at.
const NOW: u64 = 1;

const BCAST: EthernetAddress = EthernetAddress::BROADCAST;
/// The largest guest frame of the VXLAN example (MTU 1450 + 14).
const VXLAN_LARGEST: usize = 1464;

/// An untagged IPv4/UDP frame of exactly `size` bytes from vm`src` to
/// `dst`.
fn udp_frame(src: u8, dst: EthernetAddress, size: usize) -> Vec<u8> {
    FrameBuilder::new(mac(src), dst)
        .ipv4(Ipv4Addr::new(10, 0, 3, src), Ipv4Addr::new(10, 0, 3, 200))
        .udp(40000, 5201, &vec![0x5a; size - 14 - 20 - 8])
}

/// One benchmark subject: a warmed-up pipeline and the frame it forwards.
struct Case {
    name: &'static str,
    pipeline: Pipeline,
    ingress: PortSlot,
    frame: Vec<u8>,
}

fn warm(pipeline: &mut Pipeline, ingress: PortSlot, frame: &[u8]) {
    deliver(pipeline, ingress, frame, 0).expect("warm-up frame is forwarded");
}

fn vxlan_from_peer2(inner: &[u8]) -> Vec<u8> {
    FrameBuilder::new(GATEWAY_MAC, UPLINK_MAC)
        .ipv4(Ipv4Addr::new(192, 168, 0, 2), Ipv4Addr::new(192, 168, 0, 1))
        .vxlan(50000, VNI.get(), inner)
}

fn cases(size: usize) -> Vec<Case> {
    let remote = mac(9);
    let mut simple = pipeline(simple_zone());
    warm(&mut simple, slot(2), &udp_frame(2, BCAST, 64));
    let mut vlan = pipeline(vlan_zone());
    let hello = FrameBuilder::new(remote, BCAST)
        .vlan(10)
        .arp_request(Ipv4Addr::new(10, 0, 3, 9), Ipv4Addr::new(10, 0, 3, 1));
    warm(&mut vlan, UPLINK, &hello);
    let mut qinq = pipeline(qinq_zones(Tpid::Dot1ad));
    let hello = FrameBuilder::new(remote, BCAST)
        .qinq(20, 100)
        .arp_request(Ipv4Addr::new(10, 0, 3, 9), Ipv4Addr::new(10, 0, 3, 1));
    warm(&mut qinq, UPLINK, &hello);
    let mut encap = pipeline(vxlan_zone(false));
    warm(
        &mut encap,
        UPLINK,
        &vxlan_from_peer2(&udp_frame(9, BCAST, 64)),
    );
    let mut decap = pipeline(vxlan_zone(false));
    warm(&mut decap, slot(1), &udp_frame(1, BCAST, 64));
    vec![
        Case {
            name: "simple",
            pipeline: simple,
            ingress: slot(1),
            frame: udp_frame(1, mac(2), size),
        },
        Case {
            name: "vlan_push",
            pipeline: vlan,
            ingress: slot(1),
            frame: udp_frame(1, remote, size),
        },
        Case {
            name: "qinq_push",
            pipeline: qinq,
            ingress: slot(1),
            frame: udp_frame(1, remote, size),
        },
        Case {
            name: "vxlan_encap",
            pipeline: encap,
            ingress: slot(1),
            // The largest guest frame a 1500-byte underlay carries after
            // 50 bytes of outer headers (the zone's MTU 1450, plus 14).
            frame: udp_frame(1, remote, size.min(VXLAN_LARGEST)),
        },
        Case {
            name: "vxlan_decap",
            pipeline: decap,
            ingress: UPLINK,
            // Guests of the VXLAN example have MTU 1450: the largest inner
            // frame they take.
            frame: vxlan_from_peer2(&udp_frame(9, mac(1), size.min(VXLAN_LARGEST))),
        },
    ]
}

/// Walks every frame of the batch once.
fn run_batch(case: &mut Case, chunks: &mut [Vec<u8>], egress: &mut Buffers) {
    let len = case.frame.len();
    let restored = len.min(RESTORED);
    let ingress = black_box(case.ingress);
    for chunk in chunks.iter_mut() {
        chunk[HEADROOM..HEADROOM + restored].copy_from_slice(&case.frame[..restored]);
        let rx = RxFrame {
            chunk,
            start: HEADROOM,
            len,
        };
        black_box(case.pipeline.process(ingress, rx, NOW, egress));
    }
}

fn pipeline_per_zone(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(BATCH as u64));
    for size in SIZES {
        for mut case in cases(size) {
            let mut chunks: Vec<Vec<u8>> = (0..BATCH).map(|_| chunk_with(&case.frame)).collect();
            // Every case must be the unicast path it claims to measure.
            let probe = walk(&mut case.pipeline, case.ingress, &case.frame, NOW);
            assert!(
                probe.unicast.is_some() && probe.outputs.len() == 1,
                "{}: {probe:?}",
                case.name
            );
            // Unicast never asks for a buffer: an exhausted egress proves it.
            let mut egress = Buffers { exhausted: true };
            let mut check = chunk_with(&case.frame);
            let rx = RxFrame {
                chunk: &mut check,
                start: HEADROOM,
                len: case.frame.len(),
            };
            let fate = case.pipeline.process(case.ingress, rx, NOW, &mut egress);
            assert!(matches!(fate, Fate::Send { .. }), "{}: {fate:?}", case.name);
            group.bench_function(BenchmarkId::new(case.name, size), |b| {
                b.iter(|| run_batch(&mut case, black_box(&mut chunks), &mut egress));
            });
        }
    }
    group.finish();
}

/// The criterion group (a private module keeps its generated function out
/// of the crate's public items).
mod group {
    criterion::criterion_group!(benches, super::pipeline_per_zone);
}

criterion_main!(group::benches);
