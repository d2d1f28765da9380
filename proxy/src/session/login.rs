//! The connection phase with a client: greeting, password check, auth switch.

use std::collections::HashMap;

use mysql_common::constants::{CapabilityFlags, MariadbCapabilities};
use mysql_common::packets::AuthSwitchRequest;
use mysql_common::proto::MySerialize;
use rand::Rng;

use crate::config::{Config, UserConfig};
use crate::protocol::auth::{self, Method};
use crate::protocol::handshake::{is_ssl_request, parse_login, ClientLogin, ServerInfo};
use crate::protocol::rsa::RsaKeys;
use crate::protocol::SqlError;
use crate::tls::ClientTls;

use super::client::ClientConn;
use super::SessionError;

/// What a client negotiated and who it is.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: UserConfig,
    pub caps: CapabilityFlags,
    pub mariadb_caps: MariadbCapabilities,
    pub collation: u8,
    pub max_packet: u32,
    pub db: Option<String>,
    pub attrs: Option<HashMap<String, String>>,
    /// Sequence id for the packet that ends the connection phase (OK or ERR).
    pub next_seq: u8,
}

/// A 20-byte scramble of printable characters (some clients treat it as a C string).
pub fn new_scramble() -> [u8; 20] {
    let mut rng = rand::rng();
    let mut s = [0u8; 20];
    for b in &mut s {
        *b = rng.random_range(0x21u8..0x7f);
    }
    s
}

/// Why a user may not have a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown account, wrong password, or no TLS for an account that requires it (1045).
    Denied,
    /// The account is at its `max_connections` (1203).
    AtCap,
}

impl Refused {
    /// Counts the refusal (before the client is told, so a client that reads the metrics
    /// next sees it).
    pub fn count(self) {
        match self {
            Refused::Denied => metrics::counter!("rwsplit_auth_failures_total").increment(1),
            Refused::AtCap => {
                metrics::counter!("rwsplit_errors_total", "code" => "1203").increment(1)
            }
        }
    }

    /// The error a server gives for it.
    pub fn to_sql(self, user: &str, host: &str, using_password: bool) -> SqlError {
        match self {
            Refused::Denied => SqlError::access_denied(user, host, using_password),
            Refused::AtCap => SqlError::too_many_user_connections(user),
        }
    }
}

/// Verifies a user, at login and on COM_CHANGE_USER alike: `found` is the configured
/// account of that name, `proven` whether the client's proof of its password checked out,
/// `tls` whether the client connection is encrypted. Then `admit` takes the session into
/// the registry under the account's connection cap, or returns false at the cap.
pub fn verify_user(
    found: Option<&UserConfig>,
    proven: bool,
    tls: bool,
    admit: impl FnOnce(&UserConfig) -> bool,
) -> Result<UserConfig, Refused> {
    let user = found.ok_or(Refused::Denied)?;
    if !proven || (user.require_tls && !tls) {
        return Err(Refused::Denied);
    }
    if !admit(user) {
        return Err(Refused::AtCap);
    }
    Ok(user.clone())
}

/// Runs the connection phase up to (not including) the final OK. The user is verified by
/// [`verify_user`], `admit` registering the session; on a refusal the client has been told
/// (1045, 1203) and an error returns.
pub async fn authenticate(
    client: &mut ClientConn,
    info: &ServerInfo,
    config: &Config,
    connection_id: u32,
    tls: Option<&ClientTls>,
    rsa: Option<&RsaKeys>,
    admit: impl FnOnce(&UserConfig) -> bool,
) -> Result<Login, SessionError> {
    let scramble = new_scramble();
    let proposed;
    let info = match config.server.auth_plugin.as_str() {
        "" => info,
        plugin => {
            proposed = ServerInfo {
                auth_plugin: plugin.as_bytes().to_vec(),
                ..info.clone()
            };
            &proposed
        }
    };
    let greeting = info.greeting(connection_id, &scramble, tls.is_some());
    let (login, seq) = handshake_response(client, &greeting, config, tls).await?;
    let Some(user) = config.user(&login.user).cloned() else {
        let using = !login.auth_response.is_empty();
        return Err(refuse(client, Refused::Denied, &login.user, using, seq).await);
    };
    let (method, response, mut seq) = client_proof(client, &login, &scramble, seq).await?;
    let full = method == Method::CachingSha2
        && config.server.caching_sha2_full_auth
        && !user.password.is_empty();
    let proven = if full {
        let (s, given) = full_authentication(client, seq, &scramble, rsa).await?;
        seq = s;
        given.is_some_and(|g| auth::clear_password_matches(&user.password, &g))
    } else {
        auth::verify(method, &scramble, &user.password, &response)
    };
    let user = match verify_user(Some(&user), proven, client.is_tls(), admit) {
        Ok(u) => u,
        Err(refused) => {
            let using = !response.is_empty();
            return Err(refuse(client, refused, &login.user, using, seq).await);
        }
    };
    if method == Method::CachingSha2 && !full {
        // Fast authentication succeeded; the OK follows.
        client.send(&[0x01, auth::FAST_AUTH_OK], seq).await?;
        seq = seq.wrapping_add(1);
    }
    let caps = login.caps & info.offered_caps();
    Ok(Login {
        user,
        caps,
        mariadb_caps: login.mariadb_caps & info.offered_mariadb_caps(),
        collation: login.collation,
        max_packet: login.max_packet,
        db: login.db,
        attrs: login.attrs,
        next_seq: seq,
    })
}

