//! Building an output frame from a received one.
//!
//! Layout of every output:
//! `outer prefix (VXLAN only) ++ inner dst+src MAC (12) ++ pushed tags
//! (0/4/8) ++ inner body` where the body starts at the inner EtherType
//! after the stripped tags (or at a tag the frame keeps).
//!
//! In place, the body does not move: the MACs are copied to just before
//! the pushed tags and the prefix is written in front of them, in the
//! chunk's headroom (a pop frees bytes, a push or an encapsulation takes
//! some). Only the 12 MAC bytes move for a tag push or pop.
//!
//! # MTU rule
//! The emitted frame's L3 length is its length minus the 14-byte Ethernet
//! header, minus 4 more if the emitted frame carries at least one VLAN tag:
//! as Linux counts it (`is_skb_forwardable`: `mtu + ETH_HLEN + VLAN_HLEN`),
//! the first tag is free and a second one counts against the MTU, which is
//! why Proxmox asks for MTU 1496 in QinQ zones. An output whose L3 length
//! exceeds the egress port's MTU is dropped (`mtu_exceeded`), never
//! truncated. A VXLAN output is untagged: its L3 length is the outer IP
//! datagram (inner frame + 50 bytes over IPv4, + 70 over IPv6).

use crate::counters::DropReason;
use crate::tables::{Encap, Tpid};

use super::classify::{MACS_LEN, starts_with_tag};
use super::encap::{self, Tunnel};
use super::{Action, InnerFrame, Pipeline};

/// Ethernet header without tags.
const ETH_LEN: usize = 14;
/// One VLAN tag.
const TAG_LEN: usize = 4;
/// Largest frame the pipeline emits (IP lengths are 16 bits).
const MAX_OUT_LEN: usize = u16::MAX as usize;

/// The shape of one output.
#[derive(Debug)]
struct Plan {
    /// Bytes before the inner MACs (the VXLAN outer headers).
    prefix_len: usize,
    encap: Encap,
    out_len: usize,
    tunnel: Option<Tunnel>,
}

impl Plan {
    /// Bytes before the body.
    #[inline]
    fn head_len(&self) -> usize {
        self.prefix_len + MACS_LEN + self.encap.tags_len()
    }
}

/// Checks that `inner` describes a frame of `len` bytes.
#[inline]
fn check_inner(inner: &InnerFrame, len: usize) -> Result<(), DropReason> {
    let macs_end = inner.mac_offset.checked_add(MACS_LEN);
    let ok = macs_end.is_some_and(|m| m <= inner.body_offset)
        && inner.body_offset.saturating_add(2) <= inner.end
        && inner.end <= len;
    if ok {
        Ok(())
    } else {
        Err(DropReason::Malformed)
    }
}

fn plan_output(
    pipeline: &Pipeline,
    action: &Action,
    inner: &InnerFrame,
    body_tagged: bool,
) -> Result<Plan, DropReason> {
    let tables = &*pipeline.tables;
    let port = tables.port(action.port).ok_or(DropReason::UnknownPort)?;
    let tunnel = match action.encap {
        Encap::Vxlan {
            vtep,
            vni,
            udp_port,
        } => {
            let vtep = tables.vtep(vtep).ok_or(DropReason::NextHopUnresolved)?;
            let next_hop = vtep.next_hop.ok_or(DropReason::NextHopUnresolved)?;
            if next_hop.src_ip.is_ipv4() != vtep.ip.is_ipv4() {
                return Err(DropReason::NextHopUnresolved);
            }
            Some(Tunnel {
                next_hop,
                peer: vtep.ip,
                vni: vni.get(),
                udp_port,
                src_port: encap::source_port(inner.flow_hash),
            })
        }
        Encap::Plain | Encap::Vlan { .. } | Encap::QinQ { .. } => None,
    };
    let prefix_len = tunnel.as_ref().map_or(0, Tunnel::header_len);
    let body_len = inner.end - inner.body_offset;
    let out_len = prefix_len + MACS_LEN + action.encap.tags_len() + body_len;
    let tagged = tunnel.is_none() && (action.encap.tags_len() > 0 || body_tagged);
    let l3_len = out_len - ETH_LEN - if tagged { TAG_LEN } else { 0 };
    if l3_len > port.mtu as usize || out_len > MAX_OUT_LEN {
        return Err(DropReason::MtuExceeded);
    }
    Ok(Plan {
        prefix_len,
        encap: action.encap,
        out_len,
        tunnel,
    })
}

