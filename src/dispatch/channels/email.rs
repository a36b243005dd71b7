//! E-mail through lettre: a pooled SMTP relay, or `.eml` files when none is set.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::{self, PoolConfig};
use lettre::{
    Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use secrecy::ExposeSecret;

use super::{ChannelAdapter, ConfigAlarm, Outcome, Outgoing, SendFuture, logged, required};
use crate::dispatch::settings::{EmailSettings, SmtpTls, SmtpUrl};
use crate::domain::Channel;

/// SMTP reply codes that mean our login was refused, not the recipient.
const CREDENTIAL_CODES: &[&str] = &["530", "534", "535", "538"];

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// The e-mail adapter.
pub(super) struct EmailAdapter {
    transport: Transport,
    default_from: String,
    alarm: ConfigAlarm,
}

impl EmailAdapter {
    /// A pooled relay; needs a Tokio runtime.
    pub(super) fn smtp(
        url: &SmtpUrl,
        settings: &EmailSettings,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let tls = |host: &str| TlsParameters::new(host.to_owned());
        let tls = match url.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls(&url.host)?),
            SmtpTls::Tls => Tls::Wrapper(tls(&url.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host)
            .port(url.port)
            .tls(tls)
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(settings.pool_size));
        if let Some(user) = &url.user {
            let password = url
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self::with(
            Transport::Smtp(builder.build()),
            settings.from.clone(),
        ))
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
        let email = match self.build(msg) {
            Ok(email) => email,
            Err(outcome) => return outcome,
        };
        match &self.transport {
            Transport::Smtp(smtp) => match smtp.send(email).await {
                Ok(_) => {
                    self.alarm.clear();
                    Outcome::Sent { provider_id: None }
                }
                Err(err) => self.classify(msg, &err),
            },
            Transport::File(files, dir) => write_file(files, dir, email).await,
        }
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

    fn classify(&self, msg: &Outgoing, err: &smtp::Error) -> Outcome {
        match err.status().map(|code| code.to_string()) {
            Some(code) if CREDENTIAL_CODES.contains(&code.as_str()) => self.alarm.raise(
                msg,
                "smtp",
                format!("smtp {code}: the relay refused our credentials"),
            ),
            Some(code) if err.is_permanent() => {
                Outcome::Permanent(format!("smtp {code}: rejected by the relay"))
            }
            Some(code) => Outcome::Transient(format!("smtp {code}: deferred by the relay")),
            None if err.is_tls() => self.alarm.raise(
                msg,
                "smtp",
                format!("smtp TLS with the relay failed: {err}"),
            ),
            None if err.is_timeout() => Outcome::Transient("smtp: the relay timed out".into()),
            None => Outcome::Transient(format!("smtp: {err}")),
        }
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
        return Outcome::Transient(format!("cannot create the e-mail outbox: {e}"));
    }
    match files.send(email).await {
        Ok(id) => Outcome::HandedOff {
            location: dir.join(format!("{id}.eml")).display().to_string(),
        },
        Err(e) => Outcome::Transient(format!("cannot write the e-mail file: {e}")),
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

    fn send<'a>(&'a self, msg: &'a Outgoing) -> SendFuture<'a> {
        logged(msg, self.provider(), self.deliver(msg))
    }

    fn has_receipts(&self) -> bool {
        false
    }
}
