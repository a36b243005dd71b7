//! SMS through a Twilio-compatible REST API.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use super::http::{Api, judge};
use super::{ChannelAdapter, ConfigAlarm, Outcome, Outgoing, SendFuture, logged, required};
use crate::dispatch::settings::SmsSettings;
use crate::domain::Channel;

/// Twilio's API host, used when `BREACHLINE_SMS_URL` is not set.
const TWILIO_BASE: &str = "https://api.twilio.com";

/// Form `POST` of `To`, `From`, `Body` (and `StatusCallback`) to
/// `{base}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth `sid:token`.
pub(super) struct TwilioSms {
    client: reqwest::Client,
    endpoint: String,
    sid: String,
    token: SecretString,
    default_from: Option<String>,
    status_callback: Option<String>,
    alarm: ConfigAlarm,
}

impl TwilioSms {
    /// The adapter for the configured account.
    pub(super) fn new(s: &SmsSettings, client: reqwest::Client) -> anyhow::Result<Self> {
        let sid = s
            .twilio_sid
            .clone()
            .context("twilio needs BREACHLINE_TWILIO_SID")?;
        let token = s
            .twilio_token
            .clone()
            .context("twilio needs BREACHLINE_TWILIO_TOKEN")?;
        let base = s
            .url
            .as_deref()
            .unwrap_or(TWILIO_BASE)
            .trim_end_matches('/');
        Ok(TwilioSms {
            client,
            endpoint: format!("{base}/2010-04-01/Accounts/{sid}/Messages.json"),
            sid,
            token,
            default_from: s.from.clone(),
            status_callback: s.status_callback.clone(),
            alarm: ConfigAlarm::default(),
        })
    }

    async fn deliver(&self, msg: &Outgoing) -> Outcome {
        let (to, body) = match (
            required(Some(&msg.to), "phone number"),
            required(msg.text.as_deref(), "SMS text"),
        ) {
            (Ok(to), Ok(body)) => (to, body),
            (Err(outcome), _) | (_, Err(outcome)) => return outcome,
        };
        let Some(from) = msg
            .sender
            .sms_from
            .as_deref()
            .or(self.default_from.as_deref())
        else {
            let why = "no SMS sender: set the tenant's or BREACHLINE_SMS_FROM".to_owned();
            return self.alarm.raise(msg, "twilio", why);
        };
        let mut form = vec![("To", to), ("From", from), ("Body", body)];
        if let Some(callback) = &self.status_callback {
            form.push(("StatusCallback", callback));
        }
        let result = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.sid, Some(self.token.expose_secret()))
            .form(&form)
            .send()
            .await;
        judge(Api::Twilio, result, msg, &self.alarm).await
    }
}

impl ChannelAdapter for TwilioSms {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn provider(&self) -> &str {
        "twilio"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> SendFuture<'a> {
        logged(msg, self.provider(), self.deliver(msg))
    }

    /// Only when a `StatusCallback` URL is configured does Twilio report delivery.
    fn has_receipts(&self) -> bool {
        self.status_callback.is_some()
    }
}
