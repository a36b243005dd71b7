//! Channel settings: providers, credentials, rate limits and retry limits.
//!
//! Loaded by [`crate::config::Settings`] from the `[channels]` file section and the
//! `BREACHLINE_*` variables listed in `docs/channels.md`; the environment wins.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::redact;
use crate::domain::Channel;

/// Everything the channel adapters, the rate limits and the retry policy need.
#[derive(Debug, Clone)]
pub struct ChannelSettings {
    /// E-mail relay and sender.
    pub email: EmailSettings,
    /// SMS provider.
    pub sms: SmsSettings,
    /// Push provider.
    pub push: PushSettings,
    /// Sends per second, per channel (one bucket per channel and provider).
    pub rates: PerChannel<f64>,
    /// Retry limits per channel.
    pub retry: PerChannel<RetryLimits>,
    /// Whole-request timeout for HTTP providers.
    pub http_timeout: Duration,
    /// Timeout of each SMTP stage (connect and greeting, each command, the data).
    pub smtp_timeout: Duration,
    /// Deadline of a whole SMTP send, from connecting to the relay's last answer.
    pub smtp_send_timeout: Duration,
    /// Longest pause of a relay after relay-wide failures (the pause doubles from
    /// one second up to this).
    pub relay_pause_max: Duration,
}

/// One value per channel.
#[derive(Debug, Clone, PartialEq)]
pub struct PerChannel<T> {
    /// E-mail.
    pub email: T,
    /// SMS.
    pub sms: T,
    /// Push.
    pub push: T,
    /// Letter.
    pub letter: T,
    /// Phone.
    pub phone: T,
}

impl<T> PerChannel<T> {
    /// The value for `channel`.
    pub fn get(&self, channel: Channel) -> &T {
        match channel {
            Channel::Email => &self.email,
            Channel::Sms => &self.sms,
            Channel::Push => &self.push,
            Channel::Letter => &self.letter,
            Channel::Phone => &self.phone,
        }
    }
}

/// How often and how patiently one channel retries transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryLimits {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// Delay before the first retry (before jitter).
    pub base: Duration,
    /// Longest delay between two attempts.
    pub cap: Duration,
    /// How long a person may wait on this channel, however the relay fares, before
    /// they move to their next channel (counted from when they were queued on it).
    pub window: Duration,
}

/// E-mail settings.
#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// The default relay for every tenant; `None` writes `.eml` files instead.
    pub smtp_url: Option<SmtpUrl>,
    /// `From` used when a tenant has none, as `Name <address>`.
    pub from: String,
    /// Most SMTP connections kept open per relay.
    pub pool_size: u32,
    /// Tenants' own relays, by tenant slug; they replace `smtp_url` for that tenant.
    pub tenant_relays: BTreeMap<String, SmtpUrl>,
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (local test relays only).
    None,
    /// STARTTLS required after connecting (port 587).
    StartTls,
    /// Implicit TLS from the first byte (port 465).
    Tls,
}

/// A checked `smtp://[user:pass@]host[:port][?tls=starttls|tls|none]` URL.
/// Its `Debug` never shows the credentials.
#[derive(Clone)]
pub struct SmtpUrl {
    url: SecretString,
    /// Relay host name.
    pub host: String,
    /// Relay port (default 587, 465 for `tls=tls`, 25 for `tls=none`).
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// Login name, percent-decoded.
    pub user: Option<String>,
    /// Password, percent-decoded.
    pub password: Option<SecretString>,
}

