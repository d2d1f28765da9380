//! The live configuration: one snapshot of everything a configuration file decides (the
//! validated config, the classifier and routing rules built from it, TLS and RSA
//! material), published through one `watch` and swapped whole on reload, so no reader
//! ever sees the rules of one file with the settings of another.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::classify::rules::Rules;
use crate::classify::Classifier;
use crate::config::{Config, ConfigError};
use crate::protocol::rsa::RsaKeys;
use crate::tls::{BackendTls, ClientTls};

/// Reloads the configuration from where it came (file and flags); set by `main`.
pub type Reloader = dyn Fn() -> Result<Config, ConfigError> + Send + Sync;

/// One configuration and what is built from it.
pub struct Snapshot {
    pub config: Arc<Config>,
    pub classifier: Classifier,
    pub rules: Rules,
    /// 1 for the configuration rwsplit started with, one more on every reload.
    pub generation: u64,
    /// TLS to the backends (`None`: plain TCP).
    pub backend_tls: Option<Arc<BackendTls>>,
    /// TLS offered to clients (`None`: not offered).
    pub client_tls: Option<Arc<ClientTls>>,
    /// The key pair of `server.rsa_private_key_file` (`None`: not set).
    pub rsa_keys: Option<Arc<RsaKeys>>,
}

impl Snapshot {
    fn build(config: Config, generation: u64) -> Snapshot {
        Snapshot {
            classifier: Classifier::with_functions(
                config.routing.classifier_cache,
                &config.routing.read_only_functions,
            ),
            rules: Rules::new(&config.routing.rules),
            generation,
            backend_tls: BackendTls::for_runtime(&config.backends),
            client_tls: ClientTls::for_runtime(&config.server),
            rsa_keys: rsa_keys_from_file(&config.server.rsa_private_key_file),
            config: Arc::new(config),
        }
    }
}

fn rsa_keys_from_file(path: &str) -> Option<Arc<RsaKeys>> {
    if path.is_empty() {
        return None;
    }
    RsaKeys::from_file(path)
        .map_err(|e| tracing::error!(error = %e, "server.rsa_private_key_file unusable"))
        .ok()
        .map(Arc::new)
}

/// The current [`Snapshot`], how to reload it, and the RSA key pair generated when no
/// key file is configured.
pub struct LiveConfig {
    current: watch::Sender<Arc<Snapshot>>,
    reloader: Mutex<Option<Arc<Reloader>>>,
    generated_rsa: tokio::sync::OnceCell<Arc<RsaKeys>>,
}

impl LiveConfig {
    pub fn new(config: Config) -> LiveConfig {
        LiveConfig {
            current: watch::Sender::new(Arc::new(Snapshot::build(config, 1))),
            reloader: Mutex::new(None),
            generated_rsa: tokio::sync::OnceCell::new(),
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.borrow().clone()
    }

    /// The current configuration.
    pub fn config(&self) -> Arc<Config> {
        self.current.borrow().config.clone()
    }

    /// Sees every new snapshot (sessions refresh between statements, the monitor
    /// reconciles what it watches).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.current.subscribe()
    }

    /// Replaces the configuration (hot reload): new sessions use it at once, open ones
    /// from their next statement. Built and swapped under the channel's lock, so two
    /// reloads at once publish two whole snapshots, one after the other.
    pub fn set(&self, config: Config) {
        self.current.send_modify(|cur| {
            *cur = Arc::new(Snapshot::build(config, cur.generation + 1));
        });
    }

    /// How the configuration is reloaded (SIGHUP, RELOAD CONFIG).
    pub fn set_reloader(&self, f: Arc<Reloader>) {
        *self.reloader.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
    }

    /// Reads the configuration again from where it came; `Err` with the reason when
    /// there is nowhere to read it from or it is invalid (nothing changes then).
    pub fn read_again(&self) -> Result<Config, String> {
        let f = self
            .reloader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(f) = f else {
            return Err(
                "this rwsplit was not started from a configuration that can be reloaded".into(),
            );
        };
        f().map_err(|e| e.to_string())
    }

    /// The key pair for caching_sha2_password's RSA exchange: the configured file's, else
    /// one generated on first use (on a blocking thread) and kept until exit.
    pub async fn rsa_keys(&self) -> Option<Arc<RsaKeys>> {
        if let Some(k) = self.snapshot().rsa_keys.clone() {
            return Some(k);
        }
        let generated = self
            .generated_rsa
            .get_or_try_init(|| async {
                let keys = tokio::task::spawn_blocking(|| RsaKeys::generate(2048))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
                tracing::info!("generated an RSA key pair for caching_sha2_password");
                Ok::<_, String>(Arc::new(keys))
            })
            .await;
        match generated {
            Ok(k) => Some(k.clone()),
            Err(e) => {
                tracing::error!(error = %e, "cannot generate an RSA key pair");
                None
            }
        }
    }
}
