//! The private data Terraform keeps beside each object, opaque to it: the
//! framework's envelope around the resource's own bytes.
//!
//! Two things travel here besides the resource's data:
//! - **Refusals.** When Terraform replaces an object it plans twice: first
//!   against the prior state, then again against a null prior to plan the
//!   new object, handing the second call the private data the first one
//!   returned. A replacement the user asked for (`-replace=ADDR`) looks to
//!   the provider exactly like a create, so a note carried from the first
//!   call to the second is the only way to refuse, at plan time, a
//!   replacement that would delete an object protected from deletion.
//! - **Write-only values** (the `timeouts` block) from the last apply, which
//!   Terraform never stores in state, so that a delete still honours them.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::diagnostics::{Diagnostic, Diagnostics};

#[derive(Debug, Default, PartialEq)]
pub struct Private {
    /// Why deleting the prior object is refused (between the two planning
    /// calls of a replacement only; never stored in state).
    pub refusals: Vec<(String, String)>,
    /// Write-only values by dotted path (`timeouts.delete`).
    pub write_only: BTreeMap<String, Json>,
    /// The resource's own private data.
    pub resource: Vec<u8>,
}

/// The envelope as JSON. The `genesis` key marks it, so a resource's own
/// bytes from before the envelope existed are never mistaken for one.
#[derive(Serialize, Deserialize)]
struct Envelope {
    genesis: u8,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    refusals: Vec<Refusal>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    write_only: BTreeMap<String, Json>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    resource: String,
}

#[derive(Serialize, Deserialize)]
struct Refusal {
    summary: String,
    detail: String,
}

impl Private {
    pub fn decode(bytes: &[u8]) -> Private {
        let Ok(envelope) = serde_json::from_slice::<Envelope>(bytes) else {
            return Private {
                resource: bytes.to_vec(),
                ..Private::default()
            };
        };
        Private {
            refusals: envelope
                .refusals
                .into_iter()
                .map(|r| (r.summary, r.detail))
                .collect(),
            write_only: envelope.write_only,
            resource: base64::engine::general_purpose::STANDARD
                .decode(envelope.resource)
                .unwrap_or_default(),
        }
    }

    /// Only the resource's bytes when there is nothing else to carry, so a
    /// resource without private data keeps none.
    pub fn encode(&self) -> Vec<u8> {
        if self.refusals.is_empty() && self.write_only.is_empty() {
            return self.resource.clone();
        }
        let envelope = Envelope {
            genesis: 1,
            refusals: self
                .refusals
                .iter()
                .map(|(summary, detail)| Refusal {
                    summary: summary.clone(),
                    detail: detail.clone(),
                })
                .collect(),
            write_only: self.write_only.clone(),
            resource: base64::engine::general_purpose::STANDARD.encode(&self.resource),
        };
        serde_json::to_vec(&envelope).unwrap_or_default()
    }

    pub fn refuse(&mut self, refused: &Diagnostics) {
        self.refusals = refused
            .iter()
            .map(|d| (d.summary.clone(), d.detail.clone()))
            .collect();
    }

    pub fn refusals(&self) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for (summary, detail) in &self.refusals {
            diags.push(Diagnostic::error(summary, detail));
        }
        diags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_round_trips() {
        let mut private = Private {
            resource: b"\x00own".to_vec(),
            ..Private::default()
        };
        private.refuse(&Diagnostic::error("Protected", "Set it to false first.").into());
        private
            .write_only
            .insert("timeouts.delete".into(), Json::from("1h"));
        let back = Private::decode(&private.encode());
        assert_eq!(back, private);
        assert!(back.refusals().has_errors());
    }

    #[test]
    fn plain_resource_bytes_stay_as_they_are() {
        let private = Private::decode(b"{\"resource\":1}");
        assert_eq!(private.resource, b"{\"resource\":1}");
        assert!(private.refusals.is_empty());
        assert_eq!(private.encode(), b"{\"resource\":1}");
        assert!(Private::decode(b"").encode().is_empty());
    }
}
