//! What the five customers hit (issue 16, items 1–8 and 10), each played through
//! the API as the customer would: the test fails on the behaviour they saw.

use serde_json::{Value, json};

use crate::channels::{SmtpPeer, SmtpState};
use crate::dispatch::{drain, put, worker};
use crate::helpers::{TestApp, TestTenant, spawn_app};

/// The registry header with the guardian's own contacts.
fn header() -> String {
    format!(
        "{},guardian_push_token,guardian_postal_address",
        breachline::import::synthetic::HEADER
    )
}

fn text(summary: &str) -> Value {
    json!({"summary": summary, "likely_impact": "Your messages may be read by others.",
        "measures_taken": "We closed the access and reset every password.",
        "advice": "Watch for unusual messages.", "remedies": "Our support line helps you.",
        "contact": {"email": "privacy@example.com"}})
}

/// Sets the tenant profile's notice settings.
async fn notices(app: &TestApp, t: &TestTenant, settings: Value) {
    let status = put(
        app,
        &t.admin,
        "/api/v1/tenant/profile",
        &json!({ "notices": settings }),
    )
    .await;
    assert_eq!(status, 200);
}

/// Imports `rows` (with the guardian columns), files an incident, scopes it,
/// writes `content` and plans it; returns the incident id and the plan summary.
async fn planned(app: &TestApp, t: &TestTenant, rows: &[&str], content: Value) -> (String, Value) {
    let (status, body) =
        crate::subjects::import_csv_with(app, &t.responder, &header(), rows, "").await;
    assert_eq!(status, 200, "{body}");
    let (status, incident) = app
        .post(
            &t.responder,
            "/api/v1/incidents",
            &json!({
                "title": "Customer scenario", "discovered_at": "2026-11-20T00:00:00Z",
                "cause": "malicious", "risk": "high", "data_categories": ["contact"]
            }),
        )
        .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_str().unwrap().to_owned();
    let scope = json!({"systems": ["app"]});
    assert_eq!(
        put(
            app,
            &t.responder,
            &format!("/api/v1/incidents/{id}/scope"),
            &scope
        )
        .await,
        200
    );
    let path = format!("/api/v1/incidents/{id}/notice-content");
    assert_eq!(put(app, &t.responder, &path, &content).await, 200);
    let (status, plan) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{id}/plan"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    (id, plan)
}

async fn create_dispatch(app: &TestApp, t: &TestTenant, id: &str) -> Value {
    let (status, d) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{id}/dispatches"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    d
}

async fn approve(app: &TestApp, t: &TestTenant, id: &str, d: &str) -> (u16, Value) {
    app.post(
        &t.approver,
        &format!("/api/v1/incidents/{id}/dispatches/{d}/approve"),
        &json!({}),
    )
    .await
}

