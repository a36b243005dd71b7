use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::subjects::{import_csv, send};

/// Files an incident whose organisation became aware at `aware_at`.
async fn incident(app: &TestApp, token: &str, aware_at: &str) -> String {
    let (status, body) = app
        .post(
            token,
            "/api/v1/incidents",
            &json!({"title": "Leak", "discovered_at": aware_at}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn put_scope(app: &TestApp, token: &str, id: &str, scope: Value) -> (u16, Value) {
    let body = scope.to_string();
    send(
        app,
        "PUT",
        token,
        &format!("/api/v1/incidents/{id}/scope"),
        "application/json",
        body,
    )
    .await
}

/// The external ids an incident's scope selects.
async fn affected_ids(app: &TestApp, token: &str, id: &str, scope: Value) -> Vec<String> {
    let (status, body) = put_scope(app, token, id, scope).await;
    assert_eq!(status, 200, "{body}");
    let (status, page) = app
        .get(token, &format!("/api/v1/incidents/{id}/affected?limit=200"))
        .await;
    assert_eq!(status, 200, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["external_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_criterion_and_their_combinations() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let rows = [
        "A,,,,,JP,,,,,,,,crm;billing,contact;financial",
        "B,,,,,JP,,,,,,,,shop,health",
        "C,,,,,US-CA,,,,,,,,crm,health",
        "D,,,,,DE,,,,,,,,,contact",
        "E,,,,,,,,,,,,,crm-archive,",
    ];
    assert_eq!(import_csv(&app, &t.admin, &rows, "").await.0, 200);
    let id = incident(&app, &t.responder, "2026-03-01T10:00:00+09:00").await;
    let cases = [
        (json!({}), vec![]),
        (
            json!({"systems": [], "data_categories": [], "jurisdictions": [], "subject_ids": []}),
            vec![],
        ),
        (json!({"systems": ["crm"]}), vec!["A", "C"]),
        (json!({"data_categories": ["health"]}), vec!["B", "C"]),
        (json!({"jurisdictions": ["jp"]}), vec!["A", "B"]),
        (json!({"subject_ids": ["D", "E", "nobody"]}), vec!["D", "E"]),
        (
            json!({"systems": ["crm"], "data_categories": ["health"]}),
            vec!["C"],
        ),
        (
            json!({"systems": ["crm", "shop"], "jurisdictions": ["JP"]}),
            vec!["A", "B"],
        ),
        (
            json!({"data_categories": ["contact"], "jurisdictions": ["JP", "DE"], "subject_ids": ["A", "B", "D"]}),
            vec!["A", "D"],
        ),
        (json!({"systems": ["crm"], "jurisdictions": ["DE"]}), vec![]),
    ];
    for (scope, expected) in cases {
        assert_eq!(
            affected_ids(&app, &t.responder, &id, scope.clone()).await,
            expected,
            "{scope}"
        );
    }
}

#[tokio::test]
async fn exposed_categories_and_the_snapshot() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let rows = ["A,Ann,ann@example.com,,,JP,,,,,,,,crm,contact;financial;health"];
    import_csv(&app, &t.admin, &rows, "").await;
    let id = incident(&app, &t.responder, "2026-03-01T10:00:00+09:00").await;
    put_scope(&app, &t.responder, &id, json!({"systems": ["crm"]})).await;
    let (_, page) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/affected"))
        .await;
    assert_eq!(
        page["items"][0]["exposed_categories"],
        json!(["contact", "financial", "health"]),
        "all held when the scope names none"
    );
    put_scope(
        &app,
        &t.responder,
        &id,
        json!({"systems": ["crm"], "data_categories": ["health", "location"]}),
    )
    .await;
    let (_, page) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/affected"))
        .await;
    assert_eq!(
        page["items"][0]["exposed_categories"],
        json!(["health"]),
        "held ∩ scope"
    );
    assert_eq!(page["items"][0]["email"], "ann@example.com");

    app.patch(
        &t.admin,
        "/api/v1/subjects/A",
        &json!({"email": "new@example.com"}),
    )
    .await;
    let (_, page) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/affected"))
        .await;
    assert_eq!(
        page["items"][0]["email"], "ann@example.com",
        "registry edits wait for a recompute"
    );
    let (status, summary) = send(
        &app,
        "POST",
        &t.responder,
        &format!("/api/v1/incidents/{id}/affected/recompute"),
        "application/json",
        String::new(),
    )
    .await;
    assert_eq!((status, summary["total"].clone()), (200, json!(1)));
    let (_, page) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/affected"))
        .await;
    assert_eq!(page["items"][0]["email"], "new@example.com");

    let (tenant_id, incident_id) = (t.id.clone(), id.clone());
    app.db
        .write_blocking(move |conn| {
            breachline::store::affected::freeze(conn, &tenant_id, &incident_id)
        })
        .unwrap();
    let (status, _) = send(
        &app,
        "POST",
        &t.responder,
        &format!("/api/v1/incidents/{id}/affected/recompute"),
        "application/json",
        String::new(),
    )
    .await;
    assert_eq!(status, 409, "a frozen set cannot change");
    assert_eq!(put_scope(&app, &t.responder, &id, json!({})).await.0, 409);
    let (_, scope) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/scope"))
        .await;
    assert!(scope["scope"]["frozen_at"].is_string(), "{scope}");
}

/// Rows of every affected set stored for the incident, by set.
fn stored_sets(app: &TestApp, incident_id: &str) -> BTreeMap<i64, i64> {
    use breachline::db::schema::{affected_sets, affected_subjects};
    use diesel::prelude::*;
    let id = incident_id.to_owned();
    app.db
        .read_blocking(move |conn| {
            let sets: Vec<i64> = affected_sets::table
                .filter(affected_sets::incident_id.eq(&id))
                .select(affected_sets::id)
                .load(conn)?;
            let mut rows = BTreeMap::new();
            for set in sets {
                let n: i64 = affected_subjects::table
                    .filter(affected_subjects::set_id.eq(set))
                    .count()
                    .get_result(conn)?;
                rows.insert(set, n);
            }
            Ok(rows)
        })
        .unwrap()
}

#[tokio::test]
async fn superseded_sets_are_purged_after_the_answer() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let rows = [
        "A,,,,,JP,,,,,,,,crm,contact",
        "B,,,,,JP,,,,,,,,crm,contact",
        "C,,,,,DE,,,,,,,,shop,contact",
    ];
    import_csv(&app, &t.admin, &rows, "").await;
    let id = incident(&app, &t.responder, "2026-03-01T10:00:00+09:00").await;
    put_scope(&app, &t.responder, &id, json!({"systems": ["crm"]})).await;
    put_scope(&app, &t.responder, &id, json!({"systems": ["shop"]})).await;
    let (_, scope) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/affected"))
        .await;
    assert_eq!(scope["items"].as_array().unwrap().len(), 1, "{scope}");

    // The purge runs after the answer; wait for it rather than race it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while stored_sets(&app, &id).len() > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            stored_sets(&app, &id)
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sets = stored_sets(&app, &id);
    assert_eq!(
        sets.values().copied().collect::<Vec<_>>(),
        [1],
        "only the current set is kept"
    );

    let incident_id = id.clone();
    let purged = app
        .db
        .write_blocking(move |conn| {
            breachline::store::affected::purge_superseded(conn, &incident_id)
        })
        .unwrap();
    assert_eq!(purged, 0, "a second purge finds nothing");
    assert_eq!(stored_sets(&app, &id), sets);
}

#[tokio::test]
async fn minors_turn_adult_on_their_eighteenth_birthday() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let rows = [
        "ADULT-TODAY,,,,,JP,2008-03-01,,,,,,,crm,",
        "MINOR-TOMORROW,,,,,JP,2008-03-02,,,,,,,crm,",
        "LEAP,,,,,JP,2008-02-29,,,,,,,crm,",
        "NO-DATE,,,,,JP,,,,,,,,crm,",
    ];
    import_csv(&app, &t.admin, &rows, "").await;
    let minors = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["minor"] == true)
            .map(|r| r["external_id"].as_str().unwrap().to_owned())
            .collect()
    };
    // aware 2026-03-01 (UTC date): the leap-day child turned 18 today (1 March).
    let id = incident(&app, &t.responder, "2026-03-01T10:00:00+09:00").await;
    put_scope(&app, &t.responder, &id, json!({"systems": ["crm"]})).await;
    let (_, page) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/affected"))
        .await;
    assert_eq!(minors(&page), ["MINOR-TOMORROW"]);
    // 2026-03-01T08:00+09:00 is 2026-02-28 in UTC, the date that counts.
    let id = incident(&app, &t.responder, "2026-03-01T08:00:00+09:00").await;
    let (_, body) = put_scope(&app, &t.responder, &id, json!({"systems": ["crm"]})).await;
    assert_eq!(body["summary"]["minors"], 3);
    let (_, page) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/affected"))
        .await;
    assert_eq!(minors(&page), ["ADULT-TODAY", "LEAP", "MINOR-TOMORROW"]);
}

