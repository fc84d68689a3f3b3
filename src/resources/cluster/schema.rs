//! The schema of `genesis_cluster`, with the defaults that follow from
//! `environment` on each cloud.

use crate::framework::schema::{Attribute, Block, NestedBlock, Schema};
use crate::framework::validators;
use crate::framework::value::Value;

use super::super::common::{self, timeouts_block};

pub const TYPE_NAME: &str = "genesis_cluster";

pub const ENVIRONMENTS: &[&str] = &["dev", "staging", "prod"];
pub const RELEASE_CHANNELS: &[&str] = &["RAPID", "REGULAR", "STABLE", "EXTENDED", "UNSPECIFIED"];
pub const MONITORING_COMPONENTS: &[&str] = &[
    "SYSTEM_COMPONENTS",
    "APISERVER",
    "SCHEDULER",
    "CONTROLLER_MANAGER",
    "STORAGE",
    "HPA",
    "POD",
    "DAEMONSET",
    "DEPLOYMENT",
    "STATEFULSET",
    "CADVISOR",
    "KUBELET",
    "DCGM",
    "JOBSET",
];
pub const LOGGING_COMPONENTS: &[&str] = &[
    "SYSTEM_COMPONENTS",
    "WORKLOADS",
    "APISERVER",
    "SCHEDULER",
    "CONTROLLER_MANAGER",
];
pub const POD_SECURITY_LEVELS: &[&str] = &["privileged", "baseline", "restricted"];
/// Namespaces every cluster has and Kubernetes itself manages.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Settings whose default follows from `environment` (and the cloud:
/// a setting one cloud does not have is null on the other).
pub struct EnvironmentDefaults {
    pub deletion_protection: bool,
    pub gke: GkeDefaults,
    pub eks: EksDefaults,
}

pub struct GkeDefaults {
    pub release_channel: &'static str,
    pub enable_private_cluster: bool,
    pub enable_binary_authorization: bool,
    pub enable_managed_prometheus: bool,
}

pub struct EksDefaults {
    /// The API's private endpoint inside the VPC.
    pub endpoint_private_access: bool,
    /// Envelope encryption of Kubernetes secrets with a KMS key.
    pub secrets_encryption: bool,
    /// Control-plane log types sent to CloudWatch.
    pub log_types: &'static [&'static str],
}

pub fn environment_defaults(environment: &str) -> EnvironmentDefaults {
    match environment {
        "prod" => EnvironmentDefaults {
            deletion_protection: true,
            gke: GkeDefaults {
                release_channel: "STABLE",
                enable_private_cluster: true,
                enable_binary_authorization: true,
                enable_managed_prometheus: true,
            },
            eks: EksDefaults {
                endpoint_private_access: true,
                secrets_encryption: true,
                log_types: &["api", "audit", "authenticator"],
            },
        },
        "staging" => EnvironmentDefaults {
            deletion_protection: false,
            gke: GkeDefaults {
                release_channel: "REGULAR",
                enable_private_cluster: true,
                enable_binary_authorization: false,
                enable_managed_prometheus: true,
            },
            eks: EksDefaults {
                endpoint_private_access: true,
                secrets_encryption: false,
                log_types: &["api", "audit"],
            },
        },
        _ => EnvironmentDefaults {
            deletion_protection: false,
            gke: GkeDefaults {
                release_channel: "RAPID",
                enable_private_cluster: false,
                enable_binary_authorization: false,
                enable_managed_prometheus: false,
            },
            eks: EksDefaults {
                endpoint_private_access: false,
                secrets_encryption: false,
                log_types: &[],
            },
        },
    }
}

/// GKE settings with a fixed default (null on EKS).
pub const GKE_FIXED_DEFAULTS: &[(&str, bool)] = &[
    ("enable_workload_identity", true),
    ("enable_network_policy", true),
    ("enable_shielded_nodes", true),
];
pub const GKE_DEFAULT_LOGGING: &[&str] = &["SYSTEM_COMPONENTS", "WORKLOADS"];
pub const GKE_DEFAULT_MONITORING: &[&str] = &["SYSTEM_COMPONENTS"];

