pub mod browser;
pub mod peers;
pub mod ui;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use breachline::config::Settings;
use breachline::db::Db;
use breachline::domain::Role;
use breachline::store::{tenants, tokens};
use breachline::web::Application;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::Value;

/// The environment variable that switches the suite to PostgreSQL.
pub const PG_ENV: &str = "BREACHLINE_TEST_POSTGRES_URL";

/// A database of its own for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var(PG_ENV) {
            Ok(admin_url) => {
                let name = format!("bl_test_{}", uuid_like());
                let mut admin = PgConnection::establish(&admin_url).unwrap();
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                let url = replace_db_name(&admin_url, &name);
                TestDb {
                    url,
                    dir,
                    pg: Some((admin_url, name)),
                }
            }
            Err(_) => {
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                TestDb { url, dir, pg: None }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// Creates and migrates the database, as `breachline migrate` does before
    /// the other commands may use it.
    pub fn migrated(self) -> Self {
        breachline::db::migrate(&self.settings().database.url).unwrap();
        self
    }

    /// Settings pointing at this database, with the data dir in the temp folder.
    pub fn settings(&self) -> Settings {
        self.settings_with(&[])
    }

    /// The same, plus `extra` variables.
    pub fn settings_with(&self, extra: &[(&str, &str)]) -> Settings {
        let mut env: std::collections::HashMap<String, String> = [
            ("BREACHLINE_DATABASE_URL", self.url.clone()),
            ("BREACHLINE_DATA_DIR", self.dir.path().display().to_string()),
            ("BREACHLINE_BIND", "127.0.0.1:0".into()),
            ("BREACHLINE_DATABASE_POOL_SIZE", "4".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Settings::load_from(None, move |key| env.get(key).cloned()).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.pg
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The running app plus a client and a database handle for assertions.
pub struct TestApp {
    pub address: String,
    pub db: Db,
    pub client: reqwest::Client,
    pub test_db: TestDb,
}

/// A tenant with one token per role.
pub struct TestTenant {
    pub id: String,
    pub admin: String,
    pub responder: String,
    pub approver: String,
    pub viewer: String,
    pub regulator: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The app with extra `BREACHLINE_*` settings (e.g. a provider to verify receipts for).
pub async fn spawn_app_with(env: &[(&str, &str)]) -> TestApp {
    serve(env, |_, _| {}).await
}

/// The app with a dispatch worker beside it in the same process, as `serve` runs
/// them, except that the worker's idle pause is an hour: only the server can wake
/// it. Sending `true` on the returned channel stops the worker.
pub async fn spawn_app_with_idle_worker(
    env: &[(&str, &str)],
) -> (TestApp, tokio::sync::watch::Sender<bool>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let app = serve(env, move |app, settings| {
        let mut options =
            breachline::dispatch::worker::WorkerOptions::from_settings(&settings.worker);
        options.idle = std::time::Duration::from_secs(3600);
        let worker = app.worker(settings, options).unwrap();
        tokio::spawn(worker.run(stopped));
    })
    .await;
    (app, stop)
}

/// Builds the app on a database of its own, lets `beside` start what runs with it,
/// and serves it on a free port.
async fn serve(env: &[(&str, &str)], beside: impl FnOnce(&Application, &Settings)) -> TestApp {
    let test_db = TestDb::new();
    let mut settings = test_db.settings_with(env);
    settings.http.workers = Some(1);
    let db = Db::connect(&settings.database).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::with_listener(&settings, db.clone(), listener).unwrap();
    beside(&app, &settings);
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        client: reqwest::Client::new(),
        test_db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Creates a tenant directly in the store, with a token for each role.
    pub fn tenant(&self, slug: &str) -> TestTenant {
        let new = tenants::NewTenant {
            slug: slug.into(),
            name: format!("Tenant {slug}"),
            establishments: vec!["JP".into()],
            default_locale: "en".into(),
        }
        .validate()
        .unwrap();
        self.db
            .write_blocking(|conn| {
                let t = tenants::create(conn, &new)?;
                let mut token = |role: Role| {
                    tokens::create(conn, &t.id, role, &format!("{slug}-{role}")).map(|(_, b)| b)
                };
                Ok(TestTenant {
                    admin: token(Role::Admin)?,
                    responder: token(Role::Responder)?,
                    approver: token(Role::Approver)?,
                    viewer: token(Role::Viewer)?,
                    regulator: token(Role::Regulator)?,
                    id: t.id,
                })
            })
            .unwrap()
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    /// Files a minimal valid incident and returns its id.
    pub async fn incident(&self, token: &str) -> String {
        let (status, body) = self
            .post(
                token,
                "/api/v1/incidents",
                &serde_json::json!({
                    "title": "Mailbox compromised",
                    "discovered_at": "2026-03-02T10:00:00+09:00"
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
}

/// Status and JSON body (problem documents must say so in Content-Type).
pub async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(
            content_type, "application/problem+json",
            "status {status}: {body}"
        );
        assert_eq!(body["status"], status, "{body}");
    }
    (status, body)
}

/// The field names a problem document rejects.
/// An RFC 3339 instant `hours` before now: a clock of an incident whose deadlines
/// still lie ahead (the server takes no clock more than a day ahead).
pub fn hours_ago(hours: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339()
}

pub fn rejected_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Path of the built `breachline` binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_breachline"))
}

/// Runs the binary against the test database; returns (exit code, stdout, stderr).
pub fn run_cli(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    run_cli_in(db, db.dir.path(), args)
}

pub fn run_cli_in(db: &TestDb, cwd: &Path, args: &[&str]) -> (i32, String, String) {
    run_cli_with(db, cwd, &[], args)
}

/// Runs the binary in `cwd` against the test database with extra variables.
pub fn run_cli_with(
    db: &TestDb,
    cwd: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> (i32, String, String) {
    let out = std::process::Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .env("BREACHLINE_DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
