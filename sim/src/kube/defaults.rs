//! Server-side defaulting and normalisation, as the recorded API server
//! does it: the values clients see after a write that they never sent.

use serde_json::{Value as Json, json};

use super::objects::KubeError;
use super::quantity;
use super::resources::ResourceType;

/// Fills defaults and puts quantities in canonical form.
pub fn apply(rt: &ResourceType, obj: &mut Json) -> Result<(), KubeError> {
    // Quantities are typed in built-in kinds only: a definition's schema
    // or a custom resource may have maps of those names holding anything.
    if !super::custom::is_definition(rt) && !super::custom::is_custom(rt) {
        normalise_quantities(rt, obj)?;
    }
    match rt.kind {
        "Namespace" => {
            let name = obj["metadata"]["name"].clone();
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
            set_default(obj, &["spec", "finalizers"], json!(["kubernetes"]));
            set_default(obj, &["status", "phase"], json!("Active"));
        }
        "StorageClass" => {
            set_default(obj, &["reclaimPolicy"], json!("Delete"));
            set_default(obj, &["volumeBindingMode"], json!("Immediate"));
        }
        "Deployment" => {
            set_default(obj, &["spec", "replicas"], json!(1));
            set_default(obj, &["spec", "revisionHistoryLimit"], json!(10));
            set_default(obj, &["spec", "progressDeadlineSeconds"], json!(600));
            set_default(obj, &["spec", "strategy", "type"], json!("RollingUpdate"));
            if obj["spec"]["strategy"]["type"] == "RollingUpdate" {
                set_default(
                    obj,
                    &["spec", "strategy", "rollingUpdate", "maxUnavailable"],
                    json!("25%"),
                );
                set_default(
                    obj,
                    &["spec", "strategy", "rollingUpdate", "maxSurge"],
                    json!("25%"),
                );
            }
            // An int32 with `omitempty` in the Go types: zero is not stored.
            drop_zero(&mut obj["spec"], "minReadySeconds");
            pod_spec(&mut obj["spec"]["template"]["spec"]);
            set_default(obj, &["status"], json!({}));
        }
        "StatefulSet" => {
            set_default(obj, &["spec", "replicas"], json!(1));
            set_default(obj, &["spec", "revisionHistoryLimit"], json!(10));
            set_default(obj, &["spec", "podManagementPolicy"], json!("OrderedReady"));
            set_default(
                obj,
                &["spec", "updateStrategy", "type"],
                json!("RollingUpdate"),
            );
            if obj["spec"]["updateStrategy"]["type"] == "RollingUpdate" {
                set_default(
                    obj,
                    &["spec", "updateStrategy", "rollingUpdate", "partition"],
                    json!(0),
                );
            }
            for (policy, value) in [("whenDeleted", "Retain"), ("whenScaled", "Retain")] {
                set_default(
                    obj,
                    &["spec", "persistentVolumeClaimRetentionPolicy", policy],
                    json!(value),
                );
            }
            for claim in obj["spec"]
                .get_mut("volumeClaimTemplates")
                .and_then(Json::as_array_mut)
                .into_iter()
                .flatten()
            {
                claim_defaults(claim);
            }
            drop_zero(&mut obj["spec"], "minReadySeconds");
            pod_spec(&mut obj["spec"]["template"]["spec"]);
            set_default(
                obj,
                &["status"],
                json!({"replicas": 0, "availableReplicas": 0}),
            );
        }
        "PersistentVolumeClaim" => claim_defaults(obj),
        "Job" => {
            // The selector and pod labels tie the pods to this Job only.
            let uid = obj["metadata"]["uid"].clone();
            let name = obj["metadata"]["name"].clone();
            if obj["spec"]["selector"].is_null() {
                obj["spec"]["selector"] =
                    json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
                let labels = &mut obj["spec"]["template"]["metadata"]["labels"];
                for (k, v) in [
                    ("batch.kubernetes.io/controller-uid", &uid),
                    ("batch.kubernetes.io/job-name", &name),
                    ("controller-uid", &uid),
                    ("job-name", &name),
                ] {
                    labels[k] = v.clone();
                }
            }
            set_default(obj, &["spec", "manualSelector"], json!(false));
            for (field, value) in [
                ("completions", json!(1)),
                ("parallelism", json!(1)),
                ("completionMode", json!("NonIndexed")),
                ("suspend", json!(false)),
                ("podReplacementPolicy", json!("TerminatingOrFailed")),
            ] {
                set_default(obj, &["spec", field], value);
            }
            job_spec(&mut obj["spec"]);
            set_default(obj, &["status"], json!({}));
        }
        "CronJob" => {
            set_default(obj, &["spec", "concurrencyPolicy"], json!("Allow"));
            set_default(obj, &["spec", "suspend"], json!(false));
            set_default(obj, &["spec", "successfulJobsHistoryLimit"], json!(3));
            set_default(obj, &["spec", "failedJobsHistoryLimit"], json!(1));
            job_spec(&mut obj["spec"]["jobTemplate"]["spec"]);
            set_default(obj, &["status"], json!({}));
        }
        "Service" => {
            service(obj);
            refuse_cluster_ip_node_ports(rt, obj)?;
        }
        "LimitRange" => limit_range(obj),
        "Secret" if obj["type"].is_null() => obj["type"] = json!("Opaque"),
        "HorizontalPodAutoscaler" => {
            set_default(obj, &["spec", "minReplicas"], json!(1));
            set_default(
                obj,
                &["status"],
                json!({"currentReplicas": 0, "desiredReplicas": 0}),
            );
        }
        "PodDisruptionBudget" => {
            set_default(
                obj,
                &["status"],
                json!({"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}),
            );
        }
        "NetworkPolicy" => {
            if obj["spec"]["policyTypes"].is_null() {
                let mut types = vec![json!("Ingress")];
                if !obj["spec"]["egress"].is_null() {
                    types.push(json!("Egress"));
                }
                obj["spec"]["policyTypes"] = json!(types);
            }
            for rule in ["ingress", "egress"] {
                for r in obj["spec"]
                    .get_mut(rule)
                    .and_then(Json::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    for p in r
                        .get_mut("ports")
                        .and_then(Json::as_array_mut)
                        .into_iter()
                        .flatten()
                    {
                        set_default(p, &["protocol"], json!("TCP"));
                    }
                }
            }
        }
        "Ingress" => {
            for rule in obj["spec"]
                .get_mut("rules")
                .and_then(Json::as_array_mut)
                .into_iter()
                .flatten()
            {
                let paths = rule
                    .get_mut("http")
                    .and_then(|h| h.get_mut("paths"))
                    .and_then(Json::as_array_mut);
                for path in paths.into_iter().flatten() {
                    set_default(path, &["pathType"], json!("ImplementationSpecific"));
                }
            }
            set_default(obj, &["status", "loadBalancer"], json!({}));
        }
        // Parameters are a cluster-scoped object's unless they say
        // otherwise (the real server's SetDefaults_IngressClass).
        "IngressClass" if obj["spec"]["parameters"].is_object() => {
            set_default(obj, &["spec", "parameters", "scope"], json!("Cluster"));
        }
        _ => {}
    }
    Ok(())
}

/// What a Job's spec and a CronJob's job template share: the rest of a
/// Job's defaults come when the CronJob makes one.
fn job_spec(spec: &mut Json) {
    set_default(spec, &["backoffLimit"], json!(6));
    pod_spec(&mut spec["template"]["spec"]);
}

/// A claim, or a StatefulSet's claim template, as the server stores it.
fn claim_defaults(claim: &mut Json) {
    set_default(claim, &["spec", "volumeMode"], json!("Filesystem"));
    set_default(claim, &["status", "phase"], json!("Pending"));
}

fn set_default(obj: &mut Json, path: &[&str], value: Json) {
    let mut node = obj;
    for (i, key) in path.iter().enumerate() {
        if !node.is_object() {
            *node = json!({});
        }
        if i == path.len() - 1 {
            if node[*key].is_null() {
                node[*key] = value;
            }
            return;
        }
        node = &mut node[*key];
    }
}

/// A container limit's missing defaults, as the API server fills them: the
/// default limit from the max, the default request from the default limit,
/// then from the min.
fn limit_range(obj: &mut Json) {
    for item in obj["spec"]["limits"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter(|i| i["type"] == "Container")
    {
        for (from, to) in [
            ("max", "default"),
            ("default", "defaultRequest"),
            ("min", "defaultRequest"),
        ] {
            let Some(source) = item[from].as_object().cloned() else {
                continue;
            };
            for (resource, quantity) in source {
                set_default(item, &[to, resource.as_str()], quantity);
            }
        }
    }
}

/// Removes a field whose Go type is a plain number with `omitempty` when it
/// is zero: the API server's JSON encoding never writes it.
fn drop_zero(obj: &mut Json, key: &str) {
    if let Some(o) = obj.as_object_mut()
        && o.get(key).and_then(Json::as_f64) == Some(0.0)
    {
        o.remove(key);
    }
}

fn pod_spec(spec: &mut Json) {
    if !spec.is_object() {
        return;
    }
    set_default(spec, &["restartPolicy"], json!("Always"));
    set_default(spec, &["terminationGracePeriodSeconds"], json!(30));
    set_default(spec, &["dnsPolicy"], json!("ClusterFirst"));
    set_default(spec, &["securityContext"], json!({}));
    set_default(spec, &["schedulerName"], json!("default-scheduler"));
    // The deprecated alias the server still fills in.
    if let Some(account) = spec["serviceAccountName"].as_str().map(str::to_string) {
        set_default(spec, &["serviceAccount"], json!(account));
    }
    for volume in spec
        .get_mut("volumes")
        .and_then(Json::as_array_mut)
        .into_iter()
        .flatten()
    {
        for source in ["configMap", "secret", "downwardAPI", "projected"] {
            if volume[source].is_object() {
                set_default(&mut volume[source], &["defaultMode"], json!(420));
            }
        }
    }
    for list in ["containers", "initContainers"] {
        for c in spec
            .get_mut(list)
            .and_then(Json::as_array_mut)
            .into_iter()
            .flatten()
        {
            set_default(
                c,
                &["terminationMessagePath"],
                json!("/dev/termination-log"),
            );
            set_default(c, &["terminationMessagePolicy"], json!("File"));
            let latest = c["image"]
                .as_str()
                .is_some_and(|i| !i.contains(':') || i.ends_with(":latest"));
            set_default(
                c,
                &["imagePullPolicy"],
                json!(if latest { "Always" } else { "IfNotPresent" }),
            );
            set_default(c, &["resources"], json!({}));
            for p in c
                .get_mut("ports")
                .and_then(Json::as_array_mut)
                .into_iter()
                .flatten()
            {
                set_default(p, &["protocol"], json!("TCP"));
            }
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                let Some(p) = c.get_mut(probe).filter(|p| p.is_object()) else {
                    continue;
                };
                set_default(p, &["timeoutSeconds"], json!(1));
                set_default(p, &["periodSeconds"], json!(10));
                set_default(p, &["successThreshold"], json!(1));
                set_default(p, &["failureThreshold"], json!(3));
                // Go's `omitempty` on a plain int32: the real server drops
                // `initialDelaySeconds: 0` and never returns it.
                drop_zero(p, "initialDelaySeconds");
                if p["grpc"].is_object() {
                    set_default(&mut p["grpc"], &["service"], json!(""));
                }
                if p["httpGet"].is_object() {
                    set_default(&mut p["httpGet"], &["scheme"], json!("HTTP"));
                }
            }
        }
    }
}

fn service(obj: &mut Json) {
    let spec = &mut obj["spec"];
    set_default(spec, &["type"], json!("ClusterIP"));
    set_default(spec, &["sessionAffinity"], json!("None"));
    set_default(spec, &["ipFamilies"], json!(["IPv4"]));
    set_default(spec, &["ipFamilyPolicy"], json!("SingleStack"));
    set_default(spec, &["internalTrafficPolicy"], json!("Cluster"));
    let external = matches!(spec["type"].as_str(), Some("LoadBalancer" | "NodePort"));
    if external {
        set_default(spec, &["externalTrafficPolicy"], json!("Cluster"));
    }
    if spec["type"] == "LoadBalancer" {
        set_default(spec, &["allocateLoadBalancerNodePorts"], json!(true));
    }
    if spec["clusterIP"] == "None" {
        set_default(spec, &["clusterIPs"], json!(["None"]));
    }
    if spec["clusterIP"].is_null() {
        let n = obj["metadata"]["uid"].as_str().map_or(0, |u| {
            u.bytes()
                .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)))
        });
        let ip = format!("10.0.{}.{}", (n >> 8) % 250, n % 250 + 2);
        obj["spec"]["clusterIP"] = json!(ip);
        obj["spec"]["clusterIPs"] = json!([ip]);
    }
    let spec = &mut obj["spec"];
    let mut next_node_port = 30000
        + (spec["clusterIP"]
            .as_str()
            .map_or(0, |s| s.len() as u64 * 97)
            % 2000);
    for p in spec
        .get_mut("ports")
        .and_then(Json::as_array_mut)
        .into_iter()
        .flatten()
    {
        set_default(p, &["protocol"], json!("TCP"));
        let port = p["port"].clone();
        set_default(p, &["targetPort"], port);
        if external && p["nodePort"].is_null() {
            next_node_port += 1;
            p["nodePort"] = json!(next_node_port);
        }
    }
    set_default(obj, &["status", "loadBalancer"], json!({}));
}

