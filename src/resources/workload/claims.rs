//! What a plan may do to a workload's volume claims: they grow (where
//! their StorageClass allows it) but never shrink or change class, and
//! pods a scale-in removes leave their claims behind unless told otherwise.
//! A new claim's class must be one the cluster has (or will have once its
//! plan is applied): one it lacks, or no default for a claim that names
//! none, would leave the claim Pending and its pods with it.

use std::collections::BTreeMap;

use crate::framework::diagnostics::{Diagnostic, Diagnostics, Severity};
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::resource::PlanContext;
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;
use crate::kube::ClassKind;

use super::{Kind, Model, Target, WorkloadSpec, cluster_classes};

/// The pods' claims can grow (the live claims are expanded in place), but
/// never shrink, and their class and access modes are set for good: such
/// changes are refused before anything happens. A claim per pod that is
/// added or removed only changes new claims; existing ones stay.
/// A claim grows only where its StorageClass, as the last read recorded
/// it, allows expansion.
pub(super) fn plan_claims(
    prior: &Value,
    planned: &Value,
    recorded: &Recorded,
    diags: &mut Diagnostics,
) {
    // The prior state is known and whole; the plan may hold unknowns.
    let (Ok(before), Ok(had), Ok(now)) = (
        Model::decode(prior),
        view::as_written::<ClaimsView>(prior),
        view::as_written::<ClaimsView>(planned),
    ) else {
        return;
    };
    let before = &before.spec;
    if now.kind.as_str() != Some(before.kind.name()) {
        return;
    }
    plan_scale_in(before, &now, diags);
    for (name, was) in had.volumes.known().into_iter().flatten() {
        let Some(was) = was.known() else {
            continue;
        };
        let volume = now.volume(name);
        let at = AttributePath::attr("volumes").key(name);
        plan_dropped_claim(before, name, volume, diags);
        let new_size = volume.and_then(|v| v.size.as_ref());
        let (Some(old), Some(new)) = (was.size.as_str(), new_size.known()) else {
            continue;
        };
        let sizes = (
            validators::parse_quantity(old),
            validators::parse_quantity(new),
        );
        if let (Some(a), Some(b)) = sizes
            && b < a
        {
            diags.attribute_error(
                at.join("size"),
                "Volume claims cannot shrink",
                format!("The pods' claims hold {old}; Kubernetes cannot make a claim smaller than it is, so {new} is refused. Keep {old} (or more)."),
            );
        }
        let class = volume.and_then(|v| v.storage_class.as_ref());
        if let ((Some(a), Some(b)), Some(class)) = (sizes, class.known())
            && b > a
            && recorded.expandable.get(class.as_str()) == Some(&false)
        {
            diags.attribute_error(
                at.join("size"),
                "StorageClass does not allow expansion",
                format!("The claims' StorageClass {class:?} does not set allowVolumeExpansion, so Kubernetes refuses to grow them. Allow it first (allow_expansion = true in the cluster's storage_classes, applied), then grow the volume."),
            );
        }
        // Access modes left out are ReadWriteOnce.
        let read_write_once = |modes: &Field<&Vec<Field<String>>>| {
            modes.is_null()
                || modes.known().is_some_and(
                    |m| matches!(m.as_slice(), [Field::Known(x)] if x == "ReadWriteOnce"),
                )
        };
        let modes = (
            was.access_modes.as_ref(),
            volume.and_then(|v| v.access_modes.as_ref()),
        );
        let changed = [
            (
                "storage_class",
                !class.is_unknown() && class != was.storage_class.as_ref(),
            ),
            (
                "access_modes",
                !modes.1.is_unknown()
                    && modes.0 != modes.1
                    && !(read_write_once(&modes.0) && read_write_once(&modes.1)),
            ),
        ];
        for (setting, _) in changed.into_iter().filter(|(_, changed)| *changed) {
            diags.attribute_error(
                at.join(setting),
                "Claims keep their class and access modes",
                format!("The pods' claims were made with this {setting}, which a claim cannot change. To move the data, create a volume with another name, copy the data, then remove this one."),
            );
        }
    }
}

