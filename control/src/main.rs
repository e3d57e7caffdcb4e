//! `xsdn`: the xsdn command-line tool (configuration checks, table
//! compilation, rendering, and the dataplane itself).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xsdn_control::cli;

/// Proxmox-style SDN with an AF_XDP dataplane.
#[derive(Parser)]
#[command(name = "xsdn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Switch frames between interfaces through the AF_XDP dataplane
    /// (one learning bridge domain, no SDN configuration).
    Switch(cli::switch::Args),
    /// Validate an SDN configuration (exit 0: clean or warnings, 1: errors, 2: usage/IO).
    Check(cli::check::Args),
    /// Print what this node must do: its compiled configuration (the compiled node).
    Compile(cli::compile::Args),
    /// Write the node's interfaces.d/sdn and frr.conf as Proxmox would.
    Render(cli::render::Args),
    /// Run the dataplane of this node (until SIGINT/SIGTERM).
    Daemon(xsdn_control::daemon::Args),
    /// Show a table of the running daemon (ports, vnets, fdb, vteps, routes, counters).
    Show(cli::show::ShowArgs),
    /// Show the running daemon's state: generation, last reload, uptime, ports.
    Status(cli::show::StatusArgs),
    /// Make the running daemon re-read its configuration now.
    Reload(cli::show::StatusArgs),
    /// Explain what the running daemon would do with a frame, stage by stage (nothing is sent).
    Trace(cli::show::TraceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Switch(args) => cli::switch::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Compile(args) => cli::compile::run(args),
        Command::Render(args) => cli::render::run(args),
        Command::Daemon(args) => xsdn_control::daemon::run(args),
        Command::Show(args) => cli::show::show(args),
        Command::Status(args) => cli::show::status(args),
        Command::Reload(args) => cli::show::reload(args),
        Command::Trace(args) => cli::show::trace(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xsdn: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `RUST_LOG` (default `info`) filters them.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
