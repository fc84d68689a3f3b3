//! A simulated cluster's objects and the API verbs on them: get, list with
//! label selectors, create, update with resourceVersion checks, merge
//! patches, server-side apply with field managers, delete, and the
//! `Status` errors a real API server answers with.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use super::custom;
use super::defaults;
use super::fields::{self, Ctx};
use super::immutable;
use super::openapi;
use super::resources::ResourceType;
use crate::google::now_rfc3339;

/// An error as the API server reports it: a `Status` object.
#[derive(Debug)]
pub struct KubeError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Json,
}

impl KubeError {
    pub fn status(&self) -> Json {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        });
        if !self.reason.is_empty() {
            s["reason"] = json!(self.reason);
        }
        if !self.details.is_null() {
            s["details"] = self.details.clone();
        }
        s
    }

    pub fn unauthorized() -> Self {
        KubeError {
            code: 401,
            reason: "Unauthorized",
            message: "Unauthorized".into(),
            details: Json::Null,
        }
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        let mut details = json!({"name": name, "kind": rt.plural});
        if !rt.group.is_empty() {
            details["group"] = json!(rt.group);
        }
        KubeError {
            code: 404,
            reason: "NotFound",
            message: format!("{} \"{name}\" not found", rt.qualified()),
            details,
        }
    }

    /// A watch from a resource version older than the deletions kept: the
    /// client lists again.
    pub fn expired(since: u64, oldest: u64) -> Self {
        KubeError {
            code: 410,
            reason: "Expired",
            message: format!("too old resource version: {since} ({oldest})"),
            details: Json::Null,
        }
    }

    pub fn path_not_found() -> Self {
        KubeError {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".into(),
            details: Json::Null,
        }
    }

    fn already_exists(rt: &ResourceType, name: &str) -> Self {
        let mut details = json!({"name": name, "kind": rt.plural});
        if !rt.group.is_empty() {
            details["group"] = json!(rt.group);
        }
        KubeError {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{} \"{name}\" already exists", rt.qualified()),
            details,
        }
    }

    /// A delete whose preconditions (uid, resourceVersion) the object no
    /// longer meets, worded as the API server words it.
    fn precondition_failed(
        rt: &ResourceType,
        name: &str,
        field: &str,
        wanted: &Json,
        found: &Json,
    ) -> Self {
        let mut details = json!({"name": name, "kind": rt.plural});
        if !rt.group.is_empty() {
            details["group"] = json!(rt.group);
        }
        let text = |v: &Json| v.as_str().map_or_else(|| v.to_string(), str::to_string);
        KubeError {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {field} in precondition: {}, {field} in object meta: {}",
                rt.qualified(),
                text(wanted),
                text(found)
            ),
            details,
        }
    }

    fn stale(rt: &ResourceType, name: &str) -> Self {
        let mut details = json!({"name": name, "kind": rt.plural});
        if !rt.group.is_empty() {
            details["group"] = json!(rt.group);
        }
        KubeError {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                rt.qualified()
            ),
            details,
        }
    }

    pub fn invalid(rt: &ResourceType, name: &str, field: &str, message: String) -> Self {
        KubeError {
            code: 422,
            reason: "Invalid",
            message: format!("{} \"{name}\" is invalid: {field}: {message}", rt.kind),
            details: json!({"name": name, "kind": rt.kind, "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]}),
        }
    }

    /// An object refused for each of `causes` (field, message), worded as
    /// the API server aggregates field errors.
    pub fn invalid_causes(rt: &ResourceType, name: &str, causes: &[(String, String)]) -> Self {
        let said: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        let summary = match said.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        let causes: Vec<Json> = causes
            .iter()
            .map(|(field, message)| {
                let reason = match message.split(':').next() {
                    Some("Required value") => "FieldValueRequired",
                    Some("Unsupported value") => "FieldValueNotSupported",
                    Some("Forbidden") => "FieldValueForbidden",
                    _ => "FieldValueInvalid",
                };
                json!({"reason": reason, "message": message, "field": field})
            })
            .collect();
        KubeError {
            code: 422,
            reason: "Invalid",
            message: format!("{} \"{name}\" is invalid: {summary}", rt.qualified_kind()),
            details: json!({"name": name, "group": rt.group, "kind": rt.kind, "causes": causes}),
        }
    }

    /// A change the API server forbids, e.g. to an immutable field.
    pub fn forbidden_field(rt: &ResourceType, name: &str, field: &str, message: String) -> Self {
        KubeError {
            code: 422,
            reason: "Invalid",
            message: format!(
                "{} \"{name}\" is invalid: {field}: Forbidden: {message}",
                rt.qualified_kind()
            ),
            details: json!({"name": name, "group": rt.group, "kind": rt.kind, "causes": [{"reason": "FieldValueForbidden", "message": format!("Forbidden: {message}"), "field": field}]}),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        KubeError {
            code: 400,
            reason: "BadRequest",
            message: message.into(),
            details: Json::Null,
        }
    }

    /// The real server gives no reason for conversion failures.
    pub fn internal(message: impl Into<String>) -> Self {
        KubeError {
            code: 500,
            reason: "",
            message: message.into(),
            details: Json::Null,
        }
    }

    fn namespace_missing(ns: &str) -> Self {
        KubeError {
            code: 404,
            reason: "NotFound",
            message: format!("namespaces \"{ns}\" not found"),
            details: json!({"name": ns, "kind": "namespaces"}),
        }
    }

    /// Refused by an admission plugin (`persistentvolumeclaims "x" is forbidden: ...`).
    pub fn admission(rt: &ResourceType, name: &str, message: &str) -> Self {
        KubeError {
            code: 403,
            reason: "Forbidden",
            message: format!("{} \"{name}\" is forbidden: {message}", rt.plural),
            details: json!({"name": name, "group": rt.group, "kind": rt.plural}),
        }
    }

    /// A change to a field that never changes (`field is immutable`).
    pub fn immutable(rt: &ResourceType, name: &str, field: &str, value: &Json) -> Self {
        let message = format!("Invalid value: {value}: field is immutable");
        KubeError {
            code: 422,
            reason: "Invalid",
            message: format!(
                "{} \"{name}\" is invalid: {field}: {message}",
                rt.qualified_kind()
            ),
            details: json!({"name": name, "group": rt.group, "kind": rt.kind, "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]}),
        }
    }

    fn terminating(ns: &str) -> Self {
        KubeError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
            details: json!({"name": ns, "kind": "namespaces"}),
        }
    }
}

/// How a write was asked for.
pub struct Write<'a> {
    pub manager: &'a str,
    pub force: bool,
    pub subresource: Option<&'a str>,
}

/// One simulated cluster's API objects.
#[derive(Debug, Serialize)]
pub struct Objects {
    /// Objects by `group/plural/namespace/name`.
    pub objects: BTreeMap<String, Json>,
    pub resource_version: u64,
    uid_counter: u64,
    /// The latest deletions (resource version, key, the object as it
    /// went), so that a watch from an earlier version is told of them, as
    /// the real server's watch cache tells: a client that deletes and then
    /// watches from the version its DELETE returned sees the DELETED event
    /// even when the object went before the watch began.
    #[serde(skip)]
    deleted: std::collections::VecDeque<(u64, String, Json)>,
    /// Watches from before this version are refused with 410 Expired:
    /// deletions since then may have been forgotten.
    #[serde(skip)]
    forgotten_before: u64,
}

/// How many deletions are remembered for watches.
const DELETIONS_KEPT: usize = 10_000;

impl Default for Objects {
    fn default() -> Self {
        let mut o = Objects {
            objects: BTreeMap::new(),
            resource_version: 100,
            uid_counter: 0,
            deleted: Default::default(),
            forgotten_before: 0,
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let rt = super::resources::find("", "v1", "namespaces").unwrap();
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let _ = o.create(
                rt,
                "",
                obj,
                &Write {
                    manager: "kube-apiserver",
                    force: false,
                    subresource: None,
                },
            );
        }
        o
    }
}

fn key(rt: &ResourceType, ns: &str, name: &str) -> String {
    format!("{}/{}/{}/{}", rt.group, rt.plural, ns, name)
}

/// The keys of a type's objects in a namespace (in all when `ns` is
/// empty) start with this.
fn prefix_of(rt: &ResourceType, ns: &str) -> String {
    if ns.is_empty() {
        format!("{}/{}/", rt.group, rt.plural)
    } else {
        format!("{}/{}/{}/", rt.group, rt.plural, ns)
    }
}

fn ctx_for(rt: &ResourceType) -> String {
    openapi::kind_schema(rt.group, rt.version, rt.kind).unwrap_or_default()
}

impl Objects {
    /// The keys that start with `prefix` (a kind's, or a namespace's within
    /// it), in order.
    pub fn keys_under(&self, prefix: &str) -> Vec<String> {
        self.objects
            .range(prefix.to_string()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Objects restored from a state file.
    pub fn restore(objects: BTreeMap<String, Json>, resource_version: u64) -> Self {
        Objects {
            uid_counter: objects.len() as u64 + 1,
            objects,
            resource_version,
            deleted: Default::default(),
            forgotten_before: resource_version,
        }
    }

    /// Removes an object: its deletion takes a resource version of its own
    /// and is remembered for watches.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        let mut gone = self.objects.remove(key)?;
        let version = self.next_rv();
        gone["metadata"]["resourceVersion"] = json!(version);
        if self.deleted.len() == DELETIONS_KEPT
            && let Some((v, _, _)) = self.deleted.pop_front()
        {
            self.forgotten_before = v;
        }
        self.deleted
            .push_back((self.resource_version, key.to_string(), gone.clone()));
        Some(gone)
    }

    /// The objects of a type in a namespace (all when `ns` is empty) that
    /// match `selector` and were deleted after resource version `since`,
    /// as they went; 410 Expired when such deletions may be forgotten.
    pub fn deleted_since(
        &self,
        rt: &ResourceType,
        ns: &str,
        selector: Option<&str>,
        since: u64,
    ) -> Result<Vec<Json>, KubeError> {
        if since < self.forgotten_before {
            return Err(KubeError::expired(since, self.forgotten_before));
        }
        let prefix = prefix_of(rt, ns);
        let requirements = parse_selector(selector.unwrap_or(""))?;
        Ok(self
            .deleted
            .iter()
            .filter(|(version, key, object)| {
                *version > since
                    && key.starts_with(&prefix)
                    && requirements
                        .iter()
                        .all(|r| r.matches(&object["metadata"]["labels"]))
            })
            .map(|(_, _, object)| object.clone())
            .collect())
    }

    /// Defaults and admission: built-in kinds' defaults, a
    /// CustomResourceDefinition's checks, and a custom resource's schema.
    fn admit(&self, rt: &ResourceType, obj: &mut Json) -> Result<(), KubeError> {
        defaults::apply(rt, obj)?;
        if custom::is_definition(rt) {
            custom::admit_definition(obj)
        } else if custom::is_custom(rt) {
            custom::admit(&self.objects, rt, obj)
        } else {
            Ok(())
        }
    }

    fn next_rv(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    fn uid(&mut self) -> String {
        self.uid_counter += 1;
        let n = self.uid_counter.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.resource_version;
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            (n >> 32) as u32,
            (n >> 16) & 0xffff,
            n & 0xfff,
            (n >> 4) & 0xfff,
            n & 0xffff_ffff_ffff
        )
    }

    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Json, KubeError> {
        self.objects
            .get(&key(rt, ns, name))
            .cloned()
            .ok_or_else(|| KubeError::not_found(rt, name))
    }

    pub fn exists(&self, rt: &ResourceType, ns: &str, name: &str) -> bool {
        self.objects.contains_key(&key(rt, ns, name))
    }

    /// Objects of a type in a namespace (all namespaces when `ns` is empty),
    /// filtered by a label selector (`a=b,c!=d,e`).
    pub fn list(
        &self,
        rt: &ResourceType,
        ns: &str,
        selector: Option<&str>,
    ) -> Result<Json, KubeError> {
        let prefix = prefix_of(rt, ns);
        let requirements = parse_selector(selector.unwrap_or(""))?;
        let items: Vec<Json> = self
            .objects
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, o)| {
                requirements
                    .iter()
                    .all(|r| r.matches(&o["metadata"]["labels"]))
            })
            .map(|(_, o)| o.clone())
            .collect();
        Ok(json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": {"resourceVersion": self.resource_version.to_string()},
            "items": items,
        }))
    }

    fn check_namespace(&self, rt: &ResourceType, ns: &str) -> Result<(), KubeError> {
        if !rt.namespaced {
            return Ok(());
        }
        let ns_type = super::resources::find("", "v1", "namespaces").unwrap();
        match self.objects.get(&key(ns_type, "", ns)) {
            None => Err(KubeError::namespace_missing(ns)),
            Some(n) if n["status"]["phase"] == "Terminating" => Err(KubeError::terminating(ns)),
            Some(_) => Ok(()),
        }
    }

    fn validate_name(rt: &ResourceType, name: &str) -> Result<(), KubeError> {
        let label = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !s.starts_with('-')
                && !s.ends_with('-')
        };
        let (ok, rule) = if matches!(rt.plural, "namespaces" | "services") {
            (
                label(name),
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
            )
        } else {
            (
                name.len() <= 253 && name.split('.').all(label),
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            )
        };
        if ok {
            Ok(())
        } else {
            Err(KubeError::invalid(
                rt,
                name,
                "metadata.name",
                format!("Invalid value: \"{name}\": {rule}"),
            ))
        }
    }

    /// Stores a new object, filling in the server's metadata and defaults.
    pub fn create(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Json,
        w: &Write<'_>,
    ) -> Result<Json, KubeError> {
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            return Err(KubeError::invalid(
                rt,
                "",
                "metadata.name",
                "Required value: name or generateName is required".into(),
            ));
        }
        Self::validate_name(rt, &name)?;
        self.check_namespace(rt, ns)?;
        if self.exists(rt, ns, &name) {
            return Err(KubeError::already_exists(rt, &name));
        }
        let root = ctx_for(rt);
        if rt.kind == "Namespace" {
            // Set by the namespace strategy before field ownership is
            // computed, so the creator owns it.
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
        }
        let fields = changed_fields(&json!({}), &strip_identity(&obj), &root);
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        let now = now_rfc3339_seconds();
        let meta = obj["metadata"]
            .as_object_mut()
            .ok_or_else(|| KubeError::bad_request("metadata must be an object"))?;
        if rt.namespaced {
            meta.insert("namespace".into(), json!(ns));
        }
        meta.remove("resourceVersion");
        meta.insert("uid".into(), json!(self.uid()));
        meta.insert("creationTimestamp".into(), json!(now));
        if rt.generation {
            meta.insert("generation".into(), json!(1));
        }
        self.admit(rt, &mut obj)?;
        if rt.kind == "PersistentVolumeClaim" {
            super::storage_classes::admit_claim(self, &mut obj);
        }
        if rt.kind == "Ingress" {
            super::ingresses::admit(self, &mut obj);
        }
        obj["metadata"]["managedFields"] = json!([managed_entry(w, "Update", rt, &fields)]);
        obj["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.objects.insert(key(rt, ns, &name), obj.clone());
        Ok(obj)
    }

    /// Replaces an object (PUT); a stale resourceVersion is a conflict.
    pub fn update(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut obj: Json,
        w: &Write<'_>,
    ) -> Result<Json, KubeError> {
        let current = self.get(rt, ns, name)?;
        if let Some(rv) = obj["metadata"]["resourceVersion"].as_str()
            && rv != current["metadata"]["resourceVersion"]
        {
            return Err(KubeError::stale(rt, name));
        }
        if w.subresource == Some("status") {
            let mut next = current.clone();
            next["status"] = obj["status"].clone();
            return Ok(self.store(rt, ns, name, &current, next, w, "Update", None));
        }
        // The server owns metadata it set; status is not written through the main resource.
        for k in [
            "uid",
            "creationTimestamp",
            "generation",
            "managedFields",
            "deletionTimestamp",
        ] {
            obj["metadata"][k] = current["metadata"][k].clone();
        }
        if !current["status"].is_null() {
            obj["status"] = current["status"].clone();
        }
        self.admit(rt, &mut obj)?;
        immutable::check(rt, name, &current, &obj, &self.objects)?;
        Ok(self.store(rt, ns, name, &current, obj, w, "Update", None))
    }

    /// Applies a JSON merge patch (RFC 7386) or strategic merge patch.
    pub fn merge_patch(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        patch: &Json,
        w: &Write<'_>,
    ) -> Result<Json, KubeError> {
        let current = self.get(rt, ns, name)?;
        let mut next = current.clone();
        let root = ctx_for(rt);
        merge_patch(
            &mut next,
            patch,
            &Ctx {
                root: &root,
                path: Vec::new(),
            },
        );
        self.admit(rt, &mut next)?;
        immutable::check(rt, name, &current, &next, &self.objects)?;
        Ok(self.store(rt, ns, name, &current, next, w, "Update", None))
    }

    /// Server-side apply: merges the applied configuration, owning its
    /// fields for `w.manager`, refusing (409) to take fields another manager
    /// set to other values unless forced, and removing fields this manager
    /// applied before but no longer sends.
    pub fn apply(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        patch: Json,
        w: &Write<'_>,
    ) -> Result<(Json, bool), KubeError> {
        let root = ctx_for(rt);
        let ctx = Ctx {
            root: &root,
            path: Vec::new(),
        };
        if patch["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n != name)
        {
            return Err(KubeError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
        if custom::is_custom(rt) {
            custom::check_apply_patch(&self.objects, rt, ns, name, &patch)?;
        }
        let applied = strip_identity(&patch);
        let new_set = fields::field_set(&applied, &ctx);
        let Ok(current) = self.get(rt, ns, name) else {
            let mut obj = patch.clone();
            obj["metadata"]["name"] = json!(name);
            let created = self.create(rt, ns, obj, w)?;
            let mut created = created;
            created["metadata"]["managedFields"] = json!([managed_entry(w, "Apply", rt, &new_set)]);
            self.objects.insert(key(rt, ns, name), created.clone());
            return Ok((created, true));
        };
        let mut entries: Vec<Json> = current["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mine = |e: &Json| {
            e["manager"] == w.manager && e["operation"] == "Apply" && e["subresource"].is_null()
        };
        let old_set = entries
            .iter()
            .find(|e| mine(e))
            .map(|e| e["fieldsV1"].clone())
            .unwrap_or(json!({}));

        // Conflicts: fields another manager owns, applied with another value.
        let mut conflicts = Vec::new();
        for leaf in fields::leaves(&new_set) {
            let theirs = fields::value_at(&current, &leaf);
            let ours = fields::value_at(&applied, &leaf);
            if theirs.is_some() && ours.is_some() && theirs != ours {
                for e in entries.iter().filter(|e| !mine(e)) {
                    if fields::contains(&e["fieldsV1"], &leaf) && is_leaf_in(&e["fieldsV1"], &leaf)
                    {
                        conflicts.push((e.clone(), leaf.clone()));
                    }
                }
            }
        }
        if !conflicts.is_empty() && !w.force {
            return Err(conflict_error(rt, &conflicts));
        }
        for (owner, leaf) in &conflicts {
            for e in entries.iter_mut().filter(|e| {
                e["manager"] == owner["manager"] && e["subresource"] == owner["subresource"]
            }) {
                fields::remove(&mut e["fieldsV1"], leaf);
            }
        }

        // Fields this manager stopped applying and nobody else owns go.
        let mut next = current.clone();
        for leaf in fields::leaves(&old_set) {
            let still_applied = fields::contains(&new_set, &leaf);
            let owned_elsewhere = entries
                .iter()
                .filter(|e| !mine(e))
                .any(|e| fields::contains(&e["fieldsV1"], &leaf));
            if !still_applied && !owned_elsewhere {
                fields::remove_value(&mut next, &leaf);
            }
        }
        fields::merge(&mut next, &applied, &ctx);
        self.admit(rt, &mut next)?;
        immutable::check(rt, name, &current, &next, &self.objects)?;
        // The applier's entry keeps its place; a no-op apply keeps it as it
        // was, time included.
        match entries.iter_mut().find(|e| mine(e)) {
            Some(e) if e["fieldsV1"] == new_set => {}
            Some(e) => *e = managed_entry(w, "Apply", rt, &new_set),
            None => entries.push(managed_entry(w, "Apply", rt, &new_set)),
        }
        entries.retain(|e| !e["fieldsV1"].as_object().is_some_and(|o| o.is_empty()));
        let stored = self.store(rt, ns, name, &current, next, w, "Apply", Some(entries));
        Ok((stored, false))
    }

    /// Records a write: bumps resourceVersion (and generation when the spec
    /// changed), and updates managedFields for non-apply writes.
    #[allow(clippy::too_many_arguments)]
    fn store(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        current: &Json,
        mut next: Json,
        w: &Write<'_>,
        operation: &str,
        entries: Option<Vec<Json>>,
    ) -> Json {
        let entries = entries.unwrap_or_else(|| {
            let mut entries: Vec<Json> = current["metadata"]["managedFields"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let root = ctx_for(rt);
            let changed = changed_fields(current, &next, &root);
            if !changed.as_object().is_some_and(|o| o.is_empty()) {
                for leaf in fields::leaves(&changed) {
                    for e in entries.iter_mut().filter(|e| e["manager"] != w.manager) {
                        fields::remove(&mut e["fieldsV1"], &leaf);
                    }
                }
                let sub = w.subresource.map(str::to_string);
                match entries.iter_mut().find(|e| {
                    e["manager"] == w.manager
                        && e["operation"] == operation
                        && e["subresource"].as_str().map(str::to_string) == sub
                }) {
                    Some(e) => {
                        e["fieldsV1"] = fields::union(&e["fieldsV1"], &changed);
                        e["time"] = json!(now_rfc3339_seconds());
                    }
                    None => entries.push(managed_entry(w, operation, rt, &changed)),
                }
                entries.retain(|e| !e["fieldsV1"].as_object().is_some_and(|o| o.is_empty()));
            }
            entries
        });
        next["metadata"]["managedFields"] = json!(entries);
        if next == *current {
            return next;
        }
        if rt.generation && spec_of(&next) != spec_of(current) {
            let g = current["metadata"]["generation"].as_i64().unwrap_or(1);
            next["metadata"]["generation"] = json!(g + 1);
        }
        next["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.objects.insert(key(rt, ns, name), next.clone());
        next
    }

    /// Deletes an object, when it meets the `preconditions` given (uid,
    /// resourceVersion). Namespaces go through Terminating; with
    /// `Foreground` propagation the object waits for its dependents, with
    /// `Orphan` they stay.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        propagation: Option<&str>,
        preconditions: &Json,
    ) -> Result<Json, KubeError> {
        let mut obj = self.get(rt, ns, name)?;
        for (field, at) in [("UID", "uid"), ("ResourceVersion", "resourceVersion")] {
            let wanted = &preconditions[at];
            if !wanted.is_null() && *wanted != obj["metadata"][at] {
                let found = &obj["metadata"][at];
                return Err(KubeError::precondition_failed(
                    rt, name, field, wanted, found,
                ));
            }
        }
        let now = now_rfc3339_seconds();
        if rt.plural == "namespaces" {
            if obj["metadata"]["deletionTimestamp"].is_null() {
                obj["metadata"]["deletionTimestamp"] = json!(now);
                obj["status"]["phase"] = json!("Terminating");
                obj["metadata"]["resourceVersion"] = json!(self.next_rv());
                self.objects.insert(key(rt, ns, name), obj.clone());
            }
            return Ok(obj);
        }
        if !obj["metadata"]["deletionTimestamp"].is_null() {
            return Ok(obj);
        }
        if custom::is_definition(rt) {
            // Its resources go with it (the real server's
            // customresourcecleanup finalizer).
            for k in custom::instances(&self.objects, &obj) {
                self.remove(&k);
            }
        }
        if propagation == Some("Foreground") {
            // The garbage collector removes it once its dependents are gone.
            obj["metadata"]["deletionTimestamp"] = json!(now);
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            obj["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
            if rt.generation {
                let g = obj["metadata"]["generation"].as_i64().unwrap_or(1);
                obj["metadata"]["generation"] = json!(g + 1);
            }
            obj["metadata"]["resourceVersion"] = json!(self.next_rv());
            self.objects.insert(key(rt, ns, name), obj.clone());
            return Ok(obj);
        }
        if propagation == Some("Orphan") {
            // Its dependents stay, no longer owned by it.
            let uid = obj["metadata"]["uid"].clone();
            let dependents: Vec<String> = self.dependents(&obj).cloned().collect();
            for k in dependents {
                if let Some(refs) = self
                    .objects
                    .get_mut(&k)
                    .and_then(|d| d["metadata"]["ownerReferences"].as_array_mut())
                {
                    refs.retain(|r| r["uid"] != uid);
                }
            }
        }
        self.remove(&key(rt, ns, name));
        Ok(obj)
    }

    /// Keys of objects owned by `owner` (ownerReferences).
    fn dependents<'a>(&'a self, owner: &Json) -> impl Iterator<Item = &'a String> + 'a {
        let uid = owner["metadata"]["uid"].clone();
        self.objects.iter().filter_map(move |(k, o)| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
                .then_some(k)
        })
    }

    /// A write by a controller (status, annotations), recorded under
    /// `kube-controller-manager`.
    pub fn controller_write(&mut self, key: &str, f: impl FnOnce(&mut Json)) {
        self.write_as("kube-controller-manager", key, Some("status"), f);
    }

    /// A write by `manager`, through `subresource` or to the object.
    pub fn write_as(
        &mut self,
        manager: &str,
        key: &str,
        subresource: Option<&str>,
        f: impl FnOnce(&mut Json),
    ) {
        let Some(current) = self.objects.get(key).cloned() else {
            return;
        };
        let mut next = current.clone();
        f(&mut next);
        let rt_parts: Vec<&str> = key.splitn(4, '/').collect();
        let version = current["apiVersion"]
            .as_str()
            .and_then(|v| v.rsplit('/').next())
            .unwrap_or_default();
        let Some(rt) = super::resources::RESOURCES
            .iter()
            .find(|r| r.group == rt_parts[0] && r.plural == rt_parts[1])
            .or_else(|| custom::find(&self.objects, rt_parts[0], version, rt_parts[1]))
        else {
            return;
        };
        let (ns, name) = (rt_parts[2].to_string(), rt_parts[3].to_string());
        let w = Write {
            manager,
            force: false,
            subresource,
        };
        let _ = self.store(rt, &ns, &name, &current, next, &w, "Update", None);
    }

    /// The name of the newest object under `prefix` whose annotation
    /// `annotation` is "true": the default class, as admission picks it.
    pub fn newest_marked(&self, prefix: &str, annotation: &str) -> Option<String> {
        self.objects
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, c)| c["metadata"]["annotations"][annotation] == "true")
            .max_by_key(|(_, c)| {
                c["metadata"]["creationTimestamp"]
                    .as_str()
                    .map(str::to_string)
            })
            .and_then(|(_, c)| c["metadata"]["name"].as_str().map(str::to_string))
    }

    /// An object created by a controller (a deployment's pods), recorded
    /// under `kube-controller-manager`.
    pub fn controller_create(&mut self, rt: &ResourceType, ns: &str, obj: Json) {
        self.create_as("kube-controller-manager", rt, ns, obj);
    }

    /// An object created by `manager`.
    pub fn create_as(&mut self, manager: &str, rt: &ResourceType, ns: &str, obj: Json) {
        let w = Write {
            manager,
            force: false,
            subresource: None,
        };
        let _ = self.create(rt, ns, obj, &w);
    }

    /// Sets a deployment's replicas through the scale subresource.
    pub fn scale_as(&mut self, key: &str, replicas: i64, manager: &str) {
        let Some(current) = self.objects.get(key).cloned() else {
            return;
        };
        let mut next = current.clone();
        next["spec"]["replicas"] = json!(replicas);
        let rt = super::resources::find("apps", "v1", "deployments").unwrap();
        let parts: Vec<&str> = key.splitn(4, '/').collect();
        let w = Write {
            manager,
            force: false,
            subresource: Some("scale"),
        };
        let _ = self.store(rt, parts[2], parts[3], &current, next, &w, "Update", None);
    }

    /// Garbage collection and namespace termination, run by the
    /// simulated controllers. A terminating namespace is emptied first and
    /// removed on a later tick, so clients can see it Terminating.
    pub fn collect_garbage(
        &mut self,
        terminating_since: &mut std::collections::HashMap<String, std::time::Instant>,
    ) {
        // Who owns what, read once: a pass runs every 50 ms over every
        // object, and must not hold the store for long.
        let mut uids: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut owned: Vec<(&String, Vec<&str>)> = Vec::new();
        let mut foreground: Vec<(&String, &str)> = Vec::new();
        for (k, o) in &self.objects {
            let meta = &o["metadata"];
            let uid = meta["uid"].as_str().unwrap_or_default();
            uids.insert(uid);
            if let Some(refs) = meta["ownerReferences"].as_array()
                && !refs.is_empty()
            {
                let owners = refs.iter().map(|r| r["uid"].as_str().unwrap_or_default());
                owned.push((k, owners.collect()));
            }
            let finalizers = meta["finalizers"].as_array().into_iter().flatten();
            if finalizers.into_iter().any(|f| f == "foregroundDeletion") {
                foreground.push((k, uid));
            }
        }
        // Objects whose owners are all gone; the dependents of foreground
        // deletions, which go first; then those deletions themselves.
        let going: std::collections::HashSet<&str> = foreground.iter().map(|(_, u)| *u).collect();
        let mut gone: Vec<String> = owned
            .iter()
            .filter(|(_, owners)| {
                owners.iter().all(|u| !uids.contains(u)) || owners.iter().any(|u| going.contains(u))
            })
            .map(|(k, _)| (*k).clone())
            .collect();
        gone.extend(foreground.iter().map(|(k, _)| (*k).clone()));
        for k in gone {
            self.remove(&k);
        }
        // Terminating namespaces: remove their contents, then themselves.
        let terminating: Vec<String> = self
            .objects
            .range("/namespaces/".to_string()..)
            .take_while(|(k, _)| k.starts_with("/namespaces/"))
            .filter(|(_, o)| o["status"]["phase"] == "Terminating")
            .map(|(_, o)| {
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        for ns in terminating {
            let inside: Vec<String> = self
                .objects
                .iter()
                .filter(|(_, o)| o["metadata"]["namespace"] == ns.as_str())
                .map(|(k, _)| k.clone())
                .collect();
            let since = *terminating_since
                .entry(ns.clone())
                .or_insert_with(std::time::Instant::now);
            if inside.is_empty() {
                if since.elapsed() >= std::time::Duration::from_millis(300) {
                    self.remove(&format!("/namespaces//{ns}"));
                    terminating_since.remove(&ns);
                }
            } else {
                for k in inside {
                    self.remove(&k);
                }
            }
        }
    }
}

pub(super) fn now_rfc3339_seconds() -> String {
    let s = now_rfc3339();
    format!("{}Z", &s[..19])
}

fn field_set(obj: &Json, root: &str) -> Json {
    fields::field_set(
        &strip_identity(obj),
        &Ctx {
            root,
            path: Vec::new(),
        },
    )
}

/// The applied configuration without what identifies the object, which no
/// manager owns.
fn strip_identity(obj: &Json) -> Json {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
        m.remove("status");
    }
    if let Some(meta) = o["metadata"].as_object_mut() {
        for k in [
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
            "deletionTimestamp",
        ] {
            meta.remove(k);
        }
        if meta.is_empty() {
            o.as_object_mut().unwrap().remove("metadata");
        }
    }
    o
}

fn spec_of(o: &Json) -> Json {
    let mut v = o.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
        m.remove("metadata");
    }
    v
}