/// The add-ons every EKS cluster gets unless `eks.addons` says otherwise:
/// the EKS add-ons EKS clusters need for node groups, metrics-server,
/// which serves the resource metrics HorizontalPodAutoscalers scale on,
/// and the Cluster Autoscaler, which resizes node groups (EKS has no
/// add-on for it: Genesis installs it). GKE has both built in.
pub const EKS_ADDONS: &[&str] = &[
    "vpc-cni",
    "kube-proxy",
    "coredns",
    "eks-pod-identity-agent",
    "aws-ebs-csi-driver",
    "metrics-server",
    "cluster-autoscaler",
    "aws-load-balancer-controller",
];
pub const EKS_SUPPORT_TYPES: &[&str] = &["STANDARD", "EXTENDED"];

/// The add-ons an EKS cluster gets when `eks.addons` is left out: all of
/// them, or on Auto Mode, which runs pod and service networking, DNS,
/// block storage and pod identity itself, metrics-server alone.
pub fn default_addons(auto_mode: bool) -> &'static [&'static str] {
    if auto_mode {
        &["metrics-server"]
    } else {
        EKS_ADDONS
    }
}

pub const EKS_LOG_TYPES: &[&str] = &[
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];
pub const EKS_AUTHENTICATION_MODES: &[&str] = &["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"];

/// The default control-plane range of a private cluster.
pub const DEFAULT_MASTER_CIDR: &str = "172.16.0.0/28";

/// The schema, built once: validation and planning read it on every
/// call, and building it (descriptions, validators) costs more than the
/// rules it serves.
pub fn schema() -> &'static Schema {
    static SCHEMA: std::sync::LazyLock<Schema> = std::sync::LazyLock::new(build_schema);
    &SCHEMA
}

