//! Delivery receipts: verify a provider's signature and read what it reports.
//!
//! The route `POST /api/v1/receipts/{channel}/{provider}` passes the request here
//! unchanged; nothing is trusted before its signature checks out.
//!
//! | channel/provider | signature | body |
//! |---|---|---|
//! | `sms/twilio` | `X-Twilio-Signature`: base64 HMAC-SHA1 (auth token) of the URL + sorted form params | form: `MessageSid`, `MessageStatus`, `ErrorCode` |
//! | `sms/webhook`, `push/webhook` | `X-Breachline-Signature: sha256=<hex>` HMAC-SHA256 (webhook secret) of the body | JSON: `message_id` or `provider_id`, `status`, `detail` |

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::settings::ChannelSettings;
use crate::domain::Channel;
pub use crate::domain::{MessageRef, Receipt, ReceiptStatus};

/// The header carrying our webhook signature, on requests we send and receipts we take.
pub const SIGNATURE_HEADER: &str = "X-Breachline-Signature";

/// The header carrying Twilio's signature.
pub const TWILIO_SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// Why a receipt was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
    /// No receipts are configured for this channel and provider (answer 404).
    #[error("no delivery receipts are configured for {channel}/{provider}")]
    Unsupported {
        /// The channel in the path.
        channel: Channel,
        /// The provider in the path.
        provider: String,
    },
    /// The signature is missing or does not match (answer 401).
    #[error("the receipt's signature is missing or does not match")]
    BadSignature,
    /// Signed, but not a receipt we can read (answer 400).
    #[error("the receipt cannot be read: {0}")]
    Malformed(String),
    /// Signed and readable, but an intermediate status such as `sent` (answer 204
    /// and record nothing).
    #[error("status '{0}' is not final")]
    NotFinal(String),
}

/// Verifies a receipt request and reads it. `url` is the full URL the provider
/// called, as it saw it (scheme, host, path and query: Twilio signs it); `headers`
/// are matched case-insensitively.
pub fn verify_and_parse(
    channel: Channel,
    provider: &str,
    settings: &ChannelSettings,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Receipt, ReceiptError> {
    let secret = match (channel, provider) {
        (Channel::Sms, "twilio") => settings.sms.twilio_token.as_ref(),
        (Channel::Sms, "webhook") => settings.sms.webhook_secret.as_ref(),
        (Channel::Push, "webhook") => settings.push.webhook_secret.as_ref(),
        _ => None,
    };
    let Some(secret) = secret else {
        return Err(ReceiptError::Unsupported {
            channel,
            provider: provider.to_owned(),
        });
    };
    if provider == "twilio" {
        twilio_receipt(secret, url, headers, body)
    } else {
        webhook_receipt(secret, headers, body)
    }
}

/// Our webhook signature of `body`: `sha256=` and the hex HMAC-SHA256 under `secret`.
pub fn webhook_signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = hmac_sha256(secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Twilio's signature: base64 of HMAC-SHA1 under the auth token of the URL followed
/// by every distinct form parameter's name and value, sorted by name (then value).
pub fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(twilio_mac(token, url, params).finalize().into_bytes())
}

fn hmac_sha256(secret: &[u8]) -> Hmac<sha2::Sha256> {
    match Hmac::<sha2::Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(hmac::digest::InvalidLength) => unreachable_key_length(),
    }
}

fn twilio_mac(token: &str, url: &str, params: &[(String, String)]) -> Hmac<sha1::Sha1> {
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()) {
        Ok(mac) => mac,
        Err(hmac::digest::InvalidLength) => unreachable_key_length(),
    };
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted.dedup();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// HMAC takes keys of any length; this arm exists only because the API is fallible.
fn unreachable_key_length() -> ! {
    unreachable!("HMAC accepts keys of every length")
}

fn header<'h>(headers: &[(&str, &'h str)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| *value)
}

