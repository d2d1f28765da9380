use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use rwsplit::cli::Cli;
use rwsplit::config::{Config, LogFormat};
use rwsplit::server::Server;

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
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if config.server.worker_threads > 0 {
        rt.worker_threads(config.server.worker_threads);
    }
    let rt = rt.build().context("cannot start the runtime")?;
    rt.block_on(async move {
        let server = Server::bind(config.clone())
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        server.run(shutdown_signal(), Duration::from_secs(30)).await;
        Ok(())
    })
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
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
