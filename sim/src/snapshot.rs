//! `--state-file`: the simulated world saved as JSON every half second when
//! it changed, and restored at start, clusters' API servers on their old
//! ports with their old CAs, so a demo (and its kubeconfigs) survives a
//! restart.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use tokio::sync::watch;

use crate::faults::Outcome;
use crate::{Sim, artifact_registry, gke, kube};

#[derive(Default, Serialize, Deserialize)]
pub struct Snapshot {
    clusters: BTreeMap<String, Json>,
    operations: BTreeMap<String, SavedOperation>,
    repositories: BTreeMap<String, Json>,
    registry_operations: BTreeMap<String, SavedRegistryOperation>,
    kube: BTreeMap<String, SavedCluster>,
    #[serde(default)]
    eks: Option<crate::eks::Eks>,
    #[serde(default)]
    iam: Option<crate::iam::Iam>,
}

#[derive(Serialize, Deserialize)]
struct SavedOperation {
    body: Json,
    cluster: String,
    effect: gke::Effect,
    outcome: Outcome,
}

#[derive(Serialize, Deserialize)]
struct SavedRegistryOperation {
    body: Json,
    repository: String,
    creates: Option<Json>,
    outcome: Outcome,
}

#[derive(Serialize, Deserialize)]
struct SavedCluster {
    endpoint: String,
    ca_pem: String,
    ca_key_pem: String,
    objects: BTreeMap<String, Json>,
    resource_version: u64,
}

fn take(sim: &Sim) -> Snapshot {
    let world = sim.world();
    Snapshot {
        clusters: world.gke.clusters.clone(),
        operations: world
            .gke
            .operations
            .iter()
            .map(|(k, op)| {
                (
                    k.clone(),
                    SavedOperation {
                        body: op.body.clone(),
                        cluster: op.cluster.clone(),
                        effect: op.effect.clone(),
                        outcome: op.outcome,
                    },
                )
            })
            .collect(),
        repositories: world.artifact_registry.repositories.clone(),
        registry_operations: world
            .artifact_registry
            .operations
            .iter()
            .map(|(k, op)| {
                (
                    k.clone(),
                    SavedRegistryOperation {
                        body: op.body.clone(),
                        repository: op.repository.clone(),
                        creates: op.creates.clone(),
                        outcome: op.outcome,
                    },
                )
            })
            .collect(),
        eks: serde_json::to_value(&world.eks)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok()),
        iam: serde_json::to_value(&world.iam)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok()),
        kube: world
            .kube
            .iter()
            .map(|(k, c)| {
                (
                    k.clone(),
                    SavedCluster {
                        endpoint: c.endpoint.clone(),
                        ca_pem: c.ca_pem.clone(),
                        ca_key_pem: c.ca_key_pem.clone(),
                        objects: c.objects.objects.clone(),
                        resource_version: c.objects.resource_version,
                    },
                )
            })
            .collect(),
    }
}

/// Writes the world to `path` if it changed since `last` (atomically, via a
/// temporary file and a rename).
pub fn save(sim: &Sim, path: &Path, last: &mut String) {
    let Ok(text) = serde_json::to_string(&take(sim)) else {
        return;
    };
    if text == *last {
        return;
    }
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, &text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .is_ok()
    {
        *last = text;
    } else {
        tracing::warn!(path = %path.display(), "cannot write the state file");
    }
}

/// Puts a saved world back and restarts its clusters' API servers.
pub fn restore(sim: &Arc<Sim>, snapshot: Snapshot) -> std::io::Result<()> {
    let mut world = sim.world();
    world.gke.clusters = snapshot.clusters;
    world.gke.operations = snapshot
        .operations
        .into_iter()
        .map(|(k, op)| {
            (
                k,
                gke::Operation {
                    body: op.body,
                    cluster: op.cluster,
                    effect: op.effect,
                    outcome: op.outcome,
                    finish_at: Instant::now(),
                },
            )
        })
        .collect();
    world.artifact_registry.repositories = snapshot.repositories;
    world.artifact_registry.operations = snapshot
        .registry_operations
        .into_iter()
        .map(|(k, op)| {
            (
                k,
                artifact_registry::Operation {
                    body: op.body,
                    repository: op.repository,
                    creates: op.creates,
                    outcome: op.outcome,
                    finish_at: Instant::now(),
                },
            )
        })
        .collect();
    world.eks = snapshot.eks.unwrap_or_default();
    world.iam = snapshot.iam.unwrap_or_default();
    let mut servers = sim.kube_servers.lock().unwrap_or_else(|e| e.into_inner());
    for (name, saved) in snapshot.kube {
        let port = saved
            .endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let ca = Some((saved.ca_pem.as_str(), saved.ca_key_pem.as_str()));
        // The old port if it is free, else a new one (published anew).
        let started =
            kube::prepare_with(&name, port, ca).or_else(|_| kube::prepare_with(&name, 0, ca))?;
        let (stop, stopped) = watch::channel(false);
        kube::serve(
            sim.clone(),
            name.clone(),
            started.listener,
            started.tls,
            stopped,
        );
        servers.insert(name.clone(), stop);
        let mut cluster = started.cluster;
        cluster.objects = kube::objects::Objects::restore(saved.objects, saved.resource_version);
        if let Some(c) = world.gke.clusters.get_mut(&name)
            && c["endpoint"]
                .as_str()
                .is_some_and(|e| e != cluster.endpoint)
        {
            c["endpoint"] = Json::String(cluster.endpoint.clone());
        }
        if let Some(c) = world.eks.clusters.get_mut(&name) {
            c["endpoint"] = Json::String(format!("https://{}", cluster.endpoint));
        }
        world.kube.insert(name, cluster);
    }
    Ok(())
}
