//! Running the product inside a world: `xsdn daemon` per node namespace,
//! SDN configuration directories, and the control CLI.
//!
//! Tests drive xsdn as a user does: they write section-config files into a
//! directory, start `xsdn daemon` in a node namespace with its own control
//! socket, and ask it questions with `xsdn show|status|reload --json`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::proc::Proc;
use crate::wait::wait_until;
use crate::world::World;

/// Environment variable naming the `xsdn` binary.
pub const XSDN_BIN_ENV: &str = "XSDN_BIN";

/// The `xsdn` binary: `$XSDN_BIN`, else `target/<profile>/xsdn` next to the
/// running test binary (`target/<profile>/deps/...`).
pub fn xsdn_bin() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(XSDN_BIN_ENV) {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent();
    while let Some(d) = dir {
        let candidate = d.join("xsdn");
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
        if d.file_name().is_some_and(|n| n == "target") {
            break;
        }
    }
    bail!("the xsdn binary was not found: build it (`cargo xtask test` does) or set {XSDN_BIN_ENV}")
}

/// Writes SDN configuration files (`(file name, contents)`) into a fresh
/// directory `name` under the world's directory and returns it.
pub fn write_config(world: &World, name: &str, files: &[(&str, &str)]) -> Result<PathBuf> {
    let dir = world.dir().join(name);
    std::fs::create_dir_all(&dir)?;
    for (file, text) in files {
        std::fs::write(dir.join(file), text).with_context(|| format!("writing {file}"))?;
    }
    Ok(dir)
}

/// Creates, in `node`, the kernel-side VXLAN device Proxmox's generated
/// `interfaces.d/sdn` has for a VXLAN VNet (`xsdn render` names it the
/// same): `vxlan_<vnet>` with VNI `vni`, source `local`, UDP 4789, no
/// learning, a head-end replication entry per peer, MTU 1450, enslaved to
/// the VNet bridge. It is the kernel path that carries the VNet when no
/// dataplane runs.
pub fn kernel_vxlan(
    world: &World,
    node: &str,
    vnet: &str,
    vni: u32,
    local: &str,
    peers: &[&str],
) -> Result<()> {
    let dev = format!("vxlan_{vnet}");
    let vni = vni.to_string();
    world.exec(
        node,
        &[
            "ip",
            "link",
            "add",
            &dev,
            "type",
            "vxlan",
            "id",
            &vni,
            "local",
            local,
            "dstport",
            "4789",
            "nolearning",
        ],
    )?;
    for peer in peers {
        world.exec(
            node,
            &[
                "bridge",
                "fdb",
                "append",
                "00:00:00:00:00:00",
                "dev",
                &dev,
                "dst",
                peer,
            ],
        )?;
    }
    world.exec(
        node,
        &[
            "ip", "link", "set", &dev, "mtu", "1450", "master", vnet, "up",
        ],
    )?;
    Ok(())
}

/// A running `xsdn daemon` in one node namespace.
pub struct Daemon {
    /// The process (killed when dropped, like every world process).
    pub proc: Proc,
    /// Node namespace role.
    pub node: String,
    /// Its control socket.
    pub socket: PathBuf,
}

/// Options for [`start_daemon`].
#[derive(Clone, Debug, Default)]
pub struct DaemonOpts {
    /// `--metrics` value (`off` when `None`).
    pub metrics: Option<String>,
    /// Extra arguments.
    pub extra: Vec<String>,
}

/// Starts `xsdn daemon --config CONFIG --node NODE` in `node`'s namespace
/// and waits until it runs (its control socket answers).
pub fn start_daemon(world: &World, node: &str, config: &Path, opts: &DaemonOpts) -> Result<Daemon> {
    let bin = xsdn_bin()?;
    let socket = world.dir().join(format!("{node}.sock"));
    let mut args: Vec<String> = vec![
        bin.display().to_string(),
        "daemon".into(),
        "--config".into(),
        config.display().to_string(),
        "--node".into(),
        node.into(),
        "--socket".into(),
        socket.display().to_string(),
        "--metrics".into(),
        opts.metrics.clone().unwrap_or_else(|| "off".into()),
    ];
    args.extend(opts.extra.iter().cloned());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let proc = world.spawn(node, &argv)?;
    let daemon = Daemon {
        proc,
        node: node.into(),
        socket,
    };
    let up = wait_until(Duration::from_secs(15), || {
        !daemon.proc.is_running() || daemon.status(world).is_ok()
    });
    if !up || !daemon.proc.is_running() {
        bail!(
            "xsdn daemon on {node} did not come up:\n{}",
            daemon.proc.stderr()
        );
    }
    Ok(daemon)
}

impl Daemon {
    /// Runs `xsdn ARGS... --socket SOCKET` in the node namespace; returns
    /// its output whatever the exit code.
    pub fn cli(&self, world: &World, args: &[&str]) -> Result<crate::cmd::Output> {
        let bin = xsdn_bin()?;
        let bin = bin.display().to_string();
        let socket = self.socket.display().to_string();
        let mut argv = vec![bin.as_str()];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["--socket", &socket]);
        world.try_exec(&self.node, &argv)
    }

    /// `xsdn ARGS... --json`, parsed; fails with the CLI's stderr.
    pub fn json(&self, world: &World, args: &[&str]) -> Result<Value> {
        let mut argv = args.to_vec();
        argv.push("--json");
        let out = self.cli(world, &argv)?;
        if !out.success() {
            bail!("xsdn {} failed: {}", args.join(" "), out.stderr.trim());
        }
        serde_json::from_str(&out.stdout)
            .with_context(|| format!("xsdn {} printed no JSON: {}", args.join(" "), out.stdout))
    }

    /// `xsdn status --json`.
    pub fn status(&self, world: &World) -> Result<Value> {
        self.json(world, &["status"])
    }

    /// `xsdn show TABLE --json`.
    pub fn show(&self, world: &World, table: &str) -> Result<Value> {
        self.json(world, &["show", table])
    }

    /// Waits until `xsdn show ports` lists `port`.
    pub fn wait_port(&self, world: &World, port: &str, timeout: Duration) -> bool {
        wait_until(timeout, || {
            self.show(world, "ports").is_ok_and(|v| {
                v.as_array()
                    .is_some_and(|a| a.iter().any(|p| p["ifname"] == port))
            })
        })
    }

    /// A VNet's counter (`rx_packets`, `tx_packets`...) from `xsdn show
    /// counters`.
    pub fn vnet_counter(&self, world: &World, vnet: &str, field: &str) -> Result<u64> {
        let counters = self.show(world, "counters")?;
        counters["vnets"]
            .as_array()
            .and_then(|a| a.iter().find(|v| v["vnet"] == vnet))
            .and_then(|v| v[field].as_u64())
            .with_context(|| format!("no counter {field} for VNet {vnet} in {counters}"))
    }
}
