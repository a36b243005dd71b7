//! Layered configuration: built-in defaults < optional `breachline.toml` < `BREACHLINE_*` variables.
//!
//! | variable | setting | default |
//! |---|---|---|
//! | `BREACHLINE_DATABASE_URL` | `database.url` (`sqlite://PATH` or `postgres://…`) | `sqlite://<data_dir>/breachline.db` |
//! | `BREACHLINE_DATABASE_POOL_SIZE` | `database.pool_size` | 4 (SQLite), 16 (PostgreSQL) |
//! | `BREACHLINE_BIND` | `http.bind` | `127.0.0.1:8080` |
//! | `BREACHLINE_DATA_DIR` | `data_dir` | `./data` |
//! | `BREACHLINE_PUBLIC_URL` | `http.public_url`: base of links in notices | `http://<bind>` |
//! | `BREACHLINE_WORKER_BATCH` / `_CONCURRENCY` / `_LEASE_SECS` / `_GRACE_SECS` | dispatch worker | 200 / 32 / 60 / 10 |
//! | `BREACHLINE_TEMPLATES_DIR` | tenants' own notice templates, `<dir>/<slug>/notices/…` | none |
//! | `BREACHLINE_LOG_FORMAT` | `log.format` (`pretty` or `json`) | `pretty` |
//! | `BREACHLINE_IMPORT_MAX_BYTES` | `import.max_bytes` (largest uploaded import file) | 1 GiB |
//! | `BREACHLINE_AUDIT_KEY` | `audit.checkpoint_key`: secret signing audit checkpoints (≥ 32 characters) | none |
//!
//! Log verbosity follows `RUST_LOG` (default `info`). Delivery channels (SMTP, SMS,
//! push, rates, retries) are the `[channels]` section and `BREACHLINE_SMTP_URL` & co.,
//! listed in `docs/channels.md`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::dispatch::settings::{ChannelSettings, FileChannels};

/// Every setting of the service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Folder for the SQLite file and local outboxes.
    pub data_dir: PathBuf,
    /// Database connection.
    pub database: DatabaseSettings,
    /// HTTP listener.
    pub http: HttpSettings,
    /// Log output.
    pub log: LogSettings,
    /// Bulk uploads.
    pub import: ImportSettings,
    /// Delivery channels: providers, credentials, rates, retries.
    pub channels: ChannelSettings,
    /// Dispatch workers.
    pub worker: WorkerSettings,
    /// Folder of tenants' own notice templates: `<dir>/<tenant-slug>/notices/…`.
    pub templates_dir: Option<PathBuf>,
    /// Audit checkpoints.
    pub audit: AuditSettings,
}

/// Audit settings.
#[derive(Debug, Clone, Default)]
pub struct AuditSettings {
    /// Key of the HMAC-SHA256 that signs audit checkpoints. It lives in the
    /// configuration only, never in the database, so whoever can rewrite the
    /// database cannot forge a checkpoint.
    pub checkpoint_key: Option<SecretString>,
}

/// Shortest accepted checkpoint key, in bytes.
const MIN_CHECKPOINT_KEY_BYTES: usize = 32;

impl AuditSettings {
    fn load(file: FileAudit, env: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let key = env("BREACHLINE_AUDIT_KEY").or(file.checkpoint_key);
        if key
            .as_ref()
            .is_some_and(|k| k.len() < MIN_CHECKPOINT_KEY_BYTES)
        {
            bail!(
                "BREACHLINE_AUDIT_KEY (audit.checkpoint_key): use at least {MIN_CHECKPOINT_KEY_BYTES} characters, \
                 e.g. the output of `openssl rand -hex 32`"
            );
        }
        Ok(Self {
            checkpoint_key: key.map(SecretString::from),
        })
    }
}

/// Dispatch worker settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Outbox rows claimed at a time.
    pub batch: i64,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// Seconds after which a claimed row whose worker went silent is sent again
    /// (a live worker renews its leases every third of this).
    pub lease_secs: u64,
    /// Seconds a stopping worker waits for sends in flight before it lets go of them.
    pub grace_secs: u64,
}

