//! Delivery receipts. Providers' receipts (SMS, push) are authenticated by their
//! signature, not a token; what a call centre or a print provider made of the calls
//! and letters handed to them is reported by the tenant with a bearer token, as
//! JSON or CSV, all rows or none.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, AuditEvent};
use crate::db::Db;
use crate::dispatch::receipts::{ReceiptError, verify_and_parse};
use crate::dispatch::settings::ChannelSettings;
use crate::domain::{Channel, FieldError, MessageRef, Receipt, ReceiptStatus};
use crate::error::{AppError, AppResult};
use crate::store::delivery::record_receipt;
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/receipts/phone/callcentre", web::post().to(report_calls))
        .route("/receipts/letter/print", web::post().to(report_letters))
        .route(
            "/receipts/{channel}/{provider}",
            web::post().to(receive_receipt),
        );
}

async fn receive_receipt(
    req: HttpRequest,
    db: web::Data<Db>,
    settings: web::Data<ChannelSettings>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let (channel, provider) = path.into_inner();
    let channel: Channel = channel
        .parse()
        .map_err(|_| AppError::NotFound("receipt route".into()))?;
    let url = match (&settings.sms.status_callback, provider.as_str()) {
        (Some(callback), "twilio") => callback.clone(),
        _ => format!(
            "{}://{}{}",
            req.connection_info().scheme(),
            req.connection_info().host(),
            req.uri()
        ),
    };
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str(), v)))
        .collect();
    let receipt = match verify_and_parse(channel, &provider, &settings, &url, &headers, &body) {
        Ok(receipt) => receipt,
        Err(ReceiptError::NotFinal(_)) => return Ok(HttpResponse::NoContent().finish()),
        Err(ReceiptError::Unsupported { .. }) => {
            return Err(AppError::NotFound(format!(
                "receipts for {channel}/{provider}"
            )));
        }
        Err(ReceiptError::BadSignature) => {
            return Err(AppError::BadSignature(format!(
                "the {channel}/{provider} receipt's signature does not verify with the configured secret"
            )));
        }
        Err(ReceiptError::Malformed(why)) => return Err(AppError::Malformed(why)),
    };
    db.write(move |conn| record_receipt(conn, &receipt, None))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The words a call centre reports, and what they mean for the person.
fn call_outcome(word: &str) -> Option<ReceiptStatus> {
    match word {
        "reached" => Some(ReceiptStatus::Delivered),
        "no_answer" | "busy" => Some(ReceiptStatus::Failed),
        "wrong_number" => Some(ReceiptStatus::Bounced),
        _ => None,
    }
}

/// The words a print provider (or the post) reports.
fn letter_outcome(word: &str) -> Option<ReceiptStatus> {
    match word {
        "delivered" => Some(ReceiptStatus::Delivered),
        "returned_to_sender" | "undeliverable" => Some(ReceiptStatus::Bounced),
        _ => None,
    }
}

async fn report_calls(
    req: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let words = "reached|no_answer|busy|wrong_number";
    report(req, who, db, body, Channel::Phone, call_outcome, words).await
}

async fn report_letters(
    req: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let words = "delivered|returned_to_sender|undeliverable";
    report(req, who, db, body, Channel::Letter, letter_outcome, words).await
}

/// One reported row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportedRow {
    message_id: String,
    outcome: String,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    outcomes: Vec<ReportedRow>,
}

/// Most rows in one report.
const MAX_ROWS: usize = 100_000;

/// Reads a report (JSON `{"outcomes": [...]}` or CSV `message_id,outcome[,detail]`),
/// checks every row, then records them all in one transaction (a row naming a
/// message the tenant does not have rejects the report, naming the row).
async fn report(
    req: HttpRequest,
    who: Principal,
    db: web::Data<Db>,
    body: web::Bytes,
    channel: Channel,
    meaning: fn(&str) -> Option<ReceiptStatus>,
    words: &'static str,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_report_delivery(), "report delivery outcomes")?;
    let csv = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let rows = if csv {
        read_csv(&body)?
    } else {
        serde_json::from_slice::<ReportBody>(&body)
            .map_err(|e| {
                AppError::Malformed(format!(
                    "expected {{\"outcomes\": [{{\"message_id\", \"outcome\", \"detail\"?}}]}}: {e}"
                ))
            })?
            .outcomes
    };
    if rows.is_empty() || rows.len() > MAX_ROWS {
        return Err(AppError::field(
            "outcomes",
            format!("give 1 to {MAX_ROWS} rows"),
        ));
    }
    let mut errors = Vec::new();
    let mut receipts = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        match meaning(row.outcome.trim()) {
            Some(status) => receipts.push(Receipt {
                message_ref: MessageRef::MessageId(row.message_id.trim().to_owned()),
                status,
                detail: Some(match row.detail.filter(|d| !d.trim().is_empty()) {
                    Some(d) => format!("{}: {}", row.outcome.trim(), d.trim()),
                    None => row.outcome.trim().to_owned(),
                }),
            }),
            None => errors.push(FieldError::new(
                format!("outcomes[{i}].outcome"),
                format!("expected one of {words}"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let count = receipts.len();
    db.write(move |conn| {
        for (i, receipt) in receipts.iter().enumerate() {
            record_receipt(conn, receipt, Some((&who.tenant_id, channel))).map_err(
                |e| match e {
                    AppError::NotFound(_) => AppError::field(
                        format!("outcomes[{i}].message_id"),
                        format!("no {channel} message of this organisation has this id"),
                    ),
                    other => other,
                },
            )?;
        }
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: "delivery.report",
                target: format!("channel:{channel}"),
                details: json!({ "rows": count }),
            },
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "recorded": count })))
}

fn read_csv(body: &[u8]) -> AppResult<Vec<ReportedRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(body);
    let mut rows = Vec::new();
    for (i, record) in reader.deserialize::<ReportedRow>().enumerate() {
        rows.push(record.map_err(|e| {
            AppError::field(
                format!("line {}", i + 2),
                format!("not a row message_id,outcome[,detail]: {e}"),
            )
        })?);
    }
    Ok(rows)
}
