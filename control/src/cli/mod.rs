//! The `xsdn` subcommands, one module each, plus the pieces they share.
//!
//! Layer: the binary's edge (arguments, printing, exit statuses); the work
//! is done by the library modules they call.

pub mod check;
pub mod compile;
pub mod facts_args;
pub mod gate;
pub mod render;
pub mod show;
pub mod switch;
