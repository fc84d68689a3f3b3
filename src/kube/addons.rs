//! APIs a cluster serves only when something Genesis does not install is
//! there (Istio, the External Secrets Operator): which settings need them,
//! whether a cluster serves them, and what to install when it does not.

use tokio_util::sync::CancellationToken;

use crate::framework::diagnostics::Diagnostic;
use crate::kube::{KubeError, retried};

/// Istio's API groups Genesis writes, with their version.
pub const ISTIO: [(&str, &str); 2] = [("security.istio.io", "v1"), ("networking.istio.io", "v1")];
/// The External Secrets Operator's API group, with its version.
pub const EXTERNAL_SECRETS: (&str, &str) = ("external-secrets.io", "v1");
/// The resource metrics API (metrics-server's), with its version.
pub const METRICS: (&str, &str) = ("metrics.k8s.io", "v1beta1");

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addon {
    Istio,
    ExternalSecrets,
    /// What serves resource metrics to HorizontalPodAutoscalers.
    Metrics,
}

impl Addon {
    /// The add-ons whose objects a workload may own.
    pub const WITH_OBJECTS: [Addon; 2] = [Addon::Istio, Addon::ExternalSecrets];

    pub fn groups(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Addon::Istio => &ISTIO,
            Addon::ExternalSecrets => std::slice::from_ref(&EXTERNAL_SECRETS),
            Addon::Metrics => std::slice::from_ref(&METRICS),
        }
    }

    /// The add-on missing from a cluster, for `setting` (the attribute
    /// that needs it): what it is and what to install.
    pub fn missing(self, setting: &str) -> Diagnostic {
        let apis = self
            .groups()
            .iter()
            .map(|(group, version)| format!("{group}/{version}"))
            .collect::<Vec<_>>()
            .join(", ");
        let written = format!(
            "`{setting}` is written as objects of {apis}, which the cluster does not serve."
        );
        let (summary, why, install) = match self {
            Addon::Istio => (
                "Istio is not installed in the cluster",
                written,
                "Genesis does not install Istio: on GKE, enable Cloud Service Mesh for the cluster's fleet; on EKS, install Istio (istioctl install, or its base and istiod Helm charts).",
            ),
            Addon::ExternalSecrets => (
                "The External Secrets Operator is not installed in the cluster",
                written,
                "Genesis does not install the operator: install the External Secrets Operator 0.16 or later (its Helm chart, external-secrets/external-secrets), with access to the stores in genesis_cluster.secret_stores (Workload Identity on GKE, EKS Pod Identity or IRSA on EKS).",
            ),
            Addon::Metrics => (
                "The cluster serves no resource metrics",
                format!(
                    "`{setting}` makes a HorizontalPodAutoscaler, which scales on the resource metrics of {apis}; the cluster does not serve them, so it would never scale."
                ),
                "On EKS, keep \"metrics-server\" in the genesis_cluster's eks.addons (the default) and Genesis installs it as an EKS add-on; GKE serves them itself; on another cluster, install metrics-server (its Helm chart, metrics-server/metrics-server).",
            ),
        };
        Diagnostic::error(
            summary,
            format!("{why} {install} Then apply again, or remove `{setting}`."),
        )
    }
}

/// Whether the cluster serves an add-on's APIs (its
/// CustomResourceDefinitions are installed, or its APIService answers).
/// An API registered but not answering yet (an add-on starting) is an
/// error, not a no.
pub async fn serves(
    client: &kube::Client,
    addon: Addon,
    stop: &CancellationToken,
) -> Result<bool, KubeError> {
    for (group, version) in addon.groups() {
        let gv = format!("{group}/{version}");
        match retried(stop, || client.list_api_group_resources(&gv)).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(false),
            Err(e) => {
                return Err(KubeError::from_kube(
                    &format!("reading the cluster's {gv} API"),
                    e,
                ));
            }
        }
    }
    Ok(true)
}
