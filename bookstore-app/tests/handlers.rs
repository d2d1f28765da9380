//! Handler and unit tests of the three services that need no database: validation,
//! CSRF, sessions, redirects, templates. (The pool points nowhere: a handler that touched
//! the database would fail these tests.)

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use bookstore_app::auth::{
    hash_password, validate_registration, verify_password, Claims, RegisterForm,
};
use bookstore_app::catalog::BookForm;
use bookstore_app::orders::{parse_quantity, validate_delivery, DeliveryForm};
use bookstore_app::web::{money, parse_money};
use bookstore_app::{AppConfig, AppState};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn state() -> AppState {
    let mut config = AppConfig::monolith("mysql://nobody:x@127.0.0.1:1/none");
    config.jwt_secret = "unit-secret".into();
    let pool = mysql_async::Pool::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(1)
            .prefer_socket(false),
    );
    bookstore_app::state(config, pool)
}

fn session(admin: bool) -> (Claims, String) {
    let c = Claims::new(7, "alice", admin);
    let cookie = format!(
        "{}={}",
        bookstore_app::auth::COOKIE,
        c.encode("unit-secret")
    );
    (c, cookie)
}

async fn send(req: Request<Body>) -> (StatusCode, Vec<(String, String)>, String) {
    let app = bookstore_app::router(state());
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut r = Request::get(path);
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::empty()).unwrap()
}

