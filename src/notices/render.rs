//! Fast rendering for many people: a notice is rendered once per (locale, channel,
//! audience, which personal fields are present) with markers in place of the personal
//! fields, split at the markers, and then filled in per person by concatenation.
//! The output is the same as a full rendering; preview and dispatch both use this.

use std::collections::HashMap;

use super::{Audience, Channel, NoticeContext, Rendered, Templates};
use crate::domain::DataCategory;

/// What differs from one person to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// The addressee's name (the guardian's for a minor).
    pub recipient_name: Option<String>,
    /// The person whose data was involved.
    pub subject_name: Option<String>,
    /// Link to the person's notice page.
    pub notice_url: Option<String>,
    /// Postal address, for letters.
    pub postal_address: Option<String>,
    /// The kinds of this person's data involved (named in the notice's language).
    pub categories: Vec<DataCategory>,
}

impl Person {
    fn fields(&self) -> [Option<&str>; 4] {
        [
            self.recipient_name.as_deref(),
            self.subject_name.as_deref(),
            self.notice_url.as_deref(),
            self.postal_address.as_deref(),
        ]
        .map(|v| v.filter(|s| !s.trim().is_empty()))
    }
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Field(usize),
}

#[derive(Debug, Clone)]
struct Prepared {
    subject: Option<Vec<Piece>>,
    text: Option<Vec<Piece>>,
    html: Option<Vec<Piece>>,
}

type Key = (String, Channel, Audience, [bool; 4], Vec<DataCategory>);

/// The notices a renderer has prepared, kept to render more people of the same
/// dispatch later without rendering any template again.
#[derive(Debug, Clone, Default)]
pub struct Shapes(HashMap<Key, Prepared>);

/// Renders notices of one incident; `shared` holds the incident's context per locale
/// (its personal fields and categories are ignored).
pub struct Renderer<'t> {
    templates: &'t Templates,
    shared: HashMap<String, NoticeContext>,
    prepared: HashMap<Key, Prepared>,
}

impl<'t> Renderer<'t> {
    /// A renderer for one incident's notices.
    pub fn new(templates: &'t Templates, shared: HashMap<String, NoticeContext>) -> Self {
        Self::resuming(templates, shared, Shapes::default())
    }

    /// A renderer that starts with what an earlier one for the same notices prepared.
    pub fn resuming(
        templates: &'t Templates,
        shared: HashMap<String, NoticeContext>,
        shapes: Shapes,
    ) -> Self {
        Self {
            templates,
            shared,
            prepared: shapes.0,
        }
    }

    /// What this renderer prepared, for the next one.
    pub fn into_shapes(self) -> Shapes {
        Shapes(self.prepared)
    }

    /// Renders one person's notice.
    pub fn render(
        &mut self,
        locale: &str,
        channel: Channel,
        audience: Audience,
        person: &Person,
    ) -> anyhow::Result<Rendered> {
        let values = person.fields();
        let key = (
            locale.to_owned(),
            channel,
            audience,
            values.map(|v| v.is_some()),
            person.categories.clone(),
        );
        if !self.prepared.contains_key(&key) {
            let prepared = self.prepare(&key)?;
            self.prepared.insert(key.clone(), prepared);
        }
        let prepared = self
            .prepared
            .get(&key)
            .ok_or_else(|| anyhow::anyhow!("prepared notice vanished"))?;
        Ok(Rendered {
            subject: prepared.subject.as_ref().map(|p| fill(p, &values, false)),
            text: prepared.text.as_ref().map(|p| fill(p, &values, false)),
            html: prepared.html.as_ref().map(|p| fill(p, &values, true)),
        })
    }

    fn prepare(
        &self,
        (locale, channel, audience, present, categories): &Key,
    ) -> anyhow::Result<Prepared> {
        let mut ctx = self
            .shared
            .get(locale)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no notice content prepared for locale {locale}"))?;
        let slot = |i: usize| present[i].then(|| marker(i));
        ctx.audience = *audience;
        ctx.recipient_name = slot(0);
        ctx.subject_name = slot(1);
        ctx.notice_url = slot(2);
        ctx.postal_address = slot(3);
        ctx.data_categories = self.templates.category_labels(locale, categories);
        let out = self.templates.render(locale, *channel, *audience, &ctx)?;
        Ok(Prepared {
            subject: out.subject.as_deref().map(split),
            text: out.text.as_deref().map(split),
            html: out.html.as_deref().map(split),
        })
    }
}