impl SmtpUrl {
    /// Parses and checks an SMTP URL; `tls` defaults to `starttls`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let shown = redact(text);
        let url = reqwest::Url::parse(text)
            .with_context(|| format!("SMTP URL '{shown}' is not a URL"))?;
        if url.scheme() != "smtp" {
            bail!(
                "SMTP URL '{shown}': the scheme must be smtp:// (choose TLS with ?tls=starttls|tls|none)"
            );
        }
        let host = match url.host_str() {
            Some(h) if !h.is_empty() => h.trim_matches(['[', ']']).to_owned(),
            _ => bail!("SMTP URL '{shown}' names no host"),
        };
        let tls = smtp_tls(&url, &shown)?;
        let default_port = match tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        };
        Ok(SmtpUrl {
            url: SecretString::from(text.to_owned()),
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            user: non_empty(decode(url.username())),
            password: url.password().map(|p| SecretString::from(decode(p))),
        })
    }

    /// The full URL, for comparing relays only.
    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", redact(self.url.expose_secret()))
    }
}

fn smtp_tls(url: &reqwest::Url, shown: &str) -> anyhow::Result<SmtpTls> {
    let mut tls = SmtpTls::StartTls;
    for (key, value) in url.query_pairs() {
        tls = match (key.as_ref(), value.as_ref()) {
            ("tls", "starttls") => SmtpTls::StartTls,
            ("tls", "tls") => SmtpTls::Tls,
            ("tls", "none") => SmtpTls::None,
            ("tls", other) => {
                bail!("SMTP URL '{shown}': tls={other} is not one of starttls, tls, none")
            }
            (other, _) => bail!("SMTP URL '{shown}': unknown parameter '{other}'"),
        };
    }
    Ok(tls)
}

fn decode(part: &str) -> String {
    percent_encoding::percent_decode_str(part)
        .decode_utf8_lossy()
        .into_owned()
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Who carries SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsProvider {
    /// JSON files under `data/outbox/sms/`.
    File,
    /// A Twilio-compatible REST API.
    Twilio,
    /// Our signed JSON webhook.
    Webhook,
}

/// SMS settings.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// The provider.
    pub provider: SmsProvider,
    /// Base URL (Twilio: `https://api.twilio.com`; webhook: the full endpoint).
    pub url: Option<String>,
    /// Sender number or id used when a tenant has none.
    pub from: Option<String>,
    /// Twilio account SID.
    pub twilio_sid: Option<String>,
    /// Twilio auth token (also verifies Twilio's receipts).
    pub twilio_token: Option<SecretString>,
    /// Where Twilio posts delivery receipts (`StatusCallback`); no receipts without it.
    pub status_callback: Option<String>,
    /// HMAC key for webhook requests and receipts.
    pub webhook_secret: Option<SecretString>,
    /// How long to wait for a delivery receipt before trying the person's next
    /// channel (providers that send receipts only); `None` waits for ever.
    pub receipt_timeout: Option<Duration>,
}

/// Who carries push notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushProvider {
    /// JSON files under `data/outbox/push/`.
    File,
    /// Firebase Cloud Messaging HTTP v1.
    Fcm,
    /// Our signed JSON webhook.
    Webhook,
}

/// Push settings.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// The provider.
    pub provider: PushProvider,
    /// Base URL (FCM: `https://fcm.googleapis.com`; webhook: the full endpoint).
    pub url: Option<String>,
    /// FCM project id.
    pub fcm_project: Option<String>,
    /// File holding a current OAuth access token, refreshed by an operator-side tool.
    pub fcm_token_file: Option<PathBuf>,
    /// HMAC key for webhook requests and receipts.
    pub webhook_secret: Option<SecretString>,
    /// How long to wait for a delivery receipt before trying the person's next
    /// channel (providers that send receipts only); `None` waits for ever.
    pub receipt_timeout: Option<Duration>,
}

