//! The simulated Job controller: a run's pod starts, then after the
//! rollout time succeeds (Complete), or, when its image matches a failing
//! pattern, exits with an error, and the Job fails once more pods have
//! failed than its backoff limit allows (BackoffLimitExceeded), as the
//! real controller reports it; a pod whose claims cannot bind stays
//! Pending, unscheduled, and the run waits. CronJobs start Jobs in
//! `cron_jobs`.

use std::time::Instant;

use serde_json::{Value as Json, json};

use super::claims;
use super::controllers::{
    Containers, Memory, Settings, cannot_pull, hash, keys_under, now, pod_status, pod_suffix,
    same_status,
};
use super::objects::Objects;
use super::resources;

pub fn run(objects: &mut Objects, memory: &mut Memory, settings: &Settings) {
    let keys = keys_under(objects, "batch/jobs/", &mut memory.jobs);
    for key in keys {
        let Some(job) = objects.objects.get(&key).cloned() else {
            continue;
        };
        let finished = job["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True");
        if finished || !job["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let ns = job["metadata"]["namespace"].as_str().unwrap_or_default();
        let placed = claims::schedulable(
            objects,
            ns,
            &job["spec"]["template"]["spec"],
            &settings.platform,
        );
        // The run starts when its pod is placed.
        let started = *memory.jobs.entry(key.clone()).or_insert_with(Instant::now);
        if !placed {
            memory.jobs.insert(key.clone(), Instant::now());
        }
        let failing = cannot_pull(&job["spec"]["template"], settings);
        let done = placed && started.elapsed() >= settings.rollout_time;
        let start_time = job["status"]["startTime"]
            .as_str()
            .map_or_else(now, str::to_string);
        let limit = job["spec"]["backoffLimit"].as_i64().unwrap_or(6);
        let mut status = json!({
            "startTime": start_time,
            "ready": 0,
            "terminating": 0,
            "uncountedTerminatedPods": {},
        });
        let outcome = match (done, failing) {
            (false, _) => {
                let outcome = if placed {
                    Outcome::Running
                } else {
                    Outcome::Unschedulable
                };
                sync_pod(objects, &job, 0, outcome, settings);
                status["active"] = json!(1);
                None
            }
            (true, false) => {
                sync_pod(objects, &job, 0, Outcome::Succeeded, settings);
                status["succeeded"] = json!(1);
                status["completionTime"] = json!(now());
                Some((
                    "Complete",
                    "SuccessCriteriaMet",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                ))
            }
            (true, true) => {
                // Each failed pod is replaced until the limit is passed;
                // a few stand for them all.
                let failed = limit + 1;
                for attempt in 0..failed.min(3) {
                    sync_pod(objects, &job, attempt, Outcome::Failed, settings);
                }
                status["failed"] = json!(failed);
                Some((
                    "Failed",
                    "FailureTarget",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                ))
            }
        };
        if let Some((kind, target, reason, message)) = outcome {
            let condition = |t: &str| json!({"type": t, "status": "True", "reason": reason, "message": message, "lastProbeTime": now(), "lastTransitionTime": now()});
            status["conditions"] = json!([condition(target), condition(kind)]);
        }
        if !same_status(&job["status"], &status) {
            objects.controller_write(&key, |o| o["status"] = status);
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    /// Its claims cannot bind: the scheduler cannot place it.
    Unschedulable,
    Running,
    Succeeded,
    Failed,
}

/// The run's pod for one attempt, in the state the outcome gives it.
fn sync_pod(
    objects: &mut Objects,
    job: &Json,
    attempt: i64,
    outcome: Outcome,
    settings: &Settings,
) {
    let Some(pods) = resources::find("", "v1", "pods") else {
        return;
    };
    let ns = job["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = job["metadata"]["name"].as_str().unwrap_or_default();
    let uid = &job["metadata"]["uid"];
    let pod_name = format!("{name}-{}", pod_suffix(hash(&json!([uid, attempt]))));
    let key = format!("/pods/{ns}/{pod_name}");
    let template = &job["spec"]["template"];
    if !objects.objects.contains_key(&key) {
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": pod_name,
                "labels": template["metadata"]["labels"],
                "ownerReferences": [{
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": name,
                    "uid": uid,
                    "controller": true,
                    "blockOwnerDeletion": true,
                }],
            },
            "spec": template["spec"],
        });
        objects.controller_create(pods, ns, pod);
    }
    let (phase, state) = match outcome {
        Outcome::Unschedulable => {
            let status = pod_status(&template["spec"], Containers::Unschedulable, settings);
            if objects
                .objects
                .get(&key)
                .is_some_and(|p| p["status"]["conditions"] != status["conditions"])
            {
                objects.controller_write(&key, |p| p["status"] = status);
            }
            return;
        }
        Outcome::Running => ("Running", json!({"running": {"startedAt": now()}})),
        Outcome::Succeeded => (
            "Succeeded",
            json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now(), "finishedAt": now()}}),
        ),
        Outcome::Failed => (
            "Failed",
            json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now(), "finishedAt": now()}}),
        ),
    };
    let statuses: Vec<Json> = template["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": outcome == Outcome::Running, "started": outcome == Outcome::Running, "restartCount": 0, "state": state})
        })
        .collect();
    let status = json!({"phase": phase, "containerStatuses": statuses, "qosClass": "BestEffort"});
    let same = objects
        .objects
        .get(&key)
        .is_some_and(|p| p["status"]["phase"] == phase);
    if !same {
        objects.controller_write(&key, |p| p["status"] = status);
    }
}
