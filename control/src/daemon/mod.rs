//! `xsdn daemon`: the dataplane of one node.
//!
//! The daemon reads the SDN configuration (as a Proxmox node keeps it in
//! `/etc/pve/sdn`), compiles it for this node, discovers guest ports and
//! uplinks from the kernel over netlink, and runs the AF_XDP worker. It
//! keeps everything in step while it runs:
//! - configuration changes (SIGHUP, a change in the configuration directory,
//!   or `xsdn reload`) are parsed, validated and compiled off the hot path
//!   and swapped in as a whole; an invalid configuration is reported and
//!   the last good one stays in force;
//! - kernel changes (guest ports joining or leaving VNet bridges, routes
//!   and neighbours of VXLAN peers) re-plan the ports and tables;
//! - `xsdn show`, `xsdn status` and `xsdn reload` talk to it over a unix
//!   socket; Prometheus scrapes `/metrics` (loopback by default).
//!
//! On SIGINT/SIGTERM it detaches everything; if it dies, the kernel
//! detaches the XDP program and the kernel bridges carry the traffic.
//!
//! Layer: the daemon is an event loop ([`event_loop`]), a reconcile step
//! ([`reconcile`], writing [`applied`]) fed by the configuration source
//! ([`config_source`]), and a read-only view ([`view`]) that the readers
//! ([`respond`], [`exposition`]) use. Imports go one way: the loop uses
//! everything; readers use only the view; the reconcile step never sees a
//! reader. The pure lowering lives in [`crate::lower`], the dataplane
//! assembly in [`crate::dataplane_host`], the netlink edge in
//! [`crate::netlink`].

pub mod api;
pub mod applied;
pub mod config_source;
pub mod event_loop;
pub mod exposition;
pub mod metrics;
pub mod reconcile;
pub mod respond;
pub mod settings;
pub mod tier;
pub mod trace;
pub mod view;

use std::process::ExitCode;

use anyhow::Context;

pub use settings::{Args, Settings};

/// Runs the daemon until SIGINT or SIGTERM.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(event_loop::serve(settings))?;
    Ok(ExitCode::SUCCESS)
}
