//! TLS offered to clients: a certificate chain and key from PEM files
//! (`server.tls_cert_file`, `server.tls_key_file`), read again on every reload.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::ServerConfig as ListenerConfig;

use super::stream::Rewind;
use super::TlsConfigError;

/// What rwsplit presents to clients that ask for TLS.
pub struct ClientTls {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls")
    }
}

impl ClientTls {
    /// `None` when no certificate is configured (TLS is then not offered).
    pub fn from_config(c: &ListenerConfig) -> Result<Option<Arc<ClientTls>>, TlsConfigError> {
        match (c.tls_cert_file.is_empty(), c.tls_key_file.is_empty()) {
            (true, true) => return Ok(None),
            (false, true) => {
                return Err(TlsConfigError {
                    key: "server.tls_key_file",
                    message: "is required with server.tls_cert_file".into(),
                })
            }
            (true, false) => {
                return Err(TlsConfigError {
                    key: "server.tls_cert_file",
                    message: "is required with server.tls_key_file".into(),
                })
            }
            (false, false) => {}
        }
        let cert_err = |message: String| TlsConfigError {
            key: "server.tls_cert_file",
            message,
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&c.tls_cert_file)
            .map_err(|e| cert_err(format!("cannot read '{}': {e}", c.tls_cert_file)))?
            .collect::<Result<_, _>>()
            .map_err(|e| cert_err(format!("'{}': {e}", c.tls_cert_file)))?;
        if certs.is_empty() {
            return Err(cert_err(format!(
                "'{}' holds no PEM certificate",
                c.tls_cert_file
            )));
        }
        let key = PrivateKeyDer::from_pem_file(&c.tls_key_file).map_err(|e| TlsConfigError {
            key: "server.tls_key_file",
            message: format!(
                "cannot read a PEM private key from '{}': {e}",
                c.tls_key_file
            ),
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| cert_err(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsConfigError {
                key: "server.tls_key_file",
                message: format!("does not match the certificate: {e}"),
            })?;
        Ok(Some(Arc::new(ClientTls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })))
    }

    /// As `from_config`, for a configuration already checked; an unreadable file since
    /// then leaves TLS unoffered, logged.
    pub fn for_runtime(c: &ListenerConfig) -> Option<Arc<ClientTls>> {
        ClientTls::from_config(c).unwrap_or_else(|e| {
            tracing::error!(error = %e, "client TLS settings unusable: TLS not offered");
            None
        })
    }

    pub async fn accept(&self, tcp: Rewind) -> std::io::Result<TlsStream<Rewind>> {
        self.acceptor.accept(tcp).await
    }
}
