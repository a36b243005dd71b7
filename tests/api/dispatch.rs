use std::collections::HashMap;
use std::sync::Arc;

use breachline::compose::NoticeService;
use breachline::config::Settings;
use breachline::dispatch::channels::Adapters;
use breachline::dispatch::worker::{Worker, WorkerOptions};
use serde_json::{Value, json};

use crate::channels::{SmtpPeer, SmtpState, header};
use crate::helpers::{TestApp, TestTenant, spawn_app, spawn_app_with_idle_worker};
use crate::subjects::import_csv;

pub const PEOPLE: [&str; 6] = [
    "p1,Sato Aiko,aiko@example.jp,,ja,JP,1990-04-01,,,,,,,app,contact",
    "p2,Ivan Petrov,ivan@example.ru,+79001234567,ru,JP,1980-01-01,,,,,,,app,contact",
    "p3,Li Xiaoming,,,zh-CN,JP,2015-06-01,Li Wei,wei@example.cn,,,,,app,contact",
    "p4,Bounce Bob,bob@bounce.example,+819011112222,en,JP,1970-01-01,,,,,,,app,contact",
    "p5,Nobody,,,en,JP,1975-01-01,,,,,,,app,contact",
    "p6,Emma,emma@example.com,,en,JP,1999-09-09,,,,,,,app,contact",
];

pub fn content(remedies: &str) -> Value {
    let item = json!({"summary": "An attacker copied account data.", "likely_impact": "Phishing e-mails.", "measures_taken": "Passwords reset.",
        "advice": "Change your password.", "remedies": remedies, "contact": {"email": "privacy@example.com"}});
    json!({"default_locale": "en", "locales": {"en": item}})
}

pub async fn put(app: &TestApp, token: &str, path: &str, body: &Value) -> u16 {
    let resp = app
        .client
        .put(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

/// Imports people, files an incident, scopes it, writes content and plans it.
pub async fn planned_incident(
    app: &TestApp,
    t: &TestTenant,
    rows: &[&str],
    remedies: &str,
) -> String {
    planned_incident_at(app, t, rows, remedies, &crate::helpers::hours_ago(1)).await
}

/// The same, for an incident discovered at `discovered_at` (RFC 3339).
pub async fn planned_incident_at(
    app: &TestApp,
    t: &TestTenant,
    rows: &[&str],
    remedies: &str,
    discovered_at: &str,
) -> String {
    let (status, body) = import_csv(app, &t.responder, rows, "").await;
    assert_eq!(status, 200, "{body}");
    let (_, incident) = app
        .post(&t.responder, "/api/v1/incidents", &json!({
            "title": "App breach", "discovered_at": discovered_at, "cause": "malicious", "risk": "high",
            "data_categories": ["contact"]
        }))
        .await;
    let id = incident["id"].as_str().unwrap().to_owned();
    assert_eq!(
        put(
            app,
            &t.responder,
            &format!("/api/v1/incidents/{id}/scope"),
            &json!({"systems": ["app"]})
        )
        .await,
        200
    );
    assert_eq!(
        put(
            app,
            &t.responder,
            &format!("/api/v1/incidents/{id}/notice-content"),
            &content(remedies)
        )
        .await,
        200
    );
    let (status, plan) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{id}/plan"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    id
}

pub fn worker(app: &TestApp, env: &[(&str, &str)]) -> Worker {
    worker_with(app, None, env)
}

/// A worker whose settings also read the TOML file `config`.
pub fn worker_with(
    app: &TestApp,
    config: Option<&std::path::Path>,
    env: &[(&str, &str)],
) -> Worker {
    let mut vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    vars.insert(
        "BREACHLINE_DATA_DIR".into(),
        app.test_db.dir.path().display().to_string(),
    );
    let settings = Settings::load_from(config, move |k| vars.get(k).cloned()).unwrap();
    let adapters = Adapters::from_settings(&settings.channels, &settings.data_dir).unwrap();
    let service = NoticeService::new(
        "https://notices.example".into(),
        settings.templates_dir.clone(),
    )
    .unwrap();
    let mut options = WorkerOptions::from_settings(&settings.worker);
    options.batch = 4;
    Worker::new(
        app.db.clone(),
        Arc::new(service),
        Arc::new(adapters),
        settings.channels.clone(),
        options,
    )
}

pub async fn drain(worker: &Worker) {
    for _ in 0..100 {
        if worker.run_once().await.unwrap() == 0 {
            return;
        }
    }
    panic!("the outbox did not drain");
}

#[tokio::test]
async fn approval_needs_a_second_approver_and_complete_content() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = planned_incident(&app, &t, &PEOPLE, "").await;
    let (status, dispatch) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{id}/dispatches"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{dispatch}");
    assert_eq!(dispatch["status"], "awaiting_approval");
    assert_eq!(dispatch["recipients"], 6);
    let approve = format!(
        "/api/v1/incidents/{id}/dispatches/{}/approve",
        dispatch["id"].as_str().unwrap()
    );
    let (status, _) = app.post(&t.responder, &approve, &json!({})).await;
    assert_eq!(status, 403, "responders cannot approve");
    let (status, problem) = app.post(&t.approver, &approve, &json!({})).await;
    assert_eq!(status, 422, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"notice_content.locales.en.remedies"),
        "{problem}"
    );
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("email"),
        "names the channel: {problem}"
    );

    // Fixing the content afterwards needs a new dispatch: approval is bound to what was created.
    assert_eq!(
        put(
            &app,
            &t.responder,
            &format!("/api/v1/incidents/{id}/notice-content"),
            &content("12 months of monitoring")
        )
        .await,
        200
    );
    let (status, problem) = app.post(&t.approver, &approve, &json!({})).await;
    assert_eq!(status, 409, "{problem}");
    let (_, second) = app
        .post(
            &t.approver,
            &format!("/api/v1/incidents/{id}/dispatches"),
            &json!({}),
        )
        .await;
    let approve = format!(
        "/api/v1/incidents/{id}/dispatches/{}/approve",
        second["id"].as_str().unwrap()
    );
    let (status, problem) = app.post(&t.approver, &approve, &json!({})).await;
    assert_eq!(
        status, 409,
        "the creator cannot approve their own dispatch: {problem}"
    );
}

