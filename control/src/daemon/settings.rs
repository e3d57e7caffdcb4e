//! Node settings of the daemon: a small TOML file, every key optional, each
//! also settable by a command-line flag (flags win), resolved into the
//! effective [`Settings`] (defaults < settings file < flags).
//!
//! Layer: daemon configuration (reads the settings file, no other I/O).
//!
//! ```toml
//! node = "node1"                 # default: the hostname
//! config = "/etc/pve/sdn"        # SDN directory or a .running-config file
//! uplinks = ["eno1"]             # at most one; default: the zone bridge's NIC / the route to the peers
//! vtep_ip = "192.168.0.1"        # default: as Proxmox picks it
//! socket = "/run/xsdn/xsdn.sock" # control socket
//! metrics = "127.0.0.1:9469"     # Prometheus endpoint, or "off"
//! xdp_object = "/usr/lib/xsdn/xsdn-xdp.o"
//! attach = "auto"                # auto | native | generic
//! frames = 16384                 # UMEM frames (4 KiB each)
//! fdb_size = 16384               # MAC table capacity
//! fdb_age_secs = 300             # MAC ageing time
//! fdb_max_per_vnet = 4096        # most MACs learnt per VNet (a flood in one VNet cannot fill the table)
//! flood_rate = 10000             # broadcast/multicast/unknown-unicast frames a guest port may flood per second (0: no limit)
//! config_poll_ms = 1000          # how often the SDN files are checked for changes
//! kernel_tier = true             # forward established traffic in the kernel (false: userspace only)
//!
//! [ports]                        # explicit guest ports: interface = VNet
//! tap100i0 = "myvnet1"
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::dataplane_host::AttachArg;

/// Default location of the SDN configuration.
pub const DEFAULT_CONFIG: &str = crate::config::load::DEFAULT_SDN_DIR;
/// Default control socket.
pub const DEFAULT_SOCKET: &str = "/run/xsdn/xsdn.sock";

/// Settings as read from the TOML file (all optional).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    /// Node name.
    pub node: Option<String>,
    /// SDN configuration directory or running-config file.
    pub config: Option<PathBuf>,
    /// Uplink interfaces.
    pub uplinks: Option<Vec<String>>,
    /// VTEP source address.
    pub vtep_ip: Option<IpAddr>,
    /// Control socket path.
    pub socket: Option<PathBuf>,
    /// Metrics address (`ADDR:PORT`) or `off`.
    pub metrics: Option<String>,
    /// XDP object path.
    pub xdp_object: Option<PathBuf>,
    /// XDP attach mode.
    pub attach: Option<String>,
    /// UMEM frames.
    pub frames: Option<u32>,
    /// MAC table capacity.
    pub fdb_size: Option<usize>,
    /// MAC ageing time in seconds.
    pub fdb_age_secs: Option<u64>,
    /// Most MACs learnt per VNet.
    pub fdb_max_per_vnet: Option<usize>,
    /// Flooded frames per guest port and second.
    pub flood_rate: Option<u32>,
    /// Configuration poll interval in milliseconds.
    pub config_poll_ms: Option<u64>,
    /// Whether the kernel tier forwards established traffic.
    pub kernel_tier: Option<bool>,
    /// Explicit guest ports: interface name -> VNet.
    #[serde(default)]
    pub ports: BTreeMap<String, String>,
}

/// Errors reading the settings file.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read.
    #[error("{path}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid settings TOML.
    #[error("{path}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// An unknown attach mode.
    #[error("attach = {0:?}: expected auto, native or generic")]
    Attach(String),
    /// A metrics address that is neither `ADDR:PORT` nor `off`.
    #[error("metrics = {value:?}: expected ADDR:PORT or off")]
    Metrics {
        /// The value given.
        value: String,
        /// Why it does not parse.
        #[source]
        source: std::net::AddrParseError,
    },
    /// Neither `--node` nor a hostname.
    #[error("no node name: pass --node (the hostname could not be read)")]
    NoNodeName,
    /// More than one uplink.
    #[error("one uplink per node is supported today, got {0}: pass one --uplink")]
    TooManyUplinks(String),
}