async fn preview(app: &TestApp, t: &TestTenant, id: &str, who: &str, channel: &str) -> Value {
    let (status, body) = app
        .get(
            &t.viewer,
            &format!("/api/v1/incidents/{id}/notices/preview?subject={who}&channel={channel}"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn fields(problem: &Value) -> Vec<String> {
    crate::helpers::rejected_fields(problem)
}

/// Item 1 (JusTalk Kids): a parent notice goes only to a guardian contact.
#[tokio::test]
async fn parent_notices_never_go_to_the_childs_device() {
    let app = spawn_app().await;
    let t = app.tenant("justalk");
    notices(&app, &t, json!({"channels": ["push", "email"]})).await;
    let rows = [
        // The child's own device and a parent reachable by e-mail only.
        "k1,Kid One,,,en,US-CA,2016-05-01,Parent One,parent1@example.com,,kid1-device,,,app,contact,,",
        // The parent has a device of their own.
        "k2,Kid Two,,,en,US-CA,2016-05-01,Parent Two,,,kid2-device,,,app,contact,parent2-device,",
        // No guardian contact at all: the child's device must not get the parent notice.
        "k3,Kid Three,kid3@example.com,,en,US-CA,2016-05-01,,,,kid3-device,,,app,contact,,",
    ];
    let (id, plan) = planned(
        &app,
        &t,
        &rows,
        json!({"default_locale": "en", "locales": {"en": text("Photos were exposed.")}}),
    )
    .await;
    assert_eq!(plan["guardians"], 3, "{plan}");
    assert_eq!(
        plan["unreachable"], 1,
        "Kid Three has no guardian contact: {plan}"
    );
    let k1 = preview(&app, &t, &id, "k1", "push").await;
    assert_eq!(k1["planned_channels"], json!(["email"]), "{k1}");
    assert!(
        k1["recipient"]["address"].is_null(),
        "no guardian device: {k1}"
    );
    let k1_mail = preview(&app, &t, &id, "k1", "email").await;
    assert_eq!(k1_mail["recipient"]["address"], "parent1@example.com");
    let k2 = preview(&app, &t, &id, "k2", "push").await;
    assert_eq!(k2["recipient"]["address"], "parent2-device", "{k2}");
    assert_eq!(k2["recipient"]["kind"], "guardian");
    let k3 = preview(&app, &t, &id, "k3", "push").await;
    assert_eq!(k3["planned_channels"], json!([]), "{k3}");

    let d = create_dispatch(&app, &t, &id).await;
    let d = d["id"].as_str().unwrap().to_owned();
    let (status, body) = approve(&app, &t, &id, &d).await;
    assert_eq!(status, 200, "{body}");
    drain(&worker(&app, &[])).await;
    let pushed: Vec<Value> = std::fs::read_dir(app.test_db.dir.path().join("outbox/push"))
        .unwrap()
        .map(|f| serde_json::from_slice(&std::fs::read(f.unwrap().path()).unwrap()).unwrap())
        .collect();
    let devices: Vec<&str> = pushed.iter().map(|p| p["to"].as_str().unwrap()).collect();
    assert_eq!(devices, ["parent2-device"], "{pushed:?}");
}

/// Item 2 (Cafetalk): the authoritative language must exist before anything is
/// sent, and a notice page in a language shows only that language.
#[tokio::test]
async fn the_authoritative_language_is_required_and_pages_never_mix_languages() {
    let app = spawn_app().await;
    let t = app.tenant("cafetalk");
    notices(&app, &t, json!({"authoritative_locale": "ja"})).await;
    let rows = [
        "c1,Yamada Taro,taro@example.jp,,ja,JP,1990-01-01,,,,,,,app,contact,,",
        "c2,Olga,olga@example.ru,,ru,JP,1990-01-01,,,,,,,app,contact,,",
    ];
    let foreign = json!({"default_locale": "en", "locales": {"en": text("Messages were copied."), "ru": text("Сообщения были скопированы.")}});
    let (id, plan) = planned(&app, &t, &rows, foreign).await;
    assert!(
        plan["warnings"].to_string().contains("ja"),
        "the plan says the Japanese text is missing: {plan}"
    );
    let taro = preview(&app, &t, &id, "c1", "email").await;
    assert!(taro["warnings"].to_string().contains("prevails"), "{taro}");
    let d = create_dispatch(&app, &t, &id).await;
    let (status, problem) = approve(&app, &t, &id, d["id"].as_str().unwrap()).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        fields(&problem).contains(&"notice_content.locales.ja".to_owned()),
        "{problem}"
    );

    let with_japanese = json!({"default_locale": "ja", "locales": {
        "ja": text("メッセージがコピーされました。"), "en": text("Messages were copied."), "ru": text("Сообщения были скопированы.")}});
    let path = format!("/api/v1/incidents/{id}/notice-content");
    assert_eq!(put(&app, &t.responder, &path, &with_japanese).await, 200);
    app.post(
        &t.responder,
        &format!("/api/v1/incidents/{id}/plan"),
        &json!({}),
    )
    .await;
    let d = create_dispatch(&app, &t, &id).await;
    let d_id = d["id"].as_str().unwrap().to_owned();
    let (status, body) = approve(&app, &t, &id, &d_id).await;
    assert_eq!(status, 200, "{body}");
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let url = smtp.url("");
    drain(&worker(&app, &[("BREACHLINE_SMTP_URL", &url)])).await;
    let mail = smtp.received();
    let taro = mail
        .iter()
        .find(|m| m.rcpt_to[0] == "taro@example.jp")
        .unwrap();
    let olga = mail
        .iter()
        .find(|m| m.rcpt_to[0] == "olga@example.ru")
        .unwrap();
    let token = |person: &str| {
        let dispatch = app
            .db
            .read_blocking({
                let d = d_id.clone();
                move |c| breachline::store::dispatches::by_id(c, &d)
            })
            .unwrap();
        breachline::store::dispatches::link_token(&dispatch, person).unwrap()
    };
    // Olga's page in Japanese is all Japanese (the authoritative text), in Korean
    // (no such content) it stays all Russian: never headings of one language over
    // text of another.
    let page = |token: String, lang: &'static str| {
        let app = &app;
        async move {
            let resp = app
                .client
                .get(app.url(&format!("/n/{token}?lang={lang}")))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            resp.text().await.unwrap()
        }
    };
    let ja = page(token("c2"), "ja").await;
    assert!(
        ja.contains("lang=\"ja\"") && ja.contains("メッセージがコピーされました"),
        "{ja}"
    );
    assert!(!ja.contains("Сообщения"), "{ja}");
    let ko = page(token("c2"), "ko").await;
    assert!(
        ko.contains("lang=\"ru\"") && ko.contains("Сообщения были скопированы"),
        "{ko}"
    );
    assert!(
        crate::channels::header(&taro.data, "Subject")
            .is_some_and(|s| !s.is_ascii() || s.contains("=?")),
        "Taro's notice is in Japanese"
    );
    assert!(!olga.data.is_empty());
}

/// Item 3: with a person unreachable in Japan and no bulletin, the APPI notice
/// obligation stays open with the count; an obligation of a regime whose people
/// were all reached is met.
#[tokio::test]
async fn obligations_stay_open_while_people_are_not_covered() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let rows = [
        "j1,Wang Fang,fang@example.jp,,zh-CN,JP,1990-01-01,,,,,,,app,contact,,",
        "j2,Li Na,,,zh-CN,JP,1990-01-01,,,,,,,app,contact,,",
        "e1,Anna,anna@example.de,,en,DE,1990-01-01,,,,,,,app,contact,,",
    ];
    let content = json!({"default_locale": "en", "locales": {"en": text("Residence-card images were exposed."), "zh-CN": text("在留卡图像被泄露。")}});
    let (id, _) = planned(&app, &t, &rows, content).await;
    let d = create_dispatch(&app, &t, &id).await;
    let d = d["id"].as_str().unwrap().to_owned();
    assert_eq!(approve(&app, &t, &id, &d).await.0, 200);
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let url = smtp.url("");
    drain(&worker(&app, &[("BREACHLINE_SMTP_URL", &url)])).await;
    let (_, obligations) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/obligations"))
        .await;
    let subjects: Vec<&Value> = obligations["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["recipient"] == "subjects")
        .collect();
    let appi = subjects.iter().find(|o| o["regime"] == "appi").unwrap();
    assert_ne!(appi["status"], "met", "{appi}");
    assert!(
        appi["status_note"].as_str().unwrap().contains("1 person"),
        "{appi}"
    );
    assert!(
        appi["evidence"].is_null(),
        "never 'covered by the public bulletin': {appi}"
    );
    if let Some(gdpr) = subjects.iter().find(|o| o["regime"] == "gdpr") {
        assert_eq!(
            gdpr["status"], "met",
            "the only EU resident was reached: {gdpr}"
        );
    }
}

/// Item 4 (JC-Task): a tenant that promised only some channels gets only those.
#[tokio::test]
async fn only_the_channels_the_tenant_promised() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    notices(
        &app,
        &t,
        json!({"channels": ["email", "letter", "phone", "push"], "channels_only": true}),
    )
    .await;
    let rows =
        ["j1,Wang Fang,fang@example.jp,+819011112222,zh-CN,JP,1990-01-01,,,,,,sms,app,contact,,"];
    let content =
        json!({"default_locale": "zh-CN", "locales": {"zh-CN": text("在留卡图像被泄露。")}});
    let (id, plan) = planned(&app, &t, &rows, content).await;
    assert!(plan["reachable_on"].get("sms").is_none(), "{plan}");
    let p = preview(&app, &t, &id, "j1", "email").await;
    assert_eq!(p["planned_channels"], json!(["email", "phone"]), "{p}");
    let (status, problem) = app
        .client
        .put(app.url("/api/v1/tenant/profile"))
        .bearer_auth(&t.admin)
        .json(&json!({"notices": {"channels_only": true}}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(
        status,
        422,
        "channels_only without channels: {:?}",
        problem.text().await
    );
}

/// Item 5 (Cafetalk): an SMS limit does not block a dispatch nobody gets an SMS in.
#[tokio::test]
async fn sms_limits_apply_only_to_people_planned_on_sms() {
    let app = spawn_app().await;
    let t = app.tenant("cafetalk");
    notices(&app, &t, json!({"sms_max_segments": 1})).await;
    let long = "Сообщения на платформе были скопированы злоумышленником, который получил доступ к базе данных через уязвимость в стороннем компоненте. ".repeat(3);
    let rows = ["r1,Olga,olga@example.ru,,ru,JP,1990-01-01,,,,,,,app,contact,,"];
    let content = json!({"default_locale": "ru", "locales": {"ru": text(&long)}});
    let (id, _) = planned(&app, &t, &rows, content).await;
    let d = create_dispatch(&app, &t, &id).await;
    let (status, body) = approve(&app, &t, &id, d["id"].as_str().unwrap()).await;
    assert_eq!(
        status, 200,
        "e-mail only, whatever an SMS would take: {body}"
    );
}

/// Item 6: every language downgrade is listed with counts, and a script change
/// (Traditional → Simplified Chinese) is a warning the approver sees.
#[tokio::test]
async fn language_downgrades_are_listed_and_script_changes_warned() {
    let app = spawn_app().await;
    let t = app.tenant("justalk");
    let rows = [
        "a1,Kim,kim@example.kr,,ko,KR,1990-01-01,,,,,,,app,contact,,",
        "a2,Hans,hans@example.de,,de,DE,1990-01-01,,,,,,,app,contact,,",
        "a3,Chen,chen@example.tw,,zh-TW,TW,1990-01-01,,,,,,,app,contact,,",
        "a4,Lin,lin@example.tw,,zh-TW,TW,1990-01-01,,,,,,,app,contact,,",
        "a5,Wang,wang@example.cn,,zh-CN,CN,1990-01-01,,,,,,,app,contact,,",
    ];
    let content = json!({"default_locale": "en", "locales": {"en": text("Photos were exposed."), "zh-CN": text("照片被泄露。")}});
    let (id, plan) = planned(&app, &t, &rows, content).await;
    let fallbacks = plan["locale_fallbacks"].as_array().unwrap();
    let find = |wanted: &str| fallbacks.iter().find(|f| f["wanted"] == wanted).cloned();
    assert_eq!(find("ko").unwrap()["used"], "en", "{plan}");
    assert_eq!(find("de").unwrap()["kind"], "language", "{plan}");
    let tw = find("zh-TW").unwrap();
    assert_eq!(
        (
            tw["used"].as_str(),
            tw["count"].as_u64(),
            tw["kind"].as_str()
        ),
        (Some("zh-CN"), Some(2), Some("script")),
        "{plan}"
    );
    assert!(
        find("zh-CN").is_none(),
        "no downgrade for Simplified readers: {plan}"
    );
    let chen = preview(&app, &t, &id, "a3", "email").await;
    assert_eq!(
        (chen["wanted_locale"].as_str(), chen["locale"].as_str()),
        (Some("zh-TW"), Some("zh-CN"))
    );
    assert!(chen["warnings"].to_string().contains("script"), "{chen}");
    let d = create_dispatch(&app, &t, &id).await;
    assert!(d["warnings"].to_string().contains("zh-TW"), "{d}");
    let (status, approved) = approve(&app, &t, &id, d["id"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(
        approved["warnings"].to_string().contains("script"),
        "approval shows it: {approved}"
    );
}

/// Item 7 (Renji): held messages are counted per channel; a removed window releases
/// them at once; an approver can send them now, audited.
#[tokio::test]
async fn send_windows_are_visible_changeable_and_releasable() {
    let app = spawn_app().await;
    let t = app.tenant("renji");
    // A window that is closed now, for SMS only.
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let clock = |h: i64| {
        (now + chrono::Duration::hours(h))
            .format("%H:00")
            .to_string()
    };
    let window = json!({"start": clock(2), "end": clock(3), "time_zone": "Asia/Shanghai", "channels": ["sms"]});
    notices(
        &app,
        &t,
        json!({"channels": ["sms", "phone"], "send_window": window}),
    )
    .await;
    let rows = [
        "r1,Zhang San,,+8613800000001,zh-CN,CN,1990-01-01,,,,,,,app,contact,,",
        "r2,Li Si,,+8613800000002,zh-CN,CN,1990-01-01,,,,,,,app,contact,,",
    ];
    let content =
        json!({"default_locale": "zh-CN", "locales": {"zh-CN": text("身份信息被泄露。")}});
    let (id, _) = planned(&app, &t, &rows, content).await;
    let d = create_dispatch(&app, &t, &id).await;
    let d = d["id"].as_str().unwrap().to_owned();
    assert_eq!(approve(&app, &t, &id, &d).await.0, 200);
    let w = worker(&app, &[]);
    drain(&w).await;
    let path = format!("/api/v1/incidents/{id}/dispatches/{d}");
    let (_, p) = app.get(&t.viewer, &path).await;
    assert_eq!(p["held"]["by_channel"]["sms"], 2, "{p}");
    assert_eq!(p["by_channel"]["sms"]["held"], 2, "{p}");
    let instant = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!(instant(&p["eta_at"]) >= instant(&p["held"]["until"]), "{p}");

    // Removing the window releases them at once.
    notices(&app, &t, json!({"channels": ["sms", "phone"]})).await;
    drain(&w).await;
    let (_, p) = app.get(&t.viewer, &path).await;
    assert_eq!(
        (
            p["held"]["total"].as_i64(),
            p["counts"]["handed_off"].as_i64()
        ),
        (Some(0), Some(2)),
        "{p}"
    );

    // A second dispatch under a closed window: only an approver may send now.
    notices(
        &app,
        &t,
        json!({"channels": ["sms", "phone"], "send_window": window}),
    )
    .await;
    app.post(
        &t.responder,
        &format!("/api/v1/incidents/{id}/plan"),
        &json!({}),
    )
    .await;
    let second = create_dispatch(&app, &t, &id).await;
    let second = second["id"].as_str().unwrap().to_owned();
    assert_eq!(approve(&app, &t, &id, &second).await.0, 200);
    drain(&w).await;
    let release = format!("/api/v1/incidents/{id}/dispatches/{second}/release-held");
    let (status, _) = app
        .post(&t.responder, &release, &json!({"channel": "sms"}))
        .await;
    assert_eq!(status, 403);
    // A body that is not `{"channel"?}` is refused, never read as "release all"
    // (#16 item 12: schemathesis found such bodies accepted).
    for bad in [
        json!({"channel": 5}),
        json!({"chanel": "sms"}),
        json!(["sms"]),
    ] {
        let (status, problem) = app.post(&t.approver, &release, &bad).await;
        assert!(matches!(status, 400 | 422), "{bad}: {status} {problem}");
    }
    let (status, released) = app
        .post(&t.approver, &release, &json!({"channel": "sms"}))
        .await;
    assert_eq!(
        (status, released["released"].as_i64()),
        (200, Some(2)),
        "{released}"
    );
    drain(&w).await;
    let (_, p) = app
        .get(
            &t.viewer,
            &format!("/api/v1/incidents/{id}/dispatches/{second}"),
        )
        .await;
    assert_eq!(p["counts"]["handed_off"], 2, "{p}");
    let (_, audit) = app.get(&t.admin, "/api/v1/audit?limit=200").await;
    assert!(
        audit.to_string().contains("dispatch.release_held"),
        "{audit}"
    );
}

/// Plans `rows` with a Chinese notice, has the dispatch approved by a second person
/// and sent once through a real SMTP server: (incident, dispatch, server, worker).
async fn first_round(
    app: &TestApp,
    t: &TestTenant,
    rows: &[&str],
) -> (
    String,
    String,
    SmtpPeer,
    breachline::dispatch::worker::Worker,
) {
    let content =
        json!({"default_locale": "zh-CN", "locales": {"zh-CN": text("在留卡图像被泄露。")}});
    let (id, _) = planned(app, t, rows, content).await;
    let d = create_dispatch(app, t, &id).await;
    let d = d["id"].as_str().unwrap().to_owned();
    assert_eq!(approve(app, t, &id, &d).await.0, 200);
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let url = smtp.url("");
    let w = worker(app, &[("BREACHLINE_SMTP_URL", &url)]);
    drain(&w).await;
    (id, d, smtp, w)
}

/// A provider's outcomes posted as CSV by the responder: the status.
async fn post_csv(app: &TestApp, t: &TestTenant, path: &str, csv: String) -> u16 {
    app.client
        .post(app.url(path))
        .bearer_auth(&t.responder)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Item 8: a failed call falls back to the next channel, like any receipt; a
/// report naming an unknown message changes nothing.
#[tokio::test]
async fn call_centre_outcomes_drive_the_next_channel() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    notices(&app, &t, json!({"channels": ["phone", "email"]})).await;
    let rows =
        ["j1,Wang Fang,fang@example.jp,+819011112222,zh-CN,JP,1990-01-01,,,,,,,app,contact,,"];
    let (id, d, smtp, w) = first_round(&app, &t, &rows).await;
    assert!(smtp.received().is_empty(), "a call first");
    let list =
        std::fs::read_to_string(app.test_db.dir.path().join(format!("outbox/phone/{d}.csv")))
            .unwrap();
    let message_id = list
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();

    let bad = json!({"outcomes": [{"message_id": message_id, "outcome": "no_answer"}, {"message_id": "<nope@breachline>", "outcome": "reached"}]});
    let (status, problem) = app
        .post(&t.responder, "/api/v1/receipts/phone/callcentre", &bad)
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(fields(&problem), ["outcomes[1].message_id"]);
    drain(&w).await;
    assert!(smtp.received().is_empty(), "nothing applied");

    let csv = format!("message_id,outcome,detail\n{message_id},no_answer,rang 10 times\n");
    let status = post_csv(&app, &t, "/api/v1/receipts/phone/callcentre", csv).await;
    assert_eq!(status, 200);
    drain(&w).await;
    assert_eq!(smtp.received().len(), 1, "no answer: the e-mail goes");
    let (_, p) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/dispatches/{d}"))
        .await;
    assert_eq!(p["status"], "completed", "{p}");
    let other = app.tenant("other");
    let stolen = json!({"outcomes": [{"message_id": message_id, "outcome": "reached"}]});
    let (status, _) = app
        .post(
            &other.responder,
            "/api/v1/receipts/phone/callcentre",
            &stolen,
        )
        .await;
    assert_eq!(status, 422, "another tenant's message is not found");
}

/// Item 8, letters: what the print provider reports drives the next channel too.
#[tokio::test]
async fn print_outcomes_drive_the_next_channel() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    notices(&app, &t, json!({"channels": ["letter", "email"]})).await;
    let rows = [
        "l1,Li Na,na@example.jp,,zh-CN,JP,1990-01-01,,,,,1-1 Chiyoda Tokyo,,app,contact,,",
        "l2,Sato Ken,ken@example.jp,,zh-CN,JP,1990-01-01,,,,,2-2 Minato Tokyo,,app,contact,,",
    ];
    let (id, d, smtp, w) = first_round(&app, &t, &rows).await;
    assert!(smtp.received().is_empty(), "letters first");
    let manifest = std::fs::read_to_string(
        app.test_db
            .dir
            .path()
            .join(format!("outbox/letter/{d}/manifest.csv")),
    )
    .unwrap();
    let message_of = |name: &str| {
        manifest
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} in {manifest}"))
            .split(',')
            .next()
            .unwrap()
            .to_owned()
    };
    let (returned, delivered) = (message_of("Li Na"), message_of("Sato Ken"));

    let csv = format!(
        "message_id,outcome,detail\n{returned},returned_to_sender,moved away\n{delivered},delivered,\n"
    );
    let status = post_csv(&app, &t, "/api/v1/receipts/letter/print", csv).await;
    assert_eq!(status, 200);
    drain(&w).await;
    let mail = smtp.received();
    assert_eq!(mail.len(), 1, "only the returned letter falls back");
    assert_eq!(mail[0].rcpt_to, ["na@example.jp"]);
    let (_, p) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/dispatches/{d}"))
        .await;
    assert_eq!(p["status"], "completed", "{p}");
    assert_eq!(p["people"]["delivered"], 1, "{p}");
}

/// Item 10: dispatches can be listed, and one awaiting approval cancelled (audited).
#[tokio::test]
async fn dispatches_are_listed_and_a_stale_one_cancelled() {
    let app = spawn_app().await;
    let t = app.tenant("cybozu");
    let rows = ["y1,Zhou,zhou@example.cn,,zh-CN,CN,1990-01-01,,,,,,,app,contact,,"];
    let content =
        json!({"default_locale": "zh-CN", "locales": {"zh-CN": text("群组数据被访问。")}});
    let (id, _) = planned(&app, &t, &rows, content).await;
    let first = create_dispatch(&app, &t, &id).await;
    let second = create_dispatch(&app, &t, &id).await;
    let (status, list) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/dispatches"))
        .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            second["id"].as_str().unwrap(),
            first["id"].as_str().unwrap()
        ],
        "newest first"
    );
    let cancel = format!(
        "/api/v1/incidents/{id}/dispatches/{}/cancel",
        first["id"].as_str().unwrap()
    );
    let (status, _) = app.post(&t.viewer, &cancel, &json!({})).await;
    assert_eq!(status, 403);
    let (status, cancelled) = app.post(&t.responder, &cancel, &json!({})).await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled")),
        "{cancelled}"
    );
    let (status, _) = approve(&app, &t, &id, first["id"].as_str().unwrap()).await;
    assert_eq!(status, 409, "a cancelled dispatch cannot be approved");
    let second_id = second["id"].as_str().unwrap();
    assert_eq!(approve(&app, &t, &id, second_id).await.0, 200);
    let cancel = format!("/api/v1/incidents/{id}/dispatches/{second_id}/cancel");
    let (status, problem) = app.post(&t.responder, &cancel, &json!({})).await;
    assert_eq!(status, 409, "{problem}");
    let (_, audit) = app.get(&t.admin, "/api/v1/audit?limit=200").await;
    assert!(audit.to_string().contains("dispatch.cancel"), "{audit}");
}

