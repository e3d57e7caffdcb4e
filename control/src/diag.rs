//! Diagnostics: one type for every problem the control plane reports.
//!
//! A [`Diagnostic`] names the file, the line (when known), the section
//! (`zone 'myzone'`) and the key (`tag`) it is about, so a person can find and
//! fix it. Parsing, validation, compilation and rendering all report through
//! this type and never abort on the first problem.
//!
//! [`error_chain`] writes any error with its causes on one line, the way
//! diagnostics and log fields show them.
//!
//! [`Origin`] records where a section and each of its keys came from. It is
//! metadata only: two origins always compare equal, so two configurations are
//! equal when their content is, wherever it was read from.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The configuration is wrong; Proxmox would reject it or generate broken output.
    Error,
    /// Suspicious or ignored, but usable.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem, located as precisely as the input allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// File name as given to the reader (e.g. `zones.cfg`, `.running-config`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// The section, e.g. `zone 'myzone'`.
    pub section: Option<String>,
    /// The key inside the section, e.g. `tag`.
    pub key: Option<String>,
    /// What is wrong, phrased so that a person can act on it.
    pub message: String,
}

impl Diagnostic {
    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `zones.cfg:12: zone 'myzone', key 'tag': VLAN tag 4096 is out of range 1..4094`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        match (&self.section, &self.key) {
            (Some(s), Some(k)) => write!(f, "{s}, key '{k}': ")?,
            (Some(s), None) => write!(f, "{s}: ")?,
            (None, Some(k)) => write!(f, "key '{k}': ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

/// An error and its causes on one line (`a: b: c`), for log fields and
/// one-line messages.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// `word` with its indefinite article: `a vlan`, `an evpn`, `an isis`.
pub fn with_article(word: &str) -> String {
    let vowel = word
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {word}", if vowel { "an" } else { "a" })
}

/// Where a section (and each of its keys) was read from.
///
/// Equality ignores the content: origins are diagnostic metadata.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Origin {
    /// File name for diagnostics.
    pub file: String,
    /// Line of the section header (or of the JSON object), if known.
    pub line: Option<u32>,
    /// Line of each key, if known.
    pub keys: BTreeMap<String, u32>,
    /// Keys that were present but whose value could not be parsed.
    pub invalid: Vec<String>,
}

impl PartialEq for Origin {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for Origin {}

impl Origin {
    /// An origin for a file without line information.
    pub fn file(file: &str) -> Self {
        Origin {
            file: file.to_string(),
            ..Origin::default()
        }
    }

    /// The line of `key`, falling back to the section's line.
    pub fn line_of(&self, key: &str) -> Option<u32> {
        self.keys.get(key).copied().or(self.line)
    }

    /// True if `key` was present in the input (even with an invalid value).
    pub fn had_key(&self, key: &str) -> bool {
        self.keys.contains_key(key) || self.invalid.iter().any(|k| k == key)
    }
}

/// A collector that makes located diagnostics short to write.
#[derive(Debug, Default)]
pub struct Sink {
    /// Everything reported so far, in report order.
    pub items: Vec<Diagnostic>,
}

impl Sink {
    /// Reports a problem about `key` of the section `section` read from `origin`.
    pub fn at(
        &mut self,
        severity: Severity,
        origin: &Origin,
        section: &str,
        key: Option<&str>,
        message: impl Into<String>,
    ) {
        let line = match key {
            Some(k) => origin.line_of(k),
            None => origin.line,
        };
        self.items.push(Diagnostic {
            severity,
            file: origin.file.clone(),
            line,
            section: Some(section.to_string()),
            key: key.map(str::to_string),
            message: message.into(),
        });
    }

    /// Reports an error about `key` (or the whole section when `None`).
    pub fn error(
        &mut self,
        origin: &Origin,
        section: &str,
        key: Option<&str>,
        msg: impl Into<String>,
    ) {
        self.at(Severity::Error, origin, section, key, msg);
    }

    /// Reports a warning about `key` (or the whole section when `None`).
    pub fn warn(
        &mut self,
        origin: &Origin,
        section: &str,
        key: Option<&str>,
        msg: impl Into<String>,
    ) {
        self.at(Severity::Warning, origin, section, key, msg);
    }

    /// Reports a problem that belongs to a file line but to no section.
    pub fn line(
        &mut self,
        severity: Severity,
        file: &str,
        line: Option<u32>,
        msg: impl Into<String>,
    ) {
        self.items.push(Diagnostic {
            severity,
            file: file.to_string(),
            line,
            section: None,
            key: None,
            message: msg.into(),
        });
    }

    /// Number of errors reported so far.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_section_and_key() {
        let d = Diagnostic {
            severity: Severity::Error,
            file: "zones.cfg".into(),
            line: Some(12),
            section: Some("zone 'myzone'".into()),
            key: Some("tag".into()),
            message: "VLAN tag 4096 is out of range 1..4094".into(),
        };
        assert_eq!(
            d.to_string(),
            "zones.cfg:12: zone 'myzone', key 'tag': VLAN tag 4096 is out of range 1..4094"
        );
    }

    #[test]
    fn display_without_line_or_key() {
        let d = Diagnostic {
            severity: Severity::Warning,
            file: ".running-config".into(),
            line: None,
            section: Some("vnet 'v1'".into()),
            key: None,
            message: "unused".into(),
        };
        assert_eq!(d.to_string(), ".running-config: vnet 'v1': unused");
    }

    #[test]
    fn articles() {
        assert_eq!(with_article("evpn"), "an evpn");
        assert_eq!(with_article("isis"), "an isis");
        assert_eq!(with_article("vlan"), "a vlan");
    }

    #[test]
    fn origins_never_affect_equality() {
        let mut a = Origin::file("a");
        a.line = Some(3);
        assert_eq!(a, Origin::file("b"));
    }
}
