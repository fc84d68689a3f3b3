//! A Service's endpoints as its EndpointSlices list them (the endpoint
//! controller's view, which kube-proxy and the mesh route by): how a
//! blue-green release knows that its preview Service reaches every pod of
//! the new version before the live Service is switched to it.

use std::collections::BTreeSet;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use tokio_util::sync::CancellationToken;

use crate::kube::{KubeError, retried};

/// The label the endpoint controller puts on a Service's slices.
const SERVICE_NAME: &str = "kubernetes.io/service-name";

/// How many distinct pods the Service `service` lists as ready.
pub async fn ready(
    client: &kube::Client,
    namespace: &str,
    service: &str,
    stop: &CancellationToken,
) -> Result<usize, KubeError> {
    let api: kube::Api<EndpointSlice> = kube::Api::namespaced(client.clone(), namespace);
    let params = kube::api::ListParams::default().labels(&format!("{SERVICE_NAME}={service}"));
    let list = retried(stop, || api.list(&params))
        .await
        .map_err(|e| KubeError::from_kube(&format!("listing the endpoints of {service}"), e))?;
    Ok(ready_pods(&list.items).len())
}

/// The pods (or, without a reference, addresses) ready in `slices`: a pod
/// may be in two slices while the controller moves it. An unknown
/// readiness counts as ready, as the API asks of consumers.
fn ready_pods(slices: &[EndpointSlice]) -> BTreeSet<String> {
    slices
        .iter()
        .flat_map(|s| s.endpoints.iter().flatten())
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
        .filter_map(|e| match &e.target_ref {
            Some(pod) => pod.name.clone(),
            None => e.addresses.first().cloned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_pods_are_counted_once() {
        let slice = |endpoints: serde_json::Value| -> EndpointSlice {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "s"},
                "addressType": "IPv4",
                "endpoints": endpoints,
            }))
            .unwrap()
        };
        let endpoint = |pod: &str, ready: serde_json::Value| {
            serde_json::json!({
                "addresses": ["10.0.0.1"],
                "conditions": {"ready": ready},
                "targetRef": {"kind": "Pod", "name": pod},
            })
        };
        let slices = [
            slice(serde_json::json!([
                endpoint("a", true.into()),
                endpoint("b", false.into()),
                endpoint("c", serde_json::Value::Null),
            ])),
            slice(serde_json::json!([endpoint("a", true.into())])),
        ];
        let ready: Vec<String> = ready_pods(&slices).into_iter().collect();
        assert_eq!(ready, ["a", "c"]);
    }
}
