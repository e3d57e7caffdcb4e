//! The XDP live-frames traffic generator, its forwarder and its sink, on
//! the programs of `xsdn-bench-xdp.o` (`ebpf/src/bench.rs`).
//!
//! - [`Generator`]: `BPF_PROG_TEST_RUN` with `BPF_F_TEST_XDP_LIVE_FRAMES`
//!   (what xdp-trafficgen does): the kernel builds frames from one template
//!   in a page pool, runs `xsdn_bench_gen` on each (which rewrites the
//!   headers and returns `XDP_TX`) and transmits them out of the context's
//!   ingress interface, in batches, in the calling thread. No socket, no
//!   copy from userspace per frame: several Mpps on one core here.
//!   Transmitting into a veth needs NAPI on its peer (an XDP program
//!   attached there, or GRO on), else the kernel refuses the frames.
//! - [`Attached`]: the sink (`xsdn_bench_drop`, every frame dropped and
//!   counted by the interface in `rx_packets`) or the raw ceiling's
//!   forwarder (`xsdn_bench_fwd`, a devmap redirect to another interface),
//!   attached in native mode for as long as the value lives (BPF links are
//!   owned by the process, so they also go when it dies).
//!
//! Everything here runs in the caller's network namespace (interface
//! names and indexes are looked up there): run it with `ip netns exec`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use aya::maps::{Array, DevMap};
use aya::programs::{Xdp, XdpMode};
use aya::{Ebpf, TestRun, TestRunAttrs, TestRunOptions};

/// File name of the benchmark's XDP object.
pub const OBJECT_NAME: &str = "xsdn-bench-xdp.o";
/// Environment variable naming the object explicitly.
pub const OBJECT_ENV: &str = "XSDN_BENCH_XDP_OBJECT";
/// Frames per `BPF_PROG_TEST_RUN` batch (the kernel's NAPI budget).
pub const DEFAULT_BATCH: u32 = 64;
/// Header bytes the generator program rewrites at most.
pub const TEMPLATE_BYTES: usize = 128;
/// Frames per test-run call: about 50 ms at 5 Mpps, so a run stops close
/// to its deadline.
const FRAMES_PER_CALL: u32 = 1 << 18;

/// Finds the object: `explicit`, else `$XSDN_BENCH_XDP_OBJECT`, else next
/// to the running executable or up to two directories above it (the
/// layout of a cargo target directory).
pub fn find_object(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(OBJECT_ENV).map(PathBuf::from))
    {
        if !path.is_file() {
            bail!("{} does not exist", path.display());
        }
        return Ok(path);
    }
    let exe = std::env::current_exe()?;
    exe.ancestors()
        .skip(1)
        .take(3)
        .map(|d| d.join(OBJECT_NAME))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "{OBJECT_NAME} not found near {} (run `cargo xtask build-ebpf`, or set {OBJECT_ENV})",
                exe.display()
            )
        })
}

/// The index of interface `name` in this network namespace.
pub fn ifindex(name: &str) -> anyhow::Result<u32> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        bail!("bad interface name {name:?}");
    }
    let path = format!("/sys/class/net/{name}/ifindex");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no interface {name:?} here ({path})"))?;
    text.trim()
        .parse()
        .with_context(|| format!("{path}: {text:?}"))
}

/// The generator program's template: the number of 8-byte words to write,
/// then the frame's first bytes, in memory order.
pub fn template(frame: &[u8]) -> [u64; TEMPLATE_BYTES / 8 + 1] {
    let mut t = [0u64; TEMPLATE_BYTES / 8 + 1];
    let words = (frame.len() / 8).min(TEMPLATE_BYTES / 8);
    t[0] = words as u64;
    for (i, chunk) in frame.chunks_exact(8).take(words).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        t[i + 1] = u64::from_ne_bytes(b);
    }
    t
}

/// The `xdp_md` context of a live frame of `len` bytes arriving on
/// `ifindex` queue 0: `data`, `data_end`, `data_meta`, `ingress_ifindex`,
/// `rx_queue_index`, `egress_ifindex` (native-endian u32 each).
pub fn xdp_md(len: usize, ifindex: u32) -> [u8; 24] {
    let mut md = [0u8; 24];
    let fields = [0, len as u32, 0, ifindex, 0, 0];
    for (i, v) in fields.iter().enumerate() {
        md[i * 4..i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
    }
    md
}

/// What one generator run did.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SendReport {
    /// Frames the program ran on and returned `XDP_TX` for (offered).
    pub sent: u64,
    /// Wall-clock length of the run.
    pub seconds: f64,
}

