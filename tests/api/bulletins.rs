//! Substitute notice and bulletins against the real app and database: the
//! decision per regime, four eyes, the personal-data lint, withdrawal before the
//! posting period, public pages in each language, drafts and other tenants, the
//! Atom feed checked by an independent parser (Python feedparser), the media checklist.

use serde_json::{Value, json};

use crate::channels::{SmtpPeer, SmtpState, header};
use crate::dispatch::{approved_dispatch, drain, put, worker};
use crate::helpers::{TestApp, TestTenant, spawn_app};
use crate::subjects::import_csv;

const PEOPLE: [&str; 6] = [
    // external_id,name,email,phone,locale,jurisdiction,birth_date,guardian_name,guardian_email,guardian_phone,push_token,postal_address,preferred_channel,systems,data_categories
    "jp-1,Sato Aiko,aiko@example.jp,+819012345678,ja,JP,1990-04-01,,,,,,,app,contact;credentials",
    "jp-2,Tanaka Ken,,,ja,JP,1985-01-01,,,,,,,app,contact;credentials",
    "jp-3,Wang Fang,,,zh-CN,JP,1992-02-02,,,,,,,app,contact;credentials",
    "ca-1,Emma Stone,emma@example.com,,en,US-CA,1999-09-09,,,,,,,app,contact;credentials",
    "ca-2,John Doe,,,en,US-CA,1970-01-01,,,,,1 Main St,,app,contact;credentials",
    "ca-3,Nobody There,,,en,US-CA,1975-01-01,,,,,,,app,contact;credentials",
];

fn text(locale: &str, summary: &str) -> Value {
    json!({"title": format!("{locale}: Notice of data breach"), "summary": summary,
        "likely_impact": "Phishing e-mails may follow.", "measures_taken": "Passwords were reset.",
        "advice": "Change your password.", "remedies": "A support line is open.",
        "contact": {"name": "Privacy team", "email": "privacy@tenant.example", "url": "https://tenant.example/privacy"},
        "inquiry_desk": {"phone": "0120-000-111", "email": "desk@tenant.example", "hours": "9:00-18:00 JST"}})
}

fn bulletin(summary: &str) -> Value {
    json!({"default_locale": "en", "locales": {
        "en": text("en", summary),
        "ja": {"title": "個人情報漏えいに関するお知らせ", "summary": "不正アクセスによりアカウント情報が流出しました。", "likely_impact": "フィッシングメールのおそれ",
            "measures_taken": "パスワードを初期化しました。", "advice": "パスワードを変更してください。", "remedies": "専用窓口を設けました。",
            "contact": {"email": "privacy@tenant.example"}, "inquiry_desk": {"phone": "0120-000-111"}},
        "zh-CN": {"title": "关于个人信息泄露事件的公告", "summary": "攻击者复制了账户数据。", "likely_impact": "可能收到钓鱼邮件。",
            "measures_taken": "已重置密码。", "advice": "请修改密码。", "remedies": "已开通咨询热线。", "contact": {"email": "privacy@tenant.example"}},
        "ru": {"title": "Уведомление об утечке данных", "summary": "Злоумышленник скопировал данные учётных записей.", "likely_impact": "Возможны фишинговые письма.",
            "measures_taken": "Пароли сброшены.", "advice": "Смените пароль.", "remedies": "Открыта горячая линия.", "contact": {"email": "privacy@tenant.example"}}
    }})
}

/// People imported, an incident (malicious, credentials) scoped and planned; returns its id.
async fn incident(app: &TestApp, t: &TestTenant) -> String {
    incident_with(app, t, &PEOPLE).await
}

/// The same with other people.
async fn incident_with(app: &TestApp, t: &TestTenant, people: &[&str]) -> String {
    let (status, body) = import_csv(app, &t.responder, people, "").await;
    assert_eq!(status, 200, "{body}");
    let (status, incident) = app
        .post(&t.responder, "/api/v1/incidents", &json!({
            "title": "Account data copied", "discovered_at": "2026-11-02T00:00:00Z", "cause": "malicious",
            "data_categories": ["contact", "credentials"], "risk": "high"
        }))
        .await;
    assert_eq!(status, 201, "{incident}");
    let id = incident["id"].as_str().unwrap().to_owned();
    let scope = format!("/api/v1/incidents/{id}/scope");
    assert_eq!(
        put(app, &t.responder, &scope, &json!({"systems": ["app"]})).await,
        200
    );
    let content = crate::dispatch::content("A support line is open.");
    let notice = format!("/api/v1/incidents/{id}/notice-content");
    assert_eq!(put(app, &t.responder, &notice, &content).await, 200);
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

async fn profile(app: &TestApp, t: &TestTenant, body: Value) {
    assert_eq!(
        put(app, &t.admin, "/api/v1/tenant/profile", &body).await,
        200
    );
}

fn regime<'a>(notice: &'a Value, id: &str) -> &'a Value {
    notice["regimes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["regime"] == id)
        .unwrap_or_else(|| panic!("{id} missing: {notice:#}"))
}

