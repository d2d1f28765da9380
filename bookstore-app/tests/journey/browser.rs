//! The journey in headless Chromium (Debian's chromium and chromium-driver, driven over
//! WebDriver with fantoccini) through rwsplit, with one replica 1 s behind: register → log
//! in → add a book → see it in the catalog → buy 2 → pay → choose the delivery → see the
//! purchase with its status → delete the book → log out. Takes the README's screenshot of
//! the catalog.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::*;

/// chromedriver on a port of its own; killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver; scripts/deps.sh --browser installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1200,900", format!("--user-data-dir={}", profile.display()),
                // No page loaded ahead of the user: a catalog preloaded before a write and
                // shown after it would be stale through no fault of rwsplit's.
                "--disable-features=Prerender2,NoStatePrefetch,SpeculationRulesPrefetchFuture",
            ],
            // Chromium's "Preload pages" setting: never.
            "prefs": { "net.network_prediction_options": 2 },
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

/// Fills the fields of a form.
async fn fill(b: &Client, fields: &[(&str, &str)]) {
    for (id, value) in fields {
        let e = b
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|_| panic!("field #{id}"));
        e.clear().await.expect("clear");
        e.send_keys(value).await.expect("type");
    }
}

/// Clicks `button` and waits for the next page to show `expect` (a CSS selector).
async fn submit(b: &Client, button: &str, expect: &str) {
    b.find(Locator::Id(button))
        .await
        .unwrap_or_else(|_| panic!("button #{button}"))
        .click()
        .await
        .expect("click");
    if b.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(expect))
        .await
        .is_err()
    {
        let url = b
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let src = b.source().await.unwrap_or_default();
        panic!("after #{button}, no {expect} on {url}:\n{src}");
    }
}

async fn text(b: &Client, css: &str) -> String {
    b.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css}"))
        .text()
        .await
        .expect("text")
}

async fn log_out(b: &Client) {
    submit(b, "logout", "#nav-login").await;
}

