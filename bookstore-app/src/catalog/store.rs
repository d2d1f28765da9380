//! The catalog's tables.

use mysql_async::prelude::Queryable;
use mysql_async::Pool;
use serde::Serialize;

use super::NewBook;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Book {
    pub id: u64,
    pub owner_id: u64,
    pub owner_name: String,
    pub title: String,
    pub author: String,
    pub description: String,
    pub price_cents: i64,
    pub stock: u32,
}

type Row = (u64, u64, String, String, String, String, i64, u32);

fn book(r: Row) -> Book {
    Book {
        id: r.0,
        owner_id: r.1,
        owner_name: r.2,
        title: r.3,
        author: r.4,
        description: r.5,
        price_cents: r.6,
        stock: r.7,
    }
}

const COLUMNS: &str = "id, owner_id, owner_name, title, author, description, price_cents, stock";

pub async fn listed(pool: &Pool) -> Result<Vec<Book>, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    let rows: Vec<Row> = c
        .query(format!(
            "SELECT {COLUMNS} FROM catalog_books WHERE deleted = FALSE ORDER BY id DESC LIMIT 200"
        ))
        .await?;
    Ok(rows.into_iter().map(book).collect())
}

pub async fn get(pool: &Pool, id: u64) -> Result<Option<Book>, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    let row: Option<Row> = c
        .exec_first(
            format!("SELECT {COLUMNS} FROM catalog_books WHERE id = ? AND deleted = FALSE"),
            (id,),
        )
        .await?;
    Ok(row.map(book))
}

pub async fn owned_by(pool: &Pool, owner: u64) -> Result<Vec<Book>, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    let rows: Vec<Row> = c
        .exec(format!("SELECT {COLUMNS} FROM catalog_books WHERE owner_id = ? AND deleted = FALSE ORDER BY id DESC"), (owner,))
        .await?;
    Ok(rows.into_iter().map(book).collect())
}

pub async fn insert(
    pool: &Pool,
    owner: u64,
    owner_name: &str,
    b: &NewBook,
) -> Result<u64, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    c.exec_drop(
        "INSERT INTO catalog_books (owner_id, owner_name, title, author, description, price_cents, stock) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (owner, owner_name, &b.title, &b.author, &b.description, b.price_cents, b.stock),
    )
    .await?;
    Ok(c.last_insert_id().unwrap_or(0))
}

/// Only the owner's row changes; false when it is not theirs (or gone).
pub async fn update(
    pool: &Pool,
    id: u64,
    owner: u64,
    b: &NewBook,
) -> Result<bool, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    c.exec_drop(
        "UPDATE catalog_books SET title = ?, author = ?, description = ?, price_cents = ?, stock = ? \
         WHERE id = ? AND owner_id = ? AND deleted = FALSE",
        (&b.title, &b.author, &b.description, b.price_cents, b.stock, id, owner),
    )
    .await?;
    if c.affected_rows() == 1 {
        return Ok(true);
    }
    // Unchanged values count as 0 affected rows: check it is there and theirs.
    let n: Option<u64> = c
        .exec_first(
            "SELECT COUNT(*) FROM catalog_books WHERE id = ? AND owner_id = ? AND deleted = FALSE FOR UPDATE",
            (id, owner),
        )
        .await?;
    Ok(n == Some(1))
}

pub async fn delete(pool: &Pool, id: u64, owner: u64) -> Result<bool, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    c.exec_drop(
        "UPDATE catalog_books SET deleted = TRUE WHERE id = ? AND owner_id = ? AND deleted = FALSE",
        (id, owner),
    )
    .await?;
    Ok(c.affected_rows() == 1)
}

/// Takes `qty` from the stock in one transaction: never below zero, so concurrent buyers
/// cannot oversell. Returns the title and the unit price, from the database.
pub async fn reserve(
    pool: &Pool,
    id: u64,
    qty: u32,
) -> Result<Option<(String, i64)>, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    let mut tx = c.start_transaction(Default::default()).await?;
    tx.exec_drop(
        "UPDATE catalog_books SET stock = stock - ? WHERE id = ? AND stock >= ? AND deleted = FALSE",
        (qty, id, qty),
    )
    .await?;
    if tx.affected_rows() != 1 {
        tx.rollback().await?;
        return Ok(None);
    }
    let row: Option<(String, i64)> = tx
        .exec_first(
            "SELECT title, price_cents FROM catalog_books WHERE id = ?",
            (id,),
        )
        .await?;
    tx.commit().await?;
    Ok(row)
}

/// Gives back a reservation that could not be turned into a purchase.
pub async fn release(pool: &Pool, id: u64, qty: u32) -> Result<(), mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    c.exec_drop(
        "UPDATE catalog_books SET stock = stock + ? WHERE id = ?",
        (qty, id),
    )
    .await
}

/// Whether a book exists and is listed (to tell "sold out" from "gone").
pub async fn exists(pool: &Pool, id: u64) -> Result<bool, mysql_async::Error> {
    let mut c = pool.get_conn().await?;
    let n: Option<u64> = c
        .exec_first(
            "SELECT COUNT(*) FROM catalog_books WHERE id = ? AND deleted = FALSE",
            (id,),
        )
        .await?;
    Ok(n == Some(1))
}
