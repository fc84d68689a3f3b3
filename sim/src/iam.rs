//! The IAM v1 face, the part of it a workload's Workload Identity needs:
//! service accounts (created by tests, as a platform team would) and their
//! own IAM policies, read and written whole with an etag, as the real API
//! does: a write whose etag is not the current one is refused (`ABORTED`),
//! so a read-modify-write that raced another retries. A service account is
//! named by email or unique ID, in its project or in `projects/-`.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::google::ApiError;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Iam {
    /// Service accounts by email (`ServiceAccount` shape).
    pub service_accounts: BTreeMap<String, Json>,
    /// Each service account's policy (`Policy` shape), by email.
    pub policies: BTreeMap<String, Json>,
}

pub struct Context<'a> {
    pub method: &'a str,
    pub params: &'a std::collections::HashMap<String, String>,
    pub body: Json,
    pub next_id: u64,
}

impl Context<'_> {
    fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }
}

impl Iam {
    pub fn handle(&mut self, ctx: &mut Context<'_>) -> Result<Json, ApiError> {
        let project = ctx.param("projectsId").to_string();
        match ctx
            .method
            .trim_start_matches("iam.projects.serviceAccounts.")
        {
            "create" => self.create(&project, ctx),
            "get" => self
                .find(ctx.param("serviceAccountsId"))
                .map(|(_, sa)| sa.clone()),
            "delete" => {
                let email = self.find(ctx.param("serviceAccountsId"))?.0;
                self.service_accounts.remove(&email);
                self.policies.remove(&email);
                Ok(json!({}))
            }
            "getIamPolicy" => {
                let email = self.find(ctx.param("serviceAccountsId"))?.0;
                Ok(self.policy(&email))
            }
            "setIamPolicy" => {
                let email = self.find(ctx.param("serviceAccountsId"))?.0;
                self.set_policy(&email, &ctx.body["policy"])
            }
            _ => Err(ApiError::unimplemented(ctx.method)),
        }
    }

    fn create(&mut self, project: &str, ctx: &Context<'_>) -> Result<Json, ApiError> {
        let id = ctx.body["accountId"].as_str().unwrap_or_default();
        let valid = (6..=30).contains(&id.len())
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(ApiError::invalid_argument(format!(
                "Invalid account ID '{id}'; it must be 6-30 characters of lowercase letters, digits and hyphens, starting with a letter."
            )));
        }
        let email = format!("{id}@{project}.iam.gserviceaccount.com");
        if self.service_accounts.contains_key(&email) {
            return Err(ApiError::already_exists(&format!(
                "projects/{project}/serviceAccounts/{email}"
            )));
        }
        let sa = json!({
            "name": format!("projects/{project}/serviceAccounts/{email}"),
            "projectId": project,
            "uniqueId": format!("1{:020}", ctx.next_id),
            "email": email,
            "displayName": ctx.body["serviceAccount"]["displayName"],
            "etag": "MDEwMjE5MjA=",
            "oauth2ClientId": format!("1{:020}", ctx.next_id),
        });
        self.service_accounts.insert(email, sa.clone());
        Ok(sa)
    }

    /// The account named by email or unique ID.
    fn find(&self, id: &str) -> Result<(String, &Json), ApiError> {
        let id = id.replace("%40", "@");
        self.service_accounts
            .iter()
            .find(|(email, sa)| **email == id || sa["uniqueId"] == json!(id))
            .map(|(email, sa)| (email.clone(), sa))
            .ok_or_else(|| ApiError::not_found(&format!("projects/-/serviceAccounts/{id}")))
    }

    fn policy(&self, email: &str) -> Json {
        self.policies
            .get(email)
            .cloned()
            .unwrap_or_else(|| json!({"version": 1, "etag": etag(0)}))
    }

    fn set_policy(&mut self, email: &str, wanted: &Json) -> Result<Json, ApiError> {
        let current = self.policy(email);
        if let Some(given) = wanted["etag"].as_str()
            && current["etag"] != given
        {
            return Err(ApiError::aborted(
                "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
            ));
        }
        let serial = self.policies.get(email).map_or(0, |p| {
            p["etag"]
                .as_str()
                .and_then(|e| base64::engine::general_purpose::STANDARD.decode(e).ok())
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.trim_start_matches("genesis-sim-").parse::<u64>().ok())
                .unwrap_or(0)
        });
        let bindings: Vec<Json> = wanted["bindings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["members"].as_array().is_some_and(|m| !m.is_empty()))
            .cloned()
            .collect();
        let mut policy = json!({"version": 1, "etag": etag(serial + 1)});
        if !bindings.is_empty() {
            policy["bindings"] = json!(bindings);
        }
        self.policies.insert(email.to_string(), policy.clone());
        Ok(policy)
    }
}

fn etag(serial: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("genesis-sim-{serial}"))
}
