use serde_json::{Value, json};

use crate::helpers::{TestApp, rejected_fields, spawn_app};

fn find<'a>(list: &'a Value, regime: &str, recipient: &str, phase: &str) -> Option<&'a Value> {
    list["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["regime"] == regime && o["recipient"] == recipient && o["phase"] == phase)
}

/// The status an untouched obligation shows: `missed` once its deadline has passed.
fn open_or_missed(due_at: &str) -> &'static str {
    let due = chrono::DateTime::parse_from_rfc3339(due_at).unwrap();
    if chrono::Utc::now() < due {
        "open"
    } else {
        "missed"
    }
}

async fn jc_task_incident(app: &TestApp, token: &str) -> String {
    let (status, body) = app
        .post(
            token,
            "/api/v1/incidents",
            &json!({
                "title": "Job-matching database exfiltrated",
                "discovered_at": "2026-04-30T16:00:00Z",
                "cause": "malicious",
                "data_categories": ["contact", "government_id"],
                "estimated_affected": 1500,
                "risk": "high"
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn obligations_follow_facts_and_the_tenant_promise() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let profile = json!({"commitments": [{"id": "jc-task", "recipient": "subjects", "working_days": 30, "calendar": "JP",
                                          "description": "notify users within 30 working days"}]});
    let resp = app
        .client
        .put(app.url("/api/v1/tenant/profile"))
        .bearer_auth(&t.admin)
        .json(&profile)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = jc_task_incident(&app, &t.responder).await;
    let path = format!("/api/v1/incidents/{id}/obligations");
    let (status, list) = app.get(&t.viewer, &path).await;
    assert_eq!(status, 200, "{list}");
    // Aware Fri 1 May 2026 01:00 JST; malicious: 60 days with 1 May as day 1 → Mon 29 Jun.
    let last = find(&list, "appi", "regulator", "final").expect("APPI final report");
    assert_eq!(last["due_at"], "2026-06-29T14:59:59Z");
    assert_eq!(last["status"], open_or_missed("2026-06-29T14:59:59Z"));
    // 30 JP working days after 1 May (Golden Week 3–6 May off) → Wed 17 Jun.
    let promise = find(&list, "commitment:jc-task", "subjects", "notice").expect("tenant promise");
    assert_eq!(promise["due_date"], "2026-06-17");
    assert_eq!(list["input"]["affected"][0]["count"], 1500);

    let final_id = last["id"].as_str().unwrap();
    let (status, met) = app
        .post(
            &t.responder,
            &format!("{path}/{final_id}/met"),
            &json!({"evidence": "PPC portal receipt 2026-0042"}),
        )
        .await;
    assert_eq!(status, 200, "{met}");
    assert_eq!(met["status"], "met");
    assert_eq!(met["resolved_by"], "jc-task-responder");

    // A change of facts recomputes but keeps decisions already taken.
    app.patch(
        &t.responder,
        &format!("/api/v1/incidents/{id}"),
        &json!({"cause": "accidental", "data_categories": ["credentials"]}),
    )
    .await;
    let (_, list) = app.get(&t.viewer, &path).await;
    let last = find(&list, "appi", "regulator", "final").unwrap();
    assert_eq!(last["status"], "met");
    assert_eq!(
        last["due_at"], "2026-06-01T14:59:59Z",
        "30 days now: 1 May + 29 = Sat 30 May → Mon 1 Jun"
    );

    // Encrypted data: APPI no longer applies; open duties go, met ones stay as history.
    app.patch(
        &t.responder,
        &format!("/api/v1/incidents/{id}"),
        &json!({"encrypted": true}),
    )
    .await;
    let (_, list) = app.get(&t.viewer, &path).await;
    assert!(find(&list, "appi", "regulator", "preliminary").is_none());
    assert!(find(&list, "appi", "regulator", "final").is_some());
    assert!(
        list["not_triggered"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["regime"] == "appi")
    );
}

#[tokio::test]
async fn waiving_needs_a_reason_and_is_audited() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = jc_task_incident(&app, &t.responder).await;
    let path = format!("/api/v1/incidents/{id}/obligations");
    let (_, list) = app.get(&t.viewer, &path).await;
    let oid = find(&list, "appi", "subjects", "notice").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, problem) = app
        .post(&t.responder, &format!("{path}/{oid}/waive"), &json!({}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(rejected_fields(&problem), vec!["reason"]);
    let (status, _) = app
        .post(
            &t.viewer,
            &format!("{path}/{oid}/waive"),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .post(
            &t.responder,
            &format!("{path}/{oid}/waive"),
            &json!({"reason": "public announcement made instead"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "waived");
    let (status, body) = app
        .post(&t.responder, &format!("{path}/{oid}/reopen"), &json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "open");
    let (_, log) = app.get(&t.admin, "/api/v1/audit").await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.ends_with(&["obligation.waive", "obligation.reopen"]),
        "{actions:?}"
    );

    let other = app.tenant("other");
    let (status, _) = app.get(&other.admin, &path).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post(&other.admin, &format!("{path}/{oid}/reopen"), &json!({}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn past_deadlines_show_as_missed() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let (_, created) = app
        .post(&t.responder, "/api/v1/incidents", &json!({
            "title": "Old incident", "discovered_at": "2025-01-06T00:00:00Z", "cause": "malicious", "risk": "high"
        }))
        .await;
    let (_, list) = app
        .get(
            &t.viewer,
            &format!(
                "/api/v1/incidents/{}/obligations",
                created["id"].as_str().unwrap()
            ),
        )
        .await;
    let last = find(&list, "appi", "regulator", "final").unwrap();
    assert_eq!(last["status"], "missed");
}

#[tokio::test]
async fn tenant_profile_is_validated_and_admin_only() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let put = |token: &str, body: Value| {
        app.client
            .put(app.url("/api/v1/tenant/profile"))
            .bearer_auth(token.to_owned())
            .json(&body)
            .send()
    };
    let resp = put(&t.responder, json!({"commitments": []})).await.unwrap();
    assert_eq!(resp.status(), 403);
    let resp = put(
        &t.admin,
        json!({"commitments": [{"id": "x", "recipient": "subjects", "working_days": 5}]}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 422);
    let problem: Value = resp.json().await.unwrap();
    assert!(
        rejected_fields(&problem)
            .iter()
            .any(|f| f.starts_with("commitments[0]")),
        "{problem}"
    );
    let resp = put(
        &t.admin,
        json!({"establishments": ["cn", "JP"], "commitments": []}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, me) = app.get(&t.viewer, "/api/v1/tenant").await;
    assert_eq!(me["tenant"]["establishments"], json!(["CN", "JP"]));
    assert_eq!(me["role"], "viewer");
}

#[tokio::test]
async fn affected_counts_drive_obligations() {
    use crate::subjects::import_csv;
    let app = spawn_app().await;
    let t = app.tenant("acme");
    // Two Californians with card data, one person with no jurisdiction (counted where
    // the tenant is established: JP), one German.
    let rows = [
        "c1,Ann,ann@example.com,,en,US-CA,1990-01-01,,,,,,,shop,payment_card",
        "c2,Bob,bob@example.com,,en,US-CA,1985-05-05,,,,,,,shop,payment_card",
        "x1,Kim,kim@example.com,,ja,,1970-02-02,,,,,,,shop,contact",
        "d1,Udo,udo@example.com,,de,DE,1980-03-03,,,,,,,crm,contact",
    ];
    let (status, body) = import_csv(&app, &t.responder, &rows, "").await;
    assert_eq!(status, 200, "{body}");
    let (_, incident) = app
        .post(&t.responder, "/api/v1/incidents", &json!({
            "title": "Shop breach", "discovered_at": "2026-03-01T00:00:00Z", "cause": "accidental",
            "data_categories": ["payment_card"], "risk": "low"
        }))
        .await;
    let id = incident["id"].as_str().unwrap();
    let path = format!("/api/v1/incidents/{id}/obligations");
    let (_, before) = app.get(&t.viewer, &path).await;
    assert!(
        find(&before, "us-ca", "subjects", "notice").is_none(),
        "nobody in California yet"
    );
    let resp = app
        .client
        .put(app.url(&format!("/api/v1/incidents/{id}/scope")))
        .bearer_auth(&t.responder)
        .json(&json!({"systems": ["shop"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (_, after) = app.get(&t.viewer, &path).await;
    let ca = find(&after, "us-ca", "subjects", "notice")
        .expect("us-ca notice once Californians are affected");
    assert_eq!(
        ca["due_date"], "2026-03-30",
        "28 Feb in Los Angeles + 30 days"
    );
    assert!(
        ca["trigger"]
            .as_str()
            .unwrap()
            .contains("2 people in US-CA"),
        "{ca}"
    );
    assert!(
        find(&after, "gdpr", "regulator", "initial").is_none(),
        "the German is not in scope"
    );
    let groups = after["input"]["affected"].as_array().unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g["jurisdiction"] == "JP" && g["count"] == 1),
        "{groups:?}"
    );
}

/// Marks one obligation met at `at`.
async fn meet(app: &TestApp, token: &str, path: &str, obligation: &Value, at: &str) -> Value {
    let (status, met) = app
        .post(
            token,
            &format!("{path}/{}/met", obligation["id"].as_str().unwrap()),
            &json!({"evidence": "filed", "met_at": at}),
        )
        .await;
    assert_eq!(status, 200, "{met}");
    met
}

fn instant(value: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn obligations_met_after_their_target_or_deadline_are_late_by_so_much() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let id = jc_task_incident(&app, &t.responder).await;
    let path = format!("/api/v1/incidents/{id}/obligations");
    let (_, list) = app.get(&t.viewer, &path).await;

    // "Promptly", with a target: met 58 days after the target is late.
    let preliminary = find(&list, "appi", "regulator", "preliminary").unwrap();
    assert_eq!(preliminary["kind"], "asap");
    assert!(preliminary["due_at"].is_null(), "{preliminary}");
    let target = instant(&preliminary["target_at"]);
    let at = (target + chrono::Duration::days(58)).to_rfc3339();
    let met = meet(&app, &t.responder, &path, preliminary, &at).await;
    assert_eq!(met["met_late"], true, "{met}");
    assert_eq!(met["late_by_seconds"], 58 * 86_400, "{met}");

    // A dated deadline: met an hour after it is late by 3,600 s.
    let last = find(&list, "appi", "regulator", "final").unwrap();
    let at = (instant(&last["due_at"]) + chrono::Duration::hours(1)).to_rfc3339();
    let met = meet(&app, &t.responder, &path, last, &at).await;
    assert_eq!(met["met_late"], true, "{met}");
    assert_eq!(met["late_by_seconds"], 3_600, "{met}");

    // Met before its target: on time, no lateness.
    let notice = find(&list, "appi", "subjects", "notice").unwrap();
    let at = (instant(&notice["target_at"]) - chrono::Duration::minutes(1)).to_rfc3339();
    let met = meet(&app, &t.responder, &path, notice, &at).await;
    assert_eq!(met["met_late"], false, "{met}");
    assert!(met["late_by_seconds"].is_null(), "{met}");

    let (_, list) = app.get(&t.viewer, &path).await;
    let shown = find(&list, "appi", "regulator", "preliminary").unwrap();
    assert_eq!(
        shown["late_by_seconds"],
        58 * 86_400,
        "the list shows it too"
    );
    let open = find(&list, "commitment:jc-task", "subjects", "notice");
    assert!(open.is_none_or(|o| o["late_by_seconds"].is_null()));
}