/// Bulk-upload settings.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// Largest accepted upload (import file, id list), in bytes.
    pub max_bytes: u64,
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// Validated connection URL; secret because it may carry a password.
    pub url: DatabaseUrl,
    /// Maximum pooled connections.
    pub pool_size: u32,
}

/// HTTP listener settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `host:port` to listen on.
    pub bind: String,
    /// Largest accepted JSON body, in bytes.
    pub json_limit_bytes: usize,
    /// HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
    /// Base URL people reach the service at, for links in notices (`/n/{token}`).
    pub public_url: String,
}

/// Log output settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Log settings.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Output format.
    pub format: LogFormat,
}

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The name shown by `/healthz`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database URL whose scheme has been checked. Its `Debug` never shows credentials.
#[derive(Clone)]
pub struct DatabaseUrl {
    backend: Backend,
    url: SecretString,
}

impl DatabaseUrl {
    /// Accepts `sqlite://PATH`, `postgres://…` and `postgresql://…`.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let backend = if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                bail!(
                    "database.url: sqlite:// needs a file path, e.g. sqlite://data/breachline.db"
                );
            }
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            bail!(
                "database.url: unsupported scheme in '{}': use sqlite://PATH or postgres://USER@HOST:PORT/DB",
                redact(url)
            );
        };
        Ok(Self {
            backend,
            url: SecretString::from(url.to_owned()),
        })
    }

    /// The engine behind the URL.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The file path of a SQLite URL.
    pub fn sqlite_path(&self) -> Option<&str> {
        self.url.expose_secret().strip_prefix("sqlite://")
    }

    /// The full URL, for opening connections only.
    pub fn expose(&self) -> &str {
        self.url.expose_secret()
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", redact(self.url.expose_secret()))
    }
}

