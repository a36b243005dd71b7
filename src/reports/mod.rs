//! Regulator reports, the pure part: report definitions as data (`data/*.toml`, one form
//! per regulator, expanded to one definition per regime), the builder that fills a
//! definition's items from a plain [`ReportInput`], and the renderers (JSON through serde,
//! print-friendly HTML from `templates/reports/`, PDF with embedded fonts), plus the diff
//! of two versions. Nothing here does I/O: the store loads the input, the web layer serves
//! the output.
//!
//! ```text
//! ReportInput ──build(definition, phase)──> ReportDocument ──sha256──> version hash
//!                                              ├─ serde_json ──> JSON
//!                                              ├─ Reports::html ──> HTML
//!                                              ├─ Reports::pdf ──> PDF
//!                                              └─ diff(old, new) ──> ReportDiff
//! ```
//!
//! See `docs/reports.md` for the regulators, their items and where each value comes from.

mod builder;
mod definition;
mod diff;
mod document;
mod html;
mod input;
mod labels;
mod pdf;
mod values;
mod view;

#[cfg(test)]
mod tests;

pub use builder::build;
pub use definition::{
    Definition, ItemDefinition, ItemSource, PhaseDefinition, ReportPhase, ValueSource,
};
pub use diff::{ItemChange, ItemState, ReportDiff, diff};
pub use document::{ItemValue, ReportDocument, ReportItem};
pub use input::{
    AffectedCounts, Answer, Approval, BulletinRef, NotYetKnown, ObligationClock, OutcomeCounts,
    Proof, ReportInput, SampleNotice,
};
pub use view::VersionStamp;

use anyhow::Context as _;

use labels::LabelSet;

/// A report cannot be built or compared as asked (the caller's mistake: a 4xx).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// No report form for this regime.
    #[error("no regulator report for regime '{0}'")]
    UnknownRegime(String),
    /// The regime has no report for this phase.
    #[error("regime '{regime}' has no '{phase}' report; it has {expected}")]
    NoSuchPhase {
        /// Regime id.
        regime: String,
        /// The phase asked for.
        phase: ReportPhase,
        /// The phases it has, joined with `|`.
        expected: String,
    },
    /// Two versions of different reports cannot be compared.
    #[error("cannot compare versions of different reports ({old} and {new})")]
    DifferentReports {
        /// The older version's regime and phase.
        old: String,
        /// The newer version's regime and phase.
        new: String,
    },
}

#[derive(rust_embed::Embed)]
#[folder = "templates/reports/"]
struct ReportFiles;

/// The report definitions, templates, labels and fonts, loaded and checked once (at
/// start-up: an embedded defect fails construction, and a unit test constructs it).
pub struct Reports {
    definitions: Vec<Definition>,
    labels: LabelSet,
    html: handlebars::Handlebars<'static>,
    fonts: pdf::Fonts,
}

impl Reports {
    /// Everything built into the binary.
    pub fn embedded() -> anyhow::Result<Self> {
        let definitions = definition::load()
            .map_err(anyhow::Error::msg)
            .context("report definitions (src/reports/data)")?;
        let labels = LabelSet::from_files(ReportFiles::iter().filter_map(|path| {
            let language = path
                .strip_prefix("labels/")?
                .strip_suffix(".toml")?
                .to_owned();
            let file = ReportFiles::get(&path)?;
            Some((
                language,
                String::from_utf8_lossy(&file.data).into_owned().into(),
            ))
        }))?;
        if let Some(d) = definitions.iter().find(|d| !labels.has(&d.language)) {
            anyhow::bail!(
                "report form '{}' is in '{}', which has no labels",
                d.form,
                d.language
            );
        }
        let template = ReportFiles::get(html::TEMPLATE)
            .with_context(|| format!("templates/reports/{} is missing", html::TEMPLATE))?;
        let html = html::registry(&String::from_utf8_lossy(&template.data))?;
        Ok(Self {
            definitions,
            labels,
            html,
            fonts: pdf::Fonts::embedded()?,
        })
    }

    /// Every definition, in form order.
    pub fn definitions(&self) -> &[Definition] {
        &self.definitions
    }

    /// The definition for `regime`.
    pub fn definition(&self, regime: &str) -> Result<&Definition, ReportError> {
        self.definitions
            .iter()
            .find(|d| d.regime == regime)
            .ok_or_else(|| ReportError::UnknownRegime(regime.to_owned()))
    }

    /// Builds `regime`'s `phase` report from `input`.
    pub fn build(
        &self,
        regime: &str,
        phase: ReportPhase,
        input: &ReportInput,
    ) -> Result<ReportDocument, ReportError> {
        build(self.definition(regime)?, phase, input)
    }

    /// The print-friendly HTML page of `doc` at `stamp`.
    pub fn html(&self, doc: &ReportDocument, stamp: &VersionStamp) -> anyhow::Result<String> {
        let view = view::view(doc, stamp, &self.labels)?;
        html::render(&self.html, &view)
    }

    /// The PDF of `doc` at `stamp` (A4, fonts embedded, text selectable).
    pub fn pdf(&self, doc: &ReportDocument, stamp: &VersionStamp) -> anyhow::Result<Vec<u8>> {
        let view = view::view(doc, stamp, &self.labels)?;
        pdf::render(&self.fonts, &view)
    }
}
