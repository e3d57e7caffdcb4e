//! The gate in front of `check`, `compile` and `render`: exit statuses,
//! printing the diagnostics of a loaded configuration, and the `--force`
//! rule.
//!
//! Layer: CLI edge (prints on stderr). Guarantee: `compile` and `render`
//! produce nothing from a configuration with errors unless forced, and say
//! so in one line.

use std::process::ExitCode;

use crate::config::load::Loaded;

/// Exit status of `check`, `compile` and `render` when the configuration
/// has errors.
pub const EXIT_CONFIG_ERRORS: u8 = 1;
/// Exit status for usage errors, I/O errors and missing node facts.
pub const EXIT_USAGE: u8 = 2;

/// Prints the parse and validation diagnostics of `loaded` on stderr, one
/// per line, and returns how many are errors.
pub fn print_diagnostics(loaded: &Loaded) -> usize {
    let diags = crate::validate::report(&loaded.parsed);
    for d in &diags {
        eprintln!("{}: {d}", d.severity);
    }
    diags.iter().filter(|d| d.is_error()).count()
}

/// The gate in front of `compile` and `render`: prints the diagnostics and,
/// when there are errors and no `--force`, says that nothing is produced and
/// returns the exit status to stop with.
pub fn refuse_errors(cmd: &str, loaded: &Loaded, force: bool) -> Option<ExitCode> {
    let errors = print_diagnostics(loaded);
    if errors == 0 {
        return None;
    }
    if force {
        eprintln!("xsdn {cmd}: the configuration has {errors} error(s); going on anyway (--force)");
        return None;
    }
    eprintln!(
        "xsdn {cmd}: the configuration has {errors} error(s); nothing produced (fix them, or pass --force)"
    );
    Some(ExitCode::from(EXIT_CONFIG_ERRORS))
}