/// Hides the user-info part (`user:password@`) of a URL.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The optional configuration file, every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    data_dir: Option<PathBuf>,
    #[serde(default)]
    database: FileDatabase,
    #[serde(default)]
    http: FileHttp,
    #[serde(default)]
    log: FileLog,
    #[serde(default)]
    import: FileImport,
    #[serde(default)]
    channels: FileChannels,
    #[serde(default)]
    audit: FileAudit,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAudit {
    checkpoint_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileImport {
    max_bytes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDatabase {
    url: Option<String>,
    pool_size: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHttp {
    bind: Option<String>,
    json_limit_bytes: Option<usize>,
    workers: Option<usize>,
    public_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLog {
    format: Option<LogFormat>,
}

impl Settings {
    /// Loads defaults, then `config_file` (if given), then the process environment.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_from(config_file, |key| std::env::var(key).ok())
    }

    /// Like [`Settings::load`] with an explicit environment, so tests build variants.
    pub fn load_from(
        config_file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let file = match config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str::<FileSettings>(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => FileSettings::default(),
        };
        let data_dir = env("BREACHLINE_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let url = env("BREACHLINE_DATABASE_URL")
            .or(file.database.url)
            .unwrap_or_else(|| format!("sqlite://{}/breachline.db", data_dir.display()));
        let url = DatabaseUrl::parse(&url)?;
        let pool_size = match env("BREACHLINE_DATABASE_POOL_SIZE") {
            Some(v) => v
                .parse()
                .with_context(|| format!("BREACHLINE_DATABASE_POOL_SIZE: not a number: '{v}'"))?,
            None => file.database.pool_size.unwrap_or(match url.backend() {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            }),
        };
        let format = match env("BREACHLINE_LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => bail!("BREACHLINE_LOG_FORMAT: expected pretty or json, got '{other}'"),
            None => file.log.format.unwrap_or(LogFormat::Pretty),
        };
        let bind = env("BREACHLINE_BIND")
            .or(file.http.bind)
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let public_url = env("BREACHLINE_PUBLIC_URL")
            .or(file.http.public_url)
            .unwrap_or_else(|| format!("http://{bind}"));
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            bail!("BREACHLINE_PUBLIC_URL: must start with https:// or http://, got '{public_url}'");
        }
        let max_bytes = match env("BREACHLINE_IMPORT_MAX_BYTES") {
            Some(v) => v
                .parse()
                .with_context(|| format!("BREACHLINE_IMPORT_MAX_BYTES: not a number: '{v}'"))?,
            None => file.import.max_bytes.unwrap_or(1 << 30),
        };
        Ok(Settings {
            data_dir,
            database: DatabaseSettings { url, pool_size },
            http: HttpSettings {
                bind,
                public_url: public_url.trim_end_matches('/').to_owned(),
                json_limit_bytes: file.http.json_limit_bytes.unwrap_or(256 * 1024),
                workers: file.http.workers,
            },
            log: LogSettings { format },
            import: ImportSettings { max_bytes },
            channels: ChannelSettings::load(file.channels, &env)?,
            templates_dir: env("BREACHLINE_TEMPLATES_DIR").map(PathBuf::from),
            audit: AuditSettings::load(file.audit, &env)?,
            worker: WorkerSettings {
                batch: number(&env, "BREACHLINE_WORKER_BATCH", 200)?,
                concurrency: number(&env, "BREACHLINE_WORKER_CONCURRENCY", 32)?,
                lease_secs: number(&env, "BREACHLINE_WORKER_LEASE_SECS", 60)?,
                grace_secs: number(&env, "BREACHLINE_WORKER_GRACE_SECS", 10)?,
            },
        })
    }
}

/// A positive number from the environment, or `default`.
fn number<T: std::str::FromStr + PartialOrd + Default>(
    env: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: T,
) -> anyhow::Result<T> {
    match env(key) {
        None => Ok(default),
        Some(v) => v
            .parse::<T>()
            .ok()
            .filter(|n| *n > T::default())
            .ok_or_else(|| anyhow::anyhow!("{key}: expected a positive whole number, got '{v}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_use_sqlite_in_data_dir() {
        let s = Settings::load_from(None, env_of(&[])).unwrap();
        assert_eq!(s.database.url.sqlite_path(), Some("data/breachline.db"));
        assert_eq!(s.http.bind, "127.0.0.1:8080");
    }

    #[test]
    fn env_overrides_and_rejects_unknown_schemes() {
        let s = Settings::load_from(
            None,
            env_of(&[("BREACHLINE_DATABASE_URL", "postgres://u:pw@h/db")]),
        )
        .unwrap();
        assert_eq!(s.database.url.backend(), Backend::Postgres);
        assert_eq!(format!("{:?}", s.database.url), "postgres://***@h/db");
        let err = Settings::load_from(None, env_of(&[("BREACHLINE_DATABASE_URL", "mysql://x")]))
            .unwrap_err();
        assert!(err.to_string().contains("unsupported scheme"), "{err}");
    }

    #[test]
    fn the_audit_key_is_optional_long_and_never_shown() {
        let s = Settings::load_from(None, env_of(&[])).unwrap();
        assert!(s.audit.checkpoint_key.is_none());
        let err =
            Settings::load_from(None, env_of(&[("BREACHLINE_AUDIT_KEY", "short")])).unwrap_err();
        assert!(err.to_string().contains("at least 32"), "{err}");
        const KEY: &str = "0123456789abcdef0123456789abcdef";
        let s = Settings::load_from(None, env_of(&[("BREACHLINE_AUDIT_KEY", KEY)])).unwrap();
        assert_eq!(
            s.audit.checkpoint_key.as_ref().map(|k| k.expose_secret()),
            Some(KEY)
        );
        assert!(!format!("{s:?}").contains(KEY), "the key never prints");
    }

    #[test]
    fn file_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("breachline.toml");
        std::fs::write(&path, "[http]\nbindd = \"x\"\n").unwrap();
        let err = Settings::load_from(Some(&path), env_of(&[])).unwrap_err();
        assert!(format!("{err:#}").contains("bindd"), "{err:#}");
    }
}
