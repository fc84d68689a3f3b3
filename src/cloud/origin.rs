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

/// The Kubernetes annotation naming which resource instance holds an
/// object now: a random claim each create makes, kept in the instance's
/// private data and written on every object it applies. A create that
/// adopts objects of the same origin (its own earlier attempt, or another
/// instance with the same configuration that Terraform is deleting in the
/// same apply, as when a `for_each` key is renamed without `moved`) writes
/// its own claim over them, and a delete leaves objects whose claim is not
/// its own: the objects move, and are never deleted under their new owner.
pub const CLAIM_ANNOTATION: &str = "genesis-platform.dev/claim";

/// A new claim: 64 random bits in hex.
pub fn new_claim() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        // No system randomness: the time and process still tell two
        // instances of one apply apart.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        bytes = (now.as_nanos() as u64 ^ u64::from(std::process::id())).to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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

    #[test]
    fn claims_are_new_each_time() {
        let (a, b) = (new_claim(), new_claim());
        assert_ne!(a, b);
        assert!(a.len() == 16 && a.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
