use breachline::audit::{self, Verdict};
use diesel::RunQueryDsl;
use serde_json::json;

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
