//! The oracle's data is AGPL and stays outside the repository: this test
//! fails when a source file, the docs or the README contain a fragment of
//! the oracle's *input* fixtures (`sdn_config.json`, `interfaces`,
//! `frr.conf.local`) or one of its MAC addresses.
//!
//! Rendered *output* legitimately matches the reference (that is the point
//! of the oracle), so the expected files are not compared, and a fixture
//! fragment that the reference generator also writes (FRR boilerplate in a
//! `frr.conf.local`) does not count; fixtures are where copying happens. A fragment is three consecutive non-blank lines
//! (whitespace-trimmed) carrying at least 20 letters and digits, or one
//! line of at least 40 characters. The one MAC the oracle's README tells
//! every runner to use as a fact is allowed in `render/oracle_tests.rs`.
//! Skipped without the oracle folder, like the oracle test.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::oracle_tests::oracle_dir;

const INPUTS: [&str; 3] = ["sdn_config.json", "interfaces", "frr.conf.local"];
/// The runner fact documented in the oracle's README.
const RUNNER_MAC: &str = "bc:24:11:1d:69:60";

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn trimmed(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

fn alnum(s: &str) -> usize {
    s.chars().filter(char::is_ascii_alphanumeric).count()
}

/// MAC-looking tokens (`xx:xx:xx:xx:xx:xx`), lower-cased.
fn macs(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let hex = |i: usize| b.get(i).is_some_and(u8::is_ascii_hexdigit);
    let mut out = Vec::new();
    for i in 0..b.len().saturating_sub(16) {
        let ok = (0..6).all(|k| hex(i + 3 * k) && hex(i + 3 * k + 1))
            && (0..5).all(|k| b[i + 3 * k + 2] == b':')
            && !(i > 0 && (b[i - 1].is_ascii_hexdigit() || b[i - 1] == b':'))
            && !b
                .get(i + 17)
                .is_some_and(|c| c.is_ascii_hexdigit() || *c == b':');
        if ok {
            out.push(text[i..i + 17].to_ascii_lowercase());
        }
    }
    out
}

struct Fingerprints {
    windows: HashSet<String>,
    long_lines: HashSet<String>,
    macs: HashSet<String>,
}

fn fingerprints(root: &Path) -> Fingerprints {
    let mut all = Vec::new();
    files_under(root, &mut all);
    let mut f = Fingerprints {
        windows: HashSet::new(),
        long_lines: HashSet::new(),
        macs: HashSet::new(),
    };
    let mut generated = HashSet::new();
    for p in all {
        let Ok(text) = fs::read_to_string(&p) else {
            continue;
        };
        f.macs.extend(macs(&text));
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let lines = trimmed(&text);
        if name.starts_with("expected_") {
            generated.extend(lines.windows(3).map(|w| w.join("\n")));
            generated.extend(lines.iter().map(|l| l.to_string()));
        }
        if !INPUTS.contains(&name) {
            continue;
        }
        for w in lines.windows(3) {
            if w.iter().map(|l| alnum(l)).sum::<usize>() >= 20 {
                f.windows.insert(w.join("\n"));
            }
        }
        f.long_lines.extend(
            lines
                .iter()
                .filter(|l| l.len() >= 40)
                .map(|l| l.to_string()),
        );
    }
    f.windows.retain(|w| !generated.contains(w));
    f.long_lines.retain(|l| !generated.contains(l));
    f
}

/// What of the oracle `text` (a repository file) contains.
fn copied(f: &Fingerprints, text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lines = trimmed(text);
    for (i, w) in lines.windows(3).enumerate() {
        if f.windows.contains(&w.join("\n")) {
            found.push(format!("lines like {:?} (non-blank line {})", w[0], i + 1));
        }
    }
    for l in &lines {
        if f.long_lines.contains(*l) {
            found.push(format!("line {l:?}"));
        }
    }
    for m in macs(text) {
        if f.macs.contains(&m) {
            found.push(format!("MAC {m}"));
        }
    }
    found
}

#[test]
fn the_repository_holds_no_oracle_fixture_fragments() {
    let root = oracle_dir();
    if !root.join("zones").is_dir() {
        eprintln!("pve-oracle not found at {}; skipped", root.display());
        return;
    }
    let f = fingerprints(&root);
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    files_under(&ws.join("control/src"), &mut files);
    files_under(&ws.join("docs"), &mut files);
    files.push(ws.join("README.md"));
    let mut problems = Vec::new();
    for p in files {
        let Ok(text) = fs::read_to_string(&p) else {
            continue;
        };
        let runner_fact =
            p.ends_with("render/oracle_tests.rs") || p.ends_with("render/oracle_hygiene.rs");
        let text = if runner_fact {
            text.replace(RUNNER_MAC, "")
        } else {
            text
        };
        for c in copied(&f, &text) {
            problems.push(format!("{}: {c}", p.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "oracle fragments in the repository:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_detector_finds_windows_and_macs() {
    let mut f = Fingerprints {
        windows: HashSet::new(),
        long_lines: HashSet::new(),
        macs: HashSet::new(),
    };
    let fixture = "{\n  \"alpha1\" : {\n     \"tag\" : \"4242\",\n  \"type\" : \"vnet\",\n";
    let lines = trimmed(fixture);
    for w in lines.windows(3) {
        f.windows.insert(w.join("\n"));
    }
    f.macs.insert("02:00:00:aa:bb:cc".into());
    let copy =
        "x\n\"alpha1\" : {\n\t\"tag\" : \"4242\",\n\"type\" : \"vnet\",\nmac 02:00:00:AA:BB:CC\n";
    let found = copied(&f, copy);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        copied(
            &f,
            "\"alpha1\" : {\n\"tag\" : \"4243\",\n\"type\" : \"vnet\",\n"
        )
        .is_empty()
    );
}
