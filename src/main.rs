//! terraform-provider-genesis: started by Terraform as a plugin, or with
//! `--debug` for a debugger to attach to.

use std::process::ExitCode;
use std::sync::Arc;

use genesis::protocol::plugin::{self, Mode};

// Every RPC decodes and re-encodes whole objects of small strings and maps:
// with glibc's allocator, a quarter of the plugin's CPU time per plan went
// to malloc and free (measured with perf on a 200-resource plan).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let env = |name: &str| std::env::var(name).ok();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.first().map(String::as_str) {
        None => Mode::Plugin,
        Some("--debug" | "-debug") => Mode::Debug,
        Some("--version" | "-version") => {
            println!("terraform-provider-genesis {}", genesis::provider::VERSION);
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!(
                "unknown argument {other:?}\nusage: terraform-provider-genesis [--debug | --version]"
            );
            return ExitCode::from(2);
        }
    };
    let level = match mode {
        Mode::Debug => Some(genesis::logging::level_from_env(env).unwrap_or(tracing::Level::DEBUG)),
        Mode::Plugin => genesis::logging::level_from_env(env),
    };
    genesis::logging::init(level);
    genesis::protocol::tls::install_crypto_provider();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-genesis: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = Arc::new(genesis::provider_server());
    let served = runtime.block_on(plugin::serve(server, mode, env));
    // Every RPC has answered: what still runs (a name lookup on a blocking
    // thread, say) has no one to answer to. Terraform kills a plugin that
    // takes two seconds to exit, and waits for it all that time.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("terraform-provider-genesis: {message}");
            ExitCode::FAILURE
        }
    }
}
