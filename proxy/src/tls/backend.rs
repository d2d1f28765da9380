//! TLS from rwsplit to the backends: the modes of the MySQL client's `--ssl-mode`, built
//! once per configuration into a rustls client configuration (ring, TLS 1.2 and 1.3).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::{BackendTlsMode, BackendsConfig};

use super::stream::Rewind;
use super::TlsConfigError;

/// How rwsplit talks TLS to the backends.
pub struct BackendTls {
    pub mode: BackendTlsMode,
    /// Why the settings could not be built, when they could not (every connection then
    /// fails rather than falling back to plain TCP).
    connector: Result<TlsConnector, String>,
}

impl std::fmt::Debug for BackendTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendTls")
            .field("mode", &self.mode)
            .finish()
    }
}

impl BackendTls {
    /// The TLS settings of `[backends]`; `None` when `tls = "disabled"`. Reads `ca_file`.
    pub fn from_config(b: &BackendsConfig) -> Result<Option<Arc<BackendTls>>, TlsConfigError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match b.tls {
            BackendTlsMode::Disabled => return Ok(None),
            BackendTlsMode::Preferred | BackendTlsMode::Required => {
                Arc::new(AnyCertificate(provider.clone()))
            }
            BackendTlsMode::VerifyCa | BackendTlsMode::VerifyIdentity => {
                let roots = roots(&b.ca_file)?;
                let webpki =
                    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| TlsConfigError {
                            key: "backends.ca_file",
                            message: e.to_string(),
                        })?;
                if b.tls == BackendTlsMode::VerifyCa {
                    Arc::new(AnyName(webpki))
                } else {
                    webpki
                }
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsConfigError {
                key: "backends.tls",
                message: e.to_string(),
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(Arc::new(BackendTls {
            mode: b.tls,
            connector: Ok(TlsConnector::from(Arc::new(config))),
        })))
    }

    /// As `from_config`, for a configuration already checked: should the CA file have
    /// become unreadable since, connections fail with the reason.
    pub fn for_runtime(b: &BackendsConfig) -> Option<Arc<BackendTls>> {
        BackendTls::from_config(b).unwrap_or_else(|e| {
            tracing::error!(error = %e, "backend TLS settings unusable: connections will fail");
            Some(Arc::new(BackendTls {
                mode: b.tls,
                connector: Err(e.to_string()),
            }))
        })
    }

    /// Whether a server without TLS is refused (every mode but `preferred`).
    pub fn required(&self) -> bool {
        self.mode != BackendTlsMode::Preferred
    }

    /// The TLS handshake on `tcp`, to `host` (a DNS name or an IP address).
    pub async fn connect(&self, host: &str, tcp: Rewind) -> std::io::Result<TlsStream<Rewind>> {
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("'{host}' is not a valid TLS server name"),
            )
        })?;
        match &self.connector {
            Ok(c) => c.connect(name, tcp).await,
            Err(e) => Err(std::io::Error::other(e.clone())),
        }
    }
}

fn roots(ca_file: &str) -> Result<RootCertStore, TlsConfigError> {
    let err = |message: String| TlsConfigError {
        key: "backends.ca_file",
        message,
    };
    if ca_file.is_empty() {
        return Err(err(
            "is required when backends.tls is verify_ca or verify_identity".into(),
        ));
    }
    let mut store = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| err(format!("cannot read '{ca_file}': {e}")))?;
    for cert in certs {
        let cert = cert.map_err(|e| err(format!("'{ca_file}': {e}")))?;
        store
            .add(cert)
            .map_err(|e| err(format!("'{ca_file}': {e}")))?;
    }
    if store.is_empty() {
        return Err(err(format!("'{ca_file}' holds no PEM certificate")));
    }
    Ok(store)
}

/// `preferred` and `required`: encrypts, checks nothing about the certificate (as the
/// MySQL client does in those modes), but still checks the handshake's signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify_ca`: the chain must be valid, the name in it need not match.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
