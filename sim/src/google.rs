//! What the Google faces share: Google's JSON error format, bearer-token
//! authentication, and times in RFC 3339.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

use crate::discovery::Violation;

/// An error as Google APIs return it: HTTP status, canonical status name
/// and message, with field violations for bad requests.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub http: u16,
    pub status: &'static str,
    pub message: String,
    pub violations: Vec<Violation>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(http: u16, status: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            http,
            status,
            message: message.into(),
            violations: Vec::new(),
            retry_after: None,
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        ApiError::new(400, "INVALID_ARGUMENT", message)
    }

    pub fn failed_precondition(message: impl Into<String>) -> Self {
        ApiError::new(400, "FAILED_PRECONDITION", message)
    }

    pub fn not_found(name: &str) -> Self {
        ApiError::new(404, "NOT_FOUND", format!("Not found: {name}."))
    }

    /// A read-modify-write that lost a race (an IAM policy's etag).
    pub fn aborted(message: impl Into<String>) -> Self {
        ApiError::new(409, "ABORTED", message)
    }

    pub fn already_exists(name: &str) -> Self {
        ApiError::new(409, "ALREADY_EXISTS", format!("Already exists: {name}."))
    }

    pub fn unauthenticated() -> Self {
        ApiError::new(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        )
    }

    pub fn unimplemented(method: &str) -> Self {
        ApiError::new(
            501,
            "UNIMPLEMENTED",
            format!("Method {method} is not implemented by genesis-sim."),
        )
    }

    /// An injected fault with the status a real service would give it.
    pub fn injected(http: u16, retry_after: Option<u64>) -> Self {
        let (status, message) = match http {
            429 => (
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Requests' (injected by genesis-sim).",
            ),
            500 => (
                "INTERNAL",
                "Internal error encountered (injected by genesis-sim).",
            ),
            503 => (
                "UNAVAILABLE",
                "The service is currently unavailable (injected by genesis-sim).",
            ),
            409 => (
                "ABORTED",
                "The operation was aborted (injected by genesis-sim).",
            ),
            404 => ("NOT_FOUND", "Not found (injected by genesis-sim)."),
            403 => (
                "PERMISSION_DENIED",
                "Permission denied (injected by genesis-sim).",
            ),
            _ => ("UNKNOWN", "Error injected by genesis-sim."),
        };
        ApiError {
            retry_after,
            ..ApiError::new(http, status, message)
        }
    }

    /// A request body that breaks the discovery document's schema.
    pub fn bad_body(violations: Vec<Violation>) -> Self {
        let message = violations
            .iter()
            .map(|v| v.description.clone())
            .collect::<Vec<_>>()
            .join("\n");
        ApiError {
            violations,
            ..ApiError::invalid_argument(message)
        }
    }

    /// Numeric code of the canonical status, as in `google.rpc.Status`.
    pub fn rpc_code(&self) -> i64 {
        match self.status {
            "CANCELLED" => 1,
            "INVALID_ARGUMENT" => 3,
            "DEADLINE_EXCEEDED" => 4,
            "NOT_FOUND" => 5,
            "ALREADY_EXISTS" => 6,
            "PERMISSION_DENIED" => 7,
            "RESOURCE_EXHAUSTED" => 8,
            "FAILED_PRECONDITION" => 9,
            "ABORTED" => 10,
            "UNIMPLEMENTED" => 12,
            "INTERNAL" => 13,
            "UNAVAILABLE" => 14,
            "UNAUTHENTICATED" => 16,
            _ => 2,
        }
    }

    pub fn body(&self) -> Json {
        let mut error = json!({
            "code": self.http,
            "message": self.message,
            "status": self.status,
        });
        if !self.violations.is_empty() {
            error["details"] = json!([{
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": self.violations.iter().map(|v| json!({
                    "field": v.field,
                    "description": v.description,
                })).collect::<Vec<_>>(),
            }]);
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(v) = seconds.to_string().parse()
        {
            response.headers_mut().insert("retry-after", v);
        }
        response
    }
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The current time in RFC 3339 with nanoseconds, as Google writes it.
pub fn now_rfc3339() -> String {
    rfc3339(std::time::SystemTime::now())
}

pub fn rfc3339(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_nanos()
    )
}
