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
        {
            continue;
        }
        let concrete = path
            .replace("{id}", "0193c0de-0000-7000-8000-000000000000")
            .replace("{obligation}", "x")
            .replace("{dispatch}", "x")
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
