//! Runbook tasks: attachment as facts change, due times that follow the clocks and
//! obligations, the PATCH life cycle with role checks and audit, tenant overrides,
//! and `breachline runbooks check`.

use std::net::TcpListener;

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, rejected_fields, run_cli, spawn_app, spawn_app_with};
use breachline::db::Db;
use breachline::web::Application;

async fn file(app: &TestApp, token: &str, body: Value) -> String {
    let (status, incident) = app.post(token, "/api/v1/incidents", &body).await;
    assert_eq!(status, 201, "{incident}");
    incident["id"].as_str().unwrap().to_owned()
}

async fn tasks(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, body) = app
        .get(token, &format!("/api/v1/incidents/{id}/tasks"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn task<'a>(list: &'a Value, runbook: &str, item: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["runbook"] == runbook && t["item"] == item)
        .unwrap_or_else(|| panic!("no task {runbook}/{item} in {list:#}"))
}

fn has_task(list: &Value, runbook: &str, item: &str) -> bool {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["runbook"] == runbook && t["item"] == item)
}

/// `(id, applies)` of each attached runbook, in attachment order.
fn runbooks(list: &Value) -> Vec<(String, bool)> {
    list["runbooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["applies"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn states(list: &Value, runbook: &str) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["runbook"] == runbook)
        .map(|t| t["state"].as_str().unwrap().to_owned())
        .collect()
}

async fn patch_task(
    app: &TestApp,
    token: &str,
    id: &str,
    task: &Value,
    body: Value,
) -> (u16, Value) {
    let path = format!(
        "/api/v1/incidents/{id}/tasks/{}",
        task["id"].as_str().unwrap()
    );
    app.patch(token, &path, &body).await
}

#[tokio::test]
async fn runbooks_attach_as_facts_change_and_keep_their_history() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = file(
        &app,
        &t.responder,
        json!({"title": "Customer list e-mailed to a supplier", "discovered_at": "2026-03-02T10:00:00+09:00",
               "cause": "misdelivery", "breach_types": ["confidentiality"], "data_categories": ["contact"]}),
    )
    .await;
    let list = tasks(&app, &t.viewer, &id).await;
    assert_eq!(
        runbooks(&list),
        [
            ("misdirected-communication".to_owned(), true),
            ("personal-data-breach".to_owned(), true)
        ]
    );
    let confirm = task(&list, "personal-data-breach", "confirm-aware-at");
    assert_eq!(confirm["due"], "discovered_at + 24h");
    assert_eq!(confirm["due_at"], "2026-03-03T01:00:00Z");
    assert_eq!(confirm["due_basis"], "clock");
    assert_eq!(
        (&confirm["state"], &confirm["role"]),
        (&json!("open"), &json!("responder"))
    );
    assert!(!has_task(&list, "ransomware", "isolate"));

    // One misdirection task is done before the facts change.
    let stop = task(&list, "misdirected-communication", "stop-run").clone();
    let (status, done) = patch_task(&app, &t.responder, &id, &stop, json!({"state": "done"})).await;
    assert_eq!(status, 200, "{done}");

    // It was ransomware after all: that runbook attaches, the misdirection one stops
    // applying; its done task stays done, its open ones no longer apply.
    let (status, body) = app
        .patch(
            &t.responder,
            &format!("/api/v1/incidents/{id}"),
            &json!({"cause": "malicious", "breach_types": ["availability", "confidentiality"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let list = tasks(&app, &t.viewer, &id).await;
    assert_eq!(
        runbooks(&list),
        [
            ("misdirected-communication".to_owned(), false),
            ("personal-data-breach".to_owned(), true),
            ("ransomware".to_owned(), true)
        ]
    );
    assert_eq!(
        task(&list, "misdirected-communication", "stop-run")["state"],
        "done"
    );
    let set_aside = states(&list, "misdirected-communication");
    assert_eq!(
        set_aside
            .iter()
            .filter(|s| *s == "no_longer_applies")
            .count(),
        set_aside.len() - 1
    );
    assert_eq!(
        task(&list, "ransomware", "isolate")["due_at"],
        "2026-03-02T02:00:00Z"
    );
    let set_aside_task = task(&list, "misdirected-communication", "recipient-confirmation").clone();
    let (status, problem) = patch_task(
        &app,
        &t.responder,
        &id,
        &set_aside_task,
        json!({"assignee": "hana"}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");

    // Back to misdelivery: the same tasks come back open (attached once), ransomware's go.
    app.patch(
        &t.responder,
        &format!("/api/v1/incidents/{id}"),
        &json!({"cause": "misdelivery", "breach_types": ["confidentiality"]}),
    )
    .await;
    let list = tasks(&app, &t.viewer, &id).await;
    assert_eq!(
        task(&list, "misdirected-communication", "recipient-confirmation")["id"],
        set_aside_task["id"]
    );
    assert_eq!(
        task(&list, "misdirected-communication", "recipient-confirmation")["state"],
        "open"
    );
    assert_eq!(
        task(&list, "misdirected-communication", "stop-run")["state"],
        "done"
    );
    assert!(
        states(&list, "ransomware")
            .iter()
            .all(|s| s == "no_longer_applies")
    );
    let (_, open) = app
        .get(
            &t.viewer,
            &format!("/api/v1/incidents/{id}/tasks?state=open"),
        )
        .await;
    assert!(
        open["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["state"] == "open")
    );
}

/// JC-Task: 1,500 people in Japan, a malicious act: APPI applies.
fn jc_task_facts() -> Value {
    json!({"title": "Job-matching database exfiltrated", "discovered_at": "2026-04-30T16:00:00Z",
           "cause": "malicious", "data_categories": ["contact", "government_id"],
           "estimated_affected": 1500, "risk": "high"})
}

#[tokio::test]
async fn due_times_move_with_the_clocks_and_obligations_they_count_from() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let id = file(&app, &t.responder, jc_task_facts()).await;
    let list = tasks(&app, &t.viewer, &id).await;
    // Aware Fri 1 May 2026 01:00 JST. APPI preliminary is "promptly", target 72 h: less 12 h.
    let prelim = task(&list, "personal-data-breach", "ppc-preliminary");
    assert_eq!(prelim["due_at"], "2026-05-03T04:00:00Z");
    assert_eq!(prelim["due_basis"], "target");
    assert_eq!(prelim["kind"], "evidence_required");
    // APPI final, malicious: 60 days with 1 May as day 1 → Mon 29 Jun 23:59:59 JST, less 5 days.
    let last = task(&list, "personal-data-breach", "ppc-final");
    assert_eq!(
        (&last["due_at"], &last["due_basis"]),
        (&json!("2026-06-24T14:59:59Z"), &json!("deadline"))
    );
    assert!(
        !has_task(&list, "personal-data-breach", "gdpr-report"),
        "GDPR does not apply"
    );
    let register = task(&list, "personal-data-breach", "register");
    assert_eq!(register["due_at"], "2026-05-03T16:00:00Z");
    let identity = task(&list, "identity-health-data", "fraud-risk");
    assert_eq!(identity["due_at"], "2026-05-01T16:00:00Z");

    // aware_at a day later (Sat 2 May JST): everything counted from it moves.
    app.patch(
        &t.responder,
        &format!("/api/v1/incidents/{id}"),
        &json!({"aware_at": "2026-05-01T16:00:00Z"}),
    )
    .await;
    let list = tasks(&app, &t.viewer, &id).await;
    assert_eq!(
        task(&list, "personal-data-breach", "ppc-preliminary")["due_at"],
        "2026-05-04T04:00:00Z"
    );
    // 60 days with 2 May as day 1 → Tue 30 Jun.
    assert_eq!(
        task(&list, "personal-data-breach", "ppc-final")["due_at"],
        "2026-06-25T14:59:59Z"
    );
    assert_eq!(
        task(&list, "personal-data-breach", "register")["due_at"],
        "2026-05-04T16:00:00Z"
    );
    // discovered_at moves what counts from it, not the rest.
    assert_eq!(
        task(&list, "personal-data-breach", "confirm-aware-at")["due_at"],
        "2026-05-01T16:00:00Z"
    );
    app.patch(
        &t.responder,
        &format!("/api/v1/incidents/{id}"),
        &json!({"discovered_at": "2026-04-30T20:00:00Z"}),
    )
    .await;
    let list = tasks(&app, &t.viewer, &id).await;
    assert_eq!(
        task(&list, "personal-data-breach", "confirm-aware-at")["due_at"],
        "2026-05-01T20:00:00Z"
    );
    assert_eq!(
        task(&list, "personal-data-breach", "register")["due_at"],
        "2026-05-04T16:00:00Z"
    );
}

#[tokio::test]
async fn a_tenant_promise_brings_its_notice_tasks_with_it() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let id = file(
        &app,
        &t.responder,
        json!({"title": "Ten CVs on a lost USB stick", "discovered_at": "2026-04-30T16:00:00Z",
               "cause": "lost_device", "data_categories": ["contact"], "estimated_affected": 10, "risk": "low"}),
    )
    .await;
    let list = tasks(&app, &t.viewer, &id).await;
    assert!(
        !has_task(&list, "personal-data-breach", "notice-content"),
        "no duty to tell people yet"
    );
    let wipe = task(&list, "lost-device", "remote-wipe");
    assert_eq!(
        (&wipe["due_at"], &wipe["kind"]),
        (&json!("2026-04-30T18:00:00Z"), &json!("evidence_required"))
    );
    let recovered = task(&list, "lost-device", "recovered-device");
    assert_eq!(
        (&recovered["due"], &recovered["due_at"]),
        (&Value::Null, &Value::Null)
    );

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
    let list = tasks(&app, &t.viewer, &id).await;
    // 30 JP working days after Fri 1 May 2026 (3–6 May off) → Wed 17 Jun 23:59:59 JST, less 12 h.
    let content = task(&list, "personal-data-breach", "notice-content");
    assert_eq!(
        (&content["due_at"], &content["due_basis"]),
        (&json!("2026-06-17T02:59:59Z"), &json!("deadline"))
    );
}

#[tokio::test]
async fn the_team_works_its_tasks_and_every_change_is_audited() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let id = file(&app, &t.responder, jc_task_facts()).await;
    let list = tasks(&app, &t.viewer, &id).await;
    let prelim = task(&list, "personal-data-breach", "ppc-preliminary").clone();
    let scope = task(&list, "personal-data-breach", "scope").clone();

    let (status, view) = patch_task(
        &app,
        &t.responder,
        &id,
        &prelim,
        json!({"assignee": "Sato", "note": "PPC form drafted"}),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (&view["assignee"], &view["note"], &view["state"]),
        (&json!("Sato"), &json!("PPC form drafted"), &json!("open"))
    );

    let (status, problem) =
        patch_task(&app, &t.responder, &id, &prelim, json!({"state": "done"})).await;
    assert_eq!(
        (status, rejected_fields(&problem)),
        (422, vec!["evidence".to_owned()]),
        "{problem}"
    );
    let (status, view) = patch_task(
        &app,
        &t.approver,
        &id,
        &prelim,
        json!({"state": "done", "evidence": "PPC receipt 2026-0042"}),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (&view["state"], &view["evidence"], &view["resolved_by"]),
        (
            &json!("done"),
            &json!("PPC receipt 2026-0042"),
            &json!("jc-task-approver")
        )
    );
    assert!(view["resolved_at"].is_string());
    let (status, problem) = patch_task(
        &app,
        &t.responder,
        &id,
        &prelim,
        json!({"state": "skipped", "skipped_reason": "x"}),
    )
    .await;
    assert_eq!(status, 409, "done tasks are reopened first: {problem}");
    let (status, view) =
        patch_task(&app, &t.responder, &id, &prelim, json!({"state": "open"})).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (&view["state"], &view["evidence"], &view["resolved_at"]),
        (&json!("open"), &Value::Null, &Value::Null)
    );
    assert_eq!(view["note"], "PPC form drafted", "the note stays");

    let (status, problem) =
        patch_task(&app, &t.responder, &id, &scope, json!({"state": "skipped"})).await;
    assert_eq!(
        (status, rejected_fields(&problem)),
        (422, vec!["skipped_reason".to_owned()])
    );
    let (status, view) = patch_task(
        &app,
        &t.responder,
        &id,
        &scope,
        json!({"state": "skipped", "skipped_reason": "scope set by the vendor's list"}),
    )
    .await;
    assert_eq!(
        (status, &view["skipped_reason"]),
        (200, &json!("scope set by the vendor's list"))
    );

    let bad: &[(Value, &[&str])] = &[
        (json!({}), &["body"]),
        (json!({"state": "no_longer_applies"}), &["state"]),
        (json!({"state": "finished"}), &["state"]),
        (json!({"state": null}), &["state"]),
        (json!({"evidence": "x"}), &["evidence"]),
        (
            json!({"state": "open", "skipped_reason": "x"}),
            &["skipped_reason"],
        ),
        (json!({"assignee": ""}), &["assignee"]),
        (json!({"owner": "x"}), &["owner"]),
    ];
    for (body, fields) in bad {
        let (status, problem) = patch_task(&app, &t.responder, &id, &prelim, body.clone()).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(rejected_fields(&problem), *fields, "{body}");
    }

    let (status, _) = patch_task(&app, &t.viewer, &id, &prelim, json!({"assignee": "x"})).await;
    assert_eq!(status, 403, "viewers read only");
    let (status, _) = app
        .get(&t.regulator, &format!("/api/v1/incidents/{id}/tasks"))
        .await;
    assert_eq!(status, 403, "regulators never see tasks");
    let other = app.tenant("other");
    let (status, _) = app
        .get(&other.viewer, &format!("/api/v1/incidents/{id}/tasks"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = patch_task(
        &app,
        &other.responder,
        &id,
        &prelim,
        json!({"assignee": "x"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .patch(
            &t.responder,
            &format!("/api/v1/incidents/{id}/tasks/nope"),
            &json!({"assignee": "x"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, problem) = app
        .get(
            &t.viewer,
            &format!("/api/v1/incidents/{id}/tasks?state=late"),
        )
        .await;
    assert_eq!(
        (status, rejected_fields(&problem)),
        (422, vec!["state".to_owned()])
    );

    let (_, log) = app.get(&t.approver, "/api/v1/audit").await;
    let entries: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("task."))
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["task.update", "task.done", "task.reopen", "task.skip"]
    );
    assert_eq!(
        entries[1]["details"]["changes"]["state"],
        json!({"from": "open", "to": "done"})
    );
    assert_eq!(entries[1]["details"]["item"], "ppc-preliminary");
    assert_eq!(
        entries[0]["details"]["changes"]["assignee"],
        json!({"from": null, "to": "Sato"})
    );
}

/// A templates folder with `files` (path, contents) written into it.
fn templates(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    dir
}

const OWN_RUNBOOK: &str = "---\nid: wechat-pay-outage\ntitle: WeChat Pay processor incident\nversion: 1\napplies_to:\n  causes: [vendor]\n---\n\n- [ ] Call the WeChat Pay merchant hotline and ask for the incident number.\n  {id: call-wechat; role: responder; due: aware_at + 2h; kind: evidence required}\n";

#[tokio::test]
async fn a_tenant_adds_and_replaces_runbooks_with_its_own_files() {
    let dir = templates(&[
        ("renji/runbooks/wechat-pay.md", OWN_RUNBOOK),
        (
            "renji/runbooks/personal-data-breach.md",
            "---\nid: personal-data-breach\ntitle: Renji first day\nversion: 7\napplies_to: {}\n---\n- [ ] Start the emergency plan. {id: emergency-plan; due: aware_at + 1h}\n",
        ),
    ]);
    let app = spawn_app_with(&[("BREACHLINE_TEMPLATES_DIR", dir.path().to_str().unwrap())]).await;
    let renji = app.tenant("renji");
    let facts = json!({"title": "Payment processor breach", "discovered_at": "2026-05-01T02:00:00Z", "cause": "vendor"});
    let id = file(&app, &renji.responder, facts.clone()).await;
    let list = tasks(&app, &renji.viewer, &id).await;
    assert_eq!(
        task(&list, "wechat-pay-outage", "call-wechat")["due_at"],
        "2026-05-01T04:00:00Z"
    );
    assert_eq!(
        task(&list, "personal-data-breach", "emergency-plan")["state"],
        "open"
    );
    assert!(
        !has_task(&list, "personal-data-breach", "confirm-aware-at"),
        "replaced by the tenant's file"
    );
    assert!(
        has_task(&list, "processor-breach", "provider-notice"),
        "the other built-ins stay"
    );

    let other = app.tenant("cafetalk");
    let id = file(&app, &other.responder, facts).await;
    let list = tasks(&app, &other.viewer, &id).await;
    assert!(!has_task(&list, "wechat-pay-outage", "call-wechat"));
    assert!(has_task(&list, "personal-data-breach", "confirm-aware-at"));
}

#[test]
fn an_invalid_tenant_runbook_stops_start_up_naming_file_and_line() {
    let broken = OWN_RUNBOOK.replace("role: responder", "role: cashier");
    let dir = templates(&[("renji/runbooks/wechat-pay.md", &broken)]);
    let test_db = TestDb::new();
    let settings =
        test_db.settings_with(&[("BREACHLINE_TEMPLATES_DIR", dir.path().to_str().unwrap())]);
    let db = Db::connect(&settings.database).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let error = Application::with_listener(&settings, db, listener)
        .err()
        .expect("start-up must fail")
        .to_string();
    assert!(
        error.contains("renji/runbooks/wechat-pay.md:10: role: unknown value 'cashier'"),
        "{error}"
    );
}

#[test]
fn runbooks_check_names_each_problem_with_file_and_line() {
    let db = TestDb::new();
    let dir = templates(&[
        ("good/own.md", OWN_RUNBOOK),
        (
            "bad/own.md",
            &OWN_RUNBOOK.replace("aware_at + 2h", "aware_at + 2 hours"),
        ),
        (
            "bad/clash.md",
            &OWN_RUNBOOK.replace("wechat-pay-outage", "ransomware"),
        ),
    ]);
    let good = dir.path().join("good");
    let (code, out, err) = run_cli(&db, &["runbooks", "check", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("9 runbooks, all valid"), "{out}");

    let bad = dir.path().join("bad");
    let (code, _, err) = run_cli(&db, &["runbooks", "check", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    let own = bad.join("own.md").display().to_string();
    assert!(
        err.contains(&format!(
            "{own}:10: cannot read due time 'aware_at + 2 hours'"
        )),
        "{err}"
    );
    let clash = bad.join("clash.md").display().to_string();
    assert!(
        err.contains(&format!(
            "{clash}:2: runbook id 'ransomware' is also used by runbooks/ransomware.md"
        )),
        "{err}"
    );
    assert!(err.contains("2 problem(s) found"), "{err}");

    let (code, out, err) = run_cli(&db, &["runbooks", "check"]);
    assert_eq!(
        (code, out.trim()),
        (0, "built-in: 8 runbooks, all valid"),
        "{err}"
    );
    let (code, out, _) = run_cli(&db, &["runbooks", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.lines().any(|l| l == "ransomware\t1\tRansomware and extortion\tbreach_types: availability; causes: malicious"),
        "{out}"
    );
}

// ------------------------------------------------------------ reminders and digest

mod reminders {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use breachline::dispatch::reminders::{Clock, signature};
    use chrono::{DateTime, Duration, NaiveDateTime};
    use serde_json::{Value, json};

    use crate::channels::{HttpPeer, SmtpPeer, SmtpState, header};
    use crate::dispatch::{put, worker};
    use crate::helpers::{TestApp, TestTenant, spawn_app};

    /// A clock the test moves (no real sleeps).
    struct TestClock(Arc<AtomicI64>);

    impl TestClock {
        fn at(at: NaiveDateTime) -> Self {
            let c = TestClock(Arc::new(AtomicI64::new(0)));
            c.set(at);
            c
        }
        fn set(&self, at: NaiveDateTime) {
            self.0
                .store(at.and_utc().timestamp_micros(), Ordering::SeqCst);
        }
        fn clock(&self) -> Clock {
            let micros = self.0.clone();
            Arc::new(move || {
                DateTime::from_timestamp_micros(micros.load(Ordering::SeqCst))
                    .unwrap()
                    .naive_utc()
            })
        }
    }

    const TEAM: [&str; 2] = ["ir@jc-task.example", "lead@jc-task.example"];

    /// A tenant with a team, an incident, and its earliest open obligation with a
    /// deadline: (incident, "regime recipient phase", due_at).
    async fn team_incident(
        app: &TestApp,
        t: &TestTenant,
        team: Value,
    ) -> (String, String, NaiveDateTime) {
        assert_eq!(
            put(
                app,
                &t.admin,
                "/api/v1/tenant/profile",
                &json!({"team": team})
            )
            .await,
            200
        );
        let (status, incident) = app
            .post(
                &t.responder,
                "/api/v1/incidents",
                &json!({
                    "title": "Account data copied", "discovered_at": crate::helpers::hours_ago(1),
                    "cause": "malicious", "data_categories": ["contact"], "risk": "high"
                }),
            )
            .await;
        assert_eq!(status, 201, "{incident}");
        let id = incident["id"].as_str().unwrap().to_owned();
        let (_, body) = app
            .get(&t.viewer, &format!("/api/v1/incidents/{id}/obligations"))
            .await;
        let first = body["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["status"] == "open" && o["due_at"].is_string())
            .min_by_key(|o| o["due_at"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no obligation with a deadline: {body:#}"))
            .clone();
        let what = format!(
            "{} {} {}",
            first["regime"].as_str().unwrap(),
            first["recipient"].as_str().unwrap(),
            first["phase"].as_str().unwrap()
        );
        let due = DateTime::parse_from_rfc3339(first["due_at"].as_str().unwrap())
            .unwrap()
            .naive_utc();
        (id, what, due)
    }

    /// (recipient, subject) of the mail about `what`, sorted.
    fn about(smtp: &SmtpPeer, what: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = smtp
            .received()
            .iter()
            .filter_map(|m| {
                let subject = header(&m.data, "Subject")?;
                subject
                    .contains(what)
                    .then(|| (m.rcpt_to.join(","), subject))
            })
            .collect();
        out.sort();
        out
    }

    /// Runs the worker's reminder round until nothing is left to claim or send.
    async fn settle(w: &breachline::dispatch::worker::Worker) {
        for _ in 0..100 {
            if w.remind_once().await.unwrap() == 0 {
                return;
            }
        }
        panic!("reminders did not settle");
    }

    fn digests(smtp: &SmtpPeer) -> usize {
        smtp.received()
            .iter()
            .filter(|m| header(&m.data, "Subject").is_some_and(|s| s.contains("Digest")))
            .count()
    }

    #[tokio::test]
    async fn reminders_24h_and_4h_reach_the_team_once_even_after_a_restart() {
        let app = spawn_app().await;
        let t = app.tenant("jc-task");
        let smtp = SmtpPeer::start(SmtpState::default()).await;
        let url = smtp.url("");
        let env = [("BREACHLINE_SMTP_URL", url.as_str())];
        let (_, what, due) = team_incident(&app, &t, json!({"emails": TEAM})).await;

        // Nothing yet 25 hours before.
        let clock = TestClock::at(due - Duration::hours(25));
        let first = worker(&app, &env).with_clock(clock.clock());
        settle(&first).await;
        assert!(about(&smtp, &what).is_empty());

        // 24 hours before: one e-mail to each address of the team, however often it runs.
        clock.set(due - Duration::hours(24) + Duration::minutes(1));
        for _ in 0..3 {
            settle(&first).await;
        }
        let mail = about(&smtp, &what);
        assert_eq!(mail.len(), 2, "{mail:?}");
        assert_eq!(mail[0].0, TEAM[0]);
        assert_eq!(mail[1].0, TEAM[1]);
        assert!(
            mail.iter().all(|(_, s)| s.contains("due in 23h59")),
            "{mail:?}"
        );
        let digests_today = digests(&smtp);
        assert!(digests_today <= 2, "one digest per address a day");

        // A restarted worker does not send it again.
        drop(first);
        let second = worker(&app, &env).with_clock(clock.clock());
        settle(&second).await;
        assert_eq!(about(&smtp, &what).len(), 2);
        assert_eq!(digests(&smtp), digests_today);

        // 4 hours before: the second reminder, once.
        clock.set(due - Duration::hours(4) + Duration::minutes(1));
        settle(&second).await;
        settle(&second).await;
        let mail = about(&smtp, &what);
        assert_eq!(mail.len(), 4, "{mail:?}");
        assert_eq!(
            mail.iter()
                .filter(|(_, s)| s.contains("due in 3h59"))
                .count(),
            2
        );
        let ids: std::collections::BTreeSet<String> = smtp
            .received()
            .iter()
            .map(|m| header(&m.data, "Message-ID").unwrap())
            .collect();
        assert_eq!(
            ids.len(),
            smtp.received().len(),
            "each e-mail its own Message-ID"
        );

        // Overdue: once more, as overdue.
        clock.set(due + Duration::hours(1));
        settle(&second).await;
        settle(&second).await;
        let overdue: Vec<_> = about(&smtp, &what)
            .into_iter()
            .filter(|(_, s)| s.starts_with("[Breachline] Overdue:"))
            .collect();
        assert_eq!(overdue.len(), 2, "{overdue:?}");

        // Audited.
        let queued: i64 = app
            .db
            .read_blocking(|conn| {
                use breachline::db::schema::audit_log as a;
                use diesel::prelude::*;
                Ok(a::table
                    .filter(a::action.eq("reminder.queued"))
                    .filter(a::target.like("obligation:%"))
                    .count()
                    .get_result(conn)?)
            })
            .unwrap();
        assert!(queued >= 3, "{queued}");
    }

    #[tokio::test]
    async fn a_duty_with_only_a_target_is_reminded_before_its_target() {
        let app = spawn_app().await;
        let t = app.tenant("jc-task");
        let smtp = SmtpPeer::start(SmtpState::default()).await;
        let url = smtp.url("");
        let env = [("BREACHLINE_SMTP_URL", url.as_str())];
        let (id, _, _) = team_incident(&app, &t, json!({"emails": TEAM})).await;
        // APPI preliminary report: "promptly", no deadline, a 3-day target.
        let (_, body) = app
            .get(&t.viewer, &format!("/api/v1/incidents/{id}/obligations"))
            .await;
        let prelim = body["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["regime"] == "appi" && o["phase"] == "preliminary")
            .unwrap_or_else(|| panic!("APPI preliminary: {body:#}"))
            .clone();
        assert!(prelim["due_at"].is_null(), "{prelim}");
        let target = DateTime::parse_from_rfc3339(prelim["target_at"].as_str().unwrap())
            .unwrap()
            .naive_utc();
        let w = worker(&app, &env).with_clock(TestClock::at(target - Duration::hours(25)).clock());
        settle(&w).await;
        assert!(about(&smtp, "appi regulator preliminary").is_empty());
        let w = worker(&app, &env)
            .with_clock(TestClock::at(target - Duration::hours(24) + Duration::minutes(1)).clock());
        settle(&w).await;
        let mail = about(&smtp, "appi regulator preliminary");
        assert_eq!(mail.len(), 2, "{mail:?}");
        assert!(
            mail.iter()
                .all(|(_, s)| s.contains("target: as soon as possible")
                    && s.contains("due in 23h59")),
            "{mail:?}"
        );
    }

    #[tokio::test]
    async fn two_workers_send_each_reminder_once() {
        let app = spawn_app().await;
        let t = app.tenant("jc-task");
        let smtp = SmtpPeer::start(SmtpState::default()).await;
        let url = smtp.url("");
        let env = [("BREACHLINE_SMTP_URL", url.as_str())];
        let (_, what, due) = team_incident(&app, &t, json!({"emails": TEAM})).await;
        let clock = TestClock::at(due - Duration::hours(24) + Duration::minutes(1));
        let (a, b) = (
            worker(&app, &env).with_clock(clock.clock()),
            worker(&app, &env).with_clock(clock.clock()),
        );
        for _ in 0..30 {
            let (x, y) = tokio::join!(a.remind_once(), b.remind_once());
            if x.unwrap() + y.unwrap() == 0 {
                break;
            }
        }
        assert_eq!(about(&smtp, &what).len(), 2, "one e-mail per address");
        clock.set(due - Duration::hours(4) + Duration::minutes(1));
        for _ in 0..30 {
            let (x, y) = tokio::join!(a.remind_once(), b.remind_once());
            if x.unwrap() + y.unwrap() == 0 {
                break;
            }
        }
        assert_eq!(about(&smtp, &what).len(), 4);
        let ids: std::collections::BTreeSet<String> = smtp
            .received()
            .iter()
            .map(|m| header(&m.data, "Message-ID").unwrap())
            .collect();
        assert_eq!(
            ids.len(),
            smtp.received().len(),
            "no message was sent twice"
        );
        assert!(digests(&smtp) <= 4, "one digest per address and local day");
    }

    #[tokio::test]
    async fn the_chat_webhook_gets_signed_json_and_the_digest_lists_what_is_due() {
        let app = spawn_app().await;
        let t = app.tenant("jc-task");
        let hook = HttpPeer::start(200, json!({})).await;
        let secret = "s3cret-for-the-chat-hook";
        let (id, what, due) = team_incident(
            &app,
            &t,
            json!({"webhook": {"url": format!("{}/hooks/ir", hook.base), "secret": secret}}),
        )
        .await;
        // The secret is never shown back.
        let (_, tenant) = app.get(&t.admin, "/api/v1/tenant").await;
        assert_eq!(
            tenant["tenant"]["profile"]["team"]["webhook"]["secret"],
            "(set)"
        );

        let clock = TestClock::at(due - Duration::hours(4) + Duration::minutes(1));
        let w = worker(&app, &[]).with_clock(clock.clock());
        settle(&w).await;
        let posts = hook.requests();
        let reminder = posts
            .iter()
            .find(|r| {
                let b = serde_json::from_slice::<Value>(&r.body).unwrap();
                b["type"] == "reminder" && b["about"] == "obligation" && b["what"] == what.as_str()
            })
            .unwrap_or_else(|| panic!("no reminder posted"));
        let body: Value = serde_json::from_slice(&reminder.body).unwrap();
        assert_eq!(
            body["threshold"], "4h",
            "the 24h reminder is not sent late: {body}"
        );
        assert_eq!(body["incident_id"], id.as_str());
        assert_eq!(body["what"], what.as_str());
        let ts: i64 = reminder.headers["x-breachline-timestamp"].parse().unwrap();
        assert_eq!(
            reminder.headers["x-breachline-signature"],
            signature(secret, ts, std::str::from_utf8(&reminder.body).unwrap()).unwrap()
        );
        let digest: Vec<Value> = posts
            .iter()
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            .filter(|b| b["type"] == "digest")
            .collect();
        assert_eq!(digest.len(), 1, "{digest:?}");
        assert!(
            digest[0]["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["what"] == what.as_str()),
            "{digest:?}"
        );
    }

    #[tokio::test]
    async fn users_who_work_incidents_are_on_the_team() {
        let app = spawn_app().await;
        let t = app.tenant("jc-task");
        let smtp = SmtpPeer::start(SmtpState::default()).await;
        let url = smtp.url("");
        let env = [("BREACHLINE_SMTP_URL", url.as_str())];
        let tenant_id = t.id.clone();
        app.db
            .write_blocking(move |conn| {
                use breachline::domain::{Role, now_micros};
                use breachline::store::users;
                users::create(
                    conn,
                    &tenant_id,
                    "Resp@JC-Task.example",
                    Role::Responder,
                    now_micros(),
                )?;
                users::create(
                    conn,
                    &tenant_id,
                    "viewer@jc-task.example",
                    Role::Viewer,
                    now_micros(),
                )?;
                // Also on the profile's list: one e-mail, not two.
                users::create(conn, &tenant_id, TEAM[0], Role::Approver, now_micros())?;
                Ok(())
            })
            .unwrap();
        let (_, what, due) = team_incident(&app, &t, json!({"emails": [TEAM[0]]})).await;
        let clock = TestClock::at(due - Duration::hours(4) + Duration::minutes(1));
        settle(&worker(&app, &env).with_clock(clock.clock())).await;
        let to: Vec<String> = about(&smtp, &what).into_iter().map(|(to, _)| to).collect();
        assert_eq!(
            to,
            [TEAM[0], "resp@jc-task.example"],
            "viewers are not reminded"
        );
    }

    #[tokio::test]
    async fn team_settings_are_checked() {
        let app = spawn_app().await;
        let t = app.tenant("jc-task");
        let resp = app
            .client
            .put(app.url("/api/v1/tenant/profile"))
            .bearer_auth(&t.admin)
            .json(&json!({"team": {"emails": ["not-an-address"]},
                "reminders": {"before_hours": [0], "time_zone": "Mars/Base"}}))
            .send()
            .await
            .unwrap();
        let (status, problem) = crate::helpers::read(resp).await;
        assert_eq!(status, 422, "{problem}");
        let mut fields = crate::helpers::rejected_fields(&problem);
        fields.sort();
        assert_eq!(
            fields,
            [
                "reminders.before_hours",
                "reminders.time_zone",
                "team.emails[0]"
            ]
        );
    }
}
