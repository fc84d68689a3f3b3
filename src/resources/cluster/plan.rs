//! What a cluster's plan fills in that its configuration leaves out, per
//! cloud: the defaults `environment` chooses, and the values that follow
//! from other settings (a private cluster's control-plane range, an EKS
//! cluster's private endpoint and secrets encryption), unknown while what
//! they follow from is. Read from typed views of the configuration, the
//! plan and the prior state (`framework::view`).

use super::mode;
use super::model::GKE_ONLY;
use super::schema::*;
use crate::framework::diagnostics::Diagnostics;
use crate::framework::field::Field;
use crate::framework::path::AttributePath;
use crate::framework::resource::PlanContext;
use crate::framework::value::Value;
use crate::framework::view;

/// What the planning reads of a configuration, a plan or a prior state.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PlanView {
    cloud: Field<String>,
    zone: Field<String>,
    regional_cluster: Field<bool>,
    kubernetes_version: Field<String>,
    enable_private_cluster: Field<bool>,
    enable_private_endpoint: Field<bool>,
    master_ipv4_cidr_block: Field<String>,
    logging_components: Field<Vec<Field<String>>>,
    eks: Field<EksPlanView>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EksPlanView {
    endpoint_private_access: Field<bool>,
    secrets_encryption: Field<bool>,
    kms_key_arn: Field<String>,
    authentication_mode: Field<String>,
}

/// The configuration (as written), the plan as Terraform proposed it
/// (before this planning) and the prior state.
struct Views {
    written: PlanView,
    proposed: PlanView,
    prior: PlanView,
}

impl Views {
    fn of(ctx: &PlanContext<'_>, planned: &Value, diags: &mut Diagnostics) -> Option<Views> {
        // A create has no prior state.
        let prior = match ctx.prior {
            Value::Null => Ok(PlanView::default()),
            prior => view::as_written::<PlanView>(prior),
        };
        let decoded = (
            view::as_written::<PlanView>(ctx.config),
            view::as_written::<PlanView>(planned),
            prior,
        );
        match decoded {
            (Ok(written), Ok(proposed), Ok(prior)) => Some(Views {
                written,
                proposed,
                prior,
            }),
            (Err(d), _, _) | (_, Err(d), _) | (_, _, Err(d)) => {
                diags.extend(d);
                None
            }
        }
    }
}

/// What EKS cannot change in place: it can start encrypting secrets,
/// never stop or change the key.
pub fn eks_replaced_by(prior: &Value, planned: &Value) -> Vec<AttributePath> {
    let (Ok(was), Ok(now)) = (
        view::as_written::<PlanView>(prior),
        view::as_written::<PlanView>(planned),
    ) else {
        return Vec::new();
    };
    let (Some(was), Some(now)) = (was.eks.known(), now.eks.known()) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    if was.secrets_encryption.known() == Some(&true)
        && now.secrets_encryption.known() == Some(&false)
    {
        paths.push(AttributePath::attr("eks").join("secrets_encryption"));
    }
    // EKS never changes a cluster's key. One known only at apply (from a
    // resource planned in the same run) may differ: replaced, as
    // terraform-plugin-framework's RequiresReplace does, so that the final
    // plan never turns an update into a replacement.
    let key_changes = match (&was.kms_key_arn, &now.kms_key_arn) {
        (Field::Known(was), Field::Known(now)) => was != now,
        (Field::Known(_), Field::Unknown) => true,
        _ => false,
    };
    if key_changes {
        paths.push(AttributePath::attr("eks").join("kms_key_arn"));
    }
    paths
}

/// Whether the plan changes the Kubernetes version the cluster had (an
/// unknown one may).
pub fn changes_version(prior: &Value, planned: &Value) -> bool {
    match (
        view::as_written::<PlanView>(prior),
        view::as_written::<PlanView>(planned),
    ) {
        (Ok(was), Ok(now)) => was.kubernetes_version != now.kubernetes_version,
        _ => true,
    }
}

/// What decides the environment's defaults.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EnvironmentView {
    environment: Field<String>,
    deletion_protection: Field<bool>,
}

