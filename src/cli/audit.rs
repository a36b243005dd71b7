//! `breachline audit`: verify the hash chains, and sign checkpoints of their
//! heads that operators keep outside the database.

use std::path::Path;
use std::process::ExitCode;

use secrecy::ExposeSecret;

use crate::audit::checkpoint::{self, Checkpoint, CheckpointKey};
use crate::audit::{self, Verdict};
use crate::config::Settings;
use crate::db::{Db, DbConnection};
use crate::domain::now_micros;
use crate::error::AppResult;
use crate::store::tenants::{self, TenantRow};

/// The configured checkpoint key; checkpoints are refused without one.
fn checkpoint_key(settings: &Settings) -> anyhow::Result<CheckpointKey> {
    let secret = settings.audit.checkpoint_key.as_ref().ok_or_else(|| {
        anyhow::anyhow!(
            "audit checkpoints need a key: set BREACHLINE_AUDIT_KEY (or audit.checkpoint_key in \
             the configuration file) to a secret of at least 32 characters kept outside the database"
        )
    })?;
    CheckpointKey::new(secret.expose_secret().as_bytes())
}

/// The tenant named, or every tenant.
fn selected(conn: &mut DbConnection, only: Option<&str>) -> AppResult<Vec<TenantRow>> {
    match only {
        Some(slug) => Ok(vec![tenants::require_by_slug(conn, slug)?]),
        None => tenants::list(conn),
    }
}

/// Prints one signed checkpoint line per tenant whose chain verifies; a broken
/// chain is reported on stderr, is not signed, and makes the exit code 1.
pub fn checkpoint(settings: &Settings, only: Option<&str>) -> anyhow::Result<ExitCode> {
    let key = checkpoint_key(settings)?;
    let db = Db::connect_existing(&settings.database)?;
    let taken = db.read_blocking(|conn| {
        let now = now_micros();
        selected(conn, only)?
            .into_iter()
            .map(|t| {
                Ok((
                    t.slug.clone(),
                    checkpoint::take(conn, &key, &t.id, &t.slug, now)?,
                ))
            })
            .collect::<AppResult<Vec<_>>>()
    })?;
    let mut intact = true;
    for (slug, outcome) in taken {
        match outcome {
            Ok(signed) => println!("{}", serde_json::to_string(&signed)?),
            Err(verdict) => {
                intact = false;
                eprintln!("{slug}: no checkpoint taken: {}", describe(&verdict));
            }
        }
    }
    Ok(exit_code(intact))
}

/// Recomputes every selected chain and, given a checkpoint file, proves each
/// chain still holds its checkpointed entries; exit 1 on anything broken.
pub fn verify(
    settings: &Settings,
    only: Option<&str>,
    checkpoints: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let file = checkpoints
        .map(|path| read_checkpoints(settings, path))
        .transpose()?;
    let db = Db::connect_existing(&settings.database)?;
    let findings = db.read_blocking(|conn| {
        let tenants = selected(conn, only)?;
        let mut findings = Vec::new();
        for tenant in &tenants {
            let verdict = audit::verify(conn, &tenant.id)?;
            findings.push(Finding {
                holds: matches!(verdict, Verdict::Intact { .. }),
                text: format!("{}: {}", tenant.slug, describe(&verdict)),
            });
        }
        if let Some((key, lines)) = &file {
            findings.extend(check_checkpoints(conn, key, lines, &tenants, only)?);
        }
        Ok(findings)
    })?;
    for finding in &findings {
        println!("{}", finding.text);
    }
    Ok(exit_code(findings.iter().all(|f| f.holds)))
}

/// One line of `audit verify`'s report.
struct Finding {
    /// Whether what it reports is in order.
    holds: bool,
    /// The line printed.
    text: String,
}

/// The key and the signed checkpoints of a checkpoint file, or every unreadable line.
fn read_checkpoints(
    settings: &Settings,
    path: &Path,
) -> anyhow::Result<(CheckpointKey, Vec<(usize, Checkpoint)>)> {
    let key = checkpoint_key(settings)?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let lines = checkpoint::parse_file(&text)
        .map_err(|errors| anyhow::anyhow!("{}: {}", path.display(), errors.join("; ")))?;
    Ok((key, lines))
}

/// Checks each checkpoint of the selected tenants (a checkpoint of a tenant no
/// longer in the database counts when all are selected), and notes the
/// selected tenants the file has no checkpoint for.
fn check_checkpoints(
    conn: &mut DbConnection,
    key: &CheckpointKey,
    lines: &[(usize, Checkpoint)],
    tenants: &[TenantRow],
    only: Option<&str>,
) -> AppResult<Vec<Finding>> {
    let mut findings = Vec::new();
    for (line, cp) in lines {
        if only.is_some_and(|slug| slug != cp.tenant) {
            continue;
        }
        let source = format!("checkpoint of {} at seq {}, line {line}", cp.at, cp.seq);
        let finding = match cp.check_signature(key) {
            Err(reason) => Finding {
                holds: false,
                text: format!("{}: BROKEN checkpoint: {reason} ({source})", cp.tenant),
            },
            Ok(()) => match checkpoint::verify(conn, cp)? {
                Verdict::Intact { .. } => Finding {
                    holds: true,
                    text: format!("{}: holds the checkpoint ({source})", cp.tenant),
                },
                broken => Finding {
                    holds: false,
                    text: format!("{}: {} ({source})", cp.tenant, describe(&broken)),
                },
            },
        };
        findings.push(finding);
    }
    for tenant in tenants {
        if !lines.iter().any(|(_, cp)| cp.tenant_id == tenant.id) {
            findings.push(Finding {
                holds: true,
                text: format!("{}: no checkpoint in the file", tenant.slug),
            });
        }
    }
    Ok(findings)
}

/// `intact (N entries)` or `BROKEN at entry seq N: why`.
fn describe(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Intact { entries } => format!("intact ({entries} entries)"),
        Verdict::Broken { seq, reason } => format!("BROKEN at entry seq {seq}: {reason}"),
    }
}

fn exit_code(success: bool) -> ExitCode {
    if success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
