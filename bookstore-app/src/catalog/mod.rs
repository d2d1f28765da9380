//! The catalog service: books and their stock. Anyone browses; logged-in users sell
//! (add, edit, delete their own books). Stock is reserved for orders atomically.

mod api;
mod store;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

pub use api::{CatalogApi, HttpCatalog, LocalCatalog, Reservation, ReserveError};
pub use store::Book;

use crate::auth::CurrentUser;
use crate::web::{parse_money, AppError};
use crate::{csrf, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/books/{id}", get(show))
        .route("/my/books", get(mine))
        .route("/books/new", get(new_page))
        .route("/books", post(create))
        .route("/books/{id}/edit", get(edit_page).post(edit))
        .route("/books/{id}/delete", post(delete))
        .merge(api::routes())
}

/// A book form as submitted.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct BookForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub price: String,
    #[serde(default)]
    pub stock: String,
    #[serde(default)]
    pub csrf: String,
}

/// A valid book: what the store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBook {
    pub title: String,
    pub author: String,
    pub description: String,
    pub price_cents: i64,
    pub stock: u32,
}

impl BookForm {
    /// Checks every field; the first problem, in words.
    pub fn validate(&self) -> Result<NewBook, &'static str> {
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err("The title must have 1 to 200 characters.");
        }
        let author = self.author.trim();
        if author.is_empty() || author.chars().count() > 200 {
            return Err("The author must have 1 to 200 characters.");
        }
        if self.description.chars().count() > 2000 {
            return Err("The description may have at most 2000 characters.");
        }
        let price_cents =
            parse_money(&self.price).ok_or("The price must be a positive amount like 12.50.")?;
        let stock: u32 = self
            .stock
            .trim()
            .parse()
            .ok()
            .filter(|s| *s <= 100_000)
            .ok_or("The stock must be a whole number from 0 to 100000.")?;
        Ok(NewBook {
            title: title.to_string(),
            author: author.to_string(),
            description: self.description.trim().to_string(),
            price_cents,
            stock,
        })
    }
}

async fn list(State(app): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let books = store::listed(&app.pool).await?;
    Ok(app.page(
        "catalog.html",
        user.0.as_ref(),
        minijinja::context! { books => books },
    ))
}

async fn show(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<Response, AppError> {
    match store::get(&app.pool, id).await? {
        Some(book) => {
            let mine = user.0.as_ref().is_some_and(|u| u.sub == book.owner_id);
            Ok(app.page(
                "book.html",
                user.0.as_ref(),
                minijinja::context! { book => book, mine => mine },
            ))
        }
        None => Ok(app.message(
            StatusCode::NOT_FOUND,
            user.0.as_ref(),
            "Not found",
            "There is no such book.",
        )),
    }
}

async fn mine(State(app): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login("/my/books"));
    };
    let books = store::owned_by(&app.pool, u.sub).await?;
    Ok(app.page(
        "my_books.html",
        Some(&u),
        minijinja::context! { books => books },
    ))
}

async fn new_page(State(app): State<AppState>, user: CurrentUser) -> Response {
    let Some(u) = user.0 else {
        return app.to_login("/books/new");
    };
    app.page(
        "book_form.html",
        Some(&u),
        minijinja::context! { action => "/books", heading => "Sell a book", form => minijinja::context! { title => "", author => "", description => "", price => "", stock => "1" }, error => None::<String> },
    )
}

fn form_again(
    app: &AppState,
    user: &crate::auth::Claims,
    action: &str,
    heading: &str,
    f: &BookForm,
    error: &str,
) -> Response {
    let mut page = app.page(
        "book_form.html",
        Some(user),
        minijinja::context! {
            action => action, heading => heading, error => error,
            form => minijinja::context! { title => f.title, author => f.author, description => f.description, price => f.price, stock => f.stock },
        },
    );
    *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    page
}

async fn create(
    State(app): State<AppState>,
    user: CurrentUser,
    Form(f): Form<BookForm>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login("/books/new"));
    };
    if !csrf::matches(&u.csrf, &f.csrf) {
        return Ok(app.message(
            StatusCode::FORBIDDEN,
            Some(&u),
            "Form expired",
            "Please reload the page and try again.",
        ));
    }
    match f.validate() {
        Ok(b) => {
            let id = store::insert(&app.pool, u.sub, &u.name, &b).await?;
            Ok(Redirect::to(&format!("/books/{id}")).into_response())
        }
        Err(e) => Ok(form_again(&app, &u, "/books", "Sell a book", &f, e)),
    }
}

async fn edit_page(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login(&format!("/books/{id}/edit")));
    };
    match store::get(&app.pool, id).await? {
        Some(b) if b.owner_id == u.sub => Ok(app.page(
            "book_form.html",
            Some(&u),
            minijinja::context! {
                action => format!("/books/{id}/edit"), heading => "Edit your book", error => None::<String>,
                form => minijinja::context! { title => b.title, author => b.author, description => b.description, price => crate::web::money(b.price_cents), stock => b.stock.to_string() },
            },
        )),
        Some(_) => Ok(app.message(StatusCode::FORBIDDEN, Some(&u), "Not yours", "Only the seller can edit this book.")),
        None => Ok(app.message(StatusCode::NOT_FOUND, Some(&u), "Not found", "There is no such book.")),
    }
}

async fn edit(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Form(f): Form<BookForm>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login(&format!("/books/{id}/edit")));
    };
    if !csrf::matches(&u.csrf, &f.csrf) {
        return Ok(app.message(
            StatusCode::FORBIDDEN,
            Some(&u),
            "Form expired",
            "Please reload the page and try again.",
        ));
    }
    let b = match f.validate() {
        Ok(b) => b,
        Err(e) => {
            return Ok(form_again(
                &app,
                &u,
                &format!("/books/{id}/edit"),
                "Edit your book",
                &f,
                e,
            ))
        }
    };
    if store::update(&app.pool, id, u.sub, &b).await? {
        Ok(Redirect::to(&format!("/books/{id}")).into_response())
    } else {
        Ok(app.message(
            StatusCode::FORBIDDEN,
            Some(&u),
            "Not yours",
            "Only the seller can edit this book.",
        ))
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn delete(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u64>,
    Form(f): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    let Some(u) = user.0 else {
        return Ok(app.to_login(&format!("/books/{id}")));
    };
    if !csrf::matches(&u.csrf, &f.csrf) {
        return Ok(app.message(
            StatusCode::FORBIDDEN,
            Some(&u),
            "Form expired",
            "Please reload the page and try again.",
        ));
    }
    if store::delete(&app.pool, id, u.sub).await? {
        Ok(Redirect::to("/my/books").into_response())
    } else {
        Ok(app.message(
            StatusCode::FORBIDDEN,
            Some(&u),
            "Not yours",
            "Only the seller can delete this book.",
        ))
    }
}
