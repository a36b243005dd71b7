//! Channel adapters against real peers: a small ESMTP server over TCP and an actix-web
//! server standing in for Twilio, FCM and webhook receivers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use breachline::config::Settings;
use breachline::dispatch::channels::{Adapters, Outcome, Outgoing, Sender};
use breachline::domain::Channel;
use hmac::Mac;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

// ---------------------------------------------------------------- fixtures

fn sender() -> Sender {
    Sender {
        from: "JC-Task Security <security@jc-task.example>".into(),
        reply_to: Some("Help Desk <help@jc-task.example>".into()),
        sms_from: Some("+815000000000".into()),
    }
}

fn outgoing(channel: Channel, to: &str) -> Outgoing {
    Outgoing {
        message_id: "<0193f1c2-7a8b-7c3d-9e4f-000000000001@breachline>".into(),
        channel,
        to: to.into(),
        to_name: Some("Hanako Yamada".into()),
        subject: Some("About your account".into()),
        text: Some("We are writing to tell you about an incident.".into()),
        html: Some("<p>We are writing to tell you about an <b>incident</b>.</p>".into()),
        link: Some("https://notices.example/p/abc".into()),
        locale: "en".into(),
        sender: sender(),
        batch: Some("dispatch-7".into()),
        formatted: None,
    }
}

/// Settings from `env` (plus the data dir), built the way the service builds them.
fn settings(data_dir: &Path, env: &[(&str, &str)]) -> Settings {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain([(
            "BREACHLINE_DATA_DIR".to_owned(),
            data_dir.display().to_string(),
        )])
        .collect();
    Settings::load_from(None, move |key| env.get(key).cloned()).unwrap()
}

fn build_adapters(env: &[(&str, &str)]) -> (Adapters, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), env);
    (
        Adapters::from_settings(&s.channels, &s.data_dir).unwrap(),
        dir,
    )
}

fn is_relay_down(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::RelayDown(_))
}

fn is_permanent(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Permanent(_))
}

// ---------------------------------------------------------------- a real SMTP server

/// One message the SMTP peer accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt_to: Vec<String>,
    pub data: String,
}

#[derive(Default)]
pub struct SmtpState {
    /// RCPT TO address → reply code (450, 550, …).
    pub reject: HashMap<String, u16>,
    /// Mechanisms advertised in EHLO.
    pub auth: &'static str,
    /// The login that is accepted.
    pub login: Option<(String, String)>,
    /// Logins tried, as (mechanism, user, password).
    pub tried: Mutex<Vec<(String, String, String)>>,
    pub received: Mutex<Vec<Received>>,
}

pub struct SmtpPeer {
    pub port: u16,
    state: Arc<SmtpState>,
}

