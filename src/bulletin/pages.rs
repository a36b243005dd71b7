//! The public pages, the home-page banner and the press statement: handlebars
//! templates embedded from `templates/bulletins/` (strict mode, HTML escaped; the
//! text statement unescaped), words per locale from `labels/<locale>.toml`, and the
//! visitor's language chosen from `?lang=`, `Accept-Language`, the tenant default.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::NaiveDateTime;
use handlebars::Handlebars;
use serde::{Deserialize, Serialize};

use super::content::BulletinText;
use crate::domain::format_instant;
use crate::notices::locale::best_match;

#[derive(rust_embed::Embed)]
#[folder = "templates/bulletins/"]
struct BulletinFiles;

/// HTML templates (escaped) and the partials they share (`items`, `style`).
const HTML: [&str; 7] = [
    "page", "list", "banner", "press", "items", "style", "inquiry",
];

/// The words of the pages in one language.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    language_name: String,
    notices: String,
    summary: String,
    likely_impact: String,
    measures_taken: String,
    advice: String,
    remedies: String,
    contact: String,
    inquiry_desk: String,
    phone: String,
    email: String,
    hours: String,
    web: String,
    first_published: String,
    updated: String,
    versions: String,
    version: String,
    withdrawn: String,
    reason: String,
    other_languages: String,
    feed: String,
    none: String,
    banner: String,
    read: String,
    press: String,
    inquiry_form: String,
    inquiry_contact: String,
    inquiry_submit: String,
    inquiry_received: String,
    inquiry_back: String,
}

impl Labels {
    /// "Notices".
    pub fn notices(&self) -> &str {
        &self.notices
    }

    /// The banner's text.
    pub fn banner(&self) -> &str {
        &self.banner
    }

    /// "This notice was withdrawn on".
    pub fn withdrawn(&self) -> &str {
        &self.withdrawn
    }

    /// The inquiry desk's one answer ("if your details are in our records, …").
    pub fn inquiry_received(&self) -> &str {
        &self.inquiry_received
    }
}

/// The compiled templates and every locale's words.
pub struct Pages {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    labels: BTreeMap<String, Labels>,
}

static PAGES: OnceLock<Result<Pages, String>> = OnceLock::new();

impl Pages {
    /// The embedded templates, compiled once (a defect is caught by unit tests).
    pub fn get() -> Result<&'static Pages, String> {
        PAGES
            .get_or_init(Self::embedded)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn embedded() -> Result<Pages, String> {
        let file = |path: &str| {
            BulletinFiles::get(path)
                .map(|f| String::from_utf8_lossy(&f.data).into_owned())
                .ok_or_else(|| format!("templates/bulletins/{path} is missing"))
        };
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        for name in HTML {
            let source = match name {
                "style" => file("style.css.hbs")?,
                n => file(&format!("{n}.html.hbs"))?,
            };
            html.register_template_string(name, source)
                .map_err(|e| format!("templates/bulletins/{name}: {e}"))?;
        }
        let mut text = Handlebars::new();
        text.set_strict_mode(true);
        text.register_escape_fn(handlebars::no_escape);
        text.register_template_string("press", file("press.txt.hbs")?)
            .map_err(|e| format!("templates/bulletins/press.txt: {e}"))?;
        let mut labels = BTreeMap::new();
        for path in BulletinFiles::iter().filter(|p| p.starts_with("labels/")) {
            let locale = path
                .trim_start_matches("labels/")
                .trim_end_matches(".toml")
                .to_owned();
            let words: Labels = toml::from_str(&file(&path)?)
                .map_err(|e| format!("templates/bulletins/{path}: {e}"))?;
            labels.insert(locale, words);
        }
        Ok(Pages { html, text, labels })
    }

    /// The locales the pages have words for.
    pub fn locales(&self) -> Vec<String> {
        self.labels.keys().cloned().collect()
    }

    /// The words for `locale` (matched by language), else English.
    pub fn labels(&self, locale: &str) -> Result<&Labels, String> {
        let keys = self.locales();
        let key = best_match(locale, &keys).unwrap_or("en").to_owned();
        self.labels
            .get(&key)
            .ok_or_else(|| format!("no labels for {key}"))
    }

    /// The language's own name (`日本語`), or the tag itself when unknown.
    pub fn language_name(&self, locale: &str) -> String {
        self.labels
            .get(locale)
            .map_or_else(|| locale.to_owned(), |l| l.language_name.clone())
    }

    /// Renders an HTML template (`page`, `list`, `banner`, `press`).
    pub fn html<T: Serialize>(&self, name: &str, context: &T) -> Result<String, String> {
        self.html
            .render(name, context)
            .map_err(|e| format!("{name}: {e}"))
    }

    /// Renders the plain-text press statement.
    pub fn press_text(&self, context: &BulletinView<'_>) -> Result<String, String> {
        self.text
            .render("press", context)
            .map_err(|e| format!("press.txt: {e}"))
    }
}

/// An instant for a page: RFC 3339 for `datetime`, and words to read.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    /// RFC 3339.
    pub at: String,
    /// `2026-03-02 10:00 UTC`.
    pub text: String,
}

