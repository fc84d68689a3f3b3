//! Fault injection: rules that add latency, answer with an error (429 with
//! Retry-After, 500, 503...), or drop the connection mid-response, per face
//! and per method; and counters that make the next long-running operations
//! fail or never finish.

use serde::{Deserialize, Serialize};

/// One rule, as posted to `/_sim/faults`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRule {
    /// `gke`, `artifactregistry`, `kube` or `*`.
    pub api: String,
    /// A method id (`container.projects.locations.clusters.get`), a prefix
    /// ending in `*`, or `*` for all.
    pub method: String,
    /// Extra latency before answering, in milliseconds.
    pub latency_ms: u64,
    /// Answer with this HTTP status instead of serving the request.
    pub status: Option<u16>,
    /// With status 429 or 503: the Retry-After header, in seconds.
    pub retry_after: Option<u64>,
    /// Send half of the response, then close the connection.
    pub drop_connection: bool,
    /// How many matching requests the rule affects; unlimited when absent.
    pub count: Option<u32>,
    /// The share of matching requests affected, from 0 to 1 (default 1).
    pub rate: Option<f64>,
}

/// What a matching rule does to one request.
#[derive(Debug, Default, PartialEq)]
pub struct Effect {
    pub latency_ms: u64,
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub drop_connection: bool,
}

/// All faults in force.
#[derive(Debug, Default, Serialize)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
    /// The next this many long-running operations end in an error.
    pub fail_operations: u32,
    /// The next this many long-running operations never finish.
    pub stuck_operations: u32,
    #[serde(skip)]
    rng: u64,
}

/// How a new long-running operation will end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Succeed,
    Fail,
    Stick,
}

impl Faults {
    pub fn with_seed(seed: u64) -> Self {
        Faults {
            rng: seed | 1,
            ..Faults::default()
        }
    }

    pub fn clear(&mut self) {
        self.rules.clear();
        self.fail_operations = 0;
        self.stuck_operations = 0;
    }

    fn next_random(&mut self) -> f64 {
        // xorshift64*: reproducible for a given --seed.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        (self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The combined effect of the rules matching a request, consuming
    /// their counts.
    pub fn on_request(&mut self, api: &str, method: &str) -> Effect {
        let mut effect = Effect::default();
        for i in 0..self.rules.len() {
            let rule = &self.rules[i];
            if !(rule.api == "*" || rule.api == api) || !method_matches(&rule.method, method) {
                continue;
            }
            if rule.count == Some(0) {
                continue;
            }
            let rate = rule.rate.unwrap_or(1.0);
            if rate < 1.0 && self.next_random() >= rate {
                continue;
            }
            let rule = &mut self.rules[i];
            if let Some(n) = rule.count.as_mut() {
                *n -= 1;
            }
            effect.latency_ms += rule.latency_ms;
            if effect.status.is_none() && rule.status.is_some() {
                effect.status = rule.status;
                effect.retry_after = rule.retry_after;
            }
            effect.drop_connection |= rule.drop_connection;
        }
        self.rules.retain(|r| r.count != Some(0));
        effect
    }

    /// How the next long-running operation ends.
    pub fn next_outcome(&mut self) -> Outcome {
        if self.stuck_operations > 0 {
            self.stuck_operations -= 1;
            Outcome::Stick
        } else if self.fail_operations > 0 {
            self.fail_operations -= 1;
            Outcome::Fail
        } else {
            Outcome::Succeed
        }
    }
}

fn method_matches(pattern: &str, method: &str) -> bool {
    match pattern {
        "" | "*" => true,
        p => match p.strip_suffix('*') {
            Some(prefix) => method.starts_with(prefix),
            None => p == method,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_rules_expire() {
        let mut f = Faults::with_seed(1);
        f.rules.push(FaultRule {
            api: "gke".into(),
            method: "container.projects.locations.clusters.*".into(),
            status: Some(503),
            count: Some(2),
            ..FaultRule::default()
        });
        assert_eq!(
            f.on_request("gke", "container.projects.locations.clusters.get")
                .status,
            Some(503)
        );
        assert_eq!(f.on_request("artifactregistry", "x").status, None);
        assert_eq!(
            f.on_request("gke", "container.projects.locations.clusters.list")
                .status,
            Some(503)
        );
        assert_eq!(
            f.on_request("gke", "container.projects.locations.clusters.get")
                .status,
            None
        );
        assert!(f.rules.is_empty());
    }

    #[test]
    fn rates_are_reproducible() {
        let hits = |seed| {
            let mut f = Faults::with_seed(seed);
            f.rules.push(FaultRule {
                api: "*".into(),
                method: "*".into(),
                status: Some(500),
                rate: Some(0.5),
                ..FaultRule::default()
            });
            (0..100)
                .filter(|_| f.on_request("gke", "m").status.is_some())
                .count()
        };
        assert_eq!(hits(7), hits(7));
        assert!((20..80).contains(&hits(7)));
    }

    #[test]
    fn operations_fail_or_stick_in_turn() {
        let mut f = Faults {
            fail_operations: 1,
            stuck_operations: 1,
            ..Faults::default()
        };
        assert_eq!(f.next_outcome(), Outcome::Stick);
        assert_eq!(f.next_outcome(), Outcome::Fail);
        assert_eq!(f.next_outcome(), Outcome::Succeed);
    }
}
