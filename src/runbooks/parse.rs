//! Reading one runbook file: YAML front matter between `---` lines, then Markdown
//! whose `- [ ]` lines are the checklist. Every problem is reported with its line.

use std::collections::HashMap;

use serde::Deserialize;

use super::due::DueRule;
use super::{Conditions, Duties, Item, Runbook, RunbookError, is_id};
use crate::domain::{Role, TaskKind};

/// Longest item text, in characters.
const MAX_ITEM_TEXT: usize = 2_000;
/// Longest title, in characters.
const MAX_TITLE: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    title: String,
    version: u32,
    applies_to: Conditions,
}

/// Parses and validates one runbook. `file` names it in errors; obligation names
/// in due times are checked against `duties`. Returns every problem found.
pub fn parse(file: &str, text: &str, duties: &Duties) -> Result<Runbook, Vec<RunbookError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let body_start = front_matter_end(&lines)
        .map_err(|(line, reason)| vec![RunbookError::new(file, line, reason)])?;
    let mut errors = Vec::new();
    let front = read_front_matter(&lines[1..body_start - 1], duties)
        .map_err(|mut e| errors.append(&mut e))
        .ok();
    let items = read_items(&lines, body_start, duties, &mut errors);
    if items.is_empty() && errors.is_empty() {
        errors.push((
            body_start + 1,
            "the runbook has no checklist items (`- [ ] …`)".into(),
        ));
    }
    match front {
        Some((front, id_line)) if errors.is_empty() => Ok(Runbook {
            file: file.to_owned(),
            id: front.id,
            id_line,
            title: front.title.trim().to_owned(),
            version: front.version,
            applies_to: front.applies_to,
            items,
        }),
        _ => {
            errors.sort_by_key(|(line, _)| *line);
            Err(errors
                .into_iter()
                .map(|(line, reason)| RunbookError::new(file, line, reason))
                .collect())
        }
    }
}

/// The index of the first body line (just after the closing `---`).
fn front_matter_end(lines: &[&str]) -> Result<usize, (usize, String)> {
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return Err((
            1,
            "a runbook starts with YAML front matter between two `---` lines".into(),
        ));
    }
    lines
        .iter()
        .skip(1)
        .position(|l| l.trim_end() == "---")
        .map(|i| i + 2)
        .ok_or((1, "the front matter is not closed by a `---` line".into()))
}

type Problems = Vec<(usize, String)>;

/// The front matter and the line of its `id`; `yaml` starts on line 2 of the file.
fn read_front_matter(yaml: &[&str], duties: &Duties) -> Result<(FrontMatter, usize), Problems> {
    let front: FrontMatter = serde_yaml_ng::from_str(&yaml.join("\n")).map_err(|e| {
        let line = e.location().map_or(1, |l| l.line() + 1);
        vec![(line, without_position(&e.to_string()))]
    })?;
    let key_line = |key: &str| {
        yaml.iter()
            .position(|l| l.starts_with(&format!("{key}:")))
            .map_or(1, |i| i + 2)
    };
    let word_line = |word: &str| {
        yaml.iter()
            .position(|l| l.contains(word))
            .map_or(1, |i| i + 2)
    };
    let mut problems = Vec::new();
    if !is_id(&front.id) {
        problems.push((
            key_line("id"),
            format!(
                "id '{}' must be 1-64 lower-case letters, digits and hyphens, starting with a letter",
                front.id
            ),
        ));
    }
    let title = front.title.trim().chars().count();
    if title == 0 || title > MAX_TITLE {
        problems.push((
            key_line("title"),
            format!("title must be 1-{MAX_TITLE} characters"),
        ));
    }
    if front.version == 0 {
        problems.push((key_line("version"), "version must be 1 or more".into()));
    }
    check_names(&front.applies_to, duties, &mut |word, reason| {
        problems.push((word_line(word), reason));
    });
    if problems.is_empty() {
        let id_line = key_line("id");
        Ok((front, id_line))
    } else {
        Err(problems)
    }
}

