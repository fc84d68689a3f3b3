//! How Genesis recognises what it created itself.
//!
//! Every object Genesis creates carries a marker of its origin: the label
//! (GCP), tag (AWS) or annotation (Kubernetes) `genesis-origin`, whose value
//! is a fingerprint of what the create sent. When a create meets "already
//! exists", the object can be the outcome of an earlier attempt of this same
//! create (a response lost with a dropped connection, a retry, a provider
//! killed mid-apply): if it carries the fingerprint of this create, Genesis
//! adopts it and carries on as if its own call had made it. Anything else is
//! someone else's and the create fails with the import hint. The marker is
//! never shown as a label, tag or annotation of the resource.

/// The label or tag key (GCP label keys allow no '/' or '.').
pub const LABEL: &str = "genesis-origin";

/// The Kubernetes annotation key.
pub const ANNOTATION: &str = "genesis-platform.dev/origin";

/// A short digest of what a create sends (FNV-1a, 64 bits, in hex: a valid
/// GCP label value, AWS tag value and annotation). Stable for the same
/// input within a provider version; a create across an upgrade that
/// changed the spec's shape falls back to the import hint.
pub fn fingerprint(what: &impl std::fmt::Debug) -> String {
    let text = format!("{what:?}");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Whether `labels` (or tags, or annotations) mark an object this create
/// made.
pub fn made_by<'a>(
    mut labels: impl Iterator<Item = (&'a String, &'a String)>,
    key: &str,
    fingerprint: &str,
) -> bool {
    labels.any(|(k, v)| k == key && v == fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_tell_inputs_apart() {
        assert_eq!(fingerprint(&("pool", 3)), fingerprint(&("pool", 3)));
        assert_ne!(fingerprint(&("pool", 3)), fingerprint(&("pool", 4)));
        let f = fingerprint(&"x");
        assert!(f.len() == 16 && f.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
