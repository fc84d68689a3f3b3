//! The Kubernetes objects a `genesis_workload` becomes, built by pure
//! functions from its planned state: Deployment, Service, HPA
//! (autoscaling/v2), PodDisruptionBudget, NetworkPolicy, ServiceAccount,
//! ConfigMap and Ingress, restricted by default. Every object carries the
//! same labels so all of them are found (and removed) with the workload.

use serde_json::{Map, Value as Json, json};

use super::NAME_LABEL;
use crate::cloud::origin;
use crate::framework::validators::parse_quantity;
use crate::framework::value::Value;
use crate::kube::MANAGED_BY;
use crate::resources::node_pool::{LABEL_NODE_POOL, LABEL_POOL_TYPE};

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn string_map(v: &Value) -> Map<String, Json> {
    v.entries()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), Json::String(v.as_str()?.to_string()))))
        .collect()
}

fn strings(v: &Value) -> Vec<Json> {
    v.string_elements()
        .into_iter()
        .map(|s| Json::String(s.to_string()))
        .collect()
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}

/// "50%" stays a string; "2" becomes the integer 2 (IntOrString).
fn int_or_percent(s: &str) -> Json {
    s.parse::<i64>()
        .map_or_else(|_| Json::String(s.to_string()), Json::from)
}

/// Labels on every object: the workload's name, Genesis as manager, and
/// the user's labels.
fn labels(w: &Value) -> Map<String, Json> {
    let mut l = string_map(w.get("labels"));
    l.insert(
        NAME_LABEL.into(),
        json!(w.get("name").as_str().unwrap_or_default()),
    );
    l.insert(MANAGED_BY.0.into(), json!(MANAGED_BY.1));
    l
}

fn selector(w: &Value) -> Json {
    json!({ NAME_LABEL: w.get("name").as_str().unwrap_or_default() })
}

fn metadata(w: &Value, name: &str) -> Json {
    json!({"name": name, "namespace": w.get("namespace").as_str().unwrap_or("default"), "labels": labels(w)})
}

fn service_account_name(w: &Value) -> String {
    text(w.get("service_account").get("name"))
        .unwrap_or_else(|| text(w.get("name")).unwrap_or_default())
}

/// Every object of the workload, in the order they are applied (what pods
/// need first).
pub fn render(w: &Value) -> Vec<Json> {
    if w.is_null() {
        return Vec::new();
    }
    let name = w.get("name").as_str().unwrap_or_default().to_string();
    let mut out = Vec::new();
    if let Some(sa) = service_account(w) {
        out.push(sa);
    }
    if !w.get("config_data").is_null() {
        out.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(w, &name), "data": string_map(w.get("config_data"))}));
    }
    out.push(deployment(w));
    if let Some(s) = service(w) {
        out.push(s);
    }
    if let Some(h) = autoscaler(w) {
        out.push(h);
    }
    if let Some(p) = disruption_budget(w) {
        out.push(p);
    }
    if let Some(n) = network_policy(w) {
        out.push(n);
    }
    if let Some(i) = ingress(w) {
        out.push(i);
    }
    stamp_origin(&mut out);
    out
}

/// Marks every object with its own fingerprint (see `cloud::origin`), so a
/// create that meets it can tell its own earlier attempt from someone
/// else's object, and a change to one object changes no other.
fn stamp_origin(objects: &mut [Json]) {
    for object in objects {
        let fingerprint = origin::fingerprint(&object.to_string());
        object["metadata"]["annotations"][origin::ANNOTATION] = json!(fingerprint);
    }
}

/// The origin fingerprint an object carries, if any.
pub fn origin_of(object: &Json) -> Option<&str> {
    object["metadata"]["annotations"][origin::ANNOTATION].as_str()
}

