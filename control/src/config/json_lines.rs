//! Line numbers of the keys of a JSON text, by path.
//!
//! `serde_json::Value` forgets positions. [`KeyLines::scan`] walks the text
//! once and records the 1-based line of every object key under its full
//! path (`["zones", "ids", "myzone", "mtu"]`), so a key is only ever found
//! at its own depth: a zone called `mtu` and a zone's `mtu` key are
//! different paths. Array elements are the path step `[]`. Keys that occur
//! twice in one object are listed in [`KeyLines::duplicates`]; like
//! `serde_json`, the later one wins, and its line is the one recorded.
//!
//! Meant for text that already parsed as JSON; on anything else it returns
//! whatever it found, never panics.

use std::collections::HashMap;

enum Frame {
    Object {
        key: Option<String>,
        expect_key: bool,
        seen: Vec<String>,
    },
    Array,
}

/// Lines of the keys of one JSON text.
#[derive(Debug, Default)]
pub struct KeyLines {
    lines: HashMap<Vec<String>, u32>,
    duplicates: Vec<(Vec<String>, u32)>,
}

impl KeyLines {
    /// Scans `text`.
    pub fn scan(text: &str) -> KeyLines {
        let mut out = KeyLines::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut line: u32 = 1;
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => line = line.saturating_add(1),
                b'{' => stack.push(Frame::Object {
                    key: None,
                    expect_key: true,
                    seen: Vec::new(),
                }),
                b'[' => stack.push(Frame::Array),
                b'}' | b']' => {
                    stack.pop();
                }
                b',' => {
                    if let Some(Frame::Object { expect_key, .. }) = stack.last_mut() {
                        *expect_key = true;
                    }
                }
                b'"' => {
                    let start = i;
                    let start_line = line;
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        if bytes[i] == b'\\' {
                            i += 1;
                        } else if bytes[i] == b'\n' {
                            line = line.saturating_add(1);
                        }
                        i += 1;
                    }
                    let raw = text.get(start..=i.min(bytes.len() - 1)).unwrap_or("");
                    out.string(&mut stack, raw, start_line);
                }
                _ => {}
            }
            i += 1;
        }
        out
    }

    /// A string token: a key when an object expects one.
    fn string(&mut self, stack: &mut [Frame], raw: &str, line: u32) {
        let Some((last, outer)) = stack.split_last_mut() else {
            return;
        };
        let Frame::Object {
            key,
            expect_key,
            seen,
        } = last
        else {
            return;
        };
        if !*expect_key {
            return;
        }
        let name: String = serde_json::from_str(raw).unwrap_or_default();
        let mut path: Vec<String> = outer
            .iter()
            .map(|f| match f {
                Frame::Object { key, .. } => key.clone().unwrap_or_default(),
                Frame::Array => "[]".to_string(),
            })
            .collect();
        path.push(name.clone());
        if seen.contains(&name) {
            self.duplicates.push((path.clone(), line));
        } else {
            seen.push(name.clone());
        }
        self.lines.insert(path, line);
        *key = Some(name);
        *expect_key = false;
    }

    /// The line of the key at `path`.
    pub fn line(&self, path: &[&str]) -> Option<u32> {
        let path: Vec<String> = path.iter().map(|s| (*s).to_string()).collect();
        self.lines.get(&path).copied()
    }

    /// Keys given twice in one object: path and line of the later one.
    pub fn duplicates(&self) -> &[(Vec<String>, u32)] {
        &self.duplicates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_at_their_own_depth() {
        let text = r#"{
  "zones": {"ids": {
    "tag": {"type": "vlan",
            "bridge": "vmbr0"},
    "mtu": {"type": "simple",
      "mtu": 1400,
      "nodes": {"a\"b": 1}}
  }},
  "list": [{"k": 1},
           {"k": 2}]
}"#;
        let k = KeyLines::scan(text);
        assert_eq!(k.line(&["zones"]), Some(2));
        assert_eq!(k.line(&["zones", "ids", "tag"]), Some(3));
        assert_eq!(k.line(&["zones", "ids", "tag", "bridge"]), Some(4));
        assert_eq!(k.line(&["zones", "ids", "mtu"]), Some(5));
        assert_eq!(k.line(&["zones", "ids", "mtu", "mtu"]), Some(6));
        assert_eq!(k.line(&["zones", "ids", "mtu", "nodes", "a\"b"]), Some(7));
        assert_eq!(k.line(&["zones", "ids", "mtu", "tag"]), None);
        assert_eq!(k.line(&["list", "[]", "k"]), Some(10));
        assert!(k.duplicates().is_empty(), "{:?}", k.duplicates());
        let d = KeyLines::scan("{\"a\": 1,\n \"b\": {\"a\": 2},\n \"a\": 3}");
        assert_eq!(d.duplicates(), [(vec!["a".to_string()], 3)]);
        assert_eq!(
            d.line(&["a"]),
            Some(3),
            "the later one, as serde_json keeps"
        );
    }

    #[test]
    fn broken_text_does_not_panic() {
        for t in ["", "\"", "{\"a", "{\"a\":[", "}}]]", "{\"a\\"] {
            let _ = KeyLines::scan(t);
        }
    }
}