fn kinds(decision: &Value) -> Vec<(String, Value, bool)> {
    decision["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["days"].clone(),
                r["done"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn substitute(app: &TestApp, t: &TestTenant, id: &str) -> Value {
    let (status, notice) = app
        .get(
            &t.viewer,
            &format!("/api/v1/incidents/{id}/substitute-notice"),
        )
        .await;
    assert_eq!(status, 200, "{notice}");
    notice
}

#[tokio::test]
async fn substitute_notice_follows_each_law_and_the_tenants_promise() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let id = incident(&app, &t).await;
    let notice = substitute(&app, &t, &id).await;
    assert_eq!(
        (notice["people"].as_u64(), notice["no_contact"].as_u64()),
        (Some(6), Some(3)),
        "{notice:#}"
    );
    assert_eq!(notice["planned"], true);

    // Established in JP, APPI counts everyone; three people have no contact.
    let appi = regime(&notice, "appi");
    assert_eq!(appi["allowed"], true, "{appi:#}");
    assert_eq!(appi["people_covered"], 3);
    assert_eq!(
        kinds(appi),
        [
            ("website_posting".into(), Value::Null, false),
            ("inquiry_desk".into(), Value::Null, false)
        ]
    );

    // California: one resident with no contact (ca-3); e-mail and letter for the others.
    let ca = regime(&notice, "us-ca");
    assert_eq!(ca["allowed"], true, "{ca:#}");
    assert_eq!(ca["people"], 3);
    assert_eq!(ca["people_covered"], 1);
    assert_eq!(
        ca["estimated_cost"],
        json!({"amount": 1.51, "currency": "USD"})
    );
    assert_eq!(
        kinds(ca),
        [
            ("email_where_known".into(), Value::Null, false),
            ("website_posting".into(), json!(30), false),
            ("home_page_link".into(), Value::Null, false),
            ("media_notice".into(), Value::Null, false)
        ]
    );
    assert!(
        notice["regimes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["regime"].as_str().unwrap().starts_with("commitment:"))
    );

    // The tenant's unit costs price the notices (the cost limb is in the decision tables).
    profile(&app, &t, json!({
        "notices": {"unit_costs": {"letter": 3, "email": 2}},
        "public_announcement": {"id": "jc-task", "description": "reasonable, effective public announcement when users cannot be told one by one", "posting_days": 30}
    }))
    .await;
    let notice = substitute(&app, &t, &id).await;
    let ca = regime(&notice, "us-ca");
    assert_eq!(
        ca["estimated_cost"],
        json!({"amount": 5.0, "currency": "USD"}),
        "{ca:#}"
    );
    assert_eq!(ca["people_covered"], 1);
    let promise = regime(&notice, "commitment:jc-task");
    assert_eq!(promise["allowed"], true);
    assert_eq!(promise["people_covered"], 3);
    assert_eq!(
        kinds(promise),
        [("website_posting".into(), json!(30), false)]
    );

    let other = app.tenant("renji");
    let (status, _) = app
        .get(
            &other.viewer,
            &format!("/api/v1/incidents/{id}/substitute-notice"),
        )
        .await;
    assert_eq!(status, 404, "another tenant's incident");
}

/// Creates a bulletin as the responder; returns (id, body).
async fn create(app: &TestApp, t: &TestTenant, incident: &str, body: &Value) -> (u16, Value) {
    app.post(
        &t.responder,
        &format!("/api/v1/incidents/{incident}/bulletins"),
        body,
    )
    .await
}

async fn approve(app: &TestApp, token: &str, incident: &str, b: &str) -> (u16, Value) {
    app.post(
        token,
        &format!("/api/v1/incidents/{incident}/bulletins/{b}/approve"),
        &json!({}),
    )
    .await
}

async fn public(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn four_eyes_and_the_lint_guard_publication() {
    let app = spawn_app().await;
    let t = app.tenant("cybozu");
    let id = incident(&app, &t).await;
    let (status, created) = create(
        &app,
        &t,
        &id,
        &bulletin("Customers such as Sato Aiko (aiko@example.jp) were affected."),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "awaiting_approval");
    assert_eq!(created["version"], 1);
    assert_eq!(created["sha256"].as_str().unwrap().len(), 64);
    let b = created["id"].as_str().unwrap().to_owned();
    assert!(
        created["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/b/cybozu/{b}"))
    );

    let (status, _) = approve(&app, &t.responder, &id, &b).await;
    assert_eq!(status, 403, "only approvers approve");
    let (status, problem) = approve(&app, &t.approver, &id, &b).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        crate::helpers::rejected_fields(&problem),
        ["locales.en.summary"]
    );
    let reason = problem["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("the name")
            && reason.contains("the e-mail address")
            && !reason.contains("aiko@"),
        "{reason}"
    );
    assert_eq!(
        public(&app, &format!("/b/cybozu/{b}"), &[]).await.status(),
        404,
        "a draft is not public"
    );

    // The approver writes a fixed version, so the approver cannot approve it alone.
    let mut fixed = bulletin("An attacker copied account data of about 6 customers.");
    fixed["locales"]["ru"]["remedies"] = json!(" ");
    let path = format!("/api/v1/incidents/{id}/bulletins/{b}");
    let resp = app
        .client
        .put(app.url(&path))
        .bearer_auth(&t.approver)
        .json(&fixed)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, problem) = approve(&app, &t.approver, &id, &b).await;
    assert_eq!(
        status, 409,
        "the author of version 2 cannot approve it: {problem}"
    );
    assert!(problem["detail"].as_str().unwrap().contains("four eyes"));
    fixed["locales"]["ru"]["remedies"] = json!("Открыта горячая линия.");
    assert_eq!(put(&app, &t.responder, &path, &fixed).await, 200);
    fixed["locales"]["ru"]["remedies"] = json!("");
    assert_eq!(put(&app, &t.responder, &path, &fixed).await, 200);
    let (status, problem) = approve(&app, &t.approver, &id, &b).await;
    assert_eq!(status, 422);
    assert_eq!(
        crate::helpers::rejected_fields(&problem),
        ["locales.ru.remedies"]
    );
    fixed["locales"]["ru"]["remedies"] = json!("Открыта горячая линия.");
    assert_eq!(put(&app, &t.responder, &path, &fixed).await, 200);
    let (status, published) = approve(&app, &t.approver, &id, &b).await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["status"], "published");
    assert_eq!(published["version"], 5);
    assert!(published["published_at"].is_string());

    let (_, view) = app.get(&t.viewer, &path).await;
    let versions = view["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 5);
    assert_eq!(versions[4]["approved_by"], "cybozu-approver");
    assert_eq!(versions[1]["author"], "cybozu-approver");
    assert!(
        versions[0]["published_at"].is_null()
            && versions[0]["content"]["locales"]["en"]["summary"].is_string()
    );
    let (_, audit) = app.get(&t.admin, "/api/v1/audit?limit=200").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("bulletin."))
        .collect();
    assert_eq!(
        actions,
        [
            "bulletin.create",
            "bulletin.update",
            "bulletin.update",
            "bulletin.update",
            "bulletin.update",
            "bulletin.approve",
            "bulletin.cover"
        ]
    );

    // Another tenant: the API and the public page both say not found.
    let other = app.tenant("renji");
    let (status, _) = app.get(&other.viewer, &path).await;
    assert_eq!(status, 404);
    assert_eq!(
        public(&app, &format!("/b/renji/{b}"), &[]).await.status(),
        404
    );
    let (status, other_draft) = create(
        &app,
        &other,
        &incident(&app, &other).await,
        &bulletin("Draft."),
    )
    .await;
    assert_eq!(status, 201);
    let draft = other_draft["id"].as_str().unwrap();
    assert_eq!(
        public(&app, &format!("/b/renji/{draft}"), &[])
            .await
            .status(),
        404,
        "another tenant's draft"
    );
    assert_eq!(
        public(&app, &format!("/b/cybozu/{draft}"), &[])
            .await
            .status(),
        404
    );
}

