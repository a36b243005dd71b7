use serde_json::{Value, json};

use crate::helpers::{TestApp, read, run_cli, spawn_app};

pub const HEADER: &str = "external_id,name,email,phone,locale,jurisdiction,birth_date,guardian_name,guardian_email,guardian_phone,push_token,postal_address,preferred_channel,systems,data_categories";

/// Sends a raw body with a content type.
pub async fn send(
    app: &TestApp,
    method: &str,
    token: &str,
    path: &str,
    content_type: &str,
    body: String,
) -> (u16, Value) {
    let resp = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    read(resp).await
}

/// Imports a CSV (header added) through the API.
pub async fn import_csv(app: &TestApp, token: &str, rows: &[&str], query: &str) -> (u16, Value) {
    import_csv_with(app, token, HEADER, rows, query).await
}

/// Imports a CSV with this header through the API.
pub async fn import_csv_with(
    app: &TestApp,
    token: &str,
    header: &str,
    rows: &[&str],
    query: &str,
) -> (u16, Value) {
    let body = format!("{header}\n{}\n", rows.join("\n"));
    send(
        app,
        "POST",
        token,
        &format!("/api/v1/subjects/import{query}"),
        "text/csv",
        body,
    )
    .await
}

pub async fn delete(app: &TestApp, token: &str, path: &str) -> u16 {
    let resp = app
        .client
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

async fn ids(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let (status, body) = app.get(token, &format!("/api/v1/subjects{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["external_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn import_then_read_filter_change_and_delete() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let (status, body) = import_csv(
        &app,
        &t.responder,
        &[
            "S-1,Aiko Tanaka,aiko@example.jp,+819012345678,ja,jp,1990-04-01,,,,tok1,\"1-1 Chiyoda,\nTokyo\",email,crm;billing,contact;financial",
            "S-2,Li Wei,li@example.cn,,zh-CN,CN,,,,,,,,shop,contact",
            "S-3,Ann Lee,,,en,US-CA,2015-05-05,Bo Lee,bo@example.com,+12025550123,,,letter,crm,children",
        ],
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"imported": 3, "updated": 0, "unchanged": 0, "rejected": 0, "total_errors": 0})
    );

    let (status, s1) = app.get(&t.viewer, "/api/v1/subjects/S-1").await;
    assert_eq!(status, 200);
    assert_eq!(s1["jurisdiction"], "JP", "codes are normalised");
    assert_eq!(s1["postal_address"], "1-1 Chiyoda,\nTokyo");
    assert_eq!(s1["systems"], json!(["billing", "crm"]));
    assert_eq!(s1["data_categories"], json!(["contact", "financial"]));
    assert_eq!(s1["birth_date"], "1990-04-01");

    assert_eq!(ids(&app, &t.viewer, "").await, ["S-1", "S-2", "S-3"]);
    assert_eq!(ids(&app, &t.viewer, "?system=crm").await, ["S-1", "S-3"]);
    assert_eq!(
        ids(&app, &t.viewer, "?system=CRM").await,
        Vec::<String>::new(),
        "system names are case-sensitive"
    );
    assert_eq!(ids(&app, &t.viewer, "?jurisdiction=us-ca").await, ["S-3"]);
    assert_eq!(
        ids(&app, &t.viewer, "?limit=2&after=S-1").await,
        ["S-2", "S-3"]
    );
    let (_, page) = app.get(&t.viewer, "/api/v1/subjects?limit=2").await;
    assert_eq!(page["next_after"], "S-2");

    let (status, changed) = app
        .patch(
            &t.responder,
            "/api/v1/subjects/S-1",
            &json!({"email": null, "locale": "en", "systems": ["crm"]}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["email"].clone(), changed["locale"].clone()),
        (Value::Null, json!("en"))
    );
    assert_eq!(changed["name"], "Aiko Tanaka", "absent keys are kept");
    let (status, problem) = app
        .patch(
            &t.responder,
            "/api/v1/subjects/S-1",
            &json!({"phone": "0901234", "external_id": "S-9"}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        crate::helpers::rejected_fields(&problem),
        ["external_id", "phone"]
    );

    assert_eq!(
        delete(&app, &t.responder, "/api/v1/subjects/S-2").await,
        204
    );
    assert_eq!(app.get(&t.viewer, "/api/v1/subjects/S-2").await.0, 404);
    assert_eq!(
        delete(&app, &t.responder, "/api/v1/subjects/S-2").await,
        404
    );

    let other = app.tenant("other");
    assert_eq!(
        app.get(&other.admin, "/api/v1/subjects/S-1").await.0,
        404,
        "tenants are separate"
    );
}

#[tokio::test]
async fn reimport_counts_new_changed_and_unchanged() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let rows = ["A,Ann,,,,JP,,,,,,,,,", "B,Bob,,,,JP,,,,,,,,,"];
    assert_eq!(import_csv(&app, &t.admin, &rows, "").await.1["imported"], 2);
    let (status, body) = import_csv(
        &app,
        &t.admin,
        &[
            "A,Ann,,,,JP,,,,,,,,,",
            "B,Bobby,,,,JP,,,,,,,,,",
            "C,Cy,,,,DE,,,,,,,,,",
        ],
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            body["imported"].clone(),
            body["updated"].clone(),
            body["unchanged"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    let (_, b) = app.get(&t.viewer, "/api/v1/subjects/B").await;
    assert_eq!(b["name"], "Bobby");
}

#[tokio::test]
async fn every_kind_of_error_is_named_by_line_and_nothing_is_written() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    assert_eq!(
        import_csv(&app, &t.admin, &["KEEP,Kept,,,,JP,,,,,,,,,"], "")
            .await
            .0,
        200
    );
    let rows = [
        "OK-1,Valid,ok@example.com,,,JP,,,,,,,,,", // line 2
        "E-1,Bad mail,secret.person@nowhere,,,JP,,,,,,,,,", // 3
        "E-2,Bad phone,,0312345678,,JP,,,,,,,,,",  // 4
        "E-3,Bad place,,,,XX,,,,,,,,,",            // 5
        "E-4,Bad category,,,,JP,,,,,,,,,dna",      // 6
        "E-5,Bad date,,,,JP,2001-02-30,,,,,,,,",   // 7
        "E-6,Future,,,,JP,2999-01-01,,,,,,,,",     // 8
        "OK-1,Twice,,,,JP,,,,,,,,,",               // 9
        "E-7,Short row,,",                         // 10
        ",No id,,,,JP,,,,,,,,,",                   // 11
        "E-8,Bad locale,,,Japanese,JP,,,,,,,,,",   // 12
        "E-9,Bad channel,,,,JP,,,,,,,fax,,",       // 13
    ];
    let (status, problem) = import_csv(&app, &t.admin, &rows, "").await;
    assert_eq!(status, 422, "{problem}");
    let got: Vec<(u64, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        (3, "email"),
        (4, "phone"),
        (5, "jurisdiction"),
        (6, "data_categories"),
        (7, "birth_date"),
        (8, "birth_date"),
        (9, "external_id"),
        (10, "row"),
        (11, "external_id"),
        (12, "locale"),
        (13, "preferred_channel"),
    ]
    .into_iter()
    .map(|(l, f)| (l, f.to_owned()))
    .collect();
    assert_eq!(got, expected);
    assert_eq!(
        (problem["total_errors"].clone(), problem["rejected"].clone()),
        (json!(11), json!(11))
    );
    let text = problem.to_string();
    assert!(
        !text.contains("secret.person") && !text.contains("0312345678"),
        "no personal data in reasons: {text}"
    );
    assert!(text.contains("first on line 2"), "{text}");
    assert_eq!(
        ids(&app, &t.viewer, "").await,
        ["KEEP"],
        "all-or-nothing wrote nothing"
    );

    let (status, body) = import_csv(&app, &t.admin, &rows, "?mode=skip-invalid").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["imported"].clone(), body["rejected"].clone()),
        (json!(1), json!(11))
    );
    assert_eq!(body["errors"].as_array().unwrap().len(), 11);
    assert_eq!(ids(&app, &t.viewer, "").await, ["KEEP", "OK-1"]);
}

