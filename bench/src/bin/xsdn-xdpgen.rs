//! `xsdn-xdpgen`: the small-frame benchmark's traffic generator, sink and
//! raw forwarder (see `xsdn_bench::xdpgen`). Run it inside the namespace of
//! the interfaces it names (`ip netns exec NS xsdn-xdpgen ...`).
//!
//! - `send --iface IF --frame HEX --seconds S`: XDP live frames out of
//!   `IF`; prints one JSON line `{"sent": N, "seconds": S}`.
//! - `sink --iface IF`: drop every frame arriving on `IF` (the interface
//!   counts them); prints `ready` and holds the program until killed.
//! - `forward --iface IF --to OUT`: redirect every frame arriving on `IF`
//!   to `OUT` (devmap); prints `ready` and holds until killed.
//! - `tap-vm --name TAP --hello HEX`: a VM stand-in on tap `TAP` (see
//!   `xsdn_bench::tapvm`); prints `ready` once the tap exists, then reads
//!   until killed.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use xsdn_bench::xdpgen::{self, Attached, DEFAULT_BATCH, Generator};

/// XDP live-frames generator, sink and forwarder.
#[derive(Parser, Debug)]
#[command(name = "xsdn-xdpgen")]
struct Args {
    /// The benchmark's XDP object (default: `$XSDN_BENCH_XDP_OBJECT`, or
    /// `xsdn-bench-xdp.o` near this binary).
    #[arg(long, global = true)]
    object: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Send one frame, over and over, out of an interface.
    Send {
        /// Interface to send on (its peer receives).
        #[arg(long)]
        iface: String,
        /// The frame, in hex (no FCS).
        #[arg(long)]
        frame: String,
        /// How long to send.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Frames per kernel batch (1..=256).
        #[arg(long, default_value_t = DEFAULT_BATCH)]
        batch: u32,
    },
    /// Drop every frame arriving on an interface, until killed.
    Sink {
        /// Interface.
        #[arg(long)]
        iface: String,
    },
    /// Redirect every frame arriving on an interface to another, until
    /// killed.
    Forward {
        /// Interface frames arrive on.
        #[arg(long)]
        iface: String,
        /// Interface they leave by.
        #[arg(long)]
        to: String,
    },
    /// Be a VM on a tap: read and drop every frame, say hello now and then.
    TapVm {
        /// Tap name (created if missing).
        #[arg(long)]
        name: String,
        /// The hello frame, in hex.
        #[arg(long)]
        hello: String,
    },
}

fn parse_hex(text: &str) -> anyhow::Result<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        bail!("odd number of hex digits");
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .with_context(|| format!("bad hex at {i}: {:?}", &text[i..i + 2]))
        })
        .collect()
}

/// Says the program is in place, then waits to be killed.
fn hold(_attached: Attached) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    writeln!(out, "ready")?;
    out.flush()?;
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let object = || xdpgen::find_object(args.object.as_deref());
    match args.command {
        Command::Send {
            iface,
            frame,
            seconds,
            batch,
        } => {
            if !(1..=256).contains(&batch) {
                bail!("--batch must be 1..=256");
            }
            if !(seconds > 0.0 && seconds <= 600.0) {
                bail!("--seconds must be in (0, 600]");
            }
            let frame = parse_hex(&frame)?;
            let mut generator = Generator::load(&object()?)?;
            let report = generator.send(&iface, &frame, Duration::from_secs_f64(seconds), batch)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Sink { iface } => hold(Attached::sink(&object()?, &iface)?),
        Command::Forward { iface, to } => hold(Attached::forwarder(&object()?, &iface, &to)?),
        Command::TapVm { name, hello } => {
            let device = xsdn_bench::tapvm::open(&name, parse_hex(&hello)?)?;
            let mut out = std::io::stdout();
            writeln!(out, "ready")?;
            out.flush()?;
            xsdn_bench::tapvm::drain(&device)
        }
    }
}