/// A published bulletin for a fresh incident; returns (incident, bulletin).
async fn published(app: &TestApp, t: &TestTenant) -> (String, String) {
    published_for(app, t, &PEOPLE).await
}

async fn published_for(app: &TestApp, t: &TestTenant, people: &[&str]) -> (String, String) {
    let id = incident_with(app, t, people).await;
    let (status, created) =
        create(app, t, &id, &bulletin("An attacker copied account data.")).await;
    assert_eq!(status, 201, "{created}");
    let b = created["id"].as_str().unwrap().to_owned();
    let (status, body) = approve(app, &t.approver, &id, &b).await;
    assert_eq!(status, 200, "{body}");
    (id, b)
}

#[tokio::test]
async fn pages_in_each_language_with_etags_and_no_login() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let (_, b) = published(&app, &t).await;
    let page = format!("/b/jc-task/{b}");
    for (query, header, lang, needle) in [
        ("?lang=ja", "", "ja", "個人情報漏えいに関するお知らせ"),
        ("", "zh-CN,zh;q=0.9", "zh-CN", "关于个人信息泄露事件的公告"),
        ("", "ru-RU, en;q=0.5", "ru", "Уведомление об утечке данных"),
        ("?lang=de", "fr", "en", "en: Notice of data breach"),
    ] {
        let resp = public(
            &app,
            &format!("{page}{query}"),
            &[("accept-language", header)],
        )
        .await;
        assert_eq!(resp.status(), 200, "{query} {header}");
        assert_eq!(resp.headers()["content-language"], lang);
        assert!(
            resp.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        assert!(
            resp.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age")
        );
        let html = resp.text().await.unwrap();
        assert!(html.contains(&format!("<html lang=\"{lang}\"")), "{html}");
        assert!(html.contains(needle), "{lang}: {html}");
        assert!(html.contains("hreflang=\"ja\"") && html.contains("feed.atom"));
    }
    let ja = public(&app, &format!("{page}?lang=ja"), &[]).await;
    let etag = ja.headers()["etag"].to_str().unwrap().to_owned();
    let html = ja.text().await.unwrap();
    for words in [
        "専用お問い合わせ窓口",
        "0120-000-111",
        "初回掲載",
        "改訂履歴",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }
    let again = public(
        &app,
        &format!("{page}?lang=ja"),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status(), 304);
    assert!(again.text().await.unwrap().is_empty());

    let list = public(&app, "/b/jc-task", &[("accept-language", "ja")]).await;
    assert_eq!(list.status(), 200);
    assert!(
        list.text()
            .await
            .unwrap()
            .contains("個人情報漏えいに関するお知らせ")
    );
    let banner = public(&app, "/b/jc-task/banner.json?lang=en", &[]).await;
    assert_eq!(banner.headers()["access-control-allow-origin"], "*");
    let banner: Value = banner.json().await.unwrap();
    assert_eq!(banner["active"], true);
    assert!(banner["bulletins"][0]["url"].as_str().unwrap().contains(&b));
    let html = public(&app, "/b/jc-task/banner.html?lang=ja", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("個人情報の漏えい等に関する重要なお知らせ"),
        "{html}"
    );
    assert_eq!(public(&app, "/b/nobody-here", &[]).await.status(), 404);
}

