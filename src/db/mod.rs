//! Database access for SQLite and PostgreSQL from one binary.
//!
//! Diesel is synchronous, so every unit of work runs as one closure on a
//! blocking thread ([`Db::read`], [`Db::write`]); writes run in one transaction.
//! SQLite allows one writer at a time, so in-process writes to SQLite are
//! serialised by a lock instead of failing with `SQLITE_BUSY`.

pub mod schema;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::{Backend, DatabaseSettings, DatabaseUrl};
use crate::error::{AppError, AppResult};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Pragmas applied to every SQLite connection.
const SQLITE_PRAGMAS: &str =
    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;";

/// A connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// A PostgreSQL connection.
    Postgres(PgConnection),
    /// A SQLite connection (kept last, as diesel advises).
    Sqlite(SqliteConnection),
}

/// Opens connections of the concrete type the URL names, so real errors surface.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        open(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

fn open(url: &DatabaseUrl) -> Result<DbConnection, r2d2::Error> {
    match (url.backend(), url.sqlite_path()) {
        (Backend::Sqlite, Some(path)) => {
            let mut conn =
                SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
            conn.batch_execute(SQLITE_PRAGMAS)
                .map_err(r2d2::Error::QueryError)?;
            Ok(DbConnection::Sqlite(conn))
        }
        _ => PgConnection::establish(url.expose())
            .map(DbConnection::Postgres)
            .map_err(r2d2::Error::ConnectionError),
    }
}

/// The connection pool plus what callers need to know about the backend.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<ConnectionManager>,
    backend: Backend,
    sqlite_writer: Arc<Mutex<()>>,
}

impl Db {
    /// Runs pending migrations on a first concrete connection (creating a
    /// SQLite file if needed), then builds the pool.
    pub fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let url = settings.url.clone();
        migrate(&url)?;
        // No idle minimum: r2d2 would replenish it on a background thread, and a
        // process exiting while that thread is inside libpq's connect crashes.
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(30))
            .build(ConnectionManager { url: url.clone() })
            .context("cannot open database connection pool")?;
        Ok(Self {
            pool,
            backend: url.backend(),
            sqlite_writer: Arc::new(Mutex::new(())),
        })
    }

    /// Like [`Db::connect`], but for commands that work on an existing service's data
    /// (everything but `serve`, `migrate` and the benchmarks): refuses to create a
    /// SQLite file, and to use a database `breachline migrate` never set up, so a
    /// command run from the wrong folder cannot start an empty database of its own.
    /// Pending migrations of a set-up database are applied as by [`Db::connect`].
    pub fn connect_existing(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        require_set_up(&settings.url)?;
        Self::connect(settings)
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `f` with a pooled connection on a blocking thread.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || db.read_blocking(f)).await
    }

    /// Runs `f` inside one transaction on a blocking thread; an error rolls it back.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConnection) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || db.write_blocking(f)).await
    }

    /// [`Db::read`] for synchronous callers (CLI, worker threads).
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> AppResult<T>,
    ) -> AppResult<T> {
        let mut conn = self.checkout()?;
        f(&mut conn)
    }

    /// [`Db::write`] for synchronous callers (CLI, worker threads).
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> AppResult<T>,
    ) -> AppResult<T> {
        let _guard = match self.backend {
            Backend::Sqlite => Some(
                self.sqlite_writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            ),
            Backend::Postgres => None,
        };
        let mut conn = self.checkout()?;
        let conn: &mut DbConnection = &mut conn;
        conn.transaction(f)
    }

    fn checkout(&self) -> AppResult<r2d2::PooledConnection<ConnectionManager>> {
        self.pool
            .get()
            .context("no database connection available")
            .map_err(AppError::Unexpected)
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let span = tracing::Span::current();
    actix_web::rt::task::spawn_blocking(move || span.in_scope(f))
        .await
        .context("database task was cancelled")?
}

/// Fails unless `url` names a database that exists and has been migrated at least once.
fn require_set_up(url: &DatabaseUrl) -> anyhow::Result<()> {
    if let Some(path) = url.sqlite_path() {
        let path = std::path::Path::new(path);
        if !path.exists() {
            let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
            anyhow::bail!(
                "no database at {}; run from the service's folder or set BREACHLINE_DATA_DIR \
                 (breachline migrate creates a new one)",
                shown.display()
            );
        }
    }
    let mut conn = open(url).with_context(|| format!("cannot connect to database {url:?}"))?;
    if !has_migrations(&mut conn).context("cannot read the database's migrations")? {
        anyhow::bail!("the database {url:?} has never been migrated; run breachline migrate");
    }
    Ok(())
}

/// Whether diesel's migrations table exists (it is created by the first migration run).
fn has_migrations(conn: &mut DbConnection) -> diesel::QueryResult<bool> {
    use diesel::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        tables: i64,
    }
    let query = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT CAST(COUNT(*) AS BIGINT) AS tables FROM sqlite_master \
             WHERE type = 'table' AND name = '__diesel_schema_migrations'"
        }
        DbConnection::Postgres(_) => {
            "SELECT CAST(COUNT(*) AS BIGINT) AS tables \
             WHERE to_regclass('__diesel_schema_migrations') IS NOT NULL"
        }
    };
    let found: Found = diesel::sql_query(query).get_result(conn)?;
    Ok(found.tables > 0)
}

/// Reverts every migration, which drops every table and all data, then migrates
/// afresh: `breachline demo --reset` on a database holding only the demo.
pub fn reset(url: &DatabaseUrl) -> anyhow::Result<()> {
    let mut conn = open(url).with_context(|| format!("cannot connect to database {url:?}"))?;
    match &mut conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(drop),
        DbConnection::Postgres(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(drop),
    }
    .map_err(|e| anyhow::anyhow!("reverting the migrations failed: {e}"))?;
    drop(conn);
    migrate(url)
}

/// Applies every pending migration of the URL's backend. For SQLite it first
/// creates the file's folder and switches the database to WAL (with 16 KiB
/// pages when it creates the file).
pub fn migrate(url: &DatabaseUrl) -> anyhow::Result<()> {
    if let Some(parent) = url
        .sqlite_path()
        .and_then(|p| std::path::Path::new(p).parent())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create folder {}", parent.display()))?;
    }
    let mut conn = open(url).with_context(|| format!("cannot connect to database {url:?}"))?;
    let applied = match &mut conn {
        DbConnection::Sqlite(c) => {
            // 16 KiB pages (a new file only; an existing one keeps its size):
            // bulk writes of millions of rows split a quarter as many pages.
            c.batch_execute("PRAGMA page_size = 16384; PRAGMA journal_mode = WAL;")
                .context("cannot enable WAL")?;
            c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len())
        }
        DbConnection::Postgres(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    }
    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    if applied > 0 {
        tracing::info!(migrations.applied = applied, "database migrated");
    }
    Ok(())
}
