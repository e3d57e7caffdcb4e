//! Proxmox SDN configuration: readers, the typed model and the writer.
//!
//! Two inputs, one model: the section-config files of an SDN directory
//! (`zones.cfg`, `vnets.cfg`, ...) and the applied `.running-config` JSON
//! snapshot. Readers take text plus a file name for diagnostics and never do
//! I/O; [`load`] reads the files. Unknown keys and types are warnings and
//! survive a write; malformed values are errors; nothing panics.

pub mod build;
pub mod json_lines;
pub mod load;
pub mod model;
#[cfg(test)]
mod proptests;
pub mod running;
pub mod schema;
pub mod section;
pub mod services;
pub mod writer;

pub use model::*;

use crate::diag::{Diagnostic, Sink};

/// A parsed configuration and everything noticed while reading it.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The model.
    pub config: SdnConfig,
    /// Parse-time problems (syntax, types, unknown keys).
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses the section-config files of an SDN directory.
///
/// `files` holds `(file, text)` for every file present; missing files are
/// simply absent. Diagnostics name each file by its usual name.
pub fn parse_section_files(files: &[(SdnFile, &str)]) -> Parsed {
    let mut sink = Sink::default();
    let mut config = SdnConfig::default();
    for file in SdnFile::ALL {
        for (f, text) in files.iter().filter(|(f, _)| *f == file) {
            let name = f.file_name();
            let raw = section::parse(text, name, &mut sink);
            build::add_sections(&mut config, *f, name, &raw, &mut sink);
        }
    }
    Parsed {
        config,
        diagnostics: sink.items,
    }
}

/// Parses one section-config file into a fresh model.
pub fn parse_section_file(file: SdnFile, text: &str) -> Parsed {
    parse_section_files(&[(file, text)])
}

/// Parses a `.running-config` JSON snapshot; `file_name` is used in diagnostics.
pub fn parse_running(text: &str, file_name: &str) -> Parsed {
    let mut sink = Sink::default();
    let config = running::parse_running_config(text, file_name, &mut sink);
    Parsed {
        config,
        diagnostics: sink.items,
    }
}

/// Writes `file` of `config` as section-config text (see [`writer`]).
pub fn write_section_file(config: &SdnConfig, file: SdnFile) -> String {
    writer::write_file(config, file)
}
