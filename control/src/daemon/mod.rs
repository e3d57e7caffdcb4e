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
pub mod trace;
pub mod view;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::dataplane_host::AttachArg;
use settings::{DEFAULT_CONFIG, DEFAULT_SOCKET, SettingsFile};

/// Node settings read when present and `--node-config` is not given.
pub const DEFAULT_NODE_CONFIG: &str = "/etc/xsdn/node.toml";

/// Default metrics address (loopback only).
pub const DEFAULT_METRICS: &str = "127.0.0.1:9469";

/// Arguments of `xsdn daemon`. Each also has a key in the node settings
/// file; flags win.
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// SDN configuration: a directory (`zones.cfg`... and/or
    /// `.running-config`) or a running-config file [default: /etc/pve/sdn].
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// This node's name as the configuration knows it [default: hostname].
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Node settings file (TOML; see `docs/daemon.md`) [default:
    /// /etc/xsdn/node.toml when it exists].
    #[arg(long, value_name = "FILE")]
    pub node_config: Option<PathBuf>,
    /// Uplink interface for VLAN/QinQ/VXLAN traffic (one per node today)
    /// [default: the zone bridge's NIC / the interface routing to the
    /// peers].
    #[arg(long = "uplink", value_name = "IFACE")]
    pub uplinks: Vec<String>,
    /// An explicit guest port: interface IFACE belongs to VNet VNET
    /// (repeatable; added to the `[ports]` of the settings file, the flag
    /// winning for the same interface).
    #[arg(long = "port", value_name = "IFACE=VNET", value_parser = parse_port)]
    pub ports: Vec<(String, String)>,
    /// VTEP source address [default: as Proxmox picks it].
    #[arg(long, value_name = "IP")]
    pub vtep_ip: Option<IpAddr>,
    /// Control socket [default: /run/xsdn/xsdn.sock].
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Prometheus metrics address, or `off` [default: 127.0.0.1:9469].
    #[arg(long, value_name = "ADDR|off")]
    pub metrics: Option<String>,
    /// Compiled XDP program [default: $XSDN_XDP_OBJECT, next to the binary,
    /// /usr/lib/xsdn/xsdn-xdp.o].
    #[arg(long, value_name = "FILE")]
    pub xdp_object: Option<PathBuf>,
    /// XDP attach mode [default: auto].
    #[arg(long, value_enum)]
    pub attach: Option<AttachArg>,
    /// UMEM frames of 4 KiB [default: 16384].
    #[arg(long)]
    pub frames: Option<u32>,
    /// MAC table capacity [default: 16384].
    #[arg(long)]
    pub fdb_size: Option<usize>,
    /// MAC ageing time in seconds [default: 300].
    #[arg(long)]
    pub fdb_age: Option<u64>,
    /// How often to look for configuration changes, in milliseconds
    /// [default: 1000].
    #[arg(long)]
    pub config_poll_ms: Option<u64>,
}

/// Effective daemon settings (defaults < settings file < flags).
#[derive(Clone, Debug)]
pub struct Settings {
    /// SDN configuration path.
    pub config: PathBuf,
    /// Node name.
    pub node: String,
    /// Uplink overrides.
    pub uplinks: Vec<String>,
    /// VTEP source address override.
    pub vtep_ip: Option<IpAddr>,
    /// Explicit guest ports (interface -> VNet).
    pub ports: std::collections::BTreeMap<String, String>,
    /// Control socket.
    pub socket: PathBuf,
    /// Metrics address (`None` = off).
    pub metrics: Option<SocketAddr>,
    /// XDP object override.
    pub xdp_object: Option<PathBuf>,
    /// XDP attach mode.
    pub attach: AttachArg,
    /// UMEM frames.
    pub frames: u32,
    /// MAC table capacity.
    pub fdb_size: usize,
    /// MAC ageing time in seconds.
    pub fdb_age_secs: u64,
    /// Configuration poll interval in milliseconds.
    pub config_poll_ms: u64,
}

fn parse_port(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((iface, vnet)) if !iface.is_empty() && !vnet.is_empty() => {
            Ok((iface.to_owned(), vnet.to_owned()))
        }
        _ => Err(format!(
            "{value:?}: expected IFACE=VNET, e.g. tap100i0=myvnet1"
        )),
    }
}

fn parse_attach(value: &str) -> anyhow::Result<AttachArg> {
    match value {
        "auto" => Ok(AttachArg::Auto),
        "native" => Ok(AttachArg::Native),
        "generic" => Ok(AttachArg::Generic),
        other => anyhow::bail!("attach = {other:?}: expected auto, native or generic"),
    }
}

