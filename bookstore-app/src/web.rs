//! Pages: templates, errors, money, forms.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::Environment;
use serde::Serialize;

use crate::auth::Claims;
use crate::AppState;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("catalog.html", include_str!("../templates/catalog.html")),
    ("book.html", include_str!("../templates/book.html")),
    (
        "book_form.html",
        include_str!("../templates/book_form.html"),
    ),
    ("my_books.html", include_str!("../templates/my_books.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("register.html", include_str!("../templates/register.html")),
    ("pay.html", include_str!("../templates/pay.html")),
    ("delivery.html", include_str!("../templates/delivery.html")),
    (
        "purchases.html",
        include_str!("../templates/purchases.html"),
    ),
    ("users.html", include_str!("../templates/users.html")),
    ("message.html", include_str!("../templates/message.html")),
];

pub fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, src) in TEMPLATES {
        // The templates are part of the binary; a broken one is a build bug caught by tests.
        if let Err(e) = env.add_template(name, src) {
            tracing::error!(template = name, error = %e, "template does not compile");
        }
    }
    env.add_filter("money", |cents: i64| money(cents));
    env
}

/// 1234 → "12.34"
pub fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

/// "12.34" → 1234; at most two decimals, positive, at most 1,000,000.00.
pub fn parse_money(s: &str) -> Option<i64> {
    let s = s.trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    let cents = whole.checked_mul(100)?.checked_add(frac)?;
    (cents > 0 && cents <= 100_000_000).then_some(cents)
}

/// Base URLs of the services, for links between them.
#[derive(Serialize)]
pub struct Urls {
    pub auth: String,
    pub catalog: String,
    pub orders: String,
}

impl AppState {
    pub fn urls(&self) -> Urls {
        Urls {
            auth: self.config.auth_url.trim_end_matches('/').to_string(),
            catalog: self.config.catalog_url.trim_end_matches('/').to_string(),
            orders: self.config.orders_url.trim_end_matches('/').to_string(),
        }
    }

    /// Renders a page with the common context (user, CSRF token, service URLs).
    pub fn page(&self, template: &str, user: Option<&Claims>, ctx: minijinja::Value) -> Response {
        let common = minijinja::context! {
            user => user,
            csrf => user.map(|u| u.csrf.clone()),
            urls => self.urls(),
        };
        let ctx = minijinja::context! { ..ctx, ..common };
        match self
            .templates
            .get_template(template)
            .and_then(|t| t.render(ctx))
        {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(template, error = %e, "render failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "page failed to render").into_response()
            }
        }
    }

    /// A page with one message (errors, confirmations).
    pub fn message(
        &self,
        status: StatusCode,
        user: Option<&Claims>,
        title: &str,
        text: &str,
    ) -> Response {
        let mut r = self.page(
            "message.html",
            user,
            minijinja::context! { title => title, text => text },
        );
        *r.status_mut() = status;
        r
    }

    /// Redirect to the login page, coming back to `next` afterwards.
    pub fn to_login(&self, next: &str) -> Response {
        Redirect::to(&format!(
            "{}/login?next={}",
            self.urls().auth,
            urlencode(next)
        ))
        .into_response()
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Errors of a handler: a page for browsers.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("database: {0}")]
    Db(#[from] mysql_async::Error),
    #[error("{0}")]
    Other(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "request failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html("<h1>Something went wrong</h1><p>Please try again.</p>"),
        )
            .into_response()
    }
}

pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<h1>Not found</h1><p><a href=\"/\">Back to the catalog</a></p>"),
    )
        .into_response()
}
