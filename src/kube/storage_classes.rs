//! The StorageClasses a cluster's configuration defines, applied with
//! server-side apply and labelled as Genesis' own. Kubernetes never changes
//! a class's provisioner, parameters, reclaim policy or binding mode: a
//! class whose settings there change is deleted and made again (volumes
//! made from it keep theirs). A class of the same name that Genesis did
//! not make is never taken over.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, ListParams, Patch, PatchParams};
use tokio_util::sync::CancellationToken;

use super::{Classes, FIELD_MANAGER, KubeError, MANAGED_BY, owned, retried};

/// The annotation that makes a class the cluster's default.
pub const DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";

/// A StorageClass as the configuration describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageClassSpec {
    pub name: String,
    pub provisioner: String,
    pub parameters: BTreeMap<String, String>,
    /// `Delete` or `Retain`: what happens to a volume when its claim goes.
    pub reclaim_policy: String,
    /// `WaitForFirstConsumer` or `Immediate`.
    pub volume_binding_mode: String,
    pub allow_expansion: bool,
    /// Claims that name no class get this one.
    pub default: bool,
}

impl StorageClassSpec {
    /// Whether going from `self` to `next` changes what Kubernetes keeps
    /// fixed, so the class must be made again.
    pub fn replaced_by(&self, next: &StorageClassSpec) -> bool {
        self.provisioner != next.provisioner
            || self.parameters != next.parameters
            || self.reclaim_policy != next.reclaim_policy
            || self.volume_binding_mode != next.volume_binding_mode
    }

    /// The object Genesis applies.
    pub fn manifest(&self) -> StorageClass {
        let labels = BTreeMap::from([(MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string())]);
        // Applied as "false" rather than left out, so a class that stops
        // being the default stops at once.
        let annotations = BTreeMap::from([(DEFAULT_CLASS.to_string(), self.default.to_string())]);
        StorageClass {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                labels: Some(labels),
                annotations: Some(annotations),
                ..ObjectMeta::default()
            },
            provisioner: self.provisioner.clone(),
            parameters: Some(self.parameters.clone()),
            reclaim_policy: Some(self.reclaim_policy.clone()),
            volume_binding_mode: Some(self.volume_binding_mode.clone()),
            allow_volume_expansion: Some(self.allow_expansion),
            ..StorageClass::default()
        }
    }

    /// The class as it is in the cluster.
    pub fn of(class: &StorageClass) -> StorageClassSpec {
        let annotations = class.metadata.annotations.clone().unwrap_or_default();
        StorageClassSpec {
            name: class.metadata.name.clone().unwrap_or_default(),
            provisioner: class.provisioner.clone(),
            parameters: class.parameters.clone().unwrap_or_default(),
            reclaim_policy: class
                .reclaim_policy
                .clone()
                .unwrap_or_else(|| "Delete".into()),
            volume_binding_mode: class
                .volume_binding_mode
                .clone()
                .unwrap_or_else(|| "Immediate".into()),
            allow_expansion: class.allow_volume_expansion == Some(true),
            default: annotations.get(DEFAULT_CLASS).map(String::as_str) == Some("true"),
        }
    }
}

/// Makes the cluster's Genesis classes exactly `wanted`.
pub async fn reconcile(
    client: &kube::Client,
    wanted: &[StorageClassSpec],
    stop: &CancellationToken,
) -> Result<(), KubeError> {
    let classes: Api<StorageClass> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for class in wanted {
        let call = format!("applying StorageClass {}", class.name);
        let live = retried(stop, || classes.get_opt(&class.name))
            .await
            .map_err(|e| KubeError::from_kube(&call, e))?;
        if let Some(live) = &live {
            if !owned::is_ours(&live.metadata) {
                return Err(owned::not_ours(
                    "StorageClass",
                    &class.name,
                    "classes the cloud or others manage",
                ));
            }
            if StorageClassSpec::of(live).replaced_by(class) {
                owned::delete(&classes, "StorageClass", &class.name, stop).await?;
            }
        }
        let manifest = Patch::Apply(class.manifest());
        retried(stop, || classes.patch(&class.name, &params, &manifest))
            .await
            .map_err(|e| KubeError::from_kube(&call, e))?;
    }
    let keep: BTreeSet<&str> = wanted.iter().map(|c| c.name.as_str()).collect();
    let existing = managed(client, stop).await?.into_iter().map(|c| c.name);
    owned::delete_dropped(&classes, "StorageClass", existing, &keep, stop).await
}

/// The classes Genesis manages in the cluster, as they are now.
pub async fn managed(
    client: &kube::Client,
    stop: &CancellationToken,
) -> Result<Vec<StorageClassSpec>, KubeError> {
    let classes: Api<StorageClass> = Api::all(client.clone());
    let listing = ListParams::default().labels(&owned::selector());
    let list = retried(stop, || classes.list(&listing))
        .await
        .map_err(|e| KubeError::from_kube("listing StorageClasses", e))?;
    let mut out: Vec<StorageClassSpec> = list
        .items
        .iter()
        .filter(|c| c.metadata.deletion_timestamp.is_none())
        .map(StorageClassSpec::of)
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The cluster's StorageClasses, its own and Genesis's.
pub async fn classes(
    client: &kube::Client,
    stop: &CancellationToken,
) -> Result<Classes, KubeError> {
    let classes: Api<StorageClass> = Api::all(client.clone());
    let all = ListParams::default();
    let list = retried(stop, || classes.list(&all))
        .await
        .map_err(|e| KubeError::from_kube("listing StorageClasses", e))?;
    Ok(Classes::of(
        list.items.iter().map(|c| &c.metadata),
        DEFAULT_CLASS,
    ))
}

/// Whether the class `name` lets its claims grow: `None` when the cluster
/// has no such class.
pub async fn allows_expansion(
    client: &kube::Client,
    name: &str,
    stop: &CancellationToken,
) -> Result<Option<bool>, KubeError> {
    let classes: Api<StorageClass> = Api::all(client.clone());
    let class = retried(stop, || classes.get_opt(name))
        .await
        .map_err(|e| KubeError::from_kube(&format!("reading StorageClass {name}"), e))?;
    Ok(class.map(|c| c.allow_volume_expansion == Some(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> StorageClassSpec {
        StorageClassSpec {
            name: "fast-ssd".into(),
            provisioner: "pd.csi.storage.gke.io".into(),
            parameters: BTreeMap::from([("type".into(), "pd-ssd".into())]),
            reclaim_policy: "Delete".into(),
            volume_binding_mode: "WaitForFirstConsumer".into(),
            allow_expansion: true,
            default: false,
        }
    }

    #[test]
    fn a_class_reads_back_as_it_was_applied() {
        let mut class = fast();
        assert_eq!(StorageClassSpec::of(&class.manifest()), class);
        class.default = true;
        assert_eq!(StorageClassSpec::of(&class.manifest()), class);
    }

    #[test]
    fn only_what_kubernetes_keeps_fixed_remakes_a_class() {
        let class = fast();
        let mut next = class.clone();
        next.allow_expansion = false;
        next.default = true;
        assert!(!class.replaced_by(&next), "changed in place");
        for change in [
            |c: &mut StorageClassSpec| c.reclaim_policy = "Retain".into(),
            |c: &mut StorageClassSpec| c.volume_binding_mode = "Immediate".into(),
            |c: &mut StorageClassSpec| {
                c.parameters.insert("type".into(), "pd-balanced".into());
            },
        ] {
            let mut next = class.clone();
            change(&mut next);
            assert!(class.replaced_by(&next), "{next:?}");
        }
    }
}