fn build_schema() -> Schema {
    let attributes = vec![
        Attribute::string("id")
            .computed()
            .describe("The cluster's ID: `projects/PROJECT/locations/LOCATION/clusters/NAME` on GCP, the cluster ARN on AWS. Node pools and workloads name their cluster by this ID."),
        Attribute::string("name")
            .required()
            .force_new()
            .validate(validators::gke_name)
            .describe("The cluster's name: lowercase letters, digits and hyphens, starting with a letter, at most 40 characters. Changing it replaces the cluster."),
        Attribute::string("description")
            .force_new()
            .describe("A description of the GKE cluster (GCP only). Changing it replaces the cluster (GKE cannot change it in place)."),
        common::cloud_attribute(),
        Attribute::string("project_id")
            .optional_computed()
            .force_new()
            .describe("The Google Cloud project (GCP only). Defaults to the provider's `project`."),
        Attribute::string("region")
            .optional_computed()
            .force_new()
            .describe("The region. Defaults to the provider's `region` (`aws_region` for AWS). A regional GKE cluster runs its control plane and nodes across the region's zones."),
        Attribute::string("zone")
            .force_new()
            .describe("The zone of a zonal GKE cluster (`regional_cluster = false`), e.g. `us-central1-a`. Defaults to the provider's `zone`. Zonal clusters cost less but have a single-zone control plane."),
        Attribute::bool("regional_cluster")
            .default(true)
            .force_new()
            .describe("Whether the GKE cluster is regional (default) or zonal. Changing it replaces the cluster."),
        Attribute::string("environment")
            .default("dev")
            .validate(validators::one_of(ENVIRONMENTS))
            .describe("`dev`, `staging` or `prod`. Sets the defaults below, per cloud; anything set explicitly wins. A setting of the other cloud stays null.\n\n| setting | cloud | dev | staging | prod |\n|---|---|---|---|---|\n| deletion_protection | both | false | false | true |\n| release_channel | gcp | RAPID | REGULAR | STABLE |\n| enable_private_cluster | gcp | false | true | true |\n| enable_binary_authorization | gcp | false | false | true |\n| enable_managed_prometheus | gcp | false | true | true |\n| logging_components | gcp | SYSTEM_COMPONENTS, WORKLOADS | same | same |\n| eks.endpoint_private_access | aws | false | true | true |\n| eks.secrets_encryption | aws | false | false | true |\n| logging_components | aws | none | api, audit | api, audit, authenticator |"),
        Attribute::bool("enable_autopilot")
            .default(false)
            .describe("Let the cloud run the nodes. On GCP a GKE Autopilot cluster: Google makes the nodes the pods need, and a `genesis_node_pool` on it is a custom ComputeClass (GKE refuses node pools there) whose nodes Autopilot makes for the workloads that select the pool; changing it replaces the cluster. On AWS an EKS Auto Mode cluster: EKS launches nodes for pending pods from its `general-purpose` and `system` node pools, and runs the load balancers, EBS volumes and core add-ons itself (so `eks.addons` defaults to none); the roles Genesis makes get the Auto Mode managed policies (AmazonEKSComputePolicy, AmazonEKSBlockStoragePolicy, AmazonEKSLoadBalancingPolicy, AmazonEKSNetworkingPolicy; nodes AmazonEKSWorkerNodeMinimalPolicy and AmazonEC2ContainerRegistryPullOnly). Auto Mode needs `eks.authentication_mode` `API` or `API_AND_CONFIG_MAP`; it is turned on or off in place, and the add-ons a cluster already has stay until `eks.addons` lists fewer (nodes of existing node groups still need them). Auto Mode nodes are billed with an Auto Mode management fee on top of EC2."),
        Attribute::string("release_channel")
            .optional_computed()
            .validate(validators::one_of(RELEASE_CHANNELS))
            .describe("The GKE release channel: `RAPID`, `REGULAR`, `STABLE`, `EXTENDED`, or `UNSPECIFIED` to pin `kubernetes_version`. Default from `environment`."),
        Attribute::string("kubernetes_version")
            .optional_computed()
            .describe("The Kubernetes version of the control plane, e.g. `1.33` (on GKE the minimum version, left out the release channel's default; on EKS the version itself, left out EKS's default, which the state then shows). Upgrades happen in place, one minor version at a time; a bigger step or a downgrade is refused at plan time."),
        Attribute::string("master_version")
            .computed()
            .describe("The Kubernetes version the control plane runs."),
        Attribute::string("network")
            .optional_computed()
            .force_new()
            .describe("The VPC network the GKE cluster is attached to (GCP only; default `default`). On EKS the subnets say it: `eks.subnet_ids`."),
        Attribute::string("subnetwork")
            .optional_computed()
            .force_new()
            .describe("The subnetwork for the GKE cluster's nodes (GCP only; default `default`)."),
        Attribute::bool("enable_private_cluster")
            .optional_computed()
            .force_new()
            .describe("Give nodes internal IP addresses only (GCP only; on EKS the subnets decide). Default from `environment`. Changing it replaces the cluster."),
        Attribute::bool("enable_private_endpoint")
            .default(false)
            .describe("Make the Kubernetes API reachable only from inside the VPC: on GKE requires `enable_private_cluster`; on EKS turns the public endpoint off (and the private one on). Changed in place on both clouds. Genesis itself then needs a route into the VPC to manage namespaces and workloads."),
        Attribute::string("master_ipv4_cidr_block")
            .optional_computed()
            .force_new()
            .validate(validators::cidr_with_prefix(28))
            .describe("The /28 private range of the control plane of a private cluster. Default `172.16.0.0/28` when `enable_private_cluster` is on."),
        Attribute::object_list(
            "master_authorized_networks",
            vec![
                Attribute::string("cidr_block")
                    .required()
                    .validate(validators::cidr)
                    .describe("An IPv4 range allowed to reach the control plane."),
                Attribute::string("display_name").describe("A label for the range."),
            ],
        )
        .describe("Ranges allowed to reach the Kubernetes API (GKE master authorized networks, EKS public access CIDRs). Left out, any address may reach a public endpoint (authenticated as always). Changed in place on both clouds."),
        Attribute::bool("enable_workload_identity")
            .optional_computed()
            .describe("Let Kubernetes service accounts act as Google service accounts (GKE Workload Identity), so pods need no key files. GCP only, default `true`; on EKS the `eks-pod-identity-agent` add-on does this."),
        Attribute::bool("enable_binary_authorization")
            .optional_computed()
            .describe("Enforce Binary Authorization: only attested images run (GCP only). Default from `environment`."),
        Attribute::bool("enable_network_policy")
            .optional_computed()
            .describe("Enforce Kubernetes NetworkPolicy (GCP only, default `true`; Dataplane V2 on Autopilot)."),
        Attribute::bool("enable_shielded_nodes")
            .optional_computed()
            .describe("Use Shielded GKE nodes: secure boot, integrity monitoring (GCP only, default `true`)."),
        Attribute::bool("enable_managed_prometheus")
            .optional_computed()
            .describe("Enable Google Cloud Managed Service for Prometheus (GCP only). Default from `environment`."),
        Attribute::string_set("monitoring_components")
            .optional_computed()
            .validate(monitoring_components)
            .describe("GKE components whose metrics go to Cloud Monitoring (GCP only, default `[\"SYSTEM_COMPONENTS\"]`): any of `SYSTEM_COMPONENTS`, `APISERVER`, `SCHEDULER`, `CONTROLLER_MANAGER`, `STORAGE`, `HPA`, `POD`, `DAEMONSET`, `DEPLOYMENT`, `STATEFULSET`, `CADVISOR`, `KUBELET`, `DCGM`, `JOBSET`."),
        Attribute::string_set("logging_components")
            .optional_computed()
            .describe("Control-plane components whose logs are kept, changed in place. GKE (Cloud Logging): any of `SYSTEM_COMPONENTS`, `WORKLOADS`, `APISERVER`, `SCHEDULER`, `CONTROLLER_MANAGER`, default `SYSTEM_COMPONENTS` and `WORKLOADS`. EKS (CloudWatch log types): any of `api`, `audit`, `authenticator`, `controllerManager`, `scheduler`, default from `environment`."),
        Attribute::string_map("labels")
            .validate(validators::gcp_labels)
            .describe("Labels on the cluster (GCP resource labels, AWS tags)."),
        Attribute::bool("deletion_protection")
            .optional_computed()
            .describe("Refuse to destroy or replace the cluster. Default `true` for `environment = \"prod\"`, else `false`. The check runs at plan time, before any API call, so `terraform destroy` stops with a message instead of failing half-way. On EKS the cluster's own deletion protection is set too (changed in place), so no other tool deletes it either; GKE has no such setting."),
        Attribute::string_list("kubernetes_namespaces")
            .validate(namespace_names)
            .equivalent_when(validators::same_members)
            .describe("Namespaces to create in the cluster once it runs, as in the module (`[\"genesis-agents\", \"monitoring\"]`). Use `namespace` blocks for Pod Security levels, quotas and limits."),
        Attribute::string("service_mesh")
            .validate(validators::one_of(&["istio"]))
            .describe("The service mesh the cluster runs, which Genesis does not install: `istio` labels the namespaces Genesis makes `istio-injection=enabled`, so their pods get the mesh's sidecar. Changed in place; pods get (or lose) the sidecar when they next restart. On GKE, enable Cloud Service Mesh (managed Istio) on the fleet; on EKS, install Istio (istioctl or its Helm charts) with its default revision tagged for injection."),
        Attribute::string("service_mesh_revision")
            .validate(validators::dns1123_label)
            .describe("The Istio revision whose sidecar the namespaces get, for revision-based (canary) upgrades of Istio or a managed revision on GKE: the namespaces are labelled `istio.io/rev=REVISION` instead of `istio-injection=enabled` (Istio lets the injection label win, so only one is set). Needs `service_mesh = \"istio\"`. Changed in place; pods move to the new revision's sidecar when they next restart."),
        super::storage_classes::attribute(),
        super::secret_stores::attribute(),
        Attribute::object("eks", eks_attributes())
            .describe("EKS settings (cloud = \"aws\" only; required there). Each setting says whether EKS changes it in place or replaces the cluster."),
        Attribute::string("endpoint")
            .computed()
            .describe("The host (and port) of the Kubernetes API server, without a scheme on either cloud: the server is `https://ENDPOINT`."),
        Attribute::string("ca_certificate")
            .computed()
            .describe("The cluster's CA certificate (PEM), for clients of the Kubernetes API."),
        Attribute::string("status")
            .computed()
            .describe("The cluster's status as the cloud reports it, e.g. `RUNNING` (GKE) or `ACTIVE` (EKS)."),
        Attribute::string("location")
            .computed()
            .describe("Where the control plane runs: the region of a regional cluster, the zone of a zonal one."),
        Attribute::string("self_link")
            .computed()
            .describe("The cluster's API URL (GKE only)."),
    ];
    let namespace_block = Block::new(
        "A namespace created inside the cluster, labelled for Pod Security admission, with an optional quota and default limits.",
        vec![
            Attribute::string("name")
                .required()
                .validate(validators::dns1123_label)
                .describe("The namespace's name."),
            Attribute::string("pod_security_level")
                .default("baseline")
                .validate(validators::one_of(POD_SECURITY_LEVELS))
                .describe("The Pod Security Standard enforced in the namespace: `privileged`, `baseline` (default) or `restricted`."),
            Attribute::string_map("labels").describe("Extra labels on the namespace."),
            Attribute::object(
                "quota",
                vec![
                    quantity("requests_cpu", "Total CPU requests, e.g. `20`."),
                    quantity("requests_memory", "Total memory requests, e.g. `64Gi`."),
                    quantity("limits_cpu", "Total CPU limits."),
                    quantity("limits_memory", "Total memory limits."),
                    Attribute::number("pods")
                        .validate(validators::int_between(0, 1_000_000))
                        .describe("Maximum number of pods."),
                ],
            )
            .describe("A ResourceQuota for the namespace."),
            Attribute::object(
                "limit_range",
                vec![
                    quantity("default_request_cpu", "CPU request of containers that set none, e.g. `100m`."),
                    quantity("default_request_memory", "Memory request of containers that set none, e.g. `128Mi`."),
                    quantity("default_limit_cpu", "CPU limit of containers that set none."),
                    quantity("default_limit_memory", "Memory limit of containers that set none."),
                ],
            )
            .describe("A LimitRange giving containers default requests and limits."),
        ],
    );
    Schema::new(
        0,
        Block::new(
            "A GKE (Autopilot or Standard, regional or zonal) or EKS cluster with secure defaults: private nodes, workload identity, binary authorization, network policy, shielded nodes and managed Prometheus, plus the namespaces the platform needs.",
            attributes,
        )
        .with_block(NestedBlock::list("namespace", namespace_block))
        .with_block(timeouts_block(&[("create", "45m"), ("update", "60m"), ("delete", "45m")])),
    )
}

