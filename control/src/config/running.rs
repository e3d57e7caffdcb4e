//! Reader for the applied snapshot `/etc/pve/sdn/.running-config` (JSON).
//!
//! Shape: `{"version": N, "zones": {"ids": {"<id>": {"type": .., ..}}}, "vnets": ..,
//! "subnets": .., "controllers": .., "fabrics": ..}`. Scalars may be JSON
//! numbers, strings or booleans (`"tag": "100"` and `"tag": 100` are the
//! same); `nodes`/`exitnodes` may be objects `{"node": 1}`; arrays stay
//! arrays. Every object becomes a [`RawSection`] and goes through the same
//! typing as the section-config files. Diagnostics carry the line of the
//! key they are about ([`KeyLines`], found by path, never by a text search).
//!
//! Structure is checked, not assumed: a block (`"zones"`) that is not an
//! object, or that has content but no `ids` object, is an error (its
//! sections would otherwise vanish silently); unknown keys in a block and
//! unknown top-level keys are warnings. An empty block `{}` is an empty
//! block. The snapshot carries no `ipams` or `dns` unless it has those
//! blocks, which [`SdnConfig::not_carried`] records.

use serde_json::Value;

use crate::config::build::add_sections;
use crate::config::json_lines::KeyLines;
use crate::config::model::{SdnConfig, SdnFile};
use crate::config::section::{RawProp, RawSection, RawValue};
use crate::diag::{Diagnostic, Severity, Sink};

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty() && s != "0",
        _ => true,
    }
}

fn raw_value(v: &Value) -> Option<RawValue> {
    match v {
        Value::Null => None,
        Value::Array(items) => Some(RawValue::List(items.iter().filter_map(scalar).collect())),
        Value::Object(map) => Some(RawValue::Set(
            map.iter()
                .filter(|(_, v)| truthy(v))
                .map(|(k, _)| k.clone())
                .collect(),
        )),
        other => scalar(other).map(RawValue::Text),
    }
}

/// What a JSON value is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The sections of one block's `ids` object.
fn sections(
    key: &str,
    file: SdnFile,
    ids: &serde_json::Map<String, Value>,
    lines: &KeyLines,
    file_name: &str,
    sink: &mut Sink,
) -> Vec<RawSection> {
    let mut out = Vec::new();
    for (id, obj) in ids {
        let header_line = lines.line(&[key, "ids", id]);
        let section = format!("{} '{id}'", file.noun());
        let mut report = |line: Option<u32>, key: Option<&str>, message: String| {
            sink.items.push(Diagnostic {
                severity: Severity::Error,
                file: file_name.to_string(),
                line,
                section: Some(section.clone()),
                key: key.map(str::to_string),
                message,
            });
        };
        let Value::Object(members) = obj else {
            report(
                header_line,
                None,
                format!("the section is {}, not an object; ignored", kind(obj)),
            );
            continue;
        };
        let ty = members.get("type").and_then(scalar).unwrap_or_default();
        let mut props = Vec::new();
        for (k, v) in members {
            if k == "type" || (k == "id" && scalar(v).as_deref() == Some(id)) {
                continue;
            }
            let line = lines.line(&[key, "ids", id, k]).or(header_line);
            if let Value::Array(items) = v
                && items.iter().any(|i| scalar(i).is_none())
            {
                report(
                    line,
                    Some(k),
                    "the list holds objects, arrays or nulls; they are ignored".into(),
                );
            }
            let Some(value) = raw_value(v) else { continue };
            props.push(RawProp {
                key: k.clone(),
                value,
                line,
            });
        }
        if ty.is_empty() {
            report(
                header_line,
                None,
                "the section has no 'type'; ignored".into(),
            );
            continue;
        }
        out.push(RawSection {
            ty: ty.to_ascii_lowercase(),
            id: id.clone(),
            line: header_line,
            props,
        });
    }
    out
}

