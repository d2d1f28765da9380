//! rwsplit: a read/write-splitting MySQL/MariaDB proxy.
//!
//! Layers, from the socket inwards: [`server`] accepts clients; a [`session`] per client
//! reads commands, asks [`route`] where each goes (after [`classify`] said what it is),
//! and hands it to a [`backend`] connection whose answer it relays. [`monitor`] keeps the
//! [`route::Topology`] current. [`protocol`] and [`config`] are pure.

pub mod admin;
pub mod backend;
pub mod classify;
pub mod cli;
pub mod config;
pub mod metrics;
pub mod monitor;
pub mod protocol;
pub mod route;
pub mod server;
pub mod session;
pub mod shared;
pub mod tls;
