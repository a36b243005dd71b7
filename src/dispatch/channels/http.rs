//! What HTTP providers share: the client, reading replies into outcomes, and our
//! signed JSON webhook (for SMS and push alike).

use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;

use super::{ChannelAdapter, ConfigAlarm, Outcome, Outgoing, SendFuture, logged, required};
use crate::dispatch::receipts::{SIGNATURE_HEADER, webhook_signature};
use crate::dispatch::settings::{PushSettings, SmsSettings};
use crate::domain::Channel;

/// One client for every HTTP provider, with the whole-request timeout.
pub(super) fn client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("breachline/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client for channel providers")
}

/// The HTTP provider a reply came from, for its id field and error vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    Twilio,
    Fcm,
    Webhook,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::Twilio => "twilio",
            Api::Fcm => "fcm",
            Api::Webhook => "webhook",
        }
    }

    /// The provider's id for an accepted message.
    fn provider_id(self, body: &Value) -> Option<String> {
        let field = match self {
            Api::Twilio => "sid",
            Api::Fcm => "name",
            Api::Webhook => "id",
        };
        body.get(field).and_then(Value::as_str).map(str::to_owned)
    }

    /// A short error code from the body: no free text, which may quote the recipient.
    fn error_code(self, body: &Value) -> Option<String> {
        match self {
            Api::Twilio => body
                .get("code")
                .filter(|c| c.is_number() || c.is_string())
                .map(|c| c.to_string().trim_matches('"').to_owned()),
            Api::Fcm => fcm_error_code(body),
            Api::Webhook => body.get("error").and_then(Value::as_str).map(str::to_owned),
        }
    }

    /// Errors that condemn this one recipient whatever the HTTP status says.
    fn recipient_gone(self, code: Option<&str>) -> bool {
        self == Api::Fcm && matches!(code, Some("UNREGISTERED" | "SENDER_ID_MISMATCH"))
    }
}

/// FCM's `errorCode` from the error details, else the error status.
fn fcm_error_code(body: &Value) -> Option<String> {
    let error = body.get("error")?;
    let detail = error
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|d| d.get("errorCode").and_then(Value::as_str));
    detail
        .or_else(|| error.get("status").and_then(Value::as_str))
        .map(str::to_owned)
}

/// Turns a provider's answer (or the lack of one) into an outcome.
pub(super) async fn judge(
    api: Api,
    result: Result<reqwest::Response, reqwest::Error>,
    msg: &Outgoing,
    alarm: &ConfigAlarm,
) -> Outcome {
    let response = match result {
        Ok(response) => response,
        Err(err) => return transport_failure(api, &err),
    };
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    classify(api, status, &body, msg, alarm)
}

fn transport_failure(api: Api, err: &reqwest::Error) -> Outcome {
    let name = api.name();
    if err.is_timeout() {
        Outcome::RelayDown(format!("{name}: no answer within the timeout"))
    } else if err.is_connect() {
        Outcome::RelayDown(format!("{name}: cannot connect"))
    } else {
        Outcome::RelayDown(format!("{name}: {}", strip_url(err)))
    }
}

/// The error's text without the request URL (it may carry account ids).
fn strip_url(err: &reqwest::Error) -> String {
    let mut shown = err.to_string();
    if let Some(url) = err.url() {
        shown = shown.replace(url.as_str(), "…");
    }
    shown
}

/// 2xx sent; 401/403 our credentials (relay-wide, logged loudly); 408/425/429/5xx
/// relay-wide; other 4xx permanent for this recipient.
fn classify(api: Api, status: u16, body: &Value, msg: &Outgoing, alarm: &ConfigAlarm) -> Outcome {
    let name = api.name();
    let code = api.error_code(body);
    let said = code
        .as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    match status {
        200..=299 => {
            alarm.clear();
            Outcome::Sent {
                provider_id: api.provider_id(body),
            }
        }
        _ if api.recipient_gone(code.as_deref()) => {
            Outcome::Permanent(format!("{name} {status}{said}: the recipient is gone"))
        }
        401 | 403 => alarm.raise(
            msg,
            name,
            format!("{name} {status}{said}: our credentials were refused"),
        ),
        408 | 425 | 429 | 500..=599 => Outcome::RelayDown(format!("{name} {status}{said}")),
        400..=499 => Outcome::Permanent(format!("{name} {status}{said}")),
        _ => Outcome::RelayDown(format!("{name} {status}: unexpected answer")),
    }
}

/// What our webhook posts and the file outboxes write: one message as JSON.
#[derive(Debug, Serialize)]
pub(super) struct Payload<'a> {
    message_id: &'a str,
    channel: Channel,
    to: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    body: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a str>,
    locale: &'a str,
}

impl<'a> Payload<'a> {
    /// The payload of `msg`; an SMS or push needs a text.
    pub(super) fn of(msg: &'a Outgoing, from: Option<&'a str>) -> Result<Self, Outcome> {
        Ok(Payload {
            message_id: &msg.message_id,
            channel: msg.channel,
            to: required(Some(&msg.to), "recipient")?,
            to_name: msg.to_name.as_deref(),
            from,
            title: msg.subject.as_deref(),
            body: required(msg.text.as_deref(), "message text")?,
            link: msg.link.as_deref(),
            locale: &msg.locale,
        })
    }
}

