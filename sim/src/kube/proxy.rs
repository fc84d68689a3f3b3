//! The API server's pod proxy (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`),
//! as releases' analyses use it. The simulated containers serve every path
//! of their declared ports: with 200, or 503 for images matching
//! `Config::unhealthy_images`; a pod that is not running, or a port no
//! container declares, cannot be reached, as through the real proxy.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;

use super::objects::KubeError;

/// A pod's port, as a proxy path addresses it.
#[derive(Debug, PartialEq)]
pub struct Addressed<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    /// A number or a port's name; `None`: the first declared port.
    pub port: Option<&'a str>,
}

/// The pod and port a proxy path addresses (`NAME`, `NAME:PORT` or
/// `SCHEME:NAME:PORT`), when it is one.
pub fn target(path: &str) -> Option<Addressed<'_>> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let (namespace, rest) = rest.split_once("/pods/")?;
    let (name_port, rest) = rest.split_once('/')?;
    if namespace.contains('/') || !(rest == "proxy" || rest.starts_with("proxy/")) {
        return None;
    }
    let (pod, port) = match name_port.split(':').collect::<Vec<_>>().as_slice() {
        [pod] => (*pod, None),
        [pod, port] | [_, pod, port] => (*pod, Some(*port)),
        _ => return None,
    };
    Some(Addressed {
        namespace,
        pod,
        port,
    })
}

/// The answer of the addressed pod, `None` if the cluster has none.
pub fn answer(pod: Option<&Json>, at: &Addressed, unhealthy_images: &[String]) -> Response {
    let (name, port) = (at.pod, at.port);
    let Some(pod) = pod else {
        return super::status_response(&KubeError {
            code: 404,
            reason: "NotFound",
            message: format!("pods \"{name}\" not found"),
            details: serde_json::json!({"name": name, "kind": "pods"}),
        });
    };
    if pod["status"]["phase"] != "Running" {
        return unreachable(name, "the pod is not running");
    }
    let containers = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let declared = |c: &Json| {
        c["ports"].as_array().into_iter().flatten().any(|p| {
            let number = p["containerPort"].as_i64().map(|n| n.to_string());
            port.is_none_or(|want| number.as_deref() == Some(want) || p["name"] == want)
        })
    };
    let Some(container) = containers.iter().find(|c| declared(c)) else {
        return unreachable(name, "connect: connection refused");
    };
    let image = container["image"].as_str().unwrap_or_default();
    if unhealthy_images.iter().any(|u| image.contains(u.as_str())) {
        return (StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n").into_response();
    }
    (StatusCode::OK, "ok\n").into_response()
}

fn unreachable(pod: &str, why: &str) -> Response {
    super::status_response(&KubeError {
        code: 503,
        reason: "ServiceUnavailable",
        message: format!("error trying to reach service: pod {pod}: {why}"),
        details: Json::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_paths_name_the_pod_and_port() {
        let at = |pod, port| Addressed {
            namespace: "shop",
            pod,
            port,
        };
        assert_eq!(
            target("/api/v1/namespaces/shop/pods/web-1:8080/proxy/healthz"),
            Some(at("web-1", Some("8080")))
        );
        assert_eq!(
            target("/api/v1/namespaces/shop/pods/https:web-1:8443/proxy/"),
            Some(at("web-1", Some("8443")))
        );
        assert_eq!(target("/api/v1/namespaces/shop/pods/web-1"), None);
        assert_eq!(target("/api/v1/namespaces/shop/pods/web-1/log"), None);
    }

    #[test]
    fn a_running_pod_answers_on_its_ports_and_an_unhealthy_image_with_503() {
        let pod = |image: &str, phase: &str| {
            serde_json::json!({
                "spec": {"containers": [{"image": image, "ports": [{"name": "http", "containerPort": 8080}]}]},
                "status": {"phase": phase},
            })
        };
        let unhealthy = vec![":unhealthy".to_string()];
        let code = |pod: Option<&Json>, name_port: &str| {
            let path = format!("/api/v1/namespaces/shop/pods/{name_port}/proxy/");
            let at = target(&path).unwrap();
            answer(pod, &at, &unhealthy).status().as_u16()
        };
        assert_eq!(code(Some(&pod("web:1", "Running")), "web-1:8080"), 200);
        assert_eq!(code(Some(&pod("web:1", "Running")), "web-1:http"), 200);
        assert_eq!(code(Some(&pod("web:1", "Running")), "web-1:9090"), 503);
        assert_eq!(
            code(Some(&pod("web:unhealthy", "Running")), "web-1:8080"),
            503
        );
        assert_eq!(code(Some(&pod("web:1", "Pending")), "web-1:8080"), 503);
        assert_eq!(code(None, "web-1:8080"), 404);
    }
}
