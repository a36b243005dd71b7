use breachline::audit::{self, Verdict};
use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_mutation_is_chained_in_the_audit_log() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = app.incident(&t.responder).await;
    let path = format!("/api/v1/incidents/{id}");
    app.patch(&t.responder, &path, &json!({"risk": "high"}))
        .await;
    app.patch(&t.responder, &path, &json!({"status": "assessed"}))
        .await;
    app.post(
        &t.responder,
        &format!("{path}/timeline"),
        &json!({"text": "called the DPO"}),
    )
    .await;
    let (status, log) = app.get(&t.approver, "/api/v1/audit").await;
    assert_eq!(status, 200, "{log}");
    let entries = log["items"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "incident.create",
            "incident.update",
            "incident.status",
            "timeline.add"
        ]
    );
    assert_eq!(
        entries[1]["details"]["changes"]["risk"],
        json!({"from": null, "to": "high"})
    );
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    assert!(
        entries[0]["actor"]
            .as_str()
            .unwrap()
            .ends_with("acme-responder")
    );
    for token in [&t.viewer, &t.responder, &t.regulator] {
        let (status, _) = app.get(token, "/api/v1/audit").await;
        assert_eq!(status, 403);
    }
}

#[tokio::test]
async fn tampering_is_detected_and_names_the_entry() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = app.incident(&t.responder).await;
    for risk in ["low", "high", "none"] {
        app.patch(
            &t.responder,
            &format!("/api/v1/incidents/{id}"),
            &json!({"risk": risk}),
        )
        .await;
    }
    let tenant = t.id.clone();
    let verify = |app: &crate::helpers::TestApp| {
        let tenant = tenant.clone();
        app.db
            .read_blocking(move |c| audit::verify(c, &tenant))
            .unwrap()
    };
    assert_eq!(verify(&app), Verdict::Intact { entries: 4 });

    let exec = |sql: String| {
        app.db
            .write_blocking(move |c| Ok(diesel::sql_query(sql).execute(c)?))
            .unwrap()
    };
    exec(format!(
        "UPDATE audit_log SET actor = 'mallory' WHERE tenant_id = '{}' AND seq = 2",
        t.id
    ));
    assert!(
        matches!(verify(&app), Verdict::Broken { seq: 2, .. }),
        "{:?}",
        verify(&app)
    );
}

#[tokio::test]
async fn deleting_entries_is_detected() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = app.incident(&t.responder).await;
    app.patch(
        &t.responder,
        &format!("/api/v1/incidents/{id}"),
        &json!({"risk": "low"}),
    )
    .await;
    app.patch(
        &t.responder,
        &format!("/api/v1/incidents/{id}"),
        &json!({"risk": "high"}),
    )
    .await;
    let exec = |sql: String| {
        app.db
            .write_blocking(move |c| Ok(diesel::sql_query(sql).execute(c)?))
            .unwrap()
    };
    let verify = || {
        let tenant = t.id.clone();
        app.db
            .read_blocking(move |c| audit::verify(c, &tenant))
            .unwrap()
    };
    exec(format!(
        "DELETE FROM audit_log WHERE tenant_id = '{}' AND seq = 3",
        t.id
    ));
    assert!(
        matches!(verify(), Verdict::Broken { seq: 3, .. }),
        "{:?}",
        verify()
    );
    exec(format!(
        "DELETE FROM audit_log WHERE tenant_id = '{}' AND seq = 1",
        t.id
    ));
    assert!(
        matches!(verify(), Verdict::Broken { seq: 1, .. }),
        "{:?}",
        verify()
    );
}

const KEY: &str = "a checkpoint key kept in the vault, not the database";

/// Runs the CLI against `db` with the checkpoint key set (or not).
fn audit_cli(
    db: &crate::helpers::TestDb,
    key: Option<&str>,
    args: &[&str],
) -> (i32, String, String) {
    let env: Vec<(&str, &str)> = key
        .map(|k| ("BREACHLINE_AUDIT_KEY", k))
        .into_iter()
        .collect();
    crate::helpers::run_cli_with(db, db.dir.path(), &env, args)
}