/// Tells the client why its login was refused (1045, 1203), counted; returns the error
/// that ends the session (`using`: whether a password was given).
async fn refuse(
    client: &mut ClientConn,
    refused: Refused,
    name: &str,
    using: bool,
    seq: u8,
) -> SessionError {
    refused.count();
    let host = client.peer.ip().to_string();
    let err = refused.to_sql(name, &host, using);
    if let Err(e) = client.send_error(&err, seq).await {
        return e.into();
    }
    match refused {
        Refused::Denied => SessionError::AuthFailed(name.to_string()),
        Refused::AtCap => SessionError::AtCap(name.to_string()),
    }
}

/// Greets the client and reads its handshake response (after TLS when it asks for it
/// and `tls` is offered). `server.require_tls` refuses a plain connection (3159).
/// Returns the response and the sequence id for the next packet.
async fn handshake_response(
    client: &mut ClientConn,
    greeting: &[u8],
    config: &Config,
    tls: Option<&ClientTls>,
) -> Result<(ClientLogin, u8), SessionError> {
    client.send(greeting, 0).await?;
    let Some(mut msg) = client.read_message().await? else {
        return Err(SessionError::ClientGone);
    };
    if let (true, Some(tls)) = (is_ssl_request(&msg.payload()), tls) {
        client
            .start_tls(tls)
            .await
            .map_err(|e| SessionError::Handshake(format!("TLS: {e}")))?;
        msg = match client.read_message().await? {
            Some(m) => m,
            None => return Err(SessionError::ClientGone),
        };
    }
    let seq = msg.reply_seq();
    if config.server.require_tls && !client.is_tls() {
        client
            .send_error(&SqlError::insecure_transport(), seq)
            .await?;
        return Err(SessionError::Handshake("TLS required".into()));
    }
    match parse_login(&msg.payload()) {
        Ok(l) => Ok((l, seq)),
        Err(e) => {
            client.send_error(&e.to_sql(), seq).await?;
            Err(SessionError::Handshake(e.to_string()))
        }
    }
}

/// The client's proof of its password and the method to check it with: its own
/// plugin's when rwsplit speaks it; otherwise the client is switched to
/// mysql_native_password. Returns the sequence id for the next packet too.
async fn client_proof(
    client: &mut ClientConn,
    login: &ClientLogin,
    scramble: &[u8; 20],
    seq: u8,
) -> Result<(Method, Vec<u8>, u8), SessionError> {
    let plugin_auth = login.caps.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH);
    let method = login
        .plugin
        .as_deref()
        .and_then(Method::from_plugin)
        .filter(|_| plugin_auth);
    match method {
        Some(m) => Ok((m, login.auth_response.clone(), seq)),
        None if !plugin_auth => Ok((Method::Native, login.auth_response.clone(), seq)),
        None => {
            let mut data = scramble.to_vec();
            data.push(0);
            let sw = AuthSwitchRequest::new(auth::NATIVE, &data[..]);
            let mut payload = Vec::new();
            sw.serialize(&mut payload);
            client.send(&payload, seq).await?;
            let Some(reply) = client.read_message().await? else {
                return Err(SessionError::ClientGone);
            };
            Ok((
                Method::Native,
                reply.payload().into_owned(),
                reply.reply_seq(),
            ))
        }
    }
}

/// caching_sha2_password's full authentication, rwsplit as the server: asks for it, then
/// takes the password in clear over TLS, or decrypts it with `rsa` (sending the public key
/// first if the client asks for it). Returns the sequence id for the answer and the
/// password the client gave (`None`: it could not be read, so the login fails).
async fn full_authentication(
    client: &mut ClientConn,
    seq: u8,
    scramble: &[u8; 20],
    rsa: Option<&RsaKeys>,
) -> Result<(u8, Option<Vec<u8>>), SessionError> {
    client.send(&[0x01, auth::FULL_AUTH], seq).await?;
    let Some(reply) = client.read_message().await? else {
        return Err(SessionError::ClientGone);
    };
    let mut seq = reply.reply_seq();
    let mut data = reply.payload().into_owned();
    if client.is_tls() {
        metrics::counter!("rwsplit_caching_sha2_full_auth_total", "via" => "tls").increment(1);
        return Ok((seq, Some(data)));
    }
    let Some(keys) = rsa else {
        return Ok((seq, None));
    };
    if data == [auth::REQUEST_PUBLIC_KEY] {
        let mut key = vec![0x01];
        key.extend_from_slice(keys.public_pem().as_bytes());
        client.send(&key, seq).await?;
        let Some(reply) = client.read_message().await? else {
            return Err(SessionError::ClientGone);
        };
        seq = reply.reply_seq();
        data = reply.payload().into_owned();
    }
    // Anything else on a plain connection must be the encrypted password (a client that
    // had the key already); a cleartext password does not decrypt and is refused.
    metrics::counter!("rwsplit_caching_sha2_full_auth_total", "via" => "rsa").increment(1);
    Ok((seq, keys.decrypt_password(&data, scramble)))
}
