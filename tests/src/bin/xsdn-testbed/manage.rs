//! The by-hand commands: `up`, `down`, `list`, `sweep`, `examples`, `print`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use xsdn_testbed::names::{NsOwner, WORLD_MAX};
use xsdn_testbed::persist::{self, WorldState};
use xsdn_testbed::sweep::{is_leftover, our_namespaces};
use xsdn_testbed::{Topology, World, examples, sweep_leftovers};

/// Loads `spec`: an example name or a TOML file. Returns the topology and
/// a default world name.
fn load(spec: &str) -> Result<(Topology, String)> {
    if let Some(t) = examples::by_name(spec) {
        return Ok((t, spec.to_string()));
    }
    let path = Path::new(spec);
    if !path.exists() {
        bail!(
            "{spec:?} is neither an example ({}) nor a file",
            examples::NAMES.join(", ")
        );
    }
    let topo = Topology::load(path)?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("world");
    let name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(WORLD_MAX)
        .collect();
    Ok((topo, name))
}

/// `run <topology.toml|example>`: an automatic world that lives until
/// Ctrl-C (or SIGTERM), then is torn down.
pub fn run_until_signal(spec: &str) -> Result<()> {
    let (topo, name) = load(spec)?;
    let world = World::up(&topo)?;
    print_world(&WorldState {
        name,
        namespaces: world.namespaces().to_vec(),
        ports: world.guest_ports().to_vec(),
        dir: world.dir().to_path_buf(),
        topology: topo,
    });
    println!("\nready: press Ctrl-C to tear it down");
    // The signal handler tears the world down and exits with status 130.
    loop {
        std::thread::park();
    }
}

/// `up <topology.toml|example> [--name NAME]`.
pub fn up(spec: &str, name: Option<String>) -> Result<()> {
    let (topo, default_name) = load(spec)?;
    let name = name.unwrap_or(default_name);
    let world = World::up_named(&topo, &name)?;
    let state = WorldState {
        name: name.clone(),
        namespaces: world.namespaces().to_vec(),
        ports: world.guest_ports().to_vec(),
        dir: world.dir().to_path_buf(),
        topology: topo,
    };
    let path = world.persist()?;
    print_world(&state);
    println!("\nstate: {}", path.display());
    if let Some((_, ns)) = state
        .namespaces
        .iter()
        .find(|(r, _)| state.topology.nodes.iter().any(|n| &n.name == r))
    {
        println!("enter a namespace:  ip netns exec {ns} bash");
        if state.topology.switch.is_some() {
            println!("watch the uplink:   ip netns exec {ns} tcpdump -eni eno1");
        } else if let Some(port) = state.ports.first() {
            println!(
                "watch a guest port: ip netns exec {ns} tcpdump -eni {}",
                port.port
            );
        }
    }
    println!("remove it:          xsdn-testbed down {name}");
    Ok(())
}

fn print_world(s: &WorldState) {
    println!("world {:?}:", s.name);
    for (role, ns) in &s.namespaces {
        let mut what = Vec::new();
        if s.topology.switch.as_deref() == Some(role.as_str()) {
            what.push("underlay switch, bridge br0".to_string());
        }
        if let Some(n) = s.topology.find_node(role) {
            let mut d = format!(
                "node, vmbr0 {}",
                n.address.as_deref().unwrap_or("(no address)")
            );
            let bridges: Vec<&str> = n.bridges.iter().map(|b| b.name.as_str()).collect();
            if !bridges.is_empty() {
                d.push_str(&format!(", bridges {}", bridges.join(" ")));
            }
            what.push(d);
        }
        if let Some(g) = s.topology.guests.iter().find(|g| &g.name == role) {
            let port = s.ports.iter().find(|p| &p.guest == role);
            let mut d = format!(
                "guest, eth0 {}",
                g.address.as_deref().unwrap_or("(no address)")
            );
            if let Some(p) = port {
                d.push_str(&format!(", port {} on {}/{}", p.port, p.node, p.bridge));
            }
            what.push(d);
        }
        println!("  {role:<10} {ns:<28} {}", what.join("; "));
    }
}

/// `down <NAME>`.
pub fn down(name: &str) -> Result<()> {
    let deleted = persist::down(name)?;
    println!("world {name:?} removed ({} namespaces)", deleted.len());
    Ok(())
}

/// `list`.
pub fn list() -> Result<()> {
    let states = persist::list_states()?;
    let mut manual: BTreeMap<String, usize> = BTreeMap::new();
    let mut auto: BTreeMap<(u32, u32), (usize, bool)> = BTreeMap::new();
    for (_, owner) in our_namespaces()? {
        let dead = is_leftover(&owner);
        match owner {
            NsOwner::Manual { world, .. } => *manual.entry(world).or_default() += 1,
            NsOwner::Auto { pid, seq, .. } => auto.entry((pid, seq)).or_insert((0, dead)).0 += 1,
        }
    }
    println!("by-hand worlds:");
    if states.is_empty() && manual.is_empty() {
        println!("  (none)");
    }
    for s in &states {
        let live = manual.remove(&s.name).unwrap_or(0);
        println!(
            "  {:<24} {live}/{} namespaces up   (xsdn-testbed down {})",
            s.name,
            s.namespaces.len(),
            s.name
        );
    }
    for (name, n) in manual {
        println!("  {name:<24} {n} namespaces up, no state file   (xsdn-testbed down {name})");
    }
    println!("test worlds:");
    if auto.is_empty() {
        println!("  (none)");
    }
    for ((pid, seq), (n, dead)) in auto {
        let status = if dead {
            "owner gone: `xsdn-testbed sweep` removes it"
        } else {
            "owner running"
        };
        println!("  xsdnt-{pid}-{seq}-*   {n} namespaces, {status}");
    }
    Ok(())
}

/// `sweep`.
pub fn sweep() -> Result<()> {
    let r = sweep_leftovers()?;
    for ns in &r.namespaces {
        println!("deleted namespace {ns}");
    }
    for d in &r.dirs {
        println!("removed {d}");
    }
    if r.namespaces.is_empty() && r.dirs.is_empty() {
        println!("nothing to sweep");
    }
    Ok(())
}

/// `examples`.
pub fn list_examples() -> Result<()> {
    for n in examples::NAMES {
        println!("{n}");
    }
    Ok(())
}

/// `print <example|file>`: the topology as TOML.
pub fn print(spec: &str) -> Result<()> {
    let (topo, _) = load(spec)?;
    print!("{}", topo.to_toml().context("printing")?);
    Ok(())
}