fn twilio_receipt(
    token: &SecretString,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Receipt, ReceiptError> {
    use base64::Engine as _;
    let given = header(headers, TWILIO_SIGNATURE_HEADER).ok_or(ReceiptError::BadSignature)?;
    let given = base64::engine::general_purpose::STANDARD
        .decode(given.trim())
        .map_err(|_| ReceiptError::BadSignature)?;
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| ReceiptError::Malformed(format!("not a form: {e}")))?;
    let signed = |url: &str| {
        twilio_mac(token.expose_secret(), url, &params)
            .verify_slice(&given)
            .is_ok()
    };
    let toggled = toggle_default_port(url);
    if !(signed(url) || toggled.as_deref().is_some_and(signed)) {
        return Err(ReceiptError::BadSignature);
    }
    let field = |names: &[&str]| {
        params
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
    };
    let sid = field(&["MessageSid", "SmsSid"])
        .ok_or_else(|| ReceiptError::Malformed("no MessageSid".into()))?;
    let status = field(&["MessageStatus", "SmsStatus"])
        .ok_or_else(|| ReceiptError::Malformed("no MessageStatus".into()))?;
    let status = match status.as_str() {
        "delivered" | "read" => ReceiptStatus::Delivered,
        "undelivered" => ReceiptStatus::Bounced,
        "failed" | "canceled" => ReceiptStatus::Failed,
        _ => return Err(ReceiptError::NotFinal(status)),
    };
    Ok(Receipt {
        message_ref: MessageRef::ProviderId(sid),
        status,
        detail: field(&["ErrorCode"]).map(|code| format!("twilio error {code}")),
    })
}

/// The URL with its scheme's default port added, or removed if it was written out:
/// Twilio signs either form, depending on the product, and its own libraries accept both.
fn toggle_default_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let (userinfo, host_port) = authority.split_at(authority.rfind('@').map_or(0, |i| i + 1));
    let toggled = match host_port.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (port == default).then(|| host.to_owned())?
        }
        _ => format!("{host_port}:{default}"),
    };
    Some(format!("{scheme}://{userinfo}{toggled}{tail}"))
}

#[derive(Deserialize)]
struct WebhookReceipt {
    message_id: Option<String>,
    provider_id: Option<String>,
    status: String,
    detail: Option<String>,
}

