//! The xsdn namespace test world: an underlay switch, hypervisor nodes and
//! guests as network namespaces joined by veth pairs, for the privileged
//! integration tests, the demo and the benchmarks.
//!
//! ```no_run
//! use std::time::Duration;
//! use xsdn_testbed::{World, ensure_root, examples};
//!
//! ensure_root().expect("privileged test");
//! let world = World::up(&examples::two_guests_one_node()).expect("world");
//! let r = world.ping("a", "10.0.0.2", 3, Duration::from_millis(100), None).expect("ping");
//! assert!(r.all_received());
//! // Dropping `world` removes every namespace, also during a panic or on Ctrl-C.
//! ```
//!
//! Layout: [`topology`] (what to build, TOML or builder) -> [`plan`] (the
//! `ip` commands, pure) -> [`World`] (runs them, owns processes, tears
//! down). Helpers: [`ping`], [`udp`], [`iperf`], [`capture`]/[`pcap`],
//! [`snmp`], [`wait`]. Safety nets: [`teardown`] (drop, panic, signals),
//! [`sweep`] (leftovers of dead processes), [`persist`] (by-hand worlds).
#![deny(missing_docs)]

pub mod addr;
pub mod capture;
pub mod cmd;
pub mod daemon;
pub mod examples;
pub mod hooks;
pub mod iperf;
pub mod names;
pub mod pcap;
pub mod persist;
pub mod ping;
pub mod plan;
pub mod preflight;
pub mod proc;
pub mod snmp;
pub mod sweep;
pub mod sys;
pub mod tcp;
pub mod teardown;
pub mod topology;
pub mod udp;
pub mod vmtap;
pub mod wait;
pub mod world;

pub use capture::Capture;
pub use cmd::Output;
pub use daemon::{Daemon, DaemonOpts, kernel_vxlan, start_daemon, write_config, xsdn_bin};
pub use iperf::{IperfOpts, IperfResult};
pub use pcap::{CapturedFrame, Ipv4View, VlanTag};
pub use ping::{PingOpts, PingResult};
pub use preflight::{check_tools, ensure_root, set_testbed_bin};
pub use proc::Proc;
pub use sweep::{SweepReport, sweep_leftovers};
pub use topology::{BridgeSpec, GuestSpec, LinkEnd, LinkSpec, NodeSpec, Topology};
pub use udp::{UdpOpts, UdpReport};
pub use wait::wait_until;
pub use world::World;
