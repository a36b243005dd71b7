use serde_json::{Value, json};

use crate::helpers::{TestApp, TestTenant, spawn_app};
use crate::subjects::import_csv;

const PEOPLE: [&str; 5] = [
    // external_id,name,email,phone,locale,jurisdiction,birth_date,guardian_name,guardian_email,guardian_phone,push_token,postal_address,preferred_channel,systems,data_categories
    "a1,Sato Aiko,aiko@example.jp,+819012345678,ja,JP,1990-04-01,,,,,,,app,contact;credentials",
    "k1,Li Xiaoming,,,zh-CN,JP,2015-06-01,Li Wei,wei@example.cn,+8613800000000,,,,app,contact",
    "r1,Ivan Petrov,,+79001234567,ru,JP,1980-01-01,,,,,,,app,contact",
    "n1,Nobody,,,de,JP,1975-01-01,,,,,,,app,contact",
    "e1,Emma,emma@example.com,,en-GB,JP,1999-09-09,,,,,,,app,contact",
];

fn content(remedies: &str) -> Value {
    let item = |s: &str| {
        json!({"summary": format!("{s}: an attacker copied account data"), "likely_impact": "phishing", "measures_taken": "passwords reset",
        "advice": "change your password", "remedies": remedies, "contact": {"email": "privacy@example.com"}})
    };
    json!({"default_locale": "en", "locales": {"en": item("en"), "ja": item("ja"), "zh-CN": item("zh"), "ru": item("ru")}})
}