/// Plans what the configuration leaves to `environment` and the cloud.
/// While the environment is unknown (it comes from another resource),
/// the plan is made for each environment it may be, and what they
/// disagree on is unknown: a plan never shows a default the apply may not
/// keep. Only what every environment reports is reported then.
pub fn plan_environment_defaults(
    ctx: &PlanContext<'_>,
    planned: &mut Value,
    diags: &mut Diagnostics,
) {
    let environment = match view::as_written::<EnvironmentView>(planned) {
        Ok(view) => view.environment,
        Err(refused) => return diags.extend(refused),
    };
    // Whether the configuration leaves deletion protection to the
    // environment, read once for every environment tried.
    let protection_left_out = view::as_written::<EnvironmentView>(ctx.config)
        .unwrap_or_default()
        .deletion_protection
        .is_null();
    let plan_for = |planned: &mut Value, environment: &str, diags: &mut Diagnostics| {
        let defaults = environment_defaults(environment);
        if protection_left_out {
            planned.set_attr("deletion_protection", defaults.deletion_protection.into());
        }
        plan_cloud_defaults(ctx, planned, &defaults, diags);
    };
    if let Field::Known(environment) = environment {
        return plan_for(planned, &environment, diags);
    }
    let mut plans = ENVIRONMENTS.iter().map(|environment| {
        let mut plan = planned.clone();
        let mut found = Diagnostics::new();
        plan_for(&mut plan, environment, &mut found);
        (plan, found)
    });
    let Some((mut agreed, reported)) = plans.next() else {
        return;
    };
    let mut reported = reported.into_vec();
    for (plan, found) in plans {
        agreed = agreement(agreed, plan);
        let found = found.into_vec();
        reported.retain(|d| found.contains(d));
    }
    *planned = agreed;
    for d in reported {
        diags.push(d);
    }
}

/// `planned` with every value the configuration sets put back: a plan for
/// the other cloud clears that cloud's settings, which the rules refuse
/// only once the cloud is known.
fn written_kept(planned: Value, config: &Value) -> Value {
    let kept = |mut planned: std::collections::BTreeMap<String, Value>,
                written: &std::collections::BTreeMap<String, Value>| {
        for (name, value) in written {
            if value.is_null() {
                continue;
            }
            let ours = planned.remove(name).unwrap_or_default();
            planned.insert(name.clone(), written_kept(ours, value));
        }
        planned
    };
    match (planned, config) {
        (Value::Object(planned), Value::Object(written)) => Value::Object(kept(planned, written)),
        (Value::Map(planned), Value::Map(written)) => Value::Map(kept(planned, written)),
        (_, written) => written.clone(),
    }
}

/// What two plans agree on, attribute by attribute; unknown elsewhere.
fn agreement(one: Value, other: Value) -> Value {
    match (one, other) {
        (one, other) if one == other => one,
        (Value::Object(mut one), Value::Object(other)) => {
            for (name, theirs) in other {
                let ours = one.remove(&name).unwrap_or_default();
                one.insert(name, agreement(ours, theirs));
            }
            Value::Object(one)
        }
        _ => Value::Unknown,
    }
}

/// Fills in what the configuration leaves to the cloud's defaults.
fn plan_cloud_defaults(
    ctx: &PlanContext<'_>,
    planned: &mut Value,
    defaults: &EnvironmentDefaults,
    diags: &mut Diagnostics,
) {
    let Some(views) = Views::of(ctx, planned, diags) else {
        return;
    };
    match &views.proposed.cloud {
        Field::Known(cloud) if cloud == "aws" => plan_eks(ctx, &views, planned, defaults, diags),
        Field::Unknown => {
            // Known only at apply: what both clouds' plans agree on, and
            // the diagnostics both raise.
            let (mut gke, mut eks) = (planned.clone(), planned.clone());
            let (mut on_gke, mut on_eks) = (Diagnostics::new(), Diagnostics::new());
            plan_gke(ctx, &views, &mut gke, defaults, &mut on_gke);
            plan_eks(ctx, &views, &mut eks, defaults, &mut on_eks);
            *planned = written_kept(agreement(gke, eks), ctx.config);
            let on_eks = on_eks.into_vec();
            for d in on_gke.into_vec() {
                if on_eks.contains(&d) {
                    diags.push(d);
                }
            }
        }
        _ => plan_gke(ctx, &views, planned, defaults, diags),
    }
}

fn set_of(items: &[&str]) -> Value {
    Value::set(items.iter().map(|s| Value::from(*s)).collect())
}

