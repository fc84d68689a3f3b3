//! The simulated CronJob controller, in the simulator's time (the wall
//! clock plus what `POST /_sim/clock` advanced it by): the latest time the
//! schedule names since the last run, in the CronJob's time zone, starts a
//! Job `NAME-<minutes since the epoch>` from the job template, as the real
//! controller names it, unless the CronJob is suspended, the start is past
//! `startingDeadlineSeconds`, or `Forbid` finds a run still going
//! (`Replace` deletes it). Finished Jobs beyond the history limits go,
//! oldest first; the status lists the active runs and the last schedule
//! and success times.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value as Json, json};

use super::controllers::{Memory, keys_under};
use super::objects::Objects;
use super::resources;

/// When a schedule runs: the allowed values of each field.
#[derive(Debug, PartialEq)]
pub struct Schedule {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// Whether day of month, day of week were `*` (a restricted one alone
    /// decides; both restricted, either matches).
    any_day: bool,
    any_weekday: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Schedule {
    pub fn parse(text: &str) -> Option<Schedule> {
        let text = match text.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return None;
        };
        let mut weekdays = field(weekday, 0, 7, &WEEKDAYS, 0)?;
        // 7 is Sunday too.
        weekdays[0] |= weekdays[7];
        Some(Schedule {
            minutes: field(minute, 0, 59, &[], 0)?,
            hours: field(hour, 0, 23, &[], 0)?,
            days: field(day, 1, 31, &[], 0)?,
            months: field(month, 1, 12, &MONTHS, 1)?,
            weekdays,
            any_day: day.starts_with('*'),
            any_weekday: weekday.starts_with('*'),
        })
    }

    /// Whether the schedule names this minute, in its time zone.
    fn names(&self, at: &jiff::Zoned) -> bool {
        let day = self.days[at.day() as usize];
        let weekday = self.weekdays[at.weekday().to_sunday_zero_offset() as usize];
        let day_matches = match (self.any_day, self.any_weekday) {
            (false, false) => day || weekday,
            _ => day && weekday,
        };
        self.minutes[at.minute() as usize]
            && self.hours[at.hour() as usize]
            && self.months[at.month() as usize]
            && day_matches
    }

    /// The latest minute in (`after`, `now`] the schedule names, looking
    /// back a year at most.
    pub fn latest(&self, tz: &TimeZone, after: Timestamp, now: Timestamp) -> Option<Timestamp> {
        let minute = 60;
        let mut at =
            Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(minute)).ok()?;
        let oldest = after.as_second().max(now.as_second() - 366 * 24 * 3600);
        while at.as_second() > oldest {
            if self.names(&at.to_zoned(tz.clone())) {
                return Some(at);
            }
            at = Timestamp::from_second(at.as_second() - minute).ok()?;
        }
        None
    }
}

/// The values a field allows, by index up to `max`: lists of `*`, `N`,
/// `A-B`, each with an optional `/STEP`; names for months and weekdays.
fn field(text: &str, min: usize, max: usize, names: &[&str], first: usize) -> Option<Vec<bool>> {
    let value = |s: &str| -> Option<usize> {
        let lower = s.to_ascii_lowercase();
        match names.iter().position(|n| *n == lower) {
            Some(i) => Some(i + first),
            None => s.parse().ok().filter(|v| (min..=max).contains(v)),
        }
    };
    let mut allowed = vec![false; max + 1];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<usize>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `N/STEP` runs from N to the end.
                None if step > 1 => (value(r)?, max),
                None => (value(r)?, value(r)?),
            },
        };
        if from > to {
            return None;
        }
        for v in (from..=to).step_by(step) {
            allowed[v] = true;
        }
    }
    Some(allowed)
}

/// What the controller remembers of a CronJob: the last minute its
/// schedule was checked up to, so each tick looks at new minutes only.
pub type Checked = Timestamp;