/// Writes one tag (TPID, then TCI with priority 0) at `at`.
#[inline]
fn write_tag(out: &mut [u8], at: usize, tpid: Tpid, vid: crate::tables::Vid) {
    out[at..at + 2].copy_from_slice(&tpid.raw().to_be_bytes());
    out[at + 2..at + 4].copy_from_slice(&vid.get().to_be_bytes());
}

/// Writes everything before the body: the outer headers, the MACs and the
/// tags. `out` is exactly the output frame, its body already in place.
fn write_head(pipeline: &Pipeline, plan: &Plan, out: &mut [u8], macs: &[u8; MACS_LEN]) {
    let mut at = plan.prefix_len;
    out[at..at + MACS_LEN].copy_from_slice(macs);
    at += MACS_LEN;
    match plan.encap {
        Encap::Plain | Encap::Vxlan { .. } => {}
        Encap::Vlan { vid } => write_tag(out, at, Tpid::Dot1q, vid),
        Encap::QinQ {
            s_tpid,
            s_vid,
            c_vid,
        } => {
            write_tag(out, at, s_tpid, s_vid);
            if let Some(c_vid) = c_vid {
                write_tag(out, at + TAG_LEN, Tpid::Dot1q, c_vid);
            }
        }
    }
    if let Some(tunnel) = &plan.tunnel {
        // The families were checked by `plan`, so this always writes.
        encap::write_outer(out, tunnel, pipeline.next_ip_ident());
    }
}

#[inline]
fn read_macs(frame: &[u8], at: usize) -> [u8; MACS_LEN] {
    let mut macs = [0u8; MACS_LEN];
    macs.copy_from_slice(&frame[at..at + MACS_LEN]);
    macs
}

/// Rewrites the received frame at `chunk[start..start + len]` (described by
/// `inner`) in place for `action`, using the headroom in front of it;
/// returns the output's `(start, len)` in `chunk`. Moves only the 12 MAC
/// bytes for a tag push or pop; the inner body stays where it is.
///
/// `action` and `inner` are taken by value, not by reference: a reference
/// would pin the walk's copies of them in memory (a codegen workaround,
/// see the walk's module docs).
pub(super) fn in_place(
    pipeline: &Pipeline,
    action: Action,
    inner: InnerFrame,
    chunk: &mut [u8],
    start: usize,
    len: usize,
) -> Result<(usize, usize), DropReason> {
    let frame = start
        .checked_add(len)
        .and_then(|end| chunk.get(start..end))
        .ok_or(DropReason::Malformed)?;
    check_inner(&inner, len)?;
    let plan = plan_output(
        pipeline,
        &action,
        &inner,
        starts_with_tag(frame, inner.body_offset),
    )?;
    let macs = read_macs(frame, inner.mac_offset);
    let out_start = (start + inner.body_offset)
        .checked_sub(plan.head_len())
        .ok_or(DropReason::NoHeadroom)?;
    // Ends at `start + inner.end`, inside the received frame.
    let out = &mut chunk[out_start..out_start + plan.out_len];
    write_head(pipeline, &plan, out, &macs);
    Ok((out_start, plan.out_len))
}

/// Builds the output for `action` of the received frame `src` (described
/// by `inner`) in `dst_chunk` at offset `headroom`; returns its `(start,
/// len)` in `dst_chunk`. Same output and errors as [`in_place`] (and
/// the same by-value arguments).
pub(super) fn copy(
    pipeline: &Pipeline,
    action: Action,
    inner: InnerFrame,
    src: &[u8],
    dst_chunk: &mut [u8],
    headroom: usize,
) -> Result<(usize, usize), DropReason> {
    check_inner(&inner, src.len())?;
    let plan = plan_output(
        pipeline,
        &action,
        &inner,
        starts_with_tag(src, inner.body_offset),
    )?;
    let out = headroom
        .checked_add(plan.out_len)
        .and_then(|end| dst_chunk.get_mut(headroom..end))
        .ok_or(DropReason::NoHeadroom)?;
    out[plan.head_len()..].copy_from_slice(&src[inner.body_offset..inner.end]);
    write_head(pipeline, &plan, out, &read_macs(src, inner.mac_offset));
    Ok((headroom, plan.out_len))
}
