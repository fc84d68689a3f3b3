//! EKS Pod Identity associations: the IAM role the pods of one service
//! account in one namespace get through the pod identity agent. One
//! association per namespace and service account; created, described,
//! listed (filtered by namespace and service account, as summaries, in
//! pages of `maxResults`),
//! updated (the role) and deleted as the service model says.

use serde_json::{Value as Json, json};

use super::{ACCOUNT, AwsError, Context, Eks, now_epoch};

impl Eks {
    pub(super) fn create_pod_identity_association(
        &mut self,
        ctx: &mut Context<'_>,
    ) -> Result<Json, AwsError> {
        let arn = ctx.cluster_arn();
        let cluster = self.cluster(&arn)?["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let body = ctx.body.clone();
        let field = |name: &str| body[name].as_str().unwrap_or_default().to_string();
        let (namespace, account, role) = (
            field("namespace"),
            field("serviceAccount"),
            field("roleArn"),
        );
        for (name, value) in [
            ("namespace", &namespace),
            ("serviceAccount", &account),
            ("roleArn", &role),
        ] {
            if value.is_empty() {
                return Err(AwsError::invalid(format!("{name} is required")));
            }
        }
        let taken = self
            .pod_identity_associations
            .get(&arn)
            .into_iter()
            .flat_map(|a| a.values())
            .any(|a| {
                a["namespace"] == namespace.as_str() && a["serviceAccount"] == account.as_str()
            });
        if taken {
            return Err(AwsError::in_use(format!(
                "Association already exists for namespace {namespace} and service account {account}"
            )));
        }
        let id = format!("a-{:017x}", ctx.next_id);
        let association = json!({
            "clusterName": cluster,
            "namespace": namespace,
            "serviceAccount": account,
            "roleArn": role,
            "associationArn": format!("arn:aws:eks:{}:{ACCOUNT}:podidentityassociation/{cluster}/{id}", ctx.region),
            "associationId": id,
            "tags": body["tags"].as_object().cloned().unwrap_or_default(),
            "createdAt": now_epoch(),
            "modifiedAt": now_epoch(),
            "disableSessionTags": body["disableSessionTags"].as_bool().unwrap_or(false),
        });
        self.pod_identity_associations
            .entry(arn)
            .or_default()
            .insert(id, association.clone());
        Ok(json!({"association": association}))
    }

    fn association(&mut self, ctx: &Context<'_>) -> Result<&mut Json, AwsError> {
        let arn = ctx.cluster_arn();
        self.cluster(&arn)?;
        let id = ctx.param("associationId").to_string();
        self.pod_identity_associations
            .get_mut(&arn)
            .and_then(|a| a.get_mut(&id))
            .ok_or_else(|| AwsError::not_found(format!("No association found for ID: {id}")))
    }

    pub(super) fn pod_identity(&mut self, ctx: &mut Context<'_>) -> Result<Json, AwsError> {
        match ctx.operation {
            "CreatePodIdentityAssociation" => self.create_pod_identity_association(ctx),
            "DescribePodIdentityAssociation" => {
                Ok(json!({"association": self.association(ctx)?.clone()}))
            }
            "UpdatePodIdentityAssociation" => {
                let role = ctx.body["roleArn"].clone();
                let association = self.association(ctx)?;
                if role.is_string() {
                    association["roleArn"] = role;
                    association["modifiedAt"] = json!(now_epoch());
                }
                Ok(json!({"association": association.clone()}))
            }
            "DeletePodIdentityAssociation" => {
                let gone = self.association(ctx)?.clone();
                let id = ctx.param("associationId").to_string();
                if let Some(all) = self.pod_identity_associations.get_mut(&ctx.cluster_arn()) {
                    all.remove(&id);
                }
                Ok(json!({"association": gone}))
            }
            _ => {
                let arn = ctx.cluster_arn();
                self.cluster(&arn)?;
                let (namespace, account) =
                    (ctx.query_one("namespace"), ctx.query_one("serviceAccount"));
                let summaries: Vec<Json> = self
                    .pod_identity_associations
                    .get(&arn)
                    .into_iter()
                    .flat_map(|a| a.values())
                    .filter(|a| namespace.is_none_or(|n| a["namespace"] == n))
                    .filter(|a| account.is_none_or(|s| a["serviceAccount"] == s))
                    .map(|a| {
                        json!({
                            "clusterName": a["clusterName"],
                            "namespace": a["namespace"],
                            "serviceAccount": a["serviceAccount"],
                            "associationArn": a["associationArn"],
                            "associationId": a["associationId"],
                        })
                    })
                    .collect();
                // Pages of maxResults (1 to 100, 100 when left out); the
                // token is where the next page starts.
                let size = match ctx.query_one("maxResults") {
                    None => 100,
                    Some(n) => match n.parse::<usize>() {
                        Ok(n @ 1..=100) => n,
                        _ => {
                            return Err(AwsError::invalid(
                                "maxResults must be between 1 and 100".to_string(),
                            ));
                        }
                    },
                };
                let start = match ctx.query_one("nextToken") {
                    None => 0,
                    Some(token) => token
                        .parse::<usize>()
                        .ok()
                        .filter(|&at| at <= summaries.len())
                        .ok_or_else(|| {
                            AwsError::invalid("The nextToken is not valid".to_string())
                        })?,
                };
                let end = (start + size).min(summaries.len());
                let mut page = json!({"associations": summaries[start..end]});
                if end < summaries.len() {
                    page["nextToken"] = json!(end.to_string());
                }
                Ok(page)
            }
        }
    }
}