impl Shown {
    /// Both forms of `at`.
    pub fn of(at: NaiveDateTime) -> Self {
        Self {
            at: format_instant(at),
            text: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

/// A link to the same bulletin in another language.
#[derive(Debug, Clone, Serialize)]
pub struct LanguageLink {
    /// Locale tag.
    pub locale: String,
    /// The language's own name.
    pub name: String,
    /// The page in that language.
    pub url: String,
}

/// One public version in the history.
#[derive(Debug, Clone, Serialize)]
pub struct VersionLine {
    /// Number.
    pub version: i32,
    /// When it became public (RFC 3339).
    pub at: String,
    /// Readable.
    pub at_text: String,
    /// Whether it is the withdrawal.
    pub withdrawal: bool,
    /// First 12 hex digits of its SHA-256.
    pub short_hash: String,
}

/// When and why a bulletin was withdrawn.
#[derive(Debug, Clone, Serialize)]
pub struct Withdrawal {
    /// RFC 3339.
    pub at: String,
    /// Readable.
    pub at_text: String,
    /// The reason given.
    pub reason: Option<String>,
}

/// Everything the bulletin page and the press statement show.
#[derive(Debug, Clone, Serialize)]
pub struct BulletinView<'a> {
    /// The language shown.
    pub lang: String,
    /// The organisation.
    pub tenant: String,
    /// Words.
    pub labels: &'a Labels,
    /// The text in that language.
    pub text: &'a BulletinText,
    /// Whether the inquiry desk is given.
    pub desk: bool,
    /// First publication.
    pub first_published: Shown,
    /// Last change of the public version, when after the first publication.
    pub updated: Option<Shown>,
    /// Set when withdrawn.
    pub withdrawn: Option<Withdrawal>,
    /// Every public version.
    pub versions: Vec<VersionLine>,
    /// Every language, for `hreflang` alternates.
    pub languages: Vec<LanguageLink>,
    /// The other languages, for the visible links.
    pub others: Vec<LanguageLink>,
    /// This page.
    pub url: String,
    /// The tenant's list of bulletins.
    pub list_url: String,
    /// The tenant's feed.
    pub feed_url: String,
    /// Where the "am I affected?" form posts (empty once withdrawn: no form).
    pub inquiry_url: String,
}

/// The inquiry desk's answer page: the same for every inquiry.
#[derive(Debug, Clone, Serialize)]
pub struct InquiryView<'a> {
    /// The language shown.
    pub lang: String,
    /// The organisation.
    pub tenant: String,
    /// Words.
    pub labels: &'a Labels,
    /// The bulletin's title in that language.
    pub title: String,
    /// The bulletin's page.
    pub url: String,
}

/// One line of the list, or one banner link.
#[derive(Debug, Clone, Serialize)]
pub struct ListItem {
    /// Title in the language shown.
    pub title: String,
    /// That language.
    pub lang: String,
    /// The page.
    pub url: String,
    /// First publication (RFC 3339).
    pub at: String,
    /// Readable.
    pub at_text: String,
    /// Set when withdrawn.
    pub withdrawn: Option<Withdrawal>,
}

/// The tenant's list page and banner.
#[derive(Debug, Clone, Serialize)]
pub struct ListView<'a> {
    /// The language of the page's words.
    pub lang: String,
    /// The organisation.
    pub tenant: String,
    /// Words.
    pub labels: &'a Labels,
    /// Bulletins (for the banner: the live ones).
    pub bulletins: Vec<ListItem>,
    /// The tenant's feed.
    pub feed_url: String,
}

/// The language to show: `?lang=`, then `Accept-Language` (by q-value), then the
/// tenant's default, then the bulletin's own default — the first that `available`
/// has (matched exactly or by language).
pub fn negotiate(
    query: Option<&str>,
    accept_language: Option<&str>,
    tenant_default: &str,
    available: &[String],
    fallback: &str,
) -> String {
    let mut wanted: Vec<String> = query.map(str::to_owned).into_iter().collect();
    wanted.extend(accepted(accept_language.unwrap_or("")));
    wanted.push(tenant_default.to_owned());
    wanted
        .iter()
        .find_map(|w| best_match(w, available))
        .unwrap_or(fallback)
        .to_owned()
}

/// The tags of an `Accept-Language` header, highest q first (`*` and q=0 left out).
fn accepted(header: &str) -> Vec<String> {
    let mut tags: Vec<(f32, usize, String)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let tag = pieces.next()?.trim();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (!tag.is_empty() && tag != "*" && q > 0.0).then(|| (q, i, tag.to_owned()))
        })
        .collect();
    tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    tags.into_iter().map(|(_, _, tag)| tag).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn available() -> Vec<String> {
        ["ja", "en", "zh-CN"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn language_is_query_then_header_then_tenant_default() {
        let a = available();
        assert_eq!(negotiate(Some("en"), Some("ja"), "ja", &a, "ja"), "en");
        assert_eq!(
            negotiate(
                Some("fr"),
                Some("fr, zh-Hans-CN;q=0.8, en;q=0.9"),
                "ja",
                &a,
                "ja"
            ),
            "en"
        );
        assert_eq!(
            negotiate(None, Some("zh-CN,zh;q=0.9"), "ja", &a, "ja"),
            "zh-CN"
        );
        assert_eq!(negotiate(None, Some("de, *;q=0.5"), "ja", &a, "en"), "ja");
        assert_eq!(negotiate(None, None, "ru", &a, "en"), "en");
        assert_eq!(negotiate(None, Some("en;q=0"), "ja", &a, "en"), "ja");
    }

    #[test]
    fn embedded_templates_and_labels_compile_for_every_language() {
        let pages = Pages::get().unwrap();
        assert_eq!(pages.locales(), ["en", "ja", "ru", "zh-CN", "zh-TW"]);
        assert_eq!(pages.labels("zh-Hant").unwrap().language_name, "繁體中文");
        assert_eq!(pages.labels("de").unwrap().language_name, "English");
    }
}
