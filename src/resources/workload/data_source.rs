//! The `genesis_workload` data source: an application in a cluster, made
//! by Genesis or not, read as the resource reads it on import: its image,
//! size, rollout status, live color and addresses, for wiring other
//! configuration (DNS records, monitors) to it.

use crate::framework::data_source::ResourceData;
use crate::framework::diagnostics::Diagnostics;
use crate::framework::field::Field;
use crate::framework::schema::{Attribute, Block, Schema};
use crate::framework::validators;
use crate::framework::value::Value;
use crate::framework::view;
use crate::provider::ProviderContext;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Lookup {
    cluster: Field<String>,
    namespace: Field<String>,
    name: Field<String>,
}

fn schema() -> Schema {
    let read = |name: &str, text: &str| Attribute::string(name).computed().describe(text);
    let attributes = vec![
        Attribute::string("cluster")
            .required()
            .validate(super::super::cluster::cluster_id)
            .describe(
                "The cluster's ID (`genesis_cluster.NAME.id`, or `data.genesis_cluster.NAME.id`).",
            ),
        Attribute::string("namespace")
            .required()
            .validate(validators::dns1123_label)
            .describe("The workload's namespace."),
        Attribute::string("name")
            .required()
            .validate(validators::dns1123_label)
            .describe("The workload's name: its Deployment, StatefulSet, Job or CronJob."),
        read(
            "id",
            "`CLUSTER_ID/NAMESPACE/NAME`, as `genesis_workload`'s `id`.",
        ),
        read("kind", "`Deployment`, `StatefulSet`, `Job` or `CronJob`."),
        read("image", "The container image the pods run."),
        Attribute::number("replicas")
            .computed()
            .describe("The pods asked for; null when an autoscaler owns the count."),
        read(
            "status",
            "`Available`, `Progressing` or `Failed`; for a Job, `Complete` once its run succeeded.",
        ),
        read(
            "load_balancer_ip",
            "The external address of its LoadBalancer Service, once assigned.",
        ),
        read(
            "ingress_address",
            "The address of its Ingress's load balancer, once assigned: an IP on GKE, a DNS name on EKS.",
        ),
        read(
            "live_color",
            "Blue-green: the color (`blue` or `green`) the Service sends traffic to.",
        ),
    ];
    Schema::new(
        0,
        Block::new(
            "An application in a cluster, made by Genesis or not: its image, size, rollout status, live color and addresses.",
            attributes,
        ),
    )
}

fn id_of(_provider: &ProviderContext, config: &Value) -> Result<String, Diagnostics> {
    let lookup = view::as_written::<Lookup>(config)?;
    let part = |f: &Field<String>| f.as_str().unwrap_or_default().to_string();
    Ok(format!(
        "{}/{}/{}",
        part(&lookup.cluster),
        part(&lookup.namespace),
        part(&lookup.name)
    ))
}

pub fn data_source() -> ResourceData {
    ResourceData {
        resource: Box::new(super::Workload),
        schema: schema(),
        id_of,
        rules: |_, _| {},
        noun: "workload",
    }
}