/// Validation after defaulting, as the real server validates: a node port
/// on a Service whose type (given or defaulted) is ClusterIP is refused.
fn refuse_cluster_ip_node_ports(rt: &ResourceType, obj: &Json) -> Result<(), KubeError> {
    if obj["spec"]["type"] != "ClusterIP" {
        return Ok(());
    }
    let causes: Vec<(String, String)> = obj["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, p)| !p["nodePort"].is_null())
        .map(|(i, _)| {
            (
                format!("spec.ports[{i}].nodePort"),
                "Forbidden: may not be used when `type` is 'ClusterIP'".to_string(),
            )
        })
        .collect();
    if causes.is_empty() {
        return Ok(());
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    Err(KubeError::invalid_causes(rt, name, &causes))
}

/// Quantities under resources, quotas and limit ranges, in canonical form.
/// A value that does not parse fails as the real server fails it: a 500
/// from the conversion of the unstructured object.
fn normalise_quantities(rt: &ResourceType, obj: &mut Json) -> Result<(), KubeError> {
    let mut error = None;
    walk_quantities(obj, false, &mut |s| match quantity::canonical(s) {
        Some(c) => Some(c),
        None => {
            error.get_or_insert_with(|| s.to_string());
            None
        }
    });
    match error {
        None => Ok(()),
        Some(_) => {
            let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = obj["metadata"]["name"].as_str().unwrap_or_default();
            Err(KubeError::internal(format!(
                "failed to convert new object ({ns}/{name}; {}, Kind={}) to proper version: unable to convert unstructured object to {}, Kind={}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                rt.api_version(),
                rt.kind,
                rt.api_version(),
                rt.kind
            )))
        }
    }
}

const QUANTITY_MAPS: &[&str] = &[
    "requests",
    "limits",
    "hard",
    "default",
    "defaultRequest",
    "max",
    "min",
    "maxLimitRequestRatio",
];

fn walk_quantities(v: &mut Json, in_map: bool, f: &mut dyn FnMut(&str) -> Option<String>) {
    match v {
        Json::Object(map) => {
            for (k, child) in map.iter_mut() {
                if in_map && let Json::String(s) = child {
                    if let Some(c) = f(s) {
                        *s = c;
                    }
                    continue;
                }
                walk_quantities(child, QUANTITY_MAPS.contains(&k.as_str()), f);
            }
        }
        Json::Array(items) => {
            for item in items {
                walk_quantities(item, false, f);
            }
        }
        _ => {}
    }
}
