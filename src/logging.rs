//! Logs to stderr as hclog JSON lines, the format go-plugin parses from a
//! plugin's stderr, so `TF_LOG=debug terraform plan` shows provider logs
//! with their levels. The level comes from `TF_LOG_PROVIDER_GENESIS`,
//! `TF_LOG_PROVIDER` or `TF_LOG`, as with Go providers.
//!
//! Events carry names and addresses, never attribute values: values can hold
//! secrets (tokens, keys, kubeconfigs). What the libraries log at trace
//! (request headers, signatures, credentials) is redacted on the way out.

mod redact;

pub use redact::redact;

use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// The log level Terraform asked for, if any.
pub fn level_from_env(env: impl Fn(&str) -> Option<String>) -> Option<Level> {
    let raw = ["TF_LOG_PROVIDER_GENESIS", "TF_LOG_PROVIDER", "TF_LOG"]
        .iter()
        .find_map(|k| env(k).filter(|v| !v.is_empty()))?;
    match raw.to_ascii_lowercase().as_str() {
        "trace" | "json" => Some(Level::TRACE),
        "debug" => Some(Level::DEBUG),
        "info" => Some(Level::INFO),
        "warn" => Some(Level::WARN),
        "error" => Some(Level::ERROR),
        "off" => None,
        _ => Some(Level::TRACE),
    }
}

pub fn init(level: Option<Level>) {
    // Our own events at the requested level; the libraries' (h2, hyper)
    // only when they warn, or at trace.
    let level = level.unwrap_or(Level::WARN);
    let libraries = if level == Level::TRACE {
        Level::TRACE
    } else {
        Level::WARN
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("genesis", level)
        .with_target("terraform_provider_genesis", level)
        .with_default(libraries);
    let _ = tracing_subscriber::registry()
        .with(HclogLayer.with_filter(filter))
        .try_init();
}

struct HclogLayer;

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields(serde_json::Map::new(), String::new());
        event.record(&mut fields);
        let Fields(mut map, message) = fields;
        let level = match *meta.level() {
            Level::TRACE => "trace",
            Level::DEBUG => "debug",
            Level::INFO => "info",
            Level::WARN => "warn",
            Level::ERROR => "error",
        };
        map.insert("@level".into(), level.into());
        map.insert("@message".into(), message.into());
        map.insert("@module".into(), meta.target().replace("::", ".").into());
        map.insert("@timestamp".into(), timestamp().into());
        let mut line = serde_json::Value::Object(map).to_string();
        line.push('\n');
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

struct Fields(serde_json::Map<String, serde_json::Value>, String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let value = redact(value).into_owned();
        if field.name() == "message" {
            self.1 = value;
        } else {
            self.0.insert(field.name().to_string(), value.into());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        let s = redact(&s).into_owned();
        if field.name() == "message" {
            self.1 = s;
        } else {
            self.0.insert(field.name().to_string(), s.into());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), value.into());
    }
}

/// RFC 3339 with microseconds in UTC, as hclog writes it.
fn timestamp() -> String {
    let now = std::time::SystemTime::now();
    let micros = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_micros();
    format!("{}.{micros:06}Z", civil_seconds(now))
}

/// `time` in RFC 3339, to the second, in UTC (`2026-12-07T01:46:22Z`).
pub fn rfc3339(time: std::time::SystemTime) -> String {
    format!("{}Z", civil_seconds(time))
}

/// `YYYY-MM-DDTHH:MM:SS` of `time` in UTC.
fn civil_seconds(time: std::time::SystemTime) -> String {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
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
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_terraform_variables() {
        let env = |k: &str| (k == "TF_LOG").then(|| "DEBUG".to_string());
        assert_eq!(level_from_env(env), Some(Level::DEBUG));
        let env = |k: &str| match k {
            "TF_LOG" => Some("TRACE".to_string()),
            "TF_LOG_PROVIDER" => Some("error".to_string()),
            _ => None,
        };
        assert_eq!(level_from_env(env), Some(Level::ERROR));
        assert_eq!(level_from_env(|_| None), None);
    }

    #[test]
    fn times_read_as_rfc3339() {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_607_982);
        assert_eq!(rfc3339(time), "2026-12-07T01:46:22Z");
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let t = timestamp();
        assert_eq!(t.len(), 27, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T');
    }
}
