//! Node settings of the daemon: a small TOML file, every key optional, each
//! also settable by a command-line flag (flags win).
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
//! config_poll_ms = 1000          # how often the SDN files are checked for changes
//!
//! [ports]                        # explicit guest ports: interface = VNet
//! tap100i0 = "myvnet1"
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    /// Configuration poll interval in milliseconds.
    pub config_poll_ms: Option<u64>,
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
}
