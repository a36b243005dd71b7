//! Letters and phone calls: batches written for a print provider and a call centre.

use std::path::PathBuf;

use super::files::{CsvLedger, file_stem, handed_off, write_atomically};
use super::{ChannelAdapter, Outcome, Outgoing, SendFuture, logged, required};
use crate::domain::Channel;
use crate::domain::spreadsheet_safe;

/// The batch name used when an outgoing letter or call has none.
const UNBATCHED: &str = "unbatched";

/// Columns of a print batch's `manifest.csv`.
const MANIFEST: &[&str] = &["message_id", "file", "name", "address", "locale"];

/// Columns of a call list.
const CALL_LIST: &[&str] = &["message_id", "number", "name", "locale", "script"];

fn batch_stem(msg: &Outgoing) -> String {
    file_stem(msg.batch.as_deref().unwrap_or(UNBATCHED))
}

/// `outbox/letter/<batch>/`: one print-ready `<message>.html` per letter and a
/// `manifest.csv` with the addresses.
pub(super) struct PrintBatch {
    root: PathBuf,
    ledger: CsvLedger,
}

impl PrintBatch {
    /// Batches under `root`.
    pub(super) fn new(root: PathBuf) -> Self {
        PrintBatch {
            root,
            ledger: CsvLedger::default(),
        }
    }

    async fn deliver(&self, msg: &Outgoing) -> Outcome {
        let (html, address) = match (
            required(msg.html.as_deref(), "letter HTML"),
            required(Some(&msg.to), "postal address"),
        ) {
            (Ok(html), Ok(address)) => (html, address),
            (Err(outcome), _) | (_, Err(outcome)) => return outcome,
        };
        let dir = self.root.join(batch_stem(msg));
        let file = format!("{}.html", file_stem(&msg.message_id));
        let path = dir.join(&file);
        let name = spreadsheet_safe(msg.to_name.as_deref().unwrap_or_default());
        let address = spreadsheet_safe(address);
        let row = [msg.message_id.as_str(), &file, &name, &address, &msg.locale];
        let written = async {
            write_atomically(&path, html.as_bytes()).await?;
            let manifest = dir.join("manifest.csv");
            self.ledger.append_once(&manifest, MANIFEST, &row).await
        };
        handed_off(written.await, &path, Channel::Letter)
    }
}

impl ChannelAdapter for PrintBatch {
    fn channel(&self) -> Channel {
        Channel::Letter
    }

    fn provider(&self) -> &str {
        "print"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> SendFuture<'a> {
        logged(msg, self.provider(), self.deliver(msg))
    }

    fn has_receipts(&self) -> bool {
        false
    }
}

/// `outbox/phone/<batch>.csv`: number, name, locale and script per call.
pub(super) struct CallList {
    root: PathBuf,
    ledger: CsvLedger,
}

impl CallList {
    /// Call lists under `root`.
    pub(super) fn new(root: PathBuf) -> Self {
        CallList {
            root,
            ledger: CsvLedger::default(),
        }
    }

    async fn deliver(&self, msg: &Outgoing) -> Outcome {
        let (number, script) = match (
            phone_number(&msg.to),
            required(msg.text.as_deref(), "call script"),
        ) {
            (Ok(number), Ok(script)) => (number, script),
            (Err(outcome), _) | (_, Err(outcome)) => return outcome,
        };
        let path = self.root.join(format!("{}.csv", batch_stem(msg)));
        let name = spreadsheet_safe(msg.to_name.as_deref().unwrap_or_default());
        let script = spreadsheet_safe(script);
        let row = [msg.message_id.as_str(), number, &name, &msg.locale, &script];
        let written = self.ledger.append_once(&path, CALL_LIST, &row).await;
        handed_off(written, &path, Channel::Phone)
    }
}

/// A dialable number: digits with an optional leading `+`, spaces, dashes, brackets.
fn phone_number(to: &str) -> Result<&str, Outcome> {
    let to = to.trim();
    let digits = to.chars().filter(char::is_ascii_digit).count();
    let allowed = to
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || " -().".contains(c) || (c == '+' && i == 0));
    if allowed && digits >= 3 {
        Ok(to)
    } else {
        Err(Outcome::Permanent("not a phone number".into()))
    }
}

impl ChannelAdapter for CallList {
    fn channel(&self) -> Channel {
        Channel::Phone
    }

    fn provider(&self) -> &str {
        "callcentre"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> SendFuture<'a> {
        logged(msg, self.provider(), self.deliver(msg))
    }

    fn has_receipts(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_dialable_or_permanent_failures() {
        assert_eq!(phone_number(" +81 3-1234-5678 "), Ok("+81 3-1234-5678"));
        assert_eq!(phone_number("(030) 123456"), Ok("(030) 123456"));
        for bad in ["", "=cmd|' /C calc'!A0", "12+3", "call me"] {
            assert!(
                matches!(phone_number(bad), Err(Outcome::Permanent(_))),
                "{bad}"
            );
        }
    }
}