/// Regimes must be known (or a tenant commitment), tenants must be slugs.
fn check_names(c: &Conditions, duties: &Duties, report: &mut impl FnMut(&str, String)) {
    for regime in &c.regimes {
        let commitment = regime
            .strip_prefix("commitment:")
            .is_some_and(|id| !id.is_empty());
        if !commitment && !duties.has_regime(regime) {
            report(
                regime,
                format!(
                    "applies_to: unknown regime '{regime}'; known are {} and commitment:<id>",
                    duties.regimes().join(", ")
                ),
            );
        }
    }
    for tenant in &c.tenants {
        if !is_id(tenant) {
            report(
                tenant,
                format!("applies_to: '{tenant}' is not a tenant slug"),
            );
        }
    }
    for alternative in &c.any_of {
        check_names(alternative, duties, report);
    }
}

/// serde_yaml's message without its ` at line N column M` (positions within the
/// front matter, not the file; the file line is reported separately).
fn without_position(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + " at line ".len()..];
        let skip = tail
            .find(" column ")
            .map(|c| {
                let after = &tail[c + " column ".len()..];
                c + " column ".len() + after.bytes().take_while(u8::is_ascii_digit).count()
            })
            .unwrap_or(0);
        rest = &tail[skip..];
    }
    out.push_str(rest);
    out
}

/// An item being read: its lines' text and where each starts in the joined text.
struct Draft {
    line: usize,
    section: Option<String>,
    text: String,
    starts: Vec<(usize, usize)>,
}

impl Draft {
    fn new(line: usize, section: Option<String>, first: &str) -> Self {
        Self {
            line,
            section,
            text: first.trim().to_owned(),
            starts: vec![(0, line)],
        }
    }

    fn push(&mut self, line: usize, more: &str) {
        self.text.push(' ');
        self.starts.push((self.text.len(), line));
        self.text.push_str(more.trim());
    }

    /// The file line of byte `offset` of the joined text.
    fn line_at(&self, offset: usize) -> usize {
        self.starts
            .iter()
            .rev()
            .find(|(start, _)| *start <= offset)
            .map_or(self.line, |(_, line)| *line)
    }
}

/// Reads the checklist from line index `start` on.
fn read_items(lines: &[&str], start: usize, duties: &Duties, errors: &mut Problems) -> Vec<Item> {
    let mut reader = ItemReader {
        duties,
        errors,
        items: Vec::new(),
        ids: HashMap::new(),
    };
    let mut section: Option<String> = None;
    let mut draft: Option<Draft> = None;
    let mut in_fence = false;
    for (index, raw) in lines.iter().enumerate().skip(start) {
        let n = index + 1;
        let line = raw.trim_end();
        if line.trim_start().starts_with("```") {
            reader.finish(draft.take());
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        let bare = line.trim_start();
        if let Some(rest) = item_start(bare) {
            reader.finish(draft.take());
            if indented {
                reader.errors.push((
                    n,
                    "nested checklist items are not supported: start each item at the beginning of a line".into(),
                ));
            } else {
                draft = Some(Draft::new(n, section.clone(), rest));
            }
        } else if is_checked(bare) {
            reader.finish(draft.take());
            reader
                .errors
                .push((n, "checklist items start unchecked: write `- [ ]`".into()));
        } else if let Some(heading) = heading(line) {
            reader.finish(draft.take());
            section = heading;
        } else if let (Some(d), true, false) = (draft.as_mut(), indented, bare.is_empty()) {
            d.push(n, bare);
        } else {
            reader.finish(draft.take());
        }
    }
    reader.finish(draft);
    reader.items
}

fn item_start(line: &str) -> Option<&str> {
    line.strip_prefix("- [ ] ")
        .or_else(|| line.strip_prefix("* [ ] "))
}

fn is_checked(line: &str) -> bool {
    ["- [x]", "- [X]", "* [x]", "* [X]"]
        .iter()
        .any(|p| line.starts_with(p))
}

/// `Some(section)` for a heading line: level 2 and deeper name a section, a level-1
/// heading (the document title) ends the current one.
fn heading(line: &str) -> Option<Option<String>> {
    let level = line.bytes().take_while(|b| *b == b'#').count();
    let title = line[level..].strip_prefix(' ')?;
    let title = title.trim().trim_end_matches('#').trim();
    match level {
        1 => Some(None),
        2..=6 => Some(Some(title.to_owned())),
        _ => None,
    }
}

struct ItemReader<'a> {
    duties: &'a Duties,
    errors: &'a mut Problems,
    items: Vec<Item>,
    ids: HashMap<String, usize>,
}

