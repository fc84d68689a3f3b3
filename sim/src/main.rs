//! genesis-sim: run the simulator and print one JSON line with the URL of
//! each face once it is ready.

use std::process::ExitCode;
use std::time::Duration;

const HELP: &str = "genesis-sim: a local GKE, Artifact Registry, EKS and Kubernetes API simulator

USAGE:
    genesis-sim [OPTIONS]

OPTIONS:
    --port PORT             First port; the GKE, Artifact Registry, control, EKS and IAM faces
                            take PORT to PORT+4. 0 (the default) picks free ports.
    --token TOKEN           A bearer token to accept (repeatable). Default: the development
                            token genesis-sim-dev-token, printed in the ready line.
    --aws-credentials KEY:SECRET  An AWS access key whose EKS tokens the EKS clusters' API
                            servers accept (repeatable). Default: testing:testing, moto's.
    --operation-time SECS   How long long-running operations take (default 0: they finish
                            at once; a few seconds makes a realistic demo).
    --seed N                Seed for fault rates, so runs are reproducible (default 1).
    --rollout-time SECS     How long a deployment takes to become available (default 0).
    --failing-image TEXT    Images containing TEXT never become ready and their rollouts end
                            in ProgressDeadlineExceeded (repeatable; default: does-not-exist
                            and :broken).
    --unhealthy-image TEXT  Pods of images containing TEXT turn ready but answer HTTP
                            requests through the API server's pod proxy with 503
                            (repeatable; default: :unhealthy).
    --progress-deadline SECS  Cap on deployments' progressDeadlineSeconds (default: none).
    --state-file PATH       Keep the simulated state in PATH (saved every half second when it
                            changed, restored at start with the same cluster endpoints and CAs),
                            so a demo survives a restart.
    -h, --help              Print this help.

Once every face listens (on 127.0.0.1 only), one line of JSON is printed:
    {\"gke\":\"http://127.0.0.1:...\",\"artifact_registry\":\"http://127.0.0.1:...\",
     \"iam\":\"http://127.0.0.1:...\",\"eks\":\"http://127.0.0.1:...\",
     \"control\":\"http://127.0.0.1:...\",\"token\":\"...\"}

Point the provider at it with GENESIS_GKE_ENDPOINT, GENESIS_ARTIFACT_REGISTRY_ENDPOINT,
GENESIS_IAM_ENDPOINT and GOOGLE_OAUTH_ACCESS_TOKEN for GCP; AWS_ENDPOINT_URL_EKS (with IAM, STS and KMS on moto through
AWS_ENDPOINT_URL) for EKS. The control API (/_sim/state, /_sim/reset, /_sim/faults,
/_sim/requests, /_sim/objects) is described in the README.";

fn parse(args: &[String]) -> Result<Option<genesis_sim::Config>, String> {
    let mut config = genesis_sim::Config::default();
    let mut tokens = Vec::new();
    let mut aws_credentials = Vec::new();
    let mut failing = Vec::new();
    let mut unhealthy = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let value = || {
            args.get(i + 1)
                .cloned()
                .ok_or(format!("{flag} needs a value"))
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--port" => {
                config.port = value()?
                    .parse()
                    .map_err(|_| "--port takes a port number".to_string())?
            }
            "--token" => tokens.push(value()?),
            "--aws-credentials" => {
                let pair = value()?;
                let (key, secret) = pair
                    .split_once(':')
                    .ok_or("--aws-credentials takes KEY:SECRET".to_string())?;
                aws_credentials.push((key.to_string(), secret.to_string()));
            }
            "--operation-time" => {
                let secs: f64 = value()?
                    .parse()
                    .map_err(|_| "--operation-time takes seconds".to_string())?;
                if !(0.0..=3600.0).contains(&secs) {
                    return Err("--operation-time must be between 0 and 3600 seconds".into());
                }
                config.operation_time = Duration::from_secs_f64(secs);
            }
            "--seed" => {
                config.seed = value()?
                    .parse()
                    .map_err(|_| "--seed takes a number".to_string())?
            }
            "--rollout-time" => {
                let secs: f64 = value()?
                    .parse()
                    .map_err(|_| "--rollout-time takes seconds".to_string())?;
                config.rollout_time = Duration::from_secs_f64(secs.clamp(0.0, 3600.0));
            }
            "--failing-image" => failing.push(value()?),
            "--unhealthy-image" => unhealthy.push(value()?),
            "--state-file" => config.state_file = Some(value()?.into()),
            "--progress-deadline" => {
                let secs: f64 = value()?
                    .parse()
                    .map_err(|_| "--progress-deadline takes seconds".to_string())?;
                config.progress_deadline_cap =
                    Some(Duration::from_secs_f64(secs.clamp(0.0, 86_400.0)));
            }
            other => return Err(format!("unknown option {other:?} (see --help)")),
        }
        i += if matches!(flag, "-h" | "--help") {
            1
        } else {
            2
        };
    }
    if !tokens.is_empty() {
        config.tokens = tokens;
    }
    if !aws_credentials.is_empty() {
        config.aws_credentials = aws_credentials;
    }
    if !failing.is_empty() {
        config.failing_images = failing;
    }
    if !unhealthy.is_empty() {
        config.unhealthy_images = unhealthy;
    }
    Ok(Some(config))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args) {
        Ok(Some(c)) => c,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("genesis-sim: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GENESIS_SIM_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("genesis-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let running = match genesis_sim::start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("genesis-sim: cannot listen: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "{}",
            serde_json::to_string(&running.urls).unwrap_or_default()
        );
        // Stopped with Ctrl-C or a kill: the state file gets the last word.
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
        running.save_state();
        running.shutdown();
        ExitCode::SUCCESS
    })
}
