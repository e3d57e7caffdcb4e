//! Reading an SDN configuration from disk: the one file-system edge of
//! `config/`.
//!
//! Layer: I/O edge over the pure readers ([`parse_section_files`],
//! [`parse_running`]). `PATH` may be an SDN directory (`/etc/pve/sdn`: the
//! `.cfg` files and/or `.running-config`) or a single file: a
//! `.running-config`-style JSON snapshot, or one `.cfg` file recognised by
//! its name. Guarantees: nothing is validated or interpreted here (parse
//! diagnostics travel in [`Loaded::parsed`]); a missing `.cfg` file in a
//! directory is simply absent; every error names the path it is about.
//! Used by the CLI (`check`, `compile`, `render`) and by the daemon's
//! reloads alike.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Parsed, SdnFile, parse_running, parse_section_files};

/// Default SDN directory on a Proxmox node.
pub const DEFAULT_SDN_DIR: &str = "/etc/pve/sdn";

/// Which representation of a directory to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefer {
    /// The `.cfg` files (what users edit); `.running-config` only if no `.cfg` exists.
    Pending,
    /// `.running-config` (what was applied); the `.cfg` files only if it is absent.
    Running,
}

/// What was read, for messages.
#[derive(Debug)]
pub struct Loaded {
    /// The parsed configuration and its parse diagnostics.
    pub parsed: Parsed,
    /// The files actually read.
    pub files: Vec<PathBuf>,
}

/// Why a configuration could not be read (its content is never the reason:
/// parse problems are diagnostics).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path itself cannot be examined.
    #[error("cannot access {}", .path.display())]
    Access {
        /// The configuration path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// A file exists but cannot be read.
    #[error("reading {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: io::Error,
    },
    /// A directory without any configuration file.
    #[error("{} holds no SDN configuration (no .cfg files, no .running-config)", .path.display())]
    Empty {
        /// The directory.
        path: PathBuf,
    },
}

fn read_error(path: &Path) -> impl FnOnce(io::Error) -> LoadError + '_ {
    move |source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    }
}

/// The text of `path`, or `None` when it does not exist.
fn read_if_present(path: &Path) -> Result<Option<String>, LoadError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(read_error(path)(e)),
    }
}

fn load_running(path: &Path) -> Result<Loaded, LoadError> {
    let text = fs::read_to_string(path).map_err(read_error(path))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(Loaded {
        parsed: parse_running(&text, &name),
        files: vec![path.to_path_buf()],
    })
}

/// Loads the configuration at `path`.
pub fn load(path: &Path, prefer: Prefer) -> Result<Loaded, LoadError> {
    let meta = fs::metadata(path).map_err(|source| LoadError::Access {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(file) = SdnFile::ALL
            .iter()
            .copied()
            .find(|f| name.as_deref() == Some(f.file_name()))
        {
            let text = fs::read_to_string(path).map_err(read_error(path))?;
            return Ok(Loaded {
                parsed: parse_section_files(&[(file, text.as_str())]),
                files: vec![path.to_path_buf()],
            });
        }
        return load_running(path);
    }
    let running = path.join(".running-config");
    let mut texts: Vec<(SdnFile, String)> = Vec::new();
    let mut files = Vec::new();
    for f in SdnFile::ALL {
        let p = path.join(f.file_name());
        if let Some(t) = read_if_present(&p)? {
            texts.push((f, t));
            files.push(p);
        }
    }
    let use_running = running.is_file() && (prefer == Prefer::Running || texts.is_empty());
    if use_running {
        return load_running(&running);
    }
    if texts.is_empty() {
        return Err(LoadError::Empty {
            path: path.to_path_buf(),
        });
    }
    let refs: Vec<(SdnFile, &str)> = texts.iter().map(|(f, t)| (*f, t.as_str())).collect();
    Ok(Loaded {
        parsed: parse_section_files(&refs),
        files,
    })
}

/// The files of `path` whose change means the configuration changed: every
/// file [`load`] may read from a directory, or `path` itself.
pub fn watched_files(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        std::iter::once(".running-config")
            .chain(SdnFile::ALL.iter().map(|f| f.file_name()))
            .map(|f| path.join(f))
            .collect()
    } else {
        vec![path.to_path_buf()]
    }
}
