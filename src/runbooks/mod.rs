//! Runbooks: Markdown procedures (`runbooks/*.md`) that become an incident's tasks.
//!
//! A runbook is YAML front matter (`id`, `title`, `version`, `applies_to`) and a
//! checklist whose items end with an attribute block, e.g.
//! `- [ ] Isolate the hosts. {id: isolate; role: responder; due: aware_at + 2h}`
//! (the syntax is in `docs/runbooks.md`). This module is pure: [`parse`] reads one
//! file's text, [`RunbookSet`] and [`Library`] hold the built-in runbooks and each
//! tenant's overrides, [`plan`] says which runbooks and items apply to an incident
//! and when each task is due. Reading the embedded files and the override folders
//! is [`files`], the module's one part that does I/O; storing tasks is `store::tasks`.

mod attach;
mod conditions;
mod due;
pub mod files;
mod parse;
pub mod remind;
mod set;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use crate::domain::{Role, TaskKind};

pub use attach::{Attachment, DueTime, ObligationClock, PlannedTask, Situation, plan};
pub use conditions::Conditions;
pub use due::{Amount, DueRule, DutyPattern};
pub use parse::parse;
pub use set::{Library, RunbookSet, Source};

/// One problem in one runbook file, with the line it is on (1-based; 0 when the
/// problem is the file or folder as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct RunbookError {
    /// The file, as the operator knows it (`runbooks/ransomware.md`, or the override's path).
    pub file: String,
    /// The line the problem is on.
    pub line: usize,
    /// What is wrong, in words the author can act on.
    pub reason: String,
}

impl RunbookError {
    /// A problem at `line` of `file`.
    pub fn new(file: &str, line: usize, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line,
            reason: reason.into(),
        }
    }

    fn describe(&self) -> String {
        match self.line {
            0 => format!("{}: {}", self.file, self.reason),
            line => format!("{}:{line}: {}", self.file, self.reason),
        }
    }
}

/// Every problem, one a line, for start-up errors and `breachline runbooks check`.
pub fn report(errors: &[RunbookError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One parsed, validated runbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    /// The file it was read from.
    pub file: String,
    /// Stable identifier (lower-case letters, digits, hyphens): tasks are keyed by it.
    pub id: String,
    /// Line of the `id:` key, for errors about the runbook as a whole.
    pub id_line: usize,
    /// What the procedure is for.
    pub title: String,
    /// Raised by the author when the procedure changes.
    pub version: u32,
    /// When the runbook applies to an incident.
    pub applies_to: Conditions,
    /// The checklist, in order.
    pub items: Vec<Item>,
}

/// One checklist item: what becomes one task.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Identifier, unique within the runbook; a task is keyed by runbook and item id,
    /// so rewording or reordering items keeps the incident's tasks.
    pub id: String,
    /// Line the item starts on.
    pub line: usize,
    /// The heading the item is under, if any.
    pub section: Option<String>,
    /// What to do (Markdown, one paragraph).
    pub text: String,
    /// Who does it (default `responder`).
    pub role: Role,
    /// What marking it done takes (default `task`).
    pub kind: TaskKind,
    /// When it is due, if the item says.
    pub due: Option<DueRule>,
}

/// The obligations the regimes can create, as `(regime, recipient, phase)`: the
/// names a due time may refer to. Built from `regimes::duties()` by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Duties {
    known: BTreeSet<(String, String, String)>,
}

impl Duties {
    /// The catalogue from `(regime, recipient, phase)` triples.
    pub fn new(duties: impl IntoIterator<Item = (String, String, String)>) -> Self {
        Self {
            known: duties.into_iter().collect(),
        }
    }

    /// Whether `regime` is a regime id of the catalogue.
    pub fn has_regime(&self, regime: &str) -> bool {
        self.known.iter().any(|(r, _, _)| r == regime)
    }

    /// Every regime id, sorted.
    pub fn regimes(&self) -> Vec<&str> {
        let ids: BTreeSet<&str> = self.known.iter().map(|(r, _, _)| r.as_str()).collect();
        ids.into_iter().collect()
    }

    /// `recipient/phase` of each duty of `regime` (without repeats).
    pub fn of_regime(&self, regime: &str) -> Vec<String> {
        self.known
            .iter()
            .filter(|(r, _, _)| r == regime)
            .map(|(_, recipient, phase)| format!("{recipient}/{phase}"))
            .collect()
    }

    /// Whether any duty of the catalogue matches `pattern`.
    pub fn any_matches(&self, pattern: &DutyPattern) -> bool {
        self.known
            .iter()
            .any(|(r, recipient, phase)| pattern.matches(r, recipient, phase))
    }
}

/// Whether `id` is a runbook or item id: 1–64 lower-case letters, digits and
/// hyphens, starting with a letter.
pub fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
