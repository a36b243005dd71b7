//! JSON API under `/api/v1`.

pub(crate) mod affected;
mod audit;
pub(crate) mod bulletins;
#[cfg(test)]
mod contract;
pub(crate) mod dispatches;
pub(crate) mod incidents;
pub(crate) mod notices;
pub(crate) mod obligations;
pub(crate) mod plans;
mod receipts;
pub(crate) mod reports;
mod subjects;
pub(crate) mod tasks;
pub(crate) mod tenant;
mod upload;

pub use upload::Uploads;

use actix_web::{HttpRequest, HttpResponse, error, web};
use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::error::AppError;

/// The OpenAPI 3 document for every route of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Registers the API routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/openapi.json", web::get().to(openapi))
            .configure(incidents::config)
            .configure(obligations::config)
            .configure(notices::config)
            .configure(plans::config)
            .configure(dispatches::config)
            .configure(receipts::config)
            .configure(tenant::config)
            .configure(audit::config)
            .configure(subjects::config)
            .configure(affected::config)
            .configure(bulletins::config)
            .configure(tasks::config)
            .configure(reports::config),
    );
}

/// The methods the API document lists for `path` (e.g. `GET, POST`), when it lists
/// the path at all; path templates (`{id}`) match any one segment.
pub fn allowed_methods(path: &str) -> Option<String> {
    static PATHS: OnceLock<Vec<(Vec<String>, String)>> = OnceLock::new();
    let paths = PATHS.get_or_init(|| {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap_or_default();
        let Some(paths) = doc["paths"].as_object() else {
            return Vec::new();
        };
        paths
            .iter()
            .map(|(template, ops)| {
                let segments = template.split('/').map(str::to_owned).collect();
                let methods: Vec<String> = ops
                    .as_object()
                    .map(|ops| {
                        ops.keys()
                            .filter(|m| HTTP_METHODS.contains(&m.as_str()))
                            .map(|m| m.to_ascii_uppercase())
                            .collect()
                    })
                    .unwrap_or_default();
                (segments, methods.join(", "))
            })
            .collect()
    });
    let wanted: Vec<&str> = path.split('/').collect();
    // The most literal match wins: `/subjects/import` before `/subjects/{external_id}`.
    paths
        .iter()
        .filter(|(template, _)| {
            template.len() == wanted.len()
                && template.iter().zip(&wanted).all(|(t, w)| {
                    t == w || (t.starts_with('{') && t.ends_with('}') && !w.is_empty())
                })
        })
        .max_by_key(|(template, _)| {
            template
                .iter()
                .zip(&wanted)
                .filter(|(t, w)| t == *w)
                .count()
        })
        .map(|(_, methods)| methods.clone())
}

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

/// A request body that must be one JSON object.
pub type JsonObject = web::Json<Map<String, Value>>;

/// Body and query-string extractor settings with problem+json errors.
pub fn extractor_config(cfg: &mut web::ServiceConfig, json_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(json_limit)
            .error_handler(move |err, _req: &HttpRequest| json_error(err, json_limit).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|err, _req| {
        AppError::Validation(vec![crate::domain::FieldError::new(
            "query",
            err.to_string(),
        )])
        .into()
    }))
    .app_data(
        web::PathConfig::default()
            .error_handler(|err, _req| AppError::NotFound(format!("path ({err})")).into()),
    );
}

fn json_error(err: error::JsonPayloadError, limit: usize) -> AppError {
    match err {
        error::JsonPayloadError::Overflow { .. }
        | error::JsonPayloadError::OverflowKnownLength { .. } => AppError::PayloadTooLarge(limit),
        error::JsonPayloadError::ContentType => {
            AppError::UnsupportedMediaType("application/json".into())
        }
        error::JsonPayloadError::Deserialize(e) => {
            AppError::Malformed(format!("body must be one JSON object: {e}"))
        }
        other => AppError::Malformed(other.to_string()),
    }
}

/// Reads `?limit=` within 1..=200 (default 50).
fn page_limit(limit: Option<i64>) -> Result<i64, AppError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(_) => Err(AppError::field("limit", "must be between 1 and 200")),
    }
}

/// A page cursor from the query string: absent, or a non-empty key.
fn cursor(field: &str, value: Option<String>) -> Result<Option<String>, AppError> {
    match value {
        Some(v) if v.is_empty() => Err(AppError::field(
            field,
            "must not be empty: leave it out for the first page",
        )),
        other => Ok(other),
    }
}

/// The cursor for the next page: the `key` of the last item when the page is full.
fn next_cursor(items: &[Value], limit: i64, key: &str) -> Option<String> {
    (items.len() as i64 == limit)
        .then(|| {
            items
                .last()
                .and_then(|i| i[key].as_str().map(str::to_owned))
        })
        .flatten()
}
