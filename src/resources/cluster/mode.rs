//! The cluster's mode and the add-ons that follow from it, read from a
//! typed view of the configuration (`framework::view`): `enable_autopilot`
//! is GKE Autopilot or EKS Auto Mode; what follows from it on EKS (access
//! entries, the add-ons it runs itself) is checked and planned here; on
//! GKE a change replaces the cluster, on EKS it is made in place. What the
//! planned cluster runs (resource metrics, pod identity, an ingress
//! controller) is told to the workloads' plans that follow in the same
//! run; the IngressClass Auto Mode needs is made here too.

use super::super::common;
use super::config::ClusterConfig;
use super::schema::{default_addons, schema};
use crate::cloud::aws::{cluster_autoscaler, load_balancer_controller, own_addons};
use crate::cloud::cluster::ObservedCluster;
use crate::framework::diagnostics::{Diagnostic, Diagnostics};
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::value::Value;
use crate::framework::view;
use crate::kube::ingress_classes;
use crate::provider::{ClusterRuns, NodePoolsAs, ProviderContext};

/// What the mode's rules read of a cluster's configuration or plan.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ModeView {
    id: Field<String>,
    cloud: Field<String>,
    enable_autopilot: Field<bool>,
    regional_cluster: Field<bool>,
    enable_workload_identity: Field<bool>,
    enable_shielded_nodes: Field<bool>,
    eks: Field<EksModeView>,
    storage_classes: Field<std::collections::BTreeMap<String, Field<StorageClassView>>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct StorageClassView {
    default: Field<bool>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EksModeView {
    authentication_mode: Field<String>,
    addons: Field<Vec<String>>,
}

impl ModeView {
    fn of(value: &Value) -> Option<ModeView> {
        view::effective(&schema().block, value).ok()
    }

    fn eks(&self) -> bool {
        self.cloud.as_str() == Some("aws")
    }
}

/// What each mode rules out: GKE Autopilot always has Workload Identity
/// and shielded nodes and is regional; EKS Auto Mode maps its nodes to
/// Kubernetes through access entries, which the aws-auth ConfigMap alone
/// does not have.
pub fn validate(config: &Value, diags: &mut Diagnostics) {
    let Some(mode) = ModeView::of(config) else {
        return;
    };
    let gke_autopilot =
        mode.enable_autopilot.known() == Some(&true) && mode.cloud.known().is_some() && !mode.eks();
    if gke_autopilot {
        for (name, setting, why) in [
            (
                "enable_workload_identity",
                &mode.enable_workload_identity,
                "Autopilot clusters always use Workload Identity",
            ),
            (
                "enable_shielded_nodes",
                &mode.enable_shielded_nodes,
                "Autopilot nodes are always shielded",
            ),
        ] {
            if setting.known() == Some(&false) {
                diags.attribute_error(
                    AttributePath::attr(name),
                    "Setting conflicts with Autopilot",
                    format!("{why}: remove `{name} = false` or set enable_autopilot = false."),
                );
            }
        }
        if mode.regional_cluster.known() == Some(&false) {
            diags.attribute_error(
                AttributePath::attr("regional_cluster"),
                "Autopilot clusters are regional",
                "GKE Autopilot clusters are always regional: remove regional_cluster = false or set enable_autopilot = false.",
            );
        }
    }
    let eks = mode.eks.known();
    if mode.eks()
        && mode.enable_autopilot.known() == Some(&true)
        && eks.and_then(|e| e.authentication_mode.as_str()) == Some("CONFIG_MAP")
    {
        diags.attribute_error(
            AttributePath::attr("eks").join("authentication_mode"),
            "Auto Mode needs access entries",
            "EKS Auto Mode (enable_autopilot = true) gives its nodes and controllers access through access entries, which CONFIG_MAP does not have: set authentication_mode to \"API\" (the default) or \"API_AND_CONFIG_MAP\", or set enable_autopilot = false.",
        );
    }
    let Some(addons) = eks.and_then(|e| e.addons.known()) else {
        return;
    };
    // Auto Mode runs the agent itself.
    let agent = addons.iter().any(|a| a == "eks-pod-identity-agent");
    if mode.enable_autopilot.known() == Some(&false) && !agent {
        for addon in own_addons::ALL.iter().filter(|a| a.wanted(addons)) {
            diags.attribute_error(
                AttributePath::attr("eks").join("addons"),
                format!("{} needs the pod identity agent", addon.name),
                format!("Genesis gives {} its IAM role through EKS Pod Identity, which works only where the eks-pod-identity-agent add-on runs: add \"eks-pod-identity-agent\" to eks.addons, or leave {:?} out.", addon.name, addon.name),
            );
        }
    }
    if mode.enable_autopilot.known() == Some(&true) && load_balancer_controller::wanted(addons) {
        diags.attribute_error(
            AttributePath::attr("eks").join("addons"),
            "Auto Mode runs its own load balancer controller",
            "EKS Auto Mode runs an ALB controller, whose `alb` IngressClass Genesis makes with the mode: leave \"aws-load-balancer-controller\" out of eks.addons, or set enable_autopilot = false.",
        );
    }
}

/// The add-ons planned when `eks.addons` is left out: the schema's default
/// for the mode on a new cluster, or when Auto Mode is off. A cluster switched to Auto
/// Mode in place keeps the ones it has (the nodes of its node groups still
/// need them) until the configuration lists fewer. Unknown while the mode
/// is.
pub fn planned_addons(config: &Value, prior: &Value) -> Option<Value> {
    let wanted = ModeView::of(config)?;
    if wanted.eks.known().is_some_and(|e| !e.addons.is_null()) {
        return None;
    }
    let names =
        |items: &[String]| Value::set(items.iter().map(|s| Value::from(s.as_str())).collect());
    Some(match wanted.enable_autopilot {
        Field::Unknown => Value::Unknown,
        Field::Known(true) if !prior.is_null() => {
            let had = ModeView::of(prior)?;
            match had.eks.known().map(|e| &e.addons) {
                // Auto Mode's controller takes over the `alb` class.
                Some(Field::Known(addons)) => names(
                    &addons
                        .iter()
                        .filter(|a| a.as_str() != load_balancer_controller::NAME)
                        .cloned()
                        .collect::<Vec<_>>(),
                ),
                _ => names(&[]),
            }
        }
        Field::Known(auto) => names(&to_strings(default_addons(auto))),
        Field::Null => names(&to_strings(default_addons(false))),
    })
}

/// What the cluster in a plan runs once applied (GKE: metrics and
/// Workload Identity built in; EKS: what its add-ons or Auto Mode run), by
/// its ID: `None` for a cluster not made yet or add-ons not known.
pub fn runs(planned: &Value) -> Option<(String, ClusterRuns)> {
    let view = ModeView::of(planned)?;
    let id = view.id.known()?.clone();
    let classes = view.storage_classes.known();
    let storage_classes: Vec<String> = classes
        .into_iter()
        .flatten()
        .map(|(n, _)| n.clone())
        .collect();
    let default_class = classes
        .into_iter()
        .flatten()
        .any(|(_, c)| c.known().is_some_and(|c| c.default.known() == Some(&true)));
    if !view.eks() {
        let gke = ClusterRuns {
            metrics: true,
            // Workload Identity, on unless turned off.
            pod_identity: view.enable_workload_identity.known() != Some(&false),
            ingress: true,
            node_autoscaler: true,
            storage_classes,
            // GKE's own standard-rwo.
            default_storage_class: true,
            node_pools: if view.enable_autopilot.known() == Some(&true) {
                NodePoolsAs::ComputeClass
            } else {
                NodePoolsAs::CloudPools
            },
        };
        return Some((id, gke));
    }
    let addons = view.eks.known()?.addons.known()?;
    let has = |name: &str| addons.iter().any(|a| a == name);
    let auto_mode = view.enable_autopilot.known() == Some(&true);
    Some((
        id,
        ClusterRuns {
            metrics: has("metrics-server"),
            pod_identity: auto_mode || has("eks-pod-identity-agent"),
            ingress: auto_mode || load_balancer_controller::wanted(addons),
            // Auto Mode makes nodes with Karpenter.
            node_autoscaler: auto_mode || cluster_autoscaler::wanted(addons),
            storage_classes,
            // EKS marks none since 1.30, Auto Mode never did.
            default_storage_class: default_class,
            node_pools: if auto_mode {
                NodePoolsAs::Karpenter
            } else {
                NodePoolsAs::CloudPools
            },
        },
    ))
}

/// EKS Auto Mode's `alb` IngressClass, made with the mode (its load
/// balancer controller takes no Ingress without one) and removed when the
/// mode goes; nothing on GKE, whose controller needs no class.
pub async fn sync_ingress_class(
    provider: &ProviderContext,
    observed: &ObservedCluster,
    config: &ClusterConfig,
) -> Result<(), Diagnostic> {
    if config.cloud != "aws" || observed.endpoint.is_empty() {
        return Ok(());
    }
    let client = common::cluster_client(provider, observed).await?;
    ingress_classes::reconcile_auto_mode(&client, config.enable_autopilot, &provider.stop)
        .await
        .map_err(|e| {
            Diagnostic::error(
                "Failed to set up Auto Mode's IngressClass",
                format!("{e}. The cluster itself is in place; run terraform apply again to retry."),
            )
            .at(AttributePath::attr("enable_autopilot"))
        })
}

fn to_strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// A GKE cluster cannot change mode: switching replaces it. EKS switches
/// in place.
pub fn replaced_by(prior: &Value, planned: &Value) -> Option<AttributePath> {
    let (was, now) = (ModeView::of(prior)?, ModeView::of(planned)?);
    let changed = matches!(
        (was.enable_autopilot.known(), now.enable_autopilot.known()),
        (Some(a), Some(b)) if a != b
    );
    (changed && !now.eks()).then(|| AttributePath::attr("enable_autopilot"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(cloud: &str, autopilot: bool) -> Value {
        let mut v = schema().block.null_object();
        v.set_attr("name", "c".into());
        v.set_attr("cloud", cloud.into());
        v.set_attr("enable_autopilot", autopilot.into());
        v
    }

    #[test]
    fn a_mode_change_replaces_a_gke_cluster_and_not_an_eks_one() {
        assert_eq!(
            replaced_by(&cluster("gcp", false), &cluster("gcp", true)),
            Some(AttributePath::attr("enable_autopilot"))
        );
        assert_eq!(
            replaced_by(&cluster("aws", false), &cluster("aws", true)),
            None
        );
        assert_eq!(
            replaced_by(&cluster("gcp", true), &cluster("gcp", true)),
            None
        );
    }

    #[test]
    fn auto_mode_plans_metrics_alone_at_create_and_keeps_the_rest_after_a_switch() {
        let set = |items: &[&str]| Value::set(items.iter().map(|s| Value::from(*s)).collect());
        let mut eks = Value::object([("subnet_ids", Value::List(vec!["a".into(), "b".into()]))]);
        let mut config = cluster("aws", true);
        config.set_attr("eks", eks.clone());
        assert_eq!(
            planned_addons(&config, &Value::Null),
            Some(set(&["metrics-server"]))
        );
        let mut prior = cluster("aws", false);
        eks.set_attr("addons", set(&["vpc-cni", "kube-proxy"]));
        prior.set_attr("eks", eks);
        assert_eq!(
            planned_addons(&config, &prior),
            Some(set(&["vpc-cni", "kube-proxy"]))
        );
        config.set_attr("enable_autopilot", Value::Unknown);
        assert_eq!(planned_addons(&config, &prior), Some(Value::Unknown));
    }

    #[test]
    fn a_switch_to_auto_mode_drops_the_load_balancer_controller() {
        let set = |items: &[&str]| Value::set(items.iter().map(|s| Value::from(*s)).collect());
        let mut eks = Value::object([("subnet_ids", Value::List(vec!["a".into(), "b".into()]))]);
        let config = {
            let mut c = cluster("aws", true);
            c.set_attr("eks", eks.clone());
            c
        };
        let mut prior = cluster("aws", false);
        eks.set_attr("addons", set(&["vpc-cni", "aws-load-balancer-controller"]));
        prior.set_attr("eks", eks);
        assert_eq!(
            planned_addons(&config, &prior),
            Some(set(&["vpc-cni"])),
            "Auto Mode's own controller takes the alb class"
        );
    }

    fn validated(autopilot: bool, addons: &[&str]) -> Vec<String> {
        let mut config = cluster("aws", autopilot);
        config.set_attr(
            "eks",
            Value::object([
                ("subnet_ids", Value::List(vec!["a".into(), "b".into()])),
                (
                    "addons",
                    Value::set(addons.iter().map(|s| Value::from(*s)).collect()),
                ),
            ]),
        );
        let mut diags = Diagnostics::default();
        validate(&config, &mut diags);
        diags.iter().map(|d| d.summary.clone()).collect()
    }

    #[test]
    fn the_add_ons_genesis_runs_need_the_agent_and_no_auto_mode() {
        assert_eq!(
            validated(false, &["aws-load-balancer-controller"]),
            ["aws-load-balancer-controller needs the pod identity agent"]
        );
        assert_eq!(
            validated(false, &["cluster-autoscaler", "eks-pod-identity-agent"]),
            Vec::<String>::new()
        );
        assert_eq!(
            validated(true, &["aws-load-balancer-controller"]),
            ["Auto Mode runs its own load balancer controller"]
        );
    }

    #[test]
    fn a_planned_cluster_tells_what_it_will_run() {
        let mut gke = cluster("gcp", false);
        assert_eq!(runs(&gke), None, "not made yet");
        gke.set_attr("id", "projects/p/locations/l/clusters/c".into());
        let all = ClusterRuns {
            metrics: true,
            pod_identity: true,
            ingress: true,
            node_autoscaler: true,
            storage_classes: Vec::new(),
            default_storage_class: true,
            node_pools: NodePoolsAs::CloudPools,
        };
        assert_eq!(runs(&gke).map(|(_, r)| r), Some(all.clone()));
        let mut autopilot = gke.clone();
        autopilot.set_attr("enable_autopilot", true.into());
        assert_eq!(
            runs(&autopilot).map(|(_, r)| r.node_pools),
            Some(NodePoolsAs::ComputeClass),
            "Autopilot's pools are ComputeClasses"
        );
        gke.set_attr("enable_workload_identity", false.into());
        let without_identity = ClusterRuns {
            pod_identity: false,
            ..all.clone()
        };
        assert_eq!(runs(&gke).map(|(_, r)| r), Some(without_identity));
        let all = ClusterRuns {
            default_storage_class: false,
            ..all
        };
        let mut eks = cluster("aws", false);
        eks.set_attr("id", "arn:aws:eks:r:1:cluster/c".into());
        let addons = |names: &[&str]| {
            Value::object([(
                "addons",
                Value::set(names.iter().map(|s| Value::from(*s)).collect()),
            )])
        };
        eks.set_attr("eks", addons(&["vpc-cni"]));
        assert_eq!(runs(&eks).map(|(_, r)| r), Some(ClusterRuns::default()));
        // A class of its own marked default is the cluster's default.
        let mut with_class = eks.clone();
        with_class.set_attr(
            "storage_classes",
            Value::Map(
                [(
                    "gp3".to_string(),
                    Value::object([("type", "gp3".into()), ("default", true.into())]),
                )]
                .into(),
            ),
        );
        let runs_with_class = runs(&with_class).map(|(_, r)| r).unwrap();
        assert_eq!(runs_with_class.storage_classes, ["gp3"]);
        assert!(runs_with_class.default_storage_class);
        eks.set_attr("eks", addons(&["eks-pod-identity-agent", "metrics-server"]));
        let without_ingress = ClusterRuns {
            ingress: false,
            node_autoscaler: false,
            ..all.clone()
        };
        assert_eq!(runs(&eks).map(|(_, r)| r), Some(without_ingress));
        eks.set_attr(
            "eks",
            addons(&["eks-pod-identity-agent", "aws-load-balancer-controller"]),
        );
        assert!(
            runs(&eks).is_some_and(|(_, r)| r.ingress),
            "the Load Balancer Controller takes Ingresses"
        );
        eks.set_attr("enable_autopilot", true.into());
        eks.set_attr("eks", addons(&["metrics-server"]));
        assert_eq!(
            runs(&eks).map(|(_, r)| r),
            Some(ClusterRuns {
                node_pools: NodePoolsAs::Karpenter,
                ..all
            }),
            "Auto Mode runs the agent, an ingress controller and Karpenter"
        );
    }
}
