//! Checks EKS bearer tokens as the cluster's authenticator does, offline:
//! `k8s-aws-v1.` + unpadded base64url of a presigned STS GetCallerIdentity
//! URL whose SigV4 signature covers the `x-k8s-aws-id` header naming the
//! cluster, signed less than 15 minutes ago. Where the real authenticator
//! asks STS, genesis-sim recomputes the signature with the secret of the
//! access key (the simulator's `--aws-credentials`, moto's `testing` by
//! default).

use std::time::{Duration, SystemTime};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How long after signing EKS accepts a token.
pub const VALID_FOR: Duration = Duration::from_secs(15 * 60);

/// Why a token was refused (logged, never sent: the API server answers 401
/// without a reason).
pub fn verify(
    token: &str,
    cluster: &str,
    credentials: &[(String, String)],
    now: SystemTime,
) -> Result<(), String> {
    let body = token
        .strip_prefix("k8s-aws-v1.")
        .ok_or("not an EKS token (no k8s-aws-v1. prefix)")?;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| "not unpadded base64url")?;
    let url = String::from_utf8(url).map_err(|_| "not a URL")?;
    let rest = url.strip_prefix("https://").ok_or("not an https URL")?;
    let (host, query) = rest.split_once("/?").ok_or("no query string")?;
    if !(host.starts_with("sts.") && host.ends_with(".amazonaws.com"))
        && host != "sts.amazonaws.com"
    {
        return Err(format!("{host} is not an STS endpoint"));
    }
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| super::model::decode(v))
    };
    if get("Action").as_deref() != Some("GetCallerIdentity") {
        return Err("not a GetCallerIdentity request".into());
    }
    let signed = get("X-Amz-SignedHeaders").ok_or("no signed headers")?;
    if !signed.split(';').any(|h| h == "x-k8s-aws-id") {
        return Err("the cluster header is not signed".into());
    }
    let date = get("X-Amz-Date").ok_or("no X-Amz-Date")?;
    let signed_at = parse_amz_date(&date).ok_or("bad X-Amz-Date")?;
    match now.duration_since(signed_at) {
        Ok(age) if age > VALID_FOR => return Err(format!("expired {age:?} after signing")),
        Err(e) if e.duration() > Duration::from_secs(300) => {
            return Err("signed in the future".into());
        }
        _ => {}
    }
    let credential = get("X-Amz-Credential").ok_or("no X-Amz-Credential")?;
    let mut scope = credential.split('/');
    let (Some(key), Some(day), Some(region), Some(service)) =
        (scope.next(), scope.next(), scope.next(), scope.next())
    else {
        return Err("bad credential scope".into());
    };
    if service != "sts" {
        return Err("not signed for STS".into());
    }
    let secret = credentials
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, s)| s)
        .ok_or_else(|| format!("unknown access key {key}"))?;
    let signature = get("X-Amz-Signature").ok_or("no signature")?;
    let mut canonical_query: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "X-Amz-Signature")
        .collect();
    canonical_query.sort();
    let canonical_query = canonical_query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let headers: Vec<(&str, String)> = signed
        .split(';')
        .map(|h| match h {
            "host" => Ok((h, host.to_string())),
            "x-k8s-aws-id" => Ok((h, cluster.to_string())),
            other => Err(format!("unexpected signed header {other}")),
        })
        .collect::<Result<_, _>>()?;
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let empty = hex(&Sha256::digest(b""));
    let request = format!("GET\n/\n{canonical_query}\n{canonical_headers}\n{signed}\n{empty}");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{day}/{region}/sts/aws4_request\n{}",
        hex(&Sha256::digest(request.as_bytes()))
    );
    let mut k = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    for part in [region, "sts", "aws4_request"] {
        k = hmac(&k, part.as_bytes());
    }
    if hex(&hmac(&k, to_sign.as_bytes())) != signature {
        return Err("the signature does not match (wrong cluster, key or secret)".into());
    }
    Ok(())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `20261130T192600Z`.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let digits = |r: std::ops::Range<usize>| s.get(r)?.parse::<u64>().ok();
    let (y, mo, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (h, mi, se) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(days * 86_400 + h * 3600 + mi * 60 + se))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse() {
        let t = parse_amz_date("19700102T000001Z").unwrap();
        assert_eq!(t, SystemTime::UNIX_EPOCH + Duration::from_secs(86_401));
        let t = parse_amz_date("20261130T000000Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_795_996_800
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let creds = vec![("testing".to_string(), "testing".to_string())];
        for bad in ["", "Bearer x", "k8s-aws-v1.!!!", "k8s-aws-v1.aHR0cDovL3g"] {
            assert!(
                verify(bad, "c", &creds, SystemTime::now()).is_err(),
                "{bad}"
            );
        }
    }
}