#[tokio::test]
async fn the_journey_in_chromium_through_rwsplit() {
    let base = monolith("browser").await;
    // A few books on sale already, from another seller (through the JSON API).
    let http = reqwest::Client::new();
    let other = http
        .post(format!("{base}/api/auth/register"))
        .json(&json!({ "username": "bookworm", "email": "bookworm@example.com", "password": "correct horse" }))
        .send()
        .await
        .expect("register")
        .json::<serde_json::Value>()
        .await
        .expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    for (title, author, price, stock) in [
        (
            "Designing Data-Intensive Applications",
            "Martin Kleppmann",
            "45.00",
            "4",
        ),
        (
            "High Performance MySQL",
            "Silvia Botros, Jeremy Tinley",
            "39.90",
            "6",
        ),
        ("Database Internals", "Alex Petrov", "42.00", "3"),
    ] {
        let r = http
            .post(format!("{base}/api/books"))
            .bearer_auth(&other)
            .json(
                &json!({ "title": title, "author": author, "price": price, "stock": stock,
                           "description": "A seeded book." }),
            )
            .send()
            .await
            .expect("seed a book");
        assert_eq!(r.status(), 201);
    }

    let driver = Driver::start();
    let profile = std::env::temp_dir().join(format!("bookstore-chromium-{}", driver.port));
    let b = browser(&driver, &profile).await;
    // This test's database is new with every run of the topology, so plain names do.
    let seller = "ana".to_string();
    let buyer = "bruno".to_string();
    let title = "Replication in Practice".to_string();

    // Register, log out, log in.
    b.goto(&format!("{base}/register")).await.expect("open");
    fill(
        &b,
        &[
            ("username", &seller),
            ("email", &format!("{seller}@example.com")),
            ("password", "correct horse"),
        ],
    )
    .await;
    submit(&b, "register", "#nav-user").await;
    assert_eq!(text(&b, "#nav-user").await, seller);
    log_out(&b).await;
    b.find(Locator::Id("nav-login"))
        .await
        .expect("link")
        .click()
        .await
        .expect("click");
    b.wait()
        .for_element(Locator::Id("login-form"))
        .await
        .expect("login page");
    fill(&b, &[("username", &seller), ("password", "correct horse")]).await;
    submit(&b, "login", "#nav-user").await;

    // Add a book: its page shows it at once.
    b.find(Locator::Id("sell"))
        .await
        .expect("sell link")
        .click()
        .await
        .expect("click");
    b.wait()
        .for_element(Locator::Id("book-form"))
        .await
        .expect("book form");
    fill(
        &b,
        &[
            ("title", &title),
            ("author", "Ada Replica"),
            (
                "description",
                "Writes on the primary, reads on replicas, and never a stale page.",
            ),
            ("price", "12.50"),
            ("stock", "7"),
        ],
    )
    .await;
    submit(&b, "save", "#book-title").await;
    assert_eq!(text(&b, "#book-title").await, title);
    assert_eq!(text(&b, "#book-stock").await, "7");
    let book_url = b.current_url().await.expect("url").to_string();

    // The catalog shows it, read on a replica.
    let (replicas_before, _) = selects("browser").await;
    b.goto(&format!("{base}/")).await.expect("catalog");
    let catalog = b.source().await.expect("source");
    assert!(
        catalog.contains(&title),
        "the catalog shows the new book at once; it showed:\n{catalog}"
    );
    let (replicas_after, _) = selects("browser").await;
    assert!(
        replicas_after > replicas_before,
        "catalog reads went to a replica ({replicas_before} -> {replicas_after})"
    );
    let png = b.screenshot().await.expect("screenshot");
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    std::fs::create_dir_all(&docs).expect("docs/");
    std::fs::write(docs.join("catalog.png"), &png).expect("write the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    log_out(&b).await;

    // A buyer registers and buys 2.
    b.goto(&format!("{base}/register")).await.expect("open");
    fill(
        &b,
        &[
            ("username", &buyer),
            ("email", &format!("{buyer}@example.com")),
            ("password", "correct horse"),
        ],
    )
    .await;
    submit(&b, "register", "#nav-user").await;
    b.goto(&book_url).await.expect("book");
    fill(&b, &[("quantity", "2")]).await;
    submit(&b, "buy", "#pay-form").await;
    assert_eq!(text(&b, "#total").await, "$25.00");
    assert_eq!(text(&b, "#status").await, "pending_payment");

    // Pay, then choose the delivery.
    b.find(Locator::Id("method"))
        .await
        .expect("methods")
        .select_by_value("card")
        .await
        .expect("card");
    submit(&b, "pay", "#delivery-form").await;
    assert_eq!(text(&b, "#status").await, "paid");
    b.find(Locator::Id("provider"))
        .await
        .expect("providers")
        .select_by_value("4")
        .await
        .expect("Servientrega");
    fill(&b, &[("address", "Calle 10 # 5-51, Bogotá")]).await;
    submit(&b, "ship", "#purchases").await;

    // My purchases: the purchase, paid and shipped.
    let row = text(&b, "tr.purchase").await;
    assert!(row.contains(&title), "{row}");
    assert!(
        row.contains("card") && row.contains("Servientrega") && row.contains("shipped"),
        "{row}"
    );
    assert!(row.contains("$25.00"), "{row}");
    log_out(&b).await;

    // The seller deletes the book; it is gone at once.
    b.goto(&format!("{base}/login")).await.expect("login");
    fill(&b, &[("username", &seller), ("password", "correct horse")]).await;
    submit(&b, "login", "#nav-user").await;
    b.goto(&book_url).await.expect("book");
    assert_eq!(text(&b, "#book-stock").await, "5", "two copies were sold");
    submit(&b, "delete", "#no-books").await;
    b.goto(&format!("{base}/")).await.expect("catalog");
    assert!(
        !b.source().await.expect("source").contains(&title),
        "deleted books leave the catalog at once"
    );
    log_out(&b).await;
    assert!(b.find(Locator::Id("nav-user")).await.is_err(), "logged out");

    b.close().await.expect("close the browser");
    let _ = std::fs::remove_dir_all(&profile);
}