#[tokio::test]
async fn withdrawal_waits_for_the_posting_period_and_stays_visible() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    profile(&app, &t, json!({"public_announcement": {"id": "jc-task", "description": "public announcement", "posting_days": 30}})).await;
    let (id, b) = published(&app, &t).await;
    let path = format!("/api/v1/incidents/{id}/bulletins/{b}");
    let (_, view) = app.get(&t.viewer, &path).await;
    let until = view["posting_until"].as_str().unwrap().to_owned();
    assert!(
        view["posting_basis"].as_str().unwrap().contains("30 days"),
        "{view}"
    );
    let (status, problem) = app
        .post(
            &t.responder,
            &format!("{path}/withdraw"),
            &json!({"reason": "resolved"}),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains(&until),
        "{problem}"
    );
    let (status, problem) = app
        .post(&t.responder, &format!("{path}/withdraw"), &json!({}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(crate::helpers::rejected_fields(&problem), ["reason"]);

    // Everyone reachable: no law asks for a posting period, so it may be withdrawn.
    let t2 = app.tenant("cafetalk");
    let (id2, b2) = published_for(&app, &t2, &PEOPLE[..1]).await;
    let (_, view) = app
        .get(
            &t2.viewer,
            &format!("/api/v1/incidents/{id2}/bulletins/{b2}"),
        )
        .await;
    assert!(view["posting_until"].is_null(), "{view}");
    let path2 = format!("/api/v1/incidents/{id2}/bulletins/{b2}");
    let (status, withdrawn) = app
        .post(
            &t2.responder,
            &format!("{path2}/withdraw"),
            &json!({"reason": "Sent in error."}),
        )
        .await;
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["status"], "withdrawn");
    let resp = public(&app, &format!("/b/cafetalk/{b2}?lang=en"), &[]).await;
    assert_eq!(resp.status(), 200, "a withdrawn bulletin is never a 404");
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("This notice was withdrawn on") && html.contains("Sent in error."),
        "{html}"
    );
    let banner: Value = public(&app, "/b/cafetalk/banner.json", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(banner["active"], false);
    let (status, _) = app
        .post(
            &t2.responder,
            &format!("{path2}/withdraw"),
            &json!({"reason": "again"}),
        )
        .await;
    assert_eq!(status, 409);
}

/// The feed's entries as (id, title) read by Rust's own parser.
fn entries(xml: &str) -> Vec<(String, String, Option<String>)> {
    let feed: atom_syndication::Feed = xml.parse().unwrap();
    feed.entries()
        .iter()
        .map(|e| {
            (
                e.id().to_owned(),
                e.title().as_str().to_owned(),
                e.title().lang.clone(),
            )
        })
        .collect()
}

/// Parses the feed with Python's feedparser (an independent Atom parser) and
/// returns (bozo, version, entry ids, languages); `None` when the tool is missing
/// and `BREACHLINE_REQUIRE_TOOLS` is not set.
fn feedparser(xml: &str) -> Option<Value> {
    let python =
        std::env::var("BREACHLINE_PYTHON").unwrap_or_else(|_| "target/ci-venv/bin/python".into());
    let script = "import sys, json, feedparser\n\
        d = feedparser.parse(sys.stdin.buffer.read())\n\
        print(json.dumps({'bozo': d.bozo, 'version': d.version, 'lang': d.feed.get('language'),\n\
          'ids': [e.id for e in d.entries], 'langs': [e.title_detail.language for e in d.entries],\n\
          'updated': [e.updated for e in d.entries]}))";
    let child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let required = std::env::var("BREACHLINE_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    let output = child.and_then(|mut c| {
        use std::io::Write;
        c.stdin.take().unwrap().write_all(xml.as_bytes())?;
        c.wait_with_output()
    });
    match output {
        Ok(out) if out.status.success() => Some(serde_json::from_slice(&out.stdout).unwrap()),
        other if required => {
            panic!("feedparser at {python} is required (BREACHLINE_REQUIRE_TOOLS=1): {other:?}")
        }
        other => {
            eprintln!(
                "SKIPPED the feedparser check: no Python with feedparser at {python} ({other:?}); .ci/run installs it"
            );
            None
        }
    }
}

