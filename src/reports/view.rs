//! What a rendered report shows, in reading order, as lines of text in the report's
//! language (with English beside it): the one model behind the HTML and the PDF.

use anyhow::anyhow;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::document::{ReportDocument, ReportItem};
use super::input::{ObligationClock, Proof};
use super::labels::{LabelSet, Labels, thousands};

/// The version a rendering belongs to: its number and content hash (from the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionStamp {
    /// Version number per (incident, regime, phase).
    pub version: i64,
    /// SHA-256 of the version's JSON ([`ReportDocument::sha256`]).
    pub sha256: String,
}

/// A heading in the report's language, with English beside it when that differs.
#[derive(Debug, Serialize)]
pub(crate) struct Heading {
    pub text: String,
    pub text_en: Option<String>,
}

/// A labelled block of lines.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    pub label: String,
    pub label_en: Option<String>,
    pub lines: Vec<String>,
}

/// One item as shown.
#[derive(Debug, Serialize)]
pub(crate) struct ItemRow {
    pub number: String,
    pub label: String,
    pub label_en: Option<String>,
    pub lines: Vec<String>,
    /// "Not yet known: … (to follow by …)".
    pub note: Option<String>,
    /// `source: …`, and `required` when it is.
    pub source: String,
    pub missing: bool,
}

/// The whole report as shown.
#[derive(Debug, Serialize)]
pub(crate) struct ReportView {
    pub language: String,
    pub title: String,
    pub title_en: Option<String>,
    /// Running header: incident reference and report.
    pub header: String,
    /// Version and content hash.
    pub stamp: String,
    /// Page label with `{n}` and `{total}` placeholders.
    pub page: String,
    pub meta: Vec<Row>,
    pub notes: Vec<String>,
    pub items_heading: Heading,
    pub items: Vec<ItemRow>,
    pub missing_heading: Heading,
    pub missing: Vec<String>,
    pub complete: Option<String>,
    pub deadlines_heading: Heading,
    pub deadlines: Vec<Row>,
    pub proof_heading: Heading,
    pub proof: Vec<Row>,
}

/// Builds the view of `doc` at `stamp`.
pub(crate) fn view(
    doc: &ReportDocument,
    stamp: &VersionStamp,
    labels: &LabelSet,
) -> anyhow::Result<ReportView> {
    let tz: Tz = doc
        .time_zone
        .parse()
        .map_err(|_| anyhow!("report has an unknown time zone '{}'", doc.time_zone))?;
    let v = Viewer {
        l: labels.get(&doc.language)?,
        en: labels.get("en")?,
        english: doc.language == "en",
        tz,
    };
    let missing = doc
        .missing
        .iter()
        .filter_map(|key| doc.item(key))
        .map(|item| format!("{} {}", item.number, item.label))
        .collect::<Vec<_>>();
    Ok(ReportView {
        language: doc.language.clone(),
        title: doc.title.clone(),
        title_en: v.other(&doc.title, &doc.title_en),
        header: format!(
            "{} {} · {}",
            v.l.text("incident"),
            doc.incident_reference,
            doc.title
        ),
        stamp: format!(
            "{} {} · SHA-256 {}",
            v.l.text("version"),
            stamp.version,
            stamp.sha256
        ),
        page: v.l.text("page"),
        meta: v.meta(doc),
        notes: v.notes(doc),
        items_heading: v.heading("items"),
        items: doc.items.iter().map(|i| v.item(i, doc)).collect(),
        missing_heading: v.heading("missing"),
        complete: missing.is_empty().then(|| v.l.text("complete")),
        missing,
        deadlines_heading: v.heading("deadlines"),
        deadlines: doc.deadlines.iter().map(|o| v.deadline(o)).collect(),
        proof_heading: v.heading("proof"),
        proof: v.proof(&doc.proof),
    })
}

struct Viewer<'a> {
    l: &'a Labels,
    en: &'a Labels,
    english: bool,
    tz: Tz,
}

