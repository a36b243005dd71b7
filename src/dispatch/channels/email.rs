//! E-mail through lettre: a pooled SMTP relay, or `.eml` files when none is set.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use super::smtp::{Failure, SmtpRelay};
use super::{ChannelAdapter, ConfigAlarm, Outcome, Outgoing, SendFuture, logged, required};
use crate::dispatch::settings::{EmailSettings, SmtpUrl};
use crate::domain::Channel;

enum Transport {
    Smtp(SmtpRelay),
    File(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// An e-mail formatted for the relay: its envelope and its RFC 5322 bytes.
pub struct Formatted {
    envelope: Envelope,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Formatted {
    /// Shows no address or content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Formatted")
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// The e-mail adapter.
pub(super) struct EmailAdapter {
    transport: Transport,
    default_from: String,
    alarm: ConfigAlarm,
}

impl EmailAdapter {
    /// A relay with its own pool of at most `pool_size` connections.
    pub(super) fn smtp(
        url: &SmtpUrl,
        settings: &EmailSettings,
        stage_timeout: Duration,
        send_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let relay = SmtpRelay::new(url, settings.pool_size, stage_timeout, send_timeout)?;
        Ok(Self::with(Transport::Smtp(relay), settings.from.clone()))
    }

    /// Writes one `.eml` file per message into `dir` (created on first use).
    pub(super) fn file(dir: PathBuf, default_from: String) -> Self {
        let transport = AsyncFileTransport::<Tokio1Executor>::new(&dir);
        Self::with(Transport::File(transport, dir), default_from)
    }

    fn with(transport: Transport, default_from: String) -> Self {
        EmailAdapter {
            transport,
            default_from,
            alarm: ConfigAlarm::default(),
        }
    }

    async fn deliver(&self, msg: &Outgoing) -> Outcome {
        match &self.transport {
            Transport::Smtp(relay) => {
                let formatted = match &msg.formatted {
                    Some(formatted) => Arc::clone(formatted),
                    None => match self.format(msg) {
                        Ok(formatted) => Arc::new(formatted),
                        Err(outcome) => return outcome,
                    },
                };
                match relay.send(&formatted.envelope, &formatted.bytes).await {
                    Ok(()) => {
                        self.alarm.clear();
                        Outcome::Sent { provider_id: None }
                    }
                    Err(Failure::Relay(why)) => Outcome::RelayDown(why),
                    Err(Failure::Person(why)) => Outcome::Transient(why),
                    Err(Failure::Refused(why)) => Outcome::Permanent(why),
                    Err(Failure::Configuration(why)) => self.alarm.raise(msg, "smtp", why),
                }
            }
            Transport::File(files, dir) => match self.build(msg) {
                Ok(email) => write_file(files, dir, email).await,
                Err(outcome) => outcome,
            },
        }
    }

    /// The message as the relay gets it.
    fn format(&self, msg: &Outgoing) -> Result<Formatted, Outcome> {
        let email = self.build(msg)?;
        Ok(Formatted {
            envelope: email.envelope().clone(),
            bytes: email.formatted(),
        })
    }

    /// The message with our `Message-ID`, or the outcome that stops it.
    fn build(&self, msg: &Outgoing) -> Result<Message, Outcome> {
        let from = match msg.sender.from.trim() {
            "" => self.default_from.as_str(),
            own => own,
        };
        let Ok(from) = from.parse::<Mailbox>() else {
            return Err(self.alarm.raise(
                msg,
                self.provider(),
                "the sender's From address is not valid".into(),
            ));
        };
        let to = recipient(msg)?;
        let subject = required(msg.subject.as_deref(), "e-mail subject")?;
        let mut builder = Message::builder()
            .message_id(Some(msg.message_id.clone()))
            .from(from)
            .to(to)
            .subject(subject)
            .date_now();
        if let Some(reply_to) = msg.sender.reply_to.as_deref() {
            let Ok(reply_to) = reply_to.parse::<Mailbox>() else {
                return Err(self.alarm.raise(
                    msg,
                    self.provider(),
                    "the sender's Reply-To address is not valid".into(),
                ));
            };
            builder = builder.reply_to(reply_to);
        }
        let built = match (msg.text.clone(), msg.html.clone()) {
            (Some(text), Some(html)) => {
                builder.multipart(MultiPart::alternative_plain_html(text, html))
            }
            (Some(text), None) => builder.singlepart(SinglePart::plain(text)),
            (None, Some(html)) => builder.singlepart(SinglePart::html(html)),
            (None, None) => return Err(Outcome::Permanent("e-mail body is missing".into())),
        };
        built.map_err(|e| Outcome::Permanent(format!("cannot build the e-mail: {e}")))
    }
}

/// The recipient mailbox; an address lettre cannot parse is permanent.
fn recipient(msg: &Outgoing) -> Result<Mailbox, Outcome> {
    let address = msg
        .to
        .trim()
        .parse::<Address>()
        .map_err(|_| Outcome::Permanent("not a valid e-mail address".into()))?;
    Ok(Mailbox::new(msg.to_name.clone(), address))
}

async fn write_file(
    files: &AsyncFileTransport<Tokio1Executor>,
    dir: &Path,
    email: Message,
) -> Outcome {
    if let Err(e) = tokio::fs::create_dir_all(dir).await {
        return Outcome::RelayDown(format!("cannot create the e-mail outbox: {e}"));
    }
    match files.send(email).await {
        Ok(id) => Outcome::HandedOff {
            location: dir.join(format!("{id}.eml")).display().to_string(),
        },
        Err(e) => Outcome::RelayDown(format!("cannot write the e-mail file: {e}")),
    }
}

impl ChannelAdapter for EmailAdapter {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn provider(&self) -> &str {
        match self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::File(..) => "file",
        }
    }

    /// Formats the e-mail for a relay ahead of the send (the `.eml` files are
    /// written whole by lettre at send time).
    fn prepare(&self, msg: &mut Outgoing) {
        if matches!(self.transport, Transport::Smtp(_)) && msg.formatted.is_none() {
            msg.formatted = self.format(msg).ok().map(Arc::new);
        }
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> SendFuture<'a> {
        logged(msg, self.provider(), self.deliver(msg))
    }

    fn has_receipts(&self) -> bool {
        false
    }
}