fn plan_gke(
    ctx: &PlanContext<'_>,
    views: &Views,
    planned: &mut Value,
    defaults: &EnvironmentDefaults,
    diags: &mut Diagnostics,
) {
    let Views {
        written,
        proposed,
        prior,
    } = views;
    if proposed.regional_cluster.known() == Some(&false) && written.zone.is_null() {
        match &ctx.provider.config.zone {
            Some(zone) => planned.set_attr("zone", zone.clone().into()),
            None => diags.attribute_error(
                AttributePath::attr("zone"),
                "No zone for a zonal cluster",
                "regional_cluster = false needs a zone: set `zone` here or `zone` in the provider block (or GOOGLE_ZONE).",
            ),
        }
    }
    if written.kubernetes_version.is_null() {
        // GKE reports no requested version: left out, it stays null.
        planned.set_attr(
            "kubernetes_version",
            prior.kubernetes_version.clone().into(),
        );
    }
    let g = &defaults.gke;
    let config = ctx.config;
    let mut default = |name: &str, value: Value| {
        if config.get(name).is_null() {
            planned.set_attr(name, value);
        }
    };
    default("release_channel", g.release_channel.into());
    default("enable_private_cluster", g.enable_private_cluster.into());
    default(
        "enable_binary_authorization",
        g.enable_binary_authorization.into(),
    );
    default(
        "enable_managed_prometheus",
        g.enable_managed_prometheus.into(),
    );
    for (name, value) in GKE_FIXED_DEFAULTS {
        default(name, (*value).into());
    }
    default("network", "default".into());
    default("subnetwork", "default".into());
    default("logging_components", set_of(GKE_DEFAULT_LOGGING));
    default("monitoring_components", set_of(GKE_DEFAULT_MONITORING));
    // The environment's default where the configuration says nothing.
    let private = written.enable_private_cluster.or(g.enable_private_cluster);
    if written.master_ipv4_cidr_block.is_null() {
        planned.set_attr(
            "master_ipv4_cidr_block",
            match private {
                Some(true) => DEFAULT_MASTER_CIDR.into(),
                Some(false) => Value::Null,
                None => Value::Unknown,
            },
        );
    }
    if written.enable_private_endpoint.known() == Some(&true) && private == Some(false) {
        diags.attribute_error(
            AttributePath::attr("enable_private_endpoint"),
            "Private endpoint needs a private cluster",
            "enable_private_endpoint requires enable_private_cluster = true, which this environment does not default to: set it explicitly.",
        );
    }
}

fn plan_eks(
    ctx: &PlanContext<'_>,
    views: &Views,
    planned: &mut Value,
    defaults: &EnvironmentDefaults,
    diags: &mut Diagnostics,
) {
    let Views {
        written,
        proposed,
        prior,
    } = views;
    for name in GKE_ONLY {
        planned.set_attr(name, Value::Null);
    }
    let e = &defaults.eks;
    if written.logging_components.is_null() {
        planned.set_attr("logging_components", set_of(e.log_types));
    }
    let (Field::Known(wanted), Field::Known(was_planned)) = (&written.eks, &proposed.eks) else {
        return;
    };
    let Some(eks) = planned.get_mut("eks") else {
        return;
    };
    // Planned from values that may come from other resources: unknown
    // until they are known, unless the default decides alone.
    if wanted.endpoint_private_access.is_null() {
        let private_endpoint = written.enable_private_endpoint.or(false);
        eks.set_attr(
            "endpoint_private_access",
            default_or(e.endpoint_private_access, private_endpoint),
        );
    }
    let secrets = if wanted.secrets_encryption.is_null() {
        let keyed = wanted.kms_key_arn.set();
        let secrets = default_or(e.secrets_encryption, keyed);
        eks.set_attr("secrets_encryption", secrets.clone());
        secrets
    } else {
        wanted.secrets_encryption.into()
    };
    if secrets.as_bool() == Some(false) && wanted.kms_key_arn.is_null() {
        eks.set_attr("kms_key_arn", Value::Null);
    } else if wanted.kms_key_arn.is_null() && was_planned.kms_key_arn.is_null() {
        // Turning encryption on: the key Genesis creates is known after apply.
        eks.set_attr("kms_key_arn", Value::Unknown);
    }
    if let Some(addons) = mode::planned_addons(ctx.config, ctx.prior) {
        eks.set_attr("addons", addons);
    }
    // EKS moves the authentication mode one way only.
    let rank = |m: Option<&str>| EKS_AUTHENTICATION_MODES.iter().position(|x| Some(*x) == m);
    let was = prior
        .eks
        .known()
        .and_then(|e| e.authentication_mode.as_str());
    let now = was_planned.authentication_mode.as_str();
    if let (Some(a), Some(b)) = (rank(was), rank(now))
        && b < a
    {
        diags.attribute_error(
            AttributePath::attr("eks").join("authentication_mode"),
            "Authentication mode cannot go back",
            format!(
                "EKS changes the authentication mode only towards API (CONFIG_MAP -> API_AND_CONFIG_MAP -> API); this cluster is at {}, so {} is refused. Nothing was changed.",
                was.unwrap_or_default(),
                now.unwrap_or_default()
            ),
        );
    }
}

