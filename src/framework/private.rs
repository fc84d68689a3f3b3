//! The framework's part of a resource's private data.
//!
//! When Terraform replaces an object it plans twice: first against the prior
//! state, then again against a null prior to plan the new object, handing
//! the second call the private data the first one returned. A replacement
//! the user asked for (`-replace=ADDR`) looks to the provider exactly like a
//! create, so this note carried from the first call to the second is the
//! only way to refuse, at plan time, a replacement that would delete an
//! object protected from deletion. It never reaches the state: `apply` and
//! `read` strip it.

use serde::{Deserialize, Serialize};

use super::diagnostics::{Diagnostic, Diagnostics};

/// Private data holding the reasons why deleting the prior object is
/// refused. Resources never put JSON with this key in their own private
/// data, so the two cannot be confused.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct Note {
    genesis_deletion_refused: Vec<Refusal>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Refusal {
    summary: String,
    detail: String,
}

/// Private data that carries `refusals` to the second planning call.
pub fn with_refusals(refusals: &Diagnostics) -> Vec<u8> {
    let note = Note {
        genesis_deletion_refused: refusals
            .iter()
            .map(|d| Refusal {
                summary: d.summary.clone(),
                detail: d.detail.clone(),
            })
            .collect(),
    };
    serde_json::to_vec(&note).unwrap_or_default()
}

/// The refusals a first planning call left, if `private` holds any.
pub fn refusals(private: &[u8]) -> Option<Diagnostics> {
    let note: Note = serde_json::from_slice(private).ok()?;
    let mut diags = Diagnostics::new();
    for r in note.genesis_deletion_refused {
        diags.push(Diagnostic::error(r.summary, r.detail));
    }
    Some(diags)
}

/// `private` without the framework's note: what the resource keeps.
pub fn strip(private: &[u8]) -> &[u8] {
    if refusals(private).is_some() {
        &[]
    } else {
        private
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_survive_the_round_trip_and_are_stripped() {
        let refused: Diagnostics = Diagnostic::error("Protected", "Set it to false first.").into();
        let private = with_refusals(&refused);
        let back = refusals(&private).expect("a note");
        assert_eq!(back.iter().next().unwrap().summary, "Protected");
        assert!(strip(&private).is_empty());
    }

    #[test]
    fn other_private_data_is_kept() {
        assert_eq!(refusals(b"{\"resource\":1}"), None);
        assert_eq!(strip(b"{\"resource\":1}"), b"{\"resource\":1}");
        assert_eq!(strip(b""), b"");
    }
}
