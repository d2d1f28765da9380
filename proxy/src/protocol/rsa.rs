//! caching_sha2_password's RSA exchange, both ends: without TLS the password travels as
//! RSA-OAEP(SHA-1) of `(password NUL) XOR scramble` under the server's public key.
//! rwsplit is the server for its clients (it holds a key pair and serves the public key)
//! and the client for its backends (it encrypts under the key the backend sends).
//! Pure code: no sockets here.

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::rand_core::OsRng;
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};

/// Errors of the RSA exchange.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RsaError {
    #[error("not a PEM RSA key: {0}")]
    BadKey(String),
    #[error("RSA: {0}")]
    Crypto(String),
}

/// rwsplit's key pair for clients that log in without TLS.
pub struct RsaKeys {
    private: RsaPrivateKey,
    /// The public key as clients are sent it ("BEGIN PUBLIC KEY", PKCS#8).
    public_pem: String,
}

impl std::fmt::Debug for RsaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaKeys").finish_non_exhaustive()
    }
}

impl RsaKeys {
    /// A new key pair of `bits` (2048, as MySQL's auto-generated keys).
    pub fn generate(bits: usize) -> Result<RsaKeys, RsaError> {
        let private =
            RsaPrivateKey::new(&mut OsRng, bits).map_err(|e| RsaError::Crypto(e.to_string()))?;
        RsaKeys::from_private(private)
    }

    /// A private key in PEM: PKCS#1 ("BEGIN RSA PRIVATE KEY", what MySQL writes as
    /// private_key.pem) or PKCS#8 ("BEGIN PRIVATE KEY", what `openssl genpkey` writes).
    pub fn from_pem(pem: &str) -> Result<RsaKeys, RsaError> {
        let private = RsaPrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem))
            .map_err(|e| RsaError::BadKey(e.to_string()))?;
        RsaKeys::from_private(private)
    }

    /// The key pair of a PEM file (as `from_pem`); the error names the file.
    pub fn from_file(path: &str) -> Result<RsaKeys, String> {
        let pem = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        RsaKeys::from_pem(&pem).map_err(|e| format!("{path}: {e}"))
    }

    fn from_private(private: RsaPrivateKey) -> Result<RsaKeys, RsaError> {
        let public_pem = RsaPublicKey::from(&private)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| RsaError::Crypto(e.to_string()))?;
        Ok(RsaKeys {
            private,
            public_pem,
        })
    }

    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The password a client sent encrypted, or `None` if `cipher` does not decrypt
    /// (wrong key, wrong length, tampered bytes).
    pub fn decrypt_password(&self, cipher: &[u8], scramble: &[u8]) -> Option<Vec<u8>> {
        let plain = self
            .private
            .decrypt_blinded(&mut OsRng, Oaep::new::<sha1::Sha1>(), cipher)
            .ok()?;
        let mut password = xor_scramble(&plain, scramble);
        // The client encrypted the password with its terminating NUL.
        if password.last() == Some(&0) {
            password.pop();
        }
        Some(password)
    }
}

/// What a client sends a server that asked for full authentication without TLS, once the
/// server has sent its public key (`pem`, PKCS#8 or PKCS#1).
pub fn encrypt_password(password: &[u8], scramble: &[u8], pem: &[u8]) -> Result<Vec<u8>, RsaError> {
    let text = std::str::from_utf8(pem)
        .map_err(|_| RsaError::BadKey("not UTF-8".into()))?
        .trim_matches(char::from(0))
        .trim();
    let key = RsaPublicKey::from_public_key_pem(text)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(text))
        .map_err(|e| RsaError::BadKey(e.to_string()))?;
    let mut plain = password.to_vec();
    plain.push(0);
    key.encrypt(
        &mut OsRng,
        Oaep::new::<sha1::Sha1>(),
        &xor_scramble(&plain, scramble),
    )
    .map_err(|e| RsaError::Crypto(e.to_string()))
}

/// `data` XOR the scramble repeated over its length (an empty scramble changes nothing).
fn xor_scramble(data: &[u8], scramble: &[u8]) -> Vec<u8> {
    if scramble.is_empty() {
        return data.to_vec();
    }
    data.iter()
        .zip(scramble.iter().cycle())
        .map(|(d, s)| d ^ s)
        .collect()
}
