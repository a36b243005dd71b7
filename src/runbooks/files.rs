//! Reading runbook files: those built into the binary (`runbooks/*.md`) and tenants'
//! own from `BREACHLINE_TEMPLATES_DIR/<tenant-slug>/runbooks/*.md`. The one part of
//! the module that does I/O; parsing and rules take the texts it returns.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Duties, Library, RunbookError, RunbookSet, Source};

#[derive(rust_embed::Embed)]
#[folder = "runbooks/"]
struct RunbookFiles;

/// The obligation names due times may refer to, from the regime files.
pub fn duties() -> Result<Duties, RunbookError> {
    crate::regimes::duties()
        .map(Duties::new)
        .map_err(|e| RunbookError::new("src/regimes/data", 0, e.to_string()))
}

/// The runbook files built into the binary, by name.
pub fn builtin() -> Result<Vec<Source>, RunbookError> {
    let mut names: Vec<String> = RunbookFiles::iter()
        .map(|n| n.into_owned())
        .filter(|n| n.ends_with(".md") && !n.contains('/'))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let path = format!("runbooks/{name}");
            let data = RunbookFiles::get(&name)
                .ok_or_else(|| RunbookError::new(&path, 0, "listed but not embedded"))?
                .data;
            let text = String::from_utf8(data.into_owned())
                .map_err(|_| RunbookError::new(&path, 0, "is not UTF-8 text"))?;
            Ok(Source { name, path, text })
        })
        .collect()
}

/// The `*.md` files of one folder, by name.
pub fn read_folder(dir: &Path) -> Result<Vec<Source>, RunbookError> {
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| RunbookError::new(&shown, 0, format!("cannot read: {e}")))?;
    let mut sources = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| RunbookError::new(&shown, 0, format!("cannot read: {e}")))?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).map(str::to_owned);
        let Some(name) = name.filter(|n| n.ends_with(".md") && path.is_file()) else {
            continue;
        };
        let path_text = path.display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| RunbookError::new(&path_text, 0, format!("cannot read: {e}")))?;
        sources.push(Source {
            name,
            path: path_text,
            text,
        });
    }
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sources)
}

/// Each tenant's own runbook files under `templates_dir/<tenant-slug>/runbooks/`.
pub fn tenant_overrides(
    templates_dir: &Path,
) -> Result<BTreeMap<String, Vec<Source>>, RunbookError> {
    let shown = templates_dir.display().to_string();
    let entries = std::fs::read_dir(templates_dir)
        .map_err(|e| RunbookError::new(&shown, 0, format!("cannot read: {e}")))?;
    let mut tenants = BTreeMap::new();
    for entry in entries {
        let path = entry
            .map_err(|e| RunbookError::new(&shown, 0, format!("cannot read: {e}")))?
            .path();
        let folder = path.join("runbooks");
        let slug = path.file_name().and_then(|n| n.to_str()).map(str::to_owned);
        if let (Some(slug), true) = (slug, folder.is_dir()) {
            tenants.insert(slug, read_folder(&folder)?);
        }
    }
    Ok(tenants)
}

/// The built-in runbooks and every tenant's overrides, all validated: what the
/// server attaches to incidents.
pub fn load(templates_dir: Option<&Path>) -> Result<Library, Vec<RunbookError>> {
    let duties = duties().map_err(|e| vec![e])?;
    let builtin = builtin().map_err(|e| vec![e])?;
    let tenants = match templates_dir {
        Some(dir) => tenant_overrides(dir).map_err(|e| vec![e])?,
        None => BTreeMap::new(),
    };
    Library::build(&builtin, &tenants, &duties)
}

/// The runbooks of one folder over the built-in ones, validated (`runbooks check DIR`).
pub fn check_folder(dir: &Path) -> Result<RunbookSet, Vec<RunbookError>> {
    let duties = duties().map_err(|e| vec![e])?;
    let builtin = builtin().map_err(|e| vec![e])?;
    let own = read_folder(dir).map_err(|e| vec![e])?;
    RunbookSet::with_overrides(&builtin, &own, &duties)
}

/// [`load`] for start-up: an invalid runbook stops the service with every problem listed.
pub fn load_for_service(templates_dir: Option<&Path>) -> anyhow::Result<Library> {
    load(templates_dir)
        .map_err(|errors| anyhow::anyhow!("invalid runbooks:\n{}", super::report(&errors)))
}
