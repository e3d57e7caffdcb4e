//! `xsdn-testbed`: bring namespace topologies up and down by hand, and the
//! small traffic tools the test helpers run inside namespaces.

mod args;
mod manage;
mod tools;

use anyhow::Result;

const HELP: &str = "\
xsdn-testbed: the xsdn namespace test world, by hand

USAGE:
    xsdn-testbed <COMMAND> [ARGS]

TOPOLOGIES (need root):
    up <topology.toml|example> [--name NAME]
                      Build a topology and leave it up. Namespaces are named
                      xsdnt-m-<NAME>-<role>; NAME defaults to the example or
                      file name. Prints how to enter them.
    run <topology.toml|example>
                      Build a temporary world (xsdnt-<pid>-<n>-<role>) and
                      keep it until Ctrl-C, which removes it.
    down <NAME>       Remove that world's namespaces and state file.
    list              By-hand worlds and the namespaces of running tests.
    sweep             Remove leftovers of test processes that are gone
                      (never by-hand worlds, never foreign namespaces).
    examples          Names of the built-in topologies: vlan, qinq, vxlan,
                      evpn (the Proxmox SDN spec's), simple, two_guests_one_node.
    print <example|file>
                      Print a topology as TOML (a start for your own).

TRAFFIC TOOLS (run inside namespaces by the test helpers):
    udp-send --dst IP:PORT --count N [--size BYTES] [--interval-us US]
                      Send N numbered datagrams; prints {\"sent\":..,\"errors\":..}.
    udp-recv --bind IP:PORT --count N [--timeout-ms MS]
                      Receive until N distinct datagrams or the timeout;
                      prints {\"received\":..,\"bytes\":..,\"bad_payload\":..,\"duplicates\":..,
                      \"rcvbuf_errors\":..} (the last: datagrams its own socket
                      buffer overflowed, a slow receiver rather than a lossy path).

EXAMPLES:
    xsdn-testbed up vxlan
    ip netns exec xsdnt-m-vxlan-node1 ping -c1 192.168.0.3
    xsdn-testbed down vxlan
";

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&argv) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("xsdn-testbed: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run(argv: &[String]) -> Result<()> {
    let Some((cmd, rest)) = argv.split_first() else {
        print!("{HELP}");
        return Ok(());
    };
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return Ok(());
    }
    match cmd.as_str() {
        "up" => manage::up(rest),
        "down" => manage::down(rest),
        "run" => manage::run_until_signal(rest),
        "list" | "ls" => manage::list(rest),
        "sweep" => manage::sweep(rest),
        "examples" => manage::list_examples(rest),
        "print" => manage::print(rest),
        "udp-send" => tools::udp_send(rest),
        "udp-recv" => tools::udp_recv(rest),
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => anyhow::bail!("unknown command {other:?} (try --help)"),
    }
}
