use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use rwsplit::cli::Cli;
use rwsplit::config::{Config, LogFormat};
use rwsplit::server::Server;
use tokio::signal::unix::{signal, SignalKind};

fn main() {
    if let Err(e) = run() {
        eprintln!("rwsplit: {e:#}");
        std::process::exit(2);
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = cli.load().context("invalid configuration")?;
    if cli.check {
        println!("configuration OK\n\n{}", config.to_masked_toml());
        return Ok(());
    }
    init_logging(&config);
    // Before the runtime starts its threads, which inherit it.
    match rwsplit::server::set_priority(config.server.nice) {
        Ok(p) => tracing::info!(priority = ?p, "scheduling priority (server.nice)"),
        Err(e) => tracing::warn!(
            nice = config.server.nice,
            error = %e,
            "server.nice not applied (it needs CAP_SYS_NICE or an RLIMIT_NICE that allows it); running at the priority rwsplit was started with"
        ),
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = config.server.worker_threads_for(cpus);
    tracing::info!(worker_threads = threads, cpus, "starting the runtime");
    rt.worker_threads(threads);
    let rt = rt.build().context("cannot start the runtime")?;
    // The server runs as a task, not on the thread that blocks on it: the accept loop then
    // spawns each session onto its own worker's queue, where from this thread every
    // accepted client woke a worker (a futex call and a thread switch per connection).
    let served = rt.block_on(rt.spawn(async move {
        let server = Server::bind(config)
            .await?
            .with_prometheus(rwsplit::metrics::http::install());
        // SIGHUP (and RELOAD CONFIG) re-read the file and re-apply the flags.
        let reload_cli = Arc::new(cli);
        server
            .shared
            .live
            .set_reloader(Arc::new(move || reload_cli.load()));
        let shared = server.shared.clone();
        tokio::spawn(async move {
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                return;
            };
            while hup.recv().await.is_some() {
                if let Err(e) = shared.reload() {
                    tracing::error!(error = %e, "configuration not reloaded; the old one stays");
                }
            }
        });
        server
            .run(shutdown_signal())
            .await
            .map_err(|e| anyhow::anyhow!(e))
            .context("refused to serve")
    }));
    served.context("the server task failed")?
}

fn init_logging(config: &Config) {
    // A bare level applies to rwsplit; dependencies stay at info or quieter.
    let level = config.log.level.trim();
    let spec = match level {
        "trace" | "debug" => format!("info,rwsplit={level}"),
        "info" | "warn" | "error" => format!("{level},rwsplit={level}"),
        other => other.to_string(),
    };
    let filter = tracing_subscriber::EnvFilter::new(spec);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.init(),
    }
}

async fn shutdown_signal() {
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