/// A sized volume removed from a Deployment, Job or CronJob leaves the
/// claim its pods shared (and its data) unless told otherwise: the plan
/// says which it does. (A StatefulSet's claims per pod stay either way.)
fn plan_dropped_claim(
    before: &WorkloadSpec,
    volume: &str,
    now: Field<&VolumeView>,
    diags: &mut Diagnostics,
) {
    let Some((_, claim, _)) = before.shared_claims().find(|(v, _, _)| *v == volume) else {
        return;
    };
    if now.and_then(|v| v.size.as_ref()).is_set() || now.is_unknown() {
        return;
    }
    // The claim was made with the retention applied then, which decides.
    let what = if before.keeps_claims() {
        "keeps it and its data: delete it with kubectl when it is no longer needed, or apply volume_retention = { when_deleted = \"Delete\" } before removing the volume"
    } else {
        "deletes it and its data (volume_retention.when_deleted = \"Delete\")"
    };
    diags.push(
        Diagnostic::warning(
            "A volume's claim is no longer used",
            format!("The pods no longer mount {volume}; its PersistentVolumeClaim {claim} was theirs. This apply {what}."),
        )
        .at(AttributePath::attr("volumes").key(volume)),
    );
}

/// A StatefulSet scaled in keeps the claims of the pods it removes, unless
/// told otherwise: the plan says which.
fn plan_scale_in(before: &WorkloadSpec, planned: &ClaimsView, diags: &mut Diagnostics) {
    let (Some(was), Some(now)) = (before.replicas, planned.replicas.known()) else {
        return;
    };
    let now = *now as i64;
    let when_scaled = planned
        .volume_retention
        .known()
        .and_then(|r| r.when_scaled.as_str());
    let kept = when_scaled != Some("Delete");
    let claims: Vec<String> = before
        .volumes
        .iter()
        .filter(|(volume, v)| {
            v.makes_claim()
                && planned
                    .volume(volume)
                    .and_then(|v| v.size.as_ref())
                    .is_set()
        })
        .map(|(volume, _)| format!("{}N", before.pod_claim_prefix(volume)))
        .collect();
    if before.kind != Kind::StatefulSet || now >= was || !kept || claims.is_empty() {
        return;
    }
    let name = &before.name;
    let ordinals = if now + 1 == was {
        format!("{now}")
    } else {
        format!("{now} to {}", was - 1)
    };
    diags.push(
        Diagnostic::warning(
            "Volume claims are kept",
            format!(
                "Scaling {name} from {was} to {now} removes pods {ordinals}; their claims ({}) stay with their data, and a scale-out reuses them. volume_retention = {{ when_scaled = \"Delete\" }} deletes them instead.",
                claims.join(", ")
            ),
        )
        .at(AttributePath::attr("replicas")),
    );
}

/// Destroying a workload keeps the claims Genesis made for it, unless told
/// otherwise: the plan says which, and how a workload of the same name
/// takes them back.
pub(super) fn plan_destroy(spec: &WorkloadSpec, diags: &mut Diagnostics) {
    if !spec.keeps_claims() {
        return;
    }
    let claims = spec.claim_names();
    let each = if spec.kind == Kind::StatefulSet {
        "one per pod"
    } else {
        "shared by its pods"
    };
    if claims.is_empty() {
        return;
    }
    diags.push(Diagnostic::warning(
        "Volume claims are kept",
        format!(
            "Destroying {} {}/{} keeps its PersistentVolumeClaims ({}, {each}) and their data: a workload of the same name reuses them. To delete them with the workload, apply volume_retention = {{ when_deleted = \"Delete\" }} first, or delete them with kubectl.",
            spec.kind.name(),
            spec.namespace,
            spec.name,
            claims.join(", ")
        ),
    ));
}

/// What a workload knows of its cluster beyond its own objects, recorded in
/// its private data on every read and apply, because plans cannot call the
/// cluster: whether each StorageClass its claims name lets claims grow.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Recorded {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    expandable: BTreeMap<String, bool>,
    /// This instance's claim on its objects (`origin::CLAIM_ANNOTATION`);
    /// none in state written before claims (its objects carry none either).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) claim: Option<String>,
}

impl Recorded {
    pub(super) fn decode(private: &[u8]) -> Recorded {
        serde_json::from_slice(private).unwrap_or_default()
    }

