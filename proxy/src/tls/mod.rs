//! TLS on both sides of rwsplit (rustls with ring, through tokio-rustls): the stream that
//! is plain or TLS, the backend side's modes (`backends.tls`) and the client side's
//! certificate (`server.tls_cert_file`).

mod backend;
mod client;
mod stream;

pub use backend::BackendTls;
pub use client::ClientTls;
pub use stream::Stream;

/// Why TLS settings could not be built; names the configuration key.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TlsConfigError {
    pub key: &'static str,
    pub message: String,
}
