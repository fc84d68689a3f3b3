//! The Kubernetes protobuf encoding of request bodies, for the kinds
//! kubectl's generators send that way (`kubectl create namespace`,
//! `create serviceaccount`, `create configmap`, `create secret generic`):
//! the `k8s\0` magic, a `runtime.Unknown` envelope naming the kind, and the
//! object's message, decoded into the JSON the rest of the simulator
//! works on. Field numbers are those of k8s.io/api's generated.proto.
//! Other kinds are refused with 415, as before; responses are JSON, which
//! kubectl's Accept header allows.

use base64::Engine as _;
use serde_json::{Map, Value as Json, json};

use super::objects::KubeError;

const MAGIC: &[u8] = b"k8s\0";

/// One field of a message: its number and its wire value.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of a message, in order; None when it is malformed.
fn fields(mut buf: &[u8]) -> Option<Vec<(u64, Wire<'_>)>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let value = match key & 7 {
            0 => Wire::Varint(varint(&mut buf)?),
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                if len > buf.len() {
                    return None;
                }
                let (bytes, rest) = buf.split_at(len);
                buf = rest;
                Wire::Bytes(bytes)
            }
            // Fixed 64- and 32-bit values: none in these kinds, skipped.
            1 => {
                buf = buf.get(8..)?;
                continue;
            }
            5 => {
                buf = buf.get(4..)?;
                continue;
            }
            _ => return None,
        };
        out.push((key >> 3, value));
    }
    Some(out)
}

fn text(bytes: &[u8]) -> Option<Json> {
    std::str::from_utf8(bytes).ok().map(|s| json!(s))
}

/// A `map<string, string>` (or `map<string, bytes>`, base64 as in JSON)
/// entry into `into`.
fn map_entry(bytes: &[u8], into: &mut Map<String, Json>, binary: bool) -> Option<()> {
    let (mut key, mut value) = (String::new(), Json::String(String::new()));
    for (n, w) in fields(bytes)? {
        match (n, w) {
            (1, Wire::Bytes(b)) => key = std::str::from_utf8(b).ok()?.to_string(),
            (2, Wire::Bytes(b)) if binary => {
                value = json!(base64::engine::general_purpose::STANDARD.encode(b))
            }
            (2, Wire::Bytes(b)) => value = text(b)?,
            _ => {}
        }
    }
    into.insert(key, value);
    Some(())
}

/// Adds the entry to the map at `object[name]`.
fn add_entry(object: &mut Map<String, Json>, name: &str, bytes: &[u8], binary: bool) -> Option<()> {
    let map = object
        .entry(name)
        .or_insert_with(|| json!({}))
        .as_object_mut()?;
    map_entry(bytes, map, binary)
}

/// ObjectMeta: what a client sets when creating.
fn object_meta(bytes: &[u8]) -> Option<Json> {
    let mut meta = Map::new();
    for (n, w) in fields(bytes)? {
        match (n, w) {
            (1, Wire::Bytes(b)) => _ = meta.insert("name".into(), text(b)?),
            (2, Wire::Bytes(b)) => _ = meta.insert("generateName".into(), text(b)?),
            (3, Wire::Bytes(b)) => _ = meta.insert("namespace".into(), text(b)?),
            (11, Wire::Bytes(b)) => add_entry(&mut meta, "labels", b, false)?,
            (12, Wire::Bytes(b)) => add_entry(&mut meta, "annotations", b, false)?,
            (14, Wire::Bytes(b)) => push(&mut meta, "finalizers", text(b)?),
            _ => {}
        }
    }
    Some(Json::Object(meta))
}

fn push(object: &mut Map<String, Json>, name: &str, value: Json) {
    if let Some(list) = object
        .entry(name)
        .or_insert_with(|| json!([]))
        .as_array_mut()
    {
        list.push(value);
    }
}

/// A `{name: ...}` reference (LocalObjectReference).
fn reference(bytes: &[u8]) -> Option<Json> {
    let mut out = Map::new();
    for (n, w) in fields(bytes)? {
        if let (1, Wire::Bytes(b)) = (n, w) {
            out.insert("name".into(), text(b)?);
        }
    }
    Some(Json::Object(out))
}

