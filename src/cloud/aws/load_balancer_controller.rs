//! The AWS side of the AWS Load Balancer Controller Genesis runs on an EKS
//! cluster with managed node groups (`aws-load-balancer-controller` in
//! `eks.addons`; the Kubernetes side is `kube::load_balancer_controller`).
//! EKS has no add-on for it: Genesis runs it as one of its own
//! (`own_addons.rs`), with an IAM role whose permissions follow the
//! controller's published policy (`docs/install/iam_policy.json` of
//! kubernetes-sigs/aws-load-balancer-controller), narrowed so that it may
//! change or delete only load balancers, target groups and security groups
//! tagged as this cluster's (`elbv2.k8s.aws/cluster`, which the controller
//! puts on everything it makes), never another cluster's.

/// Its name in `eks.addons`, and of its service account and objects.
pub const NAME: &str = "aws-load-balancer-controller";
/// The cluster tag saying Genesis installed it (its role's ARN).
pub const TAG: &str = "genesis-load-balancer-controller";
/// The tag the controller puts on what it makes: the cluster's name.
pub const CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";

/// Whether `addons` (a cluster's `eks.addons`) ask for the controller.
pub fn wanted(addons: &[String]) -> bool {
    super::own_addons::LOAD_BALANCER_CONTROLLER.wanted(addons)
}

const LOAD_BALANCERS: &[&str] = &[
    "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
    "arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*",
    "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*",
];

const LISTENERS: &[&str] = &[
    "arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*",
    "arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
    "arn:aws:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
    "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
];

const SECURITY_GROUPS: &str = "arn:aws:ec2:*:*:security-group/*";

/// The controller's permissions for `cluster`.
pub fn policy(cluster: &str) -> String {
    use serde_json::json;
    let tagged = json!({"StringEquals": {format!("aws:ResourceTag/{CLUSTER_TAG}"): cluster}});
    let tagging = json!({"StringEquals": {format!("aws:RequestTag/{CLUSTER_TAG}"): cluster}});
    let allow = |actions: &[&str], resource: serde_json::Value| json!({"Effect": "Allow", "Action": actions, "Resource": resource});
    let allow_if = |actions: &[&str],
                    resource: serde_json::Value,
                    condition: &serde_json::Value| {
        json!({"Effect": "Allow", "Action": actions, "Resource": resource, "Condition": condition})
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [
            // Elastic Load Balancing's service-linked role, made once per
            // account by the first load balancer.
            allow_if(
                &["iam:CreateServiceLinkedRole"],
                json!("*"),
                &json!({"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}),
            ),
            // What it reads to plan a load balancer: the VPC, subnets,
            // security groups, instances and certificates, and the load
            // balancers themselves.
            allow(
                &[
                    "ec2:Describe*",
                    "ec2:GetCoipPoolUsage",
                    "ec2:GetSecurityGroupsForVpc",
                    "elasticloadbalancing:Describe*",
                    "acm:ListCertificates",
                    "acm:DescribeCertificate",
                    "iam:ListServerCertificates",
                    "iam:GetServerCertificate",
                    "cognito-idp:DescribeUserPoolClient",
                    "waf-regional:GetWebACL",
                    "waf-regional:GetWebACLForResource",
                    "wafv2:GetWebACL",
                    "wafv2:GetWebACLForResource",
                    "shield:GetSubscriptionState",
                    "shield:DescribeProtection",
                ],
                json!("*"),
            ),
            // Web ACLs and Shield protection named by an Ingress's
            // annotations.
            allow(
                &[
                    "waf-regional:AssociateWebACL",
                    "waf-regional:DisassociateWebACL",
                    "wafv2:AssociateWebACL",
                    "wafv2:DisassociateWebACL",
                    "shield:CreateProtection",
                    "shield:DeleteProtection",
                ],
                json!("*"),
            ),
            // Security groups: its own made tagged as the cluster's, and
            // the rules that let its load balancers reach the nodes'.
            allow(&["ec2:CreateSecurityGroup"], json!("*")),
            allow_if(
                &["ec2:CreateTags"],
                json!(SECURITY_GROUPS),
                &json!({
                    "StringEquals": {
                        "ec2:CreateAction": "CreateSecurityGroup",
                        format!("aws:RequestTag/{CLUSTER_TAG}"): cluster,
                    },
                }),
            ),
            allow(
                &["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                json!("*"),
            ),
            allow_if(
                &["ec2:CreateTags", "ec2:DeleteTags", "ec2:DeleteSecurityGroup"],
                json!(SECURITY_GROUPS),
                &tagged,
            ),
            // Load balancers and target groups: made tagged as the
            // cluster's, then changed, tagged and deleted only as such.
            allow_if(
                &["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
                json!("*"),
                &tagging,
            ),
            allow_if(
                &["elasticloadbalancing:AddTags"],
                json!(LOAD_BALANCERS),
                &json!({
                    "StringEquals": {
                        "elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"],
                        format!("aws:RequestTag/{CLUSTER_TAG}"): cluster,
                    },
                }),
            ),
            allow_if(
                &[
                    "elasticloadbalancing:AddTags",
                    "elasticloadbalancing:RemoveTags",
                    "elasticloadbalancing:ModifyLoadBalancerAttributes",
                    "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups",
                    "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyListenerAttributes",
                    "elasticloadbalancing:ModifyCapacityReservation",
                    "elasticloadbalancing:ModifyIpPools",
                ],
                json!("*"),
                &tagged,
            ),
            allow(
                &["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                json!(LOAD_BALANCERS[0]),
            ),
            // Listeners and their rules, which hang off its load balancers.
            allow(
                &[
                    "elasticloadbalancing:CreateListener",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:CreateRule",
                    "elasticloadbalancing:DeleteRule",
                    "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:SetRulePriorities",
                    "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates",
                    "elasticloadbalancing:SetWebAcl",
                ],
                json!("*"),
            ),
            allow(
                &["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                json!(LISTENERS),
            ),
        ],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(cluster: &str) -> Vec<serde_json::Value> {
        let policy: serde_json::Value = serde_json::from_str(&policy(cluster)).unwrap();
        policy["Statement"].as_array().unwrap().clone()
    }

    fn granting(cluster: &str, action: &str) -> Vec<serde_json::Value> {
        statements(cluster)
            .into_iter()
            .filter(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action))
            .collect()
    }

    #[test]
    fn it_deletes_only_its_own_clusters_load_balancers() {
        for action in [
            "elasticloadbalancing:DeleteLoadBalancer",
            "elasticloadbalancing:DeleteTargetGroup",
            "ec2:DeleteSecurityGroup",
        ] {
            let grants = granting("prod", action);
            assert_eq!(grants.len(), 1, "{action}");
            assert_eq!(
                grants[0]["Condition"]["StringEquals"]["aws:ResourceTag/elbv2.k8s.aws/cluster"],
                "prod",
                "{action}"
            );
        }
        let create = granting("prod", "elasticloadbalancing:CreateLoadBalancer");
        assert_eq!(
            create[0]["Condition"]["StringEquals"]["aws:RequestTag/elbv2.k8s.aws/cluster"],
            "prod"
        );
    }

    #[test]
    fn it_fits_in_an_inline_policy() {
        // IAM's limit for a role's inline policies, spaces not counted.
        let compact: String = policy("a-cluster-name-of-a-hundred-characters-".repeat(3).as_str())
            .split_whitespace()
            .collect();
        assert!(compact.len() < 10_240, "{}", compact.len());
    }
}
