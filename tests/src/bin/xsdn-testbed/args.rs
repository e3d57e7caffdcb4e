//! A tiny argument parser: positionals and `--flag VALUE` / `--flag=VALUE`
//! options, with unknown options rejected.

use std::collections::HashMap;
use std::str::FromStr;

use anyhow::{Context, Result, bail};

/// Parsed arguments of one subcommand.
pub struct Args {
    /// Positional arguments in order.
    pub positional: Vec<String>,
    options: HashMap<String, String>,
}

impl Args {
    /// Parses `args`, accepting only the `--` options in `known`.
    pub fn parse(args: &[String], known: &[&str]) -> Result<Args> {
        let mut positional = Vec::new();
        let mut options = HashMap::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(opt) = a.strip_prefix("--") else {
                positional.push(a.clone());
                continue;
            };
            let (name, value) = match opt.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => {
                    let v = it
                        .next()
                        .with_context(|| format!("--{opt} needs a value"))?;
                    (opt.to_string(), v.clone())
                }
            };
            if !known.contains(&name.as_str()) {
                bail!("unknown option --{name} (try --help)");
            }
            options.insert(name, value);
        }
        Ok(Args {
            positional,
            options,
        })
    }

    /// An optional option's raw value.
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// A required option, parsed.
    pub fn req<T: FromStr>(&self, name: &str) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        let v = self
            .opt(name)
            .with_context(|| format!("--{name} is required"))?;
        v.parse()
            .map_err(|e| anyhow::anyhow!("--{name} {v:?}: {e}"))
    }

    /// An option with a default, parsed.
    pub fn or<T: FromStr>(&self, name: &str, default: T) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.opt(name) {
            Some(_) => self.req(name),
            None => Ok(default),
        }
    }

    /// Exactly one positional argument.
    pub fn one(&self, what: &str) -> Result<&str> {
        match self.positional.as_slice() {
            [one] => Ok(one),
            [] => bail!("missing {what}"),
            _ => bail!("expected one {what}, got {:?}", self.positional),
        }
    }

    /// No positional arguments.
    pub fn none(&self) -> Result<()> {
        if !self.positional.is_empty() {
            bail!("unexpected arguments {:?}", self.positional);
        }
        Ok(())
    }
}
