//! The bearer token of an EKS cluster's Kubernetes API, minted here as
//! `aws eks get-token` and aws-iam-authenticator do, so no exec plugin is
//! needed: a presigned STS GetCallerIdentity URL whose signature covers the
//! `x-k8s-aws-id` header naming the cluster, as `k8s-aws-v1.` + unpadded
//! base64url. EKS accepts it for 15 minutes after signing; Genesis uses
//! each for 14 at most.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine;
use tokio::sync::Mutex;

use crate::cloud::CloudError;
use crate::provider::Secret;

/// The prefix EKS expects.
pub const PREFIX: &str = "k8s-aws-v1.";
/// The header whose value names the cluster.
pub const CLUSTER_HEADER: &str = "x-k8s-aws-id";
/// How long a token is used before a fresh one is minted.
const REUSE_FOR: Duration = Duration::from_secs(14 * 60);
/// How long a token handed to other clients is said to last: EKS accepts
/// it for 15 minutes, and `aws eks get-token` reports 14.
pub const VALID_FOR: Duration = REUSE_FOR;

/// Tokens minted so far, by region and cluster.
#[derive(Default)]
pub struct Tokens(Mutex<HashMap<(String, String), (Instant, Secret)>>);

impl Tokens {
    /// A token for the cluster, fresh when the last one is 14 minutes old.
    pub async fn get(
        &self,
        region: &str,
        cluster: &str,
        credentials: impl std::future::Future<
            Output = Result<aws_credential_types::Credentials, CloudError>,
        >,
    ) -> Result<Secret, CloudError> {
        let key = (region.to_string(), cluster.to_string());
        let mut tokens = self.0.lock().await;
        if let Some((minted, token)) = tokens.get(&key)
            && minted.elapsed() < REUSE_FOR
        {
            return Ok(token.clone());
        }
        let token = mint(&credentials.await?, region, cluster, SystemTime::now())?;
        tokens.insert(key, (Instant::now(), token.clone()));
        Ok(token)
    }
}

/// Signs the token for `cluster` at `time`. Pure: the same inputs give the
/// same token.
pub fn mint(
    credentials: &aws_credential_types::Credentials,
    region: &str,
    cluster: &str,
    time: SystemTime,
) -> Result<Secret, CloudError> {
    let failed = |e: &dyn std::fmt::Display| CloudError::Transport {
        call: "signing the EKS token".into(),
        message: e.to_string(),
    };
    let url =
        format!("https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(60));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| failed(&e))?
        .into();
    let signable = SignableRequest::new(
        "GET",
        url.as_str(),
        [(CLUSTER_HEADER, cluster)].into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| failed(&e))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| failed(&e))?
        .into_parts();
    let mut request = http::Request::builder()
        .uri(&url)
        .body(())
        .map_err(|e| failed(&e))?;
    instructions.apply_to_request_http1x(&mut request);
    let presigned = request.uri().to_string();
    Ok(Secret::new(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(presigned)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test")
    }

    fn decode(token: &Secret) -> String {
        let body = token.expose().strip_prefix(PREFIX).expect("prefix");
        String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(body)
                .expect("base64url without padding"),
        )
        .unwrap()
    }

    #[test]
    fn the_token_is_a_presigned_sts_url_covering_the_cluster_header() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let token = mint(&credentials(), "eu-west-1", "prod", time).unwrap();
        assert!(!token.expose().contains('='), "no padding");
        let url = decode(&token);
        assert!(
            url.starts_with("https://sts.eu-west-1.amazonaws.com/?"),
            "{url}"
        );
        for part in [
            "Action=GetCallerIdentity",
            "Version=2011-06-15",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Expires=60",
            "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id",
            "X-Amz-Credential=AKIDEXAMPLE%2F",
            "X-Amz-Signature=",
        ] {
            assert!(url.contains(part), "{part} missing from {url}");
        }
        // The signature covers the cluster's name.
        let other = mint(&credentials(), "eu-west-1", "staging", time).unwrap();
        assert_ne!(decode(&other), url);
        assert_eq!(
            mint(&credentials(), "eu-west-1", "prod", time).unwrap(),
            token
        );
    }
}