fn parse_metrics(value: &str) -> anyhow::Result<Option<SocketAddr>> {
    if value == "off" {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .with_context(|| format!("metrics = {value:?}: expected ADDR:PORT or off"))
}

impl Settings {
    /// Merges defaults, the settings file and the flags.
    pub fn resolve(args: Args) -> anyhow::Result<Settings> {
        let default = std::path::Path::new(DEFAULT_NODE_CONFIG);
        let file = match &args.node_config {
            Some(path) => SettingsFile::load(path)?,
            None if default.is_file() => SettingsFile::load(default)?,
            None => SettingsFile::default(),
        };
        let node = args
            .node
            .or(file.node)
            .or_else(crate::node::live::hostname)
            .context("no node name: pass --node (the hostname could not be read)")?;
        let attach = match (args.attach, file.attach.as_deref()) {
            (Some(a), _) => a,
            (None, Some(s)) => parse_attach(s)?,
            (None, None) => AttachArg::Auto,
        };
        let metrics = match args.metrics.as_deref() {
            Some(value) => parse_metrics(value)?,
            None => parse_metrics(file.metrics.as_deref().unwrap_or(DEFAULT_METRICS))?,
        };
        let uplinks = if args.uplinks.is_empty() {
            file.uplinks.unwrap_or_default()
        } else {
            args.uplinks
        };
        if uplinks.len() > 1 {
            anyhow::bail!(
                "one uplink per node is supported today, got {}: pass one --uplink",
                uplinks.join(", ")
            );
        }
        let mut ports = file.ports;
        ports.extend(args.ports);
        Ok(Settings {
            config: args
                .config
                .or(file.config)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG)),
            node,
            uplinks,
            vtep_ip: args.vtep_ip.or(file.vtep_ip),
            ports,
            socket: args
                .socket
                .or(file.socket)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET)),
            metrics,
            xdp_object: args.xdp_object.or(file.xdp_object),
            attach,
            frames: args.frames.or(file.frames).unwrap_or(16384),
            fdb_size: args.fdb_size.or(file.fdb_size).unwrap_or(16384),
            fdb_age_secs: args.fdb_age.or(file.fdb_age_secs).unwrap_or(300),
            config_poll_ms: args
                .config_poll_ms
                .or(file.config_poll_ms)
                .unwrap_or(1000)
                .max(50),
        })
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_defaults_fill_in() {
        let dir = std::env::temp_dir().join(format!("xsdn-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("node.toml");
        std::fs::write(
            &file,
            "node = \"filenode\"\nuplinks = [\"eno2\"]\nmetrics = \"off\"\nfdb_size = 10\n",
        )
        .expect("write");
        let s = Settings::resolve(Args {
            node_config: Some(file.clone()),
            uplinks: vec!["eno9".into()],
            ..Args::default()
        })
        .expect("resolve");
        assert_eq!(s.node, "filenode");
        assert_eq!(s.uplinks, ["eno9"], "flag wins");
        assert_eq!(s.metrics, None, "metrics off from the file");
        assert_eq!(s.fdb_size, 10);
        assert_eq!(s.config, PathBuf::from(DEFAULT_CONFIG));
        assert_eq!(s.socket, PathBuf::from(DEFAULT_SOCKET));
        let s = Settings::resolve(Args {
            node: Some("n".into()),
            metrics: Some("127.0.0.1:9999".into()),
            ..Args::default()
        })
        .expect("resolve");
        assert_eq!(s.metrics, Some("127.0.0.1:9999".parse().expect("addr")));
        let err = Settings::resolve(Args {
            node: Some("n".into()),
            metrics: Some("everywhere".into()),
            ..Args::default()
        })
        .expect_err("bad metrics");
        assert!(err.to_string().contains("metrics"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn port_flags_join_the_file_ports_and_one_uplink_at_most() {
        assert_eq!(
            parse_port("tap100i0=myvnet1"),
            Ok(("tap100i0".into(), "myvnet1".into()))
        );
        assert!(parse_port("tap100i0").is_err());
        assert!(parse_port("=myvnet1").is_err());
        let s = Settings::resolve(Args {
            node: Some("n".into()),
            ports: vec![("tap1".into(), "v1".into())],
            ..Args::default()
        })
        .expect("resolve");
        assert_eq!(s.ports.get("tap1").map(String::as_str), Some("v1"));
        let err = Settings::resolve(Args {
            node: Some("n".into()),
            uplinks: vec!["eno1".into(), "eno2".into()],
            ..Args::default()
        })
        .expect_err("two uplinks");
        assert!(err.to_string().contains("one uplink"), "{err}");
    }
}
