//! Bulk import of subjects from a CSV or NDJSON file, streamed record by record.
//!
//! One pass validates and writes inside one transaction: valid rows are upserted
//! in batches as they are read. In all-or-nothing mode the first invalid row
//! stops the writing (the rest of the file is still checked, to report every
//! error) and the transaction is rolled back, so a rejected file leaves the
//! registry exactly as it was. Memory holds one batch plus the set
//! of external ids seen (to reject duplicates), never the file.

mod sources;
pub mod synthetic;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;

use serde::Serialize;
use serde_json::{Value, json};

use crate::audit::{self, AuditEvent};
use crate::db::{Db, DbConnection};
use crate::domain::{FieldError, Subject, now_micros};
use crate::error::{AppError, AppResult};
use crate::store::subjects::{self, SubjectRecord, UPSERT_BATCH, UpsertCounts};
use crate::store::with_bulk_cache;
use sources::Source;

/// How many errors a report lists (all are counted).
pub const MAX_LISTED_ERRORS: usize = 100;

/// The file formats an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// Header row with column names, `;` inside set cells.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

impl ImportFormat {
    /// The media types accepted, for 415 responses.
    pub const MEDIA_TYPES: &'static str = "text/csv or application/x-ndjson";

    /// The format of a `Content-Type` value (parameters such as charset ignored).
    pub fn from_media_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" => Some(Self::Csv),
            "application/x-ndjson" | "application/jsonl" | "application/ndjson" => {
                Some(Self::Ndjson)
            }
            _ => None,
        }
    }

    /// The format named by a file extension: `.csv`, `.ndjson` or `.jsonl`.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "ndjson" | "jsonl" => Some(Self::Ndjson),
            _ => None,
        }
    }

    /// The word used in audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Ndjson => "ndjson",
        }
    }
}

/// What to do with invalid rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImportMode {
    /// Any invalid row rejects the whole file (the default).
    #[default]
    AllOrNothing,
    /// Import the valid rows and report the others.
    SkipInvalid,
}

impl std::str::FromStr for ImportMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all-or-nothing" => Ok(Self::AllOrNothing),
            "skip-invalid" => Ok(Self::SkipInvalid),
            _ => Err("expected all-or-nothing or skip-invalid".into()),
        }
    }
}

impl ImportMode {
    /// The word used in the API and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllOrNothing => "all-or-nothing",
            Self::SkipInvalid => "skip-invalid",
        }
    }
}

/// One rejected value: physical line of the file (the CSV header is line 1),
/// field name, and a reason that never repeats personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// Line number, from 1.
    pub line: u64,
    /// Field (column) name, or `row` / `header` / `line` for the whole record.
    pub field: String,
    /// Why it was rejected.
    pub reason: String,
}

/// The outcome counts of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// New subjects written.
    pub imported: u64,
    /// Existing subjects whose values changed.
    pub updated: u64,
    /// Existing subjects sent again with the same values.
    pub unchanged: u64,
    /// Rows not imported because they were invalid.
    pub rejected: u64,
    /// The first [`MAX_LISTED_ERRORS`] errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<LineError>,
    /// Every error, counted.
    pub total_errors: u64,
}

impl ImportReport {
    fn reject(&mut self, line: u64, errors: Vec<FieldError>) {
        self.rejected += 1;
        for e in errors {
            self.error(line, e.field, e.reason);
        }
    }

    fn error(&mut self, line: u64, field: String, reason: String) {
        self.total_errors += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(LineError {
                line,
                field,
                reason,
            });
        }
    }

    /// The RFC 9457 problem document for a rejected file.
    pub fn problem(&self) -> Value {
        json!({
            "type": "/problems/import-rejected",
            "title": "The file has invalid rows; nothing was imported",
            "status": 422,
            "detail": format!(
                "{} error(s) in {} row(s); nothing was imported. Fix them, or import with mode skip-invalid to keep the valid rows.",
                self.total_errors, self.rejected
            ),
            "errors": self.errors,
            "total_errors": self.total_errors,
            "rejected": self.rejected,
        })
    }
}

/// How an import ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Rows were written (in skip-invalid mode, `errors` lists the skipped ones).
    Imported(ImportReport),
    /// Nothing was written: the file had invalid rows (all-or-nothing) or an
    /// unusable header.
    Rejected(ImportReport),
}

/// One import to run: whose, from where, how.
#[derive(Debug, Clone)]
pub struct ImportJob<'a> {
    /// Tenant the subjects belong to.
    pub tenant_id: &'a str,
    /// Audit actor.
    pub actor: String,
    /// The file.
    pub path: &'a Path,
    /// Its format.
    pub format: ImportFormat,
    /// Strict or lenient.
    pub mode: ImportMode,
}

