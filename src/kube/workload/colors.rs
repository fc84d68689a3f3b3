//! Releases with no controller to install (blue-green and canary): the
//! workload's Deployment runs as two, `NAME-blue` and `NAME-green`, whose
//! pods carry their color as a label. The Service and the autoscaler
//! follow the live color. A new version goes to the other color, and the
//! Service switches to it once all its pods are ready (after a canary's
//! steps, in which it selects both); the previous color stays scaled until
//! a time written on it, so that switching back starts no pods.
//!
//! Everything else renders and reads back as for one Deployment: the
//! colors are added to the rendering (`colored`) and taken off what is read
//! (`uncolor`), so the model never sees them.

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use serde_json::{Value as Json, json};
use tokio_util::sync::CancellationToken;

use super::{Observed, api};
use crate::framework::validators::parse_duration;
use crate::kube::{KubeError, retried};
use crate::resources::workload::Release;

/// The pod label that tells the colors apart.
pub const COLOR_LABEL: &str = "genesis.dev/color";
/// On a color's Deployment: the identity of its pod template, to tell
/// whether it already runs the version asked for.
const TEMPLATE: &str = "genesis.dev/template";
/// On a color's Deployment: the configuration's `rollout`, for import.
const ROLLOUT: &str = "genesis.dev/rollout";
/// On the Service while a canary's steps send traffic to both colors: the
/// live one.
const LIVE: &str = "genesis.dev/live-color";
/// On the previous color's Deployment: until when it stays scaled.
const KEEP_UNTIL: &str = "genesis.dev/keep-until";
/// Beside `KEEP_UNTIL`: the template the color ran when it was marked. A
/// release that puts a new version on that color changes its template, so
/// the copy is no longer the previous version (the release is unfinished).
const KEPT_TEMPLATE: &str = "genesis.dev/kept-template";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Blue,
    Green,
}

impl Color {
    pub const BOTH: [Color; 2] = [Color::Blue, Color::Green];

    pub fn name(self) -> &'static str {
        match self {
            Color::Blue => "blue",
            Color::Green => "green",
        }
    }

    pub fn other(self) -> Color {
        match self {
            Color::Blue => Color::Green,
            Color::Green => Color::Blue,
        }
    }

    fn parse(s: &str) -> Option<Color> {
        Color::BOTH.into_iter().find(|c| c.name() == s)
    }

    /// The color's Deployment.
    pub fn deployment(self, workload: &str) -> String {
        format!("{workload}-{}", self.name())
    }
}

/// What a release by color adds to the workload's objects, as (kind,
/// name), for removing them: both colors' Deployments and the preview
/// Service.
pub fn objects(workload: &str) -> Vec<(String, String)> {
    Color::BOTH
        .into_iter()
        .map(|c| ("Deployment".to_string(), c.deployment(workload)))
        .chain([("Service".to_string(), preview(workload))])
        .collect()
}

/// The preview Service's name.
pub fn preview(workload: &str) -> String {
    format!("{workload}-preview")
}

/// Whether a rendered object is the preview Service.
pub fn is_preview(object: &Json) -> bool {
    let workload = object["metadata"]["labels"][super::NAME_LABEL]
        .as_str()
        .unwrap_or_default();
    object["kind"] == "Service" && object["metadata"]["name"] == preview(workload).as_str()
}

/// The label selector of a color's pods.
pub fn pods(workload: &str, color: &str) -> String {
    format!("{}={workload},{COLOR_LABEL}={color}", super::NAME_LABEL)
}

/// How many times the containers of a color's pods have restarted.
pub async fn restarts(
    client: &kube::Client,
    namespace: &str,
    (workload, color): (&str, Color),
    stop: &CancellationToken,
) -> Result<i64, KubeError> {
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(client.clone(), namespace);
    let params = kube::api::ListParams::default().labels(&pods(workload, color.name()));
    let list = retried(stop, || api.list(&params))
        .await
        .map_err(|e| KubeError::from_kube("listing the new version's pods", e))?;
    Ok(list
        .items
        .iter()
        .filter_map(|p| p.status.as_ref()?.container_statuses.as_ref())
        .flatten()
        .map(|c| i64::from(c.restart_count))
        .sum())
}

