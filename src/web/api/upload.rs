//! Bodies too large for memory (import files, id lists): streamed to a
//! temporary file under the data folder with a size cap, then read from a
//! blocking thread. The file is removed when dropped.

use std::io::Write;
use std::path::PathBuf;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::json;
use tempfile::NamedTempFile;

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::import::LineError;

/// Bytes gathered in memory before each write to the spool file.
const WRITE_CHUNK: usize = 4 << 20;

/// Where uploads are spooled and how large they may be.
#[derive(Debug, Clone)]
pub struct Uploads {
    dir: PathBuf,
    max_bytes: u64,
}

impl Uploads {
    /// `<data_dir>/uploads`, capped at `import.max_bytes`.
    pub fn new(settings: &Settings) -> Self {
        Self {
            dir: settings.data_dir.join("uploads"),
            max_bytes: settings.import.max_bytes,
        }
    }

    fn too_large(&self) -> AppError {
        AppError::PayloadTooLarge(usize::try_from(self.max_bytes).unwrap_or(usize::MAX))
    }

    /// Streams the request body to a new temporary file.
    pub async fn spool(
        &self,
        req: &HttpRequest,
        mut payload: web::Payload,
    ) -> AppResult<NamedTempFile> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_bytes) {
            return Err(self.too_large());
        }
        let dir = self.dir.clone();
        let mut file = blocking(move || {
            std::fs::create_dir_all(&dir)?;
            tempfile::Builder::new().prefix("upload-").tempfile_in(&dir)
        })
        .await?;
        let mut buffer = Vec::with_capacity(WRITE_CHUNK);
        let mut total = 0u64;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk
                .map_err(|e| AppError::Malformed(format!("cannot read the request body: {e}")))?;
            total += chunk.len() as u64;
            if total > self.max_bytes {
                return Err(self.too_large());
            }
            buffer.extend_from_slice(&chunk);
            if buffer.len() >= WRITE_CHUNK {
                file = append(file, std::mem::take(&mut buffer)).await?;
            }
        }
        append(file, buffer).await
    }
}

async fn append(mut file: NamedTempFile, bytes: Vec<u8>) -> AppResult<NamedTempFile> {
    blocking(move || file.write_all(&bytes).map(|()| file)).await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> AppResult<T> {
    web::block(f)
        .await
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("upload task failed: {e}")))?
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("cannot spool the upload: {e}")))
}

/// The essence of the request's `Content-Type` (`text/csv; charset=utf-8` → `text/csv`).
pub fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// A 422 problem listing errors by line of an uploaded file.
pub fn line_problem(detail: String, errors: &[LineError], total_errors: u64) -> HttpResponse {
    HttpResponse::UnprocessableEntity()
        .content_type("application/problem+json")
        .json(json!({
            "type": "/problems/validation-error",
            "title": "Your request has invalid fields",
            "status": 422,
            "detail": detail,
            "errors": errors,
            "total_errors": total_errors,
        }))
}
