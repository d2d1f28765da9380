//! End-to-end tests of the bookstore through rwsplit, against a real MariaDB primary and two
//! replicas (one of them 1 s behind for the whole run): the journey over HTTP in one process
//! and split in three, across two instances each with its own rwsplit (cluster mode), the
//! race for the last copies, and the journey in headless Chromium.

mod browser;
mod cluster;
mod concurrency;
mod http;
mod support;