/// A pod template's identity: equal templates, equal identities.
fn template_id(template: &Json) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, template.to_string().as_bytes());
    digest.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The rendered objects with the Deployment as `color` runs it, and the
/// Service and the autoscaler on that color.
pub fn colored(objects: &[Json], color: Color, release: &Release) -> Vec<Json> {
    let routed = routed_by_mesh(objects);
    // The preview reaches the new version alone, inside the cluster.
    let preview = objects
        .iter()
        .find(|o| o["kind"] == "Service")
        .filter(|_| release.preview)
        .map(|service| {
            let (meta, spec) = (&service["metadata"], &service["spec"]);
            let ports: Vec<Json> = spec["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let mut port = p.clone();
                    port.as_object_mut().map(|p| p.remove("nodePort"));
                    port
                })
                .collect();
            let mut selector = spec["selector"].clone();
            selector[COLOR_LABEL] = color.name().into();
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": preview(meta["name"].as_str().unwrap_or_default()),
                    "namespace": meta["namespace"],
                    "labels": meta["labels"],
                },
                "spec": {"type": "ClusterIP", "ports": ports, "selector": selector},
            })
        });
    objects
        .iter()
        .map(|object| {
            let mut o = object.clone();
            match o["kind"].as_str() {
                Some("Deployment") => {
                    let name = o["metadata"]["name"].as_str().unwrap_or_default();
                    o["metadata"]["name"] = color.deployment(name).into();
                    let annotations = &mut o["metadata"]["annotations"];
                    annotations[TEMPLATE] = template_id(&object["spec"]["template"]).into();
                    annotations[ROLLOUT] =
                        serde_json::to_string(release).unwrap_or_default().into();
                    o["spec"]["selector"]["matchLabels"][COLOR_LABEL] = color.name().into();
                    o["spec"]["template"]["metadata"]["labels"][COLOR_LABEL] = color.name().into();
                }
                // Through the mesh, the Service reaches both colors and
                // the VirtualService picks one.
                Some("Service") if routed => o = shared(&o, color),
                Some("Service") => o["spec"]["selector"][COLOR_LABEL] = color.name().into(),
                Some("VirtualService") => o = super::mesh::weighted(&o, &all_to(color)),
                Some("HorizontalPodAutoscaler") => {
                    let target = &mut o["spec"]["scaleTargetRef"]["name"];
                    *target = color.deployment(target.as_str().unwrap_or_default()).into();
                }
                _ => {}
            }
            o
        })
        .chain(preview)
        .collect()
}

/// Whether the mesh routes between the colors (a VirtualService does),
/// rather than the Service's selector.
pub fn routed_by_mesh(objects: &[Json]) -> bool {
    objects.iter().any(|o| o["kind"] == "VirtualService")
}

/// The VirtualService's weights that send all the traffic to `color`.
pub fn all_to(color: Color) -> [(Color, i64); 2] {
    [(color, 100), (color.other(), 0)]
}

/// The Service sending traffic to both colors' pods, while a canary's
/// steps share it out by pod count; it names the live color meanwhile.
pub fn shared(service: &Json, live: Color) -> Json {
    let mut service = service.clone();
    if let Some(selector) = service["spec"]["selector"].as_object_mut() {
        selector.remove(COLOR_LABEL);
    }
    service["metadata"]["annotations"][LIVE] = live.name().into();
    service
}

/// The workload's objects for comparing two configurations: a blue-green
/// one in one color (either would do), so that its release settings count.
pub fn comparable(spec: &crate::resources::workload::WorkloadSpec) -> Vec<Json> {
    let objects = super::render(spec);
    match &spec.rollout {
        Some(release) if spec.releases_by_color() => colored(&objects, Color::Blue, release),
        _ => objects,
    }
}

