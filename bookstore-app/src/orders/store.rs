//! The orders tables.

use mysql_async::prelude::Queryable;
use mysql_async::{Pool, Row};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Purchase {
    pub id: u64,
    pub book_id: u64,
    pub book_title: String,
    pub quantity: u32,
    pub unit_price_cents: i64,
    pub total_cents: i64,
    pub status: String,
    pub created_at: String,
    pub payment_method: Option<String>,
    pub provider: Option<String>,
    pub delivery_cost_cents: Option<i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Provider {
    pub id: u32,
    pub name: String,
    pub coverage: String,
    pub cost_cents: i64,
}

const SELECT: &str = "SELECT p.id, p.book_id, p.book_title, p.quantity, p.unit_price_cents, p.total_cents, p.status, \
     CAST(p.created_at AS CHAR), pay.method, prov.name, d.cost_cents \
     FROM orders_purchases p \
     LEFT JOIN orders_payments pay ON pay.purchase_id = p.id \
     LEFT JOIN orders_deliveries d ON d.purchase_id = p.id \
     LEFT JOIN orders_providers prov ON prov.id = d.provider_id";

fn purchase(r: Row) -> Option<Purchase> {
    Some(Purchase {
        id: r.get(0)?,
        book_id: r.get(1)?,
        book_title: r.get(2)?,
        quantity: r.get(3)?,
        unit_price_cents: r.get(4)?,
        total_cents: r.get(5)?,
        status: r.get(6)?,
        created_at: r.get(7)?,
        payment_method: r.get(8)?,
        provider: r.get(9)?,
        delivery_cost_cents: r.get(10)?,
    })
}

pub async fn create(
    pool: &Pool,
    buyer: u64,
    book: u64,
    title: &str,
    qty: u32,
    unit_cents: i64,
) -> Result<u64, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    c.exec_drop(
        "INSERT INTO orders_purchases (buyer_id, book_id, book_title, quantity, unit_price_cents, total_cents, status) \
         VALUES (?, ?, ?, ?, ?, ?, 'pending_payment')",
        (buyer, book, title, qty, unit_cents, unit_cents * qty as i64),
    )
    .await?;
    Ok(c.last_insert_id().unwrap_or(0))
}

pub async fn get(pool: &Pool, id: u64, buyer: u64) -> Result<Option<Purchase>, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    let row: Option<Row> = c
        .exec_first(
            format!("{SELECT} WHERE p.id = ? AND p.buyer_id = ?"),
            (id, buyer),
        )
        .await?;
    Ok(row.and_then(purchase))
}

pub async fn of_buyer(pool: &Pool, buyer: u64) -> Result<Vec<Purchase>, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    let rows: Vec<Row> = c
        .exec(
            format!("{SELECT} WHERE p.buyer_id = ? ORDER BY p.id DESC"),
            (buyer,),
        )
        .await?;
    Ok(rows.into_iter().filter_map(purchase).collect())
}

pub async fn providers(pool: &Pool) -> Result<Vec<Provider>, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    let rows: Vec<(u32, String, String, i64)> = c
        .query("SELECT id, name, coverage, cost_cents FROM orders_providers ORDER BY id")
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, coverage, cost_cents)| Provider {
            id,
            name,
            coverage,
            cost_cents,
        })
        .collect())
}

/// Records the payment of a purchase waiting for it; false otherwise.
pub async fn pay(
    pool: &Pool,
    id: u64,
    buyer: u64,
    method: &str,
) -> Result<bool, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    let mut tx = c.start_transaction(Default::default()).await?;
    tx.exec_drop(
        "UPDATE orders_purchases SET status = 'paid' WHERE id = ? AND buyer_id = ? AND status = 'pending_payment'",
        (id, buyer),
    )
    .await?;
    if tx.affected_rows() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.exec_drop(
        "INSERT INTO orders_payments (purchase_id, method, amount_cents) SELECT id, ?, total_cents FROM orders_purchases WHERE id = ?",
        (method, id),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Chooses the delivery of a paid purchase; false otherwise.
pub async fn ship(
    pool: &Pool,
    id: u64,
    buyer: u64,
    provider: u32,
    address: &str,
) -> Result<bool, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    let mut tx = c.start_transaction(Default::default()).await?;
    tx.exec_drop(
        "UPDATE orders_purchases SET status = 'shipped' WHERE id = ? AND buyer_id = ? AND status = 'paid'",
        (id, buyer),
    )
    .await?;
    if tx.affected_rows() != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.exec_drop(
        "INSERT INTO orders_deliveries (purchase_id, provider_id, cost_cents, address) SELECT ?, id, cost_cents, ? FROM orders_providers WHERE id = ?",
        (id, address, provider),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