fn service_account(w: &Value) -> Option<Json> {
    let sa = w.get("service_account");
    if sa.get("create").as_bool() == Some(false) {
        return None;
    }
    let mut annotations = string_map(sa.get("annotations"));
    if let Some(gsa) = text(sa.get("gcp_service_account")) {
        annotations.insert("iam.gke.io/gcp-service-account".into(), json!(gsa));
    }
    if let Some(role) = text(sa.get("aws_role_arn")) {
        annotations.insert("eks.amazonaws.com/role-arn".into(), json!(role));
    }
    let mut meta = metadata(w, &service_account_name(w));
    if !annotations.is_empty() {
        meta["annotations"] = Json::Object(annotations);
    }
    Some(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}))
}

fn probe(p: &Value) -> Option<Json> {
    if p.is_null() {
        return None;
    }
    let mut out = Map::new();
    if !p.get("http_get").is_null() {
        let h = p.get("http_get");
        out.insert("httpGet".into(), json!({"path": h.get("path").as_str().unwrap_or("/"), "port": int(h.get("port")), "scheme": h.get("scheme").as_str().unwrap_or("HTTP")}));
    } else if !p.get("tcp_socket").is_null() {
        out.insert(
            "tcpSocket".into(),
            json!({"port": int(p.get("tcp_socket").get("port"))}),
        );
    } else if !p.get("grpc").is_null() {
        out.insert(
            "grpc".into(),
            json!({"port": int(p.get("grpc").get("port"))}),
        );
    } else if !p.get("exec").is_null() {
        out.insert(
            "exec".into(),
            json!({"command": strings(p.get("exec").get("command"))}),
        );
    }
    for (attr, key) in [
        ("initial_delay_seconds", "initialDelaySeconds"),
        ("period_seconds", "periodSeconds"),
        ("timeout_seconds", "timeoutSeconds"),
        ("failure_threshold", "failureThreshold"),
        ("success_threshold", "successThreshold"),
    ] {
        if let Some(n) = int(p.get(attr)) {
            out.insert(key.into(), json!(n));
        }
    }
    Some(Json::Object(out))
}

fn resources(w: &Value) -> Json {
    let mut out = Map::new();
    for (attr, key) in [("requests", "requests"), ("limits", "limits")] {
        let r = w.get("resources").get(attr);
        let mut m = Map::new();
        for (a, k) in [
            ("cpu", "cpu"),
            ("memory", "memory"),
            ("ephemeral_storage", "ephemeral-storage"),
        ] {
            if let Some(q) = text(r.get(a)) {
                m.insert(k.into(), json!(q));
            }
        }
        if !m.is_empty() {
            out.insert(key.into(), Json::Object(m));
        }
    }
    Json::Object(out)
}

