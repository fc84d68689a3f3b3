//! A real Kubernetes API server for the acceptance tests: etcd,
//! kube-apiserver and kube-controller-manager (so Deployments get their
//! ReplicaSets and Pods, namespaces are finalized and the garbage collector
//! runs), built from the Go module proxy by `scripts/peers kube` at a pinned
//! release, started on loopback with a throwaway CA and a static token, and
//! stopped when dropped. No kubelet or scheduler runs, and pods stay
//! Pending, unless the test asks for nodes (`start_with_nodes`): then
//! kube-scheduler places pods on a node that KWOK (sigs.k8s.io/kwok, from
//! `scripts/peers kwok`) plays the kubelet of, turning them Running and
//! Ready, so rollouts complete as on a cluster (no container runs).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;

use crate::harness::{Sim, peer};

/// The token the tests and the provider present; in group system:masters.
/// genesis-sim's own token is accepted too, as another administrator, for
/// GKE clusters whose API server is this one (`Sim::with_real_api_server`).
const TOKEN: &str = "genesis-acceptance-admin";

pub struct ApiServer {
    pub dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`, as a GKE cluster's `endpoint`.
    pub endpoint: String,
    pub ca_pem: String,
    /// The kubeconfig (JSON) that reaches the server as an administrator.
    pub kubeconfig: String,
    children: Vec<(&'static str, Child)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl ApiServer {
    /// etcd, kube-apiserver and kube-controller-manager on free ports.
    /// A port found free can be taken by another test before etcd or the
    /// API server binds it: such a start is tried again on other ports.
    pub fn start() -> ApiServer {
        ApiServer::start_with_audit(false)
    }

    /// The server with an audit log of every request's verb, resource and
    /// User-Agent, so that a test counts the calls the provider made
    /// ([`ApiServer::calls_of`]).
    pub fn start_audited() -> ApiServer {
        ApiServer::start_with_audit(true)
    }

    fn start_with_audit(audit: bool) -> ApiServer {
        for attempt in 1.. {
            match ApiServer::try_start(audit) {
                Ok(server) => return server,
                Err(taken) if attempt < 3 => eprintln!("a port was taken, starting again: {taken}"),
                Err(taken) => panic!("{taken}"),
            }
        }
        unreachable!()
    }

    fn try_start(audit: bool) -> Result<ApiServer, String> {
        let bin = peer("kube");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let path = |name: &str| root.join(name).to_str().unwrap().to_string();
        let (ca, cert, key) = crate::harness::loopback_certificates("kube-apiserver");
        std::fs::write(path("ca.crt"), &ca).unwrap();
        std::fs::write(path("apiserver.crt"), &cert).unwrap();
        std::fs::write(path("apiserver.key"), &key).unwrap();
        // Service account tokens are signed with this key (ECDSA P-256).
        let accounts = rcgen::KeyPair::generate().unwrap();
        std::fs::write(path("service-accounts.key"), accounts.serialize_pem()).unwrap();
        std::fs::write(path("service-accounts.pub"), accounts.public_key_pem()).unwrap();
        std::fs::write(
            path("tokens.csv"),
            format!(
                "{TOKEN},genesis-admin,genesis-admin,\"system:masters\"\n{},genesis-sim,genesis-sim,\"system:masters\"\n",
                genesis_sim::DEV_TOKEN
            ),
        )
        .unwrap();

        let (etcd_port, peer_port, secure_port) = (free_port(), free_port(), free_port());
        let endpoint = format!("127.0.0.1:{secure_port}");
        let url = format!("https://{endpoint}");
        let kubeconfig = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "real", "cluster": {
                "server": url,
                "certificate-authority-data":
                    base64::engine::general_purpose::STANDARD.encode(&ca),
            }}],
            "users": [{"name": "admin", "user": {"token": TOKEN}}],
            "contexts": [{"name": "real", "context": {"cluster": "real", "user": "admin"}}],
            "current-context": "real",
        })
        .to_string();
        std::fs::write(path("kubeconfig"), &kubeconfig).unwrap();

        let mut server = ApiServer {
            dir,
            endpoint,
            ca_pem: ca,
            kubeconfig,
            children: Vec::new(),
        };
        let etcd = format!("http://127.0.0.1:{etcd_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        server.spawn(
            &bin,
            "etcd",
            &[
                &format!("--data-dir={}", path("etcd")),
                &format!("--listen-client-urls={etcd}"),
                &format!("--advertise-client-urls={etcd}"),
                &format!("--listen-peer-urls={peer}"),
                &format!("--initial-advertise-peer-urls={peer}"),
                &format!("--initial-cluster=default={peer}"),
                // A test's data is thrown away: no fsync per write.
                "--unsafe-no-fsync",
            ],
        );
        // One line per request, when its response is complete (a watch's
        // when it ends).
        std::fs::write(
            path("audit-policy.yaml"),
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived, ResponseStarted]\nrules:\n- level: Metadata\n",
        )
        .unwrap();
        let mut args = vec![
            format!("--etcd-servers={etcd}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={secure_port}"),
            format!("--cert-dir={}", path("certs")),
            format!("--tls-cert-file={}", path("apiserver.crt")),
            format!("--tls-private-key-file={}", path("apiserver.key")),
            format!("--token-auth-file={}", path("tokens.csv")),
            "--authorization-mode=Node,RBAC".into(),
            "--service-account-issuer=https://kubernetes.default.svc".into(),
            format!(
                "--service-account-key-file={}",
                path("service-accounts.pub")
            ),
            format!(
                "--service-account-signing-key-file={}",
                path("service-accounts.key")
            ),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            "--allow-privileged=true".into(),
        ];
        if audit {
            args.push(format!("--audit-policy-file={}", path("audit-policy.yaml")));
            args.push(format!("--audit-log-path={}", path("audit.log")));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        server.spawn(&bin, "kube-apiserver", &args);
        server.wait_ready()?;
        server.spawn(
            &bin,
            "kube-controller-manager",
            &[
                &format!("--kubeconfig={}", path("kubeconfig")),
                "--leader-elect=false",
                "--secure-port=0",
                "--use-service-account-credentials=false",
                &format!(
                    "--service-account-private-key-file={}",
                    path("service-accounts.key")
                ),
                &format!("--root-ca-file={}", path("ca.crt")),
                "--controllers=*",
                // Fast enough for tests: the HPA controller's resync and the
                // namespace controller's.
                "--horizontal-pod-autoscaler-sync-period=1s",
                "--concurrent-namespace-syncs=5",
            ],
        );
        Ok(server)
    }

    /// The server with kube-scheduler, and KWOK as the kubelet of one node
    /// (`kwok-node-0`): Deployments roll out, their pods ready at once,
    /// except those of `registry.example/api:broken`, which stay in
    /// ImagePullBackOff (acceptance/kwok/failing-images.yaml).
    pub fn start_with_nodes() -> ApiServer {
        let mut server = ApiServer::start();
        let bin = peer("kube");
        let kubeconfig = server.kubeconfig_path();
        let kubeconfig = kubeconfig.to_str().unwrap().to_string();
        server.spawn(
            &bin,
            "kube-scheduler",
            &[
                &format!("--kubeconfig={kubeconfig}"),
                "--leader-elect=false",
                "--secure-port=0",
            ],
        );
        let kwok = peer("kwok");
        let stages = crate::harness::peer_part("kwok", "kwok-stages");
        server.spawn_program(
            &kwok,
            "kwok",
            &[
                &format!("--kubeconfig={kubeconfig}"),
                &format!("--config={}", stages.display()),
                // Pods of a failing image never start (acceptance/kwok).
                &format!(
                    "--config={}",
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("acceptance/kwok/failing-images.yaml")
                        .display()
                ),
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--cidr=10.244.0.0/16",
                "--node-ip=10.0.0.10",
                "--server-address=",
            ],
        );
        let node = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": "kwok-node-0",
                "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": {"kubernetes.io/hostname": "kwok-node-0", "type": "kwok"},
            },
        });
        let file = server.dir.path().join("node.json");
        std::fs::write(&file, node.to_string()).unwrap();
        server.kubectl(&["apply", "-f", file.to_str().unwrap()]);
        server.eventually("the KWOK node is ready", || {
            let node = server.get("", "node", "kwok-node-0");
            let ready = node.as_ref().is_some_and(|n| {
                n["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            if ready {
                Ok(())
            } else {
                Err(format!("{node:?}\n{}", server.log_tail("kwok")))
            }
        });
        server
    }

    /// genesis-sim whose GKE clusters all publish this server as their
    /// Kubernetes API: the control plane simulated, the API server real.
    pub fn behind_simulated_gke(&self) -> Sim {
        Sim::start_with(genesis_sim::Config {
            kube_upstream: Some(genesis_sim::KubeUpstream {
                endpoint: self.endpoint.clone(),
                ca_pem: self.ca_pem.clone(),
            }),
            ..genesis_sim::Config::default()
        })
    }

    fn spawn(&mut self, bin: &Path, name: &'static str, args: &[&str]) {
        self.spawn_program(&bin.join(name), name, args);
    }

    /// Starts `program`, logging to `NAME.log`.
    fn spawn_program(&mut self, program: &Path, name: &'static str, args: &[&str]) {
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{name} from scripts/peers cannot start: {e}"));
        self.children.push((name, child));
    }

    /// The requests audited so far (`start_audited`) whose User-Agent
    /// starts with `agent`: (verb, resource) each, in the order they
    /// completed.
    pub fn calls_of(&self, agent: &str) -> Vec<(String, String)> {
        let log = std::fs::read_to_string(self.dir.path().join("audit.log"))
            .expect("an audited server (ApiServer::start_audited)");
        log.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|e| {
                e["userAgent"]
                    .as_str()
                    .is_some_and(|a| a.starts_with(agent))
            })
            .map(|e| {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
                (text(&e["verb"]), text(&e["objectRef"]["resource"]))
            })
            .collect()
    }

    /// The last lines of a component's log, for failure messages.
    pub fn log_tail(&self, name: &str) -> String {
        let log = std::fs::read_to_string(self.dir.path().join(format!("{name}.log")))
            .unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Waits until the API server is ready; `Err` when a port it or etcd
    /// wanted was taken meanwhile.
    fn wait_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let out = self.kubectl_output(&["get", "--raw", "/readyz"]);
            if out.status.success() {
                return Ok(());
            }
            let exited = self
                .children
                .iter_mut()
                .find_map(|(name, child)| Some((*name, child.try_wait().ok()??)));
            if let Some((name, status)) = exited {
                let log = self.log_tail(name);
                if log.contains("address already in use") {
                    return Err(format!("{name} exited ({status}): a port was taken"));
                }
                panic!("{name} exited ({status}):\n{log}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "kube-apiserver not ready after 90 s:\n{}\n{}",
                self.log_tail("kube-apiserver"),
                self.log_tail("etcd")
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    fn kubectl_output(&self, args: &[&str]) -> std::process::Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig_path())
            .args(args)
            .output()
            .expect("kubectl on PATH")
    }

    /// kubectl against the server; panics with its error when it fails.
    /// Returns what it printed.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let out = self.kubectl_output(args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// One object as JSON, or None when it does not exist.
    pub fn get(&self, namespace: &str, kind: &str, name: &str) -> Option<serde_json::Value> {
        let out = self.kubectl_output(&["-n", namespace, "get", kind, name, "-o", "json"]);
        if out.status.success() {
            return Some(serde_json::from_slice(&out.stdout).unwrap());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("NotFound"), "kubectl get {kind} {name}: {err}");
        None
    }

    /// Waits until `check` holds (the controller manager acts on its own
    /// time), with what was last seen in the panic.
    pub fn eventually<T: std::fmt::Debug>(
        &self,
        what: &str,
        mut check: impl FnMut() -> Result<T, String>,
    ) -> T {
        let started = Instant::now();
        loop {
            match check() {
                Ok(v) => return v,
                Err(seen) if started.elapsed() > Duration::from_secs(60) => panic!(
                    "{what}: not after 60 s; last seen: {seen}\n{}",
                    self.log_tail("kube-controller-manager")
                ),
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        // The controller manager and the API server first, etcd last.
        for (_, child) in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
