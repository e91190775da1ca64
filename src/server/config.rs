//! Configuration from command-line flags and environment variables (each flag names its
//! variable in `verdict --help`). Loaded once in `main` and passed down.

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Where the database is. Shared by every subcommand.
#[derive(Args, Clone, Debug)]
pub struct DbConfig {
    /// PostgreSQL URL. Without it Verdict starts (or reuses) a local PostgreSQL of its own
    /// with its data in `<data-dir>/postgres`.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Folder for Verdict's own files (the local PostgreSQL's data among them).
    #[arg(
        long,
        env = "VERDICT_DATA_DIR",
        default_value = ".verdict",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Port of the local PostgreSQL (only used without DATABASE_URL).
    #[arg(
        long,
        env = "VERDICT_LOCAL_PG_PORT",
        default_value_t = 54329,
        global = true
    )]
    pub local_pg_port: u16,

    /// Largest number of database connections this process opens (default: four per CPU
    /// core, at least 8). More connections than the database can run at once only make
    /// them queue inside PostgreSQL instead of here.
    #[arg(
        long,
        env = "VERDICT_DB_MAX_CONNECTIONS",
        default_value_t = default_pool_size(),
        global = true
    )]
    pub db_max_connections: u32,

    /// How long a request waits for a database connection before it answers 503 with
    /// `Retry-After` (milliseconds). While PostgreSQL is down, requests fail this fast.
    #[arg(
        long,
        env = "VERDICT_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 2000,
        global = true
    )]
    pub db_acquire_timeout_ms: u64,

    /// The key that seals stored secrets (projects' inference API keys): a file holding 32
    /// bytes in base64. Default `<data-dir>/secret.key`, created on first use.
    #[arg(long, env = "VERDICT_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,
}

impl DbConfig {
    /// The configured secret key, created in the data directory on first use.
    pub fn secret_key(&self) -> anyhow::Result<crate::server::secrets::SecretKey> {
        let path = self
            .secret_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secret.key"));
        crate::server::secrets::SecretKey::load_or_create(&path)
    }
}

fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    u32::try_from(cores * 4).unwrap_or(u32::MAX).max(8)
}

/// Settings of `verdict serve`.
#[derive(Args, Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "VERDICT_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// The URL people use to reach Verdict. An https URL turns on `Secure` cookies.
    #[arg(long, env = "VERDICT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Email of the first admin, created when the database has no users.
    #[arg(
        long,
        env = "VERDICT_ADMIN_EMAIL",
        default_value = "admin@verdict.local"
    )]
    pub admin_email: String,

    /// Password of the first admin. Without it a random one is generated and printed once.
    #[arg(long, env = "VERDICT_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Do not create the demo project and the demo annotator (env: 1/true/yes).
    #[arg(long, env = "VERDICT_NO_DEMO", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_demo: bool,

    /// Password of the demo annotator (annotator@verdict.local). Without it a random one
    /// is generated and printed once, when the account is created.
    #[arg(long, env = "VERDICT_DEMO_PASSWORD", hide_env_values = true)]
    pub demo_password: Option<String>,

    /// Failed logins per account within the throttle window before further attempts are
    /// refused.
    #[arg(long, env = "VERDICT_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: u32,

    /// Length of the login throttle window, in seconds.
    #[arg(long, env = "VERDICT_LOGIN_WINDOW_SECS", default_value_t = 900)]
    pub login_window_secs: u32,

    /// Days a session lasts without activity.
    #[arg(long, env = "VERDICT_SESSION_DAYS", default_value_t = 7)]
    pub session_days: i64,

    /// Requests per minute one API token may make; more get 429 with Retry-After.
    #[arg(long, env = "VERDICT_API_RATE_PER_MINUTE", default_value_t = 1200)]
    pub api_rate_per_minute: u32,

    /// Largest API request body, in megabytes (a push of items); more gets 413.
    #[arg(long, env = "VERDICT_API_MAX_BODY_MB", default_value_t = 32)]
    pub api_max_body_mb: usize,

    /// Requests handled at once; more are answered 503 with `Retry-After` at once.
    #[arg(long, env = "VERDICT_MAX_CONCURRENT_REQUESTS", default_value_t = 512)]
    pub max_concurrent_requests: usize,

    /// Seconds a client has to send a request's headers; slower is disconnected.
    #[arg(long, env = "VERDICT_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Seconds a client has to send the body of a form or server-function request;
    /// slower gets 408.
    #[arg(long, env = "VERDICT_BODY_TIMEOUT_SECS", default_value_t = 30)]
    pub body_timeout_secs: u64,

    /// Largest file an admin may upload for import, in megabytes; more gets 413.
    #[arg(long, env = "VERDICT_MAX_UPLOAD_MB", default_value_t = 2048)]
    pub max_upload_mb: usize,

    #[command(flatten)]
    pub inference: InferenceDefaults,
}

