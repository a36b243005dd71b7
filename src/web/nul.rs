//! Refuses U+0000 in the request target before any handler sees it.
//!
//! PostgreSQL cannot store or compare NUL in text (SQLite can), and no id, slug,
//! cursor or name of ours contains it: a path holding an encoded NUL names nothing
//! (404), and a query parameter holding one is invalid (422 naming the parameter).
//! Checked once here rather than by every handler that binds a path or query value.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::middleware::Next;
use percent_encoding::percent_decode_str;

use crate::error::AppError;

/// An encoded NUL (a raw one cannot pass the HTTP parser).
const NUL: &str = "%00";

/// Middleware: answers a request whose target holds a NUL with a problem document.
pub async fn refuse_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    match nul_problem(req.uri()) {
        Some(problem) => Err(problem.into()),
        None => next.call(req).await,
    }
}

/// The problem with a target holding a NUL, if it does.
fn nul_problem(uri: &Uri) -> Option<AppError> {
    if uri.path().contains(NUL) {
        return Some(AppError::NotFound("resource".into()));
    }
    let pair = uri.query()?.split('&').find(|pair| pair.contains(NUL))?;
    let name = pair.split('=').next().unwrap_or_default();
    let field = if name.is_empty() || name.contains(NUL) {
        "query".to_owned()
    } else {
        percent_decode_str(&name.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    Some(AppError::field(
        field,
        "must not contain a NUL character (U+0000)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(target: &str) -> Option<String> {
        let uri: Uri = target.parse().ok()?;
        nul_problem(&uri).map(|e| e.to_string())
    }

    #[test]
    fn a_nul_in_the_path_names_nothing() {
        assert_eq!(
            problem("/api/v1/incidents/a%00b/timeline").as_deref(),
            Some("resource not found")
        );
    }

    #[test]
    fn a_nul_in_a_query_value_names_the_parameter() {
        let found = problem("/api/v1/subjects?limit=5&after=x%C3%A9%00y").unwrap_or_default();
        assert!(found.contains("after: must not contain a NUL"), "{found}");
        let found = problem("/api/v1/incidents?%00=1").unwrap_or_default();
        assert!(found.contains("query: must not contain a NUL"), "{found}");
    }

    #[test]
    fn targets_without_nul_pass() {
        assert_eq!(problem("/api/v1/subjects?after=a%20b%0100&limit=5"), None);
        assert_eq!(problem("/b/acme/01a2?lang=ja"), None);
    }
}