impl SendReport {
    /// Offered frames per second.
    pub fn pps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.sent as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// The loaded generator.
pub struct Generator {
    ebpf: Ebpf,
}

fn xdp_program<'a>(ebpf: &'a mut Ebpf, name: &str) -> anyhow::Result<&'a mut Xdp> {
    let program: &mut Xdp = ebpf
        .program_mut(name)
        .with_context(|| format!("program {name} missing from the object"))?
        .try_into()
        .with_context(|| format!("{name} is not an XDP program"))?;
    Ok(program)
}

impl Generator {
    /// Loads the object and verifies the generator program.
    pub fn load(object: &Path) -> anyhow::Result<Generator> {
        let mut ebpf =
            Ebpf::load_file(object).with_context(|| format!("loading {}", object.display()))?;
        xdp_program(&mut ebpf, "xsdn_bench_gen")?
            .load()
            .context("verifying xsdn_bench_gen")?;
        Ok(Generator { ebpf })
    }

    /// Sends `frame` out of `iface` for about `duration`, as fast as the
    /// kernel takes it, `batch` frames per batch.
    pub fn send(
        &mut self,
        iface: &str,
        frame: &[u8],
        duration: Duration,
        batch: u32,
    ) -> anyhow::Result<SendReport> {
        if frame.len() < 14 || frame.len() > 3000 {
            bail!("frame of {} bytes (14..=3000)", frame.len());
        }
        let index = ifindex(iface)?;
        let mut templates: Array<_, [u64; TEMPLATE_BYTES / 8 + 1]> = Array::try_from(
            self.ebpf
                .map_mut("TEMPLATE")
                .context("map TEMPLATE missing")?,
        )?;
        templates.set(0, template(frame), 0)?;
        let md = xdp_md(frame.len(), index);
        let program = xdp_program(&mut self.ebpf, "xsdn_bench_gen")?;
        let started = Instant::now();
        let mut sent = 0u64;
        while started.elapsed() < duration {
            let opts = TestRunOptions {
                data_in: Some(frame),
                ctx_in: Some(&md),
                repeat: FRAMES_PER_CALL,
                attrs: TestRunAttrs::new().xdp_live_frames(batch),
                ..TestRunOptions::default()
            };
            program
                .test_run(opts)
                .with_context(|| format!("BPF_PROG_TEST_RUN (live frames) out of {iface}"))?;
            sent += u64::from(FRAMES_PER_CALL);
        }
        Ok(SendReport {
            sent,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// A benchmark program attached to an interface (detached on drop).
pub struct Attached {
    // Keeps the program, its maps and its link alive.
    _ebpf: Ebpf,
}

impl Attached {
    /// The sink on `iface`: every frame dropped (and counted by the
    /// interface).
    pub fn sink(object: &Path, iface: &str) -> anyhow::Result<Attached> {
        Self::attach(object, "xsdn_bench_drop", iface, None)
    }

    /// The raw ceiling's forwarder on `iface`: every frame redirected to
    /// `to` through a devmap.
    pub fn forwarder(object: &Path, iface: &str, to: &str) -> anyhow::Result<Attached> {
        Self::attach(object, "xsdn_bench_fwd", iface, Some(to))
    }

    fn attach(
        object: &Path,
        name: &str,
        iface: &str,
        to: Option<&str>,
    ) -> anyhow::Result<Attached> {
        let mut ebpf =
            Ebpf::load_file(object).with_context(|| format!("loading {}", object.display()))?;
        if let Some(to) = to {
            let target = ifindex(to)?;
            let mut map = DevMap::try_from(ebpf.map_mut("FWD").context("map FWD missing")?)?;
            map.set(0, target, None, 0)
                .with_context(|| format!("devmap slot to {to}"))?;
        }
        let index = ifindex(iface)?;
        let program = xdp_program(&mut ebpf, name)?;
        program
            .load()
            .with_context(|| format!("verifying {name}"))?;
        program
            .attach_to_if_index(index, XdpMode::Driver)
            .with_context(|| format!("attaching {name} to {iface} (native)"))?;
        Ok(Attached { _ebpf: ebpf })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_covers_whole_words_up_to_the_limit() {
        let frame: Vec<u8> = (0..60).collect();
        let t = template(&frame);
        assert_eq!(t[0], 7);
        assert_eq!(t[1].to_ne_bytes(), [0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(t[7].to_ne_bytes(), [48, 49, 50, 51, 52, 53, 54, 55]);
        assert_eq!(t[8], 0);
        let big = vec![0xabu8; 1500];
        assert_eq!(template(&big)[0], (TEMPLATE_BYTES / 8) as u64);
    }

    #[test]
    fn context_layout() {
        let md = xdp_md(60, 7);
        assert_eq!(u32::from_ne_bytes(md[4..8].try_into().unwrap()), 60);
        assert_eq!(u32::from_ne_bytes(md[12..16].try_into().unwrap()), 7);
        assert_eq!(md[0..4], [0; 4]);
        assert_eq!(md[16..24], [0; 8]);
    }
}