/// The object's own message, by kind.
fn object(kind: &str, bytes: &[u8]) -> Option<Json> {
    let mut o = Map::new();
    for (n, w) in fields(bytes)? {
        match (kind, n, w) {
            (_, 1, Wire::Bytes(b)) => _ = o.insert("metadata".into(), object_meta(b)?),
            ("Namespace", 2, Wire::Bytes(b)) => {
                let mut spec = Map::new();
                for (n, w) in fields(b)? {
                    if let (1, Wire::Bytes(f)) = (n, w) {
                        push(&mut spec, "finalizers", text(f)?);
                    }
                }
                o.insert("spec".into(), Json::Object(spec));
            }
            ("ServiceAccount", 3, Wire::Bytes(b)) => {
                push(&mut o, "imagePullSecrets", reference(b)?)
            }
            ("ServiceAccount", 4, Wire::Varint(v)) => {
                _ = o.insert("automountServiceAccountToken".into(), json!(v != 0))
            }
            ("ConfigMap", 2, Wire::Bytes(b)) => add_entry(&mut o, "data", b, false)?,
            ("ConfigMap", 3, Wire::Bytes(b)) => add_entry(&mut o, "binaryData", b, true)?,
            ("ConfigMap", 4, Wire::Varint(v)) | ("Secret", 5, Wire::Varint(v)) => {
                _ = o.insert("immutable".into(), json!(v != 0))
            }
            ("Secret", 2, Wire::Bytes(b)) => add_entry(&mut o, "data", b, true)?,
            ("Secret", 3, Wire::Bytes(b)) => _ = o.insert("type".into(), text(b)?),
            ("Secret", 4, Wire::Bytes(b)) => add_entry(&mut o, "stringData", b, false)?,
            _ => {}
        }
    }
    Some(Json::Object(o))
}

const KINDS: [&str; 4] = ["Namespace", "ServiceAccount", "ConfigMap", "Secret"];

/// A protobuf request body as the JSON object it encodes.
pub fn decode(body: &[u8], content_type: &str) -> Result<Json, KubeError> {
    let unsupported = |what: String| KubeError {
        code: 415,
        reason: "UnsupportedMediaType",
        message: format!(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/apply-patch+yaml, application/merge-patch+json, application/strategic-merge-patch+json; got {content_type} ({what}; genesis-sim decodes protobuf for {})",
            KINDS.join(", ")
        ),
        details: Json::Null,
    };
    let malformed = || KubeError::bad_request("the protobuf body is malformed");
    let envelope = body.strip_prefix(MAGIC).ok_or_else(malformed)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, w) in fields(envelope).ok_or_else(malformed)? {
        match (n, w) {
            (1, Wire::Bytes(type_meta)) => {
                for (n, w) in fields(type_meta).ok_or_else(malformed)? {
                    let Wire::Bytes(b) = w else { continue };
                    let value = String::from_utf8_lossy(b).into_owned();
                    match n {
                        1 => api_version = value,
                        2 => kind = value,
                        _ => {}
                    }
                }
            }
            (2, Wire::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    if !KINDS.contains(&kind.as_str()) || api_version != "v1" {
        return Err(unsupported(format!("{api_version} {kind}")));
    }
    let mut object = object(&kind, raw).ok_or_else(malformed)?;
    object["apiVersion"] = json!(api_version);
    object["kind"] = json!(kind);
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![
            u8::try_from(n << 3 | 2).unwrap(),
            u8::try_from(bytes.len()).unwrap(),
        ];
        out.extend_from_slice(bytes);
        out
    }

    fn entry(key: &str, value: &[u8]) -> Vec<u8> {
        [field(1, key.as_bytes()), field(2, value)].concat()
    }

    /// A ConfigMap as kubectl sends it: envelope, metadata with a label,
    /// string and binary data.
    #[test]
    fn a_configmap_decodes_as_its_json() {
        let meta = [
            field(1, b"settings"),
            field(3, b"apps"),
            field(11, &entry("team", b"web")),
        ]
        .concat();
        let raw = [
            field(1, &meta),
            field(2, &entry("MODE", b"fast")),
            field(3, &entry("blob", &[0, 1, 2])),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"ConfigMap")].concat();
        let body = [MAGIC, &field(1, &type_meta), &field(2, &raw)].concat();
        let object = decode(&body, "application/vnd.kubernetes.protobuf").unwrap();
        assert_eq!(
            object,
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": "apps", "labels": {"team": "web"}},
                "data": {"MODE": "fast"},
                "binaryData": {"blob": "AAEC"},
            })
        );
    }

    #[test]
    fn other_kinds_and_broken_bodies_are_refused() {
        let type_meta = [field(1, b"apps/v1"), field(2, b"Deployment")].concat();
        let body = [MAGIC, &field(1, &type_meta)].concat();
        assert_eq!(decode(&body, "p").unwrap_err().code, 415);
        assert_eq!(decode(b"k8s\0\x0a\x09", "p").unwrap_err().code, 400);
        assert_eq!(decode(b"{}", "p").unwrap_err().code, 400);
    }
}