pub fn run(objects: &mut Objects, memory: &mut Memory, now: Timestamp) {
    let keys = keys_under(objects, "batch/cronjobs/", &mut memory.cron_jobs);
    for key in keys {
        let Some(cron) = objects.objects.get(&key).cloned() else {
            continue;
        };
        if !cron["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let spec = &cron["spec"];
        let jobs = owned_jobs(objects, &cron);
        let created = timestamp(&cron["metadata"]["creationTimestamp"]).unwrap_or(now);
        let last = timestamp(&cron["status"]["lastScheduleTime"]).unwrap_or(created);
        let checked = memory
            .cron_jobs
            .get(&key)
            .copied()
            .unwrap_or(last)
            .max(last);
        memory.cron_jobs.insert(key.clone(), now);
        let tz = spec["timeZone"]
            .as_str()
            .map_or(Ok(TimeZone::UTC), TimeZone::get)
            .unwrap_or(TimeZone::UTC);
        let due = Schedule::parse(spec["schedule"].as_str().unwrap_or_default())
            .and_then(|s| s.latest(&tz, checked, now));
        let late = |t: Timestamp| {
            spec["startingDeadlineSeconds"]
                .as_i64()
                .is_some_and(|d| now.as_second() - t.as_second() > d)
        };
        let active: Vec<&Json> = jobs.iter().filter(|j| finished(j).is_none()).collect();
        let mut scheduled = None;
        if let Some(t) = due
            && spec["suspend"] != true
            && !late(t)
        {
            match spec["concurrencyPolicy"].as_str() {
                Some("Forbid") if !active.is_empty() => {}
                policy => {
                    if policy == Some("Replace") {
                        for job in &active {
                            remove(objects, job);
                        }
                    }
                    start(objects, &cron, t, &tz);
                    scheduled = Some(t);
                }
            }
        }
        prune(objects, &cron);
        let jobs = owned_jobs(objects, &cron);
        let mut status = json!({
            "active": jobs
                .iter()
                .filter(|j| finished(j).is_none())
                .map(|j| json!({
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": j["metadata"]["name"],
                    "namespace": j["metadata"]["namespace"],
                    "uid": j["metadata"]["uid"],
                    "resourceVersion": j["metadata"]["resourceVersion"],
                }))
                .collect::<Vec<_>>(),
        });
        if status["active"].as_array().is_some_and(Vec::is_empty) {
            status.as_object_mut().map(|s| s.remove("active"));
        }
        let last_schedule = scheduled.map(rfc3339).or_else(|| {
            cron["status"]["lastScheduleTime"]
                .as_str()
                .map(str::to_string)
        });
        if let Some(t) = last_schedule {
            status["lastScheduleTime"] = json!(t);
        }
        let succeeded = jobs
            .iter()
            .filter(|j| finished(j) == Some(true))
            .filter_map(|j| j["status"]["completionTime"].as_str())
            .max();
        if let Some(t) = succeeded {
            status["lastSuccessfulTime"] = json!(t);
        }
        if cron["status"] != status {
            objects.controller_write(&key, |c| c["status"] = status);
        }
    }
}

fn timestamp(v: &Json) -> Option<Timestamp> {
    v.as_str()?.parse().ok()
}

fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The Jobs the CronJob started, oldest first.
fn owned_jobs(objects: &Objects, cron: &Json) -> Vec<Json> {
    let ns = cron["metadata"]["namespace"].as_str().unwrap_or_default();
    let prefix = format!("batch/jobs/{ns}/");
    let uid = &cron["metadata"]["uid"];
    let mut jobs: Vec<Json> = objects
        .objects
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(_, j)| j["metadata"]["ownerReferences"][0]["uid"] == *uid)
        .map(|(_, j)| j.clone())
        .collect();
    jobs.sort_by_key(|j| {
        j["metadata"]["creationTimestamp"]
            .as_str()
            .map(str::to_string)
    });
    jobs
}

