//! The reference generator's own test cases, read in place.
//!
//! For every `zones/<type>/<case>/` of the oracle (default
//! `<workspace>/../shared/pve-oracle`, or `$XSDN_PVE_ORACLE`), render
//! `interfaces.d/sdn` (and `frr.conf` where the case expects one) with the
//! reference runner's facts: node `localhost`, route source = vmbr0's
//! address on `vmbr0`, vmbr0's ports = `eth0`, router MAC
//! `bc:24:11:1d:69:60`. Prints `N/M cases identical` and the first
//! differing lines of each failing case; fails below M/M. Without the
//! oracle folder the test is skipped, unless `XSDN_REQUIRE_ORACLE=1`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::parse_running;
use crate::node::interfaces::InterfacesFile;
use crate::node::{NodeFacts, RouteSource};
use crate::render::{render_frr, render_interfaces};

pub(super) fn oracle_dir() -> PathBuf {
    match std::env::var_os("XSDN_PVE_ORACLE") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pve-oracle"),
    }
}

/// The facts the reference runner mocks.
fn oracle_facts(interfaces: &str) -> NodeFacts {
    let file = InterfacesFile::parse(interfaces);
    let mut facts = NodeFacts::from_interfaces("localhost", &file);
    let source = facts.address_of("vmbr0").map(|ip| RouteSource {
        ip,
        iface: "vmbr0".into(),
    });
    facts.set_route_source(source);
    if let Some(b) = facts.bridges.get_mut("vmbr0") {
        b.ports = vec!["eth0".into()];
    }
    facts.router_mac = Some([0xbc, 0x24, 0x11, 0x1d, 0x69, 0x60]);
    facts
}

/// Equal, or equal but for one trailing newline.
fn same(got: &str, want: &str) -> bool {
    got == want || got.strip_suffix('\n') == Some(want) || want.strip_suffix('\n') == Some(got)
}

fn first_diff(got: &str, want: &str) -> String {
    let g: Vec<&str> = got.lines().collect();
    let w: Vec<&str> = want.lines().collect();
    let at = g
        .iter()
        .zip(&w)
        .position(|(a, b)| a != b)
        .unwrap_or(g.len().min(w.len()));
    let mut s = format!("    first difference at line {}:\n", at + 1);
    for i in at..(at + 4).min(g.len().max(w.len())) {
        s.push_str(&format!(
            "      want {:?}\n      got  {:?}\n",
            w.get(i).copied().unwrap_or("<eof>"),
            g.get(i).copied().unwrap_or("<eof>")
        ));
    }
    s
}

/// The oracle's folder, or `None` (the test is skipped) when it is
/// missing; with `XSDN_REQUIRE_ORACLE=1` a missing oracle fails instead.
fn oracle_root() -> Option<PathBuf> {
    let root = oracle_dir();
    if root.join("zones").is_dir() {
        return Some(root);
    }
    assert!(
        std::env::var("XSDN_REQUIRE_ORACLE").as_deref() != Ok("1"),
        "XSDN_REQUIRE_ORACLE=1 but the oracle is missing at {}",
        root.display()
    );
    println!("pve-oracle not found at {}: skipped", root.display());
    None
}

fn cases(root: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for t in fs::read_dir(root.join("zones"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for c in fs::read_dir(t.path()).into_iter().flatten().flatten() {
            if c.path().join("sdn_config.json").is_file() {
                v.push(c.path());
            }
        }
    }
    v.sort();
    v
}

#[test]
fn reference_oracle_cases_are_identical() {
    let Some(root) = oracle_root() else {
        return;
    };
    let mut total = 0;
    let mut identical = 0;
    let (mut if_ok, mut if_n, mut frr_ok, mut frr_n) = (0, 0, 0, 0);
    let mut report = String::new();
    for case in cases(&root) {
        let name = case
            .strip_prefix(root.join("zones"))
            .unwrap_or(&case)
            .display()
            .to_string();
        let read = |f: &str| fs::read_to_string(case.join(f)).ok();
        let json = read("sdn_config.json").unwrap_or_default();
        let parsed = parse_running(&json, "sdn_config.json");
        let facts = oracle_facts(&read("interfaces").unwrap_or_default());
        total += 1;
        let mut ok = true;
        if let Some(want) = read("expected_sdn_interfaces") {
            if_n += 1;
            let got = render_interfaces(&parsed.config, &facts).text;
            if same(&got, &want) {
                if_ok += 1;
            } else {
                ok = false;
                report.push_str(&format!(
                    "  {name}: interfaces.d/sdn differs\n{}",
                    first_diff(&got, &want)
                ));
            }
        }
        if let Some(want) = read("expected_controller_config") {
            frr_n += 1;
            let local = read("frr.conf.local");
            let got = render_frr(&parsed.config, &facts, local.as_deref()).text;
            if same(&got, &want) {
                frr_ok += 1;
            } else {
                ok = false;
                report.push_str(&format!(
                    "  {name}: frr.conf differs\n{}",
                    first_diff(&got, &want)
                ));
            }
        }
        if ok {
            identical += 1;
        }
    }
    println!("pve-oracle ({}):", root.display());
    println!("  interfaces.d/sdn: {if_ok}/{if_n} identical");
    println!("  frr.conf:         {frr_ok}/{frr_n} identical");
    println!("{identical}/{total} cases identical");
    print!("{report}");
    assert!(total > 0, "no oracle cases found under {}", root.display());
    assert_eq!(
        identical, total,
        "{identical}/{total} cases identical\n{report}"
    );
}

/// Every configuration of the reference generator's cases is one Proxmox
/// accepts: validation may warn about it, never refuse it.
#[test]
fn reference_oracle_configurations_are_never_refused() {
    let Some(root) = oracle_root() else {
        return;
    };
    let mut refused = Vec::new();
    let all = cases(&root);
    for case in &all {
        let json = fs::read_to_string(case.join("sdn_config.json")).unwrap_or_default();
        let parsed = parse_running(&json, "sdn_config.json");
        let errors: Vec<String> = crate::validate::report(&parsed)
            .iter()
            .filter(|d| d.severity == crate::diag::Severity::Error)
            .map(ToString::to_string)
            .collect();
        if !errors.is_empty() {
            refused.push(format!("{}: {}", case.display(), errors.join("; ")));
        }
    }
    println!(
        "{}/{} reference configurations accepted",
        all.len() - refused.len(),
        all.len()
    );
    assert!(
        !all.is_empty(),
        "no oracle cases found under {}",
        root.display()
    );
    assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
}