#[tokio::test]
async fn header_problems_reject_the_file() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let cases = [
        (
            "external_id,name,colour\nA,B,red\n",
            "unknown column 'colour'",
        ),
        ("name,email\nAnn,a@b.co\n", "external_id column is required"),
        ("external_id,name,name\nA,B,C\n", "appears twice"),
        ("", "empty"),
    ];
    for (body, reason) in cases {
        for mode in ["", "?mode=skip-invalid"] {
            let (status, problem) = send(
                &app,
                "POST",
                &t.admin,
                &format!("/api/v1/subjects/import{mode}"),
                "text/csv",
                body.into(),
            )
            .await;
            assert_eq!(status, 422, "{body}: {problem}");
            assert_eq!(problem["errors"][0]["line"], 1);
            assert!(
                problem["errors"][0]["reason"]
                    .as_str()
                    .unwrap()
                    .contains(reason),
                "{problem}"
            );
        }
    }
    let (status, body) = send(
        &app,
        "POST",
        &t.admin,
        "/api/v1/subjects/import",
        "text/csv; charset=utf-8",
        "external_id\nA\n".into(),
    )
    .await;
    assert_eq!(
        (status, body["imported"].clone()),
        (200, json!(1)),
        "a subset of columns is fine"
    );
}

#[tokio::test]
async fn ndjson_imports_with_physical_line_numbers() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let body = [
        r#"{"external_id":"N-1","name":"Nao","jurisdiction":"JP","systems":["crm"],"data_categories":["contact"],"birth_date":"2010-01-01","guardian_email":"mum@example.jp"}"#,
        "",
        r#"{"external_id":"N-2","email":"bad","colour":"red"}"#,
        r#"not json"#,
        r#"["external_id"]"#,
    ]
    .join("\n");
    let (status, problem) = send(
        &app,
        "POST",
        &t.admin,
        "/api/v1/subjects/import",
        "application/x-ndjson",
        body.clone(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let got: Vec<(u64, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [(3, "colour"), (3, "email"), (4, "line"), (5, "line")]);
    let (status, ok) = send(
        &app,
        "POST",
        &t.admin,
        "/api/v1/subjects/import?mode=skip-invalid",
        "application/x-ndjson",
        body,
    )
    .await;
    assert_eq!(
        (status, ok["imported"].clone(), ok["rejected"].clone()),
        (200, json!(1), json!(3))
    );
    let (_, n1) = app.get(&t.viewer, "/api/v1/subjects/N-1").await;
    assert_eq!(n1["guardian_email"], "mum@example.jp");
}

#[tokio::test]
async fn many_errors_are_counted_but_listed_up_to_a_hundred() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let rows: Vec<String> = (0..250)
        .map(|i| format!("X{i},,not-an-email,,,,,,,,,,,,"))
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let (status, problem) = import_csv(&app, &t.admin, &rows, "").await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 100);
    assert_eq!(problem["total_errors"], 250);
    assert_eq!(problem["errors"][99]["line"], 101);
}

