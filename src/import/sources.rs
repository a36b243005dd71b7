//! Record readers for the import formats, yielding one validated subject (or
//! its errors) per record with the physical line it starts on.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::{ImportFormat, LineError};
use crate::domain::{FieldError, Subject, SubjectField, SubjectParser};
use crate::error::{AppError, AppResult};

/// Buffer size for reading the file.
const READ_BUFFER: usize = 1 << 20;

/// One record: its line and the subject, or why it was rejected.
pub type Record = (u64, Result<Subject, Vec<FieldError>>);

/// Counts the bytes that pass through, for progress reports.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An open import file of either format.
pub struct Source {
    kind: Kind,
    parser: SubjectParser,
    read: Arc<AtomicU64>,
}

enum Kind {
    Csv {
        reader: Box<csv::Reader<Counting<File>>>,
        columns: Vec<SubjectField>,
        record: csv::ByteRecord,
    },
    Ndjson {
        reader: BufReader<Counting<File>>,
        line: u64,
        buffer: Vec<u8>,
    },
}

impl Source {
    /// Opens `file`; for CSV, reads and checks the header (its errors are returned).
    pub fn open(
        file: File,
        format: ImportFormat,
        today: NaiveDate,
    ) -> Result<Self, Vec<LineError>> {
        let read = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: file,
            read: Arc::clone(&read),
        };
        let kind = match format {
            ImportFormat::Csv => open_csv(counting)?,
            ImportFormat::Ndjson => Kind::Ndjson {
                reader: BufReader::with_capacity(READ_BUFFER, counting),
                line: 0,
                buffer: Vec::new(),
            },
        };
        Ok(Self {
            kind,
            parser: SubjectParser::new(today),
            read,
        })
    }

    /// A counter of the bytes of the file read so far, shareable across threads.
    pub fn bytes_read_counter(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.read)
    }

    /// The next record, or `None` at the end of the file.
    pub fn next_record(&mut self) -> AppResult<Option<Record>> {
        match &mut self.kind {
            Kind::Csv {
                reader,
                columns,
                record,
            } => next_csv(reader, columns, record, &mut self.parser),
            Kind::Ndjson {
                reader,
                line,
                buffer,
            } => next_ndjson(reader, line, buffer, &mut self.parser),
        }
    }
}

fn header_error(reason: impl Into<String>) -> LineError {
    LineError {
        line: 1,
        field: "header".into(),
        reason: reason.into(),
    }
}

fn open_csv(input: Counting<File>) -> Result<Kind, Vec<LineError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .buffer_capacity(READ_BUFFER)
        .from_reader(input);
    let header = match reader.byte_headers() {
        Ok(h) if !h.is_empty() => h.clone(),
        Ok(_) => {
            return Err(vec![header_error(
                "the file is empty: expected a header row",
            )]);
        }
        Err(e) => {
            return Err(vec![header_error(format!(
                "cannot read the header: {}",
                csv_reason(&e)
            ))]);
        }
    };
    let columns = parse_header(&header)?;
    Ok(Kind::Csv {
        reader: Box::new(reader),
        columns,
        record: csv::ByteRecord::new(),
    })
}

fn parse_header(header: &csv::ByteRecord) -> Result<Vec<SubjectField>, Vec<LineError>> {
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    for (i, raw) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(raw);
        let name = name.trim_start_matches('\u{feff}').trim();
        match name.parse::<SubjectField>() {
            Ok(field) if columns.contains(&field) => {
                errors.push(header_error(format!("column '{name}' appears twice")));
            }
            Ok(field) => columns.push(field),
            Err(_) => errors.push(header_error(format!(
                "unknown column '{name}' (column {}); expected some of {}",
                i + 1,
                SubjectField::expected().replace('|', ", ")
            ))),
        }
    }
    if !columns.contains(&SubjectField::ExternalId) && errors.is_empty() {
        errors.push(header_error("the external_id column is required"));
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        csv::ErrorKind::Io(_) => "read error".into(),
        _ => "malformed CSV".into(),
    }
}

fn next_csv(
    reader: &mut csv::Reader<Counting<File>>,
    columns: &[SubjectField],
    record: &mut csv::ByteRecord,
    parser: &mut SubjectParser,
) -> AppResult<Option<Record>> {
    match reader.read_byte_record(record) {
        Ok(false) => Ok(None),
        Ok(true) => {
            let line = record.position().map_or(0, csv::Position::line);
            Ok(Some((line, csv_subject(columns, record, parser))))
        }
        Err(e) => match e.kind() {
            csv::ErrorKind::Io(io) => Err(AppError::Unexpected(anyhow::anyhow!(
                "cannot read the uploaded file: {io}"
            ))),
            _ => {
                let line = e.position().map_or(0, csv::Position::line);
                Ok(Some((
                    line,
                    Err(vec![FieldError::new("row", csv_reason(&e))]),
                )))
            }
        },
    }
}

fn csv_subject(
    columns: &[SubjectField],
    record: &csv::ByteRecord,
    parser: &mut SubjectParser,
) -> Result<Subject, Vec<FieldError>> {
    if record.len() != columns.len() {
        return Err(vec![FieldError::new(
            "row",
            format!(
                "has {} columns, the header has {}",
                record.len(),
                columns.len()
            ),
        )]);
    }
    let mut subject = Subject::default();
    let mut errors = Vec::new();
    for (field, raw) in columns.iter().zip(record.iter()) {
        let result = std::str::from_utf8(raw)
            .map_err(|_| "not valid UTF-8".to_owned())
            .and_then(|text| parser.set_text(&mut subject, *field, text));
        if let Err(reason) = result {
            errors.push(FieldError::new(field.as_str(), reason));
        }
    }
    if errors.is_empty() {
        Ok(subject)
    } else {
        Err(errors)
    }
}

fn next_ndjson(
    reader: &mut BufReader<Counting<File>>,
    line: &mut u64,
    buffer: &mut Vec<u8>,
    parser: &mut SubjectParser,
) -> AppResult<Option<Record>> {
    loop {
        buffer.clear();
        let n = reader.read_until(b'\n', buffer).map_err(|e| {
            AppError::Unexpected(anyhow::anyhow!("cannot read the uploaded file: {e}"))
        })?;
        if n == 0 {
            return Ok(None);
        }
        *line += 1;
        if buffer.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = match serde_json::from_slice::<Map<String, Value>>(buffer) {
            Ok(object) => parser.from_json(&object),
            Err(e) => Err(vec![FieldError::new("line", json_reason(&e))]),
        };
        return Ok(Some((*line, parsed)));
    }
}

/// Says what is wrong with a line without quoting it (it may hold personal data).
fn json_reason(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Data => "not a JSON object",
        Category::Syntax | Category::Eof => "not valid JSON",
        Category::Io => "unreadable",
    };
    format!("{what} (at column {})", e.column())
}
