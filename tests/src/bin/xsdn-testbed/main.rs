//! `xsdn-testbed`: bring namespace topologies up and down by hand, and the
//! small traffic tools the test helpers run inside namespaces. The command
//! line is declared here with clap; [`manage`] and [`tools`] do the work.

mod manage;
mod tools;

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};

/// xsdn-testbed: the xsdn namespace test world, by hand
///
/// The commands marked (root) build or remove namespaces and need root;
/// udp-send and udp-recv are the traffic tools the test helpers run inside
/// namespaces. `xsdn-testbed <COMMAND> --help` shows a command's arguments.
#[derive(Parser)]
#[command(
    name = "xsdn-testbed",
    // A repeated option takes its last value, as it always did.
    args_override_self = true,
    after_help = EXAMPLES,
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

const EXAMPLES: &str = "\
Examples:
  xsdn-testbed up vxlan
  ip netns exec xsdnt-m-vxlan-node1 ping -c1 192.168.0.3
  xsdn-testbed down vxlan";

#[derive(Subcommand)]
enum Cmd {
    /// Build a topology and leave it up (root)
    ///
    /// Namespaces are named xsdnt-m-<NAME>-<role>; NAME defaults to the
    /// example or file name. Prints how to enter them.
    Up {
        /// A topology file or the name of a built-in example
        #[arg(value_name = "topology.toml|example")]
        topology: String,
        /// The world's name (default: the example or file name)
        #[arg(long)]
        name: Option<String>,
    },
    /// Build a temporary world and keep it until Ctrl-C, which removes it
    /// (root)
    ///
    /// Its namespaces are named xsdnt-<pid>-<n>-<role>.
    Run {
        /// A topology file or the name of a built-in example
        #[arg(value_name = "topology.toml|example")]
        topology: String,
    },
    /// Remove that world's namespaces and state file (root)
    Down {
        /// The world's name (as given to or printed by `up`)
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// By-hand worlds and the namespaces of running tests
    #[command(visible_alias = "ls")]
    List,
    /// Remove leftovers of test processes that are gone (root)
    ///
    /// Never by-hand worlds, never foreign namespaces.
    Sweep,
    /// Names of the built-in topologies
    ///
    /// vlan, qinq, vxlan, evpn (the Proxmox SDN spec's), simple,
    /// two_guests_one_node.
    Examples,
    /// Print a topology as TOML (a start for your own)
    Print {
        /// A built-in example's name or a topology file
        #[arg(value_name = "example|file")]
        spec: String,
    },
    /// Send N numbered datagrams; prints {"sent":..,"errors":..}
    UdpSend(tools::UdpSend),
    /// Receive until N distinct datagrams or the timeout; prints a JSON
    /// summary
    ///
    /// The summary: {"received":..,"bytes":..,"bad_payload":..,"duplicates":..,"rcvbuf_errors":..}
    ///
    /// rcvbuf_errors counts the datagrams its own socket buffer overflowed:
    /// a slow receiver rather than a lossy path.
    UdpRecv(tools::UdpRecv),
    /// Send exactly N bytes over TCP and wait for the receiver to close;
    /// prints {"sent":..,"seconds":..}
    TcpSend(tools::TcpSend),
    /// Receive one TCP stream to its end, checking every byte; prints
    /// {"received":..,"first_bad":null|offset,"seconds":..}
    TcpRecv(tools::TcpRecv),
    /// Relay of a VM-like guest (stands in for QEMU; the test world starts
    /// it)
    ///
    /// Opens taps PORT and GUEST-TAP with IFF_VNET_HDR and the CSUM/TSO
    /// offloads, and copies frames between them with their virtio_net_hdr
    /// (GSO super-frames and partial checksums intact) until either tap
    /// goes away. Counters go to the --stats file as JSON.
    Vmtap {
        /// The node's port, e.g. tap101i0
        #[arg(long, value_name = "TAP")]
        port: String,
        /// The tap that becomes the guest's eth0
        #[arg(long, value_name = "TAP")]
        guest_tap: String,
        /// Where to keep the counters
        #[arg(long, value_name = "FILE")]
        stats: std::path::PathBuf,
    },
    /// The tcx programs of an interface in this namespace; prints
    /// {"xdp":false,"tcx_ingress":[names],"tcx_egress":[names]}
    ///
    /// XDP is not queried here (`ip link` shows it); the test library's
    /// `World::hooks` adds it.
    Hooks {
        /// The interface
        #[arg(value_name = "IFACE")]
        ifname: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let code = match run(cli.command) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("xsdn-testbed: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run(command: Option<Cmd>) -> Result<()> {
    let Some(command) = command else {
        // No command: the help, on stdout, and success (as `help` does).
        Cli::command().print_long_help()?;
        return Ok(());
    };
    match command {
        Cmd::Up { topology, name } => manage::up(&topology, name),
        Cmd::Run { topology } => manage::run_until_signal(&topology),
        Cmd::Down { name } => manage::down(&name),
        Cmd::List => manage::list(),
        Cmd::Sweep => manage::sweep(),
        Cmd::Examples => manage::list_examples(),
        Cmd::Print { spec } => manage::print(&spec),
        Cmd::UdpSend(a) => tools::udp_send(&a),
        Cmd::UdpRecv(a) => tools::udp_recv(&a),
        Cmd::TcpSend(a) => tools::tcp_send(&a),
        Cmd::TcpRecv(a) => tools::tcp_recv(&a),
        Cmd::Hooks { ifname } => tools::hooks(&ifname),
        Cmd::Vmtap {
            port,
            guest_tap,
            stats,
        } => xsdn_testbed::vmtap::relay(&port, &guest_tap, &stats),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_as_the_test_helpers_pass_them() {
        let cli = Cli::try_parse_from([
            "xsdn-testbed",
            "udp-send",
            "--dst",
            "10.0.0.3:41000",
            "--count=3000",
            "--size",
            "200",
            "--interval-us",
            "1000",
        ])
        .unwrap();
        let Some(Cmd::UdpSend(a)) = cli.command else {
            panic!("not udp-send");
        };
        assert_eq!(a.dst, "10.0.0.3:41000".parse().unwrap());
        assert_eq!((a.count, a.size, a.interval_us), (3000, 200, 1000));

        let cli = Cli::try_parse_from([
            "xsdn-testbed",
            "udp-recv",
            "--bind",
            "[::1]:9",
            "--count",
            "5",
        ])
        .unwrap();
        let Some(Cmd::UdpRecv(a)) = cli.command else {
            panic!("not udp-recv");
        };
        assert_eq!((a.count, a.timeout_ms), (5, 5000));
    }

    #[test]
    fn defaults_repeats_aliases_and_refusals() {
        let a =
            Cli::try_parse_from(["t", "udp-send", "--dst", "1.2.3.4:5", "--count", "1"]).unwrap();
        let Some(Cmd::UdpSend(a)) = a.command else {
            panic!("not udp-send");
        };
        assert_eq!((a.size, a.interval_us), (512, 0));
        let up = Cli::try_parse_from(["t", "up", "--name", "a", "vxlan", "--name=b"]).unwrap();
        assert!(matches!(
            up.command,
            Some(Cmd::Up { topology, name: Some(name) }) if topology == "vxlan" && name == "b"
        ));
        assert!(matches!(
            Cli::try_parse_from(["t", "ls"]).unwrap().command,
            Some(Cmd::List)
        ));
        for bad in [
            &["t", "frobnicate"][..],
            &["t", "up"],
            &["t", "up", "a", "b"],
            &["t", "down", "x", "--force", "1"],
            &["t", "list", "extra"],
            &["t", "udp-send", "--dst", "1.2.3.4:5"],
            &["t", "udp-recv", "--bind", "nowhere", "--count", "1"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?} accepted");
        }
    }
}
