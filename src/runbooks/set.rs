//! Sets of runbooks: the built-in set, and per tenant the built-in files with the
//! tenant's own files replacing those of the same name or adding to them (the rule
//! notice templates follow).

use std::collections::{BTreeMap, HashMap};

use super::{Duties, Runbook, RunbookError, parse};

/// One runbook file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// File name (`ransomware.md`): a tenant's file replaces the built-in one of that name.
    pub name: String,
    /// How errors name the file (`runbooks/ransomware.md`, or the override's path).
    pub path: String,
    /// The file's contents.
    pub text: String,
}

/// Runbooks with distinct ids, in id order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunbookSet {
    runbooks: Vec<Runbook>,
}

impl RunbookSet {
    /// Parses every file; reports every problem of every file, and ids used twice.
    pub fn parse(sources: &[Source], duties: &Duties) -> Result<Self, Vec<RunbookError>> {
        let mut errors = Vec::new();
        let mut runbooks = Vec::new();
        for source in sources {
            match parse(&source.path, &source.text, duties) {
                Ok(runbook) => runbooks.push(runbook),
                Err(mut e) => errors.append(&mut e),
            }
        }
        let mut first: HashMap<&str, &Runbook> = HashMap::new();
        for runbook in &runbooks {
            if let Some(other) = first.insert(&runbook.id, runbook) {
                errors.push(RunbookError::new(
                    &runbook.file,
                    runbook.id_line,
                    format!(
                        "runbook id '{}' is also used by {}; to replace a built-in runbook, give your file its name",
                        runbook.id, other.file
                    ),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        runbooks.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Self { runbooks })
    }

    /// The built-in files with `overrides` replacing those of the same name or adding to them.
    pub fn with_overrides(
        builtin: &[Source],
        overrides: &[Source],
        duties: &Duties,
    ) -> Result<Self, Vec<RunbookError>> {
        let replaced = |s: &&Source| overrides.iter().any(|o| o.name == s.name);
        let merged: Vec<Source> = builtin
            .iter()
            .filter(|s| !replaced(s))
            .chain(overrides)
            .cloned()
            .collect();
        Self::parse(&merged, duties)
    }

    /// The runbooks, in id order.
    pub fn runbooks(&self) -> &[Runbook] {
        &self.runbooks
    }

    /// The runbook with this id.
    pub fn get(&self, id: &str) -> Option<&Runbook> {
        self.runbooks.iter().find(|r| r.id == id)
    }
}

/// The built-in runbooks and each tenant's set (for tenants with override files).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Library {
    builtin: RunbookSet,
    tenants: BTreeMap<String, RunbookSet>,
}

impl Library {
    /// Parses the built-in files and, per tenant slug, its override files over them;
    /// reports every problem in every file.
    pub fn build(
        builtin: &[Source],
        tenants: &BTreeMap<String, Vec<Source>>,
        duties: &Duties,
    ) -> Result<Self, Vec<RunbookError>> {
        let mut errors = Vec::new();
        let base = RunbookSet::parse(builtin, duties).map_err(|mut e| errors.append(&mut e));
        let mut sets = BTreeMap::new();
        for (slug, overrides) in tenants {
            match RunbookSet::with_overrides(builtin, overrides, duties) {
                Ok(set) => {
                    sets.insert(slug.clone(), set);
                }
                Err(e) => {
                    for error in e {
                        if !errors.contains(&error) {
                            errors.push(error);
                        }
                    }
                }
            }
        }
        match base {
            Ok(builtin) if errors.is_empty() => Ok(Self {
                builtin,
                tenants: sets,
            }),
            _ => Err(errors),
        }
    }

    /// The runbooks that apply to the tenant's incidents.
    pub fn for_tenant(&self, slug: &str) -> &RunbookSet {
        self.tenants.get(slug).unwrap_or(&self.builtin)
    }

    /// The built-in set.
    pub fn builtin(&self) -> &RunbookSet {
        &self.builtin
    }

    /// Slugs of the tenants with their own runbook files.
    pub fn tenants_with_overrides(&self) -> impl Iterator<Item = &str> {
        self.tenants.keys().map(String::as_str)
    }
}
