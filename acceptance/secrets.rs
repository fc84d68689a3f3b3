//! genesis_cluster's `secret_stores` and genesis_workload's
//! `external_secrets` against genesis-sim with the External Secrets
//! Operator's own CustomResourceDefinitions (v0.16.2's, from `scripts/peers
//! external-secrets-crds`) and genesis-sim's simulated operator: refused
//! at plan time while the cluster has no operator, then a ClusterSecretStore
//! and an ExternalSecret whose Secret feeds the container, with the value
//! nowhere in Terraform's state; read back (no change, drift, import), a
//! value the store lacks failing the apply with the operator's reason, a
//! store Genesis did not make never taken over, and all removed with the
//! settings. The same secrets as files, mounted from the operator's
//! Secret.

use base64::Engine;
use serde_json::Value as Json;

use crate::harness::{Sim, Workspace, each_terraform};

const CLUSTER: &str = "projects/p/locations/us-central1/clusters/apps";
const VALUE: &str = "correct-horse-battery-staple";

const STORES: &str = r#"secret_stores = {
    gcp = { google_secret_manager = { project_id = "p" } }
  }
  kubernetes_namespaces"#;

/// The configuration: the workload with `secrets`, the cluster with the
/// store they read when `stores`.
fn config_with(secrets: &str, stores: bool) -> String {
    let stores = if stores {
        STORES
    } else {
        "kubernetes_namespaces"
    };
    format!(
        r#"{cluster}
{outputs}

resource "genesis_workload" "api" {{
  cluster   = genesis_cluster.main.id
  namespace = "apps"
  name      = "api"
  image     = "nginx:1.27"
  env       = {{ LOG_LEVEL = "info" }}
  {secrets}
}}
"#,
        outputs = crate::harness::CLUSTER_OUTPUTS,
        cluster = crate::harness::apps_cluster(&["apps"]).replace("kubernetes_namespaces", stores)
    )
}

const SECRETS: &str = r#"
  external_secrets = {
    DB_PASSWORD = { store = "gcp", key = "db-password", version = "latest" }
    API_TOKEN   = { store = "gcp", key = "api", property = "token" }
  }
  external_secrets_refresh_interval = "30m"
"#;

/// A ClusterSecretStore someone else made.
const FOREIGN_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault
spec:
  provider:
    vault:
      server: https://vault.example.com:8200
      auth:
        kubernetes:
          role: theirs
"#;

fn config(secrets: &str) -> String {
    config_with(secrets, !secrets.is_empty())
}

fn object(sim: &Sim, path: &str) -> Json {
    sim.state()["kube"][CLUSTER]["objects"]["objects"][path].clone()
}