/// Deletes the tenant's newest audit entry and rewinds the head recorded on the
/// tenant to the entry before: the truncation the head alone cannot catch.
fn truncate_and_rewind(db: &breachline::db::Db, slug: &str) {
    let sql = [
        format!(
            "DELETE FROM audit_log WHERE tenant_id = (SELECT id FROM tenants WHERE slug = '{slug}') \
             AND seq = (SELECT audit_seq FROM tenants WHERE slug = '{slug}')"
        ),
        format!(
            "UPDATE tenants SET audit_seq = audit_seq - 1, audit_head = (SELECT hash FROM audit_log \
             WHERE audit_log.tenant_id = tenants.id AND audit_log.seq = tenants.audit_seq - 1) \
             WHERE slug = '{slug}'"
        ),
    ];
    db.write_blocking(move |c| {
        for statement in sql {
            diesel::sql_query(statement).execute(c)?;
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn checkpoints_catch_a_truncated_chain_with_a_rewound_head() {
    let db = crate::helpers::TestDb::new().migrated();
    for (slug, name) in [("acme", "Acme"), ("beta", "Beta")] {
        let (code, _, err) = audit_cli(&db, None, &["tenants", "create", slug, "--name", name]);
        assert_eq!(code, 0, "{err}");
        for role in ["viewer", "responder"] {
            let args = ["tokens", "create", "--tenant", slug, "--role", role];
            assert_eq!(audit_cli(&db, None, &args).0, 0);
        }
    }
    let (code, _, err) = audit_cli(&db, None, &["audit", "checkpoint"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("BREACHLINE_AUDIT_KEY"),
        "refused without a key: {err}"
    );
    let (code, _, err) = audit_cli(&db, Some("short"), &["audit", "checkpoint"]);
    assert_eq!(code, 1);
    assert!(err.contains("at least 32"), "{err}");

    let (code, out, err) = audit_cli(&db, Some(KEY), &["audit", "checkpoint"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains(KEY) && !err.contains(KEY),
        "the key is never printed"
    );
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["tenant"], "acme");
    assert_eq!(lines[0]["seq"], 3, "tenant and two tokens");
    assert_eq!(lines[0]["head"].as_str().unwrap().len(), 64);
    assert_eq!(lines[0]["hmac"].as_str().unwrap().len(), 64);
    let file = db.dir.path().join("checkpoints.jsonl");
    std::fs::write(&file, &out).unwrap();
    let file_arg = file.display().to_string();
    let verify = |key: &str, extra: &[&str]| {
        let mut args = vec!["audit", "verify", "--checkpoint", file_arg.as_str()];
        args.extend_from_slice(extra);
        audit_cli(&db, Some(key), &args)
    };
    let (code, out, err) = verify(KEY, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("acme: holds the checkpoint"), "{out}");

    // The attack: drop acme's newest entry and rewind its head.
    let pool = breachline::db::Db::connect(&db.settings().database).unwrap();
    truncate_and_rewind(&pool, "acme");
    let (code, out, _) = audit_cli(&db, None, &["audit", "verify"]);
    assert_eq!(code, 0, "the chain alone still looks intact: {out}");
    let (code, out, _) = verify(KEY, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("acme: BROKEN at entry seq 3: truncated"),
        "names the first missing entry: {out}"
    );
    assert!(out.contains("beta: holds the checkpoint"), "{out}");
    let (code, out, _) = verify(KEY, &["--tenant", "beta"]);
    assert_eq!(code, 0, "only beta checked: {out}");
    assert!(!out.contains("acme"), "{out}");

    // Writing a different entry 3 in its place is a rewrite, also named.
    let args = ["tokens", "create", "--tenant", "acme", "--role", "admin"];
    assert_eq!(audit_cli(&db, None, &args).0, 0);
    let (code, out, _) = verify(KEY, &["--tenant", "acme"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("acme: BROKEN at entry seq 3: rewritten"),
        "{out}"
    );

    // Checkpoint lines cannot be edited or checked with another key.
    let (_, out, _) = verify(&KEY.replace("vault", "attic"), &[]);
    assert!(out.contains("not with the configured key"), "{out}");
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"seq\":3", "\"seq\":2");
    std::fs::write(&file, edited).unwrap();
    let (code, out, _) = verify(KEY, &["--tenant", "acme"]);
    assert_eq!(code, 1);
    assert!(out.contains("altered"), "{out}");
}
