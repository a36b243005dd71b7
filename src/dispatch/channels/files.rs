//! File outboxes: JSON per message for SMS and push, and the CSV ledgers that the
//! letter and phone batches append to.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::http::Payload;
use super::{ChannelAdapter, Outcome, Outgoing, SendFuture, logged};
use crate::domain::Channel;

/// One pretty JSON file per message, named after the message id, so a retry
/// overwrites instead of duplicating.
pub(super) struct JsonOutbox {
    channel: Channel,
    dir: PathBuf,
    default_from: Option<String>,
}

impl JsonOutbox {
    /// An outbox writing into `dir` (created on first use).
    pub(super) fn new(channel: Channel, dir: PathBuf, default_from: Option<String>) -> Self {
        JsonOutbox {
            channel,
            dir,
            default_from,
        }
    }

    async fn deliver(&self, msg: &Outgoing) -> Outcome {
        let from = msg
            .sender
            .sms_from
            .as_deref()
            .or(self.default_from.as_deref());
        let from = (self.channel == Channel::Sms).then_some(from).flatten();
        let payload = match Payload::of(msg, from) {
            Ok(payload) => payload,
            Err(outcome) => return outcome,
        };
        let path = self
            .dir
            .join(format!("{}.json", file_stem(&msg.message_id)));
        let written = match serde_json::to_vec_pretty(&payload) {
            Ok(bytes) => write_atomically(&path, &bytes).await,
            Err(e) => return Outcome::Permanent(format!("cannot encode the message: {e}")),
        };
        handed_off(written, &path, self.channel)
    }
}

impl ChannelAdapter for JsonOutbox {
    fn channel(&self) -> Channel {
        self.channel
    }

    fn provider(&self) -> &str {
        "file"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> SendFuture<'a> {
        logged(msg, self.provider(), self.deliver(msg))
    }

    fn has_receipts(&self) -> bool {
        false
    }
}

/// `HandedOff` at `path`, or a transient failure saying what could not be written.
pub(super) fn handed_off(written: std::io::Result<()>, path: &Path, channel: Channel) -> Outcome {
    match written {
        Ok(()) => Outcome::HandedOff {
            location: path.display().to_string(),
        },
        Err(e) => Outcome::RelayDown(format!("cannot write the {channel} outbox: {e}")),
    }
}

/// A file or folder name from an id: `<abc@breachline>` becomes `abc@breachline`;
/// anything but letters, digits, `.`, `_`, `-` and `@` becomes `_`, so no id can
/// leave its folder.
pub(super) fn file_stem(id: &str) -> String {
    let stem: String = id
        .trim()
        .trim_matches(['<', '>'])
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' | '@' => c,
            _ => '_',
        })
        .collect();
    match stem.trim_start_matches('.') {
        "" => "_".to_owned(),
        rest => rest.to_owned(),
    }
}

/// Writes `bytes` to a temporary sibling, then renames it over `path`.
pub(super) async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    tokio::fs::write(&temporary, bytes).await?;
    tokio::fs::rename(&temporary, path).await
}

/// Appends CSV rows keyed by message id (the first column), each id once per file,
/// across retries and restarts: the ids already in a file are read on first touch.
#[derive(Default)]
pub(super) struct CsvLedger {
    seen: Mutex<HashMap<PathBuf, HashSet<String>>>,
}

impl CsvLedger {
    /// Appends `row` unless its id is already in `path`; writes `header` to a new file.
    pub(super) async fn append_once(
        &self,
        path: &Path,
        header: &[&str],
        row: &[&str],
    ) -> std::io::Result<()> {
        let mut seen = self.seen.lock().await;
        if !seen.contains_key(path) {
            seen.insert(path.to_owned(), ids_in(path).await?);
        }
        let ids = seen.entry(path.to_owned()).or_default();
        let id = row.first().copied().unwrap_or_default();
        if ids.contains(id) {
            return Ok(());
        }
        let mut bytes = Vec::new();
        if tokio::fs::metadata(path).await.is_err() {
            bytes.extend(csv_record(header)?);
        }
        bytes.extend(csv_record(row)?);
        append(path, &bytes).await?;
        ids.insert(id.to_owned());
        Ok(())
    }
}

/// The first column of every data row already in `path` (none if it does not exist).
async fn ids_in(path: &Path) -> std::io::Result<HashSet<String>> {
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(e),
    };
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let mut ids = HashSet::new();
    for record in reader.records() {
        if let Some(id) = record.map_err(std::io::Error::other)?.get(0) {
            ids.insert(id.to_owned());
        }
    }
    Ok(ids)
}

/// One CSV line, quoted where needed (commas, quotes, line breaks).
fn csv_record(fields: &[&str]) -> std::io::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(fields).map_err(std::io::Error::other)?;
    writer
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

async fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(bytes).await?;
    file.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_stay_inside_their_folder() {
        assert_eq!(file_stem("<0193-ab@breachline>"), "0193-ab@breachline");
        assert_eq!(file_stem("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_stem("..."), "_");
        assert_eq!(file_stem(""), "_");
        assert_eq!(file_stem("a/b\\c d"), "a_b_c_d");
    }

    #[tokio::test]
    async fn the_ledger_appends_each_id_once_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.csv");
        let ledger = CsvLedger::default();
        ledger
            .append_once(&path, &["id", "v"], &["a", "1"])
            .await
            .unwrap();
        ledger
            .append_once(&path, &["id", "v"], &["a", "1"])
            .await
            .unwrap();
        let restarted = CsvLedger::default();
        restarted
            .append_once(&path, &["id", "v"], &["a", "1"])
            .await
            .unwrap();
        restarted
            .append_once(&path, &["id", "v"], &["b", "x,\"y\""])
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "id,v\na,1\nb,\"x,\"\"y\"\"\"\n");
    }
}