impl SmtpPeer {
    pub async fn start(state: SmtpState) -> SmtpPeer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(state);
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(smtp_session(socket, shared.clone()));
            }
        });
        SmtpPeer { port, state }
    }

    pub fn url(&self, userinfo: &str) -> String {
        format!("smtp://{userinfo}127.0.0.1:{}?tls=none", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

type Lines = BufReader<tokio::net::tcp::OwnedReadHalf>;

async fn read_line(lines: &mut Lines) -> Option<String> {
    let mut line = String::new();
    match lines.read_line(&mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
    }
}

fn b64(text: &str) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn between_brackets(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command.rfind('>').unwrap_or(command.len());
    command[start..end].to_owned()
}

async fn smtp_session(socket: tokio::net::TcpStream, state: Arc<SmtpState>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 peer.test ESMTP ready\r\n").await;
    let mut rcpt_to: Vec<String> = Vec::new();
    while let Some(command) = read_line(&mut lines).await {
        let verb = command.to_ascii_uppercase();
        let reply = if verb.starts_with("EHLO") {
            format!(
                "250-peer.test\r\n250-AUTH {}\r\n250-8BITMIME\r\n250 SMTPUTF8",
                state.auth
            )
        } else if verb.starts_with("HELO") {
            "250 peer.test".into()
        } else if verb.starts_with("AUTH") {
            auth(&command, &mut lines, &mut write, &state).await
        } else if verb.starts_with("MAIL FROM") {
            rcpt_to.clear();
            "250 2.1.0 ok".into()
        } else if verb.starts_with("RCPT TO") {
            let address = between_brackets(&command);
            match state.reject.get(&address) {
                Some(450) => "450 4.2.0 mailbox busy, try later".into(),
                Some(code) => format!("{code} 5.1.1 mailbox unavailable"),
                None => {
                    rcpt_to.push(address);
                    "250 2.1.5 ok".into()
                }
            }
        } else if verb == "DATA" {
            let _ = write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
            let Some(data) = read_data(&mut lines).await else {
                return; // the sender went away mid-message: nothing was delivered
            };
            let mut received = state.received.lock().unwrap();
            received.push(Received {
                rcpt_to: std::mem::take(&mut rcpt_to),
                data,
            });
            format!("250 2.0.0 queued as Q{}", received.len())
        } else if verb == "RSET" {
            rcpt_to.clear();
            "250 2.0.0 ok".into()
        } else if verb == "NOOP" {
            "250 2.0.0 ok".into()
        } else if verb == "QUIT" {
            let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
            return;
        } else {
            "502 5.5.2 not implemented".into()
        };
        if write
            .write_all(format!("{reply}\r\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// AUTH PLAIN (initial response) or AUTH LOGIN (two challenges).
async fn auth(
    command: &str,
    lines: &mut Lines,
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    state: &SmtpState,
) -> String {
    let words: Vec<&str> = command.split_whitespace().collect();
    let mechanism = words.get(1).copied().unwrap_or("").to_ascii_uppercase();
    let (user, password) = if mechanism == "PLAIN" {
        let decoded = b64(words.get(2).copied().unwrap_or(""));
        let mut parts = decoded.split('\0').skip(1);
        (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        )
    } else {
        let _ = write.write_all(b"334 VXNlcm5hbWU6\r\n").await;
        let user = b64(&read_line(lines).await.unwrap_or_default());
        let _ = write.write_all(b"334 UGFzc3dvcmQ6\r\n").await;
        let password = b64(&read_line(lines).await.unwrap_or_default());
        (user, password)
    };
    let accepted = state.login.as_ref() == Some(&(user.clone(), password.clone()));
    state
        .tried
        .lock()
        .unwrap()
        .push((mechanism, user, password));
    if accepted {
        "235 2.7.0 authenticated".into()
    } else {
        "535 5.7.8 authentication failed".into()
    }
}

/// The message up to the lone dot, with dot-stuffing undone.
/// The message up to its closing dot; `None` when the connection closes before it
/// (a real server delivers nothing then, RFC 5321 §4.1.1.4).
async fn read_data(lines: &mut Lines) -> Option<String> {
    let mut data = String::new();
    while let Some(line) = read_line(lines).await {
        if line == "." {
            return Some(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
        data.push_str("\r\n");
    }
    None
}

/// A header's unfolded value from a raw message (the top-level header block).
pub fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    unfolded
        .split("\r\n")
        .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
        .map(|line| line[prefix.len()..].trim().to_owned())
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=` / `?q?`), written independently of
/// lettre so the test checks the wire format.
fn decode_rfc2047(value: &str) -> String {
    let mut bytes = Vec::new();
    for word in value.split_whitespace() {
        let parts: Vec<&str> = word.split('?').collect();
        match parts.as_slice() {
            ["=", _charset, encoding, text, "="] if encoding.eq_ignore_ascii_case("b") => {
                bytes.extend(
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .unwrap(),
                );
            }
            ["=", _charset, encoding, text, "="] if encoding.eq_ignore_ascii_case("q") => {
                bytes.extend(decode_q(text));
            }
            _ => bytes.extend(format!("{word} ").bytes()),
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn decode_q(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let raw = text.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'_' => out.push(b' '),
            b'=' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    out
}

// ---------------------------------------------------------------- e-mail tests

#[tokio::test]
async fn smtp_sends_multipart_mail_with_our_message_id_every_time() {
    let peer = SmtpPeer::start(SmtpState {
        auth: "PLAIN LOGIN",
        login: Some(("mailer".into(), "p@ss:word".into())),
        ..SmtpState::default()
    })
    .await;
    let url = peer.url("mailer:p%40ss%3Aword@");
    let (adapters, _dir) = build_adapters(&[("BREACHLINE_SMTP_URL", &url)]);
    let email = adapters.get(Channel::Email);
    assert_eq!(email.provider(), "smtp");
    assert!(!email.has_receipts());
    let msg = outgoing(Channel::Email, "hanako@example.jp");

    assert_eq!(email.send(&msg).await, Outcome::Sent { provider_id: None });
    // lettre parks a used connection from a spawned task: let it run.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(email.send(&msg).await, Outcome::Sent { provider_id: None });

    let received = peer.received();
    assert_eq!(received.len(), 2);
    for mail in &received {
        assert_eq!(mail.rcpt_to, ["hanako@example.jp"]);
        let raw = &mail.data;
        assert_eq!(
            header(raw, "Message-ID").as_deref(),
            Some(msg.message_id.as_str())
        );
        assert_eq!(
            header(raw, "From").as_deref(),
            Some("\"JC-Task Security\" <security@jc-task.example>")
        );
        assert_eq!(
            header(raw, "Reply-To").as_deref(),
            Some("\"Help Desk\" <help@jc-task.example>")
        );
        assert_eq!(
            header(raw, "To").as_deref(),
            Some("\"Hanako Yamada\" <hanako@example.jp>")
        );
        assert!(header(raw, "Date").is_some(), "{raw}");
        let content_type = header(raw, "Content-Type").unwrap();
        assert!(
            content_type.starts_with("multipart/alternative"),
            "{content_type}"
        );
        let plain = raw.find("Content-Type: text/plain; charset=utf-8").unwrap();
        let html = raw.find("Content-Type: text/html; charset=utf-8").unwrap();
        assert!(plain < html, "text part first, HTML preferred last");
        assert!(raw.contains("We are writing to tell you about an incident."));
        assert!(raw.contains("<b>incident</b>"));
    }
    // One pooled connection (checked with NOOP, then reused): a single login.
    let tried = peer.state.tried.lock().unwrap().clone();
    assert_eq!(
        tried,
        [("PLAIN".into(), "mailer".into(), "p@ss:word".into())]
    );
}

#[tokio::test]
async fn japanese_subjects_are_encoded_and_decode_back() {
    let peer = SmtpPeer::start(SmtpState::default()).await;
    let url = peer.url("");
    let (adapters, _dir) = build_adapters(&[("BREACHLINE_SMTP_URL", &url)]);
    let mut msg = outgoing(Channel::Email, "hanako@example.jp");
    let subject = "個人情報漏えいに関する重要なお知らせ（お客様番号の流出について）";
    msg.subject = Some(subject.into());
    msg.locale = "ja".into();
    msg.text = Some("このたびは多大なご迷惑をおかけし、深くお詫び申し上げます。".into());
    msg.html = None;

    assert!(matches!(
        adapters.get(Channel::Email).send(&msg).await,
        Outcome::Sent { .. }
    ));

    let raw = &peer.received()[0].data;
    let on_wire = header(raw, "Subject").unwrap();
    assert!(on_wire.is_ascii(), "the header must be 7-bit: {on_wire}");
    assert!(on_wire.starts_with("=?utf-8?"), "{on_wire}");
    assert_eq!(decode_rfc2047(&on_wire), subject);
    assert!(
        header(raw, "Content-Type")
            .unwrap()
            .starts_with("text/plain")
    );
}

#[tokio::test]
async fn smtp_rejections_are_classified_by_reply_code() {
    let peer = SmtpPeer::start(SmtpState {
        reject: HashMap::from([
            ("gone@example.jp".to_owned(), 550),
            ("bad@example.jp".to_owned(), 553),
            ("busy@example.jp".to_owned(), 450),
        ]),
        ..SmtpState::default()
    })
    .await;
    let url = peer.url("");
    let (adapters, _dir) = build_adapters(&[("BREACHLINE_SMTP_URL", &url)]);
    let email = adapters.get(Channel::Email);

    let gone = email
        .send(&outgoing(Channel::Email, "gone@example.jp"))
        .await;
    assert!(
        matches!(&gone, Outcome::Permanent(why) if why.contains("550")),
        "{gone:?}"
    );
    let bad = email
        .send(&outgoing(Channel::Email, "bad@example.jp"))
        .await;
    assert!(
        matches!(&bad, Outcome::Permanent(why) if why.contains("553")),
        "{bad:?}"
    );
    let busy = email
        .send(&outgoing(Channel::Email, "busy@example.jp"))
        .await;
    assert!(
        matches!(&busy, Outcome::Transient(why) if why.contains("450")),
        "{busy:?}"
    );
    // The relay still works for others after the refusals.
    let fine = email
        .send(&outgoing(Channel::Email, "fine@example.jp"))
        .await;
    assert_eq!(fine, Outcome::Sent { provider_id: None });
    assert_eq!(peer.received().len(), 1);
    // The detail never repeats the address.
    for outcome in [gone, bad, busy] {
        assert!(!format!("{outcome:?}").contains("example.jp"));
    }
}

#[tokio::test]
async fn unparseable_addresses_are_permanent_without_a_connection() {
    let peer = SmtpPeer::start(SmtpState::default()).await;
    let url = peer.url("");
    let (adapters, _dir) = build_adapters(&[("BREACHLINE_SMTP_URL", &url)]);
    for to in ["not an address", "", "two@@example.jp"] {
        let outcome = adapters
            .get(Channel::Email)
            .send(&outgoing(Channel::Email, to))
            .await;
        assert!(is_permanent(&outcome), "{to}: {outcome:?}");
    }
    assert!(peer.received().is_empty());
}

#[tokio::test]
async fn a_relay_that_is_down_is_relay_down() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let (adapters, _dir) = build_adapters(&[("BREACHLINE_SMTP_URL", &url)]);
    let outcome = adapters
        .get(Channel::Email)
        .send(&outgoing(Channel::Email, "hanako@example.jp"))
        .await;
    assert!(is_relay_down(&outcome), "{outcome:?}");
}

#[tokio::test]
async fn auth_login_works_and_refused_credentials_pause_the_relay() {
    let state = || SmtpState {
        auth: "LOGIN",
        login: Some(("mailer".into(), "right".into())),
        ..SmtpState::default()
    };
    let peer = SmtpPeer::start(state()).await;
    let url = peer.url("mailer:right@");
    let (adapters, _dir) = build_adapters(&[("BREACHLINE_SMTP_URL", &url)]);
    let msg = outgoing(Channel::Email, "hanako@example.jp");
    assert!(matches!(
        adapters.get(Channel::Email).send(&msg).await,
        Outcome::Sent { .. }
    ));
    assert_eq!(peer.state.tried.lock().unwrap()[0].0, "LOGIN");

    let peer = SmtpPeer::start(state()).await;
    let url = peer.url("mailer:wrong@");
    let (adapters, _dir) = build_adapters(&[("BREACHLINE_SMTP_URL", &url)]);
    let outcome = adapters.get(Channel::Email).send(&msg).await;
    assert!(
        matches!(&outcome, Outcome::RelayDown(why) if why.contains("535")),
        "{outcome:?}"
    );
    assert!(peer.received().is_empty());
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files() {
    let (adapters, dir) = build_adapters(&[]);
    let email = adapters.get(Channel::Email);
    assert_eq!(email.provider(), "file");
    let first = outgoing(Channel::Email, "hanako@example.jp");
    let mut second = outgoing(Channel::Email, "taro@example.jp");
    second.message_id = "<0193f1c2-7a8b-7c3d-9e4f-000000000002@breachline>".into();
    second.sender = Sender::default();
    let mut locations = Vec::new();
    for msg in [&first, &second] {
        match email.send(msg).await {
            Outcome::HandedOff { location } => locations.push(location),
            other => panic!("{other:?}"),
        }
    }
    let folder = dir.path().join("outbox/email");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|f| f.extension().unwrap() == "eml"));
    for (location, msg) in locations.iter().zip([&first, &second]) {
        let raw = std::fs::read_to_string(location).unwrap();
        assert_eq!(
            header(&raw, "Message-ID").as_deref(),
            Some(msg.message_id.as_str())
        );
    }
    // A tenant without a From of its own uses BREACHLINE_MAIL_FROM.
    let raw = std::fs::read_to_string(&locations[1]).unwrap();
    assert_eq!(
        header(&raw, "From").as_deref(),
        Some("Breachline <notices@localhost>")
    );
}

#[tokio::test]
async fn a_tenant_relay_overrides_the_default() {
    let peer = SmtpPeer::start(SmtpState::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("breachline.toml");
    std::fs::write(
        &config,
        format!(
            "[channels.email.tenant_relays]\nacme = \"{}\"\n",
            peer.url("")
        ),
    )
    .unwrap();
    let data_dir = dir.path().display().to_string();
    let s = Settings::load_from(Some(&config), move |key| {
        (key == "BREACHLINE_DATA_DIR").then(|| data_dir.clone())
    })
    .unwrap();
    let adapters = Adapters::from_settings(&s.channels, &s.data_dir).unwrap();
    let own = adapters.for_tenant("acme").unwrap();
    let msg = outgoing(Channel::Email, "hanako@example.jp");
    assert_eq!(own.get(Channel::Email).provider(), "smtp");
    assert!(matches!(
        own.get(Channel::Email).send(&msg).await,
        Outcome::Sent { .. }
    ));
    let again = adapters.for_tenant("acme").unwrap();
    assert!(matches!(
        again.get(Channel::Email).send(&msg).await,
        Outcome::Sent { .. }
    ));
    assert_eq!(peer.received().len(), 2);
    // Other channels and other tenants keep the service's adapters.
    assert_eq!(own.get(Channel::Sms).provider(), "file");
    let plain = adapters.for_tenant("other").unwrap();
    assert_eq!(plain.get(Channel::Email).provider(), "file");
    assert!(!dir.path().join("outbox/email").exists());
}

// ---------------------------------------------------------------- a real HTTP server

#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn form(&self) -> HashMap<String, String> {
        serde_urlencoded::from_bytes(&self.body).unwrap()
    }
}

/// Status, JSON body and delay of the peer's answer.
type Reply = (u16, Value, Duration);

pub struct HttpState {
    reply: Mutex<Reply>,
    requests: Mutex<Vec<Recorded>>,
}

pub struct HttpPeer {
    pub base: String,
    state: web::Data<HttpState>,
}

impl HttpPeer {
    pub async fn start(status: u16, body: Value) -> HttpPeer {
        let state = web::Data::new(HttpState {
            reply: Mutex::new((status, body, Duration::ZERO)),
            requests: Mutex::new(Vec::new()),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(record))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        HttpPeer { base, state }
    }

    fn answer(&self, status: u16, body: Value) {
        *self.state.reply.lock().unwrap() = (status, body, Duration::ZERO);
    }

    fn answer_late(&self, delay: Duration) {
        self.state.reply.lock().unwrap().2 = delay;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }
}

async fn record(req: HttpRequest, body: web::Bytes, state: web::Data<HttpState>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    state.requests.lock().unwrap().push(Recorded {
        path: req.path().to_owned(),
        headers,
        body: body.to_vec(),
    });
    let (status, reply, delay) = state.reply.lock().unwrap().clone();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(reply)
}

/// Adapters whose HTTP timeout is short, for the "provider too slow" cases.
fn adapters_with_timeout(env: &[(&str, &str)], timeout: Duration) -> (Adapters, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path(), env);
    s.channels.http_timeout = timeout;
    (
        Adapters::from_settings(&s.channels, &s.data_dir).unwrap(),
        dir,
    )
}

fn hmac_sha256_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

// ---------------------------------------------------------------- SMS tests

fn twilio_env(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("BREACHLINE_SMS_PROVIDER", "twilio".into()),
        ("BREACHLINE_SMS_URL", base.into()),
        ("BREACHLINE_TWILIO_SID", "AC0123456789".into()),
        ("BREACHLINE_TWILIO_TOKEN", "twilio-token".into()),
        (
            "BREACHLINE_SMS_STATUS_CALLBACK",
            "https://breachline.example/api/v1/receipts/sms/twilio".into(),
        ),
    ]
}

fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn twilio_gets_a_signed_in_form_post_and_returns_the_sid() {
    let peer = HttpPeer::start(201, json!({"sid": "SM0001", "status": "queued"})).await;
    let env = twilio_env(&peer.base);
    let (adapters, _dir) = build_adapters(&borrowed(&env));
    let sms = adapters.get(Channel::Sms);
    assert_eq!((sms.provider(), sms.has_receipts()), ("twilio", true));
    let mut msg = outgoing(Channel::Sms, "+819012345678");
    msg.text = Some("JC-Task: a notice about your data: https://n.example/p/abc".into());

    let outcome = sms.send(&msg).await;
    assert_eq!(
        outcome,
        Outcome::Sent {
            provider_id: Some("SM0001".into())
        }
    );

    let request = &peer.requests()[0];
    assert_eq!(
        request.path,
        "/2010-04-01/Accounts/AC0123456789/Messages.json"
    );
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let expected_auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("AC0123456789:twilio-token")
    );
    assert_eq!(request.headers["authorization"], expected_auth);
    let form = request.form();
    assert_eq!(form["To"], "+819012345678");
    assert_eq!(form["From"], "+815000000000");
    assert_eq!(form["Body"], msg.text.clone().unwrap());
    assert_eq!(
        form["StatusCallback"],
        "https://breachline.example/api/v1/receipts/sms/twilio"
    );
}

#[tokio::test]
async fn twilio_errors_are_classified() {
    let peer = HttpPeer::start(
        400,
        json!({"code": 21211, "message": "The 'To' number +81 is not valid", "status": 400}),
    )
    .await;
    let env = twilio_env(&peer.base);
    let (adapters, _dir) = adapters_with_timeout(&borrowed(&env), Duration::from_millis(500));
    let sms = adapters.get(Channel::Sms);
    let msg = outgoing(Channel::Sms, "+810");

    let invalid = sms.send(&msg).await;
    assert!(
        matches!(&invalid, Outcome::Permanent(why) if why.contains("21211")),
        "{invalid:?}"
    );
    assert!(
        !format!("{invalid:?}").contains("+81"),
        "no number in the detail"
    );
    for status in [429, 500, 503, 401, 403] {
        peer.answer(status, json!({"code": 20003}));
        let outcome = sms.send(&msg).await;
        assert!(is_relay_down(&outcome), "{status}: {outcome:?}");
    }
    peer.answer(201, json!({"sid": "SM2"}));
    peer.answer_late(Duration::from_secs(3));
    let slow = sms.send(&msg).await;
    assert!(
        matches!(&slow, Outcome::RelayDown(why) if why.contains("timeout")),
        "{slow:?}"
    );
}

#[tokio::test]
async fn the_sms_webhook_is_signed_with_hmac_sha256() {
    let peer = HttpPeer::start(202, json!({"id": "hook-1"})).await;
    let (adapters, _dir) = build_adapters(&[
        ("BREACHLINE_SMS_PROVIDER", "webhook"),
        ("BREACHLINE_SMS_URL", &format!("{}/sms/send", peer.base)),
        ("BREACHLINE_SMS_WEBHOOK_SECRET", "hook-secret"),
    ]);
    let sms = adapters.get(Channel::Sms);
    assert_eq!((sms.provider(), sms.has_receipts()), ("webhook", true));
    let msg = outgoing(Channel::Sms, "+819012345678");

    assert_eq!(
        sms.send(&msg).await,
        Outcome::Sent {
            provider_id: Some("hook-1".into())
        }
    );

    let request = &peer.requests()[0];
    assert_eq!(request.path, "/sms/send");
    assert_eq!(request.headers["content-type"], "application/json");
    let expected = format!("sha256={}", hmac_sha256_hex(b"hook-secret", &request.body));
    assert_eq!(request.headers["x-breachline-signature"], expected);
    let body = request.json();
    assert_eq!(body["message_id"], msg.message_id.as_str());
    assert_eq!(body["channel"], "sms");
    assert_eq!(body["to"], "+819012345678");
    assert_eq!(body["from"], "+815000000000");
    assert_eq!(body["body"], msg.text.clone().unwrap().as_str());

    peer.answer(400, json!({"error": "invalid_number"}));
    let outcome = sms.send(&msg).await;
    assert!(
        matches!(&outcome, Outcome::Permanent(why) if why.contains("invalid_number")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn sms_without_a_provider_goes_to_json_files() {
    let (adapters, dir) = build_adapters(&[("BREACHLINE_SMS_FROM", "JCTASK")]);
    let sms = adapters.get(Channel::Sms);
    assert_eq!(sms.provider(), "file");
    let mut msg = outgoing(Channel::Sms, "+819012345678");
    msg.sender.sms_from = None;
    let Outcome::HandedOff { location } = sms.send(&msg).await else {
        panic!("not handed off")
    };
    // A retry overwrites the same file.
    assert!(matches!(sms.send(&msg).await, Outcome::HandedOff { .. }));
    let folder = dir.path().join("outbox/sms");
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 1);
    assert!(location.ends_with("0193f1c2-7a8b-7c3d-9e4f-000000000001@breachline.json"));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&location).unwrap()).unwrap();
    assert_eq!(written["to"], "+819012345678");
    assert_eq!(written["from"], "JCTASK");
    assert_eq!(written["message_id"], msg.message_id.as_str());
}

// ---------------------------------------------------------------- push tests

fn fcm_env(base: &str, token_file: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("BREACHLINE_PUSH_PROVIDER", "fcm".into()),
        ("BREACHLINE_PUSH_URL", base.into()),
        ("BREACHLINE_FCM_PROJECT", "breachline-demo".into()),
        (
            "BREACHLINE_FCM_TOKEN_FILE",
            token_file.display().to_string(),
        ),
    ]
}

#[tokio::test]
async fn fcm_gets_the_v1_message_with_the_token_from_the_file() {
    let peer = HttpPeer::start(
        200,
        json!({"name": "projects/breachline-demo/messages/0:42"}),
    )
    .await;
    let token_dir = tempfile::tempdir().unwrap();
    let token_file = token_dir.path().join("fcm-token");
    std::fs::write(&token_file, "ya29.access-token\n").unwrap();
    let env = fcm_env(&peer.base, &token_file);
    let (adapters, _dir) = build_adapters(&borrowed(&env));
    let push = adapters.get(Channel::Push);
    assert_eq!(push.provider(), "fcm");
    let msg = outgoing(Channel::Push, "device-token-1");

    let outcome = push.send(&msg).await;
    assert_eq!(
        outcome,
        Outcome::Sent {
            provider_id: Some("projects/breachline-demo/messages/0:42".into())
        }
    );

    let request = &peer.requests()[0];
    assert_eq!(request.path, "/v1/projects/breachline-demo/messages:send");
    assert_eq!(request.headers["authorization"], "Bearer ya29.access-token");
    assert_eq!(
        request.json(),
        json!({"message": {
            "token": "device-token-1",
            "notification": {"title": "About your account", "body": msg.text.clone().unwrap()},
            "data": {"link": "https://notices.example/p/abc", "message_id": msg.message_id}
        }})
    );

    // The operator's tool refreshes the file; the next send uses the new token.
    std::fs::write(&token_file, "ya29.refreshed").unwrap();
    push.send(&msg).await;
    assert_eq!(
        peer.requests()[1].headers["authorization"],
        "Bearer ya29.refreshed"
    );
}

#[tokio::test]
async fn fcm_unregistered_tokens_are_permanent_and_outages_pause_the_relay() {
    let unregistered = json!({"error": {"code": 404, "message": "Requested entity was not found.",
        "status": "NOT_FOUND", "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
        "errorCode": "UNREGISTERED"}]}});
    let peer = HttpPeer::start(404, unregistered).await;
    let token_dir = tempfile::tempdir().unwrap();
    let token_file = token_dir.path().join("fcm-token");
    std::fs::write(&token_file, "ya29.t").unwrap();
    let env = fcm_env(&peer.base, &token_file);
    let (adapters, _dir) = adapters_with_timeout(&borrowed(&env), Duration::from_millis(500));
    let push = adapters.get(Channel::Push);
    let msg = outgoing(Channel::Push, "stale-token");

    let gone = push.send(&msg).await;
    assert!(
        matches!(&gone, Outcome::Permanent(why) if why.contains("UNREGISTERED")),
        "{gone:?}"
    );
    peer.answer(404, json!({}));
    assert!(is_permanent(&push.send(&msg).await));
    peer.answer(503, json!({"error": {"status": "UNAVAILABLE"}}));
    assert!(is_relay_down(&push.send(&msg).await));
    peer.answer(401, json!({"error": {"status": "UNAUTHENTICATED"}}));
    assert!(is_relay_down(&push.send(&msg).await));
    peer.answer(200, json!({"name": "x"}));
    peer.answer_late(Duration::from_secs(3));
    assert!(is_relay_down(&push.send(&msg).await));

    std::fs::remove_file(&token_file).unwrap();
    let before = peer.requests().len();
    let no_token = push.send(&msg).await;
    assert!(
        matches!(&no_token, Outcome::RelayDown(why) if why.contains("token file")),
        "{no_token:?}"
    );
    assert_eq!(
        peer.requests().len(),
        before,
        "nothing sent without a token"
    );
}

#[tokio::test]
async fn the_push_webhook_is_signed_and_carries_title_and_link() {
    let peer = HttpPeer::start(200, json!({})).await;
    let (adapters, _dir) = build_adapters(&[
        ("BREACHLINE_PUSH_PROVIDER", "webhook"),
        ("BREACHLINE_PUSH_URL", &format!("{}/push", peer.base)),
        ("BREACHLINE_PUSH_WEBHOOK_SECRET", "push-secret"),
    ]);
    let msg = outgoing(Channel::Push, "device-token-1");
    let outcome = adapters.get(Channel::Push).send(&msg).await;
    assert_eq!(outcome, Outcome::Sent { provider_id: None });
    let request = &peer.requests()[0];
    let expected = format!("sha256={}", hmac_sha256_hex(b"push-secret", &request.body));
    assert_eq!(request.headers["x-breachline-signature"], expected);
    let body = request.json();
    assert_eq!(
        (body["channel"].as_str(), body["title"].as_str()),
        (Some("push"), Some("About your account"))
    );
    assert_eq!(body["link"], "https://notices.example/p/abc");
    assert!(body.get("from").is_none());
}

// ---------------------------------------------------------------- letters and calls

#[tokio::test]
async fn letters_become_a_print_batch_with_a_quoted_manifest() {
    let (adapters, dir) = build_adapters(&[]);
    let letter = adapters.get(Channel::Letter);
    assert_eq!(letter.provider(), "print");
    let mut first = outgoing(
        Channel::Letter,
        "Yamada Hanako\n1-2-3 Chiyoda, \"Room 5\"\nTokyo 100-0001",
    );
    first.html = Some("<html><body>Dear Hanako</body></html>".into());
    let mut second = outgoing(Channel::Letter, "Taro Sato, 4-5 Minato, Osaka");
    second.message_id = "<second@breachline>".into();
    second.to_name = Some("=cmd()".into());

    for msg in [&first, &second, &first] {
        assert!(matches!(letter.send(msg).await, Outcome::HandedOff { .. }));
    }

    let batch = dir.path().join("outbox/letter/dispatch-7");
    let html =
        std::fs::read_to_string(batch.join("0193f1c2-7a8b-7c3d-9e4f-000000000001@breachline.html"))
            .unwrap();
    assert_eq!(html, "<html><body>Dear Hanako</body></html>");
    assert!(batch.join("second@breachline.html").exists());
    let mut manifest = csv::Reader::from_path(batch.join("manifest.csv")).unwrap();
    assert_eq!(
        manifest.headers().unwrap(),
        vec!["message_id", "file", "name", "address", "locale"]
    );
    let rows: Vec<csv::StringRecord> = manifest.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "a retry adds no second row");
    assert_eq!(&rows[0][0], first.message_id);
    assert_eq!(
        &rows[0][1],
        "0193f1c2-7a8b-7c3d-9e4f-000000000001@breachline.html"
    );
    assert_eq!(
        &rows[0][3],
        "Yamada Hanako\n1-2-3 Chiyoda, \"Room 5\"\nTokyo 100-0001"
    );
    assert_eq!(
        &rows[1][2], "'=cmd()",
        "formulas are defused for spreadsheets"
    );

    let mut no_html = outgoing(Channel::Letter, "Somewhere");
    no_html.html = None;
    assert!(is_permanent(&letter.send(&no_html).await));
}

#[tokio::test]
async fn calls_become_a_call_list_per_batch() {
    let (adapters, dir) = build_adapters(&[]);
    let phone = adapters.get(Channel::Phone);
    assert_eq!(phone.provider(), "callcentre");
    let mut call = outgoing(Channel::Phone, "+81 3-1234-5678");
    call.text =
        Some("Hello, this is JC-Task.\nWe are calling about \"your data\", please listen.".into());
    call.locale = "ja".into();

    let Outcome::HandedOff { location } = phone.send(&call).await else {
        panic!("not handed off")
    };
    assert!(matches!(phone.send(&call).await, Outcome::HandedOff { .. }));

    assert_eq!(
        Path::new(&location),
        dir.path().join("outbox/phone/dispatch-7.csv")
    );
    let mut list = csv::Reader::from_path(&location).unwrap();
    assert_eq!(
        list.headers().unwrap(),
        vec!["message_id", "number", "name", "locale", "script"]
    );
    let rows: Vec<csv::StringRecord> = list.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][1], "+81 3-1234-5678");
    assert_eq!(&rows[0][2], "Hanako Yamada");
    assert_eq!(&rows[0][3], "ja");
    assert_eq!(&rows[0][4], call.text.as_deref().unwrap());

    let not_a_number = outgoing(Channel::Phone, "=1+1");
    assert!(is_permanent(&phone.send(&not_a_number).await));
}
