//! A tenant's notice settings, kept in its profile under `notices`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{Channel, FieldError, Reader, SendWindow};

/// How a tenant's notices are written and sent. Fields missing from a stored
/// profile (written before they existed) read as their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NoticeSettings {
    /// The locale whose text prevails (Cafetalk: `ja`); other languages point to it.
    pub authoritative_locale: Option<String>,
    /// Channels to try first, in order (Renji: `["sms", "phone"]`).
    pub channels: Vec<Channel>,
    /// Use only `channels`, never another channel a person happens to have
    /// (JC-Task promises e-mail, letter, phone and push, and no SMS).
    pub channels_only: bool,
    /// Longest SMS allowed, in segments.
    pub sms_max_segments: usize,
    /// `From` of notice e-mails, e.g. `JC-Task <privacy@jc-task.example>`.
    pub email_from: Option<String>,
    /// `Reply-To` of notice e-mails.
    pub reply_to: Option<String>,
    /// Local hours outside which messages on some channels wait; `None` sends at any hour.
    pub send_window: Option<SendWindow>,
    /// What one notice costs per channel, for the estimated cost of individual
    /// notice that substitute-notice thresholds ($250,000) are measured against.
    pub unit_costs: UnitCosts,
}

/// The cost of one notice on each channel, in one currency. The defaults are rough
/// US figures (e-mail 0.01, SMS 0.05, push 0.001, letter 1.50 for printing and
/// first-class postage, phone 4.00 for a call-centre call, in USD); set your own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnitCosts {
    /// ISO 4217 code.
    pub currency: String,
    /// One e-mail.
    pub email: f64,
    /// One SMS (one segment).
    pub sms: f64,
    /// One push notification.
    pub push: f64,
    /// One printed and posted letter.
    pub letter: f64,
    /// One phone call.
    pub phone: f64,
}

impl Default for UnitCosts {
    fn default() -> Self {
        Self {
            currency: "USD".into(),
            email: 0.01,
            sms: 0.05,
            push: 0.001,
            letter: 1.5,
            phone: 4.0,
        }
    }
}

impl UnitCosts {
    /// The cost of one notice on `channel`.
    pub fn of(&self, channel: Channel) -> f64 {
        match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
            Channel::Push => self.push,
            Channel::Letter => self.letter,
            Channel::Phone => self.phone,
        }
    }

    /// Reads `{currency?, email?, sms?, push?, letter?, phone?}` over the defaults;
    /// errors name `unit_costs.<field>`.
    fn parse(value: &Value) -> Result<Self, Vec<FieldError>> {
        let at = |field: &str| format!("unit_costs.{field}");
        let Some(map) = value.as_object() else {
            return Err(vec![FieldError::new(
                "unit_costs",
                "expected an object {currency, email, sms, push, letter, phone}",
            )]);
        };
        let mut costs = Self::default();
        let mut errors = Vec::new();
        for (key, v) in map {
            let amount = || {
                v.as_f64()
                    .filter(|n| n.is_finite() && (0.0..=10_000.0).contains(n))
            };
            let slot = match key.as_str() {
                "currency" => {
                    match v
                        .as_str()
                        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
                    {
                        Some(code) => costs.currency = code.to_owned(),
                        None => errors.push(FieldError::new(
                            at(key),
                            "expected an ISO 4217 code such as USD or JPY",
                        )),
                    }
                    continue;
                }
                "email" => &mut costs.email,
                "sms" => &mut costs.sms,
                "push" => &mut costs.push,
                "letter" => &mut costs.letter,
                "phone" => &mut costs.phone,
                _ => {
                    errors.push(FieldError::new(
                        at(key),
                        "unknown field, expected currency, email, sms, push, letter or phone",
                    ));
                    continue;
                }
            };
            match amount() {
                Some(n) => *slot = n,
                None => errors.push(FieldError::new(
                    at(key),
                    "expected a number from 0 to 10000",
                )),
            }
        }
        if errors.is_empty() {
            Ok(costs)
        } else {
            Err(errors)
        }
    }
}

impl Default for NoticeSettings {
    fn default() -> Self {
        Self {
            authoritative_locale: None,
            channels: Vec::new(),
            channels_only: false,
            sms_max_segments: 3,
            email_from: None,
            reply_to: None,
            send_window: None,
            unit_costs: UnitCosts::default(),
        }
    }
}

const FIELDS: &[&str] = &[
    "authoritative_locale",
    "channels",
    "channels_only",
    "sms_max_segments",
    "email_from",
    "reply_to",
    "send_window",
    "unit_costs",
];

impl NoticeSettings {
    /// The channel policy plans follow.
    pub fn channel_policy(&self) -> crate::notices::plan::ChannelPolicy {
        crate::notices::plan::ChannelPolicy {
            order: self.channels.clone(),
            only: self.channels_only,
        }
    }

