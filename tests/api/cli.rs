use diesel::RunQueryDsl;
use serde_json::json;

use crate::helpers::{TestDb, read, run_cli, run_cli_in};
use breachline::db::Db;

#[test]
fn tenants_tokens_and_audit_from_the_command_line() {
    let db = TestDb::new().migrated();
    let (code, out, err) = run_cli(
        &db,
        &[
            "tenants",
            "create",
            "jc-task",
            "--name",
            "JC-Task",
            "--establishment",
            "jp",
            "--locale",
            "zh-CN",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let tenant: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(tenant["establishments"], json!(["JP"]));
    let (code, _, err) = run_cli(&db, &["tenants", "create", "jc-task", "--name", "Again"]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = run_cli(
        &db,
        &[
            "tenants",
            "create",
            "x2",
            "--name",
            "X",
            "--establishment",
            "ZZ",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("establishments[0]"), "{err}");

    let (code, token, err) = run_cli(
        &db,
        &[
            "tokens",
            "create",
            "--tenant",
            "jc-task",
            "--role",
            "responder",
            "--name",
            "alice",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let token = token.trim();
    assert!(
        token.starts_with("blt_") && !token.contains(char::is_whitespace),
        "only the token is printed: {token}"
    );
    let (code, _, err) = run_cli(
        &db,
        &["tokens", "create", "--tenant", "nobody", "--role", "viewer"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("nobody"), "{err}");
    let (code, _, _) = run_cli(
        &db,
        &["tokens", "create", "--tenant", "jc-task", "--role", "king"],
    );
    assert_ne!(code, 0);

    let (code, out, _) = run_cli(&db, &["tenants", "list"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("jc-task\tJC-Task\tJP\tzh-CN"), "{out}");

    let (code, out, err) = run_cli(&db, &["audit", "verify", "--tenant", "jc-task"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("intact (2 entries)"), "{out}");

    let settings = db.settings();
    let pool = Db::connect(&settings.database).unwrap();
    pool.write_blocking(|c| {
        Ok(diesel::sql_query("UPDATE audit_log SET details = '{}' WHERE seq = 2").execute(c)?)
    })
    .unwrap();
    let (code, out, _) = run_cli(&db, &["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(out.contains("BROKEN at entry seq 2"), "{out}");
}

#[test]
fn bad_database_urls_are_clear_errors() {
    let db = TestDb::new();
    let out = std::process::Command::new(crate::helpers::binary())
        .args(["migrate"])
        .env("BREACHLINE_DATABASE_URL", "mysql://root@localhost/x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported scheme"));
    let (code, out, _) = run_cli(&db, &["migrate"]);
    assert_eq!(code, 0);
    assert!(out.contains("up to date"));
}

#[tokio::test]
async fn serve_with_defaults_creates_the_sqlite_file() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(crate::helpers::binary())
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("BREACHLINE_DATABASE_URL")
        .env_remove("BREACHLINE_DATA_DIR")
        .env("BREACHLINE_BIND", format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut body = serde_json::Value::Null;
    for _ in 0..100 {
        if let Ok(resp) = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            body = read(resp).await.1;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(body["database"], "sqlite");
    assert!(dir.path().join("data/breachline.db").exists());
    drop(run_cli_in(&db, dir.path(), &["--help"]));
}

/// Runs the binary in `cwd` with no database configured: the default
/// `./data/breachline.db` applies.
fn run_defaults_in(cwd: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(crate::helpers::binary())
        .args(args)
        .current_dir(cwd)
        .env_remove("BREACHLINE_DATABASE_URL")
        .env_remove("BREACHLINE_DATA_DIR")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn commands_run_from_the_wrong_folder_do_not_create_a_database() {
    let elsewhere = tempfile::tempdir().unwrap();
    let expected = elsewhere.path().join("data").join("breachline.db");
    for args in [
        &["tenants", "create", "acme", "--name", "Acme"][..],
        &["tenants", "list"],
        &["tokens", "create", "--tenant", "acme", "--role", "viewer"],
        &["tokens", "list"],
        &["audit", "verify"],
    ] {
        let (code, err) = run_defaults_in(elsewhere.path(), args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains(&format!("no database at {}", expected.display()))
                && err.contains("BREACHLINE_DATA_DIR"),
            "{args:?}: {err}"
        );
        assert!(
            !elsewhere.path().join("data").exists(),
            "{args:?} created a database"
        );
    }
}

#[test]
fn a_database_never_migrated_says_run_migrate() {
    let db = TestDb::new();
    if !db.is_postgres() {
        let (code, _, err) = run_cli(&db, &["tenants", "list"]);
        assert_eq!(code, 1);
        assert!(err.contains("no database at"), "{err}");
        std::fs::write(db.dir.path().join("test.db"), b"").unwrap();
    }
    let (code, _, err) = run_cli(&db, &["tenants", "list"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("run breachline migrate"), "{err}");
    let (code, _, err) = run_cli(&db, &["migrate"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_cli(&db, &["tenants", "list"]);
    assert_eq!(code, 0, "{err}");
}
