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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addon {
    Istio,
    ExternalSecrets,
}

impl Addon {
    pub const ALL: [Addon; 2] = [Addon::Istio, Addon::ExternalSecrets];

    pub fn groups(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Addon::Istio => &ISTIO,
            Addon::ExternalSecrets => std::slice::from_ref(&EXTERNAL_SECRETS),
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
        let (summary, install) = match self {
            Addon::Istio => (
                "Istio is not installed in the cluster",
                "Genesis does not install Istio: on GKE, enable Cloud Service Mesh for the cluster's fleet; on EKS, install Istio (istioctl install, or its base and istiod Helm charts).",
            ),
            Addon::ExternalSecrets => (
                "The External Secrets Operator is not installed in the cluster",
                "Genesis does not install the operator: install the External Secrets Operator 0.16 or later (its Helm chart, external-secrets/external-secrets), with access to the stores in genesis_cluster.secret_stores (Workload Identity on GKE, EKS Pod Identity or IRSA on EKS).",
            ),
        };
        Diagnostic::error(
            summary,
            format!(
                "`{setting}` is written as objects of {apis}, which the cluster does not serve. {install} Then apply again, or remove `{setting}`."
            ),
        )
    }
}

/// Whether the cluster serves an add-on's APIs (its
/// CustomResourceDefinitions are installed).
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
