use serde_json::json;

use crate::helpers::{rejected_fields, spawn_app};

#[tokio::test]
async fn notice_content_round_trips_and_is_audited() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = app.incident(&t.responder).await;
    let path = format!("/api/v1/incidents/{id}/notice-content");
    let (status, _) = app.get(&t.viewer, &path).await;
    assert_eq!(status, 404, "no content yet");
    let body = json!({
        "default_locale": "en",
        "locales": {
            "en": {"summary": "S", "likely_impact": "I", "measures_taken": "M", "advice": "A", "remedies": "R",
                   "contact": {"name": "Privacy team", "email": "privacy@example.com"}},
            "ja": {"summary": "概要"}
        }
    });
    let resp = app
        .client
        .put(app.url(&path))
        .bearer_auth(&t.responder)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, got) = app.get(&t.viewer, &path).await;
    assert_eq!(status, 200);
    assert_eq!(got["locales"]["ja"]["summary"], "概要");
    assert_eq!(
        got["locales"]["en"]["contact"]["email"],
        "privacy@example.com"
    );
    assert_eq!(got["updated_by"], "acme-responder");
    let (_, log) = app.get(&t.admin, "/api/v1/audit").await;
    assert_eq!(
        log["items"].as_array().unwrap().last().unwrap()["action"],
        "notice_content.update"
    );
}

#[tokio::test]
async fn notice_content_errors_name_the_path() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let id = app.incident(&t.responder).await;
    let path = format!("/api/v1/incidents/{id}/notice-content");
    let bad = json!({"default_locale": "de", "locales": {"en": {"summary": 5, "contact": {"email": "nope"}}}});
    let resp = app
        .client
        .put(app.url(&path))
        .bearer_auth(&t.responder)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let problem: serde_json::Value = resp.json().await.unwrap();
    let fields = rejected_fields(&problem);
    for f in [
        "default_locale",
        "locales.en.summary",
        "locales.en.contact.email",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} missing in {fields:?}");
    }
    let resp = app
        .client
        .put(app.url(&path))
        .bearer_auth(&t.viewer)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let other = app.tenant("other");
    let (status, _) = app.get(&other.admin, &path).await;
    assert_eq!(status, 404);
}
