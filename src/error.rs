//! One error type for the service. Each variant maps to an RFC 9457
//! `application/problem+json` response; unexpected failures are logged once,
//! here, and shown to the client only as a generic 500.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::FieldError;

/// Result alias for service code.
pub type AppResult<T> = Result<T, AppError>;

/// Everything that can go wrong while serving a request or running a command.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// One or more input fields were rejected.
    #[error("invalid input: {}", join(.0))]
    Validation(Vec<FieldError>),
    /// The body could not be read as the expected format.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// No credentials were sent.
    #[error("authentication required: send Authorization: Bearer <token>")]
    Unauthorized,
    /// A bearer token was sent but is not accepted: why, e.g. `token not recognised`.
    #[error("{0}")]
    TokenRefused(&'static str),
    /// A provider's callback whose signature does not verify (no token applies).
    #[error("{0}")]
    BadSignature(String),
    /// Authenticated, but the role does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist for this tenant.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The request conflicts with the current state because of the items listed in
    /// `errors` (e.g. the open obligations that keep an incident from closing).
    #[error("{detail}")]
    Blocked {
        /// What was refused and why.
        detail: String,
        /// One entry per item in the way.
        errors: Vec<FieldError>,
    },
    /// The path exists but does not take this method; `allow` lists those it takes.
    #[error("{method} is not allowed on this path; it takes {allow}")]
    MethodNotAllowed {
        /// The method that was sent.
        method: String,
        /// The methods the path takes, comma-separated (the `Allow` header).
        allow: String,
    },
    /// The body is larger than allowed.
    #[error("request body exceeds the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// Too many requests from this client (or about this subject) for now.
    #[error("{detail}")]
    TooManyRequests {
        /// What was limited.
        detail: String,
        /// Seconds until a request may succeed (sent as `Retry-After`).
        retry_after: u64,
    },
    /// The body has the wrong media type.
    #[error("Content-Type must be {0}")]
    UnsupportedMediaType(String),
    /// A failure the client cannot fix.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl AppError {
    /// A single-field validation error.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, reason)])
    }

    fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation-error",
            AppError::Malformed(_) => "malformed-request",
            AppError::Unauthorized | AppError::TokenRefused(_) => "unauthorized",
            AppError::BadSignature(_) => "bad-signature",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not-found",
            AppError::MethodNotAllowed { .. } => "method-not-allowed",
            AppError::Conflict(_) | AppError::Blocked { .. } => "conflict",
            AppError::PayloadTooLarge(_) => "payload-too-large",
            AppError::TooManyRequests { .. } => "too-many-requests",
            AppError::UnsupportedMediaType(_) => "unsupported-media-type",
            AppError::Unexpected(_) => "internal-error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "Your request has invalid fields",
            AppError::Malformed(_) => "Your request could not be read",
            AppError::Unauthorized | AppError::TokenRefused(_) => "Authentication required",
            AppError::BadSignature(_) => "Signature does not verify",
            AppError::Forbidden(_) => "Not allowed for your role",
            AppError::NotFound(_) => "Not found",
            AppError::MethodNotAllowed { .. } => "Method not allowed",
            AppError::Conflict(_) | AppError::Blocked { .. } => "Conflict with the current state",
            AppError::PayloadTooLarge(_) => "Request body too large",
            AppError::TooManyRequests { .. } => "Too many requests",
            AppError::UnsupportedMediaType(_) => "Unsupported media type",
            AppError::Unexpected(_) => "Internal error",
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => AppError::NotFound("resource".into()),
            other => AppError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

/// The RFC 9457 problem document.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: &'static str,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// The rejected fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Malformed(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized | AppError::TokenRefused(_) | AppError::BadSignature(_) => {
                StatusCode::UNAUTHORIZED
            }
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) | AppError::Blocked { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            AppError::Unexpected(err) => {
                tracing::error!(error.cause_chain = ?err, "request failed unexpectedly");
                "The server could not complete the request; it has been logged.".to_owned()
            }
            other => other.to_string(),
        };
        let problem = Problem {
            kind: format!("/problems/{}", self.code()),
            title: self.title(),
            status: status.as_u16(),
            detail,
            errors: match self {
                AppError::Validation(errors) | AppError::Blocked { errors, .. } => errors.clone(),
                _ => Vec::new(),
            },
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        match self {
            AppError::Unauthorized => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            AppError::MethodNotAllowed { allow, .. } => {
                response.insert_header((header::ALLOW, allow.as_str()));
            }
            // RFC 6750 §3.1: a token was presented but is not valid.
            AppError::TokenRefused(_) => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, r#"Bearer error="invalid_token""#));
            }
            AppError::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            _ => {}
        }
        response.json(problem)
    }
}