/// Our generic webhook: `POST` of a [`Payload`] signed with HMAC-SHA256 in
/// `X-Breachline-Signature: sha256=<hex>`; a 2xx JSON reply may carry `id`.
pub(super) struct Webhook {
    channel: Channel,
    client: reqwest::Client,
    url: String,
    secret: SecretString,
    default_from: Option<String>,
    alarm: ConfigAlarm,
}

impl Webhook {
    /// The SMS webhook.
    pub(super) fn sms(s: &SmsSettings, client: reqwest::Client) -> anyhow::Result<Self> {
        Self::new(
            Channel::Sms,
            s.url.as_deref(),
            s.webhook_secret.as_ref(),
            client,
        )
        .map(|w| Webhook {
            default_from: s.from.clone(),
            ..w
        })
    }

    /// The push webhook.
    pub(super) fn push(s: &PushSettings, client: reqwest::Client) -> anyhow::Result<Self> {
        Self::new(
            Channel::Push,
            s.url.as_deref(),
            s.webhook_secret.as_ref(),
            client,
        )
    }

    fn new(
        channel: Channel,
        url: Option<&str>,
        secret: Option<&SecretString>,
        client: reqwest::Client,
    ) -> anyhow::Result<Self> {
        Ok(Webhook {
            channel,
            client,
            url: url
                .with_context(|| format!("the {channel} webhook needs a URL"))?
                .to_owned(),
            secret: secret
                .with_context(|| format!("the {channel} webhook needs a secret"))?
                .clone(),
            default_from: None,
            alarm: ConfigAlarm::default(),
        })
    }

    async fn deliver(&self, msg: &Outgoing) -> Outcome {
        let from = match self.channel {
            Channel::Sms => msg
                .sender
                .sms_from
                .as_deref()
                .or(self.default_from.as_deref()),
            _ => None,
        };
        let payload = match Payload::of(msg, from) {
            Ok(payload) => payload,
            Err(outcome) => return outcome,
        };
        let body = match serde_json::to_vec(&payload) {
            Ok(body) => body,
            Err(e) => return Outcome::Permanent(format!("cannot encode the message: {e}")),
        };
        let signature = webhook_signature(self.secret.expose_secret().as_bytes(), &body);
        let result = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        judge(Api::Webhook, result, msg, &self.alarm).await
    }
}

impl ChannelAdapter for Webhook {
    fn channel(&self) -> Channel {
        self.channel
    }

    fn provider(&self) -> &str {
        "webhook"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> SendFuture<'a> {
        logged(msg, self.provider(), self.deliver(msg))
    }

    fn has_receipts(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::channels::Sender;
    use serde_json::json;

    fn msg() -> Outgoing {
        Outgoing {
            message_id: "<m@breachline>".into(),
            channel: Channel::Push,
            to: "tok".into(),
            to_name: None,
            subject: None,
            text: Some("hi".into()),
            html: None,
            link: None,
            locale: "en".into(),
            sender: Sender::default(),
            batch: None,
            formatted: None,
        }
    }

    fn class(api: Api, status: u16, body: Value) -> Outcome {
        classify(api, status, &body, &msg(), &ConfigAlarm::default())
    }

    #[test]
    fn statuses_map_to_outcomes() {
        let sent = class(Api::Twilio, 201, json!({"sid": "SM1"}));
        assert_eq!(
            sent,
            Outcome::Sent {
                provider_id: Some("SM1".into())
            }
        );
        assert!(
            matches!(class(Api::Twilio, 400, json!({"code": 21211})), Outcome::Permanent(d) if d.contains("21211"))
        );
        for status in [401, 403, 408, 429, 500, 503] {
            assert!(
                matches!(
                    class(Api::Webhook, status, Value::Null),
                    Outcome::RelayDown(_)
                ),
                "{status}"
            );
        }
        for status in [400, 404, 410, 422] {
            assert!(
                matches!(
                    class(Api::Webhook, status, Value::Null),
                    Outcome::Permanent(_)
                ),
                "{status}"
            );
        }
    }

    #[test]
    fn fcm_unregistered_is_permanent_even_when_not_404() {
        let body = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}});
        assert!(
            matches!(class(Api::Fcm, 400, body), Outcome::Permanent(d) if d.contains("UNREGISTERED"))
        );
        let mismatch = json!({"error": {"status": "PERMISSION_DENIED",
            "details": [{"errorCode": "SENDER_ID_MISMATCH"}]}});
        assert!(matches!(
            class(Api::Fcm, 403, mismatch),
            Outcome::Permanent(_)
        ));
        let quota = json!({"error": {"status": "RESOURCE_EXHAUSTED",
            "details": [{"errorCode": "QUOTA_EXCEEDED"}]}});
        assert!(matches!(class(Api::Fcm, 429, quota), Outcome::RelayDown(_)));
    }

    #[test]
    fn the_alarm_rings_once_until_a_success() {
        let alarm = ConfigAlarm::default();
        let m = msg();
        classify(Api::Fcm, 401, &Value::Null, &m, &alarm);
        assert!(alarm.raised.load(std::sync::atomic::Ordering::Relaxed));
        classify(Api::Fcm, 200, &json!({"name": "x"}), &m, &alarm);
        assert!(!alarm.raised.load(std::sync::atomic::Ordering::Relaxed));
    }
}