fn container(w: &Value) -> Json {
    let name = w.get("name").as_str().unwrap_or_default();
    let sc = w.get("security_context");
    let flag = |attr: &str, default: bool| sc.get(attr).as_bool().unwrap_or(default);
    let mut c = json!({
        "name": name,
        "image": w.get("image").as_str().unwrap_or_default(),
        "resources": resources(w),
        "securityContext": {
            "allowPrivilegeEscalation": flag("allow_privilege_escalation", false),
            "readOnlyRootFilesystem": flag("read_only_root_filesystem", true),
            "runAsNonRoot": flag("run_as_non_root", true),
            "privileged": false,
            "capabilities": {"drop": ["ALL"]},
        },
        // A writable /tmp, since the root filesystem is read-only.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    });
    let added = strings(sc.get("capabilities_add"));
    if !added.is_empty() {
        c["securityContext"]["capabilities"]["add"] = Json::Array(added);
    }
    if let Some(policy) = text(w.get("image_pull_policy")) {
        c["imagePullPolicy"] = json!(policy);
    }
    for (attr, key) in [("command", "command"), ("args", "args")] {
        if !w.get(attr).is_null() {
            c[key] = Json::Array(strings(w.get(attr)));
        }
    }
    let ports: Vec<Json> = w
        .get("ports")
        .elements()
        .iter()
        .map(|p| {
            let mut port = json!({"containerPort": int(p.get("container_port")), "protocol": p.get("protocol").as_str().unwrap_or("TCP")});
            if let Some(n) = text(p.get("name")) {
                port["name"] = json!(n);
            }
            port
        })
        .collect();
    if !ports.is_empty() {
        c["ports"] = Json::Array(ports);
    }
    let mut env: Vec<Json> = w
        .get("env")
        .entries()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some(json!({"name": k, "value": v.as_str()?})))
        .collect();
    env.extend(w.get("secret_env").entries().into_iter().flatten().map(|(k, v)| {
        json!({"name": k, "valueFrom": {"secretKeyRef": {"name": v.get("secret").as_str().unwrap_or_default(), "key": v.get("key").as_str().unwrap_or_default()}}})
    }));
    if !env.is_empty() {
        c["env"] = Json::Array(env);
    }
    let mut env_from: Vec<Json> = w
        .get("env_from_secrets")
        .string_elements()
        .into_iter()
        .map(|s| json!({"secretRef": {"name": s}}))
        .collect();
    let config = !w.get("config_data").is_null();
    let mount = text(w.get("config_mount_path"));
    if config && mount.is_none() {
        env_from.push(json!({"configMapRef": {"name": name}}));
    }
    if !env_from.is_empty() {
        c["envFrom"] = Json::Array(env_from);
    }
    if let (true, Some(path)) = (config, mount) {
        c["volumeMounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "config", "mountPath": path, "readOnly": true}));
    }
    for (attr, key) in [
        ("liveness_probe", "livenessProbe"),
        ("readiness_probe", "readinessProbe"),
        ("startup_probe", "startupProbe"),
    ] {
        if let Some(p) = probe(w.get(attr)) {
            c[key] = p;
        }
    }
    c
}

fn deployment(w: &Value) -> Json {
    let name = w.get("name").as_str().unwrap_or_default().to_string();
    let sc = w.get("security_context");
    let mut pod_security = json!({
        "runAsNonRoot": sc.get("run_as_non_root").as_bool().unwrap_or(true),
        "seccompProfile": {"type": sc.get("seccomp_profile").as_str().unwrap_or("RuntimeDefault")},
    });
    for (attr, key) in [
        ("run_as_user", "runAsUser"),
        ("run_as_group", "runAsGroup"),
        ("fs_group", "fsGroup"),
    ] {
        if let Some(n) = int(sc.get(attr)) {
            pod_security[key] = json!(n);
        }
    }
    let mut volumes = vec![json!({"name": "tmp", "emptyDir": {}})];
    if !w.get("config_data").is_null() && !w.get("config_mount_path").is_null() {
        volumes.push(json!({"name": "config", "configMap": {"name": name}}));
    }
    let mut pod_labels = labels(w);
    pod_labels.insert(NAME_LABEL.into(), json!(name));
    let mut template_meta = json!({"labels": pod_labels});
    let annotations = string_map(w.get("annotations"));
    if !annotations.is_empty() {
        template_meta["annotations"] = Json::Object(annotations);
    }
    let mut pod = json!({
        "serviceAccountName": service_account_name(w),
        "securityContext": pod_security,
        "containers": [container(w)],
        "volumes": volumes,
    });
    if let Some(n) = int(w.get("termination_grace_period_seconds")) {
        pod["terminationGracePeriodSeconds"] = json!(n);
    }
    let mut node_selector = string_map(w.get("node_selector"));
    let mut tolerations: Vec<Json> = w
        .get("tolerations")
        .elements()
        .iter()
        .map(|t| {
            let mut out = Map::new();
            for (attr, key) in [
                ("key", "key"),
                ("operator", "operator"),
                ("value", "value"),
                ("effect", "effect"),
            ] {
                if let Some(s) = text(t.get(attr)) {
                    out.insert(key.into(), json!(s));
                }
            }
            if let Some(n) = int(t.get("toleration_seconds")) {
                out.insert("tolerationSeconds".into(), json!(n));
            }
            Json::Object(out)
        })
        .collect();
    if let Some(pool) = text(w.get("node_pool")) {
        node_selector.insert(LABEL_NODE_POOL.into(), json!(pool));
        // Whatever type the pool is, its dedication taint is tolerated.
        tolerations
            .push(json!({"key": LABEL_POOL_TYPE, "operator": "Exists", "effect": "NoSchedule"}));
    }
    if let Some(kind) = text(w.get("node_pool_type")) {
        node_selector.insert(LABEL_POOL_TYPE.into(), json!(kind));
        tolerations.push(json!({"key": LABEL_POOL_TYPE, "operator": "Equal", "value": kind, "effect": "NoSchedule"}));
    }
    if !node_selector.is_empty() {
        pod["nodeSelector"] = Json::Object(node_selector);
    }
    if !tolerations.is_empty() {
        tolerations.dedup();
        pod["tolerations"] = Json::Array(tolerations);
    }
    let mut spec = json!({
        "selector": {"matchLabels": selector(w)},
        "template": {"metadata": template_meta, "spec": pod},
    });
    // With an autoscaler, replicas are the autoscaler's: not applied.
    if w.get("autoscaling").is_null()
        && let Some(n) = int(w.get("replicas"))
    {
        spec["replicas"] = json!(n);
    }
    let strategy = w.get("strategy");
    if !strategy.is_null() {
        let kind = strategy.get("type").as_str().unwrap_or("RollingUpdate");
        let mut s = json!({"type": kind});
        if kind == "RollingUpdate" {
            let mut rolling = Map::new();
            for (attr, key) in [
                ("max_surge", "maxSurge"),
                ("max_unavailable", "maxUnavailable"),
            ] {
                if let Some(v) = strategy.get(attr).as_str() {
                    rolling.insert(key.into(), int_or_percent(v));
                }
            }
            if !rolling.is_empty() {
                s["rollingUpdate"] = Json::Object(rolling);
            }
        }
        spec["strategy"] = s;
    }
    for (attr, key) in [
        ("min_ready_seconds", "minReadySeconds"),
        ("progress_deadline_seconds", "progressDeadlineSeconds"),
    ] {
        if let Some(n) = int(w.get(attr)) {
            spec[key] = json!(n);
        }
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(w, &name), "spec": spec})
}

/// The service's ports: as configured, or one per container port.
fn service_ports(w: &Value) -> Vec<Json> {
    let configured = w.get("service").get("ports").elements();
    if !configured.is_empty() {
        return configured
            .iter()
            .map(|p| {
                let port = int(p.get("port"));
                let mut out = json!({"port": port, "targetPort": int(p.get("target_port")).or(port), "protocol": p.get("protocol").as_str().unwrap_or("TCP")});
                if let Some(n) = text(p.get("name")) {
                    out["name"] = json!(n);
                }
                if let Some(n) = int(p.get("node_port")) {
                    out["nodePort"] = json!(n);
                }
                out
            })
            .collect();
    }
    w.get("ports")
        .elements()
        .iter()
        .map(|p| {
            let port = int(p.get("container_port"));
            let mut out = json!({"port": port, "targetPort": port, "protocol": p.get("protocol").as_str().unwrap_or("TCP")});
            if let Some(n) = text(p.get("name")) {
                out["name"] = json!(n);
            }
            out
        })
        .collect()
}

fn service(w: &Value) -> Option<Json> {
    let s = w.get("service");
    if s.is_null() {
        return None;
    }
    let name = w.get("name").as_str().unwrap_or_default().to_string();
    let mut meta = metadata(w, &name);
    let annotations = string_map(s.get("annotations"));
    if !annotations.is_empty() {
        meta["annotations"] = Json::Object(annotations);
    }
    let mut spec = json!({"type": s.get("type").as_str().unwrap_or("ClusterIP"), "selector": selector(w), "ports": service_ports(w)});
    if !s.get("load_balancer_source_ranges").is_null() {
        spec["loadBalancerSourceRanges"] =
            Json::Array(strings(s.get("load_balancer_source_ranges")));
    }
    Some(json!({"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}))
}

fn scaling_rule(r: &Value) -> Option<Json> {
    if r.is_null() {
        return None;
    }
    let period = int(r.get("period_seconds")).unwrap_or(60);
    let mut policies = Vec::new();
    if let Some(p) = int(r.get("max_percent")) {
        policies.push(json!({"type": "Percent", "value": p, "periodSeconds": period}));
    }
    if let Some(p) = int(r.get("max_pods")) {
        policies.push(json!({"type": "Pods", "value": p, "periodSeconds": period}));
    }
    let mut out = json!({"selectPolicy": r.get("select_policy").as_str().unwrap_or("Max")});
    if let Some(s) = int(r.get("stabilization_window_seconds")) {
        out["stabilizationWindowSeconds"] = json!(s);
    }
    if !policies.is_empty() {
        out["policies"] = Json::Array(policies);
    }
    Some(out)
}

fn autoscaler(w: &Value) -> Option<Json> {
    let a = w.get("autoscaling");
    if a.is_null() {
        return None;
    }
    let name = w.get("name").as_str().unwrap_or_default().to_string();
    let metrics: Vec<Json> = [("cpu_target", "cpu"), ("memory_target", "memory")]
        .iter()
        .filter_map(|(attr, resource)| {
            let target = int(a.get(attr))?;
            Some(json!({"type": "Resource", "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": target}}}))
        })
        .collect();
    let mut spec = json!({
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "minReplicas": int(a.get("min_replicas")).unwrap_or(1),
        "maxReplicas": int(a.get("max_replicas")),
        "metrics": metrics,
    });
    let mut behavior = Map::new();
    for (attr, key) in [("scale_up", "scaleUp"), ("scale_down", "scaleDown")] {
        if let Some(r) = scaling_rule(a.get(attr)) {
            behavior.insert(key.into(), r);
        }
    }
    if !behavior.is_empty() {
        spec["behavior"] = Json::Object(behavior);
    }
    Some(
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": metadata(w, &name), "spec": spec}),
    )
}

fn disruption_budget(w: &Value) -> Option<Json> {
    let b = w.get("disruption_budget");
    if b.is_null() {
        return None;
    }
    let name = w.get("name").as_str().unwrap_or_default().to_string();
    let mut spec = json!({"selector": {"matchLabels": selector(w)}});
    for (attr, key) in [
        ("min_available", "minAvailable"),
        ("max_unavailable", "maxUnavailable"),
    ] {
        if let Some(v) = b.get(attr).as_str() {
            spec[key] = int_or_percent(v);
        }
    }
    Some(
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": metadata(w, &name), "spec": spec}),
    )
}

fn peers_and_ports(rule: &Value, direction: &str) -> Json {
    let mut peer = Map::new();
    if !rule.get("namespace_labels").is_null() {
        peer.insert(
            "namespaceSelector".into(),
            json!({"matchLabels": string_map(rule.get("namespace_labels"))}),
        );
    }
    if !rule.get("pod_labels").is_null() {
        peer.insert(
            "podSelector".into(),
            json!({"matchLabels": string_map(rule.get("pod_labels"))}),
        );
    }
    if let Some(cidr) = text(rule.get("cidr")) {
        peer.insert("ipBlock".into(), json!({"cidr": cidr}));
    }
    let mut out = json!({});
    if !peer.is_empty() {
        out[direction] = json!([peer]);
    }
    let ports: Vec<Json> = rule
        .get("ports")
        .elements()
        .iter()
        .filter_map(|p| p.as_i64())
        .map(|p| json!({"port": p, "protocol": "TCP"}))
        .collect();
    if !ports.is_empty() {
        out["ports"] = Json::Array(ports);
    }
    out
}

fn network_policy(w: &Value) -> Option<Json> {
    let n = w.get("network_policy");
    if n.is_null() || n.get("enabled").as_bool() == Some(false) {
        return None;
    }
    let name = w.get("name").as_str().unwrap_or_default().to_string();
    let ingress: Vec<Json> = n
        .get("allow_from")
        .elements()
        .iter()
        .map(|r| peers_and_ports(r, "from"))
        .collect();
    let mut egress: Vec<Json> = n
        .get("allow_to")
        .elements()
        .iter()
        .map(|r| peers_and_ports(r, "to"))
        .collect();
    if n.get("allow_dns").as_bool() != Some(false) {
        egress.push(json!({
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
        }));
    }
    Some(json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(w, &name),
        "spec": {"podSelector": {"matchLabels": selector(w)}, "policyTypes": ["Ingress", "Egress"], "ingress": ingress, "egress": egress},
    }))
}