#[test]
fn external_secrets_feed_the_workload_and_never_enter_the_state() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let ws = Workspace::new(tf, &[("main.tf", &config(""))]).against(&sim);
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();

        // No operator in the cluster: the plan says what to install, for
        // the workload, and for the stores (whose failure stops the plan
        // before the workload's).
        for (stores, setting) in [(false, "external_secrets"), (true, "secret_stores")] {
            ws.write("main.tf", &config_with(SECRETS, stores));
            let plan = ws.run(&["plan", "-input=false", "-no-color"]);
            assert!(
                !plan.status.success()
                    && plan
                        .stderr
                        .contains("The External Secrets Operator is not installed")
                    && plan.stderr.contains(&format!("remove `{setting}`")),
                "{}",
                plan.stderr
            );
        }

        let kubectl = ws.cluster_kubectl(&sim, "apps");
        crate::harness::install_external_secrets(&kubectl);
        sim.put_secret("db-password", VALUE);
        sim.put_secret("api", r#"{"token": "t0ken-from-the-store"}"#);

        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let store = object(&sim, "external-secrets.io/clustersecretstores//gcp");
        assert_eq!(
            store["spec"]["provider"]["gcpsm"]["projectID"], "p",
            "{store}"
        );
        assert_eq!(store["status"]["conditions"][0]["reason"], "Valid");
        let es = object(&sim, "external-secrets.io/externalsecrets/apps/api");
        assert_eq!(es["spec"]["refreshInterval"], "30m", "{es}");
        assert_eq!(es["spec"]["target"]["name"], "api-external-secrets");
        assert_eq!(es["status"]["conditions"][0]["reason"], "SecretSynced");
        let secret = object(&sim, "/secrets/apps/api-external-secrets");
        let decoded = |key: &str| {
            let data = secret["data"][key].as_str().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap();
            String::from_utf8(bytes).unwrap()
        };
        assert_eq!(decoded("DB_PASSWORD"), VALUE);
        assert_eq!(decoded("API_TOKEN"), "t0ken-from-the-store");
        let deployment = object(&sim, "apps/deployments/apps/api");
        let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"];
        let db = env
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "DB_PASSWORD")
            .unwrap();
        assert_eq!(
            db["valueFrom"]["secretKeyRef"],
            serde_json::json!({"name": "api-external-secrets", "key": "DB_PASSWORD"})
        );

        // The value is nowhere in what Terraform keeps or shows.
        let state = std::fs::read_to_string(ws.dir.path().join("terraform.tfstate")).unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(VALUE);
        for secret in [VALUE, encoded.as_str(), "t0ken-from-the-store"] {
            assert!(!state.contains(secret), "{secret} in the state");
        }
        let shown = ws.run(&["show", "-json"]).ok().stdout;
        assert!(!shown.contains(VALUE) && !shown.contains(&encoded));
        assert!(!ws.plan_has_changes(), "the ExternalSecret reads back");

        // A value rotated in the store reaches the Secret once the refresh
        // interval has passed, with nothing for Terraform to do.
        sim.put_secret("db-password", "rotated-battery");
        let rotated = base64::engine::general_purpose::STANDARD.encode("rotated-battery");
        let at =
            |key: &str| object(&sim, "/secrets/apps/api-external-secrets")["data"][key].clone();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_ne!(
            at("DB_PASSWORD"),
            rotated.as_str(),
            "not before the interval"
        );
        sim.control(
            "POST",
            "/_sim/clock",
            Some(serde_json::json!({"seconds": 31 * 60})),
        );
        let started = std::time::Instant::now();
        while at("DB_PASSWORD") != rotated.as_str() {
            assert!(
                started.elapsed().as_secs() < 10,
                "the rotated value never arrived"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(!ws.plan_has_changes(), "a rotation is no diff");

        // A key changed behind Terraform's back shows, and goes back.
        let path = "/apis/external-secrets.io/v1/namespaces/apps/externalsecrets/api";
        let mut data = es["spec"]["data"].clone();
        let db = data
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|d| d["secretKey"] == "DB_PASSWORD")
            .unwrap();
        db["remoteRef"]["key"] = "other-password".into();
        sim.patch_kube(CLUSTER, path, serde_json::json!({"spec": {"data": data}}));
        ws.assert_plan_counts((0, 1, 0));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(!ws.plan_has_changes());

        // Imported, the cluster reads its stores back and the workload its
        // external secrets.
        ws.reimport_all();
        ws.assert_plan_counts((0, 0, 0));

        // As files: the operator's Secret mounted read-only, no variables;
        // read back, and imported, as such.
        let files = format!("{SECRETS}  external_secrets_mount_path = \"/var/run/secrets/app\"\n");
        ws.write("main.tf", &config(&files));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        let pod = object(&sim, "apps/deployments/apps/api")["spec"]["template"]["spec"].clone();
        let container = &pod["containers"][0];
        assert!(
            container["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| {
                    m["name"] == "external-secrets"
                        && m["mountPath"] == "/var/run/secrets/app"
                        && m["readOnly"] == true
                }),
            "{container}"
        );
        assert!(
            pod["volumes"].as_array().unwrap().iter().any(|v| {
                v["name"] == "external-secrets"
                    && v["secret"]["secretName"] == "api-external-secrets"
            }),
            "{pod}"
        );
        let variables = container["env"].to_string();
        assert!(!variables.contains("DB_PASSWORD"), "{variables}");
        assert!(!ws.plan_has_changes(), "files read back");
        ws.reimport_all();
        ws.assert_plan_counts((0, 0, 0));

        // A store of the same name that Genesis did not make stays theirs.
        let foreign = ws.dir.path().join("foreign.yaml");
        std::fs::write(&foreign, FOREIGN_STORE).unwrap();
        kubectl(&["apply", "-f", foreign.to_str().unwrap()]);
        let with_vault = config(SECRETS).replace(
            "gcp = { google_secret_manager",
            "vault = { vault = { server = \"https://vault.internal:8200\", role = \"genesis\" } }\n    gcp = { google_secret_manager",
        );
        ws.write("main.tf", &with_vault);
        let refused = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        assert!(
            !refused.status.success()
                && refused
                    .stderr
                    .contains("ClusterSecretStore \"vault\" already exists"),
            "{}",
            refused.stderr
        );
        let vault = object(&sim, "external-secrets.io/clustersecretstores//vault");
        assert_eq!(
            vault["spec"]["provider"]["vault"]["auth"]["kubernetes"]["role"],
            "theirs"
        );

        // A value the store does not hold fails the apply with the
        // operator's reason.
        let missing = SECRETS.replace("key = \"api\"", "key = \"no-such-secret\"");
        ws.write("main.tf", &config(&missing));
        let failed = ws.run(&["apply", "-input=false", "-auto-approve", "-no-color"]);
        assert!(!failed.status.success());
        assert!(
            failed.stderr.contains("Secrets not synced")
                && failed
                    .stderr
                    .contains("could not get secret data from provider"),
            "{}",
            failed.stderr
        );
        // The pods keep the last synced values, and the next plan says the
        // workload is not done.
        let plan = ws.run(&["plan", "-input=false", "-no-color"]).ok().stdout;
        assert!(plan.contains("\"Failed\" -> (known after apply)"), "{plan}");

        // Without external secrets and stores, the ExternalSecret, its
        // Secret and Genesis's store go; the foreign store stays.
        ws.write("main.tf", &config(""));
        ws.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(object(&sim, "external-secrets.io/externalsecrets/apps/api").is_null());
        assert!(object(&sim, "external-secrets.io/clustersecretstores//gcp").is_null());
        assert!(!object(&sim, "external-secrets.io/clustersecretstores//vault").is_null());
        let started = std::time::Instant::now();
        while !object(&sim, "/secrets/apps/api-external-secrets").is_null() {
            assert!(started.elapsed().as_secs() < 10, "the Secret goes with it");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(!ws.plan_has_changes());
    });
}