/// Creates the incident's dispatch and has the approver approve it; returns its id.
pub async fn approved_dispatch(app: &TestApp, t: &TestTenant, incident: &str) -> String {
    let path = format!("/api/v1/incidents/{incident}/dispatches");
    let (status, dispatch) = app.post(&t.responder, &path, &json!({})).await;
    assert_eq!(status, 201, "{dispatch}");
    let d = dispatch["id"].as_str().unwrap().to_owned();
    let (status, approved) = app
        .post(&t.approver, &format!("{path}/{d}/approve"), &json!({}))
        .await;
    assert_eq!(status, 200, "{approved}");
    d
}

#[tokio::test]
async fn a_tenant_with_its_own_relay_sends_through_it() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let (own, default) = (
        SmtpPeer::start(SmtpState::default()).await,
        SmtpPeer::start(SmtpState::default()).await,
    );
    let config = app.test_db.dir.path().join("relays.toml");
    std::fs::write(
        &config,
        format!(
            "[channels.email.tenant_relays]\nacme = \"{}\"\n",
            own.url("")
        ),
    )
    .unwrap();
    let id = planned_incident(&app, &t, &PEOPLE, "a support line").await;
    approved_dispatch(&app, &t, &id).await;

    let default_url = default.url("");
    drain(&worker_with(
        &app,
        Some(&config),
        &[("BREACHLINE_SMTP_URL", &default_url)],
    ))
    .await;

    let mut to: Vec<String> = own
        .received()
        .iter()
        .flat_map(|m| m.rcpt_to.clone())
        .collect();
    to.sort();
    assert_eq!(
        to,
        [
            "aiko@example.jp",
            "bob@bounce.example",
            "emma@example.com",
            "ivan@example.ru",
            "wei@example.cn"
        ]
    );
    assert!(
        default.received().is_empty(),
        "the service's relay is not used for acme"
    );
}

#[tokio::test]
async fn an_approval_wakes_the_idle_worker_of_the_same_process() {
    let relay = SmtpPeer::start(SmtpState::default()).await;
    let url = relay.url("");
    let (app, stop) = spawn_app_with_idle_worker(&[("BREACHLINE_SMTP_URL", &url)]).await;
    let t = app.tenant("acme");
    let id = planned_incident(&app, &t, &PEOPLE, "a support line").await;
    // The worker found nothing to do and went idle for an hour.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    approved_dispatch(&app, &t, &id).await;
    let started = std::time::Instant::now();
    while relay.received().len() < 5 && started.elapsed().as_secs() < 30 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    assert_eq!(
        relay.received().len(),
        5,
        "the approval rang the worker's bell: the five reachable people were sent to at once"
    );
}