/// The fields whose value differs between two versions of an object, as
/// an update's field set: maps the update created are owned too (`.`).
fn changed_fields(before: &Json, after: &Json, root: &str) -> Json {
    let after_set = field_set(after, root);
    let mut changed = json!({});
    for leaf in fields::leaves(&after_set) {
        if fields::value_at(before, &leaf) == fields::value_at(after, &leaf) {
            continue;
        }
        let mut tree = json!({});
        let mut node = &mut tree;
        let mut schema_path: Vec<String> = Vec::new();
        for (i, step) in leaf.iter().enumerate() {
            let k = match step {
                fields::Step::Field(n) => {
                    schema_path.push(n.clone());
                    format!("f:{n}")
                }
                fields::Step::Key(k) => {
                    schema_path.push("[]".into());
                    format!("k:{k}")
                }
                fields::Step::Value(v) => format!("v:{v}"),
            };
            node = node.as_object_mut().unwrap().entry(k).or_insert(json!({}));
            let is_map = {
                let path: Vec<&str> = schema_path.iter().map(String::as_str).collect();
                openapi::field_schema(root, &path)
                    .is_some_and(|s| s["additionalProperties"].is_object())
            };
            if is_map && i + 1 < leaf.len() && fields::value_at(before, &leaf[..=i]).is_none() {
                node.as_object_mut().unwrap().insert(".".into(), json!({}));
            }
        }
        changed = fields::union(&changed, &tree);
    }
    changed
}

