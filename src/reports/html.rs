//! The print-friendly HTML page: one handlebars template, strict, HTML-escaped.

use anyhow::Context as _;
use handlebars::Handlebars;

use super::view::ReportView;

/// The template's path below `templates/reports/`.
pub(crate) const TEMPLATE: &str = "report.html.hbs";

/// Compiles the page template (strict mode; the default escaping is HTML).
pub(crate) fn registry(source: &str) -> anyhow::Result<Handlebars<'static>> {
    let mut html = Handlebars::new();
    html.set_strict_mode(true);
    html.register_template_string(TEMPLATE, source)
        .with_context(|| format!("templates/reports/{TEMPLATE}"))?;
    Ok(html)
}

/// Renders the page.
pub(crate) fn render(html: &Handlebars<'static>, view: &ReportView) -> anyhow::Result<String> {
    html.render(TEMPLATE, view)
        .with_context(|| format!("rendering templates/reports/{TEMPLATE}"))
}
