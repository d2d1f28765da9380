//! Flags (each also an environment variable).

use clap::Parser;

/// Which services this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Services {
    pub auth: bool,
    pub catalog: bool,
    pub orders: bool,
}

impl Services {
    pub const ALL: Services = Services {
        auth: true,
        catalog: true,
        orders: true,
    };

    /// From `auth,catalog,orders` (any subset).
    pub fn parse(s: &str) -> Result<Services, String> {
        let mut out = Services {
            auth: false,
            catalog: false,
            orders: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "auth" => out.auth = true,
                "catalog" => out.catalog = true,
                "orders" => out.orders = true,
                other => return Err(format!("unknown service '{other}' (auth, catalog, orders)")),
            }
        }
        if !(out.auth || out.catalog || out.orders) {
            return Err("no service selected".into());
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "bookstore-app",
    version,
    about = "The bookstore: auth, catalog and orders services on one MySQL DSN",
    long_about = "The bookstore web app (server-rendered pages and a JSON API). One binary runs \
any subset of its three services: all three in one process (the default), or each on its own \
port with --services and the other services' base URLs. It talks to MySQL through one DSN \
(rwsplit's); all read/write routing is rwsplit's."
)]
pub struct AppConfig {
    /// Address to serve HTTP on.
    #[arg(long, env = "BOOKSTORE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// The one database DSN.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "mysql://app:app@127.0.0.1:6033/bookstore"
    )]
    pub database_url: String,

    /// Services this process runs: any of auth,catalog,orders.
    #[arg(long, env = "BOOKSTORE_SERVICES", default_value = "auth,catalog,orders", value_parser = Services::parse)]
    pub services: Services,

    /// Base URL of the auth service when it runs elsewhere (links to log in).
    #[arg(long, env = "BOOKSTORE_AUTH_URL", default_value = "")]
    pub auth_url: String,

    /// Base URL of the catalog service when it runs elsewhere (orders reserves stock there).
    #[arg(long, env = "BOOKSTORE_CATALOG_URL", default_value = "")]
    pub catalog_url: String,

    /// Base URL of the orders service when it runs elsewhere (the buy form posts there).
    #[arg(long, env = "BOOKSTORE_ORDERS_URL", default_value = "")]
    pub orders_url: String,

    /// Secret shared by the services: signs session tokens (JWT) and service calls. The
    /// default is for development only.
    #[arg(
        long,
        env = "BOOKSTORE_JWT_SECRET",
        default_value = "dev-only-change-me",
        hide_env_values = true
    )]
    pub jwt_secret: String,
}

impl AppConfig {
    /// All services in one process, for `database_url`.
    pub fn monolith(database_url: &str) -> AppConfig {
        AppConfig {
            listen: "127.0.0.1:0".into(),
            database_url: database_url.into(),
            services: Services::ALL,
            auth_url: String::new(),
            catalog_url: String::new(),
            orders_url: String::new(),
            jwt_secret: "test-secret".into(),
        }
    }
}
