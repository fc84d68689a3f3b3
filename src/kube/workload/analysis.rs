//! A release's analysis: an HTTP GET on each ready pod of the new version,
//! through the API server's pod proxy, so that Terraform needs no network
//! path to the pods (only the `pods/proxy` permission).

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use tokio_util::sync::CancellationToken;

use crate::kube::retried;

/// What the analysis asks each pod.
#[derive(Clone, Debug)]
pub struct Check<'a> {
    /// Starts with `/`; a query string is passed on.
    pub path: &'a str,
    pub port: i64,
    /// How long one answer may take.
    pub timeout: Duration,
}

/// How many times a pod is asked before its answer counts: a pod that has
/// just turned ready may not be reachable through the proxy yet.
const TRIES: usize = 3;
const BETWEEN_TRIES: Duration = Duration::from_secs(2);

/// Asks every ready pod matching `selector`; `Err` says which pod failed
/// and what it answered.
pub async fn run(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    check: &Check<'_>,
    stop: &CancellationToken,
) -> Result<(), String> {
    let api: kube::Api<Pod> = kube::Api::namespaced(client.clone(), namespace);
    let params = kube::api::ListParams::default().labels(selector);
    let list = retried(stop, || api.list(&params))
        .await
        .map_err(|e| format!("its pods could not be listed for the analysis: {e}"))?;
    let ready: Vec<String> = list
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && is_ready(p))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    if ready.is_empty() {
        return Err("the analysis found none of its pods ready".into());
    }
    for pod in &ready {
        let mut answer = String::new();
        for n in 0..TRIES {
            if n > 0 {
                tokio::select! {
                    () = tokio::time::sleep(BETWEEN_TRIES) => {}
                    () = stop.cancelled() => return Err("Terraform asked the provider to stop".into()),
                }
            }
            match ask(client, namespace, pod, check).await {
                Ok(()) => {
                    answer.clear();
                    break;
                }
                Err(a) => answer = a,
            }
        }
        if !answer.is_empty() {
            return Err(format!(
                "the analysis GET {} on pod {pod} port {} {answer}",
                check.path, check.port
            ));
        }
    }
    Ok(())
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// One GET; `Err` is the answer, as the error message goes on.
async fn ask(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    check: &Check<'_>,
) -> Result<(), String> {
    let uri = format!(
        "/api/v1/namespaces/{namespace}/pods/{pod}:{}/proxy{}",
        check.port, check.path
    );
    let request = http::Request::get(uri)
        .body(kube::client::Body::empty())
        .map_err(|e| format!("could not be sent: {e}"))?;
    let response = match tokio::time::timeout(check.timeout, client.send(request)).await {
        Err(_) => {
            return Err(format!(
                "did not answer within {}s",
                check.timeout.as_secs_f64()
            ));
        }
        Ok(Err(e)) => return Err(format!("could not be reached: {e}")),
        Ok(Ok(r)) => r,
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = tokio::time::timeout(check.timeout, response.into_body().collect_bytes())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Err(format!("answered {status}{}", first_line(&body)))
}

/// The start of an answer's body, for the error message: `: ` and its
/// first line, at most 200 characters.
fn first_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    match line {
        Some(l) => format!(": {}", l.chars().take(200).collect::<String>()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::first_line;

    #[test]
    fn an_answer_is_cut_to_its_first_line() {
        assert_eq!(first_line(b"\n  error rate 7%  \nmore"), ": error rate 7%");
        assert_eq!(first_line(b""), "");
        assert_eq!(first_line(&[b'x'; 300]).len(), 202);
    }
}
