//! Section-config lexer and parser: text in, untyped sections out.
//!
//! The format is Proxmox's `SectionConfig`: a header `type: id`, then one
//! indented `key value` line per property, and a blank line ending the
//! section. Lines starting with `#` are comments. A key without a value
//! means `1`. Keys may repeat (array properties); whether that is allowed is
//! decided later, by the typed builder.
//!
//! This module never fails: malformed lines become diagnostics and are
//! skipped, exactly one per line. It does no I/O.

use crate::diag::{Severity, Sink};

/// A property value before typing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawValue {
    /// A scalar written as text (`tag 100`, or a JSON string/number/bool).
    Text(String),
    /// A key without a value (`snat`): boolean true.
    Flag,
    /// A JSON array (`"dhcp-range": [...]`).
    List(Vec<String>),
    /// A JSON object used as a set (`"nodes": {"pve1": 1}`): the keys whose value is true.
    Set(Vec<String>),
}

/// One `key value` line (or JSON member) of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawProp {
    /// Property name as written.
    pub key: String,
    /// Property value.
    pub value: RawValue,
    /// 1-based line, when known.
    pub line: Option<u32>,
}

/// One section before typing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSection {
    /// Section type, lower-cased (`vlan`, `vnet`, `openfabric_node`, ...).
    pub ty: String,
    /// Section id.
    pub id: String,
    /// Line of the header, when known.
    pub line: Option<u32>,
    /// Properties in input order.
    pub props: Vec<RawProp>,
}

/// True if `s` is a valid Proxmox `pve-configid` (used for section types).
pub fn is_config_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses section-config `text` read from `file`.
///
/// Differences from the reference parser, on purpose: a line holding only
/// whitespace ends a section like an empty line does (the reference would
/// treat it as a broken property line and glue the next section onto this
/// one).
pub fn parse(text: &str, file: &str, sink: &mut Sink) -> Vec<RawSection> {
    let mut sections: Vec<RawSection> = Vec::new();
    let mut current: Option<RawSection> = None;
    // When a header is rejected, its property lines are skipped silently.
    let mut skipping = false;

    for (idx, raw_line) in text.lines().enumerate() {
        let lineno = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line.trim_start().starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if let Some(s) = current.take() {
                sections.push(s);
            }
            skipping = false;
            continue;
        }
        let indented = line.starts_with(|c: char| c.is_whitespace());
        if indented {
            if skipping {
                continue;
            }
            let Some(section) = current.as_mut() else {
                sink.line(
                    Severity::Warning,
                    file,
                    Some(lineno),
                    format!(
                        "property line outside of a section ignored: '{}'",
                        line.trim()
                    ),
                );
                continue;
            };
            let body = line.trim();
            let (key, value) = match body.split_once(char::is_whitespace) {
                Some((k, v)) => (k, RawValue::Text(v.trim().to_string())),
                None => (body, RawValue::Flag),
            };
            section.props.push(RawProp {
                key: key.to_string(),
                value,
                line: Some(lineno),
            });
            continue;
        }

        // A header line. A missing blank line before it still starts a new section.
        if let Some(s) = current.take() {
            sections.push(s);
        }
        skipping = false;
        match parse_header(line) {
            Some((ty, id)) if is_config_id(&ty) => {
                current = Some(RawSection {
                    ty,
                    id,
                    line: Some(lineno),
                    props: Vec::new(),
                });
            }
            Some((ty, id)) => {
                sink.line(
                    Severity::Warning,
                    file,
                    Some(lineno),
                    format!("section '{id}' has an invalid type '{ty}'; section ignored"),
                );
                skipping = true;
            }
            None => {
                sink.line(
                    Severity::Warning,
                    file,
                    Some(lineno),
                    format!("line is neither a section header nor an indented property: '{line}'"),
                );
                skipping = true;
            }
        }
    }
    if let Some(s) = current.take() {
        sections.push(s);
    }
    sections
}

/// `^(\S+):\s*(\S+)\s*$`, type lower-cased.
fn parse_header(line: &str) -> Option<(String, String)> {
    let line = line.trim_end();
    let (ty, rest) = line.split_once(':')?;
    if ty.is_empty() || ty.contains(char::is_whitespace) {
        return None;
    }
    let id = rest.trim_start();
    if id.is_empty() || id.contains(char::is_whitespace) {
        return None;
    }
    Some((ty.to_ascii_lowercase(), id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Vec<RawSection> {
        let mut sink = Sink::default();
        let s = parse(text, "t.cfg", &mut sink);
        assert!(sink.items.is_empty(), "{:?}", sink.items);
        s
    }

    #[test]
    fn sections_properties_and_flags() {
        let s = parse_ok(
            "vlan: z1\n\tbridge vmbr0\n\tmtu 1500\n\nsubnet: z1-10.0.0.0-24\n\tvnet v1\n\tsnat\n",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].ty, "vlan");
        assert_eq!(s[0].id, "z1");
        assert_eq!(s[0].line, Some(1));
        assert_eq!(s[0].props[1].key, "mtu");
        assert_eq!(s[0].props[1].value, RawValue::Text("1500".into()));
        assert_eq!(s[0].props[1].line, Some(3));
        assert_eq!(s[1].props[1].value, RawValue::Flag);
    }

    #[test]
    fn comments_crlf_and_trailing_space() {
        let s = parse_ok("# head\r\nVNET: v1  \r\n    zone z1   \r\n# c\n\talias my net \n");
        assert_eq!(s[0].ty, "vnet");
        assert_eq!(s[0].props[0].value, RawValue::Text("z1".into()));
        assert_eq!(s[0].props[1].value, RawValue::Text("my net".into()));
    }

    #[test]
    fn broken_lines_are_reported_once_and_skipped() {
        let mut sink = Sink::default();
        let s = parse(
            "\tstray 1\nnot a header\n\tx 1\nvnet: v1\n\tzone z\nbad type!: x\n\tk v\n",
            "t.cfg",
            &mut sink,
        );
        assert_eq!(s.len(), 1);
        assert_eq!(sink.items.len(), 3);
        assert_eq!(sink.items[0].line, Some(1));
        assert_eq!(sink.items[1].line, Some(2));
        assert_eq!(sink.items[2].line, Some(6));
    }
}
