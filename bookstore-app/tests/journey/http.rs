//! The whole journey over HTTP, as a browser without JavaScript does it (forms, cookies,
//! redirects), once with the three services in one process and once as three processes.
//! Every step checks that the page after a write shows that write: with one replica 1 s
//! behind, a stale read would fail it.

use std::time::Duration;

use crate::support::*;

/// Where each service answers (all the same in one process).
pub struct Bases<'a> {
    pub auth: &'a str,
    pub catalog: &'a str,
    pub orders: &'a str,
}

struct Page {
    url: String,
    status: u16,
    body: String,
}

async fn get(c: &reqwest::Client, url: &str) -> Page {
    let r = c.get(url).send().await.expect("GET");
    page(r).await
}

async fn post(c: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> Page {
    let r = c.post(url).form(form).send().await.expect("POST");
    page(r).await
}

async fn page(r: reqwest::Response) -> Page {
    Page {
        url: r.url().to_string(),
        status: r.status().as_u16(),
        body: r.text().await.expect("body"),
    }
}

/// Registers and returns the session's CSRF token (from the logged-in page).
async fn register(c: &reqwest::Client, b: &Bases<'_>, name: &str) -> String {
    let form = get(c, &format!("{}/register", b.auth)).await;
    let token = csrf_of(&form.body);
    let email = format!("{name}@example.com");
    let p = post(
        c,
        &format!("{}/register", b.auth),
        &[
            ("username", name),
            ("email", &email),
            ("password", "correct horse"),
            ("csrf", &token),
        ],
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.url.starts_with(b.catalog),
        "registration lands on the catalog: {}",
        p.url
    );
    assert!(
        p.body.contains(&format!(r#"id="nav-user">{name}<"#)),
        "logged in as {name}"
    );
    csrf_of(&p.body)
}

async fn log_out(c: &reqwest::Client, b: &Bases<'_>, token: &str) {
    let p = post(c, &format!("{}/logout", b.auth), &[("csrf", token)]).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains(r#"id="nav-login""#), "logged out");
}

async fn log_in(c: &reqwest::Client, b: &Bases<'_>, name: &str) -> String {
    let form = get(c, &format!("{}/login", b.auth)).await;
    let wrong = post(
        c,
        &format!("{}/login", b.auth),
        &[
            ("username", name),
            ("password", "wrong password"),
            ("csrf", &csrf_of(&form.body)),
            ("next", ""),
        ],
    )
    .await;
    assert_eq!(wrong.status, 401, "a wrong password is refused");
    let p = post(
        c,
        &format!("{}/login", b.auth),
        &[
            ("username", name),
            ("password", "correct horse"),
            ("csrf", &csrf_of(&wrong.body)),
            ("next", ""),
        ],
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains(&format!(r#"id="nav-user">{name}<"#)),
        "logged in as {name}"
    );
    csrf_of(&p.body)
}

/// The journey; `account` is the database account the app uses (its statements are
/// counted on the backends).
pub async fn journey(b: &Bases<'_>, account: &str) {
    journey_paced(b, account, Pace::BRISK).await
}

/// How the users move through the journey.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// How long a user reads a form before sending it. Longer than the replica's delay,
    /// it lets the replica catch up with every write made before: an rwsplit that saw
    /// none of the writes made since (they went through another instance's) may then take
    /// it for fresh, and only the reads that follow the user's next write tell whether
    /// that write is seen.
    pub think: Duration,
    /// How many times a user reloads the page a write led to (each load must show the
    /// write): behind a balancer, the loads go to every instance in turn.
    pub reloads: usize,
}

impl Pace {
    /// No pauses, no reloads.
    pub const BRISK: Pace = Pace {
        think: Duration::ZERO,
        reloads: 0,
    };
}

/// Loads `url` again `pace.reloads` times; `check` judges each load.
async fn reload(c: &reqwest::Client, url: &str, pace: Pace, check: impl Fn(&Page)) {
    for _ in 0..pace.reloads {
        let p = get(c, url).await;
        assert_eq!(p.status, 200, "{url} reloaded: {}", p.body);
        check(&p);
    }
}

/// The journey at `pace`.
pub async fn journey_paced(b: &Bases<'_>, account: &str, pace: Pace) {
    let think = pace.think;
    let seller = client();
    let buyer = client();
    let seller_name = unique("seller");
    let buyer_name = unique("buyer");
    let title = unique("The Replicated Book ");

    // The seller registers, logs out, logs in again and puts a book on sale.
    let t = register(&seller, b, &seller_name).await;
    log_out(&seller, b, &t).await;
    let t = log_in(&seller, b, &seller_name).await;
    let form = get(&seller, &format!("{}/books/new", b.catalog)).await;
    assert_eq!(form.status, 200);
    tokio::time::sleep(think).await;
    let p = post(
        &seller,
        &format!("{}/books", b.catalog),
        &[
            ("title", &title),
            ("author", "A. Replica"),
            ("description", "Read on replicas, written on the primary."),
            ("price", "12.50"),
            ("stock", "7"),
            ("csrf", &csrf_of(&form.body)),
        ],
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains(&title),
        "the new book's page shows it at once"
    );
    assert!(p.body.contains(r#"<span id="book-stock">7</span>"#));
    let book_url = p.url.clone();
    reload(&seller, &book_url, pace, |p| {
        assert!(p.body.contains(&title), "the reloaded book page shows it");
    })
    .await;
    let book_id = book_url.rsplit('/').next().expect("id").to_string();

    // Anyone sees it in the catalog at once; the catalog is read on a replica.
    let (replicas_before, _) = selects(account).await;
    let cat = get(&buyer, &format!("{}/", b.catalog)).await;
    assert!(cat.body.contains(&title), "the catalog shows the new book");
    let (replicas_after, _) = selects(account).await;
    assert!(
        replicas_after > replicas_before,
        "the catalog page was read on a replica ({replicas_before} -> {replicas_after} selects)"
    );

    // The buyer buys 2: the price is the database's, the form has none.
    let t_buyer = register(&buyer, b, &buyer_name).await;
    let page = get(&buyer, &book_url).await;
    assert!(
        page.body.contains(r#"id="buy-form""#),
        "a buyer sees the buy form"
    );
    tokio::time::sleep(think).await;
    let p = post(
        &buyer,
        &format!("{}/books/{book_id}/buy", b.orders),
        &[("quantity", "2"), ("csrf", &csrf_of(&page.body))],
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.url.contains("/pay"), "{}", p.url);
    assert!(
        p.body
            .contains(r#"<span class="price" id="total">$25.00</span>"#),
        "{}",
        p.body
    );
    assert!(p.body.contains(r#"id="status">pending_payment<"#));
    reload(&buyer, &p.url, pace, |p| {
        assert!(
            p.body.contains(r#"id="status">pending_payment<"#),
            "the reloaded purchase shows it: {}",
            p.body
        );
    })
    .await;

    // Someone else cannot edit or delete the seller's book.
    let refused = post(
        &buyer,
        &format!("{}/books/{book_id}/delete", b.catalog),
        &[("csrf", &t_buyer)],
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    // Pay, choose the delivery; each page shows the step just taken.
    tokio::time::sleep(think).await;
    let p = post(&buyer, &p.url, &[("method", "card"), ("csrf", &t_buyer)]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains(r#"id="status">paid<"#), "{}", p.body);
    reload(&buyer, &p.url, pace, |p| {
        assert!(
            p.body.contains(r#"id="status">paid<"#),
            "the reloaded purchase is paid: {}",
            p.body
        );
    })
    .await;
    assert!(
        p.body.contains("Servientrega"),
        "the seeded providers are offered"
    );
    tokio::time::sleep(think).await;
    let p = post(
        &buyer,
        &p.url,
        &[
            ("provider", "2"),
            ("address", "1 Replica Road, Springfield"),
            ("csrf", &t_buyer),
        ],
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.url.ends_with("/my/purchases"), "{}", p.url);
    assert!(p.body.contains(&title));
    assert!(
        p.body.contains(r#"<td class="status">shipped</td>"#),
        "{}",
        p.body
    );
    assert!(p.body.contains("FedEx"));
    reload(&buyer, &p.url, pace, |p| {
        assert!(
            p.body.contains(r#"<td class="status">shipped</td>"#),
            "the reloaded purchases show it shipped: {}",
            p.body
        );
    })
    .await;

    // The stock went down by 2.
    let page = get(&buyer, &book_url).await;
    assert!(
        page.body.contains(r#"<span id="book-stock">5</span>"#),
        "{}",
        page.body
    );

    // The seller deletes the book; it is gone from the catalog and their list at once.
    tokio::time::sleep(think).await;
    let p = post(
        &seller,
        &format!("{}/books/{book_id}/delete", b.catalog),
        &[("csrf", &t)],
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(!p.body.contains(&title), "my books no longer lists it");
    reload(&seller, &p.url, pace, |p| {
        assert!(
            !p.body.contains(&title),
            "my books, reloaded, no longer lists it"
        );
    })
    .await;
    let cat = get(&seller, &format!("{}/", b.catalog)).await;
    assert!(!cat.body.contains(&title), "the catalog no longer shows it");
    assert_eq!(get(&seller, &book_url).await.status, 404);
    // The purchase stays in the buyer's history.
    let mine = get(&buyer, &format!("{}/my/purchases", b.orders)).await;
    assert!(mine.body.contains(&title));

    log_out(&seller, b, &t).await;
    log_out(&buyer, b, &t_buyer).await;
    let after = get(&buyer, &format!("{}/my/purchases", b.orders)).await;
    assert!(
        after.url.contains("/login"),
        "logged out for real: {}",
        after.url
    );
}

#[tokio::test]
async fn the_journey_through_rwsplit_with_a_lagging_replica() {
    let base = monolith("journey").await;
    journey(
        &Bases {
            auth: &base,
            catalog: &base,
            orders: &base,
        },
        "journey",
    )
    .await;
    // Migrations ran once and are recorded; running them again changes nothing.
    let pool = bookstore_app::db::connect(&dsn("journey"))
        .await
        .expect("pool");
    bookstore_app::db::migrate(&pool)
        .await
        .expect("migrate again");
    let mut c = pool.get_conn().await.expect("conn");
    use mysql_async::prelude::Queryable;
    let ran: Vec<u32> = c
        .query("SELECT version FROM schema_migrations ORDER BY version")
        .await
        .expect("versions");
    assert_eq!(ran, vec![1, 2, 3, 4]);
    let providers: Option<i64> = c
        .query_first("SELECT COUNT(*) FROM orders_providers")
        .await
        .expect("providers");
    assert_eq!(providers, Some(4), "providers are seeded once");
}

#[tokio::test]
async fn the_journey_with_the_services_split_in_three_processes() {
    let split = Split::start("split");
    journey(
        &Bases {
            auth: &split.auth,
            catalog: &split.catalog,
            orders: &split.orders,
        },
        "split",
    )
    .await;
}