#[tokio::test]
async fn atom_feed_is_valid_and_entry_ids_survive_updates() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let (id, b) = published(&app, &t).await;
    let first = public(&app, "/b/jc-task/feed.atom?lang=ja", &[]).await;
    assert_eq!(first.status(), 200);
    assert!(
        first.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let first = first.text().await.unwrap();
    let v1 = entries(&first);
    assert_eq!(v1.len(), 1);
    assert_eq!(v1[0].1, "個人情報漏えいに関するお知らせ");
    assert_eq!(v1[0].2.as_deref(), Some("ja"));

    let mut update = bulletin("An attacker copied account data. Update: the hole is closed.");
    update["locales"]["ja"]["title"] = json!("【更新】個人情報漏えいに関するお知らせ");
    let path = format!("/api/v1/incidents/{id}/bulletins/{b}");
    assert_eq!(put(&app, &t.responder, &path, &update).await, 200);
    let still = public(&app, "/b/jc-task/feed.atom?lang=ja", &[])
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        entries(&still),
        v1,
        "an update waiting for approval is not public"
    );
    let (status, _) = approve(&app, &t.approver, &id, &b).await;
    assert_eq!(status, 200);
    let second = public(&app, "/b/jc-task/feed.atom?lang=ja", &[])
        .await
        .text()
        .await
        .unwrap();
    let v2 = entries(&second);
    assert_eq!(v2.len(), 2, "one entry per published version");
    assert_eq!(v2[1], v1[0], "the first version's entry keeps its id");
    assert_eq!(v2[0].1, "【更新】個人情報漏えいに関するお知らせ");
    assert_ne!(v2[0].0, v1[0].0);

    if let Some(parsed) = feedparser(&second) {
        assert_eq!(parsed["bozo"], false, "{parsed}");
        assert_eq!(parsed["version"], "atom10");
        assert_eq!(parsed["lang"], "ja");
        assert_eq!(parsed["ids"], json!([v2[0].0, v2[1].0]));
        assert_eq!(parsed["langs"], json!(["ja", "ja"]));
    }
    let russian = public(&app, "/b/jc-task/feed.atom", &[("accept-language", "ru")])
        .await
        .text()
        .await
        .unwrap();
    let ru = entries(&russian);
    assert_eq!(
        (ru[0].0.as_str(), ru[0].2.as_deref()),
        (v2[0].0.as_str(), Some("ru"))
    );
    if let Some(parsed) = feedparser(&russian) {
        assert_eq!(parsed["bozo"], false, "{parsed}");
    }
}

#[tokio::test]
async fn press_statement_and_media_checklist() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let (id, b) = published(&app, &t).await;
    let path = format!("/api/v1/incidents/{id}/bulletins/{b}");
    let (status, press) = app.get(&t.viewer, &format!("{path}/press-statement")).await;
    assert_eq!(status, 200, "{press}");
    assert_eq!(press["required_by"], json!(["us-ca"]));
    let ja = &press["locales"]["ja"];
    assert!(
        ja["text"]
            .as_str()
            .unwrap()
            .starts_with("報道発表 — Tenant jc-task"),
        "{ja}"
    );
    assert!(ja["html"].as_str().unwrap().contains("<html lang=\"ja\""));
    assert!(
        press["locales"]["ru"]["text"]
            .as_str()
            .unwrap()
            .contains("Смените пароль.")
    );

    let notice = substitute(&app, &t, &id).await;
    let ca = kinds(regime(&notice, "us-ca"));
    assert_eq!(ca[1], ("website_posting".into(), json!(30), true), "{ca:?}");
    assert_eq!(ca[3], ("media_notice".into(), Value::Null, false));
    assert_eq!(
        kinds(regime(&notice, "appi"))[1],
        ("inquiry_desk".into(), Value::Null, true)
    );

    let (status, problem) = app
        .post(
            &t.responder,
            &format!("{path}/checklist/website_posting"),
            &json!({"evidence": "x"}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, done) = app
        .post(
            &t.responder,
            &format!("{path}/checklist/media_notice"),
            &json!({"evidence": "Sent to the LA Times and KQED on 2026-11-20"}),
        )
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["done_by"], "jc-task-responder");
    let notice = substitute(&app, &t, &id).await;
    assert_eq!(
        kinds(regime(&notice, "us-ca"))[3],
        ("media_notice".into(), Value::Null, true)
    );
    let (_, view) = app.get(&t.viewer, &path).await;
    assert_eq!(view["checklist"][0]["kind"], "media_notice");
}

/// Ten people, four (40%) with no usable contact; the others get e-mail.
const TEN: [&str; 10] = [
    "t-01,Abe Jiro,jiro@example.jp,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
    "t-02,Baba Mai,mai@example.jp,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
    "t-03,Chiba Rei,rei@example.jp,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
    "t-04,Doi Ken,ken@example.jp,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
    "t-05,Endo Yui,yui@example.jp,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
    "t-06,Fujii Sho,sho@example.jp,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
    "t-07,Goto Ai,,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
    "t-08,Hara Jun,,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
    "t-09,Ito Nao,,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
    "t-10,Kato Rin,,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
];