/// A setting whose environment default is `true` is planned true; one
/// whose default is off follows `setting`, unknown while it is.
fn default_or(default: bool, setting: Option<bool>) -> Value {
    match (default, setting) {
        (true, _) => Value::Bool(true),
        (false, Some(on)) => Value::Bool(on),
        (false, None) => Value::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eks(secrets_encryption: bool, kms_key_arn: Option<&str>) -> Value {
        let mut cluster = schema().block.null_object();
        cluster.set_attr("cloud", "aws".into());
        cluster.set_attr(
            "eks",
            Value::object([
                ("secrets_encryption", secrets_encryption.into()),
                (
                    "kms_key_arn",
                    kms_key_arn.map(Value::from).unwrap_or_default(),
                ),
            ]),
        );
        cluster
    }

    #[test]
    fn a_plan_for_either_cloud_keeps_what_the_configuration_sets() {
        let planned = Value::object([
            ("release_channel", Value::Unknown),
            ("network", Value::Unknown),
            (
                "storage_classes",
                Value::Map(
                    [(
                        "fast".to_string(),
                        Value::object([("type", Value::Unknown), ("binding", "Wait".into())]),
                    )]
                    .into(),
                ),
            ),
        ]);
        let config = Value::object([
            ("release_channel", Value::Null),
            ("network", "vpc".into()),
            (
                "storage_classes",
                Value::Map(
                    [(
                        "fast".to_string(),
                        Value::object([("type", "pd-ssd".into()), ("binding", Value::Null)]),
                    )]
                    .into(),
                ),
            ),
        ]);
        // Left out: as planned; set: as written; inside what is set, as
        // planned where the configuration says nothing.
        let expected = Value::object([
            ("release_channel", Value::Unknown),
            ("network", "vpc".into()),
            (
                "storage_classes",
                Value::Map(
                    [(
                        "fast".to_string(),
                        Value::object([("type", "pd-ssd".into()), ("binding", "Wait".into())]),
                    )]
                    .into(),
                ),
            ),
        ]);
        assert_eq!(written_kept(planned, &config), expected);
    }

    #[test]
    fn eks_starts_encrypting_secrets_in_place_and_never_stops() {
        let key = Some("arn:aws:kms:eu-west-1:1:key/a");
        assert_eq!(eks_replaced_by(&eks(false, None), &eks(true, key)), vec![]);
        assert_eq!(
            eks_replaced_by(&eks(true, key), &eks(false, None)),
            vec![AttributePath::attr("eks").join("secrets_encryption")]
        );
        assert_eq!(
            eks_replaced_by(
                &eks(true, key),
                &eks(true, Some("arn:aws:kms:eu-west-1:1:key/b"))
            ),
            vec![AttributePath::attr("eks").join("kms_key_arn")]
        );
        let mut unknown_key = eks(true, None);
        unknown_key.set_attr(
            "eks",
            Value::object([
                ("secrets_encryption", true.into()),
                ("kms_key_arn", Value::Unknown),
            ]),
        );
        assert_eq!(
            eks_replaced_by(&eks(true, key), &unknown_key),
            vec![AttributePath::attr("eks").join("kms_key_arn")],
            "a key known only at apply may be another"
        );
        assert_eq!(
            eks_replaced_by(&eks(false, None), &unknown_key),
            vec![],
            "the key Genesis makes when encryption comes on"
        );
    }

    #[test]
    fn an_unknown_version_may_change_the_control_plane() {
        let mut was = schema().block.null_object();
        was.set_attr("kubernetes_version", "1.33".into());
        assert!(!changes_version(&was, &was.clone()));
        let mut now = was.clone();
        now.set_attr("kubernetes_version", Value::Unknown);
        assert!(changes_version(&was, &now));
    }
}