/// Item 13: control characters, lengths over the limit as sent, and clocks decades
/// off are refused, each naming its field; nothing is stored.
#[tokio::test]
async fn loose_incident_input_is_refused_at_the_field() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let cases = [
        (
            json!({"title": "Breach\r\nFAKE LOG LINE", "discovered_at": "2026-11-20T00:00:00Z"}),
            "title",
        ),
        (
            json!({"title": "Bell \u{7}", "discovered_at": "2026-11-20T00:00:00Z"}),
            "title",
        ),
        (
            json!({"title": "é".repeat(201), "discovered_at": "2026-11-20T00:00:00Z"}),
            "title",
        ),
        (
            json!({"title": format!(" {} ", "é".repeat(199)), "discovered_at": "2026-11-20T00:00:00Z"}),
            "title",
        ),
        (
            json!({"title": "Typo", "discovered_at": "0110-11-20T00:00:00Z"}),
            "discovered_at",
        ),
        (
            json!({"title": "Typo", "discovered_at": "2099-11-20T00:00:00Z"}),
            "discovered_at",
        ),
        (
            json!({"title": "Escape", "discovered_at": "2026-11-20T00:00:00Z", "description": "a\u{1b}[31m"}),
            "description",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = app.post(&t.responder, "/api/v1/incidents", &body).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(
            crate::helpers::rejected_fields(&problem),
            [field],
            "{problem}"
        );
    }
    let (_, list) = app.get(&t.responder, "/api/v1/incidents").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
    let ok = json!({"title": "é".repeat(200), "discovered_at": "2026-11-20T00:00:00+09:00",
                    "description": "Line one\r\n\tLine two"});
    let (status, body) = app.post(&t.responder, "/api/v1/incidents", &ok).await;
    assert_eq!(status, 201, "{body}");
    // Notice text keeps its paragraphs; other control characters are refused there too.
    let path = format!(
        "/api/v1/incidents/{}/notice-content",
        body["id"].as_str().unwrap()
    );
    let paragraphs = crate::dispatch::content("First paragraph.\n\nSecond paragraph.");
    assert_eq!(put(&app, &t.responder, &path, &paragraphs).await, 200);
    let escape = crate::dispatch::content("Call us \u{1b}[31m now");
    assert_eq!(put(&app, &t.responder, &path, &escape).await, 422);
}