fn ingress(w: &Value) -> Option<Json> {
    let i = w.get("ingress");
    if i.is_null() {
        return None;
    }
    let name = w.get("name").as_str().unwrap_or_default().to_string();
    let host = i.get("host").as_str().unwrap_or_default();
    let port = service_ports(w)
        .first()
        .and_then(|p| p["port"].as_i64())
        .unwrap_or(80);
    let mut meta = metadata(w, &name);
    let annotations = string_map(i.get("annotations"));
    if !annotations.is_empty() {
        meta["annotations"] = Json::Object(annotations);
    }
    let mut spec = json!({
        "rules": [{"host": host, "http": {"paths": [{
            "path": i.get("path").as_str().unwrap_or("/"),
            "pathType": i.get("path_type").as_str().unwrap_or("Prefix"),
            "backend": {"service": {"name": name, "port": {"number": port}}},
        }]}}],
    });
    if let Some(class) = text(i.get("class_name")) {
        spec["ingressClassName"] = json!(class);
    }
    if let Some(secret) = text(i.get("tls_secret")) {
        spec["tls"] = json!([{"hosts": [host], "secretName": secret}]);
    }
    Some(
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}),
    )
}
/// Whether two renderings are the same objects, as the API server would
/// store them: quantities compare by amount (`1` is `1000m`).
pub fn same_objects(a: &[Json], b: &[Json]) -> bool {
    a.len() == b.len() && a.iter().map(canonical).eq(b.iter().map(canonical))
}