#[tokio::test]
async fn roles_media_types_and_modes() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    assert_eq!(
        import_csv(&app, &t.viewer, &["A,,,,,,,,,,,,,,"], "")
            .await
            .0,
        403
    );
    assert_eq!(
        import_csv(&app, &t.approver, &["A,,,,,,,,,,,,,,"], "")
            .await
            .0,
        200
    );
    assert_eq!(
        app.get(&t.regulator, "/api/v1/subjects").await.0,
        403,
        "regulators see no personal data"
    );
    assert_eq!(app.get(&t.regulator, "/api/v1/subjects/A").await.0, 403);
    assert_eq!(
        app.patch(&t.viewer, "/api/v1/subjects/A", &json!({"name": "x"}))
            .await
            .0,
        403
    );
    assert_eq!(delete(&app, &t.viewer, "/api/v1/subjects/A").await, 403);
    let (status, problem) = send(
        &app,
        "POST",
        &t.admin,
        "/api/v1/subjects/import",
        "application/json",
        "{}".into(),
    )
    .await;
    assert_eq!(status, 415);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("text/csv or application/x-ndjson")
    );
    assert_eq!(
        import_csv(&app, &t.admin, &["A,,,,,,,,,,,,,,"], "?mode=maybe")
            .await
            .0,
        422
    );
    assert_eq!(
        app.get(&t.viewer, "/api/v1/subjects?jurisdiction=XX")
            .await
            .0,
        422
    );

    let (_, audit) = app.get(&t.admin, "/api/v1/audit").await;
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "subjects.import")
        .unwrap()
        .clone();
    assert_eq!(entry["details"]["imported"], 1, "{entry}");
}

#[test]
fn import_from_the_command_line() {
    let db = crate::helpers::TestDb::new().migrated();
    let (code, _, err) = run_cli(&db, &["tenants", "create", "acme", "--name", "Acme"]);
    assert_eq!(code, 0, "{err}");
    let good = db.dir.path().join("people.csv");
    std::fs::write(
        &good,
        format!("{HEADER}\nA,Ann,,,,JP,,,,,,,,,\nB,Bob,,,,DE,,,,,,,,,\n"),
    )
    .unwrap();
    let path = good.display().to_string();
    let (code, out, err) = run_cli(&db, &["import", "subjects", "--tenant", "acme", &path]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["imported"], 2);
    assert!(err.is_empty(), "no progress bar without a terminal: {err}");

    let bad = db.dir.path().join("people.jsonl");
    std::fs::write(
        &bad,
        "{\"external_id\":\"C\"}\n{\"external_id\":\"D\",\"phone\":\"1\"}\n",
    )
    .unwrap();
    let path = bad.display().to_string();
    let (code, out, err) = run_cli(&db, &["import", "subjects", "--tenant", "acme", &path]);
    assert_eq!(code, 1);
    assert!(err.contains("nothing was imported"), "{err}");
    let problem: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(problem["errors"][0]["line"], 2);
    let (code, out, _) = run_cli(
        &db,
        &[
            "import",
            "subjects",
            "--tenant",
            "acme",
            "--mode",
            "skip-invalid",
            &path,
        ],
    );
    assert_eq!(code, 0);
    assert!(out.contains("\"imported\": 1"), "{out}");
}