fn post_form(path: &str, cookie: Option<&str>, body: &str) -> Request<Body> {
    let mut r =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

fn location(h: &[(String, String)]) -> String {
    h.iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[test]
fn money_is_parsed_and_printed_in_cents() {
    assert_eq!(parse_money("12.50"), Some(1250));
    assert_eq!(parse_money("12.5"), Some(1250));
    assert_eq!(parse_money("7"), Some(700));
    for bad in [
        "",
        "0",
        "0.00",
        "-1",
        "1.234",
        "abc",
        "1e3",
        "10000000.01",
        " .5",
    ] {
        assert_eq!(parse_money(bad), None, "{bad}");
    }
    assert_eq!(money(1250), "12.50");
    assert_eq!(money(5), "0.05");
}

#[test]
fn registration_is_validated() {
    let ok = RegisterForm {
        username: "alice_1".into(),
        email: "a@b.co".into(),
        password: "12345678".into(),
        csrf: String::new(),
    };
    assert!(validate_registration(&ok).is_ok());
    let cases = [
        ("al", "a@b.co", "12345678"),
        ("alice space", "a@b.co", "12345678"),
        ("alice", "not-an-email", "12345678"),
        ("alice", "a@b.co", "short"),
    ];
    for (u, e, p) in cases {
        let f = RegisterForm {
            username: u.into(),
            email: e.into(),
            password: p.into(),
            csrf: String::new(),
        };
        assert!(validate_registration(&f).is_err(), "{u} {e} {p}");
    }
}

#[test]
fn passwords_are_hashed_with_argon2() {
    let h = hash_password("correct horse").unwrap();
    assert!(h.starts_with("$argon2"));
    assert!(verify_password("correct horse", &h));
    assert!(!verify_password("wrong horse", &h));
    assert_ne!(hash_password("correct horse").unwrap(), h, "salted");
}

#[test]
fn sessions_are_signed() {
    let c = Claims::new(3, "bob", false);
    let t = c.encode("s1");
    assert_eq!(Claims::decode(&t, "s1"), Some(c));
    assert_eq!(Claims::decode(&t, "s2"), None, "another secret");
    assert_eq!(Claims::decode("garbage", "s1"), None);
}

#[test]
fn book_forms_are_validated_and_the_price_is_the_sellers() {
    let f = BookForm {
        title: " Dune ".into(),
        author: "Frank Herbert".into(),
        description: "".into(),
        price: "9.99".into(),
        stock: "3".into(),
        csrf: String::new(),
    };
    let b = f.validate().unwrap();
    assert_eq!((b.title.as_str(), b.price_cents, b.stock), ("Dune", 999, 3));
    for (field, value) in [
        ("title", ""),
        ("price", "free"),
        ("stock", "-1"),
        ("stock", "1000001"),
        ("author", ""),
    ] {
        let mut g = f.clone();
        match field {
            "title" => g.title = value.into(),
            "price" => g.price = value.into(),
            "stock" => g.stock = value.into(),
            _ => g.author = value.into(),
        }
        assert!(g.validate().is_err(), "{field}={value}");
    }
}

#[test]
fn orders_validate_quantity_and_delivery() {
    assert_eq!(parse_quantity("2"), Ok(2));
    for bad in ["0", "101", "-1", "two", ""] {
        assert!(parse_quantity(bad).is_err(), "{bad}");
    }
    let d = DeliveryForm {
        provider: "3".into(),
        address: "Calle 10 # 5-20".into(),
        csrf: String::new(),
    };
    assert_eq!(validate_delivery(&d).map(|v| v.0), Ok(3));
    for (p, a) in [
        ("5", "Calle 10 # 5-20"),
        ("x", "Calle 10 # 5-20"),
        ("1", "abc"),
    ] {
        let d = DeliveryForm {
            provider: p.into(),
            address: a.into(),
            csrf: String::new(),
        };
        assert!(validate_delivery(&d).is_err(), "{p} {a}");
    }
}

#[tokio::test]
async fn auth_pages_carry_a_csrf_token_and_refuse_forms_without_it() {
    let (status, headers, body) = send(get("/login", None)).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("bookstore_csrf="))
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .expect("a CSRF cookie");
    assert!(cookie.contains("HttpOnly") || headers.iter().any(|(_, v)| v.contains("HttpOnly")));
    let token = cookie.trim_start_matches("bookstore_csrf=").to_string();
    assert!(body.contains(&token), "the form carries the cookie's token");
    // Without the token (or with another one): refused before anything else. The other
    // token differs in its first character (a random token may itself start with 'x').
    let first = if token.starts_with('x') { 'y' } else { 'x' };
    let other = format!("{first}{}", &token[1..]);
    assert_ne!(other, token);
    for form in [
        "username=a&password=b".to_string(),
        format!("username=a&password=b&csrf={other}"),
    ] {
        let (status, _, _) = send(post_form("/login", Some(&cookie), &form)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{form}");
    }
    // Registration errors are shown with the form (validated before the database).
    let (status, _, body) = send(post_form(
        "/register",
        Some(&cookie),
        &format!("username=al&email=a@b.co&password=12345678&csrf={token}"),
    ))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("3 to 64 characters"), "{body}");
}

#[tokio::test]
async fn pages_that_need_a_login_redirect_to_it() {
    for path in [
        "/my/books",
        "/books/new",
        "/my/purchases",
        "/admin/users",
        "/purchases/1/pay",
    ] {
        let (status, headers, _) = send(get(path, None)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            location(&headers).starts_with("/login?next="),
            "{path}: {headers:?}"
        );
    }
    let (status, headers, _) = send(post_form("/books", None, "title=x")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // No page or redirect may be kept by a browser: the next load asks the app again.
    for (path, cookie) in [("/login", None), ("/books/new", Some(session(false).1))] {
        let (_, h, _) = send(get(path, cookie.as_deref())).await;
        assert!(
            h.iter()
                .any(|(k, v)| k == "cache-control" && v == "no-store"),
            "{path}: {h:?}"
        );
    }
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "cache-control" && v == "no-store"),
        "{headers:?}"
    );
    // The JSON API answers 401 instead.
    let req = Request::post("/api/orders")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"book_id":1,"quantity":1}"#))
        .unwrap();
    assert_eq!(send(req).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logged_in_forms_check_the_session_csrf_token() {
    let (claims, cookie) = session(false);
    let (status, _, body) = send(get("/books/new", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(&claims.csrf),
        "the form carries the session's token"
    );
    assert!(body.contains("alice"));
    for (path, form) in [
        (
            "/books",
            "title=Dune&author=F&price=1&stock=1&csrf=wrong".to_string(),
        ),
        ("/books/1/delete", "csrf=".to_string()),
        ("/books/1/buy", "quantity=1".to_string()),
        ("/purchases/1/pay", "method=card&csrf=nope".to_string()),
        ("/logout", "csrf=nope".to_string()),
    ] {
        let (status, _, _) = send(post_form(path, Some(&cookie), &form)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    // Valid token, invalid data: the error is shown, nothing is written.
    let (status, _, body) = send(post_form(
        "/books",
        Some(&cookie),
        &format!(
            "title=Dune&author=F&price=free&stock=1&csrf={}",
            claims.csrf
        ),
    ))
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("positive amount"), "{body}");
    // Non-admins cannot list users.
    let (status, _, _) = send(get("/admin/users", Some(&cookie))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A forged session is ignored.
    let forged = format!(
        "{}={}",
        bookstore_app::auth::COOKIE,
        Claims::new(1, "eve", true).encode("other-secret")
    );
    let (status, headers, _) = send(get("/admin/users", Some(&forged))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{headers:?}");
}

#[tokio::test]
async fn services_can_run_apart() {
    let mut config = AppConfig::monolith("mysql://x:y@127.0.0.1:1/z");
    config.services = bookstore_app::Services::parse("auth").unwrap();
    let pool = mysql_async::Pool::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(1),
    );
    let app = bookstore_app::router(bookstore_app::state(config, pool));
    let login = app.clone().oneshot(get("/login", None)).await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let books = app.oneshot(get("/books/new", None)).await.unwrap();
    assert_eq!(
        books.status(),
        StatusCode::NOT_FOUND,
        "catalog routes are not served by the auth service"
    );
    assert!(bookstore_app::Services::parse("auth,nope").is_err());
    assert!(bookstore_app::Services::parse("").is_err());
}