fn eks_attributes() -> Vec<Attribute> {
    vec![
        Attribute::string("role_arn")
            .optional_computed()
            .force_new()
            .describe("The IAM role EKS uses to manage the cluster. Left out, Genesis creates `NAME-cluster` with the AmazonEKSClusterPolicy managed policy (and deletes it with the cluster). Changing it replaces the cluster."),
        Attribute::string("node_role_arn")
            .optional_computed()
            .describe("The IAM role of the cluster's node groups (a `genesis_node_pool` may name its own). Left out, Genesis creates `NAME-node` with the AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy and AmazonEC2ContainerRegistryReadOnly managed policies."),
        Attribute::string_list("subnet_ids")
            .required()
            .equivalent_when(validators::same_members)
            .describe("Subnets for the control plane's network interfaces and, by default, the node groups: at least two, in different availability zones. Changed in place."),
        Attribute::string_list("security_group_ids")
            .equivalent_when(validators::same_members)
            .describe("Extra security groups for the control plane's network interfaces. Changed in place."),
        Attribute::bool("endpoint_private_access")
            .optional_computed()
            .describe("Whether the Kubernetes API also has an endpoint inside the VPC, so nodes reach it without leaving it. Default from `environment` (always on with `enable_private_endpoint`). Changed in place."),
        Attribute::string("authentication_mode")
            .default("API")
            .validate(validators::one_of(EKS_AUTHENTICATION_MODES))
            .describe("How IAM principals are mapped to Kubernetes: `API` (access entries, the default), `API_AND_CONFIG_MAP` or `CONFIG_MAP` (the aws-auth ConfigMap). Changed in place, in one direction only (`CONFIG_MAP` -> `API_AND_CONFIG_MAP` -> `API`): going back is refused at plan time. Whoever creates the cluster gets cluster admin through an access entry."),
        Attribute::bool("secrets_encryption")
            .optional_computed()
            .describe("Envelope-encrypt Kubernetes secrets with a KMS key (`kms_key_arn`, or a key Genesis creates and schedules for deletion with the cluster). Default from `environment`. Turning it on happens in place; EKS cannot turn it off, so that replaces the cluster."),
        Attribute::string("kms_key_arn")
            .optional_computed()
            .describe("The KMS key for `secrets_encryption`. Left out, Genesis creates one. Changing it once set replaces the cluster."),
        Attribute::string("ip_family")
            .default("ipv4")
            .force_new()
            .validate(validators::one_of(&["ipv4", "ipv6"]))
            .describe("`ipv4` (default) or `ipv6` addresses for pods and services. Changing it replaces the cluster."),
        Attribute::string("service_ipv4_cidr")
            .optional_computed()
            .force_new()
            .validate(validators::cidr)
            .describe("The range Kubernetes services get addresses from (EKS picks 10.100.0.0/16 or 172.20.0.0/16 when left out). Changing it replaces the cluster."),
        Attribute::string_set("addons")
            .optional_computed()
            .validate(validators::each_one_of(EKS_ADDONS))
            .describe("What Genesis installs in the cluster, in the order EKS needs it (vpc-cni and the pod identity agent before any node group; coredns, the EBS CSI driver and metrics-server once nodes run): the EKS add-ons `vpc-cni`, `kube-proxy`, `coredns`, `eks-pod-identity-agent`, `aws-ebs-csi-driver` and `metrics-server` (the resource metrics a workload's `autoscaling` scales on, which GKE has built in: without it a plan with `autoscaling` on the cluster is refused), and `cluster-autoscaler`, the Kubernetes Cluster Autoscaler (EKS has no add-on for it), which resizes the managed node groups between their pools' `min_nodes` and `max_nodes` as GKE's built-in autoscaler does: Genesis makes its IAM role (`NAME-autoscaler`, allowed to resize only this cluster's node groups), its EKS Pod Identity association (so it needs `eks-pod-identity-agent`) and its Deployment in `kube-system`, at the release of the cluster's Kubernetes version; without it a pool with `enable_autoscaling` is refused at plan time; and `aws-load-balancer-controller`, the AWS Load Balancer Controller (no EKS add-on either), which gives a workload's `ingress` (the `alb` class, made by Genesis as the cluster's default) an internet-facing Application Load Balancer with IP targets, as GKE's built-in controller does: Genesis makes its IAM role (`NAME-lb-controller`, allowed to change and delete only the load balancers, target groups and security groups tagged as this cluster's), its Pod Identity association and its objects in `kube-system` (its two resource definitions, RBAC, a webhook certificate kept in the cluster, a Deployment of two replicas, without its admission webhooks); it is refused on Auto Mode, which runs its own, and its removal is refused while Ingresses of its class are left (their load balancers would stay); without it an `ingress` on the cluster is refused at plan time. Default: all eight. On an Auto Mode cluster (`enable_autopilot`), which runs the core ones' work itself and makes nodes with Karpenter, `metrics-server` alone at create, and afterwards the ones the cluster has (a cluster switched to Auto Mode keeps them for its node groups, the Load Balancer Controller aside): write the list to change it. EKS add-ons cost nothing beyond the nodes their pods run on; the autoscaler asks for 0.1 CPU and 600 MiB of memory there; each load balancer the controller makes is billed by AWS (an ALB's hourly and capacity-unit price)"),
        Attribute::string("support_type")
            .default("STANDARD")
            .validate(validators::one_of(EKS_SUPPORT_TYPES))
            .describe("What EKS does when the cluster's Kubernetes version leaves standard support: `STANDARD` (the default) upgrades it to the next version; `EXTENDED` keeps it up to 12 more months at the extended-support price (six times the control plane's hourly price). EKS's own default is `EXTENDED`; Genesis chooses the one that never bills more by surprise. Changed in place."),
    ]
}

