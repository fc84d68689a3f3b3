//! Takes credentials out of log text before it is written. Events of our
//! own carry names, never values, but at trace level the libraries below
//! (the AWS SDK's signer and HTTP client, hyper, kube-rs) log requests,
//! headers and credentials structs: users paste those logs into bug reports
//! and CI output. Every message and field goes through [`redact`], at every
//! level, whatever its source.

use std::borrow::Cow;

/// What stands in for a secret.
pub const REDACTED: &str = "<redacted>";

/// Names whose value is a secret wherever it follows them with `:` or `=`
/// (a header in a request's Debug form, a field of a credentials struct, a
/// query parameter); matched without regard to case.
const SECRET_NAMES: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-credential",
    "x-goog-iam-authorization-token",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "access_token",
    "refresh_token",
    "client_secret",
    "private_key",
    "password",
    "token",
    "signature",
    "credential",
];

/// Prefixes of a secret that stands on its own in text (a bearer token in
/// a header line, an EKS token, a Google access token); what follows them
/// up to the end of the token is the secret.
const SECRET_PREFIXES: &[&str] = &["bearer ", "k8s-aws-v1.", "ya29."];

/// `text` with every credential replaced by [`REDACTED`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some((value_start, value_end)) = secret_at(bytes, i)
            && value_end > value_start
        {
            out.push_str(&text[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_end;
            i = value_end;
            continue;
        }
        i += 1;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// The byte range of a secret value that starts with a marker at `i`.
fn secret_at(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    // A name or prefix starts a word: "signature" inside "x-amz-signature"
    // is found as the longer name.
    if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || matches!(bytes[i - 1], b'-' | b'_')) {
        return access_key_at(bytes, i);
    }
    for prefix in SECRET_PREFIXES {
        if starts_with_ignore_case(&bytes[i..], prefix) {
            let start = i + prefix.len();
            return Some((start, token_end(bytes, start)));
        }
    }
    for name in SECRET_NAMES {
        if starts_with_ignore_case(&bytes[i..], name)
            && let Some(range) = value_after_name(bytes, i + name.len())
        {
            return Some(range);
        }
    }
    access_key_at(bytes, i)
}

/// After a secret's name: an optional closing quote, spaces, `:` or `=`,
/// spaces and the value, quoted (to its closing quote) or bare (a header
/// line's value runs to the end of the line; anything else to the next
/// delimiter).
fn value_after_name(bytes: &[u8], mut j: usize) -> Option<(usize, usize)> {
    if bytes.get(j) == Some(&b'"') || bytes.get(j) == Some(&b'\'') {
        j += 1;
    }
    while bytes.get(j) == Some(&b' ') {
        j += 1;
    }
    let separator = *bytes.get(j)?;
    if separator != b':' && separator != b'=' {
        return None;
    }
    j += 1;
    while bytes.get(j) == Some(&b' ') {
        j += 1;
    }
    match bytes.get(j) {
        Some(b'"') => {
            // Debug output escapes quotes inside: `\"`.
            let start = j + 1;
            let mut k = start;
            while k < bytes.len() && bytes[k] != b'"' {
                k += if bytes[k] == b'\\' { 2 } else { 1 };
            }
            Some((start, k.min(bytes.len())))
        }
        Some(b'\\') if bytes.get(j + 1) == Some(&b'"') => {
            // Text that was JSON-escaped once already: `\"value\"`.
            let start = j + 2;
            let mut k = start;
            while k < bytes.len() && !(bytes[k] == b'\\' && bytes.get(k + 1) == Some(&b'"')) {
                k += 1;
            }
            Some((start, k))
        }
        Some(_) if separator == b':' => {
            // `authorization: AWS4-HMAC-SHA256 Credential=..., Signature=...`
            let end = bytes[j..]
                .iter()
                .position(|&b| matches!(b, b'\n' | b'\r' | b'}' | b')'))
                .map_or(bytes.len(), |p| j + p);
            Some((j, end))
        }
        Some(_) => Some((j, value_end(bytes, j))),
        None => None,
    }
}

/// An AWS access key ID (`AKIA`/`ASIA` and 16 upper-case letters or
/// digits) standing alone.
fn access_key_at(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    let rest = &bytes[i..];
    if rest.len() < 20 || !(rest.starts_with(b"AKIA") || rest.starts_with(b"ASIA")) {
        return None;
    }
    if i > 0 && bytes[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    let key = &rest[..20];
    let alone = rest.get(20).is_none_or(|b| !b.is_ascii_alphanumeric());
    (alone
        && key
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
    .then_some((i, i + 20))
}

/// The end of a token (base64, base64url, JWT and URL-safe characters).
fn token_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| {
            !(b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'='))
        })
        .map_or(bytes.len(), |p| start + p)
}

/// The end of a bare value: the next space, quote, comma, `&` or bracket.
fn value_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| {
            b.is_ascii_whitespace()
                || matches!(
                    b,
                    b'"' | b'\'' | b',' | b'&' | b';' | b'}' | b')' | b']' | b'\\'
                )
        })
        .map_or(bytes.len(), |p| start + p)
}

fn starts_with_ignore_case(haystack: &[u8], needle: &str) -> bool {
    haystack.len() >= needle.len()
        && haystack[..needle.len()].eq_ignore_ascii_case(needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_signatures_and_credentials_are_redacted() {
        let header = r#"headers: {"authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261206/us-east-1/eks/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", "x-amz-date": "20261206T120000Z"}"#;
        let out = redact(header);
        assert!(!out.contains("Signature=5d67"), "{out}");
        assert!(!out.contains("AKIAIOSFODNN7EXAMPLE"), "{out}");
        assert!(out.contains(r#""x-amz-date": "20261206T120000Z""#), "{out}");
        let line = "authorization: AWS4-HMAC-SHA256 Credential=testing/20261206/us-east-1/sts/aws4_request, Signature=abc\nhost: sts";
        assert_eq!(
            redact(line),
            format!("authorization: {REDACTED}\nhost: sts")
        );
        let creds = r#"Credentials { provider_name: "Environment", access_key_id: "testing", secret_access_key: "** redacted **", session_token: "FwoGZX" }"#;
        let out = redact(creds);
        assert!(!out.contains("testing") && !out.contains("FwoGZX"), "{out}");
        assert!(out.contains(r#"provider_name: "Environment""#), "{out}");
    }

    #[test]
    fn presigned_urls_and_tokens_are_redacted() {
        let url = "https://sts.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261206&X-Amz-Signature=deadbeef&X-Amz-Expires=60";
        let out = redact(url);
        assert!(
            !out.contains("deadbeef") && !out.contains("AKIAIOSFODNN7EXAMPLE"),
            "{out}"
        );
        assert!(out.contains("X-Amz-Expires=60") && out.contains("Action=GetCallerIdentity"));
        for secret in [
            "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
            "k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9u",
            "ya29.a0AfH6SMBx-token_value",
        ] {
            let line = format!("sending {secret} now");
            let out = redact(&line);
            assert!(
                out.starts_with("sending ") && out.ends_with(" now"),
                "{out}"
            );
            assert!(out.contains(REDACTED), "{out}");
            assert!(!out.contains(&secret[secret.len() - 6..]), "{out}");
        }
        let json = r#"{"token":"sim-token-123","expiry":"later"}"#;
        assert_eq!(
            redact(json),
            format!(r#"{{"token":"{REDACTED}","expiry":"later"}}"#)
        );
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "minting the token for the cluster",
            "retrying after 200ms: 503 Service Unavailable",
            "creating the EKS node group general (signature of the spec: unchanged)",
            "tokens: 3",
        ] {
            assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
        }
    }
}
