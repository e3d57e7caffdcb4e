//! The `xsdn` subcommands, one module each.

pub mod check;
pub mod compile;
pub mod render;
pub mod sdn_io;
pub mod show;
pub mod switch;