/// The dispatch ledger (CSV) as (external_id, person_state, covered_by) per line.
async fn ledger(
    app: &TestApp,
    t: &TestTenant,
    incident: &str,
    d: &str,
) -> Vec<(String, String, String)> {
    let resp = app
        .client
        .get(app.url(&format!(
            "/api/v1/incidents/{incident}/dispatches/{d}/ledger"
        )))
        .bearer_auth(&t.responder)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[3].to_owned(), r[10].to_owned())
        })
        .collect()
}

async fn obligations(app: &TestApp, t: &TestTenant, incident: &str) -> Vec<Value> {
    let (status, body) = app
        .get(
            &t.viewer,
            &format!("/api/v1/incidents/{incident}/obligations"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["obligations"].as_array().unwrap().clone()
}

fn subjects_obligation<'a>(all: &'a [Value], regime: &str) -> &'a Value {
    all.iter()
        .find(|o| o["regime"] == regime && o["recipient"] == "subjects")
        .unwrap_or_else(|| panic!("no {regime} subjects obligation: {all:#?}"))
}

/// An approved dispatch of the incident, sent over a real SMTP server.
async fn dispatched(app: &TestApp, t: &TestTenant, incident: &str, smtp: &SmtpPeer) -> String {
    let d = approved_dispatch(app, t, incident).await;
    let url = smtp.url("");
    drain(&worker(app, &[("BREACHLINE_SMTP_URL", &url)])).await;
    d
}

#[tokio::test]
async fn end_to_end_the_bulletin_covers_the_unreachable_and_meets_the_obligation() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let id = incident_with(&app, &t, &TEN).await;
    let d = dispatched(&app, &t, &id, &smtp).await;
    assert_eq!(smtp.received().len(), 6, "one e-mail per reachable person");

    // After the dispatch, the four without contact keep APPI's duty to tell people open.
    let before = obligations(&app, &t, &id).await;
    let appi = subjects_obligation(&before, "appi");
    assert_eq!(appi["status"], "open", "{appi:#}");
    assert!(
        appi["status_note"].as_str().unwrap().contains("4 people"),
        "{appi:#}"
    );

    let (status, created) =
        create(&app, &t, &id, &bulletin("An attacker copied account data.")).await;
    assert_eq!(status, 201, "{created}");
    let b = created["id"].as_str().unwrap().to_owned();
    let (status, approved) = approve(&app, &t.approver, &id, &b).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["coverage"]["newly_covered"], 4, "{approved:#}");
    assert_eq!(
        approved["coverage"]["covered_by"],
        format!("bulletin {b} v1")
    );

    // The ledger lists the covered people, by bulletin and version.
    let lines = ledger(&app, &t, &id, &d).await;
    let mut covered: Vec<&str> = lines
        .iter()
        .filter(|(_, state, _)| state == "covered")
        .map(|(who, _, by)| {
            assert_eq!(*by, format!("bulletin {b} v1"));
            who.as_str()
        })
        .collect();
    covered.sort();
    assert_eq!(covered, ["t-07", "t-08", "t-09", "t-10"]);

    // APPI's duty is met, with the bulletin as evidence.
    let after = obligations(&app, &t, &id).await;
    let appi = subjects_obligation(&after, "appi");
    assert_eq!(appi["status"], "met", "{appi:#}");
    let evidence = appi["evidence"].as_str().unwrap();
    let (_, one) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/bulletins/{b}"))
        .await;
    let sha = one["versions"][0]["sha256"].as_str().unwrap();
    for part in [
        format!("bulletin {b} v1"),
        format!("sha256 {sha}"),
        format!("/b/jc-task/{b}"),
        "published 20".to_owned(),
        "4 people".to_owned(),
    ] {
        assert!(evidence.contains(&part), "{part} missing from {evidence}");
    }

    // The substitute-notice answer still counts them, now as covered.
    let notice = substitute(&app, &t, &id).await;
    assert_eq!(notice["covered"], 4, "{notice:#}");
    assert_eq!(notice["no_contact"], 4);
    assert_eq!(regime(&notice, "appi")["people_covered"], 4);
    let done: Vec<(String, Value, bool)> = kinds(regime(&notice, "appi"));
    assert!(done.iter().all(|(_, _, done)| *done), "{done:?}");

    let covers: i64 = app
        .db
        .read_blocking(|conn| {
            use breachline::db::schema::audit_log as a;
            use diesel::prelude::*;
            Ok(a::table
                .filter(a::action.eq("bulletin.cover"))
                .count()
                .get_result(conn)?)
        })
        .unwrap();
    assert_eq!(covers, 1, "the coverage is audited");
}

