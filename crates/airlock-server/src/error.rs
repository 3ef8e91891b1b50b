//! Errors as HTTP answers: a status and a JSON body that says what was wrong and what
//! to do next. Nothing is changed when one is returned.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    /// The ledger cannot record: nothing goes through, reads included.
    #[error("airlock's ledger cannot record: {0}. airlock fails closed: nothing goes through")]
    LedgerUnavailable(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) | ApiError::LedgerUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }
}

impl ApiError {
    /// The same error, its message prefixed (`step 3: …`).
    pub fn prefixed(self, prefix: &str) -> ApiError {
        if prefix.is_empty() {
            return self;
        }
        let p = |m: String| format!("{prefix}{m}");
        match self {
            ApiError::BadRequest(m) => ApiError::BadRequest(p(m)),
            ApiError::Unauthorized(m) => ApiError::Unauthorized(p(m)),
            ApiError::Forbidden(m) => ApiError::Forbidden(p(m)),
            ApiError::NotFound(m) => ApiError::NotFound(p(m)),
            ApiError::Conflict(m) => ApiError::Conflict(p(m)),
            ApiError::Unavailable(m) => ApiError::Unavailable(p(m)),
            ApiError::LedgerUnavailable(m) => ApiError::LedgerUnavailable(m),
        }
    }
}

impl From<airlock_store::StoreError> for ApiError {
    fn from(e: airlock_store::StoreError) -> Self {
        ApiError::Unavailable(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