/// Parses `.running-config` text into a model, reporting every problem.
pub fn parse_running_config(text: &str, file_name: &str, sink: &mut Sink) -> SdnConfig {
    let mut cfg = SdnConfig::default();
    let root: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            sink.line(
                Severity::Error,
                file_name,
                u32::try_from(e.line()).ok(),
                format!("not valid JSON: {e}"),
            );
            return cfg;
        }
    };
    let Value::Object(root) = root else {
        sink.line(
            Severity::Error,
            file_name,
            Some(1),
            format!(
                "expected a JSON object at the top level, found {}",
                kind(&root)
            ),
        );
        return cfg;
    };
    cfg.not_carried = [SdnFile::Ipams, SdnFile::Dns]
        .into_iter()
        .filter(|f| !root.contains_key(f.running_key()))
        .collect();
    let lines = KeyLines::scan(text);
    for (path, line) in lines.duplicates() {
        sink.line(
            Severity::Warning,
            file_name,
            Some(*line),
            format!(
                "key '{}' is given twice; only this later value is used",
                path.join(".")
            ),
        );
    }
    if let Some(v) = root.get("version") {
        cfg.version = scalar(v).and_then(|s| s.trim().parse().ok());
        if cfg.version.is_none() {
            sink.line(
                Severity::Error,
                file_name,
                lines.line(&["version"]),
                format!("'version' is {}, not a non-negative integer", kind(v)),
            );
        }
    }
    for (key, value) in &root {
        if key == "version" {
            continue;
        }
        let block_line = lines.line(&[key]);
        let Some(file) = SdnFile::ALL
            .iter()
            .copied()
            .find(|f| f.running_key() == key)
        else {
            sink.line(
                Severity::Warning,
                file_name,
                block_line,
                format!("unknown top-level key '{key}' ignored"),
            );
            continue;
        };
        let Value::Object(block) = value else {
            sink.line(
                Severity::Error,
                file_name,
                block_line,
                format!(
                    "'{key}' is {}; expected an object {{\"ids\": {{...}}}}; its sections are ignored",
                    kind(value)
                ),
            );
            continue;
        };
        for k in block.keys().filter(|k| *k != "ids") {
            sink.line(
                Severity::Warning,
                file_name,
                lines.line(&[key, k]),
                format!("unknown key '{k}' in '{key}' ignored (a block holds only 'ids')"),
            );
        }
        let ids = match block.get("ids") {
            Some(Value::Object(ids)) => ids,
            Some(other) => {
                sink.line(
                    Severity::Error,
                    file_name,
                    lines.line(&[key, "ids"]),
                    format!(
                        "'{key}.ids' is {}, not an object; its sections are ignored",
                        kind(other)
                    ),
                );
                continue;
            }
            None if block.is_empty() => continue,
            None => {
                sink.line(
                    Severity::Error,
                    file_name,
                    block_line,
                    format!("'{key}' has no 'ids' object; its sections are ignored"),
                );
                continue;
            }
        };
        let raw = sections(key, file, ids, &lines, file_name, sink);
        add_sections(&mut cfg, file, file_name, &raw, sink);
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::ZoneType;

    const JSON: &str = r#"{
  "version": 7,
  "vnets": {"ids": {"blue7": {"zone": "east2", "type": "vnet",
                              "tag": "2301"}}},
  "zones": {"ids": {
    "east2": {
      "exitnodes": {"pa": 1, "pb": 0},
      "mtu": 1380,
      "advertise-subnets": true,
      "type": "evpn",
      "vrf-vxlan": "x"
    }
  }}
}"#;

    #[test]
    fn numbers_as_strings_sets_and_lines() {
        let mut sink = Sink::default();
        let cfg = parse_running_config(JSON, ".running-config", &mut sink);
        assert_eq!(cfg.version, Some(7));
        assert_eq!(cfg.vnets[0].tag, Some(2301));
        let z = &cfg.zones[0];
        assert_eq!(z.zone_type, ZoneType::Evpn);
        assert_eq!(z.mtu, Some(1380));
        assert_eq!(z.exitnodes.as_deref(), Some(&["pa".to_string()][..]));
        assert_eq!(z.advertise_subnets, Some(true));
        assert_eq!(z.origin.line, Some(6));
        assert_eq!(sink.items.len(), 1);
        assert_eq!(
            sink.items[0].to_string(),
            ".running-config:11: zone 'east2', key 'vrf-vxlan': 'x' is not a non-negative integer"
        );
    }

    #[test]
    fn broken_json_is_one_error() {
        let mut sink = Sink::default();
        let cfg = parse_running_config("{\"zones\": ", "rc", &mut sink);
        assert!(cfg.zones.is_empty());
        assert_eq!(sink.error_count(), 1);
    }

    fn diags(text: &str) -> Vec<String> {
        let mut sink = Sink::default();
        parse_running_config(text, "rc", &mut sink);
        let mut out: Vec<String> = sink
            .items
            .iter()
            .map(|d| format!("{}: {d}", d.severity))
            .collect();
        out.sort_by_key(|l| l.split(':').nth(2).map(str::to_string));
        out
    }

    #[test]
    fn ids_named_like_keys_get_their_own_lines() {
        let text = r#"{"zones": {"ids": {
  "vl": {"type": "vlan", "bridge": "vmbr0", "mtu": 1500},
  "bridge": {"type": "vlan",
    "mtu": "big"},
  "mtu": {"type": "simple", "tag": 3}
}}}"#;
        let mut sink = Sink::default();
        let cfg = parse_running_config(text, "rc", &mut sink);
        let line = |id: &str| cfg.zone(id).and_then(|z| z.origin.line);
        assert_eq!(line("vl"), Some(2));
        assert_eq!(line("bridge"), Some(3));
        assert_eq!(line("mtu"), Some(5));
        let msgs: Vec<String> = sink.items.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "rc:4: zone 'bridge', key 'mtu': 'big' is not a non-negative integer",
                "rc:5: zone 'mtu', key 'tag': key is not valid for a simple zone; Proxmox ignores it",
            ]
        );
    }

    #[test]
    fn structural_problems_are_reported() {
        let out = diags(
            r#"{"zones": [{"type": "simple"}],
 "vnets": {"idz": {"v1": {"type": "vnet", "zone": "z"}}},
 "subnets": {"ids": [],
   "order": {}},
 "controllers": {},
 "fabrics": {"ids": {"f1": 7, "f2": {"ip": "10.0.0.1"}}},
 "routes": {"ids": {}},
 "version": "abc"}"#,
        );
        assert_eq!(
            out,
            [
                "error: rc:1: 'zones' is an array; expected an object {\"ids\": {...}}; its sections are ignored",
                "warning: rc:2: unknown key 'idz' in 'vnets' ignored (a block holds only 'ids')",
                "error: rc:2: 'vnets' has no 'ids' object; its sections are ignored",
                "error: rc:3: 'subnets.ids' is an array, not an object; its sections are ignored",
                "warning: rc:4: unknown key 'order' in 'subnets' ignored (a block holds only 'ids')",
                "error: rc:6: fabric 'f1': the section is a number, not an object; ignored",
                "error: rc:6: fabric 'f2': the section has no 'type'; ignored",
                "warning: rc:7: unknown top-level key 'routes' ignored",
                "error: rc:8: 'version' is a string, not a non-negative integer",
            ]
        );
    }

    #[test]
    fn nested_lists_and_duplicate_keys() {
        let out = diags(
            "{\"zones\": {\"ids\": {\"z1\": {\"type\": \"vxlan\",\n \"peers\": [\"10.0.0.1\", {\"x\": 1}],\n \"mtu\": 1400, \"mtu\": 1300}}}}",
        );
        assert_eq!(
            out,
            [
                "error: rc:2: zone 'z1', key 'peers': the list holds objects, arrays or nulls; they are ignored",
                "warning: rc:3: key 'zones.ids.z1.mtu' is given twice; only this later value is used",
            ]
        );
    }

    #[test]
    fn empty_blocks_are_fine_and_ipams_dns_are_not_carried() {
        let mut sink = Sink::default();
        let cfg = parse_running_config(
            r#"{"version": 2, "zones": {}, "vnets": {"ids": {}}, "dns": {"ids": {}}}"#,
            "rc",
            &mut sink,
        );
        assert!(sink.items.is_empty(), "{:?}", sink.items);
        assert_eq!(cfg.not_carried, [SdnFile::Ipams]);
    }
}