impl Viewer<'_> {
    fn other(&self, text: &str, text_en: &str) -> Option<String> {
        (text != text_en).then(|| text_en.to_owned())
    }

    fn heading(&self, key: &str) -> Heading {
        Heading {
            text: self.l.text(key),
            text_en: (!self.english).then(|| self.en.text(key)),
        }
    }

    fn row(&self, key: &str, lines: Vec<String>) -> Row {
        let Heading { text, text_en } = self.heading(key);
        Row {
            label: text,
            label_en: text_en,
            lines,
        }
    }

    fn stamp(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tz)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    }

    fn meta(&self, doc: &ReportDocument) -> Vec<Row> {
        let phase = format!("{} ({})", self.l.word(doc.phase.as_str()), doc.phase);
        vec![
            self.row("regulator", both(&doc.regulator, &doc.regulator_en)),
            self.row("organisation", vec![doc.organisation.clone()]),
            self.row(
                "incident",
                vec![format!(
                    "{} · {}",
                    doc.incident_reference, doc.incident_title
                )],
            ),
            self.row("phase", vec![phase]),
            self.row("citation", vec![doc.citation.clone()]),
            self.row("prepared_at", vec![self.stamp(doc.prepared_at)]),
            self.row("time_zone", vec![doc.time_zone.clone()]),
        ]
    }

    fn notes(&self, doc: &ReportDocument) -> Vec<String> {
        let mut notes = Vec::new();
        if doc.late {
            notes.push(self.l.text("late"));
        }
        if doc.phased {
            notes.push(self.l.text("phased"));
        }
        notes
    }

    fn item(&self, item: &ReportItem, doc: &ReportDocument) -> ItemRow {
        let lines = match &item.value {
            Some(value) => self.l.lines(value),
            None => vec![self.l.text("empty")],
        };
        let note = item.not_yet_known.as_ref().map(|n| {
            self.l
                .text("not_yet_known")
                .replace("{reason}", &n.reason)
                .replace("{date}", &n.follow_up_on.to_string())
        });
        let mut source = format!(
            "{}: {}",
            self.l.text("source"),
            self.l.word(item.source.as_str())
        );
        if item.required {
            source.push_str(&format!(" · {}", self.l.text("required")));
        }
        ItemRow {
            number: item.number.clone(),
            label: item.label.clone(),
            label_en: self.other(&item.label, &item.label_en),
            lines,
            note,
            source,
            missing: doc.missing.contains(&item.key),
        }
    }

    fn deadline(&self, o: &ObligationClock) -> Row {
        let mut lines = vec![o.basis.clone()];
        let times = [
            ("due_at", o.due_at),
            ("target_at", o.target_at),
            ("limit_at", o.limit_at),
            ("met_at", o.met_at),
        ];
        for (key, at) in times {
            if let Some(at) = at {
                lines.push(format!("{}: {}", self.l.word(key), self.stamp(at)));
            }
        }
        let label = format!("{} · {}", self.l.word(&o.recipient), self.l.word(&o.phase));
        let label_en = format!(
            "{} · {}",
            self.en.word(&o.recipient),
            self.en.word(&o.phase)
        );
        Row {
            label_en: self.other(&label, &label_en),
            label,
            lines,
        }
    }

    fn proof(&self, proof: &Proof) -> Vec<Row> {
        let Some(first) = proof.first_sent_at else {
            return vec![self.row("proof", vec![self.l.text("no_notice")])];
        };
        let count = |key: &str, n: i64| self.word_row(key, vec![thousands(n)]);
        let mut rows = vec![
            count("people_notified", proof.people_notified),
            count("unreachable", proof.unreachable),
            count("covered_by_bulletin", proof.covered_by_bulletin),
            self.word_row("first_sent_at", vec![self.stamp(first)]),
        ];
        if let Some(last) = proof.last_sent_at {
            rows.push(self.word_row("last_sent_at", vec![self.stamp(last)]));
        }
        for (channel, counts) in &proof.by_channel {
            let outcomes = [
                ("queued", counts.queued),
                ("sending", counts.sending),
                ("delivered", counts.delivered),
                ("sent", counts.sent),
                ("handed_off", counts.handed_off),
                ("failed", counts.failed),
                ("bounced", counts.bounced),
            ];
            let line = outcomes
                .iter()
                .filter(|(_, n)| *n != 0)
                .map(|(k, n)| format!("{} {}", self.l.word(k), thousands(*n)))
                .collect::<Vec<_>>()
                .join(&self.l.list_separator);
            rows.push(self.word_row(channel.as_str(), vec![line]));
        }
        if let Some(b) = &proof.bulletin {
            let lines = vec![
                b.url.clone(),
                format!(
                    "{} {} · SHA-256 {}",
                    self.l.word("version"),
                    b.version,
                    b.sha256
                ),
                format!(
                    "{}: {}",
                    self.l.word("published_at"),
                    self.stamp(b.published_at)
                ),
            ];
            rows.push(self.row("bulletin", lines));
        }
        if !proof.approvals.is_empty() {
            let lines = proof
                .approvals
                .iter()
                .map(|a| {
                    format!(
                        "{} · {} · SHA-256 {}",
                        a.who,
                        self.stamp(a.when),
                        a.content_hash
                    )
                })
                .collect();
            rows.push(self.row("approvals", lines));
        }
        rows
    }

    /// A row labelled with a vocabulary word.
    fn word_row(&self, word: &str, lines: Vec<String>) -> Row {
        let label = self.l.word(word);
        let label_en = self.en.word(word);
        Row {
            label_en: self.other(&label, &label_en),
            label,
            lines,
        }
    }
}

fn both(text: &str, text_en: &str) -> Vec<String> {
    if text == text_en {
        vec![text.to_owned()]
    } else {
        vec![text.to_owned(), text_en.to_owned()]
    }
}
