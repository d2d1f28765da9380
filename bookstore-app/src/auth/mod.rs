//! The auth service: register, log in, log out, list users (admin). It issues a signed
//! session token (JWT) in an HttpOnly cookie; the other services verify it with the
//! shared secret.

mod password;
mod token;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use axum_extra::extract::cookie::CookieJar;
use mysql_async::prelude::Queryable;
use serde::{Deserialize, Serialize};

pub use password::{hash_password, verify_password};
pub use token::{clear_cookie, session_cookie, Claims, CurrentUser, COOKIE};

use crate::web::AppError;
use crate::{csrf, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_page).post(register))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/admin/users", get(users))
        .route("/api/auth/register", post(api_register))
        .route("/api/auth/login", post(api_login))
}

#[derive(Debug, Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: String,
}

/// Validates a registration: the first error, in words.
pub fn validate_registration(f: &RegisterForm) -> Result<(), &'static str> {
    let u = f.username.trim();
    if u.len() < 3 || u.len() > 64 {
        return Err("The user name must have 3 to 64 characters.");
    }
    if !u
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        return Err("The user name may only use letters, digits, '_', '.' and '-'.");
    }
    let e = f.email.trim();
    if e.len() > 255
        || !e.contains('@')
        || e.starts_with('@')
        || e.ends_with('@')
        || e.contains(' ')
    {
        return Err("Please enter a valid e-mail address.");
    }
    if f.password.len() < 8 {
        return Err("The password must have at least 8 characters.");
    }
    if f.password.len() > 200 {
        return Err("The password is too long.");
    }
    Ok(())
}

#[derive(Debug, Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub next: String,
}

#[derive(Deserialize)]
pub struct Next {
    #[serde(default)]
    next: String,
}

/// Only local paths are followed after logging in.
fn safe_next(next: &str, catalog: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") {
        next.to_string()
    } else {
        format!("{catalog}/")
    }
}

async fn register_page(State(app): State<AppState>, jar: CookieJar, user: CurrentUser) -> Response {
    let (jar, token) = csrf::anonymous(jar);
    let page = app.page(
        "register.html",
        user.0.as_ref(),
        minijinja::context! { form_csrf => token, error => None::<String>, username => "", email => "" },
    );
    (jar, page).into_response()
}

async fn register(
    State(app): State<AppState>,
    jar: CookieJar,
    Form(f): Form<RegisterForm>,
) -> Result<Response, AppError> {
    if !csrf::check_anonymous(&jar, &f.csrf) {
        return Ok(app.message(
            StatusCode::FORBIDDEN,
            None,
            "Form expired",
            "Please reload the page and try again.",
        ));
    }
    let again = |error: &str| {
        let (jar, token) = csrf::anonymous(jar.clone());
        let mut page = app.page(
            "register.html",
            None,
            minijinja::context! { form_csrf => token, error => error, username => f.username.trim(), email => f.email.trim() },
        );
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        (jar, page).into_response()
    };
    if let Err(e) = validate_registration(&f) {
        return Ok(again(e));
    }
    match create_user(&app, &f).await? {
        Ok(claims) => Ok((
            jar.add(session_cookie(&app.config.jwt_secret, &claims)),
            Redirect::to(&format!("{}/", app.urls().catalog)),
        )
            .into_response()),
        Err(msg) => Ok(again(msg)),
    }
}

/// Creates an account (the first one is the admin). `Err(message)` when the name or
/// e-mail is taken.
async fn create_user(
    app: &AppState,
    f: &RegisterForm,
) -> Result<Result<Claims, &'static str>, AppError> {
    let hash = hash_password(&f.password).map_err(AppError::Other)?;
    let mut c = app.pool.get_conn().await?;
    let r = c
        .exec_drop(
            "INSERT INTO auth_users (username, email, password_hash, is_admin) \
             SELECT ?, ?, ?, COUNT(*) = 0 FROM auth_users",
            (f.username.trim(), f.email.trim(), hash),
        )
        .await;
    match r {
        Err(mysql_async::Error::Server(e)) if e.code == 1062 => {
            return Ok(Err("That user name or e-mail is already registered."))
        }
        Err(e) => return Err(e.into()),
        Ok(()) => {}
    }
    let id = c.last_insert_id().unwrap_or(0);
    let admin: Option<bool> = c
        .exec_first("SELECT is_admin FROM auth_users WHERE id = ?", (id,))
        .await?;
    Ok(Ok(Claims::new(
        id,
        f.username.trim(),
        admin.unwrap_or(false),
    )))
}