    /// The record after asking the cluster about the classes `spec`'s
    /// claims name (the previous answers when the cluster did not answer),
    /// with `spec`'s claim on its objects.
    pub(super) async fn observe(
        client: &kube::Client,
        spec: &WorkloadSpec,
        stop: &tokio_util::sync::CancellationToken,
        previous: &[u8],
    ) -> Vec<u8> {
        let mut expandable = BTreeMap::new();
        for class in spec.volumes.values().filter(|v| v.size.is_some()) {
            let Some(name) = class
                .storage_class
                .as_ref()
                .filter(|n| !expandable.contains_key(*n))
            else {
                continue;
            };
            match crate::kube::storage_classes::allows_expansion(client, name, stop).await {
                Ok(Some(allowed)) => {
                    expandable.insert(name.clone(), allowed);
                }
                Ok(None) => {}
                Err(_) => {
                    expandable = Recorded::decode(previous).expandable;
                    break;
                }
            }
        }
        let claim = spec.owner_claim.clone();
        serde_json::to_vec(&Recorded { expandable, claim }).unwrap_or_default()
    }
}

/// What the claim rules and the class check read of a workload.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ClaimsView {
    cluster: Field<String>,
    kubeconfig_path: Field<String>,
    kubeconfig_context: Field<String>,
    kind: Field<String>,
    replicas: Field<f64>,
    volume_retention: Field<RetentionView>,
    volumes: Field<BTreeMap<String, Field<VolumeView>>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct RetentionView {
    when_scaled: Field<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct VolumeView {
    size: Field<String>,
    storage_class: Field<String>,
    access_modes: Field<Vec<Field<String>>>,
}

impl ClaimsView {
    /// The volume `name`: unknown while the volumes are.
    fn volume(&self, name: &str) -> Field<&VolumeView> {
        self.volumes
            .as_ref()
            .and_then(|volumes| volumes.get(name).map_or(Field::Null, Field::as_ref))
    }

    /// The claim volumes with a known class (or none), by name.
    fn claims(&self) -> BTreeMap<&str, Option<&str>> {
        self.volumes
            .known()
            .into_iter()
            .flatten()
            .filter_map(|(name, v)| {
                let v = v.known().filter(|v| v.size.is_set())?;
                match &v.storage_class {
                    Field::Unknown => None,
                    class => Some((name.as_str(), class.known().map(String::as_str))),
                }
            })
            .collect()
    }
}

/// New claims whose class the cluster lacks, or that name none where it
/// has no default (EKS marks none since 1.30, Auto Mode has none), are
/// refused once the cluster exists; through a kubeconfig it is a warning.
/// Classes the cluster's plan in this run makes count as there. The
/// cluster's classes are listed once per process.
pub(super) async fn check_classes(ctx: &PlanContext<'_>, planned: &Value, diags: &mut Diagnostics) {
    let Ok(view) = view::as_written::<ClaimsView>(planned) else {
        return;
    };
    let prior = view::as_written::<ClaimsView>(ctx.prior).unwrap_or_default();
    let had = prior.claims();
    let runs = view
        .cluster
        .known()
        .and_then(|c| ctx.provider.planned.runs(c))
        .unwrap_or_default();
    let unsure: Vec<(&str, Option<&str>)> = view
        .claims()
        .into_iter()
        .filter(|(name, _)| !had.contains_key(name))
        .filter(|(_, class)| match class {
            Some(c) => !runs.storage_classes.iter().any(|n| n == c),
            None => !runs.default_storage_class,
        })
        .collect();
    if unsure.is_empty() {
        return;
    }
    let Some(target) = Target::planned(
        &view.cluster,
        &view.kubeconfig_path,
        &view.kubeconfig_context,
    ) else {
        return;
    };
    let Some(classes) = cluster_classes(ctx, &target, planned, ClassKind::Storage).await else {
        return;
    };
    let pending = "the claim would stay Pending, and the pods that mount it with it";
    for (name, class) in unsure {
        let at = AttributePath::attr("volumes").key(name);
        let mut d = match class {
            Some(c) if !classes.has(c) => Diagnostic::error(
                "No such StorageClass in the cluster",
                format!(
                    "The cluster has no StorageClass {c:?} (it has {}): {pending}. Name one it has, or add {c:?} to the genesis_cluster's storage_classes.",
                    classes.names.join(", ")
                ),
            )
            .at(at.join("storage_class")),
            None if classes.default.is_none() => Diagnostic::error(
                "The cluster has no default StorageClass",
                format!(
                    "volumes[{name:?}] names no storage_class, and the cluster marks none as its default (EKS marks none since Kubernetes 1.30, and Auto Mode has none): {pending}. Add a class with default = true to the genesis_cluster's storage_classes (on EKS: `gp3 = {{ type = \"gp3\", default = true }}`), or name one in storage_class."
                ),
            )
            .at(at),
            _ => continue,
        };
        if target.cluster.is_none() {
            d.severity = Severity::Warning;
        }
        diags.push(d);
    }
}