async fn get(
    client: &kube::Client,
    namespace: &str,
    kind: &'static str,
    object: String,
    stop: &CancellationToken,
) -> Result<Option<Json>, KubeError> {
    let Some(api) = api(client, kind, namespace) else {
        return Ok(None);
    };
    retried(stop, || api.get_opt(&object))
        .await
        .map(|o| o.map(|o| serde_json::to_value(o).unwrap_or_default()))
        .map_err(|e| KubeError::from_kube(&format!("reading {kind} {object}"), e))
}

/// What the cluster says of a blue-green workload's colors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Colors {
    /// The color the Service sends traffic to; `None` before the first
    /// switch (or for a workload that was not blue-green).
    pub live: Option<Color>,
    /// Each color's Deployment, when it exists.
    pub blue: Option<Json>,
    pub green: Option<Json>,
}

impl Colors {
    /// Reads the Service's color and both Deployments.
    pub async fn read(
        client: &kube::Client,
        namespace: &str,
        name: &str,
        stop: &CancellationToken,
    ) -> Result<Colors, KubeError> {
        let (service, colors) = tokio::try_join!(
            get(client, namespace, "Service", name.to_string(), stop),
            Colors::read_deployments(client, namespace, name, stop),
        )?;
        Ok(Colors {
            live: Colors::live_in(service.as_ref()),
            ..colors
        })
    }

    /// Reads both Deployments; `live` is left to the caller, who has read
    /// the Service (`live_in`).
    pub async fn read_deployments(
        client: &kube::Client,
        namespace: &str,
        name: &str,
        stop: &CancellationToken,
    ) -> Result<Colors, KubeError> {
        let (blue, green) = tokio::try_join!(
            get(
                client,
                namespace,
                "Deployment",
                Color::Blue.deployment(name),
                stop
            ),
            get(
                client,
                namespace,
                "Deployment",
                Color::Green.deployment(name),
                stop
            ),
        )?;
        Ok(Colors {
            live: None,
            blue,
            green,
        })
    }

    /// The color a Service sends traffic to: the one it selects, or
    /// (sharing it in a canary step, or through the mesh) the one marked
    /// live.
    pub fn live_in(service: Option<&Json>) -> Option<Color> {
        let s = service?;
        let selected = s["spec"]["selector"][COLOR_LABEL].as_str();
        selected
            .or(s["metadata"]["annotations"][LIVE].as_str())
            .and_then(Color::parse)
    }

    pub fn deployment(&self, color: Color) -> Option<&Json> {
        match color {
            Color::Blue => self.blue.as_ref(),
            Color::Green => self.green.as_ref(),
        }
    }

    /// The color that gets `objects`' Deployment: the live one when it
    /// already runs that pod template, else the other one.
    pub fn target(&self, objects: &[Json]) -> Color {
        let wanted = objects
            .iter()
            .find(|o| o["kind"] == "Deployment")
            .map(|d| template_id(&d["spec"]["template"]));
        match self.live {
            Some(live) if self.deployment(live).and_then(template_of) == wanted => live,
            Some(live) => live.other(),
            None => Color::Blue,
        }
    }

    /// The color that is not live, when it still has pods asked of it.
    pub fn scaled_previous(&self) -> Option<(Color, &Json)> {
        let previous = self.live?.other();
        let d = self.deployment(previous)?;
        (d["spec"]["replicas"].as_i64().unwrap_or(1) > 0).then_some((previous, d))
    }

    /// Until when the previous color stays scaled: its mark, when it still
    /// runs the version it was marked with.
    pub fn previous_kept_until(&self) -> Option<String> {
        let (_, d) = self.scaled_previous()?;
        let annotations = &d["metadata"]["annotations"];
        let until = annotations[KEEP_UNTIL].as_str()?;
        // Marks from before KEPT_TEMPLATE existed are taken as they are.
        let kept = annotations[KEPT_TEMPLATE]
            .as_str()
            .is_none_or(|t| Some(t) == annotations[TEMPLATE].as_str());
        kept.then(|| until.to_string())
    }

