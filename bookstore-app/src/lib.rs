//! The bookstore: three services (auth, catalog, orders) that one binary runs together or
//! apart, on one MySQL DSN. All read/write routing is rwsplit's: the app never names a
//! replica and never hints.

pub mod auth;
pub mod catalog;
pub mod config;
pub mod csrf;
pub mod db;
pub mod orders;
pub mod web;

use std::sync::Arc;

use axum::Router;

pub use config::{AppConfig, Services};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub pool: mysql_async::Pool,
    pub config: Arc<AppConfig>,
    pub templates: Arc<minijinja::Environment<'static>>,
    /// How orders reaches the catalog: a direct call in one process, HTTP when split.
    pub catalog: Arc<dyn catalog::CatalogApi>,
}

/// Connects, migrates, and builds the router of the configured services.
pub async fn build(config: AppConfig) -> anyhow::Result<Router> {
    let pool = db::connect(&config.database_url).await?;
    db::migrate(&pool).await?;
    Ok(router(state(config, pool)))
}

/// The shared state, on a pool (connections are made when first needed).
pub fn state(config: AppConfig, pool: mysql_async::Pool) -> AppState {
    let config = Arc::new(config);
    let catalog: Arc<dyn catalog::CatalogApi> =
        if config.services.catalog || config.catalog_url.is_empty() {
            Arc::new(catalog::LocalCatalog { pool: pool.clone() })
        } else {
            Arc::new(catalog::HttpCatalog::new(
                &config.catalog_url,
                &config.jwt_secret,
            ))
        };
    AppState {
        pool,
        templates: Arc::new(web::templates()),
        config,
        catalog,
    }
}

/// The routes of the services `state` is configured for.
pub fn router(state: AppState) -> Router {
    let services = state.config.services;
    let mut app = Router::new().route("/healthz", axum::routing::get(|| async { "ok\n" }));
    if services.auth {
        app = app.merge(auth::routes());
    }
    if services.catalog {
        app = app.merge(catalog::routes());
    }
    if services.orders {
        app = app.merge(orders::routes());
    }
    app.fallback(web::not_found)
        .layer(axum::middleware::map_response(no_store))
        .with_state(state)
}

/// Pages and answers change with every write and carry what is one user's (the login,
/// CSRF tokens): no browser or shared cache may keep a copy, so a page loaded after a
/// write is always asked of the app.
async fn no_store(mut res: axum::response::Response) -> axum::response::Response {
    res.headers_mut()
        .entry(axum::http::header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("no-store"));
    res
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
