//! `Pipeline::explain`: what the pipeline would do with a frame, stage by
//! stage, without doing it.
//!
//! It is not a second implementation: [`Pipeline::explain`] runs the very
//! walk forwarding runs, on a scratch copy of the frame, with [`Explain`]
//! as the observer. That observer is not live ([`Observer::LIVE`] is
//! false), so nothing is learnt or counted, and outputs are built in
//! scratch buffers so the trace shows the exact frames that would leave.
//! For operators (`xsdn trace`), never on the forwarding path (it
//! allocates).

use crate::counters::DropReason;
use crate::tables::{BdId, ForwardingTables, PortSlot};
use crate::wire::{EthernetAddress, FrameMeta, L3Meta, L4Meta, Malformed, parse_frame};

use super::fdb::{Fdb, Location};
use super::observe::{Observer, Stage};
use super::{Action, Egress, InnerFrame, Pipeline, RxFrame, Source, Strip};

/// Headroom of the scratch buffers (as the kernel gives received frames).
const SCRATCH_HEADROOM: usize = 256;
/// Room after a frame in a scratch buffer: the largest growth of an output
/// (VXLAN over IPv6 plus two tags).
const SCRATCH_TAILROOM: usize = 128;

/// One stage of an explanation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceStage {
    /// Stage name (`parse`, `classify`, `learn`, `lookup`, `egress`).
    pub stage: &'static str,
    /// What happened, for people.
    pub result: String,
}

/// One output the frame would produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceOutput {
    /// Port it would leave on.
    pub port: PortSlot,
    /// The frame that would be sent, or why it would be dropped.
    pub frame: Result<Vec<u8>, DropReason>,
}

/// What the pipeline would do with one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The stages, in order.
    pub stages: Vec<TraceStage>,
    /// The verdict: `drop`, `unicast` or `flood`.
    pub verdict: &'static str,
    /// The drop reason when the verdict is `drop`.
    pub drop: Option<DropReason>,
    /// Outputs (unicast: one; flood: one per destination).
    pub outputs: Vec<TraceOutput>,
    /// What classification found, when the frame got that far (for
    /// telling which tier would handle it).
    pub classified: Option<TraceClassified>,
}

/// The frame as classified: its bridge domain, where it came from and its
/// (inner) MAC addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceClassified {
    /// Bridge domain.
    pub bd: BdId,
    /// Where the frame came from.
    pub source: Source,
    /// Source MAC (of the inner frame for VXLAN).
    pub src: EthernetAddress,
    /// Destination MAC (of the inner frame for VXLAN).
    pub dst: EthernetAddress,
    /// A guest's frame carried VLAN tags of its own (stripped or kept).
    pub guest_tagged: bool,
}

impl Explanation {
    fn stage(&mut self, stage: &'static str, result: impl Into<String>) {
        self.stages.push(TraceStage {
            stage,
            result: result.into(),
        });
    }
}

fn describe_l3(meta: &FrameMeta) -> String {
    let l4 = match meta.l4 {
        L4Meta::Udp {
            src_port, dst_port, ..
        } => format!(" udp {src_port} -> {dst_port}"),
        L4Meta::Tcp {
            src_port, dst_port, ..
        } => format!(" tcp {src_port} -> {dst_port}"),
        L4Meta::Icmpv4 { .. } => " icmp".into(),
        L4Meta::Icmpv6 { .. } => " icmpv6".into(),
        _ => String::new(),
    };
    match meta.l3 {
        L3Meta::Ipv4 { src, dst, .. } => format!("ipv4 {src} -> {dst}{l4}"),
        L3Meta::Ipv6 { src, dst, .. } => format!("ipv6 {src} -> {dst}{l4}"),
        L3Meta::Arp { .. } => "arp".into(),
        _ => format!("ethertype {:?}", meta.ethertype),
    }
}

fn describe_tags(meta: &FrameMeta) -> String {
    let tags: Vec<String> = meta
        .tags
        .as_slice()
        .iter()
        .map(|t| format!("{:#06x}/{}", t.tpid.raw(), t.vid))
        .collect();
    if tags.is_empty() {
        "untagged".into()
    } else {
        format!("tags {}", tags.join(" "))
    }
}

fn port_name(tables: &ForwardingTables, port: PortSlot) -> &str {
    tables.port(port).map_or("?", |e| e.name.as_str())
}

fn peer_name(tables: &ForwardingTables, vtep: u16) -> String {
    tables
        .vtep(vtep)
        .map_or_else(|| "?".into(), |t| t.ip.to_string())
}

fn why_rejected(reason: DropReason) -> &'static str {
    match reason {
        DropReason::UnknownPort => "the port is not a dataplane port",
        DropReason::NoBridgeDomain => "no VNet has this tag/VNI on this port",
        DropReason::VxlanUnknownPeer => "the VXLAN source is not a peer of this VNet's zone",
        DropReason::VxlanNotLocal => "the VXLAN destination is not this node's VTEP address",
        DropReason::TaggedFromGuest => "guests may not send (this many) VLAN tags in this zone",
        _ => "rejected while classifying",
    }
}

