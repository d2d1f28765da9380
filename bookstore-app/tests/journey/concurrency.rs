//! 20 buyers race for the 5 copies of a book: exactly 5 purchases succeed, the stock ends
//! at 0 and never below.

use mysql_async::prelude::Queryable;
use serde_json::{json, Value};

use crate::support::*;

async fn api_register(c: &reqwest::Client, base: &str, name: &str) -> String {
    let r = c
        .post(format!("{base}/api/auth/register"))
        .json(&json!({ "username": name, "email": format!("{name}@example.com"), "password": "correct horse" }))
        .send()
        .await
        .expect("register");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").to_string()
}

#[tokio::test]
async fn twenty_buyers_race_for_five_copies_and_exactly_five_win() {
    let base = monolith("race").await;
    let c = reqwest::Client::new();
    let seller = api_register(&c, &base, &unique("racer_s")).await;
    let r = c
        .post(format!("{base}/api/books"))
        .bearer_auth(&seller)
        .json(
            &json!({ "title": unique("Scarce "), "author": "Few", "price": "30.00", "stock": "5" }),
        )
        .send()
        .await
        .expect("create book");
    assert_eq!(r.status(), 201);
    let book = r.json::<Value>().await.expect("json")["id"]
        .as_u64()
        .expect("id");

    let mut buyers = Vec::new();
    for i in 0..20 {
        buyers.push(api_register(&c, &base, &unique(&format!("racer{i}_"))).await);
    }
    // All at once: each buyer has its own connection to the app, and the app one pool
    // connection per request through rwsplit.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(buyers.len()));
    let mut tasks = Vec::new();
    for token in buyers {
        let (base, barrier) = (base.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            barrier.wait().await;
            let r = c
                .post(format!("{base}/api/orders"))
                .bearer_auth(&token)
                .json(&json!({ "book_id": book, "quantity": 1 }))
                .send()
                .await
                .expect("buy");
            r.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    let won = statuses.iter().filter(|s| **s == 201).count();
    let sold_out = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((won, sold_out), (5, 15), "statuses: {statuses:?}");

    // The app sees 0 left at once (its own write, read through rwsplit)...
    let b: Value = c
        .get(format!("{base}/api/books/{book}"))
        .send()
        .await
        .expect("book")
        .json()
        .await
        .expect("json");
    assert_eq!(b["stock"], 0, "{b}");
    // ...and so does the primary, with exactly 5 purchases recorded.
    let mut p = root(world().topo.primary).await;
    let (stock, bought): (i64, i64) = p
        .exec_first(
            "SELECT (SELECT stock FROM bookstore_race.catalog_books WHERE id = ?), \
             (SELECT COUNT(*) FROM bookstore_race.orders_purchases WHERE book_id = ?)",
            (book, book),
        )
        .await
        .expect("query")
        .expect("row");
    assert_eq!((stock, bought), (0, 5));
}