#[tokio::test]
async fn a_dispatch_completing_after_publication_is_covered_then() {
    let app = spawn_app().await;
    let t = app.tenant("cybozu");
    let smtp = SmtpPeer::start(SmtpState {
        reject: std::collections::HashMap::from([("yui@example.jp".to_owned(), 550)]),
        ..SmtpState::default()
    })
    .await;
    let (id, b) = published_for(&app, &t, &TEN).await;
    // Published before any dispatch: nobody was told yet, so the duty stays open.
    let appi = subjects_obligation(&obligations(&app, &t, &id).await, "appi").clone();
    assert_eq!(appi["status"], "open", "{appi:#}");
    assert!(
        appi["status_note"]
            .as_str()
            .unwrap()
            .contains("neither sent a notice nor covered"),
        "{appi:#}"
    );

    // The dispatch completes; its unreachable people (four without contact, and
    // yui whose only channel bounced) are covered by the live bulletin.
    let d = dispatched(&app, &t, &id, &smtp).await;
    let lines = ledger(&app, &t, &id, &d).await;
    let covered: Vec<&str> = lines
        .iter()
        .filter(|(_, state, by)| state == "covered" && *by == format!("bulletin {b} v1"))
        .map(|(who, _, _)| who.as_str())
        .collect();
    assert_eq!(covered.len(), 5, "{lines:?}");
    assert!(covered.contains(&"t-05"), "{lines:?}");
    let appi = subjects_obligation(&obligations(&app, &t, &id).await, "appi").clone();
    assert_eq!(appi["status"], "met", "{appi:#}");
    assert!(
        appi["evidence"]
            .as_str()
            .unwrap()
            .starts_with(&format!("bulletin {b} v1"))
    );
    let notice = substitute(&app, &t, &id).await;
    assert_eq!(
        (
            notice["no_contact"].as_u64(),
            notice["channels_failed"].as_u64(),
            notice["covered"].as_u64()
        ),
        (Some(4), Some(1), Some(5)),
        "covered people still count as unreachable: {notice:#}"
    );
    assert_eq!(regime(&notice, "appi")["people_covered"], 5);
}

/// Posts an inquiry as a form; returns (status, body, Retry-After).
async fn inquire(app: &TestApp, path: &str, contact: &str) -> (u16, String, Option<String>) {
    let resp = app
        .client
        .post(app.url(path))
        .form(&[("contact", contact)])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, resp.text().await.unwrap(), retry)
}

/// The registry spells an address with capitals; the visitor types it in lower case
/// (or the other way round): the desk still finds the person, and the notice goes to
/// the address as the registry spells it.
#[tokio::test]
async fn the_inquiry_desk_matches_e_mail_addresses_whatever_their_case() {
    let app = spawn_app().await;
    let t = app.tenant("renji");
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let people = [
        "m-1,Mori Ken,Ken.Mori@Example.JP,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
        "m-2,Ono Mio,mio@example.jp,,ja,JP,1990-01-01,,,,,,,app,contact;credentials",
    ];
    let (id, b) = published_for(&app, &t, &people).await;
    dispatched(&app, &t, &id, &smtp).await;
    let sent_before = smtp.received().len();
    let path = format!("/b/renji/{b}/inquiries");
    assert_eq!(inquire(&app, &path, "ken.mori@example.jp").await.0, 202);
    assert_eq!(inquire(&app, &path, "MIO@EXAMPLE.JP").await.0, 202);

    let url = smtp.url("");
    drain(&worker(&app, &[("BREACHLINE_SMTP_URL", &url)])).await;
    let mut to: Vec<String> = smtp
        .received()
        .into_iter()
        .skip(sent_before)
        .flat_map(|m| m.rcpt_to)
        .collect();
    to.sort();
    assert_eq!(to, ["Ken.Mori@Example.JP", "mio@example.jp"]);
    let (_, one) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/bulletins/{b}"))
        .await;
    assert_eq!(one["inquiries_matched"], 2, "{one:#}");
}

/// Inquiries about a bulletin whose contact is an affected person's.
async fn inquiries_matched(app: &TestApp, t: &TestTenant, incident: &str, b: &str) -> Value {
    let url = format!("/api/v1/incidents/{incident}/bulletins/{b}");
    app.get(&t.viewer, &url).await.1["inquiries_matched"].clone()
}