    /// Validates the `notices` object of a tenant profile; field paths start with `notices.`.
    pub fn parse(value: &Value) -> Result<Self, Vec<FieldError>> {
        let empty = Map::new();
        let Some(map) = value.as_object().or(value.is_null().then_some(&empty)) else {
            return Err(vec![FieldError::new("notices", "expected an object")]);
        };
        let mut r = Reader::new(map, FIELDS);
        let defaults = Self::default();
        let settings = Self {
            authoritative_locale: r.text("authoritative_locale", 35).or_keep(None),
            channels: r
                .words::<Channel>("channels")
                .or_keep(None)
                .unwrap_or_default(),
            channels_only: r.boolean("channels_only").or_keep(None).unwrap_or(false),
            sms_max_segments: r
                .count("sms_max_segments")
                .or_keep(None)
                .map_or(defaults.sms_max_segments, |n| n as usize),
            email_from: r.text("email_from", 320).or_keep(None),
            reply_to: r.text("reply_to", 320).or_keep(None),
            send_window: send_window(map, &mut r),
            unit_costs: match map.get("unit_costs") {
                None | Some(Value::Null) => UnitCosts::default(),
                Some(v) => UnitCosts::parse(v).unwrap_or_else(|errors| {
                    for e in errors {
                        r.reject(&e.field, e.reason);
                    }
                    UnitCosts::default()
                }),
            },
        };
        if let Some(order) = map.get("channels").and_then(Value::as_array) {
            let words: Vec<&str> = order.iter().filter_map(Value::as_str).collect();
            let mut seen = Vec::new();
            for w in &words {
                if seen.contains(w) {
                    r.reject("channels", format!("'{w}' is listed twice"));
                }
                seen.push(w);
            }
        }
        if settings.channels_only && settings.channels.is_empty() {
            r.reject(
                "channels_only",
                "needs the channels to use: list them in channels",
            );
        }
        if !(1..=10).contains(&settings.sms_max_segments) {
            r.reject("sms_max_segments", "must be between 1 and 10");
        }
        if let Some(l) = &settings.authoritative_locale
            && !crate::domain::is_locale(l)
        {
            r.reject("authoritative_locale", "not a BCP 47 tag such as ja or en");
        }
        let mut ordered = settings;
        ordered.channels = channel_order(map);
        r.finish(ordered).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| FieldError::new(format!("notices.{}", e.field), e.reason))
                .collect()
        })
    }
}

/// The optional `send_window`, its problems reported as `send_window.<field>`.
fn send_window(map: &Map<String, Value>, r: &mut Reader<'_>) -> Option<SendWindow> {
    match map.get("send_window") {
        None | Some(Value::Null) => None,
        Some(Value::Object(window)) => SendWindow::parse(window)
            .map_err(|errors| {
                for e in errors {
                    r.reject(&format!("send_window.{}", e.field), e.reason);
                }
            })
            .ok(),
        Some(_) => {
            r.reject(
                "send_window",
                "expected an object {start, end, time_zone, channels}",
            );
            None
        }
    }
}

/// The channel words in the order given (the reader sorts sets; order matters here).
fn channel_order(map: &Map<String, Value>) -> Vec<Channel> {
    map.get("channels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str()?.parse().ok())
                .fold(Vec::new(), |mut acc, c| {
                    if !acc.contains(&c) {
                        acc.push(c);
                    }
                    acc
                })
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_in_order_with_defaults() {
        let s = NoticeSettings::parse(
            &json!({"channels": ["sms", "phone"], "authoritative_locale": "ja"}),
        )
        .unwrap();
        assert_eq!(s.channels, vec![Channel::Sms, Channel::Phone]);
        assert_eq!(s.sms_max_segments, 3);
        assert_eq!(
            NoticeSettings::parse(&Value::Null).unwrap(),
            NoticeSettings::default()
        );
        let err = NoticeSettings::parse(&json!({"channels": ["fax"], "sms_max_segments": 0}))
            .unwrap_err();
        let fields: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["notices.channels", "notices.sms_max_segments"]);
    }

    #[test]
    fn unit_costs_default_and_name_bad_fields() {
        let s = NoticeSettings::parse(&json!({"unit_costs": {"letter": 0.9, "currency": "JPY"}}))
            .unwrap();
        assert_eq!(s.unit_costs.of(Channel::Letter), 0.9);
        assert_eq!(s.unit_costs.of(Channel::Email), 0.01);
        assert_eq!(s.unit_costs.currency, "JPY");
        assert_eq!(NoticeSettings::default().unit_costs.currency, "USD");
        let err = NoticeSettings::parse(
            &json!({"unit_costs": {"letter": -1, "currency": "usd", "fax": 1}}),
        )
        .unwrap_err();
        let mut fields: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            vec![
                "notices.unit_costs.currency",
                "notices.unit_costs.fax",
                "notices.unit_costs.letter"
            ]
        );
    }

    #[test]
    fn send_window_errors_name_the_field() {
        let s = NoticeSettings::parse(&json!({"send_window": {"start": "08:00", "end": "21:00",
            "time_zone": "Asia/Tokyo", "channels": ["sms"]}}))
        .unwrap();
        assert_eq!(s.send_window.unwrap().channels, vec![Channel::Sms]);
        let err = NoticeSettings::parse(&json!({"send_window": {"start": "8am", "end": "21:00",
            "time_zone": "Asia/Tokio"}}))
        .unwrap_err();
        let fields: Vec<_> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["notices.send_window.start", "notices.send_window.time_zone"]
        );
        let err = NoticeSettings::parse(&json!({"send_window": "nights"})).unwrap_err();
        assert_eq!(err[0].field, "notices.send_window");
    }
}
