//! caching_sha2_password's full authentication as the protocol documentation specifies
//! it, without I/O: the client's steps (rwsplit logging in to a MySQL 8 / Aurora MySQL 3
//! backend, which this machine cannot run) and the server's RSA decryption (rwsplit's
//! clients). mysql_common's encryption (what mysql_async uses) is the independent other end.

use std::sync::OnceLock;

use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rwsplit::protocol::auth::{caching_sha2_step, Sha2Step, FAST_AUTH_OK, FULL_AUTH};
use rwsplit::protocol::rsa::{encrypt_password, RsaKeys};

const SCRAMBLE: &[u8; 20] = b"abcdefghij0123456789";

fn private() -> &'static rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("key"))
}

fn keys() -> RsaKeys {
    let pem = private().to_pkcs8_pem(LineEnding::LF).expect("pem");
    RsaKeys::from_pem(&pem).expect("PKCS#8 private key")
}

#[test]
fn a_backend_asking_for_full_authentication_gets_each_step_in_turn() {
    let pass = "s3cret";
    // Fast authentication succeeded: nothing to send, the OK follows.
    assert_eq!(
        caching_sha2_step(&[FAST_AUTH_OK], false, pass, SCRAMBLE),
        Ok(Sha2Step::AwaitOk)
    );
    // Full authentication over TLS: the password in clear, NUL-terminated.
    assert_eq!(
        caching_sha2_step(&[FULL_AUTH], true, pass, SCRAMBLE),
        Ok(Sha2Step::Send(b"s3cret\0".to_vec()))
    );
    // Without TLS: ask for the public key (0x02).
    assert_eq!(
        caching_sha2_step(&[FULL_AUTH], false, pass, SCRAMBLE),
        Ok(Sha2Step::Send(vec![0x02]))
    );
    // The key arrives: the password goes RSA-encrypted under it, as long as the key.
    let k = keys();
    let Ok(Sha2Step::Send(cipher)) =
        caching_sha2_step(k.public_pem().as_bytes(), false, pass, SCRAMBLE)
    else {
        panic!("the encrypted password is sent");
    };
    assert_eq!(cipher.len(), 256);
    assert_eq!(
        k.decrypt_password(&cipher, SCRAMBLE).as_deref(),
        Some(&b"s3cret"[..])
    );
    // Anything else is an error, not a panic.
    for bad in [
        &b""[..],
        &[0x05],
        &[0x03, 0x03],
        b"-----BEGIN PUBLIC KEY-----\nnot base64",
    ] {
        assert!(
            caching_sha2_step(bad, false, pass, SCRAMBLE).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn the_password_is_xored_with_the_scramble_before_encryption() {
    let k = keys();
    let cipher = encrypt_password(b"pw", SCRAMBLE, k.public_pem().as_bytes()).expect("encrypt");
    assert_eq!(
        k.decrypt_password(&cipher, SCRAMBLE).as_deref(),
        Some(&b"pw"[..])
    );
    // Decrypted against another scramble, the text is not the password.
    let other = k
        .decrypt_password(&cipher, b"zzzzzzzzzzzzzzzzzzzz")
        .expect("decrypts");
    assert_ne!(other, b"pw");
    // OAEP is randomized: the same password never encrypts to the same bytes twice.
    let again = encrypt_password(b"pw", SCRAMBLE, k.public_pem().as_bytes()).expect("encrypt");
    assert_ne!(cipher, again);
}

#[test]
fn mysql_common_clients_encrypt_what_rwsplit_decrypts() {
    let k = keys();
    for password in ["app", "", "a much longer password with spaces and ünïcödé"] {
        // What mysql_async sends: (password NUL) XOR scramble, RSA-OAEP under the key.
        let mut plain = password.as_bytes().to_vec();
        plain.push(0);
        for (i, b) in plain.iter_mut().enumerate() {
            *b ^= SCRAMBLE[i % SCRAMBLE.len()];
        }
        let cipher = mysql_common::crypto::encrypt(&plain, k.public_pem().as_bytes());
        assert_eq!(
            k.decrypt_password(&cipher, SCRAMBLE).as_deref(),
            Some(password.as_bytes())
        );
    }
}

#[test]
fn pkcs1_keys_are_read_as_mysql_writes_them() {
    // MySQL's private_key.pem / public_key.pem are PKCS#1 and PKCS#8 respectively; a
    // server may send either form of the public key.
    let pkcs1 = private().to_pkcs1_pem(LineEnding::LF).expect("pem");
    let k = RsaKeys::from_pem(&pkcs1).expect("PKCS#1 private key");
    let public1 = rsa::RsaPublicKey::from(private())
        .to_pkcs1_pem(LineEnding::LF)
        .expect("pem");
    let cipher = encrypt_password(b"app", SCRAMBLE, public1.as_bytes()).expect("PKCS#1 public");
    assert_eq!(
        k.decrypt_password(&cipher, SCRAMBLE).as_deref(),
        Some(&b"app"[..])
    );
    // A trailing NUL after the PEM (as some servers send it) is ignored.
    let mut with_nul = k.public_pem().as_bytes().to_vec();
    with_nul.push(0);
    assert!(encrypt_password(b"app", SCRAMBLE, &with_nul).is_ok());
}

#[test]
fn what_does_not_decrypt_is_refused_without_a_panic() {
    let k = keys();
    assert_eq!(k.decrypt_password(b"app\0", SCRAMBLE), None, "cleartext");
    assert_eq!(k.decrypt_password(&[], SCRAMBLE), None);
    assert_eq!(k.decrypt_password(&[0u8; 256], SCRAMBLE), None);
    let mut cipher = encrypt_password(b"app", SCRAMBLE, k.public_pem().as_bytes()).unwrap();
    cipher[100] ^= 1;
    assert_eq!(k.decrypt_password(&cipher, SCRAMBLE), None, "tampered");
    // Under another key pair.
    let other = RsaKeys::generate(1024).expect("key");
    let cipher = encrypt_password(b"app", SCRAMBLE, other.public_pem().as_bytes()).unwrap();
    assert_eq!(k.decrypt_password(&cipher, SCRAMBLE), None, "other key");
    for bad in [
        "",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
    ] {
        assert!(RsaKeys::from_pem(bad).is_err());
    }
    assert!(encrypt_password(b"x", SCRAMBLE, &[0xff, 0xfe]).is_err());
}
