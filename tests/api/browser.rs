//! The web UI in a real headless Chromium over WebDriver (see helpers/browser.rs):
//! the whole incident workflow by two people in two browser windows, and the
//! pages in Japanese and Chinese. Screenshots go to
//! `target/tmp/ui-screenshots/<test>/`.

use std::time::Duration;

use breachline::domain::Role;
use serde_json::json;

use crate::channels::{SmtpPeer, SmtpState};
use crate::dispatch::{put, worker};
use crate::helpers::browser::Browser;
use crate::helpers::spawn_app;
use crate::helpers::ui::{self, PASSWORD};
use crate::subjects::import_csv;

const PEOPLE: [&str; 3] = [
    "p1,Sato Aiko,aiko@example.jp,,ja,JP,1990-04-01,,,,,,,app,contact",
    "p2,Emma Stone,emma@example.com,,en,JP,1999-09-09,,,,,,,app,contact",
    "p3,Li Xiaoming,li@example.cn,,zh-CN,JP,1985-06-01,,,,,,,app,contact",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_take_an_incident_from_sign_in_to_a_completed_dispatch() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let Some(alice) = Browser::start(&app.address, "workflow-responder", "en").await else {
        return;
    };
    let (status, body) = import_csv(&app, &t.responder, &PEOPLE, "").await;
    assert_eq!(status, 200, "{body}");
    let invite = ui::invited(&app, &t.id, "alice@example.org", Role::Responder);
    ui::user(&app, &t.id, "bob@example.org", Role::Approver);
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let sender = worker(&app, &[("BREACHLINE_SMTP_URL", &smtp.url(""))]);
    let sending = tokio::spawn(async move {
        loop {
            let _ = sender.run_once().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });

    // Alice sets her password from the one-time link and is signed in.
    alice.goto(&invite).await;
    alice.fill("#password", "short").await;
    alice.submit("form button[type=submit]").await;
    assert!(alice.text("#err-password").await.contains("at least 12"));
    assert_eq!(
        alice.attr("#password", "aria-describedby").await.unwrap(),
        "password-hint err-password"
    );
    alice.fill("#password", PASSWORD).await;
    alice.submit("form button[type=submit]").await;
    assert_eq!(alice.text("h1").await, "Incidents");

    // A new incident with a field the API rejects: the reason is next to the field.
    alice.submit("a[href='/incidents/new']").await;
    alice.screenshot("new-incident").await;
    alice.fill("#new-title", "Customer app breach").await;
    alice
        .set_value("#new-occurred_at", "2026-11-26T10:00")
        .await;
    alice
        .set_value("#new-discovered_at", "2026-11-25T09:00")
        .await;
    alice.select("#new-cause", "malicious").await;
    alice.select("#new-risk", "high").await;
    alice
        .click("#new-data_categories input[value=contact]")
        .await;
    alice.submit("form.facts button[type=submit]").await;
    let described = alice
        .attr("#new-discovered_at", "aria-describedby")
        .await
        .unwrap();
    assert_eq!(described, "err-new-discovered_at");
    assert!(
        alice
            .text(&format!("#{described}"))
            .await
            .contains("is before occurred_at")
    );
    alice.screenshot("new-incident-error").await;
    alice.set_value("#new-occurred_at", "").await;
    alice.set_value("#new-discovered_at", &now_local(-2)).await;
    alice.submit("form.facts button[type=submit]").await;
    assert_eq!(alice.text("#incident-title").await, "Customer app breach");
    let id = alice
        .path()
        .await
        .trim_start_matches("/incidents/")
        .to_owned();

    // Scope: the affected summary comes from the recompute.
    alice.fill("#scope-systems", "app").await;
    alice.submit("#scope form button[type=submit]").await;
    assert_eq!(alice.text("#affected-total").await, "3");

    // Obligations with live countdowns, coloured by urgency.
    let countdown = alice.css("#obligations time[data-countdown]").await;
    let due = countdown.attr("datetime").await.unwrap().unwrap();
    assert!(due.ends_with('Z'), "{due}");
    let class = countdown.attr("class").await.unwrap().unwrap();
    assert!(
        ["overdue", "lt24h", "lt72h", "later"]
            .iter()
            .any(|c| class.contains(c)),
        "{class}"
    );
    let first = countdown.text().await.unwrap();
    assert!(first.contains('h') && first.contains('m'), "{first}");

    // Notice content in English, then the preview per channel for one person.
    for (field, text) in [
        ("summary", "An attacker copied account data."),
        ("likely_impact", "Phishing e-mails."),
        ("measures_taken", "Passwords reset."),
        ("advice", "Change your password."),
        ("remedies", "12 months of monitoring."),
    ] {
        alice.fill(&format!("#content-en-{field}"), text).await;
    }
    alice
        .fill("#content-en-contact-email", "privacy@example.com")
        .await;
    alice
        .submit("#notice form[method=post] button[type=submit]")
        .await;
    alice.fill("#preview-subject", "p2").await;
    alice.submit("#show-preview").await;
    let preview = alice.text(".preview[data-channel=email]").await;
    assert!(
        preview.contains("An attacker copied account data."),
        "{preview}"
    );
    alice.screenshot("notice-preview").await;

    // Plan and dispatch: the author waits for someone else.
    alice.goto(&format!("/incidents/{id}")).await;
    alice.submit("#plan form button").await;
    alice.submit("#dispatch form button").await;
    assert!(alice.text(".waiting").await.contains("someone else"));
    assert!(
        alice
            .client
            .find(fantoccini::Locator::Css("button.approve"))
            .await
            .is_err(),
        "no approve button for the author"
    );
    assert_eq!(alice.text(".dispatch-status").await, "awaiting_approval");
    alice.screenshot("incident-awaiting-approval").await;

    // Bob approves in a second browser.
    let bob = Browser::start(&app.address, "workflow-approver", "en")
        .await
        .unwrap();
    bob.sign_in("bob@example.org", PASSWORD).await;
    bob.goto(&format!("/incidents/{id}#dispatch")).await;
    bob.screenshot("approver-before").await;
    bob.submit("button.approve").await;

    // Alice's page follows the progress to completed without a reload.
    let mut status = String::new();
    for _ in 0..60 {
        status = alice.text(".dispatch-status").await;
        if status == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(status, "completed");
    assert_eq!(alice.path().await, format!("/incidents/{id}"));
    assert!(
        alice.text("#dispatch .counts").await.contains("sent 3"),
        "{}",
        alice.text("#dispatch .counts").await
    );
    assert_eq!(smtp.received().len(), 3);
    assert!(
        !alice.css(".waiting").await.is_displayed().await.unwrap(),
        "no longer waiting"
    );
    assert_eq!(
        alice.text("[data-field=approved_by]").await,
        "bob@example.org"
    );
    alice.screenshot("incident-completed").await;
    // The runbook tasks the obligations attached are listed, read-only.
    let (_, tasks) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/tasks"))
        .await;
    if let Some(first) = tasks["items"].as_array().and_then(|items| items.first()) {
        let listed = alice.text("#tasks").await;
        assert!(listed.contains(first["text"].as_str().unwrap()), "{listed}");
    }
    assert_eq!(
        alice.attr("a[href='/b/acme']", "href").await.unwrap(),
        "/b/acme"
    );
    bob.goto("/incidents").await;
    bob.screenshot("incidents-list").await;
    let next = alice.text("#obligations time[data-countdown]").await;
    assert!(!next.is_empty());

    // Sign out: the session is over.
    alice.submit("form.sign-out button").await;
    assert_eq!(alice.path().await, "/sign-in");
    alice.goto(&format!("/incidents/{id}")).await;
    assert_eq!(alice.path().await, "/sign-in");
    sending.abort();
    alice.close().await;
    bob.close().await;
}

/// Now plus `hours`, as a `datetime-local` value in UTC (the users' default zone).
fn now_local(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours))
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn japanese_and_chinese_browsers_get_their_language_and_script_stays_text() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "yuki@example.org", Role::Admin);
    let (_, incident) = app
        .post(&t.responder, "/api/v1/incidents", &json!({
            "title": "<script>document.title='pwned'</script>", "discovered_at": "2026-11-20T10:00:00Z",
            "data_categories": ["contact"], "risk": "high"
        }))
        .await;
    let id = incident["id"].as_str().unwrap().to_owned();
    assert_eq!(
        put(
            &app,
            &t.responder,
            &format!("/api/v1/incidents/{id}/scope"),
            &json!({"systems": ["app"]})
        )
        .await,
        200
    );
    for (lang, incidents, facts) in [
        ("ja", "インシデント", "事実関係"),
        ("zh-CN", "事件", "事实"),
    ] {
        let Some(b) = Browser::start(&app.address, &format!("languages-{lang}"), lang).await else {
            return;
        };
        b.goto("/sign-in").await;
        assert_eq!(
            b.script("return document.documentElement.lang").await,
            json!(lang)
        );
        b.sign_in("yuki@example.org", PASSWORD).await;
        assert_eq!(b.text("h1").await, incidents);
        b.screenshot("incidents").await;
        b.goto(&format!("/incidents/{id}")).await;
        assert_eq!(
            b.text("#incident-title").await,
            "<script>document.title='pwned'</script>"
        );
        assert_ne!(b.script("return document.title").await, json!("pwned"));
        assert!(b.text("#facts h2").await.contains(facts));
        b.screenshot("incident").await;
        b.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_edits_the_send_window_and_creates_and_revokes_a_token() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let Some(admin) = Browser::start(&app.address, "settings-admin", "en").await else {
        return;
    };
    ui::user(&app, &t.id, "admin@example.org", Role::Admin);
    admin.sign_in("admin@example.org", PASSWORD).await;
    admin.submit("a[href='/settings']").await;
    assert_eq!(admin.text("h1").await, "Settings");

    // A send window the API refuses: its reason stands next to the field.
    admin
        .fill("#profile-notices-send_window-start", "25:00")
        .await;
    admin
        .fill("#profile-notices-send_window-end", "21:00")
        .await;
    admin
        .fill("#profile-notices-send_window-time_zone", "Asia/Tokyo")
        .await;
    admin
        .click("#profile-notices-send_window-channels input[value=sms]")
        .await;
    admin.submit("form.profile button[type=submit]").await;
    assert_eq!(
        admin
            .attr("#profile-notices-send_window-start", "aria-describedby")
            .await
            .unwrap(),
        "err-profile-notices-send_window-start"
    );
    assert!(
        !admin
            .text("#err-profile-notices-send_window-start")
            .await
            .is_empty()
    );
    admin.screenshot("profile-error").await;
    admin
        .fill("#profile-notices-send_window-start", "08:00")
        .await;
    admin.submit("form.profile button[type=submit]").await;
    assert_eq!(admin.path().await, "/settings");
    let (_, tenant) = app.get(&t.admin, "/api/v1/tenant").await;
    assert_eq!(
        tenant["tenant"]["profile"]["notices"]["send_window"],
        json!({"start": "08:00", "end": "21:00", "time_zone": "Asia/Tokyo", "channels": ["sms"]})
    );
    assert_eq!(
        admin
            .attr("#profile-notices-send_window-start", "value")
            .await
            .unwrap(),
        "08:00"
    );

    // A token: its secret once, working; gone on the next visit; revoked from the page.
    admin.fill("#token-name", "ci-bot").await;
    admin.select("#token-role", "viewer").await;
    admin
        .submit("form[action='/settings/tokens'] button[type=submit]")
        .await;
    let bearer = admin.text("#new-token").await;
    assert!(bearer.starts_with("blt_"), "{bearer}");
    admin.screenshot("token-once").await;
    assert_eq!(app.get(&bearer, "/api/v1/incidents").await.0, 200);
    admin.goto("/settings").await;
    assert_eq!(
        admin
            .script("return document.querySelector('#new-token') === null && !document.body.innerHTML.includes('blt_');")
            .await,
        json!(true)
    );
    let id = bearer
        .strip_prefix("blt_")
        .and_then(|rest| rest.split_once('.'))
        .unwrap()
        .0
        .to_owned();
    admin
        .submit(&format!(
            "form[action='/settings/tokens/{id}/revoke'] button"
        ))
        .await;
    assert_eq!(app.get(&bearer, "/api/v1/incidents").await.0, 401);
    assert!(!admin.text(&format!("#token-{id}")).await.contains("Revoke"));
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responder_generates_a_report_and_opens_its_link() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let Some(resp) = Browser::start(&app.address, "report-responder", "en").await else {
        return;
    };
    let id = crate::dispatch::planned_incident(&app, &t, &crate::dispatch::PEOPLE, "none").await;
    ui::user(&app, &t.id, "resp@example.org", Role::Responder);
    resp.sign_in("resp@example.org", PASSWORD).await;
    resp.goto(&format!("/incidents/{id}#reports")).await;
    resp.select("#report-regime", "appi").await;
    resp.select("#report-phase", "preliminary").await;
    resp.submit("#generate-report button[type=submit]").await;
    let (_, list) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/reports"))
        .await;
    let report = list["items"][0]["id"].as_str().unwrap().to_owned();
    assert!(
        resp.text(&format!("#report-{report} .report-status"))
            .await
            .starts_with("Required items missing"),
        "a new preliminary report still lacks the team's items"
    );
    resp.screenshot("reports").await;
    let href = resp
        .attr(&format!("#report-{report} a.report-html"), "href")
        .await
        .unwrap();
    assert_eq!(
        href,
        format!("/api/v1/incidents/{id}/reports/{report}.html")
    );
    resp.submit(&format!("#report-{report} a.report-html"))
        .await;
    assert_eq!(resp.path().await, href);
    assert!(resp.text("body").await.contains("個人情報保護委員会"));
    resp.screenshot("report-html").await;
    resp.close().await;
}