/// `Some(true)` for a Job that completed, `Some(false)` for one that
/// failed, `None` while it runs.
fn finished(job: &Json) -> Option<bool> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .filter(|c| c["status"] == "True")
        .find_map(|c| match c["type"].as_str() {
            Some("Complete") => Some(true),
            Some("Failed") => Some(false),
            _ => None,
        })
}

/// Deletes a run as the real controller does: in the background, its pods
/// left to the garbage collector.
fn remove(objects: &mut Objects, job: &Json) {
    let Some(rt) = resources::find("batch", "v1", "jobs") else {
        return;
    };
    let at = |field: &str| job["metadata"][field].as_str().unwrap_or_default();
    // Already gone is what was wanted.
    let _ = objects.delete(
        rt,
        at("namespace"),
        at("name"),
        Some("Background"),
        &Json::Null,
    );
}

/// Starts the run scheduled at `t`.
fn start(objects: &mut Objects, cron: &Json, t: Timestamp, tz: &TimeZone) {
    let Some(rt) = resources::find("batch", "v1", "jobs") else {
        return;
    };
    let ns = cron["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = cron["metadata"]["name"].as_str().unwrap_or_default();
    let template = &cron["spec"]["jobTemplate"];
    let mut annotations = template["metadata"]["annotations"].clone();
    if !annotations.is_object() {
        annotations = json!({});
    }
    annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] = json!(
        t.to_zoned(tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    );
    let job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": format!("{name}-{}", t.as_second() / 60),
            "labels": template["metadata"]["labels"],
            "annotations": annotations,
            "ownerReferences": [{
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "name": name,
                "uid": cron["metadata"]["uid"],
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": template["spec"],
    });
    objects.controller_create(rt, ns, job);
}

/// Deletes the oldest finished Jobs beyond the history limits.
fn prune(objects: &mut Objects, cron: &Json) {
    let jobs = owned_jobs(objects, cron);
    for (outcome, limit, default) in [
        (true, "successfulJobsHistoryLimit", 3),
        (false, "failedJobsHistoryLimit", 1),
    ] {
        let limit = cron["spec"][limit].as_u64().unwrap_or(default) as usize;
        let done: Vec<&Json> = jobs
            .iter()
            .filter(|j| finished(j) == Some(outcome))
            .collect();
        for job in done.iter().take(done.len().saturating_sub(limit)) {
            remove(objects, job);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn schedules_name_minutes_in_their_time_zone() {
        let nightly = Schedule::parse("0 2 * * *").unwrap();
        let paris = TimeZone::get("Europe/Paris").unwrap();
        // 02:00 in Paris in winter is 01:00 UTC.
        assert_eq!(
            nightly.latest(
                &paris,
                at("2026-12-01T00:00:00Z"),
                at("2026-12-02T00:30:00Z")
            ),
            Some(at("2026-12-01T01:00:00Z"))
        );
        assert_eq!(
            nightly.latest(
                &TimeZone::UTC,
                at("2026-12-01T02:00:00Z"),
                at("2026-12-02T01:59:00Z")
            ),
            None
        );
        let weekdays = Schedule::parse("*/15 9-17 * * mon-fri").unwrap();
        // 2026-12-05 is a Saturday.
        assert_eq!(
            weekdays.latest(
                &TimeZone::UTC,
                at("2026-12-04T00:00:00Z"),
                at("2026-12-05T12:00:00Z")
            ),
            Some(at("2026-12-04T17:45:00Z"))
        );
        assert_eq!(Schedule::parse("@daily"), Schedule::parse("0 0 * * *"));
        assert!(Schedule::parse("61 * * * *").is_none());
        assert!(Schedule::parse("* * *").is_none());
        // Both days restricted: either matches (the 1st, or any Sunday).
        let either = Schedule::parse("0 0 1 * sun").unwrap();
        assert_eq!(
            either.latest(
                &TimeZone::UTC,
                at("2026-12-02T00:00:00Z"),
                at("2026-12-07T00:00:00Z")
            ),
            Some(at("2026-12-06T00:00:00Z"))
        );
    }
}