fn is_leaf_in(tree: &Json, path: &[fields::Step]) -> bool {
    fields::leaves(tree).iter().any(|l| l.as_slice() == path)
}

fn managed_entry(w: &Write<'_>, operation: &str, rt: &ResourceType, set: &Json) -> Json {
    let mut e = json!({
        "manager": w.manager,
        "operation": operation,
        "apiVersion": rt.api_version(),
        "time": now_rfc3339_seconds(),
        "fieldsType": "FieldsV1",
        "fieldsV1": set,
    });
    if let Some(sub) = w.subresource {
        e["subresource"] = json!(sub);
    }
    e
}

fn conflict_error(rt: &ResourceType, conflicts: &[(Json, Vec<fields::Step>)]) -> KubeError {
    let describe = |owner: &Json| {
        let sub = owner["subresource"]
            .as_str()
            .map(|s| format!(" with subresource \"{s}\""))
            .unwrap_or_default();
        format!(
            "conflict with \"{}\"{sub} using {}",
            owner["manager"].as_str().unwrap_or_default(),
            rt.api_version()
        )
    };
    let causes: Vec<Json> = conflicts
        .iter()
        .map(|(owner, leaf)| json!({"reason": "FieldManagerConflict", "message": describe(owner), "field": fields::display(leaf)}))
        .collect();
    let message = if conflicts.len() == 1 {
        format!(
            "Apply failed with 1 conflict: {}: {}",
            describe(&conflicts[0].0),
            fields::display(&conflicts[0].1)
        )
    } else {
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            conflicts
                .iter()
                .map(|(o, l)| format!("{}: {}", describe(o), fields::display(l)))
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    KubeError {
        code: 409,
        reason: "Conflict",
        message,
        details: json!({"causes": causes}),
    }
}

/// RFC 7386 merge patch, with associative lists merged by key (as a
/// strategic merge patch does for the built-in types).
fn merge_patch(target: &mut Json, patch: &Json, ctx: &Ctx<'_>) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(_), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    target.as_object_mut().unwrap().remove(k);
                } else if v.is_object() && target[k].is_object() {
                    let c = Ctx {
                        root: ctx.root,
                        path: [ctx.path.clone(), vec![k.clone()]].concat(),
                    };
                    merge_patch(&mut target[k], v, &c);
                } else {
                    let mut single = Map::new();
                    single.insert(k.clone(), v.clone());
                    fields::merge(target, &Json::Object(single), ctx);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

/// One requirement of a label selector.
struct Requirement {
    key: String,
    op: &'static str,
    values: Vec<String>,
}

impl Requirement {
    fn matches(&self, labels: &Json) -> bool {
        let v = labels[&self.key].as_str();
        match self.op {
            "=" => v.is_some_and(|v| self.values.iter().any(|x| x == v)),
            "!=" => v.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            "exists" => v.is_some(),
            "!exists" => v.is_none(),
            "in" => v.is_some_and(|v| self.values.iter().any(|x| x == v)),
            "notin" => v.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            _ => false,
        }
    }
}

fn parse_selector(s: &str) -> Result<Vec<Requirement>, KubeError> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        // Split at the next comma outside parentheses.
        let mut depth = 0;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                *c == ',' && depth == 0
            })
            .map_or(rest.len(), |(i, _)| i);
        let part = rest[..end].trim();
        rest = rest[end..].trim_start_matches(',').trim();
        let req = if let Some((k, v)) = part.split_once("!=") {
            Requirement {
                key: k.trim().into(),
                op: "!=",
                values: vec![v.trim().into()],
            }
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            Requirement {
                key: k.trim().into(),
                op: "=",
                values: vec![v.trim().into()],
            }
        } else if let Some((k, v)) = part.split_once(" notin ") {
            Requirement {
                key: k.trim().into(),
                op: "notin",
                values: set_values(v)?,
            }
        } else if let Some((k, v)) = part.split_once(" in ") {
            Requirement {
                key: k.trim().into(),
                op: "in",
                values: set_values(v)?,
            }
        } else if let Some(k) = part.strip_prefix('!') {
            Requirement {
                key: k.trim().into(),
                op: "!exists",
                values: Vec::new(),
            }
        } else if !part.is_empty() {
            Requirement {
                key: part.into(),
                op: "exists",
                values: Vec::new(),
            }
        } else {
            continue;
        };
        out.push(req);
    }
    Ok(out)
}

fn set_values(v: &str) -> Result<Vec<String>, KubeError> {
    let inner = v
        .trim()
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .ok_or_else(|| {
            KubeError::bad_request(format!("unable to parse requirement: invalid set {v:?}"))
        })?;
    Ok(inner
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}
