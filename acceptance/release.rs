//! The release as users get it: the artifacts `scripts/release` makes
//! (checked against the registry's conventions, signed, static and
//! reproducible), installed by every CLI in the matrix through a filesystem
//! mirror in both layouts and through a network mirror over TLS.
//!
//! The artifacts come from `scripts/release-check` (two release runs from
//! two paths, with a throwaway key); `scripts/test` makes them once before
//! the suite and names them in GENESIS_RELEASE_CHECK, or the first test
//! here makes them.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use crate::harness::{Sim, Terraform, Workspace, each_terraform, loopback_certificates};

const NAME: &str = "terraform-provider-genesis";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const PLATFORMS: [&str; 2] = ["linux_amd64", "linux_arm64"];

/// `scripts/release-check`'s output: `first/`, `second/` and `gnupg/`.
fn release_check() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Ok(dir) = std::env::var("GENESIS_RELEASE_CHECK") {
            return PathBuf::from(dir);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = root.join("target/release-check");
        let status = Command::new(root.join("scripts/release-check"))
            .arg(&out)
            .status()
            .expect("run scripts/release-check");
        assert!(status.success(), "scripts/release-check failed");
        out
    })
}

fn first() -> PathBuf {
    release_check().join("first")
}

fn file_name(kind: &str) -> String {
    format!("{NAME}_{VERSION}_{kind}")
}

fn gpg(args: &[&str]) -> std::process::Output {
    Command::new("gpg")
        .env("GNUPGHOME", release_check().join("gnupg"))
        .args(["--batch", "--no-tty"])
        .args(args)
        .output()
        .expect("run gpg")
}

/// The zip's only entry: its name, Unix mode and contents.
fn unzip(zip: &Path) -> (String, u32, Vec<u8>) {
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert len(z.infolist()) == 1, z.namelist()\ni = z.infolist()[0]\nprint(i.filename)\nprint(i.external_attr >> 16)\nsys.stdout.flush()\nsys.stdout.buffer.write(z.read(i))";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(zip)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut reader = BufReader::new(&out.stdout[..]);
    let mut name = String::new();
    let mut mode = String::new();
    reader.read_line(&mut name).unwrap();
    reader.read_line(&mut mode).unwrap();
    let mut body = Vec::new();
    reader.read_to_end(&mut body).unwrap();
    (name.trim().to_string(), mode.trim().parse().unwrap(), body)
}

/// An ELF file's machine and whether it names a dynamic loader (PT_INTERP).
fn elf(binary: &[u8]) -> (u16, bool) {
    assert_eq!(&binary[..4], b"\x7fELF", "an ELF executable");
    assert_eq!(binary[4], 2, "64-bit");
    let u16_at = |o: usize| u16::from_le_bytes([binary[o], binary[o + 1]]);
    let u64_at = |o: usize| u64::from_le_bytes(binary[o..o + 8].try_into().unwrap());
    let machine = u16_at(18);
    let (phoff, phentsize, phnum) = (u64_at(32) as usize, u16_at(54) as usize, u16_at(56));
    let interp = (0..phnum as usize).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(binary[at..at + 4].try_into().unwrap()) == 3
    });
    (machine, interp)
}