#[tokio::test]
async fn minors_are_reached_through_their_guardians() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let header = format!(
        "{},guardian_push_token,guardian_postal_address",
        breachline::import::synthetic::HEADER
    );
    let rows = [
        // adult with own e-mail and phone
        "AD,,ad@example.com,+819011111111,,JP,1990-01-01,,,,,,,crm,,,",
        // minor with own e-mail and phone but no guardian: not reachable by e-mail/SMS
        "M1,,kid@example.com,+819022222222,,JP,2015-01-01,,,,,,,crm,,,",
        // minor with a guardian e-mail only, plus their own push token and address:
        // the child's device and address never get the parents' notice
        "M2,,,,,JP,2015-01-01,Mum,mum@example.com,,tok,\"1 Main St\",,crm,,,",
        // minor with guardian phone only
        "M3,,,,,JP,2015-01-01,Dad,,+819033333333,,,,crm,,,",
        // minor whose guardian has a device and an address of their own
        "M4,,,,,JP,2015-01-01,Aunt,,,kid-tok,,,crm,,aunt-tok,\"2 High St\"",
        // adult with nothing
        "NONE,,,,,JP,1990-01-01,Gran,gran@example.com,,,,,crm,,,",
    ];
    let (status, body) = crate::subjects::import_csv_with(&app, &t.admin, &header, &rows, "").await;
    assert_eq!(status, 200, "{body}");
    let id = incident(&app, &t.responder, "2026-03-01T10:00:00+09:00").await;
    let (_, body) = put_scope(&app, &t.responder, &id, json!({"systems": ["crm"]})).await;
    let s = &body["summary"];
    assert_eq!(s["minors"], 4);
    assert_eq!(
        s["contactable"],
        json!({"email": 2, "sms": 2, "push": 1, "letter": 1})
    );
    assert_eq!(s["uncontactable"], 2, "M1 (no guardian) and NONE: {s}");
    let (_, page) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/affected"))
        .await;
    let channels: BTreeMap<String, Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["external_id"].as_str().unwrap().to_owned(),
                r["channels"].clone(),
            )
        })
        .collect();
    assert_eq!(channels["M2"], json!(["email"]));
    assert_eq!(channels["M3"], json!(["sms"]));
    assert_eq!(channels["M4"], json!(["push", "letter"]));
}