/// Reads the file and writes its subjects in one transaction, auditing the
/// counts. Blocking: call from a blocking thread. `progress` gets the bytes read so far.
pub fn run(
    db: &Db,
    job: &ImportJob<'_>,
    progress: &mut dyn FnMut(u64),
) -> AppResult<ImportOutcome> {
    let file = std::fs::File::open(job.path)
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("cannot open the uploaded file: {e}")))?;
    let source = match Source::open(file, job.format, today()) {
        Ok(source) => source,
        Err(header_errors) => {
            let mut report = ImportReport::default();
            for e in header_errors {
                report.error(e.line, e.field, e.reason);
            }
            return Ok(ImportOutcome::Rejected(report));
        }
    };
    let mut report = ImportReport::default();
    let mut rejected = false;
    let written = db.write_blocking(|conn| {
        let counts = with_bulk_cache(conn, |conn| {
            write_rows(conn, job, source, &mut report, progress)
        })?;
        let Some(counts) = counts else {
            // Returning an error rolls the transaction back: nothing is kept.
            rejected = true;
            return Err(AppError::Conflict("the import was rejected".into()));
        };
        report.imported = counts.inserted;
        report.updated = counts.updated;
        report.unchanged = counts.unchanged;
        audit_import(conn, job, &report)
    });
    match written {
        Ok(()) => Ok(ImportOutcome::Imported(report)),
        Err(_) if rejected => Ok(ImportOutcome::Rejected(report)),
        Err(e) => Err(e),
    }
}

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Batches waiting between the parser and the writer (bounds memory).
const PIPELINE_DEPTH: usize = 4;

/// Streams the records into batches of upserts, in two stages so both cores
/// work: a parser thread reads and validates, this thread (which holds the
/// connection and its transaction) writes. Returns `None` when the file is
/// rejected (all-or-nothing and some row was invalid): the caller then rolls
/// the transaction back.
fn write_rows(
    conn: &mut DbConnection,
    job: &ImportJob<'_>,
    source: Source,
    report: &mut ImportReport,
    progress: &mut dyn FnMut(u64),
) -> AppResult<Option<UpsertCounts>> {
    let strict = job.mode == ImportMode::AllOrNothing;
    let all_new = subjects::is_empty(conn, job.tenant_id)?;
    let bytes_read = source.bytes_read_counter();
    let (sender, receiver) = std::sync::mpsc::sync_channel(PIPELINE_DEPTH);
    std::thread::scope(|scope| {
        let parser = scope.spawn(|| parse_batches(source, job.tenant_id, strict, sender));
        let mut counts = UpsertCounts::default();
        let mut failure = None;
        for batch in &receiver {
            match subjects::upsert(conn, batch, all_new) {
                Ok(written) => counts += written,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
            progress(bytes_read.load(Ordering::Relaxed));
        }
        // Dropping the receiver stops a parser still sending after a failure.
        drop(receiver);
        *report = parser
            .join()
            .map_err(|_| AppError::Unexpected(anyhow::anyhow!("the import parser failed")))??;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok((!(strict && report.rejected > 0)).then_some(counts))
    })
}

/// Reads and validates every record, sending batches of valid ones to the
/// writer; in all-or-nothing mode it stops sending at the first invalid row
/// but keeps validating, to report every error.
fn parse_batches(
    mut source: Source,
    tenant_id: &str,
    strict: bool,
    sender: SyncSender<Vec<SubjectRecord>>,
) -> AppResult<ImportReport> {
    let now = now_micros();
    let mut report = ImportReport::default();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<SubjectRecord> = Vec::with_capacity(UPSERT_BATCH);
    while let Some((line, parsed)) = source.next_record()? {
        // After an invalid row, all-or-nothing keeps validating but stops writing.
        let writing = !strict || report.rejected == 0;
        match parsed.and_then(|s| unique(s, line, &mut first_line)) {
            Ok(subject) if writing => batch.push(SubjectRecord::new(tenant_id, subject, now)),
            Ok(_) => {}
            Err(errors) => report.reject(line, errors),
        }
        if batch.len() == UPSERT_BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(UPSERT_BATCH));
            if sender.send(full).is_err() {
                return Ok(report);
            }
        }
    }
    let writing = !strict || report.rejected == 0;
    if writing && !batch.is_empty() {
        // A closed channel means the writer failed; it reports the error.
        let _ = sender.send(batch);
    }
    Ok(report)
}

/// Rejects a second row with the same external id, naming the first one's line.
fn unique(
    subject: Subject,
    line: u64,
    first_line: &mut HashMap<String, u64>,
) -> Result<Subject, Vec<FieldError>> {
    if let Some(first) = first_line.get(&subject.external_id) {
        return Err(vec![FieldError::new(
            "external_id",
            format!("duplicate external_id in this file (first on line {first})"),
        )]);
    }
    first_line.insert(subject.external_id.clone(), line);
    Ok(subject)
}

fn audit_import(
    conn: &mut DbConnection,
    job: &ImportJob<'_>,
    report: &ImportReport,
) -> AppResult<()> {
    audit::append(
        conn,
        job.tenant_id,
        AuditEvent {
            actor: job.actor.clone(),
            action: "subjects.import",
            target: "subjects".into(),
            details: json!({
                "format": job.format.as_str(),
                "mode": job.mode.as_str(),
                "imported": report.imported,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": report.rejected,
            }),
        },
    )
}