const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// A private-use marker that neither escaping nor tidying alters.
fn marker(i: usize) -> String {
    format!("{OPEN}{i}{CLOSE}")
}

fn split(rendered: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = rendered;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len_utf8()..];
        let Some(end) = after.find(CLOSE) else { break };
        match after[..end].parse::<usize>() {
            Ok(i) => {
                pieces.push(Piece::Text(rest[..start].to_owned()));
                pieces.push(Piece::Field(i));
            }
            Err(_) => pieces.push(Piece::Text(
                rest[..start + OPEN.len_utf8() + end + CLOSE.len_utf8()].to_owned(),
            )),
        }
        rest = &after[end + CLOSE.len_utf8()..];
    }
    pieces.push(Piece::Text(rest.to_owned()));
    pieces
}

fn fill(pieces: &[Piece], values: &[Option<&str>; 4], html: bool) -> String {
    let mut out = String::with_capacity(
        pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.len(),
                Piece::Field(_) => 64,
            })
            .sum(),
    );
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(i) => {
                let value = values.get(*i).copied().flatten().unwrap_or("");
                if html {
                    out.push_str(&handlebars::html_escape(value));
                } else {
                    out.push_str(value);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notices::tests::sample;

    #[test]
    fn a_resumed_renderer_fills_in_what_the_first_prepared() {
        let templates = Templates::embedded().unwrap();
        let shared = || HashMap::from([("en".to_owned(), sample(Audience::Subject))]);
        let person = |name: &str| Person {
            recipient_name: Some(name.into()),
            notice_url: Some(format!("https://n.example/n/{name}")),
            categories: vec![DataCategory::Contact],
            ..Person::default()
        };
        let mut first = Renderer::new(&templates, shared());
        first
            .render("en", Channel::Email, Audience::Subject, &person("Ann"))
            .unwrap();
        let shapes = first.into_shapes();
        assert_eq!(shapes.0.len(), 1);
        let mut resumed = Renderer::resuming(&templates, shared(), shapes);
        let bob = resumed
            .render("en", Channel::Email, Audience::Subject, &person("Bob"))
            .unwrap();
        assert_eq!(resumed.prepared.len(), 1, "nothing rendered again");
        let fresh = Renderer::new(&templates, shared())
            .render("en", Channel::Email, Audience::Subject, &person("Bob"))
            .unwrap();
        assert_eq!(bob, fresh);
        assert!(bob.text.unwrap().contains("Bob"));
    }

    #[test]
    fn fast_rendering_equals_full_rendering() {
        let templates = Templates::embedded().unwrap();
        for locale in templates.locales() {
            let shared = HashMap::from([(locale.clone(), sample(Audience::Subject))]);
            let mut renderer = Renderer::new(&templates, shared);
            let people = [
                Person {
                    recipient_name: Some("O'Brien <Ann> & Co".into()),
                    subject_name: Some("Kid".into()),
                    notice_url: Some("https://n.example/n/x?a=1&b=2".into()),
                    postal_address: Some("1 Main St\nSpringfield".into()),
                    categories: vec![DataCategory::Contact],
                },
                Person::default(),
            ];
            for person in &people {
                for channel in Channel::ALL {
                    for audience in [Audience::Subject, Audience::Guardian] {
                        let fast = renderer
                            .render(&locale, *channel, audience, person)
                            .unwrap();
                        let mut ctx = sample(audience);
                        ctx.recipient_name = person.recipient_name.clone();
                        ctx.subject_name = person.subject_name.clone();
                        ctx.notice_url = person.notice_url.clone();
                        ctx.postal_address = person.postal_address.clone();
                        ctx.data_categories =
                            templates.category_labels(&locale, &person.categories);
                        let full = templates.render(&locale, *channel, audience, &ctx).unwrap();
                        assert_eq!(fast, full, "{locale} {channel} {audience:?} {person:?}");
                    }
                }
            }
        }
    }
}
