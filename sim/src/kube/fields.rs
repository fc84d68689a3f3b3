//! Field sets in the API server's `FieldsV1` form (`{"f:spec":{"f:replicas":{}}}`)
//! and the server-side apply merge: who owns which field, conflicts between
//! managers, fields removed when their applier stops sending them.

use serde_json::{Map, Value as Json, json};

use super::openapi::{ListType, is_atomic_map, list_type};

/// One step of a path into an object.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Field(String),
    /// An element of an associative list, by its key fields.
    Key(Json),
    /// An element of a set-list.
    Value(Json),
}

/// The schema context for list semantics: the kind's root schema and the
/// schema path walked so far (object keys and `[]` for list items).
#[derive(Clone)]
pub struct Ctx<'a> {
    pub root: &'a str,
    pub path: Vec<String>,
}

impl Ctx<'_> {
    fn child(&self, step: &str) -> Self {
        let mut path = self.path.clone();
        path.push(step.to_string());
        Ctx {
            root: self.root,
            path,
        }
    }

    fn is_atomic(&self) -> bool {
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        is_atomic_map(self.root, &path)
    }

    fn list_type(&self) -> ListType {
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        list_type(self.root, &path)
    }
}

/// The identity of a list element: its key fields, with the server's
/// defaults for keys the client left out (a port's protocol is TCP).
fn element_key(item: &Json, keys: &[String]) -> Json {
    let mut out = Map::new();
    for k in keys {
        let v = match (&item[k], k.as_str()) {
            (Json::Null, "protocol") => json!("TCP"),
            (v, _) => v.clone(),
        };
        if !v.is_null() {
            out.insert(k.clone(), v);
        }
    }
    Json::Object(out)
}

/// The fields an object sets, as a FieldsV1 tree.
pub fn field_set(v: &Json, ctx: &Ctx<'_>) -> Json {
    let mut tree = Map::new();
    if let Some(obj) = v.as_object() {
        for (k, child) in obj {
            let c = ctx.child(k);
            let node = match child {
                Json::Object(_) if c.is_atomic() => json!({}),
                Json::Object(_) => field_set(child, &c),
                Json::Array(items) => list_set(items, &c),
                _ => json!({}),
            };
            tree.insert(format!("f:{k}"), node);
        }
    }
    Json::Object(tree)
}

fn list_set(items: &[Json], ctx: &Ctx<'_>) -> Json {
    let mut tree = Map::new();
    match ctx.list_type() {
        ListType::Map(keys) => {
            let item_ctx = ctx.child("[]");
            for item in items {
                let mut node = field_set(item, &item_ctx);
                node.as_object_mut().unwrap().insert(".".into(), json!({}));
                tree.insert(format!("k:{}", element_key(item, &keys)), node);
            }
        }
        ListType::Set => {
            for item in items {
                tree.insert(format!("v:{item}"), json!({}));
            }
        }
        ListType::Atomic => {}
    }
    Json::Object(tree)
}

/// The paths to the leaves of a field set (fields with no children, and
/// list elements).
pub fn leaves(tree: &Json) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    collect(tree, &mut Vec::new(), &mut out);
    out
}

fn collect(tree: &Json, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let Some(obj) = tree.as_object() else { return };
    let children: Vec<_> = obj.iter().filter(|(k, _)| *k != ".").collect();
    if (children.is_empty() || obj.contains_key(".")) && !path.is_empty() {
        out.push(path.clone());
    }
    for (k, v) in children {
        let step = if let Some(name) = k.strip_prefix("f:") {
            Step::Field(name.to_string())
        } else if let Some(key) = k.strip_prefix("k:") {
            Step::Key(serde_json::from_str(key).unwrap_or(Json::Null))
        } else if let Some(value) = k.strip_prefix("v:") {
            Step::Value(serde_json::from_str(value).unwrap_or(Json::Null))
        } else {
            continue;
        };
        path.push(step);
        collect(v, path, out);
        path.pop();
    }
}

fn step_key(step: &Step) -> String {
    match step {
        Step::Field(n) => format!("f:{n}"),
        Step::Key(k) => format!("k:{k}"),
        Step::Value(v) => format!("v:{v}"),
    }
}

/// Whether a field set contains a path (as a leaf or an inner node).
pub fn contains(tree: &Json, path: &[Step]) -> bool {
    let mut node = tree;
    for step in path {
        match node.get(step_key(step)) {
            Some(n) => node = n,
            None => return false,
        }
    }
    true
}

/// Removes a path from a field set, pruning emptied parents.
pub fn remove(tree: &mut Json, path: &[Step]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let key = step_key(first);
    let Some(obj) = tree.as_object_mut() else {
        return;
    };
    if rest.is_empty() {
        obj.remove(&key);
        return;
    }
    if let Some(child) = obj.get_mut(&key) {
        remove(child, rest);
        let empty = child.as_object().is_some_and(|c| c.is_empty());
        if empty {
            obj.remove(&key);
        }
    }
}

/// The value at a path in an object; `None` when absent.
pub fn value_at<'a>(obj: &'a Json, path: &[Step]) -> Option<&'a Json> {
    let mut node = obj;
    for step in path {
        node = match step {
            Step::Field(n) => node.get(n)?,
            Step::Key(k) => {
                let keys: Vec<String> = k.as_object()?.keys().cloned().collect();
                node.as_array()?
                    .iter()
                    .find(|item| element_key(item, &keys) == *k)?
            }
            Step::Value(v) => node.as_array()?.iter().find(|item| *item == v)?,
        };
    }
    Some(node)
}