async fn login_page(
    State(app): State<AppState>,
    jar: CookieJar,
    user: CurrentUser,
    Query(n): Query<Next>,
) -> Response {
    let (jar, token) = csrf::anonymous(jar);
    let page = app.page(
        "login.html",
        user.0.as_ref(),
        minijinja::context! { form_csrf => token, error => None::<String>, next => n.next, username => "" },
    );
    (jar, page).into_response()
}

async fn check_login(
    app: &AppState,
    username: &str,
    password: &str,
) -> Result<Option<Claims>, AppError> {
    let mut c = app.pool.get_conn().await?;
    let row: Option<(u64, String, String, bool)> = c
        .exec_first(
            "SELECT id, username, password_hash, is_admin FROM auth_users WHERE username = ?",
            (username.trim(),),
        )
        .await?;
    Ok(row.and_then(|(id, name, hash, admin)| {
        verify_password(password, &hash).then(|| Claims::new(id, &name, admin))
    }))
}

async fn login(
    State(app): State<AppState>,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    if !csrf::check_anonymous(&jar, &f.csrf) {
        return Ok(app.message(
            StatusCode::FORBIDDEN,
            None,
            "Form expired",
            "Please reload the page and try again.",
        ));
    }
    match check_login(&app, &f.username, &f.password).await? {
        Some(claims) => {
            let to = safe_next(&f.next, &app.urls().catalog);
            Ok((
                jar.add(session_cookie(&app.config.jwt_secret, &claims)),
                Redirect::to(&to),
            )
                .into_response())
        }
        None => {
            let (jar, token) = csrf::anonymous(jar);
            let mut page = app.page(
                "login.html",
                None,
                minijinja::context! { form_csrf => token, error => "Wrong user name or password.", next => f.next, username => f.username },
            );
            *page.status_mut() = StatusCode::UNAUTHORIZED;
            Ok((jar, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(app): State<AppState>,
    jar: CookieJar,
    user: CurrentUser,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Some(u) = &user.0 {
        if !csrf::matches(&u.csrf, &f.csrf) {
            return app.message(
                StatusCode::FORBIDDEN,
                user.0.as_ref(),
                "Form expired",
                "Please reload the page and try again.",
            );
        }
    }
    (
        jar.add(clear_cookie()),
        Redirect::to(&format!("{}/", app.urls().catalog)),
    )
        .into_response()
}

#[derive(Serialize)]
struct UserRow {
    id: u64,
    username: String,
    email: String,
    is_admin: bool,
    created_at: String,
}

async fn users(State(app): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login("/admin/users"));
    };
    if !u.admin {
        return Ok(app.message(
            StatusCode::FORBIDDEN,
            Some(&u),
            "Admins only",
            "This page is for administrators.",
        ));
    }
    let mut c = app.pool.get_conn().await?;
    let rows: Vec<(u64, String, String, bool, String)> = c
        .query("SELECT id, username, email, is_admin, CAST(created_at AS CHAR) FROM auth_users ORDER BY id")
        .await?;
    let users: Vec<UserRow> = rows
        .into_iter()
        .map(|(id, username, email, is_admin, created_at)| UserRow {
            id,
            username,
            email,
            is_admin,
            created_at,
        })
        .collect();
    Ok(app.page(
        "users.html",
        Some(&u),
        minijinja::context! { users => users },
    ))
}

#[derive(Serialize)]
struct SessionJson {
    id: u64,
    username: String,
    admin: bool,
    token: String,
}

async fn api_register(
    State(app): State<AppState>,
    jar: CookieJar,
    Json(f): Json<RegisterForm>,
) -> Result<Response, AppError> {
    if let Err(e) = validate_registration(&f) {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({ "error": e })),
        )
            .into_response());
    }
    match create_user(&app, &f).await? {
        Ok(c) => Ok(session_json(&app, jar, c)),
        Err(e) => Ok((
            StatusCode::CONFLICT,
            Json(serde_json::json!({ "error": e })),
        )
            .into_response()),
    }
}

async fn api_login(
    State(app): State<AppState>,
    jar: CookieJar,
    Json(f): Json<LoginForm>,
) -> Result<Response, AppError> {
    match check_login(&app, &f.username, &f.password).await? {
        Some(c) => Ok(session_json(&app, jar, c)),
        None => Ok((
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "error": "wrong user name or password" })),
        )
            .into_response()),
    }
}

fn session_json(app: &AppState, jar: CookieJar, c: Claims) -> Response {
    let cookie = session_cookie(&app.config.jwt_secret, &c);
    let token = cookie.value().to_string();
    (
        jar.add(cookie),
        Json(SessionJson {
            id: c.sub,
            username: c.name,
            admin: c.admin,
            token,
        }),
    )
        .into_response()
}
