//! CSRF protection. Logged-in forms carry the random token that is inside the session
//! token; anonymous forms (log in, register) use a double-submit cookie.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use rand::distr::{Alphanumeric, SampleString};

pub const COOKIE: &str = "bookstore_csrf";

pub fn new_token() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

/// The anonymous token: the cookie's, or a new one set on the jar.
pub fn anonymous(jar: CookieJar) -> (CookieJar, String) {
    if let Some(c) = jar.get(COOKIE) {
        let v = c.value().to_string();
        if v.len() == 32 {
            return (jar, v);
        }
    }
    let v = new_token();
    let mut c = Cookie::new(COOKIE, v.clone());
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_path("/");
    (jar.add(c), v)
}

/// Constant-time comparison of a submitted token with the expected one.
pub fn matches(expected: &str, submitted: &str) -> bool {
    !expected.is_empty()
        && expected.len() == submitted.len()
        && expected
            .bytes()
            .zip(submitted.bytes())
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            == 0
}

/// Checks an anonymous form's token against its cookie.
pub fn check_anonymous(jar: &CookieJar, submitted: &str) -> bool {
    jar.get(COOKIE)
        .is_some_and(|c| matches(c.value(), submitted))
}