impl ServeConfig {
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.addr))
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }
}

/// The OpenAI-compatible inference server used for model-assisted labeling, unless a
/// project sets its own.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct InferenceDefaults {
    /// Base URL, e.g. http://127.0.0.1:8080/v1 (llama.cpp server, vLLM, Ollama).
    #[arg(long = "inference-url", env = "VERDICT_INFERENCE_URL")]
    pub base_url: Option<String>,
    /// The model name to ask for.
    #[arg(long = "inference-model", env = "VERDICT_INFERENCE_MODEL")]
    pub model: Option<String>,
    #[arg(
        long = "inference-api-key",
        env = "VERDICT_INFERENCE_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// Seconds to wait for one answer.
    #[arg(
        long = "inference-timeout-secs",
        env = "VERDICT_INFERENCE_TIMEOUT_SECS",
        default_value_t = 60
    )]
    pub timeout_secs: u32,
    /// Requests in flight at once, per job.
    #[arg(
        long = "inference-concurrency",
        env = "VERDICT_INFERENCE_CONCURRENCY",
        default_value_t = 1
    )]
    pub concurrency: u32,
    /// Opens projects' sealed API keys (set from `DbConfig::secret_key` at start).
    #[arg(skip)]
    pub secret_key: Option<crate::server::secrets::SecretKey>,
    /// Run no pre-labeling worker in this process.
    #[arg(long = "no-worker", env = "VERDICT_NO_WORKER", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_worker: bool,
}

/// The parts of the configuration the running application needs at request time.
#[derive(Clone, Debug)]
pub struct AppConfig {
    pub secure_cookies: bool,
    /// `--public-url`: besides the `Host` a browser addressed, the origin whose pages may
    /// send state-changing requests.
    pub public_url: Option<String>,
    pub session_days: i64,
    pub login_throttle: LoginThrottle,
    pub api: ApiLimits,
    pub inference: InferenceDefaults,
    /// Largest browser upload for import.
    pub max_upload_bytes: usize,
    pub max_concurrent_requests: usize,
    /// Forms and server functions: their bodies' size and the time to receive them.
    pub small_bodies: crate::server::http::limits::BodyLimits,
}

#[derive(Clone, Copy, Debug)]
pub struct ApiLimits {
    pub rate_per_minute: u32,
    pub max_body_bytes: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct LoginThrottle {
    pub max_failures: u32,
    pub window_secs: u32,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            public_url: None,
            session_days: 7,
            login_throttle: LoginThrottle {
                max_failures: 5,
                window_secs: 900,
            },
            api: ApiLimits {
                rate_per_minute: 1200,
                max_body_bytes: 32 << 20,
            },
            inference: InferenceDefaults {
                timeout_secs: 60,
                concurrency: 1,
                secret_key: Some(crate::server::secrets::SecretKey::random()),
                ..InferenceDefaults::default()
            },
            max_upload_bytes: 2048 << 20,
            max_concurrent_requests: 512,
            small_bodies: crate::server::http::limits::BodyLimits {
                max_bytes: crate::server::http::limits::MAX_SMALL_BODY_BYTES,
                read_timeout: std::time::Duration::from_secs(30),
            },
        }
    }
}

impl From<&ServeConfig> for AppConfig {
    fn from(c: &ServeConfig) -> Self {
        Self {
            secure_cookies: c.secure_cookies(),
            public_url: c.public_url.clone(),
            session_days: c.session_days,
            login_throttle: LoginThrottle {
                max_failures: c.login_max_failures,
                window_secs: c.login_window_secs,
            },
            api: ApiLimits {
                rate_per_minute: c.api_rate_per_minute,
                max_body_bytes: c.api_max_body_mb << 20,
            },
            inference: c.inference.clone(),
            max_upload_bytes: c.max_upload_mb << 20,
            max_concurrent_requests: c.max_concurrent_requests.max(1),
            small_bodies: crate::server::http::limits::BodyLimits {
                max_bytes: crate::server::http::limits::MAX_SMALL_BODY_BYTES,
                read_timeout: std::time::Duration::from_secs(c.body_timeout_secs.max(1)),
            },
        }
    }
}
