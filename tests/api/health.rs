use crate::helpers::{read, spawn_app};

#[tokio::test]
async fn healthz_names_the_database() {
    let app = spawn_app().await;
    let (status, body) = read(app.client.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    let expected = if app.test_db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["database"], expected);
}

#[tokio::test]
async fn unknown_routes_are_problem_documents() {
    let app = spawn_app().await;
    let (status, _) = read(app.client.get(app.url("/nope")).send().await.unwrap()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn every_documented_route_exists_and_requires_a_token() {
    let app = spawn_app().await;
    let (status, doc) = read(
        app.client
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 5, "paths: {paths:?}");
    for (path, ops) in paths {
        if path == "/healthz"
            || path == "/api/v1/openapi.json"
            || path.starts_with("/api/v1/receipts/")
            || path.starts_with("/b/")
        {
            continue;
        }
        let concrete = path
            .replace("{id}", "0193c0de-0000-7000-8000-000000000000")
            .replace("{obligation}", "x")
            .replace("{dispatch}", "x")
            .replace("{b}", "x")
            .replace("{task}", "x")
            .replace("{kind}", "media_notice")
            .replace("{external_id}", "S-1");
        let methods = ops
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()));
        for method in methods {
            let req = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&concrete));
            let (status, _) = read(req.send().await.unwrap()).await;
            assert_eq!(
                status, 401,
                "{method} {path} must exist and require a token"
            );
        }
    }
}

/// A documented path called with a method it does not take answers 405 with the
/// methods it does take; an unknown path stays 404.
#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_405_with_allow() {
    let app = crate::helpers::spawn_app().await;
    let resp = app
        .client
        .request(reqwest::Method::TRACE, app.url("/api/v1/subjects/import"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let resp = app
        .client
        .request(
            reqwest::Method::PUT,
            app.url("/api/v1/incidents/x/timeline"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["allow"], "GET, POST");
    let resp = app
        .client
        .get(app.url("/api/v1/nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

/// `(METHOD, path)` for every route registered in src/web/api/*.rs, read from the
/// source: `.route("/path", web::method()` with whitespace removed, under `/api/v1`.
fn registered_routes() -> std::collections::BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web/api");
    let mut routes = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source: String = std::fs::read_to_string(&path)
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for call in source.split("route(\"").skip(1) {
            let (route, rest) = call.split_once('"').unwrap();
            let method = rest
                .strip_prefix(",web::")
                .and_then(|r| r.split_once("()"))
                .map(|(m, _)| m.to_uppercase())
                .unwrap_or_else(|| {
                    panic!("{}: route {route} without web::METHOD()", path.display())
                });
            routes.insert((method, format!("/api/v1{route}")));
        }
    }
    routes
}

/// Every route the API registers is in the OpenAPI document with its method, and
/// the document lists no operation the server does not have: a new route cannot
/// go undocumented (nor schemathesis miss it).
#[test]
fn the_document_lists_exactly_the_registered_routes() {
    let doc: serde_json::Value = serde_json::from_str(breachline::web::api::OPENAPI).unwrap();
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.starts_with("/api/v1/"))
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "put", "post", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let registered = registered_routes();
    assert!(registered.len() > 40, "the scan found {registered:?}");
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "routes missing from src/web/api/openapi.json: {undocumented:?}; documented but not registered: {unserved:?}"
    );
}