#[test]
fn the_release_follows_the_registry_conventions_and_is_signed() {
    let dir = first();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected = vec![
        file_name("SHA256SUMS"),
        file_name("SHA256SUMS.sig"),
        file_name("linux_amd64.zip"),
        file_name("linux_arm64.zip"),
        file_name("manifest.json"),
    ];
    expected.sort();
    assert_eq!(names, expected);

    // The manifest tells the registry which protocol the provider speaks
    // (without it, it assumes 5).
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(file_name("manifest.json"))).unwrap())
            .unwrap();
    assert_eq!(manifest["version"], 1);
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );
    assert_eq!(
        std::fs::read(dir.join(file_name("manifest.json"))).unwrap(),
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("terraform-registry-manifest.json")
        )
        .unwrap()
    );

    // SHA256SUMS covers the zips and the manifest, and holds.
    let sums = std::fs::read_to_string(dir.join(file_name("SHA256SUMS"))).unwrap();
    let listed: Vec<&str> = sums
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            file_name("linux_amd64.zip"),
            file_name("linux_arm64.zip"),
            file_name("manifest.json")
        ]
    );
    let check = Command::new("sha256sum")
        .args(["-c", &file_name("SHA256SUMS")])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");

    // The signature verifies, and would not over other sums.
    let sig = dir.join(file_name("SHA256SUMS.sig"));
    let verified = gpg(&[
        "--verify",
        sig.to_str().unwrap(),
        dir.join(file_name("SHA256SUMS")).to_str().unwrap(),
    ]);
    assert!(verified.status.success(), "{verified:?}");
    let forged = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(forged.path(), sums.replacen('0', "1", 1)).unwrap();
    let refused = gpg(&[
        "--verify",
        sig.to_str().unwrap(),
        forged.path().to_str().unwrap(),
    ]);
    assert!(
        !refused.status.success(),
        "a changed SHA256SUMS must not verify"
    );

    // Each zip holds one executable, named as Terraform looks for it; the
    // Linux builds are static, so they run on any distribution.
    for (platform, machine) in [("linux_amd64", 62), ("linux_arm64", 183)] {
        let (name, mode, binary) = unzip(&dir.join(file_name(&format!("{platform}.zip"))));
        assert_eq!(name, format!("{NAME}_v{VERSION}"));
        assert_eq!(mode & 0o777, 0o755, "{platform}: executable");
        let (found, interp) = elf(&binary);
        assert_eq!(found, machine, "{platform}: built for its machine");
        assert!(!interp, "{platform}: static, with no dynamic loader");
    }
    let (_, _, binary) = unzip(&dir.join(file_name("linux_amd64.zip")));
    let exe = tempfile::tempdir().unwrap();
    let path = exe.path().join(NAME);
    std::fs::write(&path, binary).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let version = Command::new(&path).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("{NAME} {VERSION}")
    );
}

