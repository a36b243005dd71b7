//! The five customers, each told as its story: the demo's fixtures (`demo/<slug>/`)
//! played through the API by the same runner `breachline demo` uses, against the
//! test app with a real SMTP server and HTTP stand-ins for the SMS and push
//! providers, at pinned dates (Golden Week, China's National Day, the Japanese
//! year-end closure, the end of European summer time). Each test asserts what the
//! customer's privacy policy and the law promise: the deadlines and which is
//! stricter, who is told (the guardian for a child), on which channels in which
//! order, in which language, with every required item, approved by a second
//! person, and everyone either reached or covered by the public bulletin with the
//! legal reason that allows it.

use std::collections::{BTreeMap, BTreeSet};

use breachline::demo::registry::Person;
use breachline::demo::{self, Api, Customer, Outcome, Scenario, runner};
use breachline::domain::Role;
use serde_json::{Value, json};

use crate::channels::{HttpPeer, SmtpPeer, SmtpState};
use crate::helpers::{TestApp, spawn_app_with};

/// A customer's scenario, played.
struct Story {
    app: TestApp,
    customer: Customer,
    api: Api,
    outcome: Outcome,
    smtp: SmtpPeer,
    sms: HttpPeer,
    push: HttpPeer,
}

/// Plays `slug`'s scenario with the team aware of the breach at `aware_at`.
async fn story(slug: &str, aware_at: &str) -> Story {
    let customer = Customer::load(slug).unwrap();
    let aware_at = chrono::DateTime::parse_from_rfc3339(aware_at)
        .unwrap()
        .to_utc();
    played(customer.clone(), Scenario::at(&customer, aware_at)).await
}

async fn played(customer: Customer, scenario: Scenario) -> Story {
    let smtp = SmtpPeer::start(SmtpState::default()).await;
    let sms = HttpPeer::start(201, json!({"id": "sms-accepted"})).await;
    let push = HttpPeer::start(200, json!({"id": "push-accepted"})).await;
    let smtp_url = smtp.url("");
    let env = [
        ("BREACHLINE_SMTP_URL", smtp_url.as_str()),
        ("BREACHLINE_SMS_PROVIDER", "webhook"),
        ("BREACHLINE_SMS_URL", sms.base.as_str()),
        ("BREACHLINE_SMS_WEBHOOK_SECRET", "sms-secret"),
        ("BREACHLINE_PUSH_PROVIDER", "webhook"),
        ("BREACHLINE_PUSH_URL", push.base.as_str()),
        ("BREACHLINE_PUSH_WEBHOOK_SECRET", "push-secret"),
    ];
    let app = spawn_app_with(&env).await;
    let team = app
        .db
        .write_blocking(|conn| demo::provision(conn, &customer))
        .unwrap();
    let api = Api::new(app.address.clone(), team);
    let worker = crate::dispatch::worker(&app, &env);
    let outcome = runner::run(&api, &customer, &scenario, &worker)
        .await
        .unwrap();
    Story {
        app,
        customer,
        api,
        outcome,
        smtp,
        sms,
        push,
    }
}