/// The observer behind [`Pipeline::explain`]: turns each hook into a
/// stage line.
struct Explain {
    e: Explanation,
    /// Index of the `lookup` stage of a flood, completed with the number
    /// of outputs at the end.
    flood_stage: Option<(usize, String)>,
    /// Which header was malformed, for the drop line.
    malformed: Option<Malformed>,
}

impl Observer for Explain {
    const LIVE: bool = false;

    fn parsed(&mut self, frame: &[u8], meta: &FrameMeta) {
        let line = format!(
            "{} bytes, {} -> {}, {}, {}",
            frame.len(),
            meta.src,
            meta.dst,
            describe_tags(meta),
            describe_l3(meta)
        );
        self.e.stage("parse", line);
    }

    fn malformed(&mut self, why: Malformed) {
        self.malformed = Some(why);
    }

    fn dropped(&mut self, stage: Stage, reason: DropReason) {
        let why = match (stage, self.malformed) {
            (_, Some(malformed)) => malformed.as_str(),
            (Stage::Parse, None) => "the frame's headers are not valid",
            (Stage::Classify, None) => why_rejected(reason),
            (Stage::Lookup, None) => "the destination is not reachable from here",
            (Stage::Egress, None) => "nowhere to flood to",
        };
        if let (Stage::Egress, Some((at, line))) = (stage, self.flood_stage.take()) {
            self.e.stages[at].result = format!("{line}: flood to 0 output(s)");
        }
        self.e
            .stage(stage.as_str(), format!("drop ({}): {why}", reason.as_str()));
        self.e.verdict = "drop";
        self.e.drop = Some(reason);
    }

    fn classified(
        &mut self,
        tables: &ForwardingTables,
        bd: BdId,
        source: Source,
        _frame: &[u8],
        inner_frame: &InnerFrame,
        inner: &FrameMeta,
    ) {
        let Some(domain) = tables.bd(bd) else {
            return;
        };
        self.e.classified = Some(TraceClassified {
            bd,
            source,
            src: inner.src,
            dst: inner.dst,
            guest_tagged: matches!(source, Source::Guest(_))
                && (inner.tags.iter().next().is_some()
                    || matches!(inner_frame.strip, Strip::Tags(n) if n > 0)),
        });
        let from = match source {
            Source::Guest(p) => format!("guest port {}", port_name(tables, p)),
            Source::Uplink(p) => format!("uplink {}", port_name(tables, p)),
            Source::Vtep(v) => format!("VXLAN peer {}", peer_name(tables, v)),
        };
        let stripped = match inner_frame.strip {
            Strip::Nothing => "nothing stripped".to_owned(),
            Strip::Tags(n) => format!("{n} tag(s) stripped"),
            Strip::Vxlan => format!(
                "VXLAN decapsulated, inner {} -> {}, {}",
                inner.src,
                inner.dst,
                describe_l3(inner)
            ),
        };
        self.e.stage(
            "classify",
            format!(
                "VNet {} (zone {}), from {from}, {stripped}",
                domain.vnet, domain.zone
            ),
        );
        let learn = if !domain.learning {
            "learning is off in this VNet".to_owned()
        } else if !inner.src.is_unicast() || inner.src.is_zero() {
            format!("{} is not learnt (group or zero address)", inner.src)
        } else {
            format!("{} would be learnt on {from}", inner.src)
        };
        self.e.stage("learn", learn);
    }

    fn unicast(
        &mut self,
        tables: &ForwardingTables,
        fdb: &Fdb,
        bd: BdId,
        dst: &EthernetAddress,
        _action: &Action,
    ) {
        let known = match fdb.lookup(bd, dst) {
            Some(Location::Port(p)) => format!("behind {}", port_name(tables, p)),
            Some(Location::Vtep(v)) => format!("behind VXLAN peer {}", peer_name(tables, v)),
            None => "known".into(),
        };
        self.e.stage("lookup", format!("{dst} is {known}: unicast"));
        self.e.verdict = "unicast";
    }

    fn flooded(&mut self, _bd: BdId, dst: &EthernetAddress) {
        let why = if dst.is_multicast() {
            "broadcast/multicast"
        } else {
            "unknown unicast"
        };
        let line = format!("{dst} is {why}");
        self.flood_stage = Some((self.e.stages.len(), line.clone()));
        self.e.stage("lookup", line);
        self.e.verdict = "flood";
    }

    fn output(
        &mut self,
        tables: &ForwardingTables,
        action: &Action,
        result: Result<&[u8], DropReason>,
    ) {
        let name = port_name(tables, action.port);
        let what = match result {
            Ok(bytes) => match parse_frame(bytes) {
                Ok(out) => format!(
                    "{name}: {} bytes, {}, {}",
                    bytes.len(),
                    describe_tags(&out),
                    describe_l3(&out)
                ),
                Err(_) => format!("{name}: {} bytes", bytes.len()),
            },
            Err(reason) => format!("{name}: drop ({})", reason.as_str()),
        };
        self.e.stage("egress", what);
        self.e.outputs.push(TraceOutput {
            port: action.port,
            frame: result.map(<[u8]>::to_vec),
        });
    }
}

