//! Users and signed-in sessions of the web UI for tests: a user with a password
//! straight from the store, and a cookie-carrying HTTP client for the forms.

use breachline::accounts::{SessionPolicy, hash_password};
use breachline::domain::{Role, now_micros};
use breachline::store::users;

use crate::helpers::TestApp;

/// A strong password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple 42";

/// Creates a user of the tenant with [`PASSWORD`] set (as the set-password link would).
pub fn user(app: &TestApp, tenant_id: &str, email: &str, role: Role) {
    let hash = hash_password(PASSWORD).unwrap();
    app.db
        .write_blocking(|conn| {
            let user = users::create(conn, tenant_id, email, role, now_micros())?;
            let token =
                users::create_password_link(conn, &user, &SessionPolicy::default(), now_micros())?;
            users::use_password_link(conn, &token, &hash, now_micros())?;
            Ok(())
        })
        .unwrap();
}

/// Creates a user without a password and returns their set-password path.
pub fn invited(app: &TestApp, tenant_id: &str, email: &str, role: Role) -> String {
    let token = app
        .db
        .write_blocking(|conn| {
            let user = users::create(conn, tenant_id, email, role, now_micros())?;
            users::create_password_link(conn, &user, &SessionPolicy::default(), now_micros())
        })
        .unwrap();
    format!("/set-password/{token}")
}

/// A client that follows no redirects, so tests see each 303 and its cookies.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of `name=` in the response's `Set-Cookie` headers.
pub fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The cookie's value from a `Set-Cookie` header.
pub fn cookie_value(header: &str) -> String {
    header
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

/// The first `name="csrf_token" value="…"` of a page.
pub fn csrf_of(html: &str) -> String {
    let field = r#"name="csrf_token" value=""#;
    let start = html.find(field).expect("a CSRF field") + field.len();
    html[start..start + 64].to_owned()
}

/// Posts the sign-in form as a browser does: the form's pre-session CSRF cookie and
/// field, then the credentials.
pub async fn post_sign_in(
    client: &reqwest::Client,
    app: &TestApp,
    email: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    let form = client.get(app.url("/sign-in")).send().await.unwrap();
    let pre = cookie_value(&set_cookie(&form, "bl_csrf").unwrap());
    let token = csrf_of(&form.text().await.unwrap());
    client
        .post(app.url("/sign-in"))
        .header("cookie", format!("bl_csrf={pre}"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", password),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

/// A signed-in browser-like session: the session cookie and the page's CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub client: reqwest::Client,
    pub base: String,
}

impl Session {
    /// Signs in through the sign-in form.
    pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> Result<Session, u16> {
        let client = client();
        let resp = post_sign_in(&client, app, email, password, "/incidents").await;
        if resp.status() != 303 {
            return Err(resp.status().as_u16());
        }
        let cookie = cookie_value(&set_cookie(&resp, "bl_session").unwrap());
        let mut session = Session {
            cookie,
            csrf: String::new(),
            client,
            base: app.address.clone(),
        };
        let (_, page) = session.get("/incidents").await;
        session.csrf = csrf_of(&page);
        Ok(session)
    }

    /// GET with the session cookie: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        self.get_with(path, &[]).await
    }

    /// GET with extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut req = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("bl_session={}", self.cookie));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// POSTs a form with the session cookie (add `csrf_token` yourself).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", format!("bl_session={}", self.cookie))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}