/// The desk reads the incident's current affected set: someone added to the
/// registry after publication is found once the set is recomputed, and the
/// superseded set's contacts are purged with it.
#[tokio::test]
async fn the_inquiry_desk_follows_the_current_affected_set() {
    let app = spawn_app().await;
    let t = app.tenant("renji");
    let (id, b) = published(&app, &t).await;
    let path = format!("/b/renji/{b}/inquiries");
    assert_eq!(inquire(&app, &path, "EMMA@example.com").await.0, 202);
    assert_eq!(inquire(&app, &path, "kai@example.jp").await.0, 202);
    assert_eq!(inquiries_matched(&app, &t, &id, &b).await, 1);

    let late = "jp-9,Kai Mori,kai@example.jp,,ja,JP,1990-01-01,,,,,,,app,contact;credentials";
    let (status, body) = import_csv(&app, &t.responder, &[late], "").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{id}/affected/recompute"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(inquire(&app, &path, "kai@example.jp").await.0, 202);
    assert_eq!(inquiries_matched(&app, &t, &id, &b).await, 2);

    // The superseded set is purged after the answer, its desk contacts with it.
    let mut sets = Vec::new();
    for _ in 0..50 {
        sets = app
            .db
            .read_blocking(|conn| {
                use breachline::db::schema::desk_contacts as d;
                use diesel::prelude::*;
                Ok(d::table.select(d::set_id).distinct().load::<i64>(conn)?)
            })
            .unwrap();
        if sets.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(sets.len(), 1, "{sets:?}");
}

#[tokio::test]
async fn the_inquiry_desk_never_tells_who_is_affected_and_sends_one_notice() {
    let app = spawn_app().await;
    let t = app.tenant("renji");
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let (id, b) = published(&app, &t).await;
    dispatched(&app, &t, &id, &smtp).await;
    let sent_before = smtp.received().len();
    let path = format!("/b/renji/{b}/inquiries");

    // The page offers the form.
    let page = public(&app, &format!("/b/renji/{b}?lang=en"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("{b}/inquiries")) && page.contains("name=\"contact\""),
        "{page}"
    );

    // The same answer for an affected person, someone unknown, and the affected person again.
    let (s1, affected, _) = inquire(&app, &path, "aiko@example.jp").await;
    let (s2, unknown, _) = inquire(&app, &path, "nobody@example.org").await;
    let (s3, again, _) = inquire(&app, &path, "AIKO@example.jp").await;
    assert_eq!((s1, s2, s3), (202, 202, 202));
    assert_eq!(affected, unknown);
    assert_eq!(affected, again);
    assert!(
        affected.contains("If your details are in our records"),
        "{affected}"
    );

    // JSON too, same answer (aiko was already written to today: nothing more goes out).
    let (status, json_answer) = app
        .post("", &path, &json!({"contact": "aiko@example.jp"}))
        .await;
    assert_eq!(status, 202, "{json_answer}");
    let (status, json_unknown) = app
        .post("", &path, &json!({"contact": "+81 90 0000 0000"}))
        .await;
    assert_eq!((status, &json_answer), (202, &json_unknown));

    // Exactly one notice went out, to the affected person's own address, through the outbox.
    let url = smtp.url("");
    drain(&worker(&app, &[("BREACHLINE_SMTP_URL", &url)])).await;
    let new: Vec<_> = smtp.received().into_iter().skip(sent_before).collect();
    let to: Vec<String> = new.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    assert_eq!(
        to,
        ["aiko@example.jp"],
        "one notice, none to unknown contacts"
    );
    assert!(
        header(&new[0].data, "Message-ID")
            .unwrap()
            .ends_with("@breachline>")
    );

    // Timing says no more than the answer (same work on both paths).
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..4 {
        for (i, contact) in ["emma@example.com", &format!("x{round}@example.org")]
            .iter()
            .enumerate()
        {
            let started = std::time::Instant::now();
            let (status, _, _) = inquire(&app, &path, contact).await;
            assert_eq!(status, 202);
            times[i].push(started.elapsed().as_secs_f64());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, u) = (median(&mut times[0]), median(&mut times[1]));
    assert!((a - u).abs() < 0.25, "affected {a:.3}s vs unknown {u:.3}s");

    // Throttled per contact: the fifth inquiry about aiko today is the last.
    for _ in 0..2 {
        let (status, _, _) = inquire(&app, &path, "aiko@example.jp").await;
        assert_eq!(status, 202);
    }
    let (status, problem, retry) = inquire(&app, &path, "aiko@example.jp").await;
    assert_eq!(status, 429, "{problem}");
    assert!(retry.unwrap().parse::<u64>().unwrap() > 0);
    let problem: Value = serde_json::from_str(&problem).unwrap();
    assert_eq!(problem["status"], 429);

    // Invalid contacts are told so; drafts and other tenants' bulletins have no desk.
    let (status, problem) = app
        .post("", &path, &json!({"contact": "not a contact"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(crate::helpers::rejected_fields(&problem), ["contact"]);
    let (_, draft) = create(&app, &t, &id, &bulletin("Another notice.")).await;
    let draft_path = format!("/b/renji/{}/inquiries", draft["id"].as_str().unwrap());
    assert_eq!(inquire(&app, &draft_path, "aiko@example.jp").await.0, 404);
    app.tenant("other");
    assert_eq!(
        inquire(&app, &format!("/b/other/{b}/inquiries"), "aiko@example.jp")
            .await
            .0,
        404
    );

    // Counted for the report, never stored in clear.
    let (_, one) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/bulletins/{b}"))
        .await;
    assert_eq!(one["inquiries"], 15, "{one:#}");
    let stored: Vec<String> = app
        .db
        .read_blocking(|conn| {
            use breachline::db::schema::bulletin_inquiries as q;
            use diesel::prelude::*;
            Ok(q::table.select(q::contact_hash).load::<String>(conn)?)
        })
        .unwrap();
    assert_eq!(stored.len(), 15);
    assert!(stored.iter().all(|h| h.len() == 64 && !h.contains('@')));

    // Per client: 30 an hour.
    let mut last = 0;
    for n in 0..20 {
        last = inquire(&app, &path, &format!("c{n}@example.org")).await.0;
    }
    assert_eq!(last, 429, "the client's limit");
}