/// Scratch buffers for the outputs a trace builds (the observer keeps
/// their bytes).
struct Scratch {
    size: usize,
}

impl Egress for Scratch {
    fn send_copy<F>(&mut self, _port: PortSlot, build: F) -> Result<usize, DropReason>
    where
        F: FnOnce(&mut [u8], usize) -> Result<(usize, usize), DropReason>,
    {
        let mut buffer = vec![0u8; self.size];
        build(&mut buffer, SCRATCH_HEADROOM).map(|(_, len)| len)
    }
}

impl Pipeline {
    /// Explains what [`Pipeline::process`] would do with `frame` received
    /// on `ingress`, changing nothing (no learning, no counting).
    pub fn explain(&self, ingress: PortSlot, frame: &[u8]) -> Explanation {
        let size = SCRATCH_HEADROOM + frame.len() + SCRATCH_TAILROOM;
        let mut chunk = vec![0u8; size];
        chunk[SCRATCH_HEADROOM..SCRATCH_HEADROOM + frame.len()].copy_from_slice(frame);
        let mut explain = Explain {
            e: Explanation {
                stages: Vec::new(),
                verdict: "drop",
                drop: None,
                outputs: Vec::new(),
                classified: None,
            },
            flood_stage: None,
            malformed: None,
        };
        let rx = RxFrame {
            chunk: &mut chunk,
            start: SCRATCH_HEADROOM,
            len: frame.len(),
        };
        self.walk_unchanged(ingress, rx, &mut Scratch { size }, &mut explain);
        if let Some((at, line)) = explain.flood_stage {
            let outputs = explain.e.outputs.len();
            explain.e.stages[at].result = format!("{line}: flood to {outputs} output(s)");
        }
        explain.e
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::tables::PortSlot;
    use crate::wire::EthernetAddress;
    use crate::wire::build::{FrameBuilder, mac};
    use std::net::Ipv4Addr;

    fn udp(src: u8, dst: EthernetAddress) -> Vec<u8> {
        FrameBuilder::new(mac(src), dst)
            .ipv4(Ipv4Addr::new(10, 0, 3, 1), Ipv4Addr::new(10, 0, 3, 2))
            .udp(1000, 2000, b"trace me")
    }

    #[test]
    fn explains_a_flood_then_a_unicast_exactly_as_delivered() {
        let mut p = pipeline(vlan_zone());
        // Unknown destination: a flood to guest 2 and the uplink (VID 10).
        let frame = udp(1, mac(2));
        let e = p.explain(slot(1), &frame);
        assert_eq!(e.verdict, "flood", "{e:?}");
        let stages: Vec<&str> = e.stages.iter().map(|s| s.stage).collect();
        assert_eq!(
            stages,
            ["parse", "classify", "learn", "lookup", "egress", "egress"]
        );
        assert!(e.stages[1].result.contains("VNet myvnet1"), "{e:?}");
        // Explaining changed nothing: no MAC learnt, no counter moved.
        assert!(p.fdb().is_empty(), "explain must not learn");
        assert_eq!(
            p.counters().vnet(0).map(|c| c.snapshot().rx_packets),
            Some(0)
        );
        // What it predicts is what delivery produces.
        let delivered = deliver(&mut p, slot(1), &frame, 0).expect("delivered");
        let mut predicted: Vec<(PortSlot, Vec<u8>)> = e
            .outputs
            .iter()
            .map(|o| (o.port, o.frame.clone().expect("sent")))
            .collect();
        let mut actual = delivered;
        predicted.sort();
        actual.sort();
        assert_eq!(predicted, actual);
        // Now guest 2 is known (learnt by the delivery of its reply).
        deliver(&mut p, slot(2), &udp(2, mac(1)), 1).expect("reply");
        let e = p.explain(slot(1), &frame);
        assert_eq!(e.verdict, "unicast");
        assert!(e.stages[3].result.contains("behind tap2"), "{e:?}");
        assert_eq!(e.outputs.len(), 1);
    }

    #[test]
    fn explains_drops_with_their_reason() {
        let p = pipeline(vlan_zone());
        let e = p.explain(slot(1), &[0u8; 10]);
        assert_eq!((e.verdict, e.stages[0].stage), ("drop", "parse"));
        // A tag no VNet uses, arriving on the uplink.
        let frame = FrameBuilder::new(mac(9), mac(1))
            .vlan(99)
            .ipv4(Ipv4Addr::new(10, 0, 3, 9), Ipv4Addr::new(10, 0, 3, 1))
            .udp(1, 2, b"x");
        let e = p.explain(UPLINK, &frame);
        assert_eq!(e.drop, Some(crate::counters::DropReason::NoBridgeDomain));
        assert!(
            e.stages
                .last()
                .expect("stage")
                .result
                .contains("no_bridge_domain")
        );
    }
}