async fn setup(app: &TestApp, t: &TestTenant, remedies: &str) -> String {
    let (status, body) = import_csv(app, &t.responder, &PEOPLE, "").await;
    assert_eq!(status, 200, "{body}");
    let (_, incident) = app
        .post(&t.responder, "/api/v1/incidents", &json!({
            "title": "App breach", "discovered_at": crate::helpers::hours_ago(1), "cause": "malicious",
            "data_categories": ["contact", "credentials"], "risk": "high"
        }))
        .await;
    let id = incident["id"].as_str().unwrap().to_owned();
    for (path, body) in [
        ("scope", json!({"systems": ["app"]})),
        ("notice-content", content(remedies)),
    ] {
        let resp = app
            .client
            .put(app.url(&format!("/api/v1/incidents/{id}/{path}")))
            .bearer_auth(&t.responder)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    id
}

async fn preview(app: &TestApp, t: &TestTenant, id: &str, subject: &str, channel: &str) -> Value {
    let (status, body) = app
        .get(
            &t.viewer,
            &format!("/api/v1/incidents/{id}/notices/preview?subject={subject}&channel={channel}"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn missing(preview: &Value) -> Vec<String> {
    preview["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["present"] == false)
        .map(|c| c["item"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn previews_are_in_the_persons_language_and_complete() {
    let app = spawn_app().await;
    let t = app.tenant("jc-task");
    let id = setup(&app, &t, "12 months of monitoring").await;
    let email = preview(&app, &t, &id, "a1", "email").await;
    assert_eq!(email["locale"], "ja");
    assert_eq!(
        email["recipient"],
        json!({"kind": "subject", "name": "Sato Aiko", "address": "aiko@example.jp"})
    );
    assert!(
        email["subject"]
            .as_str()
            .unwrap()
            .contains("Tenant jc-task"),
        "{email}"
    );
    assert!(email["text"].as_str().unwrap().contains("Sato Aiko 様"));
    assert!(
        email["html"]
            .as_str()
            .unwrap()
            .contains("<html lang=\"ja\"")
    );
    assert_eq!(missing(&email), Vec::<String>::new(), "{email}");
    let items: Vec<&str> = email["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["item"].as_str().unwrap())
        .collect();
    assert!(
        items.contains(&"data_categories"),
        "APPI asks for the kinds of data: {items:?}"
    );
    assert_eq!(email["segments"], Value::Null);

    let sms = preview(&app, &t, &id, "r1", "sms").await;
    assert_eq!(sms["locale"], "ru");
    assert_eq!(sms["subject"], Value::Null);
    assert_eq!(sms["segments"]["encoding"], "UCS-2");
    assert!(sms["segments"]["count"].as_u64().unwrap() <= 3, "{sms}");
    assert!(sms["text"].as_str().unwrap().contains("/n/"));
    assert_eq!(
        missing(&sms),
        Vec::<String>::new(),
        "SMS counts the notice page it links to"
    );

    let english = preview(&app, &t, &id, "e1", "email").await;
    assert_eq!(english["locale"], "en", "en-GB falls back to en");
    let german = preview(&app, &t, &id, "n1", "letter").await;
    assert_eq!(german["locale"], "en", "no German: tenant default");
    assert_eq!(german["recipient"]["address"], Value::Null);
    assert!(!german["warnings"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_minors_notice_goes_to_the_guardian() {
    let app = spawn_app().await;
    let t = app.tenant("justalk");
    let id = setup(&app, &t, "support line").await;
    let email = preview(&app, &t, &id, "k1", "email").await;
    assert_eq!(email["locale"], "zh-CN");
    assert_eq!(
        email["recipient"],
        json!({"kind": "guardian", "name": "Li Wei", "address": "wei@example.cn"})
    );
    let text = email["text"].as_str().unwrap();
    assert!(text.contains("Li Xiaoming"), "names the child: {text}");
    let sms = preview(&app, &t, &id, "k1", "sms").await;
    assert_eq!(sms["recipient"]["address"], "+8613800000000");
}

#[tokio::test]
async fn blank_items_fail_the_checklist_by_name() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = setup(&app, &t, "").await;
    let email = preview(&app, &t, &id, "a1", "email").await;
    assert_eq!(missing(&email), vec!["remedies"]);
    let reason = email["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["item"] == "remedies")
        .unwrap()["reason"]
        .clone();
    assert_eq!(reason, "empty in the ja notice content");
    assert_eq!(email["complete"], false);
}

#[tokio::test]
async fn the_plan_orders_channels_and_lists_the_unreachable() {
    let app = spawn_app().await;
    let t = app.tenant("renji");
    let resp = app
        .client
        .put(app.url("/api/v1/tenant/profile"))
        .bearer_auth(&t.admin)
        .json(&json!({"notices": {"channels": ["sms", "phone"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = setup(&app, &t, "support").await;
    let (status, plan) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{id}/plan"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    assert_eq!(plan["total"], 5);
    assert_eq!(plan["unreachable"], 1);
    assert_eq!(plan["guardians"], 1);
    assert_eq!(plan["by_channel"], json!({"email": 1, "sms": 3}));
    assert_eq!(
        plan["by_locale"],
        json!({"en": 2, "ja": 1, "ru": 1, "zh-CN": 1})
    );
    assert!(plan["estimate"]["meets_deadline"].is_boolean());
    let (status, again) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/plan"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["total"], 5);
    let (status, _) = app
        .post(
            &t.viewer,
            &format!("/api/v1/incidents/{id}/plan"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_tenant_can_override_a_template() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme/notices/email/en/subject.txt.hbs");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        "Important notice from {{organisation}} about your account\n",
    )
    .unwrap();
    let app = crate::helpers::spawn_app_with(&[(
        "BREACHLINE_TEMPLATES_DIR",
        dir.path().to_str().unwrap(),
    )])
    .await;
    let acme = app.tenant("acme");
    let id = setup(&app, &acme, "support").await;
    let email = preview(&app, &acme, &id, "e1", "email").await;
    assert_eq!(
        email["subject"],
        "Important notice from Tenant acme about your account"
    );
    assert_eq!(missing(&email), Vec::<String>::new());
    let other = app.tenant("other");
    let id = setup(&app, &other, "support").await;
    let email = preview(&app, &other, &id, "e1", "email").await;
    assert_ne!(
        email["subject"], "Important notice from Tenant other about your account",
        "other tenants keep the built-in set"
    );
}