impl SettingsFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<SettingsFile, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        SettingsFile::parse(&text).map_err(|message| SettingsError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses settings TOML; the error names line and key.
    pub fn parse(text: &str) -> Result<SettingsFile, String> {
        toml::from_str(text).map_err(|e| {
            let location = e
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            format!("{location}{}", e.message())
        })
    }
}

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
    /// Most MACs learnt per VNet: a guest sending from endless source
    /// MACs fills its own VNet's share, never the table the other VNets
    /// learn in [default: 4096].
    #[arg(long)]
    pub fdb_max_per_vnet: Option<usize>,
    /// Broadcast, multicast and unknown-unicast frames each guest port may
    /// make the dataplane flood per second; more are dropped and counted
    /// as `flood_rate_limited` (0: no limit) [default: 10000].
    #[arg(long)]
    pub flood_rate: Option<u32>,
    /// How often to look for configuration changes, in milliseconds
    /// [default: 1000].
    #[arg(long)]
    pub config_poll_ms: Option<u64>,
    /// Forward established traffic in the kernel tier (tc on guest ports,
    /// XDP on uplinks), userspace handling the rest; `off` runs everything
    /// through userspace (AF_XDP) [default: on].
    #[arg(long, value_name = "on|off", value_parser = parse_on_off)]
    pub kernel_tier: Option<bool>,
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
    /// Most MACs learnt per VNet.
    pub fdb_max_per_vnet: usize,
    /// Flooded frames per guest port and second (0: no limit).
    pub flood_rate: u32,
    /// Configuration poll interval in milliseconds.
    pub config_poll_ms: u64,
    /// Whether the kernel tier forwards established traffic.
    pub kernel_tier: bool,
}

fn parse_on_off(value: &str) -> Result<bool, String> {
    match value {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        other => Err(format!("{other:?}: expected on or off")),
    }
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

fn parse_attach(value: &str) -> Result<AttachArg, SettingsError> {
    match value {
        "auto" => Ok(AttachArg::Auto),
        "native" => Ok(AttachArg::Native),
        "generic" => Ok(AttachArg::Generic),
        other => Err(SettingsError::Attach(other.to_owned())),
    }
}

fn parse_metrics(value: &str) -> Result<Option<SocketAddr>, SettingsError> {
    if value == "off" {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|source| SettingsError::Metrics {
            value: value.to_owned(),
            source,
        })
}

impl Settings {
    /// Merges defaults, the settings file and the flags.
    pub fn resolve(args: Args) -> Result<Settings, SettingsError> {
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
            .ok_or(SettingsError::NoNodeName)?;
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
            return Err(SettingsError::TooManyUplinks(uplinks.join(", ")));
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
            fdb_max_per_vnet: args
                .fdb_max_per_vnet
                .or(file.fdb_max_per_vnet)
                .unwrap_or(4096)
                .max(1),
            flood_rate: args.flood_rate.or(file.flood_rate).unwrap_or(10_000),
            config_poll_ms: args
                .config_poll_ms
                .or(file.config_poll_ms)
                .unwrap_or(1000)
                .max(50),
            kernel_tier: args.kernel_tier.or(file.kernel_tier).unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_key() {
        let s = SettingsFile::parse(
            r#"
node = "node1"
config = "/tmp/sdn"
uplinks = ["eno1", "eno2"]
vtep_ip = "192.168.0.1"
socket = "/run/x.sock"
xdp_object = "/x.o"
attach = "native"
frames = 4096
fdb_size = 100
fdb_age_secs = 30
config_poll_ms = 500
[ports]
tap100i0 = "myvnet1"
"#,
        )
        .expect("valid");
        assert_eq!(s.node.as_deref(), Some("node1"));
        assert_eq!(s.uplinks.as_ref().map(Vec::len), Some(2));
        assert_eq!(s.vtep_ip, Some("192.168.0.1".parse().expect("ip")));
        assert_eq!(s.ports.get("tap100i0").map(String::as_str), Some("myvnet1"));
        assert_eq!(s.fdb_age_secs, Some(30));
        assert_eq!(s.config_poll_ms, Some(500));
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(SettingsFile::parse("bind = \"copy\"\n").is_err());
    }

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(
            SettingsFile::parse("").expect("valid"),
            SettingsFile::default()
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line() {
        let err = SettingsFile::parse("node = \"a\"\nbogus = 1\n").expect_err("unknown key");
        assert!(err.starts_with("line 2: "), "{err}");
        assert!(err.contains("bogus"), "{err}");
        let err = SettingsFile::parse("frames = \"many\"\n").expect_err("bad type");
        assert!(err.starts_with("line 1: "), "{err}");
    }

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
