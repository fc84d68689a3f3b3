//! The endpoint slice controller: each Service with a selector has an
//! EndpointSlice (discovery.k8s.io/v1) listing the running pods it selects,
//! with their readiness, as kube-controller-manager keeps one. The real
//! controller names its slices `SERVICE-` plus a random suffix; here the
//! suffix is fixed (`SERVICE-sim`), and clients find slices by their
//! `kubernetes.io/service-name` label either way.

use serde_json::{Value as Json, json};

use super::objects::Objects;

const SERVICE_NAME: &str = "kubernetes.io/service-name";
const MANAGED_BY: (&str, &str) = (
    "endpointslice.kubernetes.io/managed-by",
    "endpointslice-controller.k8s.io",
);

pub fn run(objects: &mut Objects) {
    let Some(slices) = super::resources::find("discovery.k8s.io", "v1", "endpointslices") else {
        return;
    };
    for key in objects.keys_under("/services/") {
        let Some(service) = objects.objects.get(&key) else {
            continue;
        };
        let selector = &service["spec"]["selector"];
        if !selector.is_object() || !service["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let meta = &service["metadata"];
        let (namespace, name) = (
            meta["namespace"].as_str().unwrap_or_default().to_string(),
            meta["name"].as_str().unwrap_or_default().to_string(),
        );
        let endpoints = endpoints(objects, &namespace, selector);
        let ports = ports(&service["spec"]["ports"]);
        let slice_key = format!("discovery.k8s.io/endpointslices/{namespace}/{name}-sim");
        match objects.objects.get(&slice_key) {
            Some(slice) if slice["endpoints"] == endpoints && slice["ports"] == ports => {}
            Some(_) => objects.write_as("endpointslice-controller", &slice_key, None, |s| {
                s["endpoints"] = endpoints;
                s["ports"] = ports;
            }),
            None => {
                let slice = json!({
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "metadata": {
                        "name": format!("{name}-sim"),
                        "labels": {SERVICE_NAME: name, MANAGED_BY.0: MANAGED_BY.1},
                        "ownerReferences": [{
                            "apiVersion": "v1",
                            "kind": "Service",
                            "name": name,
                            "uid": meta["uid"],
                            "controller": true,
                            "blockOwnerDeletion": true,
                        }],
                    },
                    "addressType": "IPv4",
                    "endpoints": endpoints,
                    "ports": ports,
                });
                objects.create_as("endpointslice-controller", slices, &namespace, slice);
            }
        }
    }
}

/// The running pods of `namespace` that `selector` matches, by name.
fn endpoints(objects: &Objects, namespace: &str, selector: &Json) -> Json {
    let wanted = selector.as_object().cloned().unwrap_or_default();
    let endpoints: Vec<Json> = objects
        .keys_under(&format!("/pods/{namespace}/"))
        .iter()
        .filter_map(|k| objects.objects.get(k))
        .filter(|pod| {
            let labels = &pod["metadata"]["labels"];
            wanted.iter().all(|(k, v)| &labels[k] == v) && pod["status"]["phase"] == "Running"
        })
        .map(|pod| {
            let ready = pod["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let terminating = !pod["metadata"]["deletionTimestamp"].is_null();
            json!({
                "addresses": [address(pod)],
                "conditions": {
                    "ready": ready && !terminating,
                    "serving": ready,
                    "terminating": terminating,
                },
                "targetRef": {
                    "kind": "Pod",
                    "namespace": namespace,
                    "name": pod["metadata"]["name"],
                    "uid": pod["metadata"]["uid"],
                },
            })
        })
        .collect();
    Json::Array(endpoints)
}

/// The pod's IP; the simulated kubelet gives none, so one from its uid.
fn address(pod: &Json) -> Json {
    if pod["status"]["podIP"].is_string() {
        return pod["status"]["podIP"].clone();
    }
    let n = super::controllers::hash(&pod["metadata"]["uid"]);
    json!(format!("10.244.{}.{}", (n >> 8) % 256, n % 254 + 1))
}

/// The Service's ports as the slice lists them: the target port (a number;
/// a named one stays by name), with the Service port's name and protocol.
fn ports(service_ports: &Json) -> Json {
    let ports: Vec<Json> = service_ports
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let target = if p["targetPort"].is_null() {
                p["port"].clone()
            } else {
                p["targetPort"].clone()
            };
            json!({
                "name": p["name"].as_str().unwrap_or_default(),
                "port": target,
                "protocol": p["protocol"].as_str().unwrap_or("TCP"),
            })
        })
        .collect();
    Json::Array(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_port_lists_its_target() {
        let ports = ports(&json!([
            {"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
            {"port": 9090},
        ]));
        assert_eq!(
            ports,
            json!([
                {"name": "http", "port": 8080, "protocol": "TCP"},
                {"name": "", "port": 9090, "protocol": "TCP"},
            ])
        );
    }
}