impl Story {
    fn obligation(&self, regime: &str, recipient: &str, phase: &str) -> &Value {
        self.outcome.obligations["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["regime"] == regime && o["recipient"] == recipient && o["phase"] == phase)
            .unwrap_or_else(|| {
                panic!(
                    "no {regime} {recipient} {phase}: {:#}",
                    self.outcome.obligations
                )
            })
    }

    fn regimes(&self) -> BTreeSet<String> {
        self.outcome.obligations["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["regime"].as_str().unwrap().to_owned())
            .collect()
    }

    fn not_triggered(&self, regime: &str) -> bool {
        self.outcome.obligations["not_triggered"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["regime"] == regime)
    }

    /// The affected people, as the registry generated them.
    async fn affected(&self) -> Vec<Person> {
        let path = format!(
            "/api/v1/incidents/{}/affected?limit=200",
            self.outcome.incident_id
        );
        let page = self.api.get(Role::Responder, &path).await.unwrap();
        let ids: BTreeSet<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["external_id"].as_str().unwrap())
            .collect();
        assert!(page["next_after"].is_null(), "one page holds them all");
        self.outcome
            .people
            .iter()
            .filter(|p| ids.contains(p.external_id.as_str()))
            .cloned()
            .collect()
    }

    async fn preview(&self, person: &str, channel: &str) -> Value {
        let path = format!(
            "/api/v1/incidents/{}/notices/preview?subject={person}&channel={channel}",
            self.outcome.incident_id
        );
        self.api.get(Role::Viewer, &path).await.unwrap()
    }

    /// Every affected person: the channels in the order the policy promises, the
    /// language `locale` says, the guardian for a child, every required item.
    /// Returns the people nobody can tell one by one.
    async fn check_every_person(
        &self,
        policy: &[&str],
        only: bool,
        locale: impl Fn(&Person) -> &'static str,
    ) -> Vec<Person> {
        let mut unreachable = Vec::new();
        for person in self.affected().await {
            let channels = expected_channels(&person, policy, only);
            let first = channels.first().copied().unwrap_or("email");
            let p = self.preview(&person.external_id, first).await;
            let planned: Vec<&str> = p["planned_channels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert_eq!(planned, channels, "{}: {p:#}", person.external_id);
            if channels.is_empty() {
                unreachable.push(person);
                continue;
            }
            assert_eq!(
                p["locale"],
                locale(&person),
                "{}: {p:#}",
                person.external_id
            );
            assert_eq!(p["complete"], true, "every required item: {p:#}");
            if first == "sms" || first == "push" {
                assert_eq!(p["limits"]["ok"], true, "{p:#}");
            }
            let kind = if person.is_minor() {
                "guardian"
            } else {
                "subject"
            };
            assert_eq!(p["recipient"]["kind"], kind, "{p:#}");
            assert_eq!(
                p["recipient"]["address"].as_str(),
                address(&person, first).as_deref(),
                "{}: the notice goes to {kind}'s own {first}",
                person.external_id
            );
        }
        unreachable
    }

    /// What reached the SMTP server, the SMS and push providers and the print and
    /// call outboxes is exactly one message per reachable person, on their first
    /// channel, to their (or their guardian's) own address.
    async fn check_deliveries(&self, policy: &[&str], only: bool) {
        let mut wanted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for person in self.affected().await {
            if let Some(first) = expected_channels(&person, policy, only).first() {
                wanted
                    .entry(*first)
                    .or_default()
                    .insert(address(&person, first).unwrap());
            }
        }
        let mails: Vec<String> = self
            .smtp
            .received()
            .iter()
            .map(|m| m.rcpt_to[0].clone())
            .collect();
        assert_eq!(mails.len(), wanted.get("email").map_or(0, BTreeSet::len));
        assert_eq!(
            mails.into_iter().collect::<BTreeSet<_>>(),
            wanted.remove("email").unwrap_or_default()
        );
        for (peer, channel) in [(&self.push, "push"), (&self.sms, "sms")] {
            let sent: Vec<String> = peer
                .requests()
                .iter()
                .map(|r| r.json()["to"].as_str().unwrap().to_owned())
                .collect();
            let expected = wanted.remove(channel).unwrap_or_default();
            assert_eq!(sent.len(), expected.len(), "{channel}");
            assert_eq!(sent.into_iter().collect::<BTreeSet<_>>(), expected);
        }
        let outbox = self.app.test_db.dir.path().join("outbox");
        let d = self.outcome.dispatch_id();
        let rows = |path: std::path::PathBuf| {
            csv::Reader::from_path(path).map_or(0, |mut r| r.records().count())
        };
        assert_eq!(
            rows(outbox.join(format!("letter/{d}/manifest.csv"))),
            wanted.remove("letter").map_or(0, |s| s.len()),
            "one letter per person whose first channel is a letter"
        );
        assert_eq!(
            rows(outbox.join(format!("phone/{d}.csv"))),
            wanted.remove("phone").map_or(0, |s| s.len()),
            "one call per person whose first channel is the phone"
        );
    }

    /// The responder created the dispatch, the approver (another person) approved
    /// it, and the worker finished it with the unreachable people counted.
    fn check_approval_and_completion(&self, unreachable: usize) {
        let d = &self.outcome.dispatch;
        let team = &self.customer.tenant.team;
        assert_eq!(d["created_by"], team[&Role::Responder].as_str(), "{d:#}");
        assert_eq!(d["approved_by"], team[&Role::Approver].as_str(), "{d:#}");
        assert_ne!(d["created_by"], d["approved_by"]);
        assert_eq!(d["status"], "completed", "{d:#}");
        assert_eq!(d["counts"]["unreachable"], unreachable, "{d:#}");
        assert_eq!(d["counts"]["failed"], 0, "{d:#}");
    }

    /// The first report to each authority in `regimes` was generated from the
    /// incident, its proof of notification equal to the dispatch: who approved,
    /// how many were told, how many could not be (and of them, how many the
    /// published bulletin covers).
    fn check_reports(&self, regimes: &[(&str, &str)], unreachable: usize) {
        let d = &self.outcome.dispatch;
        let told: i64 = ["sent", "delivered", "handed_off"]
            .iter()
            .map(|k| d["counts"][k].as_i64().unwrap_or(0))
            .sum();
        for (regime, phase) in regimes {
            let r = self
                .outcome
                .reports
                .iter()
                .find(|r| r["regime"] == *regime)
                .unwrap_or_else(|| panic!("no {regime} report: {:#?}", self.outcome.reports));
            assert_eq!(r["phase"], *phase, "{r:#}");
            let proof = &r["proof"];
            assert_eq!(proof["people_notified"], told, "{proof:#}");
            // The report is written after the bulletin: those nobody could tell are
            // covered by it in the ledger, no longer merely unreachable.
            let covered = if self.outcome.bulletin.is_some() {
                unreachable
            } else {
                0
            };
            assert_eq!(proof["covered_by_bulletin"], covered, "{proof:#}");
            assert_eq!(proof["unreachable"], unreachable - covered, "{proof:#}");
            assert_eq!(
                proof["approvals"][0]["who"],
                self.customer.tenant.team[&Role::Approver].as_str(),
                "{proof:#}"
            );
        }
    }

    /// Those nobody can tell one by one are covered by a published bulletin, on
    /// the grounds of each regime in `allowed` (a law or the customer's promise).
    async fn check_bulletin(&self, unreachable: &[Person], allowed: &[&str]) {
        let s = &self.outcome.substitute;
        assert_eq!(s["no_contact"], unreachable.len(), "{s:#}");
        assert!(
            !unreachable.is_empty(),
            "each registry has people without contact"
        );
        for regime in allowed {
            let r = s["regimes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["regime"] == *regime)
                .unwrap_or_else(|| panic!("{regime}: {s:#}"));
            assert_eq!(r["allowed"], true, "{r:#}");
            assert!(!r["basis"].as_str().unwrap().is_empty(), "{r:#}");
            assert!(
                r["reasons"][0].as_str().unwrap().contains("cannot be told"),
                "{r:#}"
            );
        }
        let covered = s["regimes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["allowed"] == true)
            .map(|r| r["people_covered"].as_u64().unwrap())
            .max()
            .unwrap();
        assert_eq!(
            covered,
            unreachable.len() as u64,
            "everyone is covered: {s:#}"
        );
        let bulletin = self.outcome.bulletin.as_ref().expect("a bulletin");
        assert_eq!(bulletin["status"], "published", "{bulletin:#}");
        let url = bulletin["url"].as_str().unwrap();
        let path = &url[url.find("/b/").unwrap()..];
        assert_eq!(
            path,
            format!(
                "/b/{}/{}",
                self.customer.tenant.slug,
                bulletin["id"].as_str().unwrap()
            )
        );
        let page = self
            .app
            .client
            .get(self.app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        for person in unreachable {
            assert!(!html.contains(&person.name), "no personal data on the page");
        }
    }
}

/// The channels a person's notice tries, in order: the tenant's policy, then (unless
/// only the policy's) the preferred channel and every other contact.
fn expected_channels(person: &Person, policy: &[&str], only: bool) -> Vec<&'static str> {
    const ALL: [&str; 5] = ["email", "sms", "push", "letter", "phone"];
    let mut out: Vec<&'static str> = Vec::new();
    let mut add = |wanted: &str| {
        if let Some(&c) = ALL.iter().find(|a| **a == wanted)
            && person.has_contact(c)
            && !out.contains(&c)
        {
            out.push(c);
        }
    };
    for c in policy {
        add(c);
    }
    if !only {
        if let Some(c) = &person.preferred_channel {
            add(c);
        }
        for c in ALL {
            add(c);
        }
    }
    out
}

/// The address a notice on `channel` goes to: the guardian's own for a child.
fn address(p: &Person, channel: &str) -> Option<String> {
    let minor = p.is_minor();
    let pick = |own: &Option<String>, guardian: &Option<String>| {
        if minor { guardian.clone() } else { own.clone() }
    };
    match channel {
        "email" => pick(&p.email, &p.guardian_email),
        "sms" | "phone" => pick(&p.phone, &p.guardian_phone),
        "push" => pick(&p.push_token, &p.guardian_push_token),
        "letter" => pick(&p.postal_address, &p.guardian_postal_address),
        _ => None,
    }
}

fn instant(v: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("{v}")))
        .unwrap()
        .to_utc()
}

/// JC-Task promises Chinese-speaking workers in Japan to tell them within 30
/// working days, by e-mail, letter, phone or push (never SMS), with a public
/// announcement for those it cannot reach. Residence-card images leak the day
/// before Golden Week.
#[tokio::test]
async fn jc_task_tells_its_workers_within_30_japanese_working_days() {
    // Tue 28 Apr 2026, 10:00 in Tokyo.
    let s = story("jc-task", "2026-04-28T10:00:00+09:00").await;

    // The promise: the 30th JP working day after 28 April, skipping Showa Day
    // (29 Apr) and Golden Week (3–6 May: Sunday, three holidays and the
    // substitute holiday) → Mon 15 June, end of day in Tokyo.
    let promise = s.obligation("commitment:jc-task", "subjects", "notice");
    assert_eq!(promise["due_date"], "2026-06-15", "{promise:#}");
    assert_eq!(promise["due_at"], "2026-06-15T14:59:59Z");
    // APPI (malicious access): the person must be told promptly (target 72 h),
    // the PPC preliminary report within about 3 days, the final one in 60 days
    // counting the day of awareness: 28 Apr + 59 = Fri 26 June.
    let law = s.obligation("appi", "subjects", "notice");
    assert_eq!(law["kind"], "asap");
    let target = instant(&law["target_at"]);
    assert_eq!(target.to_rfc3339(), "2026-05-01T01:00:00+00:00");
    assert!(
        target < instant(&promise["due_at"]),
        "the law's 'promptly' is the stricter; the promise is the outer limit"
    );
    assert_eq!(
        s.obligation("appi", "regulator", "preliminary")["target_at"],
        "2026-05-01T01:00:00Z"
    );
    assert_eq!(
        s.obligation("appi", "regulator", "final")["due_at"],
        "2026-06-26T14:59:59Z"
    );

    // Chinese readers get Chinese; Traditional readers the Simplified text (the
    // only one written), which the plan warns about.
    let policy = ["email", "letter", "phone", "push"];
    let unreachable = s.check_every_person(&policy, true, |_| "zh-CN").await;
    assert!(
        s.outcome.plan["warnings"].to_string().contains("zh-TW"),
        "{:#}",
        s.outcome.plan
    );
    assert!(s.sms.requests().is_empty(), "JC-Task never sends SMS");
    s.check_deliveries(&policy, true).await;
    s.check_approval_and_completion(unreachable.len());
    s.check_reports(&[("appi", "preliminary")], unreachable.len());
    s.check_bulletin(&unreachable, &["appi", "commitment:jc-task"])
        .await;
}

/// Cybozu Shanghai tells its customers "promptly, as the law requires" by
/// e-mail, letter, phone or push, reports the handling to the regulator, and
/// announces publicly when it cannot reach someone. An administrator credential is
/// stolen the day before China's National Day holiday.
#[tokio::test]
async fn cybozu_shanghai_reports_and_notifies_through_national_day() {
    // Wed 30 Sep 2026, 10:00 in Shanghai; 1–7 October are holidays.
    let s = story("cybozu-sh", "2026-09-30T10:00:00+08:00").await;
    // PIPL: regulator and people as soon as possible; the 24-hour target does not
    // wait for the holiday.
    for recipient in ["regulator", "subjects"] {
        let o = s.obligation("pipl", recipient, "notice");
        assert_eq!(o["kind"], "asap", "{o:#}");
        assert_eq!(o["target_at"], "2026-10-01T02:00:00Z", "{o:#}");
    }
    // Customers' staff living in Japan bring APPI: final report 60 days counting
    // 30 Sep → Sat 28 Nov, rolled to Mon 30 Nov.
    assert_eq!(
        s.obligation("appi", "regulator", "final")["due_at"],
        "2026-11-30T14:59:59Z"
    );
    assert!(
        s.outcome.affected["by_jurisdiction"]["JP"]
            .as_u64()
            .unwrap()
            > 0,
        "{:#}",
        s.outcome.affected
    );

    let policy = ["email", "letter", "phone", "push"];
    let unreachable = s
        .check_every_person(&policy, true, |p| match p.locale.as_deref() {
            Some("ja") => "ja",
            _ => "zh-CN",
        })
        .await;
    assert!(s.sms.requests().is_empty(), "no SMS was promised");
    s.check_deliveries(&policy, true).await;
    s.check_approval_and_completion(unreachable.len());
    s.check_reports(
        &[("pipl", "notice"), ("appi", "preliminary")],
        unreachable.len(),
    );
    s.check_bulletin(&unreachable, &["pipl", "commitment:cybozu-sh"])
        .await;
    // The announcement is in both languages the customers read.
    let b = s.outcome.bulletin.as_ref().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, one) = s
        .app
        .get(
            s.api.team().token(Role::Viewer).unwrap(),
            &format!("/api/v1/incidents/{}/bulletins/{b}", s.outcome.incident_id),
        )
        .await;
    let written: BTreeSet<&str> = one["versions"][0]["content"]["locales"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(written, BTreeSet::from(["ja", "zh-CN"]), "{one:#}");
}

/// Renji starts its emergency plan and tells users by SMS, then phone, then any
/// other reasonable channel, reporting to the regulator; its ID-verification
/// vendor leaked ID cards and face images during the National Day week.
#[tokio::test]
async fn renji_texts_then_calls_after_its_vendor_leaked_faces() {
    let s = story("renji", "2026-10-02T09:30:00+08:00").await;
    let o = s.obligation("pipl", "subjects", "notice");
    assert_eq!(o["target_at"], "2026-10-03T01:30:00Z", "{o:#}");
    s.obligation("pipl", "regulator", "notice");
    assert!(
        s.not_triggered("cn-cac"),
        "the CAC's 4-hour report starts at a million people"
    );
    let exposed = &s.outcome.affected;
    assert!(exposed["total"].as_u64().unwrap() < s.outcome.people.len() as u64);

    let policy = ["sms", "phone"];
    let unreachable = s.check_every_person(&policy, false, |_| "zh-CN").await;
    // Users who signed in with WeChat only have no number: the app's push is
    // the "other reasonable channel".
    let push_only = s
        .affected()
        .await
        .into_iter()
        .filter(|p| p.phone.is_none() && p.push_token.is_some())
        .count();
    assert!(push_only > 0);
    s.check_deliveries(&policy, false).await;
    assert!(!s.sms.requests().is_empty());
    s.check_approval_and_completion(unreachable.len());
    s.check_reports(&[("pipl", "notice")], unreachable.len());
    s.check_bulletin(&unreachable, &["pipl", "commitment:renji"])
        .await;
}

/// Cafetalk (Tokyo) teaches students worldwide: the Japanese notice prevails and
/// must exist whenever another language goes out; each student reads their own
/// language (German students English, the service's fallback). Its message
/// database is copied; the 60-day APPI report falls in the year-end closure.
#[tokio::test]
async fn cafetalk_writes_in_japanese_first_and_to_each_student_in_their_language() {
    // Sun 1 Nov 2026, 10:00 in Tokyo.
    let s = story("cafetalk", "2026-11-01T10:00:00+09:00").await;
    // 1 Nov + 59 = Wed 30 Dec, inside 29 Dec–3 Jan → Mon 4 Jan 2027.
    assert_eq!(
        s.obligation("appi", "regulator", "final")["due_at"],
        "2027-01-04T14:59:59Z"
    );
    // Students abroad bring their own laws: GDPR and UK GDPR (72 h to the
    // authority), Russia (24 h, then 72 h), PIPL for those in mainland China.
    assert_eq!(
        s.obligation("gdpr", "regulator", "initial")["due_at"],
        "2026-11-04T01:00:00Z"
    );
    s.obligation("uk-gdpr", "regulator", "initial");
    assert_eq!(
        s.obligation("ru-152fz", "regulator", "initial")["due_at"],
        "2026-11-02T01:00:00Z"
    );
    s.obligation("pipl", "subjects", "notice");
    assert!(
        s.not_triggered("us-ca"),
        "messages are not data California's breach statute covers"
    );

    let unreachable = s
        .check_every_person(&["email"], false, |p| match p.locale.as_deref() {
            Some("ja") => "ja",
            Some("ru") => "ru",
            Some("zh-CN") => "zh-CN",
            _ => "en",
        })
        .await;
    // Everyone not reading Japanese is told the Japanese text prevails.
    let russian = s
        .affected()
        .await
        .into_iter()
        .find(|p| p.locale.as_deref() == Some("ru") && p.email.is_some())
        .unwrap();
    let p = s.preview(&russian.external_id, "email").await;
    let text = p["text"].as_str().unwrap();
    assert!(
        text.contains("преимущественную силу имеет версия на языке оригинала (日本語)"),
        "the Russian notice says the Japanese version prevails: {text}"
    );
    s.check_deliveries(&["email"], false).await;
    s.check_approval_and_completion(unreachable.len());
    s.check_reports(
        &[
            ("appi", "preliminary"),
            ("gdpr", "initial"),
            ("uk-gdpr", "initial"),
            ("ru-152fz", "initial"),
            ("pipl", "notice"),
        ],
        unreachable.len(),
    );
    s.check_bulletin(&unreachable, &["appi"]).await;
    assert!(
        s.outcome.substitute["regimes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["regime"] != "ru-152fz" || r["allowed"] == false),
        "Russian law allows no public substitute"
    );
}

/// JusTalk Kids serves children under 13 worldwide: parents are told, by push on
/// their own phone and then e-mail, never on the child's device; GDPR and the US
/// state laws apply where the families live. Children's locations and photos are
/// exposed the weekend European clocks go back.
#[tokio::test]
async fn justalk_kids_tells_parents_never_children() {
    // Sat 24 Oct 2026, 11:00 in Berlin (09:00 UTC); summer time ends on the 25th.
    let s = story("justalk-kids", "2026-10-24T09:00:00Z").await;
    // 72 elapsed hours, whatever the clocks in Berlin say.
    assert_eq!(
        s.obligation("gdpr", "regulator", "initial")["due_at"],
        "2026-10-27T09:00:00Z"
    );
    s.obligation("gdpr", "subjects", "notice");
    s.obligation("pipl", "subjects", "notice");
    s.obligation("tw-pdpa", "subjects", "notice");
    // Location and photos are not data the US state breach statutes cover: they
    // are shown as not triggered, each with its reason, for the families there.
    for state in ["us-ca", "us-ny", "us-tx"] {
        assert!(s.not_triggered(state), "{state}");
        assert!(!s.regimes().contains(state));
    }
    let summary = &s.outcome.affected;
    assert_eq!(summary["minors"], summary["total"], "{summary:#}");
    for place in ["DE", "FR", "US-CA", "US-NY", "TW", "CN"] {
        assert!(
            summary["by_jurisdiction"][place].as_u64().unwrap() > 0,
            "{place}"
        );
    }

    let policy = ["push", "email"];
    let unreachable = s
        .check_every_person(&policy, true, |p| match p.locale.as_deref() {
            Some("zh-TW") => "zh-TW",
            Some("zh-CN") => "zh-CN",
            _ => "en",
        })
        .await;
    s.check_deliveries(&policy, true).await;
    let children: BTreeSet<String> = s
        .outcome
        .people
        .iter()
        .filter_map(|p| p.push_token.clone())
        .collect();
    assert!(!children.is_empty());
    for request in s.push.requests() {
        let to = request.json()["to"].as_str().unwrap().to_owned();
        assert!(!children.contains(&to), "a child's own device got a notice");
    }
    s.check_approval_and_completion(unreachable.len());
    s.check_reports(
        &[("gdpr", "initial"), ("pipl", "notice")],
        unreachable.len(),
    );
    s.check_bulletin(&unreachable, &["pipl"]).await;
}

/// Another registry of the same market (other seed and size) gives the same
/// promises: the scenario does not depend on the people the demo happens to hold.
#[tokio::test]
async fn another_registry_mix_keeps_the_promises() {
    let customer = Customer::load("justalk-kids").unwrap();
    let aware = chrono::DateTime::parse_from_rfc3339("2026-03-28T23:30:00Z")
        .unwrap()
        .to_utc();
    let mut scenario = Scenario::at(&customer, aware);
    scenario.registry = customer.registry.varied(99, 40);
    let s = played(customer, scenario).await;
    let policy = ["push", "email"];
    let unreachable = s
        .check_every_person(&policy, true, |p| match p.locale.as_deref() {
            Some("zh-TW") => "zh-TW",
            Some("zh-CN") => "zh-CN",
            _ => "en",
        })
        .await;
    s.check_deliveries(&policy, true).await;
    s.check_approval_and_completion(unreachable.len());
    // Across the start of European summer time (29 Mar, 01:00 UTC): still 72 h.
    assert_eq!(
        s.obligation("gdpr", "regulator", "initial")["due_at"],
        "2026-03-31T23:30:00Z"
    );
}

/// `breachline demo` loads the five customers once, says so the second time, and
/// never resets a database that holds someone else's tenant.
#[test]
fn the_demo_loads_once_and_leaves_other_tenants_alone() {
    let db = crate::helpers::TestDb::new();
    let (code, out, err) = crate::helpers::run_cli(&db, &["demo"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("five customers loaded"), "{out}");
    for slug in demo::SLUGS {
        assert!(
            out.contains(&format!("/b/{slug}/")),
            "{slug}'s bulletin: {out}"
        );
        assert!(out.contains(&format!("approver@{slug}.example")), "{out}");
    }
    assert_eq!(out.matches("blt_").count(), 25, "five tokens per customer");
    let (code, again, err) = crate::helpers::run_cli(&db, &["demo"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        again.contains("already loaded") && !again.contains("blt_"),
        "{again}"
    );
    let (code, _, err) =
        crate::helpers::run_cli(&db, &["tenants", "create", "acme", "--name", "Acme"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = crate::helpers::run_cli(&db, &["demo", "--reset"]);
    assert_eq!(code, 1);
    assert!(err.contains("acme"), "{err}");
    let (code, list, _) = crate::helpers::run_cli(&db, &["tenants", "list"]);
    assert_eq!(code, 0);
    assert_eq!(list.lines().count(), 6, "nothing was dropped: {list}");
}
