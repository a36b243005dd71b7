//! Regulator reports through the API: generation after a real dispatch over SMTP
//! (the proof of notification equals the dispatch progress and the ledger), the
//! team's answers, APPI's phased preliminary report and its final report, the PDF
//! read back with `pdftotext`, diffs, submission meeting the obligation, the
//! regulator portal (shared, not shared, revoked, expired, audited), regulator
//! tokens, roles and tenant isolation.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::channels::{SmtpPeer, SmtpState};
use crate::dispatch::{PEOPLE, approved_dispatch, drain, planned_incident, worker};
use crate::helpers::{TestApp, TestTenant, hours_ago, rejected_fields, spawn_app};

/// Runs `pdftotext` on `pdf`; `None` where it is not installed, unless
/// `BREACHLINE_REQUIRE_TOOLS=1` (set by `.ci/run`) makes that a failure.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    match std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) => {
            let required = std::env::var("BREACHLINE_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "pdftotext is required (BREACHLINE_REQUIRE_TOOLS=1): {e}"
            );
            eprintln!("SKIPPED: pdftotext not installed (apt-get install poppler-utils): {e}");
            None
        }
    }
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

async fn get_raw(app: &TestApp, token: Option<&str>, path: &str) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

/// An incident with six people, notices sent by e-mail through a real SMTP server.
async fn dispatched_incident(app: &TestApp, t: &TestTenant) -> (String, String) {
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let id = planned_incident(app, t, &PEOPLE, "12 months of credit monitoring").await;
    let dispatch = approved_dispatch(app, t, &id).await;
    let url = smtp.url("");
    drain(&worker(app, &[("BREACHLINE_SMTP_URL", &url)])).await;
    assert!(!smtp.received().is_empty(), "notices went out over SMTP");
    (id, dispatch)
}

async fn generate(app: &TestApp, token: &str, incident: &str, regime: &str, phase: &str) -> Value {
    let (status, report) = app
        .post(
            token,
            &format!("/api/v1/incidents/{incident}/reports"),
            &json!({"regime": regime, "phase": phase}),
        )
        .await;
    assert_eq!(status, 201, "{report}");
    report
}

fn item<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no item {key} in {report}"))
}

fn missing(report: &Value) -> Vec<String> {
    report["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn proof_of_notification_equals_the_ledger_after_a_real_dispatch() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let (id, dispatch) = dispatched_incident(&app, &t).await;
    let report = generate(&app, &t.responder, &id, "appi", "preliminary").await;

    // The dispatch progress, by channel and status.
    let (_, progress) = app
        .get(
            &t.responder,
            &format!("/api/v1/incidents/{id}/dispatches/{dispatch}"),
        )
        .await;
    let proof = &report["proof"];
    for (channel, counts) in progress["by_channel"].as_object().unwrap() {
        for status in [
            "queued",
            "sending",
            "sent",
            "delivered",
            "handed_off",
            "failed",
            "bounced",
        ] {
            assert_eq!(
                proof["by_channel"][channel][status].as_i64().unwrap_or(0),
                counts[status].as_i64().unwrap_or(0),
                "{channel} {status}: {proof} vs {progress}"
            );
        }
    }
    assert_eq!(
        proof["unreachable"], progress["counts"]["unreachable"],
        "{proof}"
    );
    let notified: i64 = ["sent", "delivered", "handed_off"]
        .iter()
        .map(|s| progress["people"][s].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(proof["people_notified"], notified);
    assert!(notified >= 4, "{progress}");

    // The ledger: the first and last notice that left.
    let csv = get_raw(
        &app,
        Some(&t.responder),
        &format!("/api/v1/incidents/{id}/dispatches/{dispatch}/ledger"),
    )
    .await
    .text()
    .await
    .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (at, result) = (
        header.iter().position(|h| *h == "at").unwrap(),
        header.iter().position(|h| *h == "result").unwrap(),
    );
    let mut sent_at: Vec<String> = lines
        .map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
        .filter(|f| {
            f.get(result)
                .is_some_and(|r| r == "sent" || r == "handed_off")
        })
        .map(|f| f[at].clone())
        .collect();
    sent_at.sort();
    let instant = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap())
            .unwrap()
            .timestamp_micros()
    };
    assert_eq!(
        instant(&proof["first_sent_at"]),
        instant(&json!(sent_at.first().unwrap()))
    );
    assert_eq!(
        instant(&proof["last_sent_at"]),
        instant(&json!(sent_at.last().unwrap()))
    );

    // The approval of what was sent, and a sample copy without personal data.
    assert_eq!(proof["approvals"][0]["who"], "acme-approver", "{proof}");
    assert_eq!(
        proof["approvals"][0]["content_hash"],
        progress["content_hash"]
    );
    let (_, ca) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{id}/reports"),
            &json!({"regime": "us-ca", "phase": "notice"}),
        )
        .await;
    let sample = item(&ca, "sample_notice");
    assert_eq!(sample["source"], "notice", "{sample}");
    let text = sample["value"].to_string();
    assert!(text.contains("12 months of credit monitoring"), "{text}");
    for person in ["Sato Aiko", "aiko@example.jp", "Ivan Petrov"] {
        assert!(
            !text.contains(person),
            "no personal data in the sample: {text}"
        );
    }
    // The affected set's count is the report's, never typed.
    assert_eq!(item(&report, "people")["value"], 6, "{report}");
    assert_eq!(item(&report, "people")["source"], "affected");
    assert_eq!(
        item(&report, "people_by_data_item")["value"]["contact"],
        6,
        "counted per exposed category: {report}"
    );
}

