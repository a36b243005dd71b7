//! The compiled notice templates: one pair of registries per locale.

use std::collections::BTreeMap;

use anyhow::{Context as _, anyhow, bail};
use handlebars::{Context, Handlebars};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Audience, Channel, NoticeContext};
use crate::domain::DataCategory;

#[derive(rust_embed::Embed)]
#[folder = "templates/notices/"]
struct NoticeFiles;

/// The files each locale must have, for each audience, per channel.
const CHANNEL_FILES: &[(Channel, &[&str])] = &[
    (Channel::Email, &["subject.txt", "body.txt", "body.html"]),
    (Channel::Sms, &["body.txt"]),
    (Channel::Push, &["title.txt", "body.txt"]),
    (Channel::Letter, &["body.html"]),
    (Channel::Phone, &["script.txt"]),
];

/// The per-person notice page, reached from SMS and push.
const PAGE: &str = "page";

/// What one rendering produced; fields a channel does not use are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// E-mail subject or push title.
    pub subject: Option<String>,
    /// Plain text (e-mail text part, SMS, push body, call script).
    pub text: Option<String>,
    /// HTML (e-mail HTML part, letter, notice page).
    pub html: Option<String>,
}

impl Rendered {
    /// All parts joined, for searching.
    pub fn joined(&self) -> String {
        [&self.subject, &self.text, &self.html]
            .iter()
            .filter_map(|p| p.as_deref())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Labels {
    language_name: String,
    categories: BTreeMap<String, String>,
}

struct LocaleSet {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    labels: Labels,
    sources: BTreeMap<String, String>,
}

/// Every locale's templates, compiled once.
pub struct Templates {
    locales: BTreeMap<String, LocaleSet>,
}

impl Templates {
    /// The templates built into the binary.
    pub fn embedded() -> anyhow::Result<Self> {
        let files = NoticeFiles::iter().map(|path| {
            let text = NoticeFiles::get(&path)
                .map(|f| String::from_utf8_lossy(&f.data).into_owned())
                .unwrap_or_default();
            (path.into_owned(), text)
        });
        Self::from_files(files)
    }

    /// The built-in templates with the files under `dir` (same layout as
    /// `templates/notices/`) replacing or adding to them.
    pub fn with_overrides(dir: &std::path::Path) -> anyhow::Result<Self> {
        let mut files: BTreeMap<String, String> = NoticeFiles::iter()
            .map(|path| {
                let text = NoticeFiles::get(&path)
                    .map(|f| String::from_utf8_lossy(&f.data).into_owned())
                    .unwrap_or_default();
                (path.into_owned(), text)
            })
            .collect();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(&folder)
                .with_context(|| format!("cannot read {}", folder.display()))?
            {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(relative) = path.strip_prefix(dir) {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    files.insert(relative.to_string_lossy().replace('\\', "/"), text);
                }
            }
        }
        Self::from_files(files.into_iter())
            .with_context(|| format!("templates in {}", dir.display()))
    }

    /// Builds from `(path below templates/notices, contents)` pairs.
    pub fn from_files(files: impl Iterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut sets: BTreeMap<String, LocaleSet> = BTreeMap::new();
        let mut pending = Vec::new();
        for (path, text) in files {
            if let Some(locale) = path
                .strip_prefix("labels/")
                .and_then(|f| f.strip_suffix(".toml"))
            {
                let labels: Labels =
                    toml::from_str(&text).with_context(|| format!("templates/notices/{path}"))?;
                sets.insert(locale.to_owned(), LocaleSet::new(labels));
            } else {
                pending.push((path, text));
            }
        }
        for (path, text) in pending {
            let (locale, kind, name) = classify(&path)?;
            let set = sets
                .get_mut(&locale)
                .ok_or_else(|| anyhow!("templates/notices/{path}: no labels/{locale}.toml"))?;
            set.add(kind, &name, text)
                .with_context(|| format!("templates/notices/{path}"))?;
        }
        for (locale, set) in &sets {
            set.check_complete()
                .with_context(|| format!("notice templates for {locale}"))?;
        }
        if !sets.contains_key("en") {
            bail!("notice templates: English (en) is the last fallback and must exist");
        }
        Ok(Self { locales: sets })
    }

    /// Locales with templates, sorted.
    pub fn locales(&self) -> Vec<String> {
        self.locales.keys().cloned().collect()
    }

    /// The language's own name (`日本語`).
    pub fn language_name(&self, locale: &str) -> Option<&str> {
        self.locales
            .get(locale)
            .map(|s| s.labels.language_name.as_str())
    }

    /// Category names in the locale's words.
    pub fn category_labels(&self, locale: &str, categories: &[DataCategory]) -> Vec<String> {
        let labels = self.locales.get(locale).map(|s| &s.labels.categories);
        categories
            .iter()
            .map(|c| {
                labels
                    .and_then(|l| l.get(c.as_str()))
                    .cloned()
                    .unwrap_or_else(|| c.as_str().replace('_', " "))
            })
            .collect()
    }

    /// Renders one channel's notice.
    pub fn render(
        &self,
        locale: &str,
        channel: Channel,
        audience: Audience,
        ctx: &NoticeContext,
    ) -> anyhow::Result<Rendered> {
        let set = self.set(locale)?;
        let dir = channel.as_str();
        let ctx = Context::wraps(ctx)?;
        let part = |file: &str| {
            set.render(&template_name(dir, audience, file), &ctx)
                .map(Some)
        };
        Ok(match channel {
            Channel::Email => Rendered {
                subject: part("subject.txt")?,
                text: part("body.txt")?,
                html: part("body.html")?,
            },
            Channel::Sms => Rendered {
                text: part("body.txt")?,
                ..Rendered::default()
            },
            Channel::Push => Rendered {
                subject: part("title.txt")?,
                text: part("body.txt")?,
                ..Rendered::default()
            },
            Channel::Letter => Rendered {
                html: part("body.html")?,
                ..Rendered::default()
            },
            Channel::Phone => Rendered {
                text: part("script.txt")?,
                ..Rendered::default()
            },
        })
    }

    /// Renders the per-person notice page.
    pub fn render_page(
        &self,
        locale: &str,
        audience: Audience,
        ctx: &NoticeContext,
    ) -> anyhow::Result<String> {
        self.set(locale)?.render(
            &template_name(PAGE, audience, "body.html"),
            &Context::wraps(ctx)?,
        )
    }

    /// SHA-256 over the sources a channel's notice is rendered from (its files, the
    /// page for SMS and push, and the locale's partials and labels), so an approval
    /// can be bound to exactly what will be sent.
    pub fn content_hash(
        &self,
        locale: &str,
        channel: Channel,
        audience: Audience,
    ) -> anyhow::Result<String> {
        let set = self.set(locale)?;
        let dirs = [channel.as_str(), PAGE];
        let mut hasher = Sha256::new();
        for (name, source) in &set.sources {
            let relevant = name.starts_with("partials/")
                || name.starts_with("labels")
                || dirs.iter().any(|d| {
                    name.starts_with(&format!("{d}/"))
                        && (audience == Audience::Guardian) == name.contains("/guardian/")
                });
            if relevant {
                hasher.update(name.as_bytes());
                hasher.update([0]);
                hasher.update(source.as_bytes());
                hasher.update([0]);
            }
        }
        Ok(hex::encode(hasher.finalize()))
    }

    fn set(&self, locale: &str) -> anyhow::Result<&LocaleSet> {
        self.locales
            .get(locale)
            .ok_or_else(|| anyhow!("no notice templates for locale {locale}"))
    }
}

fn template_name(dir: &str, audience: Audience, file: &str) -> String {
    match audience {
        Audience::Subject => format!("{dir}/{file}"),
        Audience::Guardian => format!("{dir}/guardian/{file}"),
    }
}

enum Kind {
    Template,
    Partial,
}

/// `email/ja/guardian/body.html.hbs` → (`ja`, template, `email/guardian/body.html`);
/// `partials/ja/items.txt.hbs` → (`ja`, partial, `items_txt`).
fn classify(path: &str) -> anyhow::Result<(String, Kind, String)> {
    let stem = path
        .strip_suffix(".hbs")
        .ok_or_else(|| anyhow!("templates/notices/{path}: expected a .hbs file"))?;
    let mut parts = stem.splitn(3, '/');
    let (Some(dir), Some(locale), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("templates/notices/{path}: expected <channel>/<locale>/<file>.hbs");
    };
    if dir == "partials" {
        let name = rest.replacen('.', "_", 1);
        return Ok((locale.to_owned(), Kind::Partial, name));
    }
    Ok((locale.to_owned(), Kind::Template, format!("{dir}/{rest}")))
}

impl LocaleSet {
    fn new(labels: Labels) -> Self {
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        let mut text = Handlebars::new();
        text.set_strict_mode(true);
        text.register_escape_fn(handlebars::no_escape);
        Self {
            html,
            text,
            labels,
            sources: BTreeMap::new(),
        }
    }

