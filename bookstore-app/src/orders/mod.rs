//! The orders service: buy a book (stock reserved through the catalog), pay, choose a
//! delivery provider, see one's purchases with their status.

mod store;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;

pub use store::{Provider, Purchase};

use crate::auth::{Claims, CurrentUser};
use crate::catalog::ReserveError;
use crate::web::AppError;
use crate::{csrf, AppState};

pub const PAYMENT_METHODS: &[&str] = &["card", "transfer", "cash"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/books/{id}/buy", post(buy))
        .route("/purchases/{id}/pay", get(pay_page).post(pay))
        .route(
            "/purchases/{id}/delivery",
            get(delivery_page).post(delivery),
        )
        .route("/my/purchases", get(mine))
        .route("/api/orders", get(api_list).post(api_buy))
        .route("/api/orders/{id}/pay", post(api_pay))
        .route("/api/orders/{id}/delivery", post(api_delivery))
}

#[derive(Debug, Deserialize, Default)]
pub struct BuyForm {
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub csrf: String,
}

/// 1 to 100 copies.
pub fn parse_quantity(q: &str) -> Result<u32, &'static str> {
    q.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=100).contains(n))
        .ok_or("The quantity must be a whole number from 1 to 100.")
}

#[derive(Debug, Deserialize, Default)]
pub struct PayForm {
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub csrf: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct DeliveryForm {
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub csrf: String,
}

pub fn validate_delivery(f: &DeliveryForm) -> Result<(u32, String), &'static str> {
    let provider: u32 = f
        .provider
        .trim()
        .parse()
        .ok()
        .filter(|p| (1..=4).contains(p))
        .ok_or("Please choose a delivery provider.")?;
    let address = f.address.trim();
    if address.chars().count() < 5 || address.chars().count() > 300 {
        return Err("The address must have 5 to 300 characters.");
    }
    Ok((provider, address.to_string()))
}

/// What buying returns.
#[derive(Debug)]
pub enum Bought {
    Purchase(u64),
    Refused(StatusCode, &'static str),
}

/// Reserves through the catalog, then records the purchase at the database's price.
pub async fn place_order(
    app: &AppState,
    user: &Claims,
    book: u64,
    qty: u32,
) -> Result<Bought, AppError> {
    let token = user.encode(&app.config.jwt_secret);
    let r = match app.catalog.reserve(&token, book, qty).await {
        Ok(r) => r,
        Err(ReserveError::NotFound) => {
            return Ok(Bought::Refused(
                StatusCode::NOT_FOUND,
                "There is no such book.",
            ))
        }
        Err(ReserveError::OutOfStock) => {
            return Ok(Bought::Refused(
                StatusCode::CONFLICT,
                "Sorry, not enough copies are left.",
            ))
        }
        Err(ReserveError::Other(e)) => return Err(AppError::Other(e)),
    };
    match store::create(&app.pool, user.sub, book, &r.title, qty, r.unit_price_cents).await {
        Ok(id) => Ok(Bought::Purchase(id)),
        Err(e) => {
            // Give the copies back: the purchase was not recorded.
            let _ = app.catalog.release(&token, book, qty).await;
            Err(e.into())
        }
    }
}

fn expired(app: &AppState, u: &Claims) -> Response {
    app.message(
        StatusCode::FORBIDDEN,
        Some(u),
        "Form expired",
        "Please reload the page and try again.",
    )
}

async fn buy(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Form(f): Form<BuyForm>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login(&format!("/books/{id}")));
    };
    if !csrf::matches(&u.csrf, &f.csrf) {
        return Ok(expired(&app, &u));
    }
    let qty = match parse_quantity(&f.quantity) {
        Ok(q) => q,
        Err(e) => {
            return Ok(app.message(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&u),
                "Check the quantity",
                e,
            ))
        }
    };
    Ok(match place_order(&app, &u, id, qty).await? {
        Bought::Purchase(p) => {
            Redirect::to(&format!("{}/purchases/{p}/pay", app.urls().orders)).into_response()
        }
        Bought::Refused(code, why) => app.message(code, Some(&u), "Not bought", why),
    })
}

async fn pay_page(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login(&format!("/purchases/{id}/pay")));
    };
    Ok(match store::get(&app.pool, id, u.sub).await? {
        Some(p) => app.page("pay.html", Some(&u), minijinja::context! { purchase => p, methods => PAYMENT_METHODS, error => None::<String> }),
        None => app.message(StatusCode::NOT_FOUND, Some(&u), "Not found", "There is no such purchase of yours."),
    })
}

