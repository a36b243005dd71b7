//! Channel adapters: one way of sending per channel, chosen from the settings.
//!
//! | channel | providers (default first) |
//! |---|---|
//! | email | `file` (`.eml` under `outbox/email/`), `smtp` (our pooled client with deadlines, STARTTLS/TLS, auth) |
//! | sms | `file` (`outbox/sms/*.json`), `twilio`, `webhook` |
//! | push | `file` (`outbox/push/*.json`), `fcm`, `webhook` |
//! | letter | `print` (`outbox/letter/<batch>/` HTML + `manifest.csv`) |
//! | phone | `callcentre` (`outbox/phone/<batch>.csv`) |
//!
//! Adapters never log addresses, numbers, tokens or bodies: only the message id,
//! channel, provider and the outcome.

mod batches;
mod email;
mod files;
mod http;
mod push;
mod sms;
mod smtp;

pub use email::Formatted;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::settings::{ChannelSettings, EmailSettings, PushProvider, SmsProvider, SmtpUrl};
use crate::domain::Channel;

/// One attempt to reach one person on one channel.
#[derive(Clone)]
pub struct Outgoing {
    /// Our id for the message, e.g. `<outbox-row-uuid@breachline>`; the same on every retry.
    pub message_id: String,
    /// The channel this attempt uses.
    pub channel: Channel,
    /// E-mail address, E.164 phone number, push token or postal address.
    pub to: String,
    /// The person's name, where known.
    pub to_name: Option<String>,
    /// E-mail subject or push title.
    pub subject: Option<String>,
    /// E-mail text part, SMS, push body or call script.
    pub text: Option<String>,
    /// E-mail HTML part or letter HTML.
    pub html: Option<String>,
    /// The person's notice page (push data payload).
    pub link: Option<String>,
    /// The notice's locale, e.g. `ja`.
    pub locale: String,
    /// Who the message is from (per tenant).
    pub sender: Sender,
    /// Letter or phone batch id, e.g. the dispatch id.
    pub batch: Option<String>,
    /// The e-mail as it goes on the wire, formatted ahead of the send by
    /// [`ChannelAdapter::prepare`]; `None` formats it when it is sent.
    pub formatted: Option<Arc<Formatted>>,
}

impl std::fmt::Debug for Outgoing {
    /// Shows no address, number, token or content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("message_id", &self.message_id)
            .field("channel", &self.channel)
            .field("locale", &self.locale)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

/// A tenant's sender identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sender {
    /// `From` as `Name <address>`; empty uses `BREACHLINE_MAIL_FROM`.
    pub from: String,
    /// `Reply-To`, as `Name <address>`.
    pub reply_to: Option<String>,
    /// SMS sender number or id; `None` uses `BREACHLINE_SMS_FROM`.
    pub sms_from: Option<String>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider accepted the message; receipts may follow under `provider_id`.
    Sent {
        /// The provider's id for the message (Twilio `sid`, FCM `name`, webhook `id`).
        provider_id: Option<String>,
    },
    /// Written for someone else to deliver (print batch, call list, file outbox).
    HandedOff {
        /// Where it was written.
        location: String,
    },
    /// A failure about this person that may pass (a full mailbox, greylisting):
    /// retry later; the attempt counts.
    Transient(String),
    /// The relay or provider failed as a whole (refused or silent connections,
    /// timeouts, `421`, 429/5xx, our own credentials): pause it and retry later
    /// without spending the person's attempts.
    RelayDown(String),
    /// Retrying will not help: move the person to their next channel.
    Permanent(String),
}

/// The future one send returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// One way of sending on one channel.
pub trait ChannelAdapter: Send + Sync {
    /// The channel this adapter serves.
    fn channel(&self) -> Channel;
    /// The provider's name: `smtp`, `file`, `twilio`, `webhook`, `fcm`, `print`, `callcentre`.
    fn provider(&self) -> &str;
    /// Does the CPU work of a send ahead of it (formats an e-mail), so that the
    /// thread that talks to providers does only that; nothing by default. What
    /// cannot be prepared is left for `send`, which reports it.
    fn prepare(&self, _msg: &mut Outgoing) {}
    /// Makes one attempt; never panics, every failure is classified.
    fn send<'a>(&'a self, msg: &'a Outgoing) -> SendFuture<'a>;
    /// Whether the provider reports delivery later through `POST /api/v1/receipts/…`.
    fn has_receipts(&self) -> bool;
}

/// One adapter per channel, built from the settings.
pub struct Adapters {
    email: Arc<dyn ChannelAdapter>,
    sms: Arc<dyn ChannelAdapter>,
    push: Arc<dyn ChannelAdapter>,
    letter: Arc<dyn ChannelAdapter>,
    phone: Arc<dyn ChannelAdapter>,
    email_settings: EmailSettings,
    smtp_timeout: Duration,
    smtp_send_timeout: Duration,
    relays: Mutex<HashMap<String, Arc<dyn ChannelAdapter>>>,
}

