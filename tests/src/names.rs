//! Namespace naming: every namespace this project creates starts with
//! [`PREFIX`] (`xsdnt-`), so the leftover sweep can recognise its own and
//! never touches anything else.
//!
//! - Automatic worlds (tests, demo, bench): `xsdnt-<pid>-<seq>-<role>`, e.g.
//!   `xsdnt-4242-3-node1`. The pid tells the sweep whether the owner is
//!   still alive; the per-process sequence number keeps parallel tests in
//!   one process apart.
//! - By-hand worlds (`xsdn-testbed up`): `xsdnt-m-<world>-<role>`. The
//!   automatic sweep ignores them; `xsdn-testbed down <world>` removes them.
//!
//! World names contain no `-`, so `xsdnt-m-<world>-` is an unambiguous prefix.
//! Pure functions only (unit tested without root).

use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Result, bail};

/// Prefix of every namespace (and temp dir) this project creates.
pub const PREFIX: &str = "xsdnt-";

/// Prefix of by-hand ("manual") world namespaces.
pub const MANUAL_PREFIX: &str = "xsdnt-m-";

/// Longest Linux interface name (`IFNAMSIZ` - 1).
pub const IFNAME_MAX: usize = 15;

/// Longest role name (node, guest or switch name inside a topology).
pub const ROLE_MAX: usize = 32;

/// Longest by-hand world name.
pub const WORLD_MAX: usize = 24;

static SEQ: AtomicU32 = AtomicU32::new(0);

/// How the namespaces of one world are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorldId {
    /// Automatic world of process `pid`, number `seq` in that process.
    Auto {
        /// Owning process.
        pid: u32,
        /// Per-process sequence number.
        seq: u32,
    },
    /// By-hand world with a user-chosen name.
    Manual(String),
}

impl WorldId {
    /// A fresh automatic id for this process.
    pub fn next_auto() -> Self {
        WorldId::Auto {
            pid: std::process::id(),
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// A by-hand id; checks the name.
    pub fn manual(name: &str) -> Result<Self> {
        check_world_name(name)?;
        Ok(WorldId::Manual(name.to_string()))
    }

    /// Common prefix of all namespaces of this world (ends with `-`).
    pub fn prefix(&self) -> String {
        match self {
            WorldId::Auto { pid, seq } => format!("{PREFIX}{pid}-{seq}-"),
            WorldId::Manual(name) => format!("{MANUAL_PREFIX}{name}-"),
        }
    }

    /// The real namespace name of `role` in this world.
    pub fn ns_name(&self, role: &str) -> String {
        format!("{}{role}", self.prefix())
    }

    /// Name of this world's temp directory (under the system temp dir).
    pub fn dir_name(&self) -> String {
        self.prefix().trim_end_matches('-').to_string()
    }
}

/// What a namespace name says about its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsOwner {
    /// `xsdnt-<pid>-<seq>-<role>`.
    Auto {
        /// Owning process.
        pid: u32,
        /// Per-process world number.
        seq: u32,
        /// Role inside the world.
        role: String,
    },
    /// `xsdnt-m-<world>-<role>`.
    Manual {
        /// By-hand world name.
        world: String,
        /// Role inside the world.
        role: String,
    },
}

/// Parses a namespace name created by this project; `None` for anything
/// else (including names that merely start with `xsdnt-`).
pub fn parse_ns_name(name: &str) -> Option<NsOwner> {
    if let Some(rest) = name.strip_prefix(MANUAL_PREFIX) {
        let (world, role) = rest.split_once('-')?;
        if check_world_name(world).is_err() || check_role(role).is_err() {
            return None;
        }
        return Some(NsOwner::Manual {
            world: world.to_string(),
            role: role.to_string(),
        });
    }
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, rest) = rest.split_once('-')?;
    let (seq, role) = rest.split_once('-')?;
    if !all_digits(pid) || !all_digits(seq) || check_role(role).is_err() {
        return None;
    }
    Some(NsOwner::Auto {
        pid: pid.parse().ok()?,
        seq: seq.parse().ok()?,
        role: role.to_string(),
    })
}