/// Item 12: what the document says a field takes is what the server takes. Each
/// case was found by schemathesis against the served document.
#[tokio::test]
async fn the_server_takes_exactly_what_the_document_says() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let (status, body) = crate::subjects::import_csv_with(
        &app,
        &t.responder,
        &header(),
        &["S-1,Sato Aiko,aiko@example.jp,,ja,JP,,,,,,,,crm,contact,,"],
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A system filter is a system name: never empty, no separators or control characters.
    for filter in ["", "a%7Cb", "%07"] {
        let (status, problem) = app
            .get(&t.viewer, &format!("/api/v1/subjects?system={filter}"))
            .await;
        assert_eq!(status, 422, "system={filter}: {problem}");
        assert_eq!(crate::helpers::rejected_fields(&problem), ["system"]);
    }

    // In JSON, null clears a subject's field; an empty string is refused, not read as null.
    let (status, problem) = app
        .patch(&t.responder, "/api/v1/subjects/S-1", &json!({"email": ""}))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(crate::helpers::rejected_fields(&problem), ["email"]);
    let (status, subject) = app
        .patch(
            &t.responder,
            "/api/v1/subjects/S-1",
            &json!({"email": null}),
        )
        .await;
    assert_eq!((status, subject["email"].clone()), (200, Value::Null));

    // null lists in the profile read back as empty lists, as documented (never null).
    let profile = json!({"closures": null, "commitments": null, "establishments": ["JP"]});
    assert_eq!(
        put(&app, &t.admin, "/api/v1/tenant/profile", &profile).await,
        200
    );
    let (status, tenant) = app.get(&t.viewer, "/api/v1/tenant").await;
    assert_eq!(status, 200, "{tenant}");
    let shown = &tenant["tenant"]["profile"];
    assert_eq!(
        (shown["closures"].clone(), shown["commitments"].clone()),
        (json!([]), json!([])),
        "{shown}"
    );
}
