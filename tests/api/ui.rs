//! The web UI over HTTP: sessions, cookies, CSRF, throttling, audit, escaping,
//! languages, security headers. The browser tests (`browser.rs`) drive the same
//! pages in a real Chromium.

use breachline::domain::Role;
use serde_json::json;

use crate::helpers::spawn_app_with;
use crate::helpers::ui::{self, PASSWORD, Session};
use crate::helpers::{TestApp, spawn_app};

async fn audit_actions(app: &TestApp, token: &str) -> Vec<String> {
    let (_, body) = app.get(token, "/api/v1/audit?limit=200").await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sign_in_sets_a_hardened_cookie_is_audited_and_sign_out_ends_it() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "alice@example.org", Role::Responder);

    assert_eq!(
        Session::sign_in(&app, "alice@example.org", "wrong password here")
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        Session::sign_in(&app, "nobody@example.org", PASSWORD)
            .await
            .err(),
        Some(401)
    );

    // The cookie: HttpOnly, SameSite=Lax, not Secure over plain http.
    let client = ui::client();
    let resp = ui::post_sign_in(
        &client,
        &app,
        "Alice@Example.org",
        PASSWORD,
        "//evil.example/",
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/incidents", "no open redirect");
    let cookie = ui::set_cookie(&resp, "bl_session").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "{cookie}");

    // Every UI page carries the security headers.
    let session = Session::sign_in(&app, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let resp = session
        .client
        .get(app.url("/incidents"))
        .header("cookie", format!("bl_session={}", session.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.headers()["referrer-policy"], "same-origin");

    let resp = session
        .post("/sign-out", &[("csrf_token", &session.csrf)])
        .await;
    assert_eq!(resp.status(), 303);
    assert!(
        ui::set_cookie(&resp, "bl_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = session.get("/incidents").await;
    assert_eq!(status, 303, "the ended session no longer signs in");

    let actions = audit_actions(&app, &t.admin).await;
    for action in ["user.sign_in_failed", "user.sign_in", "user.sign_out"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = spawn_app_with(&[("BREACHLINE_PUBLIC_URL", "https://breachline.example")]).await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "alice@example.org", Role::Responder);
    let client = ui::client();
    let form = client.get(app.url("/sign-in")).send().await.unwrap();
    assert!(ui::set_cookie(&form, "bl_csrf").unwrap().contains("Secure"));
    let pre = ui::cookie_value(&ui::set_cookie(&form, "bl_csrf").unwrap());
    let token = ui::csrf_of(&form.text().await.unwrap());
    let resp = client
        .post(app.url("/sign-in"))
        .header("cookie", format!("bl_csrf={pre}"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", "alice@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let cookie = ui::set_cookie(&resp, "bl_session").unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn repeated_failures_throttle_the_account_even_with_the_right_password() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "alice@example.org", Role::Responder);
    for _ in 0..5 {
        assert_eq!(
            Session::sign_in(&app, "alice@example.org", "not the password at all")
                .await
                .err(),
            Some(401)
        );
    }
    assert_eq!(
        Session::sign_in(&app, "alice@example.org", PASSWORD)
            .await
            .err(),
        Some(429)
    );
    assert!(
        audit_actions(&app, &t.admin)
            .await
            .iter()
            .any(|a| a == "user.sign_in_throttled")
    );
}

#[tokio::test]
async fn forms_without_their_csrf_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "alice@example.org", Role::Responder);
    let s = Session::sign_in(&app, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let new = [("title", "Forged"), ("discovered_at", "2026-11-20T10:00")];
    let resp = s.post("/incidents", &new).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let resp = s
        .post(
            "/incidents",
            &[
                ("csrf_token", &"0".repeat(64)),
                ("title", "Forged"),
                ("discovered_at", "2026-11-20T10:00"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 403);
    let (_, list) = app.get(&t.viewer, "/api/v1/incidents").await;
    assert_eq!(list["items"], json!([]), "nothing was filed");

    let id = app.incident(&t.responder).await;
    let (_, before) = app.get(&t.viewer, &format!("/api/v1/incidents/{id}")).await;
    let resp = s
        .post(&format!("/incidents/{id}/facts"), &[("title", "Changed")])
        .await;
    assert_eq!(resp.status(), 403);
    let resp = s
        .post(
            &format!("/incidents/{id}/timeline"),
            &[("text", "Forged entry")],
        )
        .await;
    assert_eq!(resp.status(), 403);
    let (_, after) = app.get(&t.viewer, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(before, after);
    let (_, timeline) = app
        .get(&t.viewer, &format!("/api/v1/incidents/{id}/timeline"))
        .await;
    assert!(!timeline.to_string().contains("Forged"));
    let resp = s.post("/sign-out", &[]).await;
    assert_eq!(resp.status(), 403);

    // The sign-in form's double-submit token too.
    let resp = ui::client()
        .post(app.url("/sign-in"))
        .form(&[("email", "alice@example.org"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // A session cookie reads through the API but cannot change anything there.
    let resp = s
        .client
        .get(app.url("/api/v1/incidents"))
        .header("cookie", format!("bl_session={}", s.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = s
        .client
        .post(app.url("/api/v1/incidents"))
        .header("cookie", format!("bl_session={}", s.cookie))
        .json(&json!({"title": "Via cookie", "discovered_at": "2026-11-20T10:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn invalid_fields_are_shown_next_to_their_inputs_with_the_api_reason() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "alice@example.org", Role::Responder);
    let s = Session::sign_in(&app, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let resp = s
        .post(
            "/incidents",
            &[
                ("csrf_token", &s.csrf),
                ("title", "Late discovery"),
                ("occurred_at", "2026-11-21T10:00"),
                ("discovered_at", "2026-11-20T10:00"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(r#"aria-describedby="err-new-discovered_at""#),
        "{html}"
    );
    let at = html.find(r#"id="err-new-discovered_at""#).unwrap();
    assert!(
        html[at..at + 200].contains("is before occurred_at"),
        "{}",
        &html[at..at + 200]
    );
    assert!(
        html.contains(r#"value="Late discovery""#),
        "typed values are kept"
    );
    let resp = s
        .post(
            "/incidents",
            &[
                ("csrf_token", &s.csrf),
                ("title", "X"),
                ("estimated_affected", "many"),
            ],
        )
        .await;
    let html = resp.text().await.unwrap();
    assert!(html.contains(r#"aria-describedby="err-new-estimated_affected""#));
    let at = html.find(r#"id="err-new-discovered_at""#).unwrap();
    assert!(
        html[at..at + 100].contains("is required"),
        "{}",
        &html[at..at + 100]
    );

    let resp = s
        .post(
            "/incidents",
            &[
                ("csrf_token", &s.csrf),
                ("title", "Good"),
                ("discovered_at", "2026-11-20T10:00"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let (status, page) = s.get(&location).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"<time datetime="2026-11-20T10:00:00Z">2026-11-20 10:00 UTC (UTC)</time>"#),
        "times name their zone"
    );
}

#[tokio::test]
async fn script_in_a_title_or_timeline_is_shown_as_text() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "alice@example.org", Role::Viewer);
    let title = "<script>alert('x')</script>";
    let (_, incident) = app
        .post(
            &t.responder,
            "/api/v1/incidents",
            &json!({"title": title, "discovered_at": "2026-11-20T10:00:00Z"}),
        )
        .await;
    let id = incident["id"].as_str().unwrap();
    app.post(
        &t.responder,
        &format!("/api/v1/incidents/{id}/timeline"),
        &json!({"text": "<img src=x onerror=alert(1)>"}),
    )
    .await;
    let s = Session::sign_in(&app, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    for path in ["/incidents".to_owned(), format!("/incidents/{id}")] {
        let (status, html) = s.get(&path).await;
        assert_eq!(status, 200);
        assert!(!html.contains("<script>alert"), "{path}");
        assert!(html.contains("&lt;script&gt;alert("), "{path}");
        assert!(!html.contains("<img src=x"), "{path}");
    }
}

#[tokio::test]
async fn pages_speak_the_browsers_language_or_the_users_choice() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "alice@example.org", Role::Responder);
    let client = ui::client();
    for (accept, lang, word) in [
        ("ja,en;q=0.5", "ja", "サインイン"),
        ("zh-CN,zh;q=0.9", "zh-CN", "登录"),
        ("fr", "en", "Sign in"),
    ] {
        let html = client
            .get(app.url("/sign-in"))
            .header("accept-language", accept)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!(r#"<html lang="{lang}">"#)),
            "{accept}"
        );
        assert!(html.contains(word), "{accept}");
    }
    let s = Session::sign_in(&app, "alice@example.org", PASSWORD)
        .await
        .unwrap();
    let (_, html) = s.get_with("/incidents", &[("accept-language", "ja")]).await;
    assert!(html.contains("インシデント"));
    // The user's own choice wins over the browser's; times move to their zone.
    let resp = s
        .post(
            "/preferences",
            &[
                ("csrf_token", &s.csrf),
                ("locale", "zh-CN"),
                ("time_zone", "Asia/Tokyo"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let id = app.incident(&t.responder).await;
    let (_, html) = s
        .get_with(&format!("/incidents/{id}"), &[("accept-language", "ja")])
        .await;
    assert!(html.contains(r#"<html lang="zh-CN">"#));
    assert!(html.contains("事实"));
    assert!(
        html.contains(r#"name="discovered_at" type="datetime-local" value="2026-03-02T10:00""#),
        "shown in Tokyo time"
    );
    assert!(html.contains("(Asia/Tokyo)"));
}

#[tokio::test]
async fn a_set_password_link_checks_the_password_and_works_once() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    let path = ui::invited(&app, &t.id, "new@example.org", Role::Admin);
    let client = ui::client();
    let form = client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let pre = ui::cookie_value(&ui::set_cookie(&form, "bl_csrf").unwrap());
    let token = ui::csrf_of(&form.text().await.unwrap());
    let post = |password: &'static str| {
        client
            .post(app.url(&path))
            .header("cookie", format!("bl_csrf={pre}"))
            .form(&[
                ("csrf_token", token.clone()),
                ("password", password.to_owned()),
            ])
            .send()
    };
    for weak in ["short", "password1234"] {
        let resp = post(weak).await.unwrap();
        assert_eq!(resp.status(), 422);
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(r#"id="err-password""#) && html.contains("err-password\""),
            "{html}"
        );
    }
    let resp = post(PASSWORD).await.unwrap();
    assert_eq!(resp.status(), 303);
    assert!(
        ui::set_cookie(&resp, "bl_session").is_some(),
        "signed in at once"
    );
    assert_eq!(post(PASSWORD).await.unwrap().status(), 410, "used once");
    assert!(
        Session::sign_in(&app, "new@example.org", PASSWORD)
            .await
            .is_ok()
    );
    let actions = audit_actions(&app, &t.admin).await;
    assert!(
        actions.iter().any(|a| a == "user.password_set"),
        "{actions:?}"
    );
}

#[test]
fn users_create_prints_only_the_set_password_url() {
    use crate::helpers::{TestDb, run_cli_with};
    let db = TestDb::new().migrated();
    let env = [("BREACHLINE_PUBLIC_URL", "https://breachline.example")];
    let cwd = db.dir.path().to_owned();
    let (code, _, err) = run_cli_with(
        &db,
        &cwd,
        &env,
        &[
            "tenants",
            "create",
            "acme",
            "--name",
            "Acme",
            "--establishment",
            "JP",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let args = [
        "users",
        "create",
        "--tenant",
        "acme",
        "--email",
        "Admin@Example.org",
        "--role",
        "admin",
    ];
    let (code, out, err) = run_cli_with(&db, &cwd, &env, &args);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(
        lines[0].starts_with("https://breachline.example/set-password/"),
        "{out}"
    );
    assert_eq!(
        lines[0].len(),
        "https://breachline.example/set-password/".len() + 64
    );
    let (code, _, err) = run_cli_with(&db, &cwd, &env, &args);
    assert_eq!(code, 1);
    assert!(err.contains("email") && err.contains("already"), "{err}");
    let (code, out, _) = run_cli_with(&db, &cwd, &env, &["users", "list"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        "admin@example.org\tacme\tadmin\tno password yet"
    );
}

#[tokio::test]
async fn admins_add_people_from_the_settings_page_and_others_may_not() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "admin@example.org", Role::Admin);
    ui::user(&app, &t.id, "resp@example.org", Role::Responder);
    let admin = Session::sign_in(&app, "admin@example.org", PASSWORD)
        .await
        .unwrap();
    let (status, html) = admin.get("/settings").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("resp@example.org") && html.contains("acme-responder"),
        "users and tokens listed"
    );
    assert!(!html.contains("blt_"), "no token secret");
    let resp = admin
        .post(
            "/settings/users",
            &[
                ("csrf_token", &admin.csrf),
                ("email", "not-an-address"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains(r#"aria-describedby="err-user-email""#)
    );
    let resp = admin
        .post(
            "/settings/users",
            &[
                ("csrf_token", &admin.csrf),
                ("email", "new@example.org"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 201);
    let html = resp.text().await.unwrap();
    let start = html.find("/set-password/").unwrap();
    let link = &html[start..start + "/set-password/".len() + 64];
    let (status, _) = ui::client()
        .get(app.url(link))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 200, "the link shown works");
    let responder = Session::sign_in(&app, "resp@example.org", PASSWORD)
        .await
        .unwrap();
    let (status, _) = responder.get("/settings").await;
    assert_eq!(status, 403);
    let resp = responder
        .post(
            "/settings/users",
            &[
                ("csrf_token", &responder.csrf),
                ("email", "x@example.org"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 403);
    assert!(
        audit_actions(&app, &t.admin)
            .await
            .iter()
            .any(|a| a == "user.create")
    );
}

/// The id of the user with this address (from the store, as the page's row ids are).
fn user_id(app: &TestApp, email: &str) -> String {
    let email = email.to_owned();
    app.db
        .read_blocking(move |conn| breachline::store::users::find_by_email(conn, &email))
        .unwrap()
        .unwrap()
        .id
}

async fn tenant_profile(app: &TestApp, token: &str) -> serde_json::Value {
    let (status, body) = app.get(token, "/api/v1/tenant").await;
    assert_eq!(status, 200);
    body["tenant"].clone()
}

#[tokio::test]
async fn admins_edit_the_tenant_profile_with_errors_next_to_their_field() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "admin@example.org", Role::Admin);
    ui::user(&app, &t.id, "resp@example.org", Role::Responder);
    // A part the form does not edit (the team) survives the form's replacement.
    let resp = app
        .client
        .put(app.url("/api/v1/tenant/profile"))
        .bearer_auth(&t.admin)
        .json(&json!({"establishments": ["JP"], "team": {"emails": ["ir@example.org"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let admin = Session::sign_in(&app, "admin@example.org", PASSWORD)
        .await
        .unwrap();
    let (status, html) = admin.get("/settings").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"name="notices.send_window.start""#),
        "{html}"
    );
    assert!(html.contains(r#"<label for="profile-commitments">"#));

    let commitments = r#"[{"id": "jc-task-30wd", "recipient": "subjects", "working_days": 30, "calendar": "JP", "time_zone": "Asia/Tokyo"}]"#;
    let good = [
        ("csrf_token", admin.csrf.as_str()),
        ("establishments", "JP\nUS-CA"),
        ("closures", "2026-12-29\n2026-12-30"),
        ("commitments", commitments),
        ("notices.channels", "email\nletter"),
        ("notices.channels_only", "true"),
        ("notices.send_window.start", "08:00"),
        ("notices.send_window.end", "21:00"),
        ("notices.send_window.time_zone", "Asia/Tokyo"),
        ("notices.send_window.channels", "sms"),
        ("notices.send_window.channels", "phone"),
        ("notices.unit_costs.currency", "JPY"),
        ("notices.unit_costs.letter", "120"),
        ("notices.unit_costs.sms", "7.5"),
    ];
    let resp = admin.post("/settings/profile", &good).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/settings#profile");
    let tenant = tenant_profile(&app, &t.admin).await;
    assert_eq!(tenant["establishments"], json!(["JP", "US-CA"]));
    let profile = &tenant["profile"];
    assert_eq!(profile["closures"], json!(["2026-12-29", "2026-12-30"]));
    assert_eq!(profile["commitments"][0]["working_days"], 30);
    assert_eq!(profile["team"]["emails"], json!(["ir@example.org"]));
    let notices = &profile["notices"];
    assert_eq!(notices["channels"], json!(["email", "letter"]));
    assert_eq!(notices["channels_only"], true);
    assert_eq!(
        notices["send_window"],
        json!({"start": "08:00", "end": "21:00", "time_zone": "Asia/Tokyo", "channels": ["sms", "phone"]})
    );
    assert_eq!(notices["unit_costs"]["currency"], "JPY");
    assert_eq!(notices["unit_costs"]["sms"], 7.5);
    let (_, html) = admin.get("/settings").await;
    assert!(
        html.contains(r#"id="profile-notices-send_window-start" name="notices.send_window.start" type="text" value="08:00""#),
        "the stored value is shown"
    );

    // The API's reason stands next to its field, tied by aria-describedby; nothing changes.
    let mut bad = good.to_vec();
    bad.retain(|(k, _)| *k != "notices.send_window.start");
    bad.push(("notices.send_window.start", "25:00"));
    bad.retain(|(k, _)| *k != "commitments");
    bad.push(("commitments", r#"[{"id": "x", "recipient": "subjects"}]"#));
    let resp = admin.post("/settings/profile", &bad).await;
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(r#"aria-describedby="err-profile-notices-send_window-start""#),
        "{html}"
    );
    assert!(html.contains(r#"<p class="error" id="err-profile-notices-send_window-start">"#));
    assert!(html.contains(r#"aria-describedby="err-profile-commitments""#));
    assert!(html.contains("value=\"25:00\""), "the typed value is kept");
    assert_eq!(tenant_profile(&app, &t.admin).await, tenant);

    // Without the CSRF token, or not an admin: 403 and nothing changed.
    let forged: Vec<_> = good
        .iter()
        .filter(|(k, _)| *k != "csrf_token")
        .copied()
        .collect();
    let mut changed = forged.clone();
    changed.push(("notices.unit_costs.email", "9"));
    assert_eq!(
        admin.post("/settings/profile", &changed).await.status(),
        403
    );
    let responder = Session::sign_in(&app, "resp@example.org", PASSWORD)
        .await
        .unwrap();
    let mut as_responder = changed.clone();
    as_responder.push(("csrf_token", responder.csrf.as_str()));
    assert_eq!(
        responder
            .post("/settings/profile", &as_responder)
            .await
            .status(),
        403
    );
    assert_eq!(tenant_profile(&app, &t.admin).await, tenant);
    assert!(
        audit_actions(&app, &t.admin)
            .await
            .iter()
            .any(|a| a == "tenant.profile")
    );
}

#[tokio::test]
async fn a_new_tokens_secret_is_shown_once_and_revoking_it_is_audited() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "admin@example.org", Role::Admin);
    ui::user(&app, &t.id, "resp@example.org", Role::Responder);
    let admin = Session::sign_in(&app, "admin@example.org", PASSWORD)
        .await
        .unwrap();
    let (_, before) = admin.get("/settings").await;
    let rows = |html: &str| html.matches(r#"<tr id="token-"#).count();

    // Without the CSRF token or as a non-admin: 403, no token.
    let fields = [("name", "ci"), ("role", "viewer")];
    assert_eq!(admin.post("/settings/tokens", &fields).await.status(), 403);
    let responder = Session::sign_in(&app, "resp@example.org", PASSWORD)
        .await
        .unwrap();
    let mut theirs = fields.to_vec();
    theirs.push(("csrf_token", &responder.csrf));
    assert_eq!(
        responder.post("/settings/tokens", &theirs).await.status(),
        403
    );
    let (_, html) = admin.get("/settings").await;
    assert_eq!(rows(&html), rows(&before));

    let resp = admin
        .post(
            "/settings/tokens",
            &[
                ("csrf_token", &admin.csrf),
                ("name", " "),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains(r#"aria-describedby="err-token-name""#)
    );

    let resp = admin
        .post(
            "/settings/tokens",
            &[
                ("csrf_token", &admin.csrf),
                ("name", "ci"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 201);
    let html = resp.text().await.unwrap();
    let start = html.find(r#"<code id="new-token">"#).unwrap() + r#"<code id="new-token">"#.len();
    let bearer = html[start..].split('<').next().unwrap().to_owned();
    assert!(bearer.starts_with("blt_"), "{bearer}");
    let (status, _) = app.get(&bearer, "/api/v1/incidents").await;
    assert_eq!(status, 200, "the token shown works");
    let (_, html) = admin.get("/settings").await;
    assert!(
        !html.contains(&bearer) && !html.contains("blt_"),
        "never shown again"
    );
    assert_eq!(rows(&html), rows(&before) + 1);

    let id = bearer
        .strip_prefix("blt_")
        .and_then(|rest| rest.split_once('.'))
        .unwrap()
        .0
        .to_owned();
    let revoke = format!("/settings/tokens/{id}/revoke");
    assert_eq!(
        admin.post(&revoke, &[]).await.status(),
        403,
        "no CSRF token"
    );
    assert_eq!(app.get(&bearer, "/api/v1/incidents").await.0, 200);
    let resp = admin.post(&revoke, &[("csrf_token", &admin.csrf)]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(app.get(&bearer, "/api/v1/incidents").await.0, 401);
    let resp = admin.post(&revoke, &[("csrf_token", &admin.csrf)]).await;
    assert_eq!(resp.status(), 409, "revoked already");

    let (_, audit) = app.get(&t.admin, "/api/v1/audit?limit=200").await;
    let entries = audit["items"].as_array().unwrap();
    for action in ["token.create", "token.revoke"] {
        let entry = entries.iter().find(|e| e["action"] == action).unwrap();
        assert!(
            entry["actor"]
                .as_str()
                .unwrap()
                .ends_with(":admin@example.org"),
            "{entry}"
        );
        assert_eq!(entry["target"], format!("token:{id}"));
        assert!(
            !entry.to_string().contains(&bearer[12..]),
            "no secret in the log"
        );
    }
}

#[tokio::test]
async fn admins_change_roles_and_disable_people_but_not_themselves() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "admin@example.org", Role::Admin);
    ui::user(&app, &t.id, "resp@example.org", Role::Responder);
    let admin = Session::sign_in(&app, "admin@example.org", PASSWORD)
        .await
        .unwrap();
    let responder = Session::sign_in(&app, "resp@example.org", PASSWORD)
        .await
        .unwrap();
    let resp_id = user_id(&app, "resp@example.org");
    let admin_id = user_id(&app, "admin@example.org");
    let role_of = |s: &Session| {
        let s = s
            .client
            .get(app.url("/api/v1/tenant"))
            .header("cookie", format!("bl_session={}", s.cookie));
        async move {
            s.send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()["role"]
                .clone()
        }
    };

    let to_viewer = format!("/settings/users/{resp_id}/role");
    assert_eq!(
        admin.post(&to_viewer, &[("role", "viewer")]).await.status(),
        403
    );
    assert_eq!(
        responder
            .post(
                &format!("/settings/users/{admin_id}/role"),
                &[("csrf_token", &responder.csrf), ("role", "viewer")]
            )
            .await
            .status(),
        403
    );
    assert_eq!(role_of(&responder).await, "responder");
    let resp = admin
        .post(
            &to_viewer,
            &[("csrf_token", &admin.csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(role_of(&responder).await, "viewer");

    let resp = admin
        .post(
            &format!("/settings/users/{admin_id}/role"),
            &[("csrf_token", &admin.csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(resp.status(), 409);
    assert!(resp.text().await.unwrap().contains("your own role"));

    let disable = format!("/settings/users/{resp_id}/disabled");
    assert_eq!(
        admin.post(&disable, &[("disabled", "true")]).await.status(),
        403
    );
    assert_eq!(responder.get("/incidents").await.0, 200);
    let resp = admin
        .post(
            &disable,
            &[("csrf_token", &admin.csrf), ("disabled", "true")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        responder.get("/incidents").await.0,
        303,
        "their session ended"
    );
    assert_eq!(
        Session::sign_in(&app, "resp@example.org", PASSWORD)
            .await
            .err(),
        Some(401)
    );
    let (_, html) = admin.get("/settings").await;
    assert!(html.contains(&format!(r#"action="/settings/users/{resp_id}/disabled""#)));
    let resp = admin
        .post(
            &disable,
            &[("csrf_token", &admin.csrf), ("disabled", "false")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert!(
        Session::sign_in(&app, "resp@example.org", PASSWORD)
            .await
            .is_ok()
    );

    let actions = audit_actions(&app, &t.admin).await;
    for action in ["user.role", "user.disable", "user.enable"] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

/// The `href` of the first link with this class.
fn link_of(html: &str, class: &str) -> String {
    let marker = format!(r#"" class="{class}""#);
    let end = html
        .find(&marker)
        .unwrap_or_else(|| panic!("a {class} link"));
    let start = html[..end].rfind(r#"href=""#).unwrap() + r#"href=""#.len();
    html[start..end].to_owned()
}

#[tokio::test]
async fn responders_generate_reports_fill_items_and_record_submissions_on_the_incident_page() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "resp@example.org", Role::Responder);
    ui::user(&app, &t.id, "view@example.org", Role::Viewer);
    let id = crate::dispatch::planned_incident(&app, &t, &crate::dispatch::PEOPLE, "none").await;
    let s = Session::sign_in(&app, "resp@example.org", PASSWORD)
        .await
        .unwrap();
    let page = format!("/incidents/{id}");
    let (status, html) = s.get(&page).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<section id="reports">"#) && html.contains(r#"<option value="appi""#),
        "{html}"
    );
    let reports_api = format!("/api/v1/incidents/{id}/reports");
    let count = || async {
        app.get(&t.viewer, &reports_api).await.1["items"]
            .as_array()
            .unwrap()
            .len()
    };

    let generate = format!("/incidents/{id}/reports");
    let fields = [("regime", "appi"), ("phase", "preliminary")];
    assert_eq!(s.post(&generate, &fields).await.status(), 403);
    let viewer = Session::sign_in(&app, "view@example.org", PASSWORD)
        .await
        .unwrap();
    let (_, as_viewer) = viewer.get(&page).await;
    assert!(
        !as_viewer.contains(r#"id="generate-report""#),
        "a viewer has no form"
    );
    let mut theirs = fields.to_vec();
    theirs.push(("csrf_token", &viewer.csrf));
    assert_eq!(viewer.post(&generate, &theirs).await.status(), 403);
    assert_eq!(count().await, 0, "nothing generated");

    let resp = s
        .post(
            &generate,
            &[("csrf_token", &s.csrf), ("regime", "appi"), ("phase", "")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains(r#"aria-describedby="err-report-phase""#)
    );

    let mut ours = fields.to_vec();
    ours.push(("csrf_token", &s.csrf));
    let resp = s.post(&generate, &ours).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        format!("/incidents/{id}#reports")
    );
    assert_eq!(count().await, 1);
    let (_, html) = s.get(&page).await;
    let report = app.get(&t.viewer, &reports_api).await.1["items"][0].clone();
    let report_id = report["id"].as_str().unwrap();
    let link = link_of(&html, "report-html");
    assert_eq!(
        link,
        format!("/api/v1/incidents/{id}/reports/{report_id}.html")
    );
    assert!(html.contains(&format!(
        r#"href="/api/v1/incidents/{id}/reports/{report_id}.pdf""#
    )));
    let (status, document) = s.get(&link).await;
    assert_eq!(status, 200, "the link opens with the session");
    assert!(document.contains("<html"), "{document}");

    // The team's items: saved through the API's answers, an unknown item refused by name.
    let answers = format!("/incidents/{id}/reports/answers");
    let resp = s
        .post(
            &answers,
            &[
                ("csrf_token", &s.csrf),
                ("regime", "appi"),
                ("answers.secondary_damage", "二次被害は確認されていない。"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, stored) = app
        .get(
            &t.responder,
            &format!("/api/v1/incidents/{id}/reports/answers?regime=appi"),
        )
        .await;
    assert_eq!(
        stored["answers"]["secondary_damage"]["value"],
        "二次被害は確認されていない。"
    );
    let (_, html) = s.get(&page).await;
    assert!(
        html.contains(r#"name="answers.secondary_damage""#)
            && html.contains("二次被害は確認されていない。")
    );
    let resp = s
        .post(
            &answers,
            &[
                ("csrf_token", &s.csrf),
                ("regime", "appi"),
                ("answers.nope", "x"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("answers.nope: the appi report has no item")
    );

    // Recording a submission: the API's reasons beside the fields; missing items refuse it.
    let submit = format!("/incidents/{id}/reports/{report_id}/submit");
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let resp = s
        .post(
            &submit,
            &[
                ("csrf_token", &s.csrf),
                ("submitted_at", "2027-03-02T10:00"),
                ("channel", "portal"),
                ("reference", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains(&format!(
        r#"aria-describedby="err-submit-{report_id}-reference""#
    )));
    let resp = s
        .post(
            &submit,
            &[
                ("csrf_token", &s.csrf),
                ("submitted_at", &hour_ago),
                ("channel", "portal"),
                ("reference", "PPC-1"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 409, "required items are missing");
    assert!(resp.text().await.unwrap().contains(r#"role="alert""#));
    assert_eq!(
        app.get(&t.viewer, &reports_api).await.1["items"][0]["submitted"],
        json!(null)
    );
}

#[tokio::test]
async fn bulletins_are_drafted_on_the_incident_page_and_published_by_a_second_person() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "resp@example.org", Role::Responder);
    ui::user(&app, &t.id, "appr@example.org", Role::Approver);
    let id = app.incident(&t.responder).await;
    let s = Session::sign_in(&app, "resp@example.org", PASSWORD)
        .await
        .unwrap();
    let page = format!("/incidents/{id}");
    let (_, html) = s.get(&page).await;
    assert!(html.contains(r#"id="draft-bulletin""#) && html.contains(r#"name="locales.ja.title""#));
    let list = format!("/api/v1/incidents/{id}/bulletins");
    let draft = format!("/incidents/{id}/bulletins");
    let mut text: Vec<(String, String)> = vec![("default_locale".into(), "en".into())];
    for item in [
        "title",
        "summary",
        "likely_impact",
        "measures_taken",
        "advice",
        "remedies",
    ] {
        text.push((
            format!("locales.en.{item}"),
            format!("The {item} of the bulletin."),
        ));
    }
    text.push((
        "locales.en.contact.email".into(),
        "privacy@acme.example".into(),
    ));
    let fields: Vec<(&str, &str)> = text.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(s.post(&draft, &fields).await.status(), 403, "no CSRF token");
    assert_eq!(app.get(&t.viewer, &list).await.1["items"], json!([]));

    let mut wrong = fields.clone();
    wrong[0] = ("default_locale", "ja");
    wrong.push(("csrf_token", &s.csrf));
    let resp = s.post(&draft, &wrong).await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains(r#"aria-describedby="err-bulletin-default_locale""#)
    );

    let mut ours = fields.clone();
    ours.push(("csrf_token", &s.csrf));
    let resp = s.post(&draft, &ours).await;
    assert_eq!(resp.status(), 303);
    let (_, bulletins) = app.get(&t.viewer, &list).await;
    let bulletin = bulletins["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(bulletins["items"][0]["status"], "awaiting_approval");
    let (_, html) = s.get(&page).await;
    assert!(
        html.contains(&format!("/b/acme/{bulletin}")),
        "the public page is linked"
    );
    assert!(
        !html.contains("approve-bulletin"),
        "the author cannot approve"
    );

    let approver = Session::sign_in(&app, "appr@example.org", PASSWORD)
        .await
        .unwrap();
    let (_, html) = approver.get(&page).await;
    assert!(html.contains("approve-bulletin"));
    let approve = format!("/incidents/{id}/bulletins/{bulletin}/approve");
    assert_eq!(
        approver.post(&approve, &[]).await.status(),
        403,
        "no CSRF token"
    );
    assert_eq!(
        s.post(&approve, &[("csrf_token", &s.csrf)]).await.status(),
        403,
        "a responder may not approve"
    );
    let resp = approver
        .post(&approve, &[("csrf_token", &approver.csrf)])
        .await;
    assert_eq!(resp.status(), 303);
    let (_, bulletins) = app.get(&t.viewer, &list).await;
    assert_eq!(bulletins["items"][0]["status"], "published");
    let (status, public) = ui::client()
        .get(app.url(&format!("/b/acme/{bulletin}")))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        public
            .text()
            .await
            .unwrap()
            .contains("The title of the bulletin.")
    );
}

#[tokio::test]
async fn tasks_are_done_skipped_and_reopened_from_the_incident_page() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "resp@example.org", Role::Responder);
    let id = crate::dispatch::planned_incident(&app, &t, &crate::dispatch::PEOPLE, "none").await;
    let s = Session::sign_in(&app, "resp@example.org", PASSWORD)
        .await
        .unwrap();
    let api = format!("/api/v1/incidents/{id}/tasks");
    let (_, tasks) = app.get(&t.responder, &api).await;
    let task = tasks["items"][0]["id"].as_str().unwrap().to_owned();
    let state = || async {
        let (_, tasks) = app.get(&t.responder, &api).await;
        tasks["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == task.as_str())
            .unwrap()["state"]
            .clone()
    };
    let form = format!("/incidents/{id}/tasks/{task}");
    let (_, html) = s.get(&format!("/incidents/{id}")).await;
    assert!(html.contains(&format!(r#"action="{form}""#)));

    assert_eq!(s.post(&form, &[("state", "done")]).await.status(), 403);
    assert_eq!(state().await, "open");
    let resp = s
        .post(
            &form,
            &[
                ("csrf_token", &s.csrf),
                ("state", "skipped"),
                ("skipped_reason", ""),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains(&format!(
        r#"aria-describedby="err-task-{task}-skipped_reason""#
    )));
    let resp = s
        .post(
            &form,
            &[
                ("csrf_token", &s.csrf),
                ("state", "done"),
                ("evidence", "ticket IR-7"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], format!("/incidents/{id}#tasks"));
    assert_eq!(state().await, "done");
    let (_, html) = s.get(&format!("/incidents/{id}")).await;
    assert!(html.contains("ticket IR-7") && html.contains("task-reopen"));
    let resp = s
        .post(&form, &[("csrf_token", &s.csrf), ("state", "open")])
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(state().await, "open");
    let resp = s
        .post(
            &form,
            &[
                ("csrf_token", &s.csrf),
                ("state", "skipped"),
                ("skipped_reason", "not our system"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(state().await, "skipped");
    assert!(
        audit_actions(&app, &t.admin)
            .await
            .iter()
            .any(|a| a == "task.skip")
    );
}

#[tokio::test]
async fn a_regulator_user_reaches_none_of_the_teams_pages() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    ui::user(&app, &t.id, "ppc@example.org", Role::Regulator);
    let client = ui::client();
    let resp = ui::post_sign_in(&client, &app, "ppc@example.org", PASSWORD, "/incidents").await;
    assert_eq!(resp.status(), 303);
    let cookie = ui::cookie_value(&ui::set_cookie(&resp, "bl_session").unwrap());
    let id = app.incident(&t.responder).await;
    for path in [
        "/incidents".to_owned(),
        format!("/incidents/{id}"),
        "/settings".to_owned(),
        format!("/api/v1/incidents/{id}"),
    ] {
        let resp = client
            .get(app.url(&path))
            .header("cookie", format!("bl_session={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{path}");
    }
}

/// The `action` of every `<form method="post">` on a page.
fn post_actions(html: &str) -> Vec<String> {
    let marker = r#"<form method="post" action=""#;
    html.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            rest.find('"').map(|end| {
                rest[..end]
                    .replace("&#x2F;", "/")
                    .replace("&#x3D;", "=")
                    .replace("&amp;", "&")
            })
        })
        .collect()
}

#[tokio::test]
async fn every_form_on_every_page_refuses_a_post_without_its_csrf_token() {
    let app = spawn_app().await;
    let t = app.tenant("acme");
    // An incident with something in every section: scope, content, a plan, a
    // dispatch awaiting approval, a report, runbook tasks.
    let id = crate::dispatch::planned_incident(&app, &t, &crate::dispatch::PEOPLE, "none").await;
    let path = format!("/api/v1/incidents/{id}");
    let (status, _) = app
        .post(&t.responder, &format!("{path}/dispatches"), &json!({}))
        .await;
    assert_eq!(status, 201);
    let (status, report) = app
        .post(
            &t.responder,
            &format!("{path}/reports"),
            &json!({"regime": "appi", "phase": "preliminary"}),
        )
        .await;
    assert_eq!(status, 201, "{report}");
    ui::user(&app, &t.id, "admin@example.org", Role::Admin);
    ui::user(&app, &t.id, "approver@example.org", Role::Approver);
    ui::user(&app, &t.id, "other@example.org", Role::Viewer);
    let admin = Session::sign_in(&app, "admin@example.org", PASSWORD)
        .await
        .unwrap();
    let approver = Session::sign_in(&app, "approver@example.org", PASSWORD)
        .await
        .unwrap();

    let mut actions = std::collections::BTreeSet::new();
    for (session, page) in [
        (&admin, "/incidents".to_owned()),
        (&admin, format!("/incidents/{id}")),
        (&admin, "/settings".to_owned()),
        (&approver, format!("/incidents/{id}")),
    ] {
        let (status, html) = session.get(&page).await;
        assert_eq!(status, 200, "{page}");
        actions.extend(post_actions(&html));
    }
    assert!(
        actions.len() >= 20,
        "the pages should carry most of the UI's forms: {actions:?}"
    );

    let before = audit_actions(&app, &t.admin).await;
    let incident = app.get(&t.viewer, &path).await.1;
    for action in &actions {
        for session in [&admin, &approver] {
            let resp = session.post(action, &[]).await;
            assert_eq!(resp.status(), 403, "{action} without a token");
            let resp = session
                .post(action, &[("csrf_token", &"0".repeat(64))])
                .await;
            assert_eq!(resp.status(), 403, "{action} with a wrong token");
        }
    }
    assert_eq!(
        audit_actions(&app, &t.admin).await,
        before,
        "nothing was done"
    );
    assert_eq!(app.get(&t.viewer, &path).await.1, incident);
}