#[tokio::test]
async fn dispatch_delivers_over_real_smtp_with_fallback_and_a_ledger() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let smtp = SmtpPeer::start(SmtpState {
        reject: HashMap::from([("bob@bounce.example".to_owned(), 550)]),
        ..SmtpState::default()
    })
    .await;
    let id = planned_incident(&app, &t, &PEOPLE, "12 months of monitoring").await;
    let (_, dispatch) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{id}/dispatches"),
            &json!({}),
        )
        .await;
    let d = dispatch["id"].as_str().unwrap().to_owned();
    let (status, approved) = app
        .post(
            &t.approver,
            &format!("/api/v1/incidents/{id}/dispatches/{d}/approve"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["counts"]["queued"], 5);
    assert_eq!(approved["counts"]["unreachable"], 1);

    let url = smtp.url("");
    let worker = worker(&app, &[("BREACHLINE_SMTP_URL", &url)]);
    drain(&worker).await;

    let mail = smtp.received();
    let mut to: Vec<String> = mail.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        vec![
            "aiko@example.jp",
            "emma@example.com",
            "ivan@example.ru",
            "wei@example.cn"
        ],
        "one e-mail each; the guardian for the child"
    );
    let ids: Vec<String> = mail
        .iter()
        .map(|m| header(&m.data, "Message-ID").unwrap())
        .collect();
    assert!(ids.iter().all(|i| i.ends_with("@breachline>")), "{ids:?}");
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    let aiko = mail
        .iter()
        .find(|m| m.rcpt_to[0] == "aiko@example.jp")
        .unwrap();
    assert!(aiko.data.contains("multipart/alternative"));
    let body = aiko.data.replace("=\r\n", "").replace("=\n", ""); // quoted-printable soft breaks
    let at = body
        .find("https://notices.example/n/")
        .expect("the notice-page link");
    let token: String = body[at + 26..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 32);
    let page = app
        .client
        .get(app.url(&format!("/n/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Sato Aiko") && html.contains("lang=\"en\""),
        "only English content was written: {html}"
    );
    let missing = app
        .client
        .get(app.url(&format!("/n/{}", "0".repeat(32))))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let (_, progress) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/dispatches/{d}"))
        .await;
    assert_eq!(progress["status"], "completed", "{progress}");
    assert_eq!(progress["counts"]["sent"], 4);
    assert_eq!(
        progress["counts"]["failed"], 1,
        "Bob's mailbox refused the mail"
    );
    assert_eq!(
        progress["counts"]["handed_off"], 1,
        "Bob then got an SMS (file outbox)"
    );
    assert_eq!(progress["counts"]["unreachable"], 1);
    let (_, obligations) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/obligations"))
        .await;
    let appi = obligations["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["regime"] == "appi" && o["recipient"] == "subjects")
        .unwrap();
    assert_eq!(
        appi["status"], "open",
        "one person could not be reached and no bulletin covers them yet: {appi}"
    );
    assert!(
        appi["status_note"]
            .as_str()
            .unwrap()
            .contains("1 person could not be reached"),
        "{appi}"
    );
    assert!(appi["evidence"].is_null(), "{appi}");
    let sms_files = std::fs::read_dir(app.test_db.dir.path().join("outbox/sms"))
        .unwrap()
        .count();
    assert_eq!(sms_files, 1);
}

/// A `breachline worker` process against the test database and SMTP server.
fn worker_process(app: &TestApp, smtp_url: &str, config: &std::path::Path) -> std::process::Child {
    std::process::Command::new(crate::helpers::binary())
        .args(["--config", config.to_str().unwrap(), "worker"])
        .env("BREACHLINE_DATABASE_URL", &app.test_db.url)
        .env("BREACHLINE_DATA_DIR", app.test_db.dir.path())
        .env("BREACHLINE_SMTP_URL", smtp_url)
        .env("BREACHLINE_WORKER_LEASE_SECS", "1")
        .env("BREACHLINE_WORKER_BATCH", "5")
        .env("BREACHLINE_WORKER_CONCURRENCY", "2")
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn a_killed_worker_loses_nothing_and_duplicates_keep_their_message_id() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let rows: Vec<String> = (0..30)
        .map(|i| {
            format!("k{i:02},Person {i},p{i:02}@example.com,,en,JP,1980-01-01,,,,,,,app,contact")
        })
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let id = planned_incident(&app, &t, &rows, "support line").await;
    let d = approved_dispatch(&app, &t, &id).await;

    // Ten e-mails a second, so the kill lands mid-dispatch.
    let config = app.test_db.dir.path().join("breachline.toml");
    std::fs::write(&config, "[channels.rates]\nemail = 10.0\n").unwrap();
    let url = smtp.url("");
    let mut first = worker_process(&app, &url, &config);
    for _ in 0..200 {
        if smtp.received().len() >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    first.kill().unwrap(); // SIGKILL: no chance to release its leases
    first.wait().unwrap();
    let at_kill = smtp.received().len();
    assert!(
        at_kill < 30,
        "the kill must land mid-dispatch ({at_kill} sent)"
    );

    let mut second = worker_process(&app, &url, &config);
    let path = format!("/api/v1/incidents/{id}/dispatches/{d}");
    let mut status = Value::Null;
    for _ in 0..300 {
        status = app.get(&t.viewer, &path).await.1;
        if status["status"] == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(status["status"], "completed", "{status}");

    let mut ids_by_person: HashMap<String, Vec<String>> = HashMap::new();
    for m in smtp.received() {
        ids_by_person
            .entry(m.rcpt_to[0].clone())
            .or_default()
            .push(header(&m.data, "Message-ID").unwrap());
    }
    assert_eq!(ids_by_person.len(), 30, "everyone was reached");
    let duplicates: usize = ids_by_person.values().map(|ids| ids.len() - 1).sum();
    assert!(
        duplicates <= 5,
        "only rows in flight at the kill are sent twice ({duplicates})"
    );
    for (person, ids) in &ids_by_person {
        assert!(
            ids.iter().all(|i| i == &ids[0]),
            "{person} got different Message-IDs: {ids:?}"
        );
    }
}

#[tokio::test]
async fn signed_receipts_mark_messages_delivered() {
    use breachline::dispatch::receipts::{SIGNATURE_HEADER, webhook_signature};
    let sms = crate::channels::HttpPeer::start(201, json!({"id": "sms-42"})).await;
    let env = [
        ("BREACHLINE_SMS_PROVIDER", "webhook"),
        ("BREACHLINE_SMS_URL", sms.base.as_str()),
        ("BREACHLINE_SMS_WEBHOOK_SECRET", "s3cret"),
    ];
    let app = crate::helpers::spawn_app_with(&env).await;
    let t = app.tenant("acme");
    let id = planned_incident(
        &app,
        &t,
        &["s1,Sam,,+819000000001,en,JP,1980-01-01,,,,,,,app,contact"],
        "support line",
    )
    .await;
    let d = approved_dispatch(&app, &t, &id).await;
    drain(&worker(&app, &env)).await;
    assert_eq!(sms.requests().len(), 1);

    let body = json!({"provider_id": "sms-42", "status": "delivered"}).to_string();
    let post = |signature: String| {
        app.client
            .post(app.url("/api/v1/receipts/sms/webhook"))
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body.clone())
            .send()
    };
    let forged = post("sha256=00".into()).await.unwrap();
    assert_eq!(forged.status(), 401);
    assert!(
        !forged.headers().contains_key("www-authenticate"),
        "providers sign receipts; no bearer token applies"
    );
    let problem: Value = forged.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/bad-signature", "{problem}");
    let genuine = post(webhook_signature(b"s3cret", body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(genuine.status(), 204);
    let again = post(webhook_signature(b"s3cret", body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(again.status(), 204, "a resent receipt changes nothing");
    let (_, progress) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/dispatches/{d}"))
        .await;
    assert_eq!(progress["counts"]["delivered"], 1, "{progress}");
    let unknown = app
        .client
        .post(app.url("/api/v1/receipts/push/webhook"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404, "no push webhook configured");
}

#[tokio::test]
async fn an_sms_over_the_tenants_segment_limit_is_refused() {
    let app = spawn_app().await;
    let t = app.tenant("renji");
    let profile = json!({"notices": {"sms_max_segments": 1}});
    assert_eq!(
        put(&app, &t.admin, "/api/v1/tenant/profile", &profile).await,
        200
    );
    let id = planned_incident(&app, &t, &PEOPLE, "support").await;
    let (_, dispatch) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{id}/dispatches"),
            &json!({}),
        )
        .await;
    let approve = format!(
        "/api/v1/incidents/{id}/dispatches/{}/approve",
        dispatch["id"].as_str().unwrap()
    );
    let (status, problem) = app.post(&t.approver, &approve, &json!({})).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("segments"),
        "{problem}"
    );
}
