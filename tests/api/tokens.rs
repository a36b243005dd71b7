//! Bearer tokens: what a refused token is told.

use crate::helpers::{read, spawn_app};

/// The public id of a bearer token `blt_<id>.<secret>`.
fn token_id(bearer: &str) -> &str {
    bearer
        .strip_prefix("blt_")
        .and_then(|rest| rest.split_once('.'))
        .unwrap()
        .0
}

#[tokio::test]
async fn a_missing_token_and_an_unknown_token_are_told_apart() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let (status, problem) = read(
        app.client
            .get(app.url("/api/v1/tenant"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("send Authorization: Bearer"),
        "{problem}"
    );
    let wrong_secret = format!("blt_{}.{}", token_id(&t.viewer), "0".repeat(64));
    for bearer in [
        "blt_0000000000000000.nope",
        "not-a-token",
        wrong_secret.as_str(),
    ] {
        let (status, problem) = app.get(bearer, "/api/v1/tenant").await;
        assert_eq!(status, 401, "{bearer}");
        assert_eq!(
            problem["detail"], "token not recognised",
            "{bearer}: {problem}"
        );
    }
}