#[test]
fn a_second_release_from_elsewhere_has_the_same_bytes() {
    let (a, b) = (first(), release_check().join("second"));
    // The second run builds linux_amd64 only (scripts/release-check).
    for kind in ["linux_amd64.zip", "manifest.json"] {
        let name = file_name(kind);
        assert!(
            std::fs::read(a.join(&name)).unwrap() == std::fs::read(b.join(&name)).unwrap(),
            "{name} differs between two release runs"
        );
    }
    let sums = |dir: &std::path::Path| -> Vec<String> {
        let text = std::fs::read_to_string(dir.join(file_name("SHA256SUMS"))).unwrap();
        text.lines()
            .filter(|l| !l.ends_with("linux_arm64.zip"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(sums(&a), sums(&b), "the sums of the same files differ");
    // A signature carries the time it was made: each run's verifies.
    for dir in [&a, &b] {
        let verified = gpg(&[
            "--verify",
            dir.join(file_name("SHA256SUMS.sig")).to_str().unwrap(),
            dir.join(file_name("SHA256SUMS")).to_str().unwrap(),
        ]);
        assert!(verified.status.success(), "{verified:?}");
    }
}

/// The registry hosts an unqualified source means to each CLI: the
/// mirrors serve both.
const HOSTS: [&str; 2] = ["registry.terraform.io", "registry.opentofu.org"];

/// An example, its provider installed as `cli_config` says, planned
/// against genesis-sim.
fn workspace(tf: &Terraform, cli_config: &str) -> Workspace {
    let ws = Workspace::example(tf, "basic-autopilot");
    ws.write("cli.tfrc", cli_config);
    ws
}

fn lock_hashes(ws: &Workspace) -> String {
    std::fs::read_to_string(ws.dir.path().join(".terraform.lock.hcl")).unwrap_or_default()
}

/// The `h1:` hash Terraform records for a platform's package: the SHA-256
/// of its unpacked files' list ("SHA256  NAME" lines), base64.
fn h1(platform: &str) -> String {
    use base64::Engine as _;
    let hex = |data: &[u8]| -> String {
        ring::digest::digest(&ring::digest::SHA256, data)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let (name, _, binary) = unzip(&first().join(file_name(&format!("{platform}.zip"))));
    let summary = format!("{}  {name}\n", hex(&binary));
    let digest = ring::digest::digest(&ring::digest::SHA256, summary.as_bytes());
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// A zip's SHA-256 as SHA256SUMS lists it, in the `zh:` form mirrors give
/// Terraform to check downloads against.
fn zh(platform: &str) -> String {
    let sums = std::fs::read_to_string(first().join(file_name("SHA256SUMS"))).unwrap();
    let line = sums
        .lines()
        .find(|l| l.ends_with(&file_name(&format!("{platform}.zip"))))
        .unwrap();
    format!("zh:{}", line.split_whitespace().next().unwrap())
}

fn init_and_plan(ws: &Workspace) {
    let init = ws.run(&["init", "-input=false", "-no-color"]);
    assert!(init.status.success(), "{}\n{}", init.stdout, init.stderr);
    assert!(
        init.stdout
            .contains(&format!("Installed genesis-platform/genesis v{VERSION}")),
        "{}",
        init.stdout
    );
    let lock = lock_hashes(ws);
    let words: Vec<&str> = lock.split_whitespace().collect();
    let version = format!("\"{VERSION}\"");
    assert!(
        words
            .windows(3)
            .any(|w| w == ["version", "=", version.as_str()]),
        "{lock}"
    );
    assert!(lock.contains("\"h1:"), "{lock}");
    let plan = ws.run(&["plan", "-input=false", "-no-color"]);
    assert!(
        plan.status.success() && plan.stdout.contains("to add"),
        "{}\n{}",
        plan.stdout,
        plan.stderr
    );
}

/// Packed (the zips as released) and unpacked (the registry's directory
/// layout) filesystem mirrors; `providers lock` records both platforms'
/// hashes; a zip changed after the lock recorded it is refused.
#[test]
fn installs_from_filesystem_mirrors() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let mirror = tempfile::tempdir().unwrap();
        let packed = mirror.path().join("packed");
        let unpacked = mirror.path().join("unpacked");
        for host in HOSTS {
            let dir = packed.join(format!("{host}/genesis-platform/genesis"));
            std::fs::create_dir_all(&dir).unwrap();
            for platform in PLATFORMS {
                let zip = file_name(&format!("{platform}.zip"));
                std::fs::copy(first().join(&zip), dir.join(&zip)).unwrap();
            }
            let dir = unpacked.join(format!(
                "{host}/genesis-platform/genesis/{VERSION}/linux_amd64"
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let (name, _, binary) = unzip(&first().join(file_name("linux_amd64.zip")));
            std::fs::write(dir.join(&name), binary).unwrap();
            std::fs::set_permissions(
                dir.join(&name),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .unwrap();
        }
        let config = |path: &Path| {
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"genesis-platform/genesis\"]\n  }}\n  direct {{\n    exclude = [\"genesis-platform/genesis\"]\n  }}\n}}\n",
                path.display()
            )
        };

        let ws = workspace(tf, &config(&unpacked)).against(&sim);
        init_and_plan(&ws);

        let ws = workspace(tf, &config(&packed)).against(&sim);
        init_and_plan(&ws);
        lock_every_platform(&ws, &format!("-fs-mirror={}", packed.display()));
        // Terraform records mirrors' packages by their contents (`h1:`),
        // which must be the released binaries'.
        let lock = lock_hashes(&ws);
        for platform in PLATFORMS {
            assert!(lock.contains(&h1(platform)), "{platform}: {lock}");
        }

        // A zip changed after the lock recorded its hashes fails init with
        // the CLI's checksum error.
        let zip = packed.join(format!(
            "{}/genesis-platform/genesis/{}",
            tf.registry_host(),
            file_name("linux_amd64.zip")
        ));
        tamper(&zip);
        std::fs::remove_dir_all(ws.dir.path().join(".terraform")).unwrap();
        let refused = ws.run(&["init", "-input=false", "-no-color"]);
        assert!(!refused.status.success(), "{}", refused.stdout);
        assert!(refused.stderr.contains("checksum"), "{}", refused.stderr);
    });
}

/// `terraform providers lock` from `source` (`-fs-mirror=DIR`,
/// `-net-mirror=URL`) for every released platform.
fn lock_every_platform(ws: &Workspace, source: &str) {
    let locked = ws.run(&[
        "providers",
        "lock",
        "-no-color",
        source,
        "-platform=linux_amd64",
        "-platform=linux_arm64",
    ]);
    assert!(
        locked.status.success(),
        "{}\n{}",
        locked.stdout,
        locked.stderr
    );
}

/// Appends a file to the zip: still a valid archive, other bytes.
fn tamper(zip: &Path) {
    let script = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'a') as z:\n    z.writestr('extra', 'not released')";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(zip)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// The provider network mirror protocol's documents and the zips, served
/// over TLS on loopback by a static file server whose CA the CLIs are
/// given through SSL_CERT_FILE.
struct NetworkMirror {
    root: tempfile::TempDir,
    url: String,
    ca: PathBuf,
    server: Child,
}

impl NetworkMirror {
    fn start() -> NetworkMirror {
        let root = tempfile::tempdir().unwrap();
        let site = root.path().join("site");
        for host in HOSTS {
            let dir = site.join(format!("{host}/genesis-platform/genesis"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("index.json"),
                serde_json::json!({ "versions": { VERSION: {} } }).to_string(),
            )
            .unwrap();
            let mut archives = serde_json::Map::new();
            for platform in PLATFORMS {
                let zip = file_name(&format!("{platform}.zip"));
                std::fs::copy(first().join(&zip), dir.join(&zip)).unwrap();
                archives.insert(
                    platform.to_string(),
                    serde_json::json!({ "url": zip, "hashes": [zh(platform)] }),
                );
            }
            std::fs::write(
                dir.join(format!("{VERSION}.json")),
                serde_json::json!({ "archives": archives }).to_string(),
            )
            .unwrap();
        }
        let (ca_pem, cert_pem, key_pem) = loopback_certificates("genesis network mirror");
        let ca = root.path().join("ca.pem");
        std::fs::write(&ca, ca_pem).unwrap();
        std::fs::write(root.path().join("cert.pem"), cert_pem).unwrap();
        std::fs::write(root.path().join("key.pem"), key_pem).unwrap();
        let script = "import functools, http.server, ssl, sys\nroot, cert, key = sys.argv[1:]\nhandler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)\nserver = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)\ncontext = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\ncontext.load_cert_chain(cert, key)\nserver.socket = context.wrap_socket(server.socket, server_side=True)\nprint(server.server_address[1], flush=True)\nserver.serve_forever()";
        let mut server = Command::new("python3")
            .args(["-c", script])
            .arg(&site)
            .arg(root.path().join("cert.pem"))
            .arg(root.path().join("key.pem"))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(root.path().join("access.log")).unwrap())
            .spawn()
            .expect("start the mirror");
        let mut port = String::new();
        BufReader::new(server.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        NetworkMirror {
            url: format!("https://127.0.0.1:{}/", port.trim()),
            root,
            ca,
            server,
        }
    }

    fn zip(&self, host: &str, platform: &str) -> PathBuf {
        self.root.path().join(format!(
            "site/{host}/genesis-platform/genesis/{}",
            file_name(&format!("{platform}.zip"))
        ))
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("access.log")).unwrap_or_default()
    }

    fn cli_config(&self) -> String {
        format!(
            "provider_installation {{\n  network_mirror {{\n    url     = \"{}\"\n    include = [\"genesis-platform/genesis\"]\n  }}\n  direct {{\n    exclude = [\"genesis-platform/genesis\"]\n  }}\n}}\n",
            self.url
        )
    }
}

impl Drop for NetworkMirror {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Init through a network mirror verifies the zip against the mirror's
/// hashes and records them; `providers lock -net-mirror` records both
/// platforms; a tampered zip is refused.
#[test]
fn installs_from_a_network_mirror_over_tls() {
    each_terraform(|tf| {
        let sim = Sim::start();
        let mirror = NetworkMirror::start();
        let ca = mirror.ca.to_str().unwrap();
        let ws = workspace(tf, &mirror.cli_config())
            .against(&sim)
            .with_env("SSL_CERT_FILE", ca);
        init_and_plan(&ws);
        assert!(
            lock_hashes(&ws).contains(&h1("linux_amd64")),
            "{}",
            lock_hashes(&ws)
        );
        let zip = file_name("linux_amd64.zip");
        assert!(
            mirror.access_log().contains(&format!(
                "GET /{}/genesis-platform/genesis/{zip}",
                tf.registry_host()
            )),
            "{}",
            mirror.access_log()
        );

        std::fs::remove_file(ws.dir.path().join(".terraform.lock.hcl")).unwrap();
        lock_every_platform(&ws, &format!("-net-mirror={}", mirror.url));
        for platform in PLATFORMS {
            assert!(
                lock_hashes(&ws).contains(&h1(platform)),
                "{platform}: {}",
                lock_hashes(&ws)
            );
        }

        // Served bytes that do not match the mirror's hashes are refused.
        tamper(&mirror.zip(tf.registry_host(), "linux_amd64"));
        let fresh = workspace(tf, &mirror.cli_config())
            .against(&sim)
            .with_env("SSL_CERT_FILE", ca);
        let refused = fresh.run(&["init", "-input=false", "-no-color"]);
        assert!(!refused.status.success(), "{}", refused.stdout);
        assert!(refused.stderr.contains("checksum"), "{}", refused.stderr);
    });
}
