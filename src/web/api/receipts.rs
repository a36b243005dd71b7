//! Delivery receipts from providers: authenticated by their signature, not a token.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::db::Db;
use crate::dispatch::receipts::{ReceiptError, verify_and_parse};
use crate::dispatch::settings::ChannelSettings;
use crate::dispatch::worker::record_receipt;
use crate::domain::Channel;
use crate::error::{AppError, AppResult};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(
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
    db.write(move |conn| record_receipt(conn, &receipt)).await?;
    Ok(HttpResponse::NoContent().finish())
}
