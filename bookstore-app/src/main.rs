use clap::Parser;

use bookstore_app::AppConfig;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("bookstore-app: {e:#}");
        std::process::exit(2);
    }
}

async fn run() -> anyhow::Result<()> {
    let config = AppConfig::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let listener = tokio::net::TcpListener::bind(&config.listen).await?;
    tracing::info!(listen = %config.listen, services = ?config.services, "bookstore starting");
    let app = bookstore_app::build(config).await?;
    bookstore_app::serve(listener, app, async {
        // SIGTERM (orchestrators, scripts/stack.sh down) or Ctrl-C: finish the requests
        // in flight, then exit.
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    })
    .await?;
    Ok(())
}