    /// Whether a release was left unfinished (an apply killed or stopped
    /// in a canary's steps, or before a switch): the color that is not live
    /// has pods, but is not the previous version kept for a rollback; it
    /// runs a version that is neither live nor in the state, and may share
    /// the traffic.
    pub fn unfinished(&self) -> bool {
        self.scaled_previous().is_some() && self.previous_kept_until().is_none()
    }

    /// The previous color, when its time to stay scaled has passed.
    pub fn expired_previous(&self, now: Timestamp) -> Option<Color> {
        let until = self.previous_kept_until()?;
        let passed = until.parse::<Timestamp>().is_ok_and(|t| t <= now);
        passed.then(|| self.live.map(Color::other)).flatten()
    }
}

fn template_of(deployment: &Json) -> Option<String> {
    deployment["metadata"]["annotations"][TEMPLATE]
        .as_str()
        .map(str::to_string)
}

/// When the previous version is to be scaled down, `keep_previous` from
/// now, as the annotation and `previous_kept_until` write it.
pub fn kept_until(now: Timestamp, keep_previous: &str) -> String {
    let seconds = parse_duration(keep_previous).unwrap_or(0.0);
    let until = now
        .checked_add(SignedDuration::from_secs_f64(seconds))
        .unwrap_or(now);
    until
        .round(k8s_openapi::jiff::Unit::Second)
        .unwrap_or(until)
        .to_string()
}

/// Marks the previous color's Deployment with the time it stays scaled
/// until, before the Service leaves it.
pub async fn keep(
    client: &kube::Client,
    namespace: &str,
    deployment: (&str, Option<&Json>),
    until: &str,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let (deployment, live) = deployment;
    let template = live.and_then(template_of);
    let marked = json!({"metadata": {"annotations": {KEEP_UNTIL: until, KEPT_TEMPLATE: template}}});
    update(
        client,
        (namespace, deployment),
        Change::Object(marked),
        stop,
    )
    .await
}

/// Sets a color's pod count through the scale subresource, so that the
/// applied configuration (which leaves the count to the autoscaler) does
/// not own it.
pub async fn scale(
    client: &kube::Client,
    namespace: &str,
    deployment: &str,
    replicas: i64,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let count = json!({"spec": {"replicas": replicas}});
    update(client, (namespace, deployment), Change::Scale(count), stop).await
}

/// A merge patch to a color's Deployment or to its scale subresource.
enum Change {
    Object(Json),
    Scale(Json),
}

/// Writes `change` as an update of Genesis's rather than as part of its
/// applied configuration.
async fn update(
    client: &kube::Client,
    (namespace, deployment): (&str, &str),
    change: Change,
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let Some(api) = api(client, "Deployment", namespace) else {
        return Ok(());
    };
    let params = kube::api::PatchParams {
        field_manager: Some(crate::kube::FIELD_MANAGER.into()),
        ..Default::default()
    };
    let written = match &change {
        Change::Object(patch) => {
            let patch = kube::api::Patch::Merge(patch);
            retried(stop, || api.patch(deployment, &params, &patch))
                .await
                .map(|_| ())
        }
        Change::Scale(patch) => {
            let patch = kube::api::Patch::Merge(patch);
            retried(stop, || api.patch_scale(deployment, &params, &patch))
                .await
                .map(|_| ())
        }
    };
    let what = match change {
        Change::Object(_) => "marking",
        Change::Scale(_) => "scaling",
    };
    written.map_err(|e| KubeError::from_kube(&format!("{what} Deployment {deployment}"), e))
}