fn webhook_receipt(
    secret: &SecretString,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Receipt, ReceiptError> {
    let given = header(headers, SIGNATURE_HEADER)
        .and_then(|v| v.trim().strip_prefix("sha256="))
        .and_then(|hex_text| hex::decode(hex_text).ok())
        .ok_or(ReceiptError::BadSignature)?;
    let mut mac = hmac_sha256(secret.expose_secret().as_bytes());
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| ReceiptError::BadSignature)?;
    let receipt: WebhookReceipt = serde_json::from_slice(body)
        .map_err(|e| ReceiptError::Malformed(format!("not a receipt: {e}")))?;
    let message_ref = match (receipt.message_id, receipt.provider_id) {
        (Some(id), _) => MessageRef::MessageId(id),
        (None, Some(id)) => MessageRef::ProviderId(id),
        (None, None) => {
            return Err(ReceiptError::Malformed(
                "no message_id or provider_id".into(),
            ));
        }
    };
    let status = match receipt.status.as_str() {
        "delivered" => ReceiptStatus::Delivered,
        "bounced" => ReceiptStatus::Bounced,
        "failed" => ReceiptStatus::Failed,
        _ => return Err(ReceiptError::NotFinal(receipt.status)),
    };
    Ok(Receipt {
        message_ref,
        status,
        detail: receipt.detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn settings() -> ChannelSettings {
        let env = |key: &str| match key {
            "BREACHLINE_SMS_PROVIDER" => Some("twilio".to_owned()),
            "BREACHLINE_TWILIO_SID" => Some("AC123".to_owned()),
            "BREACHLINE_TWILIO_TOKEN" => Some("12345".to_owned()),
            "BREACHLINE_PUSH_PROVIDER" => Some("webhook".to_owned()),
            "BREACHLINE_PUSH_URL" => Some("http://127.0.0.1:9/push".to_owned()),
            "BREACHLINE_PUSH_WEBHOOK_SECRET" => Some("s3cret".to_owned()),
            _ => None,
        };
        crate::config::Settings::load_from(None, env)
            .unwrap()
            .channels
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The example in Twilio's request-validation documentation.
    #[test]
    fn twilio_signature_matches_the_published_examples() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            twilio_signature("12345", url, &params),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        let repeated = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            twilio_signature("12345", url, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    /// Twilio's libraries accept the URL with or without the default port; so do we.
    #[test]
    fn twilio_receipts_verify_with_or_without_the_default_port() {
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]);
        let body = serde_urlencoded::to_string(&params).unwrap();
        let check = |url: &str, signature: &str| {
            let headers = [(TWILIO_SIGNATURE_HEADER, signature)];
            verify_and_parse(
                Channel::Sms,
                "twilio",
                &settings(),
                url,
                &headers,
                body.as_bytes(),
            )
        };
        // Published signatures of the URL with :443 and of the http URL with :80.
        let malformed = Err(ReceiptError::Malformed("no MessageSid".into()));
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(check(url, "kvajT1Ptam85bY51eRf/AJRuM3w="), malformed);
        assert_eq!(check(url, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), malformed);
        let http = "http://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(check(http, "0ZXoZLH/DfblKGATFgpif+LLRf4="), malformed);
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert_eq!(check(with_port, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), malformed);
        let other_port = "https://mycompany.com:1234/myapp.php?foo=1&bar=2";
        assert_eq!(
            check(other_port, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            Err(ReceiptError::BadSignature)
        );
    }

    #[test]
    fn default_ports_toggle() {
        assert_eq!(
            toggle_default_port("https://u:p@h.example/x?y=1").as_deref(),
            Some("https://u:p@h.example:443/x?y=1")
        );
        assert_eq!(
            toggle_default_port("http://h.example:80").as_deref(),
            Some("http://h.example")
        );
        assert_eq!(
            toggle_default_port("https://[::1]/r").as_deref(),
            Some("https://[::1]:443/r")
        );
        assert_eq!(toggle_default_port("https://h.example:8443/r"), None);
        assert_eq!(toggle_default_port("ftp://h"), None);
    }

    const CALLBACK: &str = "https://breachline.example.org/api/v1/receipts/sms/twilio";
    const STATUS_BODY: &str = "MessageSid=SM42&MessageStatus=undelivered&ErrorCode=30003&To=%2B819012345678&AccountSid=AC123";

    /// The signature computed by hand from the documented algorithm.
    fn documented_signature(body: &str) -> String {
        let mut params: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap();
        params.sort();
        let mut data = CALLBACK.to_owned();
        for (k, v) in params {
            data.push_str(&k);
            data.push_str(&v);
        }
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"12345").unwrap();
        mac.update(data.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn a_signed_twilio_status_callback_is_read() {
        let signature = documented_signature(STATUS_BODY);
        let headers = [("x-twilio-signature", signature.as_str())];
        let receipt = verify_and_parse(
            Channel::Sms,
            "twilio",
            &settings(),
            CALLBACK,
            &headers,
            STATUS_BODY.as_bytes(),
        )
        .unwrap();
        assert_eq!(
            receipt,
            Receipt {
                message_ref: MessageRef::ProviderId("SM42".into()),
                status: ReceiptStatus::Bounced,
                detail: Some("twilio error 30003".into()),
            }
        );
    }

    #[test]
    fn tampered_or_unsigned_twilio_receipts_are_refused() {
        let s = settings();
        let signature = documented_signature(STATUS_BODY);
        let check = |url: &str, headers: &[(&str, &str)], body: &str| {
            verify_and_parse(Channel::Sms, "twilio", &s, url, headers, body.as_bytes())
        };
        let good = [(TWILIO_SIGNATURE_HEADER, signature.as_str())];
        let tampered = STATUS_BODY.replace("undelivered", "delivered");
        assert_eq!(
            check(CALLBACK, &good, &tampered),
            Err(ReceiptError::BadSignature)
        );
        let other_url = format!("{CALLBACK}?x=1");
        assert_eq!(
            check(&other_url, &good, STATUS_BODY),
            Err(ReceiptError::BadSignature)
        );
        let wrong = [(TWILIO_SIGNATURE_HEADER, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")];
        assert_eq!(
            check(CALLBACK, &wrong, STATUS_BODY),
            Err(ReceiptError::BadSignature)
        );
        let garbage = [(TWILIO_SIGNATURE_HEADER, "not base64!")];
        assert_eq!(
            check(CALLBACK, &garbage, STATUS_BODY),
            Err(ReceiptError::BadSignature)
        );
        assert_eq!(
            check(CALLBACK, &[], STATUS_BODY),
            Err(ReceiptError::BadSignature)
        );
    }

    #[test]
    fn intermediate_twilio_statuses_are_not_final() {
        let body = "MessageSid=SM42&MessageStatus=sent";
        let signature = documented_signature(body);
        let result = verify_and_parse(
            Channel::Sms,
            "twilio",
            &settings(),
            CALLBACK,
            &[(TWILIO_SIGNATURE_HEADER, &signature)],
            body.as_bytes(),
        );
        assert_eq!(result, Err(ReceiptError::NotFinal("sent".into())));
    }

    #[test]
    fn webhook_receipts_are_verified_and_read() {
        let s = settings();
        let body = br#"{"message_id":"<m1@breachline>","status":"delivered"}"#;
        let signature = webhook_signature(b"s3cret", body);
        let headers = [(SIGNATURE_HEADER, signature.as_str())];
        let receipt = verify_and_parse(Channel::Push, "webhook", &s, "", &headers, body).unwrap();
        assert_eq!(
            receipt.message_ref,
            MessageRef::MessageId("<m1@breachline>".into())
        );
        assert_eq!(receipt.status, ReceiptStatus::Delivered);

        let tampered = br#"{"message_id":"<m2@breachline>","status":"delivered"}"#;
        let result = verify_and_parse(Channel::Push, "webhook", &s, "", &headers, tampered);
        assert_eq!(result, Err(ReceiptError::BadSignature));
        let bare = [(SIGNATURE_HEADER, signature.trim_start_matches("sha256="))];
        let result = verify_and_parse(Channel::Push, "webhook", &s, "", &bare, body);
        assert_eq!(result, Err(ReceiptError::BadSignature));

        let by_provider = br#"{"provider_id":"p-9","status":"bounced","detail":"hard"}"#;
        let signature = webhook_signature(b"s3cret", by_provider);
        let receipt = verify_and_parse(
            Channel::Push,
            "webhook",
            &s,
            "",
            &[(SIGNATURE_HEADER, &signature)],
            by_provider,
        )
        .unwrap();
        assert_eq!(receipt.message_ref, MessageRef::ProviderId("p-9".into()));
        assert_eq!(
            (receipt.status, receipt.detail.as_deref()),
            (ReceiptStatus::Bounced, Some("hard"))
        );
    }

    #[test]
    fn known_hmac_sha256_vector() {
        // RFC 4231 test case 2.
        let signature = webhook_signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            signature,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn unconfigured_providers_have_no_receipts() {
        let s = settings();
        for (channel, provider) in [
            (Channel::Sms, "webhook"),
            (Channel::Email, "smtp"),
            (Channel::Push, "fcm"),
        ] {
            let result = verify_and_parse(channel, provider, &s, "", &[], b"");
            assert!(
                matches!(result, Err(ReceiptError::Unsupported { .. })),
                "{channel}/{provider}"
            );
        }
    }
}
