//! Validation: every rule the reference enforces, plus the ones it forgets.
//!
//! [`validate`] looks at the whole model and reports *all* problems at once,
//! each located (file, line, section, key). It never stops early and never
//! panics. The rules live in small modules by subject; each rule is marked
//! `reference` (Proxmox refuses it too) or `xsdn` (an addition: off-by-one
//! limits, forgotten cross checks, things that break at runtime). The full
//! list is in `docs/control-plane.md`.

pub mod controllers;
pub mod ids;
pub mod vnets;
pub mod zones;

use crate::config::model::{SdnConfig, SdnFile};
use crate::config::{Parsed, schema, writer};
use crate::diag::{Diagnostic, Origin, Sink, with_article};

fn required(
    sink: &mut Sink,
    file: SdnFile,
    ty: &str,
    id: &str,
    origin: &Origin,
    props: &[(String, String)],
) {
    let Some(keys) = schema::keys(file, ty) else {
        return;
    };
    for spec in keys.iter().filter(|k| k.required) {
        let present = props.iter().any(|(k, _)| k == spec.key);
        // a key that was present with an unparsable value was already reported
        if !present && !origin.had_key(spec.key) {
            sink.error(
                origin,
                &format!("{} '{id}'", file.noun()),
                Some(spec.key),
                format!(
                    "missing required key for {} {}",
                    with_article(ty),
                    file.noun()
                ),
            );
        }
    }
}

fn check_required(cfg: &SdnConfig, sink: &mut Sink) {
    for z in &cfg.zones {
        let ty = z.zone_type.as_str();
        required(
            sink,
            SdnFile::Zones,
            ty,
            &z.id,
            &z.origin,
            &writer::zone_props(z),
        );
    }
    for v in &cfg.vnets {
        required(
            sink,
            SdnFile::Vnets,
            "vnet",
            &v.id,
            &v.origin,
            &writer::vnet_props(v),
        );
    }
    for s in &cfg.subnets {
        required(
            sink,
            SdnFile::Subnets,
            "subnet",
            &s.id,
            &s.origin,
            &writer::subnet_props(s),
        );
    }
    for c in &cfg.controllers {
        let ty = c.controller_type.as_str();
        required(
            sink,
            SdnFile::Controllers,
            ty,
            &c.id,
            &c.origin,
            &writer::controller_props(c),
        );
    }
    for i in &cfg.ipams {
        let ty = i.ipam_type.as_str();
        required(
            sink,
            SdnFile::Ipams,
            ty,
            &i.id,
            &i.origin,
            &writer::ipam_props(i),
        );
    }
    for d in &cfg.dns {
        let ty = d.dns_type.as_str();
        required(
            sink,
            SdnFile::Dns,
            ty,
            &d.id,
            &d.origin,
            &writer::dns_props(d),
        );
    }
    for f in &cfg.fabrics {
        let ty = f.fabric_type.as_str();
        required(
            sink,
            SdnFile::Fabrics,
            ty,
            &f.id,
            &f.origin,
            &writer::fabric_props(f),
        );
    }
}

/// Checks the whole configuration and returns every problem found.
pub fn validate(cfg: &SdnConfig) -> Vec<Diagnostic> {
    let mut sink = Sink::default();
    ids::check(cfg, &mut sink);
    check_required(cfg, &mut sink);
    zones::check(cfg, &mut sink);
    vnets::check_vnets(cfg, &mut sink);
    vnets::check_subnets(cfg, &mut sink);
    controllers::check_controllers(cfg, &mut sink);
    controllers::check_ipams_dns(cfg, &mut sink);
    controllers::check_fabrics(cfg, &mut sink);
    sink.items
}

/// Parse diagnostics plus validation, sorted by file and line.
pub fn report(parsed: &Parsed) -> Vec<Diagnostic> {
    let mut all = parsed.diagnostics.clone();
    all.extend(validate(&parsed.config));
    let file_rank = |f: &str| {
        SdnFile::ALL
            .iter()
            .position(|x| x.file_name() == f)
            .unwrap_or(SdnFile::ALL.len())
    };
    all.sort_by(|a, b| {
        (file_rank(&a.file), &a.file, a.line.unwrap_or(0)).cmp(&(
            file_rank(&b.file),
            &b.file,
            b.line.unwrap_or(0),
        ))
    });
    all
}

#[cfg(test)]
mod tests;
