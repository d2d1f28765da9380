//! Session tokens: a JWT (HS256, the shared secret) in an HttpOnly cookie. Every service
//! verifies it; none needs to call auth.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use jsonwebtoken::{decode, encode, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::AppState;

pub const COOKIE: &str = "bookstore_session";
const LIFETIME_S: u64 = 12 * 3600;

/// Who is logged in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: u64,
    pub name: String,
    pub admin: bool,
    /// The CSRF token of this login.
    pub csrf: String,
    pub exp: u64,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Claims {
    pub fn new(id: u64, name: &str, admin: bool) -> Claims {
        Claims {
            sub: id,
            name: name.to_string(),
            admin,
            csrf: crate::csrf::new_token(),
            exp: now() + LIFETIME_S,
        }
    }

    pub fn encode(&self, secret: &str) -> String {
        encode(
            &Header::default(),
            self,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap_or_default()
    }

    pub fn decode(token: &str, secret: &str) -> Option<Claims> {
        decode::<Claims>(
            token,
            &DecodingKey::from_secret(secret.as_bytes()),
            &Validation::default(),
        )
        .ok()
        .map(|d| d.claims)
    }
}

pub fn session_cookie(secret: &str, claims: &Claims) -> Cookie<'static> {
    let mut c = Cookie::new(COOKIE, claims.encode(secret));
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c
}

pub fn clear_cookie() -> Cookie<'static> {
    let mut c = Cookie::new(COOKIE, "");
    c.set_path("/");
    c.make_removal();
    c
}

/// The logged-in user, if any: from the session cookie, or `Authorization: Bearer` (API).
pub struct CurrentUser(pub Option<Claims>);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(CurrentUser(user_from_headers(
            &parts.headers,
            &app.config.jwt_secret,
        )))
    }
}

pub fn user_from_headers(headers: &HeaderMap, secret: &str) -> Option<Claims> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let token = bearer.or_else(|| {
        CookieJar::from_headers(headers)
            .get(COOKIE)
            .map(|c| c.value().to_string())
    })?;
    Claims::decode(&token, secret)
}