/// The `[channels]` file section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileChannels {
    http_timeout_secs: Option<u64>,
    smtp_timeout_secs: Option<u64>,
    smtp_send_timeout_secs: Option<u64>,
    relay_pause_max_secs: Option<u64>,
    #[serde(default)]
    email: FileEmail,
    #[serde(default)]
    sms: FileSms,
    #[serde(default)]
    push: FilePush,
    #[serde(default)]
    rates: FilePerChannel<f64>,
    #[serde(default)]
    retry: FilePerChannel<FileRetry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEmail {
    smtp_url: Option<String>,
    from: Option<String>,
    pool_size: Option<u32>,
    #[serde(default)]
    tenant_relays: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSms {
    provider: Option<SmsProvider>,
    url: Option<String>,
    from: Option<String>,
    twilio_sid: Option<String>,
    twilio_token: Option<String>,
    status_callback: Option<String>,
    webhook_secret: Option<String>,
    receipt_timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePush {
    provider: Option<PushProvider>,
    url: Option<String>,
    fcm_project: Option<String>,
    fcm_token_file: Option<PathBuf>,
    webhook_secret: Option<String>,
    receipt_timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePerChannel<T> {
    email: Option<T>,
    sms: Option<T>,
    push: Option<T>,
    letter: Option<T>,
    phone: Option<T>,
}

impl<T> Default for FilePerChannel<T> {
    fn default() -> Self {
        Self {
            email: None,
            sms: None,
            push: None,
            letter: None,
            phone: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetry {
    max_attempts: Option<u32>,
    base_secs: Option<u64>,
    cap_secs: Option<u64>,
    window_secs: Option<u64>,
}

/// Built-in sends per second.
const DEFAULT_RATES: PerChannel<f64> = PerChannel {
    email: 50.0,
    sms: 10.0,
    push: 100.0,
    letter: 100.0,
    phone: 100.0,
};

const fn limits(
    max_attempts: u32,
    base_secs: u64,
    cap_secs: u64,
    window_hours: u64,
) -> RetryLimits {
    RetryLimits {
        max_attempts,
        base: Duration::from_secs(base_secs),
        cap: Duration::from_secs(cap_secs),
        window: Duration::from_secs(window_hours * 3600),
    }
}

/// Built-in retry limits: e-mail retries longest, files hardly need it. The window
/// bounds how long a relay outage may hold a person on one channel.
const DEFAULT_RETRY: PerChannel<RetryLimits> = PerChannel {
    email: limits(8, 60, 2 * 3600, 24),
    sms: limits(6, 30, 1800, 12),
    push: limits(6, 30, 1800, 12),
    letter: limits(3, 300, 3600, 72),
    phone: limits(3, 300, 3600, 72),
};

/// Built-in wait for a delivery receipt: a day, then the next channel.
const DEFAULT_RECEIPT_TIMEOUT_SECS: u64 = 24 * 3600;

/// SMTP connections per relay unless configured. Each connection waits for the
/// relay's answer to every command, so a few more than the relay needs keep it busy
/// while our answers are on their way; relays take many more (Postfix's default is
/// 20 concurrent deliveries per destination). Through `serve` to a single-process
/// relay on the same two cores, 4 connections left it idle 10-12 % of the time;
/// with 8, `serve` reached 0.90-0.97 of a minimal sender (docs/operations.md).
const DEFAULT_POOL_SIZE: u32 = 8;

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl ChannelSettings {
    /// Defaults < `file` < `env`, checked: a provider missing its credentials is an error.
    pub(crate) fn load(file: FileChannels, env: Env<'_>) -> anyhow::Result<Self> {
        Ok(ChannelSettings {
            email: load_email(file.email, env)?,
            sms: load_sms(file.sms, env)?,
            push: load_push(file.push, env)?,
            rates: load_rates(file.rates)?,
            retry: load_retry(file.retry)?,
            http_timeout: positive_secs(file.http_timeout_secs, 10, "channels.http_timeout_secs")?,
            smtp_timeout: positive_secs(file.smtp_timeout_secs, 30, "channels.smtp_timeout_secs")?,
            smtp_send_timeout: positive_secs(
                file.smtp_send_timeout_secs,
                120,
                "channels.smtp_send_timeout_secs",
            )?,
            relay_pause_max: positive_secs(
                file.relay_pause_max_secs,
                60,
                "channels.relay_pause_max_secs",
            )?,
        })
    }

    /// The relay that carries `channel` for the tenant with this slug, as a key
    /// without credentials (`smtp://host:port`, `twilio`, `file:sms`, …): one
    /// circuit breaker per key.
    pub fn relay_key(&self, tenant_slug: &str, channel: Channel) -> String {
        let url_host = |url: &Option<String>| {
            url.as_deref()
                .and_then(|u| reqwest::Url::parse(u).ok())
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default()
        };
        match channel {
            Channel::Email => {
                let relay = self
                    .email
                    .tenant_relays
                    .get(tenant_slug)
                    .or(self.email.smtp_url.as_ref());
                match relay {
                    Some(url) => format!("smtp://{}:{}", url.host, url.port),
                    None => "file:email".into(),
                }
            }
            Channel::Sms => match self.sms.provider {
                SmsProvider::File => "file:sms".into(),
                SmsProvider::Twilio => format!("twilio:{}", url_host(&self.sms.url)),
                SmsProvider::Webhook => format!("webhook:{}", url_host(&self.sms.url)),
            },
            Channel::Push => match self.push.provider {
                PushProvider::File => "file:push".into(),
                PushProvider::Fcm => format!("fcm:{}", url_host(&self.push.url)),
                PushProvider::Webhook => format!("webhook:{}", url_host(&self.push.url)),
            },
            Channel::Letter => "print".into(),
            Channel::Phone => "callcentre".into(),
        }
    }

    /// How long a message sent on `channel` by a provider that sends receipts may go
    /// without one before it counts as failed; `None` for channels without receipts.
    pub fn receipt_timeout(&self, channel: Channel) -> Option<Duration> {
        match channel {
            Channel::Sms => self.sms.receipt_timeout,
            Channel::Push => self.push.receipt_timeout,
            Channel::Email | Channel::Letter | Channel::Phone => None,
        }
    }
}

/// A receipt timeout from `env_key` or the file, the default when neither; 0 turns it off.
fn receipt_timeout(
    env: Env<'_>,
    env_key: &str,
    file: Option<u64>,
) -> anyhow::Result<Option<Duration>> {
    let secs = match env(env_key) {
        Some(v) => v.trim().parse::<u64>().with_context(|| {
            format!("{env_key}: expected whole seconds (0 for no timeout), got '{v}'")
        })?,
        None => file.unwrap_or(DEFAULT_RECEIPT_TIMEOUT_SECS),
    };
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

fn positive_secs(value: Option<u64>, default: u64, key: &str) -> anyhow::Result<Duration> {
    match value.unwrap_or(default) {
        0 => bail!("{key}: must be at least 1"),
        secs => Ok(Duration::from_secs(secs)),
    }
}

fn secret(value: Option<String>) -> Option<SecretString> {
    value.map(SecretString::from)
}

fn load_email(file: FileEmail, env: Env<'_>) -> anyhow::Result<EmailSettings> {
    let smtp_url = env("BREACHLINE_SMTP_URL")
        .or(file.smtp_url)
        .filter(|u| !u.is_empty())
        .map(|u| SmtpUrl::parse(&u))
        .transpose()?;
    let from = env("BREACHLINE_MAIL_FROM")
        .or(file.from)
        .unwrap_or_else(|| "Breachline <notices@localhost>".to_owned());
    if from.parse::<lettre::message::Mailbox>().is_err() {
        bail!("BREACHLINE_MAIL_FROM: '{from}' is not an address like 'Name <notices@example.org>'");
    }
    let tenant_relays = file
        .tenant_relays
        .into_iter()
        .map(|(slug, url)| {
            let parsed = SmtpUrl::parse(&url)
                .with_context(|| format!("channels.email.tenant_relays.{slug}"))?;
            Ok((slug, parsed))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(EmailSettings {
        smtp_url,
        from,
        pool_size: file.pool_size.unwrap_or(DEFAULT_POOL_SIZE).max(1),
        tenant_relays,
    })
}

fn provider_word<T: serde::de::DeserializeOwned>(key: &str, word: &str) -> anyhow::Result<T> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(word))
        .map_err(|_| anyhow::anyhow!("{key}: unknown provider '{word}'"))
}

fn load_sms(file: FileSms, env: Env<'_>) -> anyhow::Result<SmsSettings> {
    let provider = match env("BREACHLINE_SMS_PROVIDER") {
        Some(word) => provider_word("BREACHLINE_SMS_PROVIDER", &word)?,
        None => file.provider.unwrap_or(SmsProvider::File),
    };
    let s = SmsSettings {
        provider,
        url: env("BREACHLINE_SMS_URL").or(file.url),
        from: env("BREACHLINE_SMS_FROM").or(file.from),
        twilio_sid: env("BREACHLINE_TWILIO_SID").or(file.twilio_sid),
        twilio_token: secret(env("BREACHLINE_TWILIO_TOKEN").or(file.twilio_token)),
        status_callback: env("BREACHLINE_SMS_STATUS_CALLBACK").or(file.status_callback),
        webhook_secret: secret(env("BREACHLINE_SMS_WEBHOOK_SECRET").or(file.webhook_secret)),
        receipt_timeout: receipt_timeout(
            env,
            "BREACHLINE_SMS_RECEIPT_TIMEOUT_SECS",
            file.receipt_timeout_secs,
        )?,
    };
    check_url("BREACHLINE_SMS_URL", s.url.as_deref())?;
    check_url(
        "BREACHLINE_SMS_STATUS_CALLBACK",
        s.status_callback.as_deref(),
    )?;
    match s.provider {
        SmsProvider::File => {}
        SmsProvider::Twilio => {
            require("BREACHLINE_TWILIO_SID", s.twilio_sid.is_some())?;
            require("BREACHLINE_TWILIO_TOKEN", s.twilio_token.is_some())?;
        }
        SmsProvider::Webhook => {
            require("BREACHLINE_SMS_URL", s.url.is_some())?;
            require("BREACHLINE_SMS_WEBHOOK_SECRET", s.webhook_secret.is_some())?;
        }
    }
    Ok(s)
}

fn load_push(file: FilePush, env: Env<'_>) -> anyhow::Result<PushSettings> {
    let provider = match env("BREACHLINE_PUSH_PROVIDER") {
        Some(word) => provider_word("BREACHLINE_PUSH_PROVIDER", &word)?,
        None => file.provider.unwrap_or(PushProvider::File),
    };
    let s = PushSettings {
        provider,
        url: env("BREACHLINE_PUSH_URL").or(file.url),
        fcm_project: env("BREACHLINE_FCM_PROJECT").or(file.fcm_project),
        fcm_token_file: env("BREACHLINE_FCM_TOKEN_FILE")
            .map(PathBuf::from)
            .or(file.fcm_token_file),
        webhook_secret: secret(env("BREACHLINE_PUSH_WEBHOOK_SECRET").or(file.webhook_secret)),
        receipt_timeout: receipt_timeout(
            env,
            "BREACHLINE_PUSH_RECEIPT_TIMEOUT_SECS",
            file.receipt_timeout_secs,
        )?,
    };
    check_url("BREACHLINE_PUSH_URL", s.url.as_deref())?;
    match s.provider {
        PushProvider::File => {}
        PushProvider::Fcm => {
            require("BREACHLINE_FCM_PROJECT", s.fcm_project.is_some())?;
            require("BREACHLINE_FCM_TOKEN_FILE", s.fcm_token_file.is_some())?;
        }
        PushProvider::Webhook => {
            require("BREACHLINE_PUSH_URL", s.url.is_some())?;
            require("BREACHLINE_PUSH_WEBHOOK_SECRET", s.webhook_secret.is_some())?;
        }
    }
    Ok(s)
}

fn require(key: &str, present: bool) -> anyhow::Result<()> {
    if !present {
        bail!("{key} is required by the chosen provider");
    }
    Ok(())
}

fn check_url(key: &str, url: Option<&str>) -> anyhow::Result<()> {
    match url {
        Some(u) if !(u.starts_with("http://") || u.starts_with("https://")) => {
            bail!(
                "{key}: expected an http:// or https:// URL, got '{}'",
                redact(u)
            )
        }
        Some(u) => reqwest::Url::parse(u)
            .map(|_| ())
            .with_context(|| format!("{key}: '{}' is not a URL", redact(u))),
        None => Ok(()),
    }
}

fn load_rates(file: FilePerChannel<f64>) -> anyhow::Result<PerChannel<f64>> {
    let d = DEFAULT_RATES;
    let rates = PerChannel {
        email: file.email.unwrap_or(d.email),
        sms: file.sms.unwrap_or(d.sms),
        push: file.push.unwrap_or(d.push),
        letter: file.letter.unwrap_or(d.letter),
        phone: file.phone.unwrap_or(d.phone),
    };
    for channel in Channel::ALL {
        let rate = *rates.get(*channel);
        if !(rate.is_finite() && rate > 0.0) {
            bail!("channels.rates.{channel}: expected sends per second above 0, got {rate}");
        }
    }
    Ok(rates)
}

fn load_retry(file: FilePerChannel<FileRetry>) -> anyhow::Result<PerChannel<RetryLimits>> {
    let d = DEFAULT_RETRY;
    let retry = PerChannel {
        email: merge_retry(file.email, d.email),
        sms: merge_retry(file.sms, d.sms),
        push: merge_retry(file.push, d.push),
        letter: merge_retry(file.letter, d.letter),
        phone: merge_retry(file.phone, d.phone),
    };
    for channel in Channel::ALL {
        let r = retry.get(*channel);
        if r.max_attempts == 0 || r.base.is_zero() || r.cap < r.base || r.window.is_zero() {
            bail!(
                "channels.retry.{channel}: need max_attempts >= 1, base_secs >= 1, cap_secs >= base_secs and window_secs >= 1"
            );
        }
    }
    Ok(retry)
}

fn merge_retry(file: Option<FileRetry>, default: RetryLimits) -> RetryLimits {
    let Some(f) = file else { return default };
    RetryLimits {
        max_attempts: f.max_attempts.unwrap_or(default.max_attempts),
        base: f.base_secs.map_or(default.base, Duration::from_secs),
        cap: f.cap_secs.map_or(default.cap, Duration::from_secs),
        window: f.window_secs.map_or(default.window, Duration::from_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)], toml_text: &str) -> anyhow::Result<ChannelSettings> {
        let file: FileChannels = toml::from_str(toml_text)?;
        let env = |key: &str| {
            env.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        };
        ChannelSettings::load(file, &env)
    }

    #[test]
    fn defaults_write_files_and_use_documented_numbers() {
        let s = load(&[], "").unwrap();
        assert!(s.email.smtp_url.is_none());
        assert_eq!(s.email.from, "Breachline <notices@localhost>");
        assert_eq!(s.sms.provider, SmsProvider::File);
        assert_eq!(s.push.provider, PushProvider::File);
        assert_eq!(s.rates.email, 50.0);
        assert_eq!(s.rates.sms, 10.0);
        assert_eq!(s.http_timeout, Duration::from_secs(10));
        assert_eq!(s.retry.email.max_attempts, 8);
        assert_eq!(
            s.receipt_timeout(Channel::Sms),
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(s.receipt_timeout(Channel::Email), None);
    }

    #[test]
    fn receipt_timeouts_from_env_or_file_and_zero_turns_them_off() {
        let s = load(
            &[("BREACHLINE_SMS_RECEIPT_TIMEOUT_SECS", "90")],
            "[sms]\nreceipt_timeout_secs = 5\n[push]\nreceipt_timeout_secs = 0\n",
        )
        .unwrap();
        assert_eq!(
            s.receipt_timeout(Channel::Sms),
            Some(Duration::from_secs(90))
        );
        assert_eq!(s.receipt_timeout(Channel::Push), None);
        let err = load(&[("BREACHLINE_PUSH_RECEIPT_TIMEOUT_SECS", "a day")], "").unwrap_err();
        assert!(
            err.to_string()
                .contains("BREACHLINE_PUSH_RECEIPT_TIMEOUT_SECS"),
            "{err}"
        );
    }

    #[test]
    fn smtp_urls_pick_tls_port_and_credentials() {
        let u = SmtpUrl::parse("smtp://us%40er:p%3Ass@mail.example.org?tls=starttls").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("mail.example.org", 587, SmtpTls::StartTls)
        );
        assert_eq!(u.user.as_deref(), Some("us@er"));
        assert_eq!(u.password.as_ref().unwrap().expose_secret(), "p:ss");
        assert_eq!(format!("{u:?}"), "smtp://***@mail.example.org?tls=starttls");
        let u = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!(
            (u.port, u.tls, u.user.is_none()),
            (2525, SmtpTls::None, true)
        );
        assert_eq!(SmtpUrl::parse("smtp://h?tls=tls").unwrap().port, 465);
        assert_eq!(SmtpUrl::parse("smtp://h").unwrap().tls, SmtpTls::StartTls);
        for bad in ["http://h", "smtp://h?tls=maybe", "smtp://h?x=1", "nonsense"] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_wins_over_file() {
        let s = load(
            &[("BREACHLINE_MAIL_FROM", "Env <env@example.org>")],
            "[email]\nfrom = \"File <file@example.org>\"\n[rates]\nsms = 2.5\n",
        )
        .unwrap();
        assert_eq!(s.email.from, "Env <env@example.org>");
        assert_eq!(s.rates.sms, 2.5);
    }

    #[test]
    fn providers_require_their_credentials() {
        let err = load(&[("BREACHLINE_SMS_PROVIDER", "twilio")], "").unwrap_err();
        assert!(err.to_string().contains("BREACHLINE_TWILIO_SID"), "{err}");
        let err = load(&[("BREACHLINE_PUSH_PROVIDER", "webhook")], "").unwrap_err();
        assert!(err.to_string().contains("BREACHLINE_PUSH_URL"), "{err}");
        let err = load(&[("BREACHLINE_SMS_PROVIDER", "pigeon")], "").unwrap_err();
        assert!(err.to_string().contains("pigeon"), "{err}");
        let ok = load(
            &[
                ("BREACHLINE_PUSH_PROVIDER", "fcm"),
                ("BREACHLINE_FCM_PROJECT", "p"),
                ("BREACHLINE_FCM_TOKEN_FILE", "/run/fcm-token"),
            ],
            "",
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn secrets_never_print() {
        let s = load(
            &[
                ("BREACHLINE_SMTP_URL", "smtp://u:hunter2@h:25?tls=none"),
                ("BREACHLINE_SMS_PROVIDER", "twilio"),
                ("BREACHLINE_TWILIO_SID", "AC1"),
                ("BREACHLINE_TWILIO_TOKEN", "tok-hunter3"),
            ],
            "",
        )
        .unwrap();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("hunter3"),
            "{shown}"
        );
    }

    #[test]
    fn bad_numbers_and_unknown_keys_are_rejected() {
        assert!(load(&[], "[rates]\nemail = 0.0\n").is_err());
        assert!(load(&[], "[retry.sms]\nbase_secs = 10\ncap_secs = 5\n").is_err());
        assert!(load(&[], "[email]\nsmtp = \"x\"\n").is_err());
        let s = load(&[], "[retry.letter]\nmax_attempts = 5\n").unwrap();
        assert_eq!(s.retry.letter.max_attempts, 5);
        assert_eq!(s.retry.letter.base, DEFAULT_RETRY.letter.base);
    }
}
