//! Time in dispatch: receipt timeouts, tenant send windows, and the pace and deadline
//! of progress. Real peers stand in for the SMS provider (HTTP) and the relay (SMTP).

use std::time::Duration;

use breachline::db::schema::outbox;
use breachline::dispatch::receipts::{SIGNATURE_HEADER, webhook_signature};
use breachline::dispatch::worker::Worker;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::channels::{HttpPeer, SmtpPeer, SmtpState};
use crate::dispatch::{
    approved_dispatch, drain, planned_incident, planned_incident_at, put, worker,
};
use crate::helpers::{TestApp, TestTenant, spawn_app, spawn_app_with};

/// Runs the worker until `done` holds, for at most a minute.
async fn work_until(worker: &Worker, mut done: impl FnMut() -> bool) {
    for _ in 0..240 {
        worker.run_once().await.unwrap();
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the worker did not get there within a minute");
}

async fn ledger(app: &TestApp, t: &TestTenant, incident: &str, d: &str) -> String {
    let resp = app
        .client
        .get(app.url(&format!(
            "/api/v1/incidents/{incident}/dispatches/{d}/ledger"
        )))
        .bearer_auth(&t.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

async fn progress(app: &TestApp, t: &TestTenant, incident: &str, d: &str) -> Value {
    let (status, body) = app
        .get(
            &t.viewer,
            &format!("/api/v1/incidents/{incident}/dispatches/{d}"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn instant(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn no_receipt_in_time_moves_the_person_to_their_next_channel_once() {
    let sms = HttpPeer::start(201, json!({"id": "sms-77"})).await;
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let smtp_url = smtp.url("");
    let env = [
        ("BREACHLINE_SMS_PROVIDER", "webhook"),
        ("BREACHLINE_SMS_URL", sms.base.as_str()),
        ("BREACHLINE_SMS_WEBHOOK_SECRET", "s3cret"),
        ("BREACHLINE_SMS_RECEIPT_TIMEOUT_SECS", "1"),
        ("BREACHLINE_SMTP_URL", smtp_url.as_str()),
    ];
    let app = spawn_app_with(&env).await;
    let t = app.tenant("renji");
    let profile = json!({"notices": {"channels": ["sms", "email"]}});
    assert_eq!(
        put(&app, &t.admin, "/api/v1/tenant/profile", &profile).await,
        200
    );
    let people = ["s1,Sam,sam@example.com,+819000000001,en,JP,1980-01-01,,,,,,,app,contact"];
    let id = planned_incident(&app, &t, &people, "support line").await;
    let d = approved_dispatch(&app, &t, &id).await;

    let worker = worker(&app, &env);
    drain(&worker).await;
    assert_eq!(sms.requests().len(), 1);
    assert!(smtp.received().is_empty(), "e-mail waits for the receipt");
    assert_eq!(progress(&app, &t, &id, &d).await["status"], "completed");

    // Once the 1 s window has passed the SMS counts as failed and the dispatch
    // reopens for the fallback.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = app
        .db
        .write_blocking(|conn| {
            breachline::store::delivery::expire_receipts(conn, breachline::domain::now_micros(), 10)
        })
        .unwrap();
    assert_eq!(expired, 1);
    assert_eq!(progress(&app, &t, &id, &d).await["status"], "sending");
    work_until(&worker, || !smtp.received().is_empty()).await;
    drain(&worker).await;
    assert_eq!(smtp.received()[0].rcpt_to, vec!["sam@example.com"]);
    let csv = ledger(&app, &t, &id, &d).await;
    assert!(
        csv.contains("failed,webhook,sms-77,no delivery receipt within 1 s"),
        "{csv}"
    );

    // The receipt comes after all: written down once, nobody is sent anything again.
    let body = json!({"provider_id": "sms-77", "status": "delivered"}).to_string();
    for _ in 0..2 {
        let resp = app
            .client
            .post(app.url("/api/v1/receipts/sms/webhook"))
            .header("content-type", "application/json")
            .header(
                SIGNATURE_HEADER,
                webhook_signature(b"s3cret", body.as_bytes()),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
    }
    drain(&worker).await;
    assert_eq!(sms.requests().len(), 1);
    assert_eq!(smtp.received().len(), 1);
    let csv = ledger(&app, &t, &id, &d).await;
    assert_eq!(csv.matches("receipt: delivered (late)").count(), 1, "{csv}");
    let p = progress(&app, &t, &id, &d).await;
    assert_eq!(p["status"], "completed", "{p}");
    assert_eq!(
        (&p["counts"]["failed"], &p["counts"]["sent"]),
        (&json!(1), &json!(1)),
        "{p}"
    );
    assert_eq!(p["counts"]["unreachable"], 0);
}

/// `HH:MM` in Tokyo, `hours` from now.
fn tokyo_clock(hours: i64) -> String {
    (Utc::now() + chrono::Duration::hours(hours))
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%H:%M")
        .to_string()
}

fn outbox_rows(app: &TestApp) -> Vec<(String, i32, NaiveDateTime)> {
    app.db
        .read_blocking(|conn| {
            Ok(outbox::table
                .select((outbox::status, outbox::attempts, outbox::run_at))
                .load(conn)?)
        })
        .unwrap()
}

#[tokio::test]
async fn a_closed_send_window_holds_messages_until_it_opens() {
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let bad = json!({"notices": {"send_window": {"start": "08:00", "end": "21:00", "time_zone": "Asia/Tokio"}}});
    let (status, problem) = put_profile(&app, &t, &bad).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        crate::helpers::rejected_fields(&problem),
        vec!["notices.send_window.time_zone"]
    );
    let closed = |start: i64, end: i64| {
        json!({"notices": {"send_window": {"start": tokyo_clock(start), "end": tokyo_clock(end),
            "time_zone": "Asia/Tokyo", "channels": ["email"]}}})
    };
    let (status, tenant) = put_profile(&app, &t, &closed(2, 3)).await;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(
        tenant["profile"]["notices"]["send_window"]["channels"],
        json!(["email"])
    );
    let people = [
        "w1,Wendy,wendy@example.com,,en,JP,1980-01-01,,,,,,,app,contact",
        "w2,Walt,walt@example.com,,en,JP,1981-01-01,,,,,,,app,contact",
    ];
    let id = planned_incident(&app, &t, &people, "support line").await;
    let d = approved_dispatch(&app, &t, &id).await;
    let before = Utc::now();
    let smtp_url = smtp.url("");
    let worker = worker(&app, &[("BREACHLINE_SMTP_URL", &smtp_url)]);
    drain(&worker).await;

    assert!(smtp.received().is_empty(), "the window is closed");
    for (status, attempts, run_at) in outbox_rows(&app) {
        assert_eq!((status.as_str(), attempts), ("queued", 0));
        let wait = run_at.and_utc() - before;
        assert!(
            wait > chrono::Duration::minutes(115) && wait <= chrono::Duration::minutes(120),
            "held until the next opening, two hours away: {run_at}"
        );
        let opens = run_at.and_utc().with_timezone(&chrono_tz::Asia::Tokyo);
        assert_eq!(opens.format("%H:%M").to_string(), tokyo_clock(2));
    }
    let p = progress(&app, &t, &id, &d).await;
    assert_eq!(
        (
            p["counts"]["queued"].as_i64(),
            p["held"]["by_channel"]["email"].as_i64()
        ),
        (Some(2), Some(2)),
        "{p}"
    );
    let opens = instant(&p["held"]["until"]);
    assert!(
        instant(&p["eta_at"]) >= opens,
        "the estimate counts from the window's opening, not from now: {p}"
    );

    // The window opens (here: is moved over now, and the rows are due).
    let (status, _) = put_profile(&app, &t, &closed(-1, 1)).await;
    assert_eq!(status, 200);
    app.db
        .write_blocking(|conn| {
            diesel::update(outbox::table)
                .set(outbox::run_at.eq(Utc::now().naive_utc()))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
    drain(&worker).await;
    assert_eq!(smtp.received().len(), 2);
    assert!(
        outbox_rows(&app)
            .iter()
            .all(|(status, attempts, _)| status == "sent" && *attempts == 1),
        "sent on the first counted attempt"
    );
    assert_eq!(progress(&app, &t, &id, &d).await["status"], "completed");
}

async fn put_profile(app: &TestApp, t: &TestTenant, profile: &Value) -> (u16, Value) {
    let resp = app
        .client
        .put(app.url("/api/v1/tenant/profile"))
        .bearer_auth(&t.admin)
        .json(profile)
        .send()
        .await
        .unwrap();
    crate::helpers::read(resp).await
}

#[tokio::test]
async fn progress_shows_the_pace_and_the_deadline_it_meets() {
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let rows: Vec<String> = (0..12)
        .map(|i| {
            format!("q{i:02},Person {i},q{i:02}@example.com,,en,JP,1980-01-01,,,,,,,app,contact")
        })
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let discovered = (Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let id = planned_incident_at(&app, &t, &rows, "support line", &discovered).await;
    let (_, obligations) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/obligations"))
        .await;
    let earliest = obligations["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["recipient"] == "subjects")
        .filter_map(|o| o["due_at"].as_str().or(o["target_at"].as_str()))
        .map(|at| instant(&json!(at)))
        .min()
        .expect("an obligation to notify people");

    let (_, created) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{id}/dispatches"),
            &json!({}),
        )
        .await;
    assert_eq!(created["rate_per_s"], 0.0, "{created}");
    assert!(
        created["eta_at"].is_null() && created["meets_deadline"].is_null(),
        "{created}"
    );
    assert_eq!(instant(&created["deadline_at"]), earliest);
    let d = created["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post(
            &t.approver,
            &format!("/api/v1/incidents/{id}/dispatches/{d}/approve"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200);

    let smtp_url = smtp.url("");
    let worker = worker(&app, &[("BREACHLINE_SMTP_URL", &smtp_url)]);
    worker.run_once().await.unwrap(); // one batch of 4
    let p = progress(&app, &t, &id, &d).await;
    assert_eq!(p["status"], "sending", "{p}");
    assert!(p["rate_per_s"].as_f64().unwrap() > 0.0, "{p}");
    assert!(
        instant(&p["eta_at"])
            >= instant(&json!(Utc::now().to_rfc3339())) - chrono::Duration::seconds(5),
        "{p}"
    );
    assert_eq!(
        p["meets_deadline"], true,
        "seconds of work, a deadline days away: {p}"
    );

    drain(&worker).await;
    let p = progress(&app, &t, &id, &d).await;
    assert_eq!(p["status"], "completed", "{p}");
    assert!(p["eta_at"].is_null(), "{p}");
    assert_eq!(
        instant(&p["deadline_at"]),
        earliest,
        "the obligation it met"
    );
    assert_eq!(p["meets_deadline"], true, "{p}");
    assert!(p["rate_per_s"].as_f64().unwrap() > 0.0, "{p}");

    // An incident whose deadline has passed cannot meet it, whatever the pace.
    let late = planned_incident_at(&app, &t, &rows, "support line", "2026-01-05T00:00:00Z").await;
    let (_, created) = app
        .post(
            &t.responder,
            &format!("/api/v1/incidents/{late}/dispatches"),
            &json!({}),
        )
        .await;
    assert_eq!(created["meets_deadline"], false, "{created}");
}