/// Removes the value at a path from an object.
pub fn remove_value(obj: &mut Json, path: &[Step]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let mut node = obj;
    for step in parent {
        let next = match step {
            Step::Field(n) => node.get_mut(n),
            Step::Key(k) => {
                let keys: Vec<String> = k
                    .as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                node.as_array_mut()
                    .and_then(|a| a.iter_mut().find(|item| element_key(item, &keys) == *k))
            }
            Step::Value(v) => node
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|item| *item == v)),
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    match last {
        Step::Field(n) => {
            if let Some(o) = node.as_object_mut() {
                o.remove(n);
            }
        }
        Step::Key(k) => {
            let keys: Vec<String> = k
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            if let Some(a) = node.as_array_mut() {
                a.retain(|item| element_key(item, &keys) != *k);
            }
        }
        Step::Value(v) => {
            if let Some(a) = node.as_array_mut() {
                a.retain(|item| item != v);
            }
        }
    }
}

/// Merges an applied configuration into an object: maps field by field,
/// associative lists element by element, everything else replaced.
pub fn merge(target: &mut Json, patch: &Json, ctx: &Ctx<'_>) {
    let (Some(t), Some(p)) = (target.as_object_mut(), patch.as_object()) else {
        *target = patch.clone();
        return;
    };
    for (k, v) in p {
        let c = ctx.child(k);
        match v {
            Json::Null => {
                t.remove(k);
            }
            // An atomic map (a label selector) is replaced whole, as the
            // real server does.
            Json::Object(_) if t.get(k).is_some_and(Json::is_object) && !c.is_atomic() => {
                merge(t.get_mut(k).unwrap(), v, &c)
            }
            Json::Array(items) => {
                let merged = match (c.list_type(), t.get(k).and_then(Json::as_array)) {
                    (ListType::Map(keys), Some(existing)) => {
                        let mut out = existing.clone();
                        let item_ctx = c.child("[]");
                        for item in items {
                            let id = element_key(item, &keys);
                            match out.iter_mut().find(|e| element_key(e, &keys) == id) {
                                Some(e) => merge(e, item, &item_ctx),
                                None => out.push(item.clone()),
                            }
                        }
                        out
                    }
                    (ListType::Set, Some(existing)) => {
                        let mut out = existing.clone();
                        for item in items {
                            if !out.contains(item) {
                                out.push(item.clone());
                            }
                        }
                        out
                    }
                    _ => items.clone(),
                };
                t.insert(k.clone(), Json::Array(merged));
            }
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `.spec.replicas`: a path as the API server prints it in conflicts.
pub fn display(path: &[Step]) -> String {
    path.iter()
        .map(|s| match s {
            Step::Field(n) => format!(".{n}"),
            Step::Key(k) => format!(
                "[{}]",
                k.as_object()
                    .map(|o| o
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(","))
                    .unwrap_or_default()
            ),
            Step::Value(v) => format!("[={v}]"),
        })
        .collect()
}

/// The union of two field sets.
pub fn union(a: &Json, b: &Json) -> Json {
    let mut out = a.clone();
    if let (Some(o), Some(bo)) = (out.as_object_mut(), b.as_object()) {
        for (k, v) in bo {
            match o.get_mut(k) {
                Some(existing) => *existing = union(existing, v),
                None => {
                    o.insert(k.clone(), v.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> (String, Vec<String>) {
        (
            super::super::openapi::kind_schema("apps", "v1", "Deployment").unwrap(),
            Vec::new(),
        )
    }

    #[test]
    fn field_sets_match_the_api_servers() {
        let (root, path) = ctx();
        let ctx = Ctx { root: &root, path };
        let applied = json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "api", "image": "x", "ports": [{"containerPort": 8000, "name": "http"}], "args": ["a"]}
        ]}}}});
        let set = field_set(&applied, &ctx);
        let expected = json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"api\"}": {".": {}, "f:name": {}, "f:image": {}, "f:args": {},
                "f:ports": {"k:{\"containerPort\":8000,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:name": {}}}}
        }}}}});
        assert_eq!(set, expected);
        let leaves = leaves(&set);
        assert!(leaves.contains(&vec![
            Step::Field("spec".into()),
            Step::Field("replicas".into())
        ]));
    }

    #[test]
    fn merge_follows_list_semantics() {
        let (root, path) = ctx();
        let ctx = Ctx { root: &root, path };
        let mut current = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "api", "image": "v1", "args": ["a", "b"]}, {"name": "sidecar", "image": "s"}
        ]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "v2", "args": ["c"]}]}}}});
        merge(&mut current, &patch, &ctx);
        let containers = &current["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "v2");
        assert_eq!(containers[0]["args"], json!(["c"]));
        assert_eq!(containers[1]["name"], "sidecar");
        let path = vec![
            Step::Field("spec".into()),
            Step::Field("template".into()),
            Step::Field("spec".into()),
            Step::Field("containers".into()),
            Step::Key(json!({"name": "sidecar"})),
        ];
        assert!(value_at(&current, &path).is_some());
        remove_value(&mut current, &path);
        assert!(value_at(&current, &path).is_none());
    }

    #[test]
    fn an_atomic_map_is_replaced_whole() {
        let root = super::super::openapi::kind_schema("", "v1", "Service").unwrap();
        let ctx = Ctx {
            root: &root,
            path: Vec::new(),
        };
        let mut current = json!({"spec": {"selector": {"app": "api", "color": "blue"}}});
        merge(
            &mut current,
            &json!({"spec": {"selector": {"app": "api"}}}),
            &ctx,
        );
        assert_eq!(current["spec"]["selector"], json!({"app": "api"}));
    }
}