/// An item's attributes as written.
#[derive(Default)]
struct Attributes {
    id: Option<String>,
    role: Option<Role>,
    kind: Option<TaskKind>,
    due: Option<DueRule>,
}

impl ItemReader<'_> {
    fn finish(&mut self, draft: Option<Draft>) {
        let Some(draft) = draft else { return };
        let text = draft.text.trim_end();
        let open = text.rfind('{').filter(|_| text.ends_with('}'));
        let Some(open) = open else {
            self.errors.push((
                draft.line,
                "the item has no attribute block: end it with {id: …} (see docs/runbooks.md)"
                    .into(),
            ));
            return;
        };
        let block_line = draft.line_at(open);
        let body = text[..open].trim();
        let count = body.chars().count();
        if count == 0 || count > MAX_ITEM_TEXT {
            self.errors.push((
                draft.line,
                format!("the item's text must be 1-{MAX_ITEM_TEXT} characters"),
            ));
        }
        let attributes = self.attributes(&text[open + 1..text.len() - 1], block_line);
        let Some(id) = attributes.id else { return };
        if let Some(first) = self.ids.insert(id.clone(), block_line) {
            self.errors.push((
                block_line,
                format!("item id '{id}' is used twice (first on line {first})"),
            ));
            return;
        }
        self.items.push(Item {
            id,
            line: draft.line,
            section: draft.section,
            text: body.to_owned(),
            role: attributes.role.unwrap_or(Role::Responder),
            kind: attributes.kind.unwrap_or(TaskKind::Task),
            due: attributes.due,
        });
    }

    /// Reads `key: value; …`, reporting every problem at `line`.
    fn attributes(&mut self, block: &str, line: usize) -> Attributes {
        let mut out = Attributes::default();
        let mut seen: Vec<&str> = Vec::new();
        for part in block.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once(':').map(|(k, v)| (k.trim(), v.trim())) else {
                self.errors.push((
                    line,
                    format!("'{part}' is not an attribute: write key: value"),
                ));
                continue;
            };
            if seen.contains(&key) {
                self.errors
                    .push((line, format!("attribute '{key}' is given twice")));
                continue;
            }
            seen.push(key);
            if let Err(reason) = self.attribute(&mut out, key, value) {
                self.errors.push((line, reason));
            }
        }
        if out.id.is_none() && !seen.contains(&"id") {
            self.errors.push((line, "the item has no id".into()));
        }
        out
    }

    fn attribute(&self, out: &mut Attributes, key: &str, value: &str) -> Result<(), String> {
        if value.is_empty() {
            return Err(format!("attribute '{key}' has no value"));
        }
        match key {
            "id" if is_id(value) => out.id = Some(value.to_owned()),
            "id" => {
                return Err(format!(
                    "item id '{value}' must be 1-64 lower-case letters, digits and hyphens, starting with a letter"
                ));
            }
            "role" => out.role = Some(value.parse().map_err(|e| format!("role: {e}"))?),
            "kind" => out.kind = Some(kind(value)?),
            "due" => out.due = Some(DueRule::parse(value, self.duties)?),
            _ => {
                return Err(format!(
                    "unknown attribute '{key}', expected id, role, due or kind"
                ));
            }
        }
        Ok(())
    }
}

fn kind(value: &str) -> Result<TaskKind, String> {
    match value.split_whitespace().collect::<Vec<_>>().as_slice() {
        ["task"] => Ok(TaskKind::Task),
        ["evidence", "required"] => Ok(TaskKind::EvidenceRequired),
        _ => Err(format!(
            "unknown kind '{value}', expected task or evidence required"
        )),
    }
}