fn canonical(object: &Json) -> Json {
    let mut object = object.clone();
    if let Some(containers) = object
        .pointer_mut("/spec/template/spec/containers")
        .and_then(Json::as_array_mut)
    {
        for c in containers {
            for kind in ["requests", "limits"] {
                if let Some(amounts) = c
                    .pointer_mut(&format!("/resources/{kind}"))
                    .and_then(Json::as_object_mut)
                {
                    for amount in amounts.values_mut() {
                        if let Some(n) = amount.as_str().and_then(parse_quantity) {
                            *amount = Json::String(n.to_string());
                        }
                    }
                }
            }
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_are_left_to_the_autoscaler() {
        let w = Value::object([
            ("name", "api".into()),
            ("namespace", "apps".into()),
            ("image", "nginx:1.27".into()),
            ("replicas", Value::Number(3.0)),
            (
                "autoscaling",
                Value::object([
                    ("min_replicas", Value::Number(3.0)),
                    ("max_replicas", Value::Number(5.0)),
                    ("cpu_target", Value::Number(70.0)),
                ]),
            ),
        ]);
        let objects = render(&w);
        let d = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
        assert!(d["spec"]["replicas"].is_null());
        let mut fixed = w.clone();
        fixed.set_attr("autoscaling", Value::Null);
        let d = render(&fixed)
            .into_iter()
            .find(|o| o["kind"] == "Deployment")
            .unwrap();
        assert_eq!(d["spec"]["replicas"], 3);
    }
}
