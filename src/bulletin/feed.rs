//! The tenant's Atom 1.0 feed (RFC 4287), written with `atom_syndication`: one
//! entry per public version (each approved content version and the withdrawal),
//! whose id (`urn:uuid:…`) is fixed when the version is written, so an entry keeps
//! its id when later versions are published.

use atom_syndication::{Content, Entry, Feed, FixedDateTime, Link, Person, Text};
use chrono::NaiveDateTime;

/// One feed entry.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    /// The version's entry id.
    pub id: String,
    /// Title (for a withdrawal, marked as such by the caller).
    pub title: String,
    /// The page it links to.
    pub url: String,
    /// Language of the title and content.
    pub lang: String,
    /// When the version became public.
    pub updated: NaiveDateTime,
    /// When the bulletin was first published.
    pub published: NaiveDateTime,
    /// Short text.
    pub summary: String,
    /// The rendered HTML body.
    pub html: String,
}

/// The feed as a whole.
#[derive(Debug, Clone)]
pub struct FeedInput {
    /// Stable feed id (the tenant's list URL).
    pub id: String,
    /// Feed title.
    pub title: String,
    /// The organisation, as author.
    pub author: String,
    /// The feed's own URL.
    pub self_url: String,
    /// The tenant's list page.
    pub list_url: String,
    /// The feed's language.
    pub lang: String,
    /// Newest first.
    pub entries: Vec<FeedEntry>,
    /// When there are no entries: the tenant's creation.
    pub created: NaiveDateTime,
}

fn instant(at: NaiveDateTime) -> FixedDateTime {
    at.and_utc().fixed_offset()
}

fn text(value: &str, lang: &str) -> Text {
    Text {
        lang: Some(lang.to_owned()),
        ..Text::plain(value)
    }
}

fn link(href: &str, rel: &str, mime: Option<&str>) -> Link {
    Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..Link::default()
    }
}

/// The feed document.
pub fn atom(input: &FeedInput) -> Result<String, String> {
    let updated = input
        .entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or(input.created);
    let entries = input
        .entries
        .iter()
        .map(|e| Entry {
            id: e.id.clone(),
            title: text(&e.title, &e.lang),
            updated: instant(e.updated),
            published: Some(instant(e.published)),
            links: vec![link(&e.url, "alternate", Some("text/html"))],
            summary: Some(text(&e.summary, &e.lang)),
            content: Some(Content {
                lang: Some(e.lang.clone()),
                value: Some(e.html.clone()),
                content_type: Some("html".to_owned()),
                ..Content::default()
            }),
            ..Entry::default()
        })
        .collect();
    let feed = Feed {
        id: input.id.clone(),
        title: Text::plain(&input.title),
        updated: instant(updated),
        authors: vec![Person {
            name: input.author.clone(),
            ..Person::default()
        }],
        links: vec![
            link(&input.self_url, "self", Some("application/atom+xml")),
            link(&input.list_url, "alternate", Some("text/html")),
        ],
        lang: Some(input.lang.clone()),
        entries,
        ..Feed::default()
    };
    let bytes = feed.write_to(Vec::new()).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn entries_carry_their_ids_languages_and_times() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
            .unwrap()
            .and_hms_opt(1, 0, 0)
            .unwrap();
        let entry = FeedEntry {
            id: "urn:uuid:0190-a".into(),
            title: "お知らせ <重要>".into(),
            url: "https://b.example/b/t/1?lang=ja".into(),
            lang: "ja".into(),
            updated: at,
            published: at,
            summary: "概要".into(),
            html: "<p>本文 &amp; 詳細</p>".into(),
        };
        let xml = atom(&FeedInput {
            id: "https://b.example/b/t".into(),
            title: "T".into(),
            author: "Tenant".into(),
            self_url: "https://b.example/b/t/feed.atom".into(),
            list_url: "https://b.example/b/t".into(),
            lang: "en".into(),
            entries: vec![entry],
            created: at,
        })
        .unwrap();
        let parsed: Feed = xml.parse().unwrap();
        assert_eq!(parsed.lang(), Some("en"));
        let e = &parsed.entries()[0];
        assert_eq!(e.id(), "urn:uuid:0190-a");
        assert_eq!(e.title().lang.as_deref(), Some("ja"));
        assert_eq!(e.title().as_str(), "お知らせ <重要>");
        assert_eq!(e.updated().to_rfc3339(), "2026-03-02T01:00:00+00:00");
        assert!(
            xml.contains("xmlns=\"http://www.w3.org/2005/Atom\""),
            "{xml}"
        );
    }
}
