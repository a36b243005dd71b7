//! Bearer tokens: what a refused token is told, and listing and revoking from the
//! command line.

use crate::helpers::{TestDb, read, run_cli, spawn_app};

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

#[tokio::test]
async fn a_revoked_token_is_refused_at_once() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let (status, _) = app.get(&t.viewer, "/api/v1/tenant").await;
    assert_eq!(status, 200);
    let (code, out, err) = run_cli(&app.test_db, &["tokens", "revoke", token_id(&t.viewer)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(token_id(&t.viewer)), "{out}");
    let (status, problem) = app.get(&t.viewer, "/api/v1/tenant").await;
    assert_eq!(status, 401);
    assert_eq!(problem["detail"], "token revoked", "{problem}");
    let (status, _) = app.get(&t.admin, "/api/v1/tenant").await;
    assert_eq!(status, 200, "other tokens still work");

    let (_, log) = app.get(&t.admin, "/api/v1/audit").await;
    let last = log["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "token.revoke", "{last}");
    assert_eq!(last["target"], format!("token:{}", token_id(&t.viewer)));
    assert_eq!(last["details"]["name"], "acme-viewer");
}

#[test]
fn tokens_are_listed_without_secrets_and_revoked_once() {
    let db = TestDb::new().migrated();
    for (slug, name) in [("acme", "Acme"), ("beta", "Beta")] {
        let (code, _, err) = run_cli(&db, &["tenants", "create", slug, "--name", name]);
        assert_eq!(code, 0, "{err}");
    }
    let create = |tenant: &str, role: &str, name: &str| {
        let (code, out, err) = run_cli(
            &db,
            &[
                "tokens", "create", "--tenant", tenant, "--role", role, "--name", name,
            ],
        );
        assert_eq!(code, 0, "{err}");
        out.trim().to_owned()
    };
    let alice = create("acme", "responder", "alice");
    let bob = create("acme", "viewer", "bob");
    let carol = create("beta", "admin", "carol");

    let (code, out, err) = run_cli(&db, &["tokens", "list"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 3, "{out}");
    let alice_line = lines
        .iter()
        .find(|l| l[0] == token_id(&alice))
        .expect("alice's token is listed");
    assert_eq!(alice_line[1..4], ["acme", "alice", "responder"]);
    assert!(
        chrono::DateTime::parse_from_rfc3339(alice_line[4]).is_ok(),
        "{out}"
    );
    assert_eq!(alice_line[5], "-", "not revoked");
    for bearer in [&alice, &bob, &carol] {
        let secret = bearer.split_once('.').unwrap().1;
        assert!(!out.contains(secret), "a secret was printed: {out}");
    }

    let (code, out, _) = run_cli(&db, &["tokens", "list", "--tenant", "beta"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with(&format!("{}\tbeta\tcarol\tadmin\t", token_id(&carol))));
    let (code, _, err) = run_cli(&db, &["tokens", "list", "--tenant", "nobody"]);
    assert_eq!(code, 1);
    assert!(err.contains("nobody"), "{err}");

    let (code, _, err) = run_cli(&db, &["tokens", "revoke", token_id(&bob)]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_cli(&db, &["tokens", "revoke", token_id(&bob)]);
    assert_eq!(code, 1);
    assert!(err.contains("already revoked"), "{err}");
    let (code, _, err) = run_cli(&db, &["tokens", "revoke", "0000000000000000"]);
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");

    let (_, out, _) = run_cli(&db, &["tokens", "list", "--tenant", "acme"]);
    let bob_line: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with(token_id(&bob)))
        .unwrap()
        .split('\t')
        .collect();
    assert!(
        chrono::DateTime::parse_from_rfc3339(bob_line[5]).is_ok(),
        "revocation time shown: {out}"
    );
    let (code, out, err) = run_cli(&db, &["audit", "verify", "--tenant", "acme"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("intact (4 entries)"),
        "tenant, 2 tokens, revoke: {out}"
    );
}