/// Parses an automatic world's temp directory name `xsdnt-<pid>-<seq>`
/// into `(pid, seq)`.
pub fn parse_dir_name(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, seq) = rest.split_once('-')?;
    if !all_digits(pid) || !all_digits(seq) {
        return None;
    }
    Some((pid.parse().ok()?, seq.parse().ok()?))
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a role (node, guest, switch) name: 1..=32 of `[A-Za-z0-9_-]`,
/// starting with a letter or digit.
pub fn check_role(role: &str) -> Result<()> {
    let ok_chars = role
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let ok_start = role
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    if !ok_chars || !ok_start || role.len() > ROLE_MAX {
        bail!(
            "invalid name {role:?}: use 1..={ROLE_MAX} letters, digits, '_' or '-', starting with a letter or digit"
        );
    }
    Ok(())
}

/// Checks a by-hand world name: 1..=24 of `[A-Za-z0-9_]` (no `-`).
pub fn check_world_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= WORLD_MAX
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        bail!("invalid world name {name:?}: use 1..={WORLD_MAX} letters, digits or '_' (no '-')");
    }
    Ok(())
}

/// Checks a Linux interface name: 1..=15 bytes, no `/`, `:`, whitespace.
pub fn check_ifname(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
    if !ok {
        bail!(
            "invalid interface name {name:?}: 1..={IFNAME_MAX} printable characters without '/' or ':'"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_names_are_unique_and_parse_back() {
        let a = WorldId::next_auto();
        let b = WorldId::next_auto();
        assert_ne!(a.ns_name("node1"), b.ns_name("node1"));
        let name = a.ns_name("node1");
        assert!(name.starts_with(&format!("xsdnt-{}-", std::process::id())));
        match parse_ns_name(&name) {
            Some(NsOwner::Auto { pid, role, .. }) => {
                assert_eq!(pid, std::process::id());
                assert_eq!(role, "node1");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn example_name() {
        let id = WorldId::Auto { pid: 4242, seq: 3 };
        assert_eq!(id.ns_name("node1"), "xsdnt-4242-3-node1");
        assert_eq!(id.dir_name(), "xsdnt-4242-3");
        assert_eq!(
            parse_ns_name("xsdnt-4242-3-my-vm"),
            Some(NsOwner::Auto {
                pid: 4242,
                seq: 3,
                role: "my-vm".into()
            })
        );
    }

    #[test]
    fn manual_names() {
        let id = WorldId::manual("demo").unwrap();
        assert_eq!(id.ns_name("vm1"), "xsdnt-m-demo-vm1");
        assert_eq!(
            parse_ns_name("xsdnt-m-demo-vm-1"),
            Some(NsOwner::Manual {
                world: "demo".into(),
                role: "vm-1".into()
            })
        );
        assert!(WorldId::manual("a-b").is_err());
        assert!(WorldId::manual("").is_err());
        assert!(WorldId::manual(&"x".repeat(25)).is_err());
    }

    #[test]
    fn foreign_names_are_not_ours() {
        for n in [
            "xsdn-1-2-node1",
            "xsdnt-",
            "xsdnt-abc-1-node",
            "xsdnt-12-node1",
            "xsdnt-12-3-",
            "xsdnt-m-demo",
            "xsdnt-m--vm1",
            "red",
            "xsdnt-1-2-a/b",
        ] {
            assert_eq!(parse_ns_name(n), None, "{n}");
        }
    }

    #[test]
    fn dir_names() {
        let id = WorldId::Auto { pid: 12, seq: 4 };
        assert_eq!(parse_dir_name(&id.dir_name()), Some((12, 4)));
        assert_eq!(parse_dir_name("xsdnt-m-demo"), None);
        assert_eq!(parse_dir_name("xsdnt-12-4-x"), None);
    }

    #[test]
    fn ifnames() {
        assert!(check_ifname("tap101i0").is_ok());
        assert!(check_ifname("eno1").is_ok());
        assert!(check_ifname("sixteen-chars-xx").is_err());
        assert!(check_ifname("a/b").is_err());
        assert!(check_ifname("").is_err());
        assert!(check_ifname("a b").is_err());
    }

    #[test]
    fn roles() {
        assert!(check_role("node1").is_ok());
        assert!(check_role("vm_2-x").is_ok());
        assert!(check_role("-x").is_err());
        assert!(check_role("a.b").is_err());
    }
}
