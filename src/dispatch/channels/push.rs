//! Push through Firebase Cloud Messaging HTTP v1.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::{Map, Value, json};

use super::http::{Api, judge};
use super::{ChannelAdapter, ConfigAlarm, Outcome, Outgoing, SendFuture, logged, required};
use crate::dispatch::settings::PushSettings;
use crate::domain::Channel;

/// FCM's API host, used when `BREACHLINE_PUSH_URL` is not set.
const FCM_BASE: &str = "https://fcm.googleapis.com";

/// `POST {base}/v1/projects/{project}/messages:send` with a bearer token read from a
/// file that an operator-side tool keeps fresh (we never sign service-account JWTs).
pub(super) struct FcmPush {
    client: reqwest::Client,
    endpoint: String,
    token_file: PathBuf,
    alarm: ConfigAlarm,
}

impl FcmPush {
    /// The adapter for the configured project.
    pub(super) fn new(s: &PushSettings, client: reqwest::Client) -> anyhow::Result<Self> {
        let project = s
            .fcm_project
            .as_deref()
            .context("fcm needs BREACHLINE_FCM_PROJECT")?;
        let token_file = s
            .fcm_token_file
            .clone()
            .context("fcm needs BREACHLINE_FCM_TOKEN_FILE")?;
        let base = s.url.as_deref().unwrap_or(FCM_BASE).trim_end_matches('/');
        Ok(FcmPush {
            client,
            endpoint: format!("{base}/v1/projects/{project}/messages:send"),
            token_file,
            alarm: ConfigAlarm::default(),
        })
    }

    async fn deliver(&self, msg: &Outgoing) -> Outcome {
        let message = match fcm_message(msg) {
            Ok(message) => message,
            Err(outcome) => return outcome,
        };
        let token = match tokio::fs::read_to_string(&self.token_file).await {
            Ok(token) if !token.trim().is_empty() => token,
            Ok(_) => {
                return self
                    .alarm
                    .raise(msg, "fcm", "the FCM token file is empty".into());
            }
            Err(e) => {
                let why = format!("cannot read the FCM token file: {e}");
                return self.alarm.raise(msg, "fcm", why);
            }
        };
        let result = self
            .client
            .post(&self.endpoint)
            .bearer_auth(token.trim())
            .json(&message)
            .send()
            .await;
        judge(Api::Fcm, result, msg, &self.alarm).await
    }
}

/// `{"message": {"token", "notification": {"title", "body"}, "data": {"link", "message_id"}}}`.
fn fcm_message(msg: &Outgoing) -> Result<Value, Outcome> {
    let token = required(Some(&msg.to), "push token")?;
    let body = required(msg.text.as_deref(), "push body")?;
    let mut notification = Map::new();
    if let Some(title) = &msg.subject {
        notification.insert("title".into(), title.as_str().into());
    }
    notification.insert("body".into(), body.into());
    let mut data = Map::new();
    data.insert("message_id".into(), msg.message_id.as_str().into());
    if let Some(link) = &msg.link {
        data.insert("link".into(), link.as_str().into());
    }
    Ok(json!({"message": {"token": token, "notification": notification, "data": data}}))
}

impl ChannelAdapter for FcmPush {
    fn channel(&self) -> Channel {
        Channel::Push
    }

    fn provider(&self) -> &str {
        "fcm"
    }

    fn send<'a>(&'a self, msg: &'a Outgoing) -> SendFuture<'a> {
        logged(msg, self.provider(), self.deliver(msg))
    }

    fn has_receipts(&self) -> bool {
        false
    }
}