#[tokio::test]
async fn appi_preliminary_with_unknowns_then_final_is_filed_and_meets_its_obligations() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let (id, _) = dispatched_incident(&app, &t).await;
    let (_, obligations) = app
        .get(&t.responder, &format!("/api/v1/incidents/{id}/obligations"))
        .await;
    let appi: Vec<&Value> = obligations["obligations"]
        .as_array()
        .unwrap_or_else(|| panic!("{obligations}"))
        .iter()
        .filter(|o| o["regime"] == "appi" && o["recipient"] == "regulator")
        .collect();
    assert_eq!(appi.len(), 2, "preliminary and final: {obligations}");

    let v1 = generate(&app, &t.responder, &id, "appi", "preliminary").await;
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["phase"], "preliminary");
    assert_eq!(v1["submitted"], Value::Null);
    assert_eq!(item(&v1, "cause")["number"], "8(1)(iv)");
    assert_eq!(item(&v1, "cause")["label"], "原因");
    let still = missing(&v1);
    for key in [
        "secondary_damage",
        "response_to_individuals",
        "public_announcement",
        "prevention",
    ] {
        assert!(still.contains(&key.to_owned()), "{key} missing: {still:?}");
    }
    // Filing with items missing is refused, naming each.
    let submit =
        json!({"submitted_at": hours_ago(2), "channel": "portal", "reference": "PPC-2027-0001"});
    let (status, problem) = app
        .post(
            &t.responder,
            &format!(
                "/api/v1/incidents/{id}/reports/{}/submit",
                v1["id"].as_str().unwrap()
            ),
            &submit,
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        rejected_fields(&problem).contains(&"items.secondary_damage".to_owned()),
        "{problem}"
    );

    // The team answers what it knows; the rest is "not yet known" (速報 allows it).
    let later = json!({"not_yet_known": {"reason": "調査中", "follow_up_on": "2027-03-20"}});
    let (status, answers) = app
        .patch(
            &t.responder,
            &format!("/api/v1/incidents/{id}/reports/answers"),
            &json!({
                "regime": "appi",
                "answers": {
                    "secondary_damage": later, "prevention": later, "occurred_at": later,
                "overview": "不正アクセスにより顧客の連絡先が漏えいしたおそれがある。",
                    "response_to_individuals": "本人へ電子メールで通知した。",
                    "public_announcement": "公表は予定していない。"
                }
            }),
        )
        .await;
    assert_eq!(status, 200, "{answers}");
    assert_eq!(
        answers["answers"]["public_announcement"]["value"],
        "公表は予定していない。"
    );
    let v2 = generate(&app, &t.responder, &id, "appi", "preliminary").await;
    assert_eq!(v2["version"], 2);
    assert!(missing(&v2).is_empty(), "{}", v2["missing"]);
    assert_eq!(
        item(&v2, "secondary_damage")["not_yet_known"]["reason"],
        "調査中"
    );
    let (status, diff) = app
        .get(
            &t.viewer,
            &format!(
                "/api/v1/incidents/{id}/reports/{}/diff?against={}",
                v2["id"].as_str().unwrap(),
                v1["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(status, 200, "{diff}");
    let resolved: Vec<&str> = diff["resolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(resolved.contains(&"public_announcement"), "{diff}");

    let (status, filed) = app
        .post(
            &t.responder,
            &format!(
                "/api/v1/incidents/{id}/reports/{}/submit",
                v2["id"].as_str().unwrap()
            ),
            &submit,
        )
        .await;
    assert_eq!(status, 200, "{filed}");
    assert_eq!(filed["submitted"]["reference"], "PPC-2027-0001");
    assert_eq!(filed["submitted"]["channel"], "portal");
    assert_eq!(filed["obligation"]["status"], "met", "{filed}");
    assert!(
        filed["obligation"]["evidence"]
            .as_str()
            .unwrap()
            .contains("PPC-2027-0001")
    );
    let (status, _) = app
        .post(
            &t.responder,
            &format!(
                "/api/v1/incidents/{id}/reports/{}/submit",
                v2["id"].as_str().unwrap()
            ),
            &submit,
        )
        .await;
    assert_eq!(status, 409, "a version is filed once");

    // The final report (確報) allows nothing "not yet known".
    let f1 = generate(&app, &t.responder, &id, "appi", "final").await;
    assert_eq!(f1["version"], 1);
    assert_eq!(
        missing(&f1),
        ["occurred_at", "secondary_damage", "prevention"],
        "{}",
        f1["missing"]
    );
    app.patch(&t.responder, &format!("/api/v1/incidents/{id}/reports/answers"), &json!({
        "regime": "appi",
        "answers": {"occurred_at": "2027年2月27日頃", "secondary_damage": "二次被害は確認されていない。", "prevention": "多要素認証を導入した。"}
    }))
    .await;
    let f2 = generate(&app, &t.responder, &id, "appi", "final").await;
    assert!(missing(&f2).is_empty(), "{}", f2["missing"]);
    let (status, filed) = app
        .post(&t.approver, &format!("/api/v1/incidents/{id}/reports/{}/submit", f2["id"].as_str().unwrap()),
            &json!({"submitted_at": hours_ago(1), "channel": "email", "reference": "PPC-2027-0002"}))
        .await;
    assert_eq!(status, 200, "{filed}");
    let (_, obligations) = app
        .get(&t.responder, &format!("/api/v1/incidents/{id}/obligations"))
        .await;
    for o in obligations["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["regime"] == "appi" && o["recipient"] == "regulator")
    {
        assert_eq!(o["status"], "met", "{o}");
    }

    // Listing, HTML and PDF of the filed final report.
    let (_, list) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/reports"))
        .await;
    let lines: Vec<(String, i64, bool)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["phase"].as_str().unwrap().to_owned(),
                i["version"].as_i64().unwrap(),
                !i["submitted"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("final".into(), 1, false),
            ("final".into(), 2, true),
            ("preliminary".into(), 1, false),
            ("preliminary".into(), 2, true)
        ]
    );
    let f2_id = f2["id"].as_str().unwrap();
    let html = get_raw(
        &app,
        Some(&t.viewer),
        &format!("/api/v1/incidents/{id}/reports/{f2_id}.html"),
    )
    .await;
    assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
    let html = html.text().await.unwrap();
    assert!(
        html.contains("二次被害又はそのおそれの有無及びその内容"),
        "{html}"
    );
    let pdf = app
        .client
        .get(app.url(&format!("/api/v1/incidents/{id}/reports/{f2_id}")))
        .bearer_auth(&t.viewer)
        .header("Accept", "application/pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let pdf = pdf.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(text) = pdftotext(&pdf) {
        let flat = squeeze(&text);
        for expected in [
            "概要",
            "漏えい等が発生し又は発生したおそれがある個人データの項目",
            "本人への対応の実施状況",
            "多要素認証を導入した。",
            "二次被害は確認されていない。",
        ] {
            assert!(
                flat.contains(&squeeze(expected)),
                "{expected} not in:\n{text}"
            );
        }
        assert!(
            flat.contains(&f2["sha256"].as_str().unwrap()[..8]),
            "version hash in the header: {text}"
        );
    }

    let (_, audit) = app.get(&t.admin, "/api/v1/audit?limit=200").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("report."))
        .collect();
    assert_eq!(
        actions,
        [
            "report.generate",
            "report.answers",
            "report.generate",
            "report.submit",
            "report.generate",
            "report.answers",
            "report.generate",
            "report.submit"
        ]
    );
}

#[tokio::test]
async fn chinese_report_pdf_has_the_regulators_labels() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = app.incident(&t.responder).await;
    let report = generate(&app, &t.responder, &id, "pipl", "notice").await;
    assert_eq!(
        item(&report, "contact")["label"],
        "个人信息处理者的联系方式"
    );
    let pdf = get_raw(
        &app,
        Some(&t.responder),
        &format!(
            "/api/v1/incidents/{id}/reports/{}.pdf",
            report["id"].as_str().unwrap()
        ),
    )
    .await
    .bytes()
    .await
    .unwrap();
    if let Some(text) = pdftotext(&pdf) {
        let flat = squeeze(&text);
        for label in [
            "发生或者可能发生个人信息泄露、篡改、丢失的信息种类",
            "个人信息处理者的联系方式",
            "个人可以采取的减轻危害的措施",
        ] {
            assert!(flat.contains(&squeeze(label)), "{label} not in:\n{text}");
        }
    }
}

async fn share(app: &TestApp, token: &str, path: &str, expires_at: &str) -> (u16, Value) {
    app.post(
        token,
        path,
        &json!({"regulator": "PPC", "expires_at": expires_at}),
    )
    .await
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339()
}

#[tokio::test]
async fn the_portal_shows_only_what_was_shared_until_revoked_or_expired() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let other = app.tenant("other");
    let id = app.incident(&t.responder).await;
    let second = app.incident(&t.responder).await;
    let appi = generate(&app, &t.responder, &id, "appi", "preliminary").await;
    let gdpr = generate(&app, &t.responder, &id, "gdpr", "initial").await;
    let elsewhere = generate(&app, &t.responder, &second, "appi", "preliminary").await;
    let appi_id = appi["id"].as_str().unwrap();
    let share_path = format!("/api/v1/incidents/{id}/reports/{appi_id}/shares");

    // Only an admin shares.
    for token in [&t.responder, &t.approver, &t.viewer, &t.regulator] {
        let (status, _) = share(&app, token, &share_path, &in_days(30)).await;
        assert_eq!(status, 403);
    }
    let (status, problem) = share(&app, &t.admin, &share_path, "2020-01-01T00:00:00Z").await;
    assert_eq!(status, 422);
    assert_eq!(rejected_fields(&problem), ["expires_at"]);
    let (status, link) = share(&app, &t.admin, &share_path, &in_days(30)).await;
    assert_eq!(status, 201, "{link}");
    let url = link["url"].as_str().unwrap();
    let token = link["token"].as_str().unwrap();
    assert!(url.ends_with(&format!("/r/{token}")), "{url}");
    let portal = format!("/r/{token}");

    // The index and the shared report, in each format.
    let index = get_raw(&app, None, &portal).await;
    assert_eq!(index.status(), 200);
    let page = index.text().await.unwrap();
    assert!(
        page.contains(appi_id) && !page.contains(gdpr["id"].as_str().unwrap()),
        "{page}"
    );
    let (status, listed) = crate::helpers::read(
        app.client
            .get(app.url(&portal))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let (status, json) = crate::helpers::read(
        get_raw(&app, None, &format!("{portal}/reports/{appi_id}.json")).await,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["regime"], "appi");
    assert_eq!(json["sha256"], appi["sha256"]);
    for suffix in ["html", "pdf"] {
        let resp = get_raw(&app, None, &format!("{portal}/reports/{appi_id}.{suffix}")).await;
        assert_eq!(resp.status(), 200, "{suffix}");
    }
    // Anything else is not found: another report, another incident's, the API.
    for path in [
        format!("{portal}/reports/{}.json", gdpr["id"].as_str().unwrap()),
        format!(
            "{portal}/reports/{}.json",
            elsewhere["id"].as_str().unwrap()
        ),
        format!("/r/{}", "0".repeat(64)),
    ] {
        let (status, _) = crate::helpers::read(get_raw(&app, None, &path).await).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = crate::helpers::read(
        get_raw(
            &app,
            Some(token),
            &format!("/api/v1/incidents/{id}/affected"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 401, "a link token is not an API token");

    // Regulator tokens follow the same rule: only shared reports.
    let (_, list) = app
        .get(&t.regulator, &format!("/api/v1/incidents/{id}/reports"))
        .await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [appi_id]);
    let (status, _) = app
        .get(
            &t.regulator,
            &format!(
                "/api/v1/incidents/{id}/reports/{}",
                gdpr["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .get(
            &t.regulator,
            &format!("/api/v1/incidents/{id}/reports/{appi_id}"),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .post(
            &t.regulator,
            &format!("/api/v1/incidents/{id}/reports"),
            &json!({"regime": "appi", "phase": "final"}),
        )
        .await;
    assert_eq!(status, 403);
    // Nothing else of the incident, the tenant or its people: refused before any
    // handler, so a route added later cannot forget it.
    for path in [
        "/api/v1/incidents".to_owned(),
        format!("/api/v1/incidents/{id}"),
        format!("/api/v1/incidents/{second}"),
        format!("/api/v1/incidents/{id}/timeline"),
        format!("/api/v1/incidents/{id}/obligations"),
        format!("/api/v1/incidents/{id}/notice-content"),
        format!("/api/v1/incidents/{id}/bulletins"),
        format!("/api/v1/incidents/{id}/dispatches"),
        format!("/api/v1/incidents/{id}/substitute-notice"),
        format!("/api/v1/incidents/{id}/scope"),
        format!("/api/v1/incidents/{id}/affected/summary"),
        format!("/api/v1/incidents/{id}/reports/answers"),
        format!("/api/v1/incidents/{id}/reports/shares"),
        "/api/v1/tenant".to_owned(),
    ] {
        let (status, problem) = app.get(&t.regulator, &path).await;
        assert_eq!(status, 403, "{path}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("only the reports shared"),
            "{path}: {problem}"
        );
    }

    // Views are counted and audited; other tenants see nothing.
    let (_, shares) = app
        .get(&t.admin, &format!("/api/v1/incidents/{id}/reports/shares"))
        .await;
    assert!(
        shares["items"][0]["views"].as_i64().unwrap() >= 5,
        "{shares}"
    );
    assert!(shares["items"][0].get("token").is_none());
    let (status, _) = app
        .get(
            &other.admin,
            &format!("/api/v1/incidents/{id}/reports/shares"),
        )
        .await;
    assert_eq!(status, 404);
    let (_, audit) = app.get(&t.admin, "/api/v1/audit?limit=200").await;
    let views: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "report.portal_view")
        .collect();
    assert!(views.len() >= 5, "{audit}");
    assert!(
        views
            .iter()
            .all(|v| v["actor"].as_str().unwrap().ends_with(":PPC"))
    );
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "report.view"
                && e["actor"].as_str().unwrap().contains("acme-regulator"))
    );

    // Revoked: refused.
    let (status, revoked) = app
        .post(
            &t.admin,
            &format!(
                "/api/v1/incidents/{id}/reports/shares/{}/revoke",
                link["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["live"], false);
    let (status, problem) = crate::helpers::read(
        get_raw(&app, None, &format!("{portal}/reports/{appi_id}.json")).await,
    )
    .await;
    assert_eq!(status, 401, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("revoked"));
    let (_, list) = app
        .get(&t.regulator, &format!("/api/v1/incidents/{id}/reports"))
        .await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");

    // An incident-wide link shows every report of that incident only, until it expires.
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let (status, wide) = share(
        &app,
        &t.admin,
        &format!("/api/v1/incidents/{id}/reports/shares"),
        &soon,
    )
    .await;
    assert_eq!(status, 201, "{wide}");
    let portal = format!("/r/{}", wide["token"].as_str().unwrap());
    let (_, listed) = crate::helpers::read(
        app.client
            .get(app.url(&portal))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut regimes: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["regime"].as_str().unwrap())
        .collect();
    regimes.sort();
    assert_eq!(regimes, ["appi", "gdpr"]);
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let (status, problem) = crate::helpers::read(get_raw(&app, None, &portal).await).await;
    assert_eq!(status, 401, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn roles_validation_and_tenant_isolation() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let other = app.tenant("other");
    let id = app.incident(&t.responder).await;
    let path = format!("/api/v1/incidents/{id}/reports");

    let (status, _) = app
        .post(
            &t.viewer,
            &path,
            &json!({"regime": "appi", "phase": "preliminary"}),
        )
        .await;
    assert_eq!(status, 403);
    let cases: BTreeMap<&str, (Value, &str)> = BTreeMap::from([
        (
            "unknown regime",
            (json!({"regime": "xx", "phase": "final"}), "regime"),
        ),
        (
            "unknown phase",
            (json!({"regime": "appi", "phase": "later"}), "phase"),
        ),
        (
            "phase the regime lacks",
            (json!({"regime": "appi", "phase": "initial"}), "phase"),
        ),
        ("no regime", (json!({"phase": "final"}), "regime")),
    ]);
    for (case, (body, field)) in cases {
        let (status, problem) = app.post(&t.responder, &path, &body).await;
        assert_eq!(status, 422, "{case}: {problem}");
        assert_eq!(rejected_fields(&problem), [field], "{case}: {problem}");
    }
    let (status, problem) = app
        .patch(&t.responder, &format!("{path}/answers"), &json!({"regime": "appi", "answers": {"nonsense": "x", "cause": {"not_yet_known": {"reason": " ", "follow_up_on": "2027-01-01"}}}}))
        .await;
    assert_eq!(status, 422, "{problem}");
    let mut fields = rejected_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        ["answers.cause.not_yet_known.reason", "answers.nonsense"]
    );

    let report = generate(&app, &t.responder, &id, "appi", "preliminary").await;
    let r = report["id"].as_str().unwrap();
    let (status, problem) = app
        .post(
            &t.responder,
            &format!("{path}/{r}/submit"),
            &json!({"channel": "fax", "reference": ""}),
        )
        .await;
    assert_eq!(status, 422);
    let mut fields = rejected_fields(&problem);
    fields.sort();
    assert_eq!(
        fields,
        ["channel", "reference", "submitted_at"],
        "{problem}"
    );
    let (status, _) = app
        .post(&t.viewer, &format!("{path}/{r}/submit"), &json!({}))
        .await;
    assert_eq!(status, 403);

    // Another tenant sees nothing of it.
    for suffix in ["", ".pdf", ".html"] {
        let (status, _) = crate::helpers::read(
            get_raw(&app, Some(&other.admin), &format!("{path}/{r}{suffix}")).await,
        )
        .await;
        assert_eq!(status, 404, "{suffix}");
    }
    let (status, _) = app.get(&other.admin, &path).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post(
            &other.admin,
            &path,
            &json!({"regime": "appi", "phase": "preliminary"}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post(
            &other.admin,
            &format!("{path}/{r}/shares"),
            &json!({"regulator": "PPC", "expires_at": in_days(1)}),
        )
        .await;
    assert_eq!(status, 404);
}

/// Versions of one report generated at the same moment are numbered one after the
/// other: on PostgreSQL two writers once read the same last number and the second
/// insert failed with a 500 (found by schemathesis against a PostgreSQL server).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_generated_at_once_get_consecutive_versions() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = app.incident(&t.responder).await;
    let path = format!("/api/v1/incidents/{id}/reports");
    let body = json!({"regime": "pipl", "phase": "notice"});
    let requests = (0..6).map(|_| app.post(&t.responder, &path, &body));
    let mut versions = Vec::new();
    for (status, report) in futures_util::future::join_all(requests).await {
        assert_eq!(status, 201, "{report}");
        versions.push(report["version"].as_i64().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6]);
}
