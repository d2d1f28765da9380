//! The catalog's JSON API, and the interface orders uses to reserve stock: a direct call
//! when both run in one process, HTTP when they are split.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{store, BookForm};
use crate::auth::CurrentUser;
use crate::web::AppError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/books", get(list).post(create))
        .route("/api/books/{id}", get(one))
        .route("/api/books/{id}/reserve", post(reserve))
        .route("/api/books/{id}/release", post(release))
}

/// What a reservation took: the price comes from the database, never from a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub title: String,
    pub unit_price_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReserveError {
    #[error("there is no such book")]
    NotFound,
    #[error("not enough copies in stock")]
    OutOfStock,
    #[error("{0}")]
    Other(String),
}

/// How orders reserves and releases stock.
#[async_trait::async_trait]
pub trait CatalogApi: Send + Sync {
    /// `token`: the buyer's session token (the catalog checks who asks).
    async fn reserve(&self, token: &str, book: u64, qty: u32) -> Result<Reservation, ReserveError>;
    async fn release(&self, token: &str, book: u64, qty: u32) -> Result<(), ReserveError>;
}

/// In one process: a direct call.
pub struct LocalCatalog {
    pub pool: mysql_async::Pool,
}

#[async_trait::async_trait]
impl CatalogApi for LocalCatalog {
    async fn reserve(
        &self,
        _token: &str,
        book: u64,
        qty: u32,
    ) -> Result<Reservation, ReserveError> {
        match store::reserve(&self.pool, book, qty).await {
            Ok(Some((title, price))) => Ok(Reservation {
                title,
                unit_price_cents: price,
            }),
            Ok(None) => match store::exists(&self.pool, book).await {
                Ok(true) => Err(ReserveError::OutOfStock),
                Ok(false) => Err(ReserveError::NotFound),
                Err(e) => Err(ReserveError::Other(e.to_string())),
            },
            Err(e) => Err(ReserveError::Other(e.to_string())),
        }
    }

    async fn release(&self, _token: &str, book: u64, qty: u32) -> Result<(), ReserveError> {
        store::release(&self.pool, book, qty)
            .await
            .map_err(|e| ReserveError::Other(e.to_string()))
    }
}

/// Split: the catalog service's HTTP API.
pub struct HttpCatalog {
    base: String,
    client: reqwest::Client,
}

impl HttpCatalog {
    pub fn new(base: &str, _secret: &str) -> HttpCatalog {
        HttpCatalog {
            base: base.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        token: &str,
        book: u64,
        what: &str,
        qty: u32,
    ) -> Result<reqwest::Response, ReserveError> {
        self.client
            .post(format!("{}/api/books/{book}/{what}", self.base))
            .bearer_auth(token)
            .json(&Qty { quantity: qty })
            .send()
            .await
            .map_err(|e| ReserveError::Other(format!("catalog service: {e}")))
    }
}

#[async_trait::async_trait]
impl CatalogApi for HttpCatalog {
    async fn reserve(&self, token: &str, book: u64, qty: u32) -> Result<Reservation, ReserveError> {
        let r = self.call(token, book, "reserve", qty).await?;
        match r.status() {
            StatusCode::OK => r
                .json::<Reservation>()
                .await
                .map_err(|e| ReserveError::Other(e.to_string())),
            StatusCode::NOT_FOUND => Err(ReserveError::NotFound),
            StatusCode::CONFLICT => Err(ReserveError::OutOfStock),
            s => Err(ReserveError::Other(format!("catalog service answered {s}"))),
        }
    }

    async fn release(&self, token: &str, book: u64, qty: u32) -> Result<(), ReserveError> {
        let r = self.call(token, book, "release", qty).await?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(ReserveError::Other(format!(
                "catalog service answered {}",
                r.status()
            )))
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Qty {
    quantity: u32,
}

async fn list(State(app): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(store::listed(&app.pool).await?).into_response())
}

async fn one(State(app): State<AppState>, Path(id): Path<u64>) -> Result<Response, AppError> {
    Ok(match store::get(&app.pool, id).await? {
        Some(b) => Json(b).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": "no such book" })),
        )
            .into_response(),
    })
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({ "error": "log in first" })),
    )
        .into_response()
}

async fn create(
    State(app): State<AppState>,
    user: CurrentUser,
    Json(f): Json<BookForm>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(unauthorized());
    };
    match f.validate() {
        Ok(b) => {
            let id = store::insert(&app.pool, u.sub, &u.name, &b).await?;
            Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response())
        }
        Err(e) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({ "error": e })),
        )
            .into_response()),
    }
}

async fn reserve(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Json(q): Json<Qty>,
) -> Response {
    if user.0.is_none() {
        return unauthorized();
    }
    if q.quantity == 0 || q.quantity > 100 {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({ "error": "quantity must be 1 to 100" })),
        )
            .into_response();
    }
    let local = LocalCatalog {
        pool: app.pool.clone(),
    };
    match local.reserve("", id, q.quantity).await {
        Ok(r) => Json(r).into_response(),
        Err(ReserveError::NotFound) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": "no such book" })),
        )
            .into_response(),
        Err(ReserveError::OutOfStock) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({ "error": "out of stock" })),
        )
            .into_response(),
        Err(ReserveError::Other(e)) => {
            tracing::error!(error = %e, "reserve failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(serde_json::json!({ "error": "try again" })),
            )
                .into_response()
        }
    }
}

async fn release(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Json(q): Json<Qty>,
) -> Response {
    if user.0.is_none() {
        return unauthorized();
    }
    match store::release(&app.pool, id, q.quantity.min(100)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "release failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
