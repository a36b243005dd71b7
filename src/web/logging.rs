//! Request spans without secrets: the path of a request is logged with the
//! tokens in it replaced (`/n/{token}` as `/n/…`) and without its query string
//! (which may carry tokens or personal data).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// Path prefixes whose next segment is a secret (a notice-page token, a share
/// link, a one-time password link).
pub const SECRET_PREFIXES: &[&str] = &["/n/", "/r/", "/ui/set-password/", "/ui/setup/"];

/// The root span of every request, with the path redacted.
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "default".to_owned());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %redacted_path(request.path()),
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The path with the segment after a secret prefix replaced by `…`.
pub fn redacted_path(path: &str) -> String {
    for prefix in SECRET_PREFIXES {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return format!("{prefix}…{tail}");
        }
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_reach_the_log() {
        assert_eq!(redacted_path("/n/0123456789abcdef"), "/n/…");
        assert_eq!(redacted_path("/r/tok/reports/1.pdf"), "/r/…/reports/1.pdf");
        assert_eq!(redacted_path("/api/v1/incidents"), "/api/v1/incidents");
    }
}
