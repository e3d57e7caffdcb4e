//! `Pipeline::explain`: what the pipeline would do with a frame, stage by
//! stage, without doing it.
//!
//! Runs the same classification, lookup, flood expansion and rewrite as
//! [`Pipeline::decide`] and the worker, but learns nothing, counts nothing
//! and sends nothing: outputs are built in scratch buffers so the trace can
//! show the exact frames that would leave. For operators (`xsdn trace`),
//! never on the forwarding path (it allocates).

use crate::counters::DropReason;
use crate::fdb::Location;
use crate::tables::{BdEncap, PortIdx};
use crate::wire::{L3Meta, L4Meta, parse_frame};

use super::{Egress, FloodList, InnerFrame, Pipeline, Source, Strip, classify, forward};

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
    pub port: PortIdx,
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
}

impl Explanation {
    fn stage(&mut self, stage: &'static str, result: impl Into<String>) {
        self.stages.push(TraceStage {
            stage,
            result: result.into(),
        });
    }

    fn dropped(mut self, stage: &'static str, reason: DropReason, why: &str) -> Explanation {
        self.stage(stage, format!("drop ({}): {why}", reason.as_str()));
        self.verdict = "drop";
        self.drop = Some(reason);
        self
    }
}

fn describe_l3(meta: &crate::wire::FrameMeta) -> String {
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

fn describe_tags(meta: &crate::wire::FrameMeta) -> String {
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

impl Pipeline {
    /// Explains what [`Pipeline::decide`] and the worker would do with
    /// `frame` received on `ingress`, changing nothing.
    pub fn explain(&self, ingress: PortIdx, frame: &[u8]) -> Explanation {
        let mut e = Explanation {
            stages: Vec::new(),
            verdict: "drop",
            drop: None,
            outputs: Vec::new(),
        };
        let tables = &*self.tables;
        let meta = match parse_frame(frame) {
            Ok(meta) => meta,
            Err(why) => {
                return e.dropped("parse", DropReason::Malformed, why.as_str());
            }
        };
        e.stage(
            "parse",
            format!(
                "{} bytes, {} -> {}, {}, {}",
                frame.len(),
                meta.src,
                meta.dst,
                describe_tags(&meta),
                describe_l3(&meta)
            ),
        );
        let port_name = |p: PortIdx| tables.ports.get(p).map_or("?", |e| e.name.as_str());
        let classified = match classify::classify(tables, &self.vxlan_ports, ingress, frame, &meta)
        {
            Ok(c) => c,
            Err(rejected) => {
                let why = match rejected.reason {
                    DropReason::UnknownPort => "the port is not a dataplane port",
                    DropReason::NoBridgeDomain => "no VNet has this tag/VNI on this port",
                    DropReason::VxlanUnknownPeer => {
                        "the VXLAN source is not a peer of this VNet's zone"
                    }
                    DropReason::VxlanNotLocal => {
                        "the VXLAN destination is not this node's VTEP address"
                    }
                    DropReason::TaggedFromGuest => {
                        "guests may not send (this many) VLAN tags in this zone"
                    }
                    _ => "rejected while classifying",
                };
                return e.dropped("classify", rejected.reason, why);
            }
        };
        let Some(domain) = tables.bds.get(usize::from(classified.bd)) else {
            return e.dropped(
                "classify",
                DropReason::NoBridgeDomain,
                "no such bridge domain",
            );
        };
        let source = match classified.source {
            Source::Guest(p) => format!("guest port {}", port_name(p)),
            Source::Uplink(p) => format!("uplink {}", port_name(p)),
            Source::Vtep(v) => format!(
                "VXLAN peer {}",
                tables
                    .vteps
                    .get(usize::from(v))
                    .map_or_else(|| "?".into(), |t| t.ip.to_string())
            ),
        };
        let stripped = match classified.inner.strip {
            Strip::Nothing => "nothing stripped".to_owned(),
            Strip::Tags(n) => format!("{n} tag(s) stripped"),
            Strip::Vxlan => format!(
                "VXLAN decapsulated, inner {} -> {}, {}",
                classified.inner_meta.src,
                classified.inner_meta.dst,
                describe_l3(&classified.inner_meta)
            ),
        };
        e.stage(
            "classify",
            format!(
                "VNet {} (zone {}), from {source}, {stripped}",
                domain.vnet, domain.zone
            ),
        );
        let learn = if !domain.learning {
            "learning is off in this VNet".to_owned()
        } else if !classified.inner_meta.src.is_unicast() || classified.inner_meta.src.is_zero() {
            format!(
                "{} is not learnt (group or zero address)",
                classified.inner_meta.src
            )
        } else {
            format!("{} would be learnt on {source}", classified.inner_meta.src)
        };
        e.stage("learn", learn);
        let dst = classified.inner_meta.dst;
        let mut inner = classified.inner;
        if matches!(domain.encap, BdEncap::Vxlan { .. }) {
            inner.flow_hash = super::encap::flow_hash(&classified.inner_meta);
        }
        let egresses: Vec<Egress> = match forward::lookup(
            tables,
            &self.fdb,
            classified.bd,
            domain,
            classified.source,
            &dst,
        ) {
            Ok(Some(egress)) => {
                let known = match self.fdb.lookup(classified.bd, &dst) {
                    Some(Location::Port(p)) => format!("behind {}", port_name(p)),
                    Some(Location::Vtep(v)) => format!(
                        "behind VXLAN peer {}",
                        tables
                            .vteps
                            .get(usize::from(v))
                            .map_or_else(|| "?".into(), |t| t.ip.to_string())
                    ),
                    None => "known".into(),
                };
                e.stage("lookup", format!("{dst} is {known}: unicast"));
                e.verdict = "unicast";
                vec![egress]
            }
            Ok(None) => {
                let why = if dst.is_multicast() {
                    "broadcast/multicast"
                } else {
                    "unknown unicast"
                };
                let mut list = FloodList::new();
                forward::flood(tables, None, classified.bd, classified.source, &mut list);
                e.stage(
                    "lookup",
                    format!("{dst} is {why}: flood to {} output(s)", list.len()),
                );
                if list.is_empty() {
                    return e.dropped("egress", DropReason::NoDestination, "nowhere to flood to");
                }
                e.verdict = "flood";
                list.iter().copied().collect()
            }
            Err(reason) => {
                return e.dropped(
                    "lookup",
                    reason,
                    "the destination is not reachable from here",
                );
            }
        };
        for egress in egresses {
            let output = self.trace_output(&egress, &inner, frame);
            let what = match &output {
                Ok(bytes) => match parse_frame(bytes) {
                    Ok(out) => format!(
                        "{}: {} bytes, {}, {}",
                        port_name(egress.port),
                        bytes.len(),
                        describe_tags(&out),
                        describe_l3(&out)
                    ),
                    Err(_) => format!("{}: {} bytes", port_name(egress.port), bytes.len()),
                },
                Err(reason) => format!("{}: drop ({})", port_name(egress.port), reason.as_str()),
            };
            e.stage("egress", what);
            e.outputs.push(TraceOutput {
                port: egress.port,
                frame: output,
            });
        }
        e
    }

    /// The frame `egress` would carry, built in a scratch chunk.
    fn trace_output(
        &self,
        egress: &Egress,
        inner: &InnerFrame,
        frame: &[u8],
    ) -> Result<Vec<u8>, DropReason> {
        const HEADROOM: usize = 256;
        let mut chunk = vec![0u8; 4096];
        let (start, len) = super::rewrite::copy(self, egress, inner, frame, &mut chunk, HEADROOM)?;
        Ok(chunk[start..start + len].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::wire::EthernetAddress;
    use crate::wire::testing::{FrameBuilder, mac};
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
        let e = p.explain(1, &frame);
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
        let delivered = deliver(&mut p, 1, &frame, 0).expect("delivered");
        let mut predicted: Vec<(usize, Vec<u8>)> = e
            .outputs
            .iter()
            .map(|o| (o.port, o.frame.clone().expect("sent")))
            .collect();
        let mut actual = delivered;
        predicted.sort();
        actual.sort();
        assert_eq!(predicted, actual);
        // Now guest 2 is known (learnt by the delivery of its reply).
        deliver(&mut p, 2, &udp(2, mac(1)), 1).expect("reply");
        let e = p.explain(1, &frame);
        assert_eq!(e.verdict, "unicast");
        assert!(e.stages[3].result.contains("behind tap2"), "{e:?}");
        assert_eq!(e.outputs.len(), 1);
    }

    #[test]
    fn explains_drops_with_their_reason() {
        let p = pipeline(vlan_zone());
        let e = p.explain(1, &[0u8; 10]);
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