    fn add(&mut self, kind: Kind, name: &str, source: String) -> anyhow::Result<()> {
        let registry = if name.ends_with("html") {
            &mut self.html
        } else {
            &mut self.text
        };
        match kind {
            Kind::Template => registry.register_template_string(name, &source)?,
            Kind::Partial => registry.register_partial(name, source.clone())?,
        }
        let key = match kind {
            Kind::Template => name.to_owned(),
            Kind::Partial => format!("partials/{name}"),
        };
        self.sources.insert(key, source);
        Ok(())
    }

    fn check_complete(&self) -> anyhow::Result<()> {
        let required = CHANNEL_FILES
            .iter()
            .flat_map(|(channel, files)| files.iter().map(move |f| (channel.as_str(), *f)))
            .chain(std::iter::once((PAGE, "body.html")));
        for (dir, file) in required {
            for audience in [Audience::Subject, Audience::Guardian] {
                let name = template_name(dir, audience, file);
                if !self.sources.contains_key(&name) {
                    bail!(
                        "missing template {dir}/<locale>/{}",
                        name.trim_start_matches(&format!("{dir}/"))
                    );
                }
            }
        }
        Ok(())
    }

    fn render(&self, name: &str, ctx: &Context) -> anyhow::Result<String> {
        let registry = if name.ends_with("html") {
            &self.html
        } else {
            &self.text
        };
        let out = registry
            .render_with_context(name, ctx)
            .with_context(|| format!("rendering {name}"))?;
        Ok(tidy(&out))
    }
}

/// Trims trailing spaces and collapses runs of blank lines left by conditionals.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}