fn quantity(name: &str, description: &str) -> Attribute {
    Attribute::string(name)
        .validate(validators::quantity)
        .equivalent_when(validators::same_quantity)
        .describe(description)
}

fn monitoring_components(v: &Value) -> Result<(), String> {
    for item in v.elements() {
        match item.as_str() {
            Some("WORKLOADS") => {
                return Err("GKE no longer offers WORKLOADS as a monitoring component. For workload metrics, set enable_managed_prometheus = true and add the components you need (e.g. \"POD\", \"DEPLOYMENT\").".into());
            }
            Some(s) if !MONITORING_COMPONENTS.contains(&s) => {
                return Err(format!(
                    "{s:?} is not a GKE monitoring component: use any of {}.",
                    MONITORING_COMPONENTS.join(", ")
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn namespace_names(v: &Value) -> Result<(), String> {
    for item in v.elements() {
        validators::dns1123_label(item)?;
        if let Some(name) = item.as_str()
            && SYSTEM_NAMESPACES.contains(&name)
        {
            return Err(format!(
                "{name:?} exists in every cluster and is managed by Kubernetes: leave it out."
            ));
        }
    }
    Ok(())
}

pub fn is_private_range(cidr: &str) -> bool {
    let Ok((addr, _)) = validators::parse_cidr(cidr) else {
        return true;
    };
    addr.is_private()
}
