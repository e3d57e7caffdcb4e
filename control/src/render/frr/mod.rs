//! `/etc/frr/frr.conf` for EVPN, BGP and IS-IS controllers and SDN fabrics.
//!
//! [`render_frr`] runs the reference's pipeline: controllers, zones and
//! VNets build a structured configuration ([`model::FrrConfig`]), the local
//! `frr.conf.local` is merged and route maps are numbered ([`local`]), the
//! fabric daemons are added, and the result is written in the reference's
//! layout. Pure: the local file's text is an argument.

pub mod build;
pub mod local;
pub mod model;

use crate::config::model::SdnConfig;
use crate::node::NodeFacts;

/// The rendered `frr.conf` and what was skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrrOutput {
    /// The file's content.
    pub text: String,
    /// Controllers or zones that could not be rendered, and why.
    pub warnings: Vec<String>,
    /// The structured configuration the text was written from.
    pub config: model::FrrConfig,
}

/// Renders `frr.conf` for the node; `local` is the content of `frr.conf.local`, if any.
pub fn render_frr(cfg: &SdnConfig, facts: &NodeFacts, local: Option<&str>) -> FrrOutput {
    let mut warnings = Vec::new();
    let mut frr = build::build(cfg, facts, &mut warnings);
    local::merge(&mut frr, local);
    crate::render::fabric::add_frr_sections(cfg, &facts.name, &mut frr);
    FrrOutput {
        text: frr.to_text(),
        warnings,
        config: frr,
    }
}