impl Adapters {
    /// Builds every adapter; file outboxes go under `data_dir/outbox/`.
    pub fn from_settings(s: &ChannelSettings, data_dir: &Path) -> anyhow::Result<Self> {
        let outbox = data_dir.join("outbox");
        let client = http::client(s.http_timeout)?;
        let email: Arc<dyn ChannelAdapter> = match &s.email.smtp_url {
            Some(url) => Arc::new(email::EmailAdapter::smtp(
                url,
                &s.email,
                s.smtp_timeout,
                s.smtp_send_timeout,
            )?),
            None => Arc::new(email::EmailAdapter::file(
                outbox.join("email"),
                s.email.from.clone(),
            )),
        };
        let sms: Arc<dyn ChannelAdapter> = match s.sms.provider {
            SmsProvider::File => Arc::new(files::JsonOutbox::new(
                Channel::Sms,
                outbox.join("sms"),
                s.sms.from.clone(),
            )),
            SmsProvider::Twilio => Arc::new(sms::TwilioSms::new(&s.sms, client.clone())?),
            SmsProvider::Webhook => Arc::new(http::Webhook::sms(&s.sms, client.clone())?),
        };
        let push: Arc<dyn ChannelAdapter> = match s.push.provider {
            PushProvider::File => Arc::new(files::JsonOutbox::new(
                Channel::Push,
                outbox.join("push"),
                None,
            )),
            PushProvider::Fcm => Arc::new(push::FcmPush::new(&s.push, client.clone())?),
            PushProvider::Webhook => Arc::new(http::Webhook::push(&s.push, client)?),
        };
        Ok(Adapters {
            email,
            sms,
            push,
            letter: Arc::new(batches::PrintBatch::new(outbox.join("letter"))),
            phone: Arc::new(batches::CallList::new(outbox.join("phone"))),
            email_settings: s.email.clone(),
            smtp_timeout: s.smtp_timeout,
            smtp_send_timeout: s.smtp_send_timeout,
            relays: Mutex::new(HashMap::new()),
        })
    }

    /// The service-wide adapter for `channel`.
    pub fn get(&self, channel: Channel) -> &dyn ChannelAdapter {
        let adapter = match channel {
            Channel::Email => &self.email,
            Channel::Sms => &self.sms,
            Channel::Push => &self.push,
            Channel::Letter => &self.letter,
            Channel::Phone => &self.phone,
        };
        adapter.as_ref()
    }

    /// The adapters for the tenant with this slug: its own SMTP relay if
    /// `channels.email.tenant_relays` names one (one pool per relay, kept for the
    /// life of `self`), the service's otherwise.
    pub fn for_tenant(&self, slug: &str) -> anyhow::Result<TenantAdapters<'_>> {
        let email = self
            .email_settings
            .tenant_relays
            .get(slug)
            .map(|url| self.relay(url))
            .transpose()?;
        Ok(TenantAdapters { base: self, email })
    }

    fn relay(&self, url: &SmtpUrl) -> anyhow::Result<Arc<dyn ChannelAdapter>> {
        let mut relays = self.relays.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(adapter) = relays.get(url.expose()) {
            return Ok(Arc::clone(adapter));
        }
        let adapter: Arc<dyn ChannelAdapter> = Arc::new(email::EmailAdapter::smtp(
            url,
            &self.email_settings,
            self.smtp_timeout,
            self.smtp_send_timeout,
        )?);
        relays.insert(url.expose().to_owned(), Arc::clone(&adapter));
        Ok(adapter)
    }
}

/// A tenant's view of the adapters, from [`Adapters::for_tenant`].
pub struct TenantAdapters<'a> {
    base: &'a Adapters,
    email: Option<Arc<dyn ChannelAdapter>>,
}

impl TenantAdapters<'_> {
    /// The adapter this tenant uses for `channel`.
    pub fn get(&self, channel: Channel) -> &dyn ChannelAdapter {
        match (channel, &self.email) {
            (Channel::Email, Some(own)) => own.as_ref(),
            _ => self.base.get(channel),
        }
    }
}

/// Remembers that our own configuration was refused, so it is logged at error level
/// once until a send succeeds again, not once per message.
#[derive(Debug, Default)]
struct ConfigAlarm {
    raised: AtomicBool,
}

impl ConfigAlarm {
    /// A relay-wide outcome for a configuration problem, logged loudly the first time.
    fn raise(&self, msg: &Outgoing, provider: &str, what: String) -> Outcome {
        if !self.raised.swap(true, Ordering::Relaxed) {
            tracing::error!(
                message.id = %msg.message_id,
                channel = %msg.channel,
                provider,
                problem = %what,
                "channel configuration refused; messages wait until an operator fixes it"
            );
        }
        Outcome::RelayDown(what)
    }

    /// Called after a success: the next refusal is news again.
    fn clear(&self) {
        self.raised.store(false, Ordering::Relaxed);
    }
}

/// Wraps one attempt so every outcome is logged the same way.
fn logged<'a>(
    msg: &'a Outgoing,
    provider: &'a str,
    attempt: impl Future<Output = Outcome> + Send + 'a,
) -> SendFuture<'a> {
    Box::pin(async move {
        let outcome = attempt.await;
        let (id, channel) = (&msg.message_id, msg.channel);
        match &outcome {
            Outcome::Sent { .. } | Outcome::HandedOff { .. } => {
                tracing::debug!(message.id = %id, %channel, provider, "message sent");
            }
            Outcome::Transient(why) => {
                tracing::warn!(message.id = %id, %channel, provider, reason = %why, "send failed, will retry");
            }
            Outcome::RelayDown(why) => {
                tracing::warn!(message.id = %id, %channel, provider, reason = %why, "relay failed, will retry");
            }
            Outcome::Permanent(why) => {
                tracing::warn!(message.id = %id, %channel, provider, reason = %why, "send refused for good");
            }
        }
        outcome
    })
}

/// The value, or a permanent failure naming what is missing.
fn required<'a>(value: Option<&'a str>, what: &str) -> Result<&'a str, Outcome> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(Outcome::Permanent(format!("{what} is missing"))),
    }
}