#[tokio::test]
async fn subject_ids_upload_csv_export_and_roles() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let rows = [
        "A,\"Ann, Jr\",,,,JP,,,,,,,,crm,contact",
        "B,Bob,,,,DE,,,,,,,,crm,",
        "C,=1+2,,+819012345678,,CN,,,,,,,,crm,",
    ];
    import_csv(&app, &t.admin, &rows, "").await;
    let id = incident(&app, &t.responder, "2026-03-01T10:00:00+09:00").await;
    let path = format!("/api/v1/incidents/{id}/scope/subject-ids");
    let (status, body) = send(
        &app,
        "PUT",
        &t.responder,
        &path,
        "text/plain",
        "C\r\nA\n\nA\nunknown\n".into(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"]["subject_ids_count"], 3);
    assert_eq!(body["summary"]["total"], 2);
    let bad = format!("A\n{}\nB\n", "x".repeat(201));
    let (status, problem) = send(&app, "PUT", &t.responder, &path, "text/plain", bad).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["line"], 2);
    assert_eq!(
        send(&app, "PUT", &t.responder, &path, "text/csv", "A".into())
            .await
            .0,
        415
    );
    let (_, scope) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/scope"))
        .await;
    assert_eq!(
        scope["scope"]["subject_ids_count"], 3,
        "a failed upload changes nothing"
    );

    let (_, body) = put_scope(&app, &t.responder, &id, json!({"systems": ["crm"]})).await;
    assert_eq!(
        body["scope"]["subject_ids_count"], 0,
        "PUT replaces the whole scope"
    );
    assert_eq!(body["summary"]["total"], 3);
    send(
        &app,
        "PUT",
        &t.responder,
        &path,
        "text/plain",
        "A
C
"
        .into(),
    )
    .await;

    let resp = app
        .client
        .get(app.url(&format!("/api/v1/incidents/{id}/affected?format=csv")))
        .bearer_auth(&t.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("external_id,name,email"), "{text}");
    assert_eq!(lines[1], "A,\"Ann, Jr\",,,,JP,false,,,,,,,contact,,,");
    assert_eq!(
        lines[2], "C,'=1+2,,+819012345678,,CN,false,,,,,,,,sms,,",
        "a formula in a name is defused; a phone number is left alone"
    );
    assert_eq!(lines.len(), 3, "{text}");

    let (status, summary) = app
        .get(
            &t.viewer,
            &format!("/api/v1/incidents/{id}/affected/summary"),
        )
        .await;
    assert_eq!((status, summary["total"].clone()), (200, json!(2)));
    for path in ["affected", "affected/summary"] {
        assert_eq!(
            app.get(&t.regulator, &format!("/api/v1/incidents/{id}/{path}"))
                .await
                .0,
            403,
            "regulators read shared reports only"
        );
    }
    assert_eq!(put_scope(&app, &t.viewer, &id, json!({})).await.0, 403);
    let other = app.tenant("other");
    assert_eq!(
        app.get(
            &other.admin,
            &format!("/api/v1/incidents/{id}/affected/summary")
        )
        .await
        .0,
        404
    );
    let (status, problem) = put_scope(
        &app,
        &t.responder,
        &id,
        json!({"jurisdictions": ["XX"], "colour": 1}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");

    let (tenant_id, incident_id) = (t.id.clone(), id.clone());
    let counts = app
        .db
        .read_blocking(move |conn| {
            breachline::store::affected::get_scope(conn, &tenant_id, &incident_id)
        })
        .unwrap();
    let counts: Vec<(String, i64)> = counts
        .jurisdiction_counts()
        .into_iter()
        .map(|c| (c.jurisdiction, c.count))
        .collect();
    assert_eq!(counts, [("CN".to_owned(), 1), ("JP".to_owned(), 1)]);
}

/// A seeded generator, independent of the service's own synthetic data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

struct Person {
    id: String,
    jurisdiction: Option<&'static str>,
    locale: Option<&'static str>,
    birth: Option<(i32, u32, u32)>,
    email: bool,
    phone: bool,
    guardian_email: bool,
    guardian_phone: bool,
    push: bool,
    letter: bool,
    systems: Vec<&'static str>,
    categories: Vec<&'static str>,
}

fn generate(count: usize) -> Vec<Person> {
    let mut r = Lcg(7);
    let pick = |r: &mut Lcg, items: &[&'static str]| -> Vec<&'static str> {
        items.iter().copied().filter(|_| r.next(3) == 0).collect()
    };
    (0..count)
        .map(|i| {
            let birth = match r.next(10) {
                0 => None,
                1 => Some((2008, 3, 1)),
                2 => Some((2008, 2, 29)),
                3 => Some((2008, 3, 2)),
                _ => Some((
                    1950 + r.next(75) as i32,
                    1 + r.next(12) as u32,
                    1 + r.next(28) as u32,
                )),
            };
            Person {
                id: format!("P{i:05}"),
                jurisdiction: [
                    None,
                    Some("JP"),
                    Some("US-CA"),
                    Some("DE"),
                    Some("CN"),
                    Some("TW"),
                ][r.next(6) as usize],
                locale: [
                    None,
                    Some("ja"),
                    Some("en"),
                    Some("zh-CN"),
                    Some("zh-TW"),
                    Some("ru"),
                ][r.next(6) as usize],
                birth,
                email: r.next(4) != 0,
                phone: r.next(2) == 0,
                guardian_email: r.next(2) == 0,
                guardian_phone: r.next(3) == 0,
                push: r.next(3) == 0,
                letter: r.next(2) == 0,
                systems: pick(&mut r, &["crm", "billing", "shop"]),
                categories: pick(&mut r, &["contact", "health", "financial", "location"]),
            }
        })
        .collect()
}

fn csv_row(p: &Person) -> String {
    let opt = |on: bool, v: String| if on { v } else { String::new() };
    let birth = p
        .birth
        .map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
        .unwrap_or_default();
    [
        p.id.clone(),
        format!("Name {}", p.id),
        opt(p.email, format!("{}@example.com", p.id)),
        opt(p.phone, "+819012345678".into()),
        p.locale.unwrap_or("").into(),
        p.jurisdiction.unwrap_or("").into(),
        birth,
        String::new(),
        opt(p.guardian_email, format!("g{}@example.com", p.id)),
        opt(p.guardian_phone, "+819087654321".into()),
        opt(p.push, format!("tok-{}", p.id)),
        opt(p.letter, "\"1 Main St, Town\"".into()),
        String::new(),
        p.systems.join(";"),
        p.categories.join(";"),
    ]
    .join(",")
}

/// Age in whole years on (2026, 3, 1) by the textbook rule.
fn is_minor(birth: Option<(i32, u32, u32)>) -> bool {
    let Some((y, m, d)) = birth else { return false };
    let mut age = 2026 - y;
    if (3, 1) < (m, d) {
        age -= 1;
    }
    age < 18
}

#[tokio::test]
async fn summary_equals_counts_computed_independently() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let people = generate(3000);
    let lines: Vec<String> = people.iter().map(csv_row).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (status, body) = import_csv(&app, &t.admin, &lines, "").await;
    assert_eq!(
        (status, body["imported"].clone()),
        (200, json!(3000)),
        "{body}"
    );
    let id = incident(&app, &t.responder, "2026-03-01T10:00:00+09:00").await;
    let scope = json!({"systems": ["crm", "shop"], "data_categories": ["health", "financial"], "jurisdictions": ["JP", "US-CA", "CN"]});
    let (status, body) = put_scope(&app, &t.responder, &id, scope).await;
    assert_eq!(status, 200, "{body}");

    let affected: Vec<&Person> = people
        .iter()
        .filter(|p| p.systems.iter().any(|s| ["crm", "shop"].contains(s)))
        .filter(|p| {
            p.categories
                .iter()
                .any(|c| ["health", "financial"].contains(c))
        })
        .filter(|p| {
            p.jurisdiction
                .is_some_and(|j| ["JP", "US-CA", "CN"].contains(&j))
        })
        .collect();
    let mut expected = json!({
        "total": affected.len(), "by_jurisdiction": {}, "jurisdiction_unknown": 0, "minors": 0,
        "minors_by_jurisdiction": {}, "contactable": {"email": 0, "sms": 0, "push": 0, "letter": 0}, "uncontactable": 0, "by_locale": {},
    });
    let bump = |v: &mut Value| *v = json!(v.as_i64().unwrap_or(0) + 1);
    for p in &affected {
        bump(&mut expected["by_jurisdiction"][p.jurisdiction.unwrap()]);
        bump(&mut expected["by_locale"][p.locale.unwrap_or("en")]);
        let minor = is_minor(p.birth);
        let channels = [
            ("email", if minor { p.guardian_email } else { p.email }),
            ("sms", if minor { p.guardian_phone } else { p.phone }),
            // A minor's own device and address are never used (no guardian ones here).
            ("push", p.push && !minor),
            ("letter", p.letter && !minor),
        ];
        if minor {
            bump(&mut expected["minors"]);
            bump(&mut expected["minors_by_jurisdiction"][p.jurisdiction.unwrap()]);
        }
        for (name, on) in channels {
            if on {
                bump(&mut expected["contactable"][name]);
            }
        }
        if channels.iter().all(|(_, on)| !on) {
            bump(&mut expected["uncontactable"]);
        }
    }
    let mut summary = body["summary"].clone();
    summary.as_object_mut().unwrap().remove("computed_at");
    assert!(
        affected.len() > 300,
        "the scope must select a meaningful set"
    );
    assert_eq!(summary, expected);
    let (_, stored) = app
        .get(
            &t.viewer,
            &format!("/api/v1/incidents/{id}/affected/summary"),
        )
        .await;
    assert_eq!(stored, body["summary"]);
}