async fn pay(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Form(f): Form<PayForm>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login(&format!("/purchases/{id}/pay")));
    };
    if !csrf::matches(&u.csrf, &f.csrf) {
        return Ok(expired(&app, &u));
    }
    if !PAYMENT_METHODS.contains(&f.method.as_str()) {
        return Ok(app.message(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&u),
            "Choose a payment method",
            "Please choose card, transfer or cash.",
        ));
    }
    Ok(if store::pay(&app.pool, id, u.sub, &f.method).await? {
        Redirect::to(&format!("{}/purchases/{id}/delivery", app.urls().orders)).into_response()
    } else {
        app.message(
            StatusCode::CONFLICT,
            Some(&u),
            "Not paid",
            "This purchase is not waiting for payment.",
        )
    })
}

async fn delivery_page(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login(&format!("/purchases/{id}/delivery")));
    };
    let providers = store::providers(&app.pool).await?;
    Ok(match store::get(&app.pool, id, u.sub).await? {
        Some(p) => app.page(
            "delivery.html",
            Some(&u),
            minijinja::context! { purchase => p, providers => providers, error => None::<String> },
        ),
        None => app.message(
            StatusCode::NOT_FOUND,
            Some(&u),
            "Not found",
            "There is no such purchase of yours.",
        ),
    })
}

async fn delivery(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Form(f): Form<DeliveryForm>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login(&format!("/purchases/{id}/delivery")));
    };
    if !csrf::matches(&u.csrf, &f.csrf) {
        return Ok(expired(&app, &u));
    }
    let (provider, address) = match validate_delivery(&f) {
        Ok(v) => v,
        Err(e) => {
            return Ok(app.message(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&u),
                "Check the delivery",
                e,
            ))
        }
    };
    Ok(
        if store::ship(&app.pool, id, u.sub, provider, &address).await? {
            Redirect::to(&format!("{}/my/purchases", app.urls().orders)).into_response()
        } else {
            app.message(
                StatusCode::CONFLICT,
                Some(&u),
                "Not shipped",
                "This purchase must be paid first.",
            )
        },
    )
}

async fn mine(State(app): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login("/my/purchases"));
    };
    let purchases = store::of_buyer(&app.pool, u.sub).await?;
    Ok(app.page(
        "purchases.html",
        Some(&u),
        minijinja::context! { purchases => purchases },
    ))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({ "error": "log in first" })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct ApiBuy {
    book_id: u64,
    quantity: u32,
}

async fn api_buy(
    State(app): State<AppState>,
    user: CurrentUser,
    Json(b): Json<ApiBuy>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(unauthorized());
    };
    if let Err(e) = parse_quantity(&b.quantity.to_string()) {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({ "error": e })),
        )
            .into_response());
    }
    Ok(match place_order(&app, &u, b.book_id, b.quantity).await? {
        Bought::Purchase(id) => {
            let p = store::get(&app.pool, id, u.sub).await?;
            (StatusCode::CREATED, Json(p)).into_response()
        }
        Bought::Refused(code, why) => {
            (code, Json(serde_json::json!({ "error": why }))).into_response()
        }
    })
}

async fn api_pay(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Json(f): Json<PayForm>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(unauthorized());
    };
    if !PAYMENT_METHODS.contains(&f.method.as_str()) {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({ "error": "method: card, transfer or cash" })),
        )
            .into_response());
    }
    Ok(if store::pay(&app.pool, id, u.sub, &f.method).await? {
        Json(store::get(&app.pool, id, u.sub).await?).into_response()
    } else {
        (
            StatusCode::CONFLICT,
            Json(serde_json::json!({ "error": "not waiting for payment" })),
        )
            .into_response()
    })
}

async fn api_delivery(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Json(f): Json<DeliveryForm>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(unauthorized());
    };
    let (provider, address) = match validate_delivery(&f) {
        Ok(v) => v,
        Err(e) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({ "error": e })),
            )
                .into_response())
        }
    };
    Ok(
        if store::ship(&app.pool, id, u.sub, provider, &address).await? {
            Json(store::get(&app.pool, id, u.sub).await?).into_response()
        } else {
            (
                StatusCode::CONFLICT,
                Json(serde_json::json!({ "error": "pay first" })),
            )
                .into_response()
        },
    )
}

async fn api_list(State(app): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(unauthorized());
    };
    Ok(Json(store::of_buyer(&app.pool, u.sub).await?).into_response())
}
