//! `breachline runbooks check` and `breachline runbooks list`: validate runbook files
//! and show which runbooks exist, with their conditions. No database needed.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Settings;
use crate::runbooks::{RunbookError, RunbookSet, files};

/// Checks the runbooks of `dir` over the built-in ones or, without `dir`, the built-in
/// runbooks and every tenant's overrides under the templates folder. Prints each
/// problem as `file:line: reason` on stderr and exits 1 when there is any.
pub fn check(settings: &Settings, dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let checked = match dir {
        Some(dir) => files::check_folder(dir).map(|set| vec![(dir.display().to_string(), set)]),
        None => files::load(settings.templates_dir.as_deref()).map(|library| {
            let mut sets = vec![("built-in".to_owned(), library.builtin().clone())];
            sets.extend(
                library
                    .tenants_with_overrides()
                    .map(|slug| (format!("tenant {slug}"), library.for_tenant(slug).clone())),
            );
            sets
        }),
    };
    match checked {
        Ok(sets) => {
            for (name, set) in sets {
                println!("{name}: {} runbooks, all valid", set.runbooks().len());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => Ok(fail(&errors)),
    }
}

fn fail(errors: &[RunbookError]) -> ExitCode {
    for error in errors {
        eprintln!("{error}");
    }
    eprintln!("{} problem(s) found", errors.len());
    ExitCode::FAILURE
}

/// Prints `id`, `version`, `title` and conditions of each runbook, tab-separated: the
/// built-in set, or the set a tenant's incidents get.
pub fn list(settings: &Settings, tenant: Option<&str>) -> anyhow::Result<ExitCode> {
    let library = match files::load(settings.templates_dir.as_deref()) {
        Ok(library) => library,
        Err(errors) => return Ok(fail(&errors)),
    };
    let set: &RunbookSet = match tenant {
        Some(slug) => library.for_tenant(slug),
        None => library.builtin(),
    };
    for r in set.runbooks() {
        println!("{}\t{}\t{}\t{}", r.id, r.version, r.title, r.applies_to);
    }
    Ok(ExitCode::SUCCESS)
}
