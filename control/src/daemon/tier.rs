//! Which tier would handle a traced frame (`xsdn trace`): the in-kernel
//! tier repeats the userspace pipeline's decision for established unicast
//! only, so this reads the pipeline's explanation and the kernel tier's
//! entries and says whether the eBPF programs would forward the frame
//! themselves, and if not, why it would reach userspace. The conditions
//! are those of `ebpf/src/guest.rs` (guest ports) and `ebpf/src/uplink.rs`
//! (uplinks); the kernel tier's model is in `common/src/kernel_tier.rs`.
//! They are restated here by hand (the programs cannot be run on a traced
//! frame without sending it), so a change to the programs' conditions must
//! be made here as well; `tests/tests/kernel_tier.rs` checks that `trace`
//! says `kernel` for a flow whose frames the kernel tier's counters show it
//! carried, and `userspace` for the misses.
//!
//! Layer: daemon reader (a [`DaemonView`] and one explanation).

use xsdn_common::PortMode;
use xsdn_common::action::kind;
use xsdn_common::kernel_tier::{BD_FLAG_ISOLATED, FdbKey, FdbValue};
use xsdn_dataplane::kernel_tier::kernel_bd;
use xsdn_dataplane::pipeline::{Explanation, Source, TraceClassified};
use xsdn_dataplane::wire::EthernetAddress;

use crate::dataplane_host::ports::AttachedPort;

use super::view::DaemonView;

/// The tier that would handle a frame, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tier {
    /// `kernel` or `userspace`.
    pub tier: &'static str,
    /// One sentence.
    pub why: String,
}

fn userspace(why: impl Into<String>) -> Tier {
    Tier {
        tier: "userspace",
        why: why.into(),
    }
}

/// Which tier would handle the frame `explanation` describes, arriving on
/// `port`.
pub fn tier_of(daemon: &DaemonView, port: &AttachedPort, explanation: &Explanation) -> Tier {
    let Some(kernel) = daemon.kernel_tier() else {
        return userspace("the kernel tier is off");
    };
    if !port.kernel_tier() {
        return userspace(format!("{} does not carry the kernel tier", port.name()));
    }
    match explanation.verdict {
        "unicast" => {}
        "flood" => {
            return userspace(
                "broadcast, multicast and unknown destinations are flooded by the userspace pipeline",
            );
        }
        _ => {
            return userspace(
                "the userspace pipeline drops it (the kernel tier punts what it does not forward)",
            );
        }
    }
    let Some(c) = explanation.classified else {
        return userspace("not classified");
    };
    let Some(id) = daemon.tables().bd(c.bd).and_then(kernel_bd) else {
        return userspace("the VNet has no kernel-tier id");
    };
    let generation = kernel.bd_generation(id);
    let current = |mac: &EthernetAddress| -> Option<FdbValue> {
        kernel
            .fdb_entry(&FdbKey { bd: id, mac: mac.0 })
            .filter(|v| Some(v.generation) == generation)
    };
    if c.guest_tagged {
        return userspace("a guest's own VLAN tags are handled by the userspace pipeline");
    }
    let Some(source) = current(&c.src) else {
        return userspace(format!(
            "{} has no current kernel-tier entry (its first frame, or the VNet changed): punted so the userspace pipeline learns it",
            c.src
        ));
    };
    if !came_back(daemon, port, &c, &source) {
        return userspace(format!(
            "{} is known elsewhere in the kernel tier: punted so the userspace pipeline sees the move",
            c.src
        ));
    }
    let Some(target) = current(&c.dst) else {
        return userspace(format!(
            "{} has no current kernel-tier entry yet (installed once the userspace pipeline learns it)",
            c.dst
        ));
    };
    let egress = daemon.ports().find(|p| p.ifindex() == target.ifindex);
    let domain_isolated = kernel
        .bd_flags(id)
        .is_some_and(|flags| flags & BD_FLAG_ISOLATED != 0);
    let plain = target.action.kind == kind::PLAIN;
    let verdict = match (c.source, egress) {
        (_, None) => Err("its egress is not a dataplane port".to_owned()),
        (Source::Guest(_), Some(out)) if plain => {
            if out.ifindex() == port.ifindex() {
                Err("it would go back out of its own port".to_owned())
            } else if domain_isolated {
                Err("the VNet isolates its ports (isolate-ports)".to_owned())
            } else if out.mode() != PortMode::Guest || usize::from(out.bd()) != usize::from(id) {
                Err(format!("{} is not a guest port of this VNet", out.name()))
            } else {
                Ok(format!("redirected from {} to {}", port.name(), out.name()))
            }
        }
        (Source::Guest(_), Some(out)) => {
            if out.mode() == PortMode::SteerMatched {
                Ok(format!(
                    "encapsulated and redirected to uplink {}",
                    out.name()
                ))
            } else {
                Err(format!("{} is not an uplink", out.name()))
            }
        }
        (_, Some(out)) if plain => {
            if out.mode() != PortMode::Guest || usize::from(out.bd()) != usize::from(id) {
                Err(format!("{} is not a guest port of this VNet", out.name()))
            } else if port.uplink_tc() {
                Ok(format!(
                    "untagged or decapsulated in XDP on {}, then to {}: TCP (and anything to a veth) up the stack through GRO to the uplink's tc program, the rest by XDP redirect",
                    port.name(),
                    out.name()
                ))
            } else if out.xdp_target() {
                Ok(format!(
                    "untagged or decapsulated and redirected by XDP from {} to {}",
                    port.name(),
                    out.name()
                ))
            } else {
                Err(format!(
                    "{} is a veth and {} has no tc program: XDP cannot redirect into a veth, so frames from the wire reach it through AF_XDP",
                    out.name(),
                    port.name()
                ))
            }
        }
        (_, Some(out)) => Err(format!("{} is not a guest port", out.name())),
    };
    match verdict {
        Ok(how) => Tier {
            tier: "kernel",
            why: format!(
                "established unicast: {} and {} are current in the kernel tier; {how}",
                c.src, c.dst
            ),
        },
        Err(why) => userspace(why),
    }
}

/// Whether the source entry points back where the frame came from (else
/// the kernel tier punts: a move).
fn came_back(
    daemon: &DaemonView,
    port: &AttachedPort,
    c: &TraceClassified,
    source: &FdbValue,
) -> bool {
    match c.source {
        Source::Guest(_) => source.ifindex == port.ifindex() && source.action.kind == kind::PLAIN,
        Source::Uplink(_) => {
            source.ifindex == port.ifindex()
                && matches!(source.action.kind, kind::VLAN | kind::QINQ)
        }
        Source::Vtep(v) => {
            let peer = daemon.tables().vtep(v).map(|t| t.ip);
            source.action.kind == kind::VXLAN
                && peer == Some(std::net::IpAddr::from(source.outer_dst_ip))
        }
    }
}