/// What a read of a workload released by color reports beside its
/// objects.
#[derive(Clone, Debug, PartialEq)]
pub struct Released {
    pub live: Color,
    /// The `rollout` setting the live color was applied with.
    pub setting: Release,
    pub previous_kept_until: Option<String>,
    /// A release left unfinished (`Colors::unfinished`).
    pub unfinished: bool,
}

/// Removes Genesis's own annotations, and the annotations with them when
/// nothing else is left.
fn remove_annotations(object: &mut Json, keys: &[&str]) {
    let Some(meta) = object.get_mut("metadata").and_then(Json::as_object_mut) else {
        return;
    };
    if let Some(annotations) = meta.get_mut("annotations").and_then(Json::as_object_mut) {
        for key in keys {
            annotations.remove(*key);
        }
        if annotations.is_empty() {
            meta.remove("annotations");
        }
    }
}

/// Takes the colors off what was read: the live color's Deployment stands
/// as the workload's, the Service's and the autoscaler's references lose
/// their color, and what the colors say is kept beside (`Observed::colors`).
pub fn uncolor(observed: &mut Observed, name: &str, colors: &Colors) {
    let live = colors
        .live
        .filter(|c| colors.deployment(*c).is_some())
        .or_else(|| {
            Color::BOTH
                .into_iter()
                .find(|c| colors.deployment(*c).is_some())
        });
    let Some(live) = live else { return };
    let Some(mut d) = colors.deployment(live).cloned() else {
        return;
    };
    let setting = d["metadata"]["annotations"][ROLLOUT]
        .as_str()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    d["metadata"]["name"] = name.into();
    remove_annotations(&mut d, &[TEMPLATE, ROLLOUT, KEEP_UNTIL, KEPT_TEMPLATE]);
    for labels in [
        "/spec/selector/matchLabels",
        "/spec/template/metadata/labels",
    ] {
        if let Some(labels) = d.pointer_mut(labels).and_then(Json::as_object_mut) {
            labels.remove(COLOR_LABEL);
        }
    }
    observed.objects.insert("Deployment", d);
    if let Some(service) = observed.objects.get_mut("Service") {
        if let Some(selector) = service["spec"]["selector"].as_object_mut() {
            selector.remove(COLOR_LABEL);
        }
        remove_annotations(service, &[LIVE]);
    }
    if let Some(vs) = observed.objects.get_mut("VirtualService") {
        *vs = super::mesh::weighted(vs, &all_to(Color::Blue));
    }
    if let Some(hpa) = observed.objects.get_mut("HorizontalPodAutoscaler") {
        hpa["spec"]["scaleTargetRef"]["name"] = name.into();
    }
    let colors = Colors {
        live: Some(live),
        ..colors.clone()
    };
    observed.release = Some(Released {
        live,
        setting,
        previous_kept_until: colors.previous_kept_until(),
        unfinished: colors.unfinished(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendering() -> Vec<Json> {
        vec![
            json!({"kind": "Deployment", "metadata": {"name": "api"}, "spec": {
                "selector": {"matchLabels": {"app.kubernetes.io/name": "api"}},
                "template": {"metadata": {"labels": {"app.kubernetes.io/name": "api"}}, "spec": {"containers": [{"name": "api", "image": "v1"}]}}}}),
            json!({"kind": "Service", "metadata": {"name": "api"}, "spec": {"selector": {"app.kubernetes.io/name": "api"}}}),
            json!({"kind": "HorizontalPodAutoscaler", "metadata": {"name": "api"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}}}),
        ]
    }

    #[test]
    fn a_color_is_added_and_taken_off_again() {
        let objects = rendering();
        let release = Release {
            keep_previous: "30m".into(),
            ..Release::default()
        };
        let green = colored(&objects, Color::Green, &release);
        assert_eq!(green[0]["metadata"]["name"], "api-green");
        assert_eq!(
            green[0]["spec"]["selector"]["matchLabels"][COLOR_LABEL],
            "green"
        );
        assert_eq!(green[1]["spec"]["selector"][COLOR_LABEL], "green");
        assert_eq!(green[2]["spec"]["scaleTargetRef"]["name"], "api-green");

        let colors = Colors {
            live: Some(Color::Green),
            blue: None,
            green: Some(green[0].clone()),
        };
        let mut observed = Observed::of(&green[1..]);
        uncolor(&mut observed, "api", &colors);
        assert_eq!(observed.objects["Deployment"], objects[0]);
        assert_eq!(observed.objects["Service"], objects[1]);
        assert_eq!(observed.objects["HorizontalPodAutoscaler"], objects[2]);
        let release = observed.release.unwrap();
        assert_eq!(
            (release.live, release.setting.keep_previous.as_str()),
            (Color::Green, "30m")
        );
    }

    #[test]
    fn a_new_template_goes_to_the_color_that_is_not_live() {
        let v1 = rendering();
        let mut v2 = rendering();
        v2[0]["spec"]["template"]["spec"]["containers"][0]["image"] = "v2".into();
        let colors = Colors {
            live: Some(Color::Blue),
            blue: Some(colored(&v1, Color::Blue, &Release::default())[0].clone()),
            green: Some(colored(&v2, Color::Green, &Release::default())[0].clone()),
        };
        assert_eq!(
            colors.target(&v1),
            Color::Blue,
            "the live color keeps its own version"
        );
        assert_eq!(colors.target(&v2), Color::Green, "back to the kept version");
        assert_eq!(Colors::default().target(&v1), Color::Blue);
    }

    #[test]
    fn a_color_running_another_version_than_it_was_kept_with_is_an_unfinished_release() {
        let v1 = rendering();
        let mut v3 = rendering();
        v3[0]["spec"]["template"]["spec"]["containers"][0]["image"] = "v3".into();
        let kept = |objects: &[Json]| {
            let mut d = colored(objects, Color::Green, &Release::default())[0].clone();
            d["spec"]["replicas"] = 1.into();
            let template = template_of(&colored(&v1, Color::Green, &Release::default())[0]);
            d["metadata"]["annotations"][KEEP_UNTIL] = "2026-12-02T12:00:00Z".into();
            d["metadata"]["annotations"][KEPT_TEMPLATE] = template.into();
            Colors {
                live: Some(Color::Blue),
                blue: None,
                green: Some(d),
            }
        };
        assert!(!kept(&v1).unfinished(), "the previous version, kept");
        assert!(kept(&v3).unfinished(), "a canary of v3 left on green");
        assert_eq!(kept(&v3).previous_kept_until(), None);
        let mut unmarked = kept(&v1);
        if let Some(d) = unmarked.green.as_mut() {
            d["metadata"]["annotations"] = json!({});
        }
        assert!(unmarked.unfinished(), "a release never switched to");
    }

    #[test]
    fn the_previous_color_expires_at_its_mark() {
        let mut green = colored(&rendering(), Color::Green, &Release::default())[0].clone();
        green["spec"]["replicas"] = 2.into();
        green["metadata"]["annotations"][KEEP_UNTIL] = "2026-12-02T12:00:00Z".into();
        let colors = Colors {
            live: Some(Color::Blue),
            blue: None,
            green: Some(green.clone()),
        };
        let at = |t: &str| t.parse::<Timestamp>().unwrap();
        assert_eq!(colors.expired_previous(at("2026-12-02T11:59:59Z")), None);
        assert_eq!(
            colors.expired_previous(at("2026-12-02T12:00:00Z")),
            Some(Color::Green)
        );
        green["spec"]["replicas"] = 0.into();
        let scaled_down = Colors {
            green: Some(green),
            ..colors
        };
        assert_eq!(scaled_down.previous_kept_until(), None);
        assert!(!scaled_down.unfinished());
        assert_eq!(
            kept_until(at("2026-12-02T11:00:00.4Z"), "1h30m"),
            "2026-12-02T12:30:00Z"
        );
    }
}
