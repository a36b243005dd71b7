//! Golden tests: each expected `due_at` is derived by hand from the statute's counting
//! rule and the official calendars in regulations.md (not from this code's output).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

use super::*;

/// An incident with sensible defaults; `patch` overrides top-level fields.
fn incident(patch: Value) -> Value {
    let mut base = json!({
        "aware_at": "2026-03-02T01:00:00Z",
        "cause": "accidental",
        "data_categories": ["contact"],
        "encrypted": false,
        "risk": "low",
        "affected": [],
    });
    for (key, value) in patch.as_object().unwrap() {
        base[key] = value.clone();
    }
    base
}

fn run(input: Value) -> Evaluation {
    evaluate(&parse(&input.to_string()).unwrap()).unwrap()
}

fn people(code: &str, count: u64) -> Value {
    json!([{ "jurisdiction": code, "count": count, "minors": 0 }])
}

fn find<'a>(e: &'a Evaluation, regime: &str, key: &str) -> Option<&'a Obligation> {
    e.obligations
        .iter()
        .find(|o| o.regime == regime && format!("{}.{}", o.recipient, o.phase) == key)
}

fn due_at(e: &Evaluation, regime: &str, key: &str) -> String {
    let obligation =
        find(e, regime, key).unwrap_or_else(|| panic!("{regime} {key} missing: {e:#?}"));
    obligation
        .due_at
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("null ({:?})", obligation.error))
}

fn skipped<'a>(e: &'a Evaluation, regime: &str, key: Option<&str>) -> Option<&'a str> {
    e.not_triggered
        .iter()
        .find(|n| n.regime == regime && n.obligation.as_deref() == key)
        .map(|n| n.reason.as_str())
}

#[test]
fn embedded_regimes_parse_and_validate() {
    let ids: Vec<&str> = model::regimes()
        .unwrap()
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "gdpr",
            "uk-gdpr",
            "appi",
            "pipl",
            "cn-cac",
            "tw-pdpa",
            "ru-152fz",
            "us-ca",
            "us-ny",
            "us-tx",
            "us-fl",
            "us-co",
            "us-wa",
            "sg-pdpa",
            "kr-pipa",
            "au-ndb",
            "br-lgpd",
            "in-dpdp",
            "ca-pipeda",
        ]
    );
}

/// A one-rule regime file with `rule` spliced into its rule table.
fn regime_with(rule: &str) -> Result<(), String> {
    regime_file(
        "substitute = { citation = \"c\", not_allowed = \"none\" }",
        rule,
    )
}

/// A regime file with `substitute` (top-level keys) and `rule` spliced in.
fn regime_file(substitute: &str, rule: &str) -> Result<(), String> {
    let text = format!(
        "id = \"t\"\nterritory = [\"JP\"]\nterritory_name = \"JP\"\ntime_zone = \"Asia/Tokyo\"\n\
         {substitute}\n[[rules]]\nrecipient = \"r\"\nphase = \"p\"\ncitation = \"c\"\n\
         effective_from = \"2020-01-01\"\n{rule}"
    );
    let regime: model::Regime = toml::from_str(&text).map_err(|e| e.to_string())?;
    model::validate(&regime)
}

#[test]
fn regime_data_defects_are_rejected() {
    assert_eq!(
        regime_with("deadline = { kind = \"hours\", amount = 3 }"),
        Ok(())
    );
    let defects = [
        (
            "deadline = { kind = \"hours\", amount = 3, extra = 1 }",
            "unknown field",
        ),
        (
            "deadline = { kind = \"weeks\", amount = 3 }",
            "unknown variant",
        ),
        ("deadline = { kind = \"hours\", amount = 0 }", "at least 1"),
        (
            "deadline = { kind = \"working_days\", amount = 3, calendar = \"FR\" }",
            "unknown calendar 'FR'",
        ),
        (
            "deadline = { kind = \"asap\" }\neffective_until = \"2019-01-01\"",
            "not after effective_from",
        ),
        (
            "deadline = { kind = \"asap\" }\nwhen = { people = { op = \"lt\", value = 3 } }",
            "unknown variant",
        ),
        (
            "deadline = { kind = \"asap\" }\n[[rules]]\nrecipient = \"r\"\nphase = \"p\"\n\
             citation = \"c\"\neffective_from = \"2021-01-01\"\ndeadline = { kind = \"asap\" }",
            "overlaps an earlier version",
        ),
    ];
    for (rule, message) in defects {
        let err = regime_with(rule).unwrap_err();
        assert!(err.contains(message), "{rule}: {err}");
    }
}

#[test]
fn substitute_section_defects_are_rejected() {
    let rule = "deadline = { kind = \"asap\" }";
    let allowed = "substitute = { citation = \"c\", when = [{ kind = \"no_contact\", at_least = 10 }], \
                   requires = [{ kind = \"website_posting\", days = 90, detail = \"d\" }] }";
    assert_eq!(regime_file(allowed, rule), Ok(()));
    let defects = [
        ("", "missing field `substitute`"),
        (
            "substitute = { citation = \"c\" }",
            "needs `when` and `requires`",
        ),
        (
            "substitute = { citation = \" \", not_allowed = \"x\" }",
            "citation is empty",
        ),
        (
            "substitute = { citation = \"c\", not_allowed = \"x\", when = [{ kind = \"no_contact\" }] }",
            "goes without",
        ),
        (
            "substitute = { citation = \"c\", when = [{ kind = \"cost_above\", amount = 1, currency = \"usd\" }], \
             requires = [{ kind = \"website_posting\", detail = \"d\" }] }",
            "not ISO 4217",
        ),
        (
            "substitute = { citation = \"c\", when = [{ kind = \"people\", op = \"gt\", value = 0 }], \
             requires = [{ kind = \"website_posting\", detail = \"d\" }] }",
            "must be positive",
        ),
        (
            "substitute = { citation = \"c\", when = [{ kind = \"no_contact\" }], \
             requires = [{ kind = \"website_posting\", days = 0, detail = \"d\" }] }",
            "0 days",
        ),
        (
            "substitute = { citation = \"c\", when = [{ kind = \"no_contact\" }], \
             requires = [{ kind = \"billboard\", detail = \"d\" }] }",
            "unknown value 'billboard'",
        ),
    ];
    for (section, message) in defects {
        let err = regime_file(section, rule).unwrap_err();
        assert!(err.contains(message), "{section}: {err}");
    }
}

#[test]
fn every_regime_states_its_substitute_rule() {
    let policies = substitute_policies().unwrap();
    assert_eq!(policies.len(), model::regimes().unwrap().len());
    let not_allowed: Vec<&str> = policies
        .iter()
        .filter(|p| p.substitute.not_allowed.is_some())
        .map(|p| p.regime)
        .collect();
    assert_eq!(not_allowed, ["cn-cac", "ru-152fz", "sg-pdpa", "in-dpdp"]);
    let days = |regime: &str| -> Vec<(String, Option<u32>)> {
        let p = policies.iter().find(|p| p.regime == regime).unwrap();
        p.substitute
            .requires
            .iter()
            .map(|r| (r.kind.to_string(), r.days))
            .collect()
    };
    let s = |k: &str, d: Option<u32>| (k.to_string(), d);
    assert_eq!(
        days("us-ca"),
        [
            s("email_where_known", None),
            s("website_posting", Some(30)),
            s("home_page_link", None),
            s("media_notice", None)
        ]
    );
    assert_eq!(days("br-lgpd"), [s("website_posting", Some(90))]);
    assert_eq!(days("kr-pipa"), [s("website_posting", Some(30))]);
    assert_eq!(
        days("appi"),
        [s("website_posting", None), s("inquiry_desk", None)]
    );
}

#[test]
fn public_announcement_is_read_from_the_tenant_profile() {
    let profile = json!({"public_announcement": {"id": "jc-task", "description": "reasonable, effective public announcement", "posting_days": 30}});
    let parsed = parse_tenant_profile(&profile).unwrap();
    let promise = parsed.public_announcement.unwrap();
    assert_eq!(promise.regime(), "commitment:jc-task");
    assert_eq!(promise.substitute().requires[0].days, Some(30));
    let bad = json!({"public_announcement": {"description": "", "posting_days": 0, "extra": 1}});
    let fields: Vec<String> = parse_tenant_profile(&bad)
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "public_announcement.extra",
            "public_announcement.description",
            "public_announcement.id",
            "public_announcement.posting_days"
        ]
    );
}

#[test]
fn every_regime_is_listed_once_when_nothing_applies() {
    let e = run(incident(json!({})));
    assert!(e.obligations.is_empty());
    assert_eq!(e.not_triggered.len(), 19);
    assert_eq!(
        skipped(&e, "appi", None),
        Some("no affected people in JP and no establishment there")
    );
}

/// (regime, duty, incident patch, expected due_at) — fixed deadlines.
const FIXED: &[(&str, &str, &str, &str)] = &[
    // APPI final, day of knowing = day 1, rolled on JP-ADMIN.
    // 1 May 2026 JST (16:00Z on 30 Apr), malicious: day 60 = Mon 29 Jun.
    (
        "appi",
        "regulator.final",
        r#"{"aware_at":"2026-04-30T16:00:00Z","cause":"malicious","affected":[{"jurisdiction":"JP","count":5}]}"#,
        "2026-06-29T14:59:59Z",
    ),
    // Same instant, not malicious (credentials): day 30 = Sat 30 May → Mon 1 Jun.
    (
        "appi",
        "regulator.final",
        r#"{"aware_at":"2026-04-30T16:00:00Z","data_categories":["credentials"],"affected":[{"jurisdiction":"JP","count":5}]}"#,
        "2026-06-01T14:59:59Z",
    ),
    // 30 Apr JST (14:00Z): day 30 = Fri 29 May.
    (
        "appi",
        "regulator.final",
        r#"{"aware_at":"2026-04-30T14:00:00Z","data_categories":["credentials"],"affected":[{"jurisdiction":"JP","count":5}]}"#,
        "2026-05-29T14:59:59Z",
    ),
    // Golden Week: from Sat 4 Apr, day 30 = Sun 3 May → 4, 5, 6 May holidays → Thu 7 May.
    (
        "appi",
        "regulator.final",
        r#"{"aware_at":"2026-04-04T03:00:00Z","data_categories":["health"],"affected":[{"jurisdiction":"JP","count":5}]}"#,
        "2026-05-07T14:59:59Z",
    ),
    // Year end: from Mon 30 Nov, day 30 = Tue 29 Dec → closed to 3 Jan → Mon 4 Jan 2027.
    (
        "appi",
        "regulator.final",
        r#"{"aware_at":"2026-11-30T01:00:00Z","data_categories":["financial"],"affected":[{"jurisdiction":"JP","count":5}]}"#,
        "2027-01-04T14:59:59Z",
    ),
    // 60 days over a weekend: from Wed 7 Jan, day 60 = Sat 7 Mar → Mon 9 Mar.
    (
        "appi",
        "regulator.final",
        r#"{"aware_at":"2026-01-07T01:00:00Z","cause":"insider","affected":[{"jurisdiction":"JP","count":5}]}"#,
        "2026-03-09T14:59:59Z",
    ),
    // More than 1,000 people alone triggers APPI.
    (
        "appi",
        "regulator.final",
        r#"{"aware_at":"2026-04-30T14:00:00Z","affected":[{"jurisdiction":"JP","count":1001}]}"#,
        "2026-05-29T14:59:59Z",
    ),
    // GDPR: exact 72 h across the EU DST change of 29 Mar 2026.
    (
        "gdpr",
        "regulator.initial",
        r#"{"aware_at":"2026-03-28T10:00:00Z","affected":[{"jurisdiction":"DE","count":3}]}"#,
        "2026-03-31T10:00:00Z",
    ),
    (
        "uk-gdpr",
        "regulator.initial",
        r#"{"aware_at":"2026-10-24T12:30:00+01:00","affected":[{"jurisdiction":"GB","count":3}]}"#,
        "2026-10-27T11:30:00Z",
    ),
    // US-CA: 06:00Z on 1 Mar is 28 Feb in Los Angeles; +30 = 30 Mar (PDT, -07:00).
    (
        "us-ca",
        "subjects.notice",
        r#"{"aware_at":"2026-03-01T06:00:00Z","data_categories":["payment_card"],"affected":[{"jurisdiction":"US-CA","count":10}]}"#,
        "2026-03-31T06:59:59Z",
    ),
    (
        "us-ca",
        "subjects.notice",
        r#"{"aware_at":"2026-03-01T09:00:00Z","data_categories":["payment_card"],"affected":[{"jurisdiction":"US-CA","count":10}]}"#,
        "2026-04-01T06:59:59Z",
    ),
    // First instant of 2026 in Los Angeles: the SB 446 limit applies; +30 = 31 Jan (PST).
    (
        "us-ca",
        "subjects.notice",
        r#"{"aware_at":"2026-01-01T08:00:00Z","data_categories":["health"],"affected":[{"jurisdiction":"US-CA","count":10}]}"#,
        "2026-02-01T07:59:59Z",
    ),
    // US-NY: 5 Oct EDT + 30 = 4 Nov, after DST ends (EST, -05:00).
    (
        "us-ny",
        "subjects.notice",
        r#"{"aware_at":"2026-10-05T14:00:00Z","data_categories":["credentials"],"affected":[{"jurisdiction":"US-NY","count":10}]}"#,
        "2026-11-05T04:59:59Z",
    ),
    // US-TX: 5 Jan + 60 = 6 Mar (CST); AG 5 Jan + 30 = 4 Feb.
    (
        "us-tx",
        "subjects.notice",
        r#"{"aware_at":"2026-01-05T18:00:00Z","data_categories":["government_id"],"affected":[{"jurisdiction":"US-TX","count":250}]}"#,
        "2026-03-07T05:59:59Z",
    ),
    (
        "us-tx",
        "attorney_general.notice",
        r#"{"aware_at":"2026-01-05T18:00:00Z","data_categories":["government_id"],"affected":[{"jurisdiction":"US-TX","count":250}]}"#,
        "2026-02-05T05:59:59Z",
    ),
    // US-WA: 10 Feb + 30 = 12 Mar, after DST starts (PDT).
    (
        "us-wa",
        "subjects.notice",
        r#"{"aware_at":"2026-02-10T20:00:00Z","data_categories":["biometric"],"affected":[{"jurisdiction":"US-WA","count":501}]}"#,
        "2026-03-13T06:59:59Z",
    ),
    (
        "us-wa",
        "attorney_general.notice",
        r#"{"aware_at":"2026-02-10T20:00:00Z","data_categories":["biometric"],"affected":[{"jurisdiction":"US-WA","count":501}]}"#,
        "2026-03-13T06:59:59Z",
    ),
    // US-CO: 10 Oct MDT + 30 = 9 Nov (MST, -07:00).
    (
        "us-co",
        "subjects.notice",
        r#"{"aware_at":"2026-10-10T18:00:00Z","data_categories":["financial"],"affected":[{"jurisdiction":"US-CO","count":500}]}"#,
        "2026-11-10T06:59:59Z",
    ),
    (
        "us-co",
        "attorney_general.notice",
        r#"{"aware_at":"2026-10-10T18:00:00Z","data_categories":["financial"],"affected":[{"jurisdiction":"US-CO","count":500}]}"#,
        "2026-11-10T06:59:59Z",
    ),
    // US-FL: 15 Jun + 30 = 15 Jul (EDT).
    (
        "us-fl",
        "attorney_general.notice",
        r#"{"aware_at":"2026-06-15T16:00:00Z","data_categories":["health"],"affected":[{"jurisdiction":"US-FL","count":500}]}"#,
        "2026-07-16T03:59:59Z",
    ),
    // SG: 3 days after the day of assessment (SGT).
    (
        "sg-pdpa",
        "regulator.notice",
        r#"{"aware_at":"2026-03-01T02:00:00Z","assessed_at":"2026-03-04T15:30:00Z","affected":[{"jurisdiction":"SG","count":500}]}"#,
        "2026-03-07T15:59:59Z",
    ),
    (
        "sg-pdpa",
        "regulator.notice",
        r#"{"aware_at":"2026-03-01T02:00:00Z","assessed_at":"2026-03-04T16:30:00Z","affected":[{"jurisdiction":"SG","count":500}]}"#,
        "2026-03-08T15:59:59Z",
    ),
    (
        "sg-pdpa",
        "regulator.notice",
        r#"{"aware_at":"2026-03-01T02:00:00Z","data_categories":["children"],"affected":[{"jurisdiction":"SG","count":2}]}"#,
        "2026-03-04T15:59:59Z",
    ),
    // KR, RU, CN-CAC: exact hours.
    (
        "kr-pipa",
        "regulator.initial",
        r#"{"aware_at":"2026-03-02T01:00:00Z","affected":[{"jurisdiction":"KR","count":1000}]}"#,
        "2026-03-05T01:00:00Z",
    ),
    (
        "kr-pipa",
        "subjects.notice",
        r#"{"aware_at":"2026-03-02T01:00:00Z","cause":"malicious","affected":[{"jurisdiction":"KR","count":1}]}"#,
        "2026-03-05T01:00:00Z",
    ),
    (
        "ru-152fz",
        "regulator.initial",
        r#"{"aware_at":"2026-03-02T01:00:00Z","affected":[{"jurisdiction":"RU","count":1}]}"#,
        "2026-03-03T01:00:00Z",
    ),
    (
        "ru-152fz",
        "regulator.followup",
        r#"{"aware_at":"2026-03-02T01:00:00Z","affected":[{"jurisdiction":"RU","count":1}]}"#,
        "2026-03-05T01:00:00Z",
    ),
    (
        "cn-cac",
        "regulator.initial",
        r#"{"aware_at":"2026-03-02T01:00:00Z","affected":[{"jurisdiction":"CN","count":1000000}]}"#,
        "2026-03-02T05:00:00Z",
    ),
    // BR: 3 working days over Good Friday (3 Apr 2026) and Tiradentes (21 Apr 2026).
    (
        "br-lgpd",
        "regulator.notice",
        r#"{"aware_at":"2026-04-01T15:00:00Z","affected":[{"jurisdiction":"BR","count":1}]}"#,
        "2026-04-08T02:59:59Z",
    ),
    (
        "br-lgpd",
        "subjects.notice",
        r#"{"aware_at":"2026-04-17T15:00:00Z","affected":[{"jurisdiction":"BR","count":1}]}"#,
        "2026-04-24T02:59:59Z",
    ),
    // 02:00Z on 17 Apr is still Thu 16 Apr in São Paulo: 17, 20, 22 Apr.
    (
        "br-lgpd",
        "regulator.notice",
        r#"{"aware_at":"2026-04-17T02:00:00Z","affected":[{"jurisdiction":"BR","count":1}]}"#,
        "2026-04-23T02:59:59Z",
    ),
    // IN: in force from the first instant of 13 May 2027 IST.
    (
        "in-dpdp",
        "regulator.final",
        r#"{"aware_at":"2027-05-12T18:30:00Z","affected":[{"jurisdiction":"IN","count":1}]}"#,
        "2027-05-15T18:30:00Z",
    ),
];

#[test]
fn fixed_deadlines_golden() {
    for (regime, key, patch, expected) in FIXED {
        let e = run(incident(serde_json::from_str(patch).unwrap()));
        assert_eq!(due_at(&e, regime, key), *expected, "{regime} {key} {patch}");
        let obligation = find(&e, regime, key).unwrap();
        assert_eq!(obligation.kind, DeadlineKind::Fixed);
        assert_eq!(obligation.error, None);
    }
}

/// (regime, duty, incident patch, present?) — thresholds at N−1 / N / N+1 and conditions.
const PRESENCE: &[(&str, &str, &str, bool)] = &[
    (
        "appi",
        "regulator.preliminary",
        r#"{"affected":[{"jurisdiction":"JP","count":999}]}"#,
        false,
    ),
    (
        "appi",
        "regulator.preliminary",
        r#"{"affected":[{"jurisdiction":"JP","count":1000}]}"#,
        false,
    ),
    (
        "appi",
        "regulator.preliminary",
        r#"{"affected":[{"jurisdiction":"JP","count":1001}]}"#,
        true,
    ),
    (
        "appi",
        "subjects.notice",
        r#"{"data_categories":["sensitive"],"affected":[{"jurisdiction":"JP","count":1}]}"#,
        true,
    ),
    (
        "appi",
        "subjects.notice",
        r#"{"cause":"malicious","encrypted":true,"affected":[{"jurisdiction":"JP","count":5000}]}"#,
        false,
    ),
    (
        "us-ca",
        "attorney_general.notice",
        r#"{"data_categories":["financial"],"affected":[{"jurisdiction":"US-CA","count":500}]}"#,
        false,
    ),
    (
        "us-ca",
        "attorney_general.notice",
        r#"{"data_categories":["financial"],"affected":[{"jurisdiction":"US-CA","count":501}]}"#,
        true,
    ),
    (
        "us-ca",
        "subjects.notice",
        r#"{"data_categories":["contact"],"affected":[{"jurisdiction":"US-CA","count":900}]}"#,
        false,
    ),
    (
        "us-ca",
        "subjects.notice",
        r#"{"data_categories":["financial"],"encrypted":true,"affected":[{"jurisdiction":"US-CA","count":900}]}"#,
        false,
    ),
    (
        "us-ny",
        "attorney_general.notice",
        r#"{"data_categories":["financial"],"affected":[{"jurisdiction":"US-NY","count":1}]}"#,
        true,
    ),
    (
        "us-tx",
        "attorney_general.notice",
        r#"{"data_categories":["financial"],"affected":[{"jurisdiction":"US-TX","count":249}]}"#,
        false,
    ),
    (
        "us-tx",
        "attorney_general.notice",
        r#"{"data_categories":["financial"],"affected":[{"jurisdiction":"US-TX","count":251}]}"#,
        true,
    ),
    (
        "us-fl",
        "attorney_general.notice",
        r#"{"data_categories":["financial"],"affected":[{"jurisdiction":"US-FL","count":499}]}"#,
        false,
    ),
    (
        "us-fl",
        "attorney_general.notice",
        r#"{"data_categories":["financial"],"affected":[{"jurisdiction":"US-FL","count":501}]}"#,
        true,
    ),
    (
        "us-co",
        "attorney_general.notice",
        r#"{"data_categories":["financial"],"affected":[{"jurisdiction":"US-CO","count":499}]}"#,
        false,
    ),
    (
        "us-wa",
        "attorney_general.notice",
        r#"{"data_categories":["financial"],"affected":[{"jurisdiction":"US-WA","count":500}]}"#,
        false,
    ),
    (
        "sg-pdpa",
        "regulator.notice",
        r#"{"affected":[{"jurisdiction":"SG","count":499}]}"#,
        false,
    ),
    (
        "sg-pdpa",
        "regulator.notice",
        r#"{"affected":[{"jurisdiction":"SG","count":501}]}"#,
        true,
    ),
    (
        "sg-pdpa",
        "subjects.notice",
        r#"{"affected":[{"jurisdiction":"SG","count":501}]}"#,
        false,
    ),
    (
        "sg-pdpa",
        "subjects.notice",
        r#"{"data_categories":["health"],"affected":[{"jurisdiction":"SG","count":1}]}"#,
        true,
    ),
    (
        "kr-pipa",
        "regulator.initial",
        r#"{"affected":[{"jurisdiction":"KR","count":999}]}"#,
        false,
    ),
    (
        "kr-pipa",
        "regulator.initial",
        r#"{"affected":[{"jurisdiction":"KR","count":1001}]}"#,
        true,
    ),
    (
        "kr-pipa",
        "regulator.initial",
        r#"{"data_categories":["government_id"],"affected":[{"jurisdiction":"KR","count":1}]}"#,
        true,
    ),
    (
        "cn-cac",
        "regulator.initial",
        r#"{"affected":[{"jurisdiction":"CN","count":999999}]}"#,
        false,
    ),
    (
        "cn-cac",
        "regulator.initial",
        r#"{"affected":[{"jurisdiction":"CN","count":1000001}]}"#,
        true,
    ),
    (
        "pipl",
        "regulator.notice",
        r#"{"encrypted":true,"affected":[{"jurisdiction":"CN","count":1}]}"#,
        true,
    ),
    (
        "pipl",
        "subjects.notice",
        r#"{"encrypted":true,"affected":[{"jurisdiction":"CN","count":1}]}"#,
        false,
    ),
    (
        "tw-pdpa",
        "subjects.notice",
        r#"{"affected":[{"jurisdiction":"TW","count":1}]}"#,
        true,
    ),
    (
        "gdpr",
        "regulator.initial",
        r#"{"risk":"none","affected":[{"jurisdiction":"FR","count":10}]}"#,
        false,
    ),
    (
        "gdpr",
        "regulator.initial",
        r#"{"risk":null,"affected":[{"jurisdiction":"FR","count":10}]}"#,
        true,
    ),
    (
        "gdpr",
        "subjects.notice",
        r#"{"risk":null,"affected":[{"jurisdiction":"FR","count":10}]}"#,
        false,
    ),
    (
        "gdpr",
        "subjects.notice",
        r#"{"risk":"high","affected":[{"jurisdiction":"NO","count":10}]}"#,
        true,
    ),
    (
        "gdpr",
        "subjects.notice",
        r#"{"risk":"high","encrypted":true,"affected":[{"jurisdiction":"FR","count":10}]}"#,
        false,
    ),
    (
        "uk-gdpr",
        "regulator.initial",
        r#"{"affected":[{"jurisdiction":"FR","count":10}]}"#,
        false,
    ),
    (
        "au-ndb",
        "regulator.notice",
        r#"{"risk":"low","affected":[{"jurisdiction":"AU","count":10}]}"#,
        false,
    ),
    (
        "au-ndb",
        "regulator.notice",
        r#"{"risk":"high","affected":[{"jurisdiction":"AU","count":10}]}"#,
        true,
    ),
    (
        "br-lgpd",
        "regulator.notice",
        r#"{"risk":"none","affected":[{"jurisdiction":"BR","count":10}]}"#,
        false,
    ),
    (
        "ca-pipeda",
        "regulator.notice",
        r#"{"risk":"high","affected":[{"jurisdiction":"US-CA","count":10}]}"#,
        false,
    ),
    (
        "ca-pipeda",
        "subjects.notice",
        r#"{"risk":"high","affected":[{"jurisdiction":"CA","count":10}]}"#,
        true,
    ),
    (
        "in-dpdp",
        "regulator.initial",
        r#"{"aware_at":"2027-05-12T18:29:59Z","affected":[{"jurisdiction":"IN","count":10}]}"#,
        false,
    ),
];

#[test]
fn presence_golden() {
    for (regime, key, patch, present) in PRESENCE {
        let e = run(incident(serde_json::from_str(patch).unwrap()));
        assert_eq!(
            find(&e, regime, key).is_some(),
            *present,
            "{regime} {key} {patch}"
        );
    }
}

#[test]
fn reasons_name_the_failed_condition() {
    let e = run(incident(json!({"affected": people("JP", 1000)})));
    let reason = skipped(&e, "appi", None).unwrap();
    assert!(
        reason.contains("1,000 people counted, needs more than 1,000"),
        "{reason}"
    );
    let e = run(incident(
        json!({"aware_at": "2027-05-12T18:29:59Z", "affected": people("IN", 1)}),
    ));
    assert_eq!(
        skipped(&e, "in-dpdp", None),
        Some("in force only for clock starts on or after 2027-05-13")
    );
    let e = run(incident(json!({"affected": people("DE", 5)})));
    assert_eq!(
        skipped(&e, "gdpr", Some("subjects.notice")),
        Some("risk is low, needs high")
    );
    let e = run(incident(
        json!({"risk": "high", "encrypted": true, "affected": people("DE", 5)}),
    ));
    assert_eq!(
        skipped(&e, "gdpr", Some("subjects.notice")),
        Some("data encrypted")
    );
    let e = run(incident(
        json!({"risk": "none", "affected": people("DE", 5)}),
    ));
    assert_eq!(
        skipped(&e, "gdpr", None),
        Some("regulator.initial: risk is none; subjects.notice: risk is none, needs high")
    );
    let e = run(incident(
        json!({"risk": "none", "affected": people("BR", 5)}),
    ));
    assert_eq!(skipped(&e, "br-lgpd", None), Some("risk is none"));
    let e = run(incident(
        json!({"data_categories": ["financial"], "affected": people("US-FL", 499)}),
    ));
    assert_eq!(
        skipped(&e, "us-fl", Some("attorney_general.notice")),
        Some("499 people counted, needs at least 500")
    );
}

#[test]
fn asap_duties_carry_target_and_limit() {
    let e = run(incident(json!({
        "aware_at": "2026-03-01T00:00:00Z", "risk": "high", "cause": "malicious",
        "affected": [{"jurisdiction": "AU", "count": 3}, {"jurisdiction": "JP", "count": 3}],
    })));
    let au = find(&e, "au-ndb", "regulator.notice").unwrap();
    assert_eq!(au.kind, DeadlineKind::Asap);
    assert_eq!(au.due_at, None);
    assert_eq!(
        au.target_at.unwrap().to_rfc3339(),
        "2026-03-04T00:00:00+00:00"
    );
    // 1 Mar 11:00 AEDT + 30 days = 31 Mar, still AEDT (+11).
    assert_eq!(
        au.limit_at.unwrap().to_rfc3339(),
        "2026-03-31T12:59:59+00:00"
    );
    let appi = find(&e, "appi", "regulator.preliminary").unwrap();
    assert_eq!(
        appi.target_at.unwrap().to_rfc3339(),
        "2026-03-04T00:00:00+00:00"
    );
    assert_eq!(appi.limit_at, None);
}

#[test]
fn california_before_sb_446_is_asap() {
    for aware_at in ["2025-12-31T20:00:00Z", "2026-01-01T07:59:59Z"] {
        let patch = json!({"aware_at": aware_at, "data_categories": ["health"], "affected": people("US-CA", 10)});
        let e = run(incident(patch));
        let notice = find(&e, "us-ca", "subjects.notice").unwrap();
        assert_eq!(
            (notice.kind, notice.due_at),
            (DeadlineKind::Asap, None),
            "{aware_at}"
        );
        assert!(notice.basis.contains("before SB 446"));
    }
}

#[test]
fn appi_into_a_missing_year_is_an_error_not_a_guess() {
    for aware_at in ["2027-12-10T01:00:00Z", "2027-12-01T01:00:00Z"] {
        let patch = json!({"aware_at": aware_at, "cause": "vendor", "data_categories": ["credentials"], "affected": people("JP", 5)});
        let e = run(incident(patch));
        let last = find(&e, "appi", "regulator.final").unwrap();
        assert_eq!(last.due_at, None);
        assert_eq!(last.error.as_deref(), Some("no holiday data for JP 2028"));
        assert!(
            find(&e, "appi", "regulator.preliminary")
                .unwrap()
                .target_at
                .is_some()
        );
    }
}

#[test]
fn establishment_counts_everyone_residents_count_otherwise() {
    let affected = json!([
        {"jurisdiction": "JP", "count": 600},
        {"jurisdiction": "US-CA", "count": 450, "minors": 3},
    ]);
    let patch = json!({"data_categories": ["financial"], "affected": affected.clone()});
    let e = run(incident(patch));
    assert!(find(&e, "us-ca", "attorney_general.notice").is_none());
    assert_eq!(
        find(&e, "us-ca", "subjects.notice").unwrap().trigger,
        "450 people incl. 3 minors in US-CA; cause accidental; categories: financial; risk low"
    );
    let tenant = json!({"establishments": ["US-CA", "DE"]});
    let e = run(incident(
        json!({"data_categories": ["financial"], "affected": affected.clone(), "tenant": tenant}),
    ));
    let ag = find(&e, "us-ca", "attorney_general.notice").unwrap();
    assert!(
        ag.trigger
            .starts_with("1,050 people incl. 3 minors in all (tenant established in US-CA)")
    );
    assert!(find(&e, "gdpr", "regulator.initial").is_some());
    let tenant = json!({"establishments": ["US"]});
    let e = run(incident(
        json!({"data_categories": ["financial"], "affected": affected, "tenant": tenant}),
    ));
    assert!(find(&e, "us-ca", "attorney_general.notice").is_none());
}

#[test]
fn trigger_sentence_is_human() {
    let patch = json!({"cause": "malicious", "data_categories": ["credentials"], "risk": null, "affected": people("JP", 1500)});
    let e = run(incident(patch));
    assert_eq!(
        find(&e, "appi", "regulator.final").unwrap().trigger,
        "1,500 people in JP; cause malicious; categories: credentials"
    );
}

#[test]
fn commitments_golden() {
    let commitments = json!([
        {"id": "jc-task", "recipient": "subjects", "working_days": 30, "calendar": "JP", "description": "within 30 working days"},
        {"id": "cn-5", "recipient": "subjects", "working_days": 5, "calendar": "CN"},
        {"id": "ops", "recipient": "regulator", "phase": "initial", "hours": 24},
        {"id": "late", "recipient": "subjects", "working_days": 3, "calendar": "CN"},
    ]);
    // 1 Apr 2026 10:00 JST; in CN it is 09:00, also 1 Apr.
    let e = run(incident(
        json!({"aware_at": "2026-04-01T01:00:00Z", "tenant": {"commitments": commitments}}),
    ));
    assert_eq!(
        due_at(&e, "commitment:jc-task", "subjects.notice"),
        "2026-05-19T14:59:59Z"
    );
    let jc = find(&e, "commitment:jc-task", "subjects.notice").unwrap();
    assert_eq!(
        (
            jc.basis.as_str(),
            jc.trigger.as_str(),
            jc.time_zone.as_str()
        ),
        (
            "tenant commitment: within 30 working days",
            "tenant commitment",
            "Asia/Tokyo"
        )
    );
    // CN 1 Apr → 2, 3, 7, 8, 9 Apr (Qingming 4–6 Apr).
    assert_eq!(
        due_at(&e, "commitment:cn-5", "subjects.notice"),
        "2026-04-09T15:59:59Z"
    );
    assert_eq!(
        due_at(&e, "commitment:ops", "regulator.initial"),
        "2026-04-02T01:00:00Z"
    );
    assert_eq!(
        find(&e, "commitment:ops", "regulator.initial")
            .unwrap()
            .time_zone,
        "UTC"
    );
    assert_eq!(e.obligations.last().unwrap().regime, "commitment:late");
}

#[test]
fn commitment_over_spring_festival_and_into_missing_year() {
    let commitments =
        json!([{"id": "cn", "recipient": "subjects", "working_days": 5, "calendar": "CN"}]);
    // Thu 12 Feb 2026 10:00 CST: 13, 14 (make-up Sat), 24, 25, 26 Feb.
    let e = run(incident(
        json!({"aware_at": "2026-02-12T02:00:00Z", "tenant": {"commitments": commitments.clone()}}),
    ));
    assert_eq!(
        due_at(&e, "commitment:cn", "subjects.notice"),
        "2026-02-26T15:59:59Z"
    );
    let e = run(incident(
        json!({"aware_at": "2026-12-30T02:00:00Z", "tenant": {"commitments": commitments}}),
    ));
    let late = find(&e, "commitment:cn", "subjects.notice").unwrap();
    assert_eq!(
        (late.due_at, late.error.as_deref()),
        (None, Some("no holiday data for CN 2027"))
    );
}

#[test]
fn tenant_closures_extend_commitments() {
    let tenant = json!({
        "closures": ["2026-08-13", "2026-08-14"],
        "commitments": [{"id": "obon", "recipient": "subjects", "working_days": 1, "calendar": "JP"}],
    });
    let e = run(incident(
        json!({"aware_at": "2026-08-12T01:00:00Z", "tenant": tenant}),
    ));
    assert_eq!(
        due_at(&e, "commitment:obon", "subjects.notice"),
        "2026-08-17T14:59:59Z"
    );
}

#[test]
fn invalid_input_names_the_field() {
    let cases = [
        (
            json!({"affected": [{"jurisdiction": "JP", "count": 1}, {"jurisdiction": "XX", "count": 1}]}),
            "affected[1].jurisdiction",
            "unknown jurisdiction 'XX'",
        ),
        (
            json!({"aware_at": "2026-03-01 09:00"}),
            "aware_at",
            "expected RFC 3339 date-time with offset",
        ),
        (json!({"aware_at": null}), "aware_at", "required"),
        (
            json!({"affected": [{"jurisdiction": "JP", "count": 2, "minors": 3}]}),
            "affected[0].minors",
            "must not exceed count",
        ),
        (
            json!({"affected": [{"jurisdiction": "JP", "count": -1}]}),
            "affected[0].count",
            "non-negative integer",
        ),
        (
            json!({"data_categories": ["contact", "dna"]}),
            "data_categories[1]",
            "unknown value 'dna'",
        ),
        (json!({"risk": "medium"}), "risk", "unknown value 'medium'"),
        (json!({"encrypted": "yes"}), "encrypted", "invalid type"),
        (json!({"colour": "red"}), "colour", "unknown field"),
        (
            json!({"tenant": {"commitments": [{"id": "x", "recipient": "subjects", "hours": 1, "working_days": 2, "calendar": "JP"}]}}),
            "tenant.commitments[0]",
            "exactly one of",
        ),
        (
            json!({"tenant": {"commitments": [{"id": "x", "recipient": "subjects", "working_days": 2}]}}),
            "tenant.commitments[0].calendar",
            "required with working_days",
        ),
        (
            json!({"tenant": {"commitments": [{"id": "x", "recipient": "subjects", "working_days": 2, "calendar": "FR"}]}}),
            "tenant.commitments[0].calendar",
            "unknown calendar 'FR'",
        ),
        (
            json!({"tenant": {"commitments": [{"id": "x", "recipient": "subjects", "hours": 0}]}}),
            "tenant.commitments[0].hours",
            "positive integer",
        ),
        (
            json!({"tenant": {"commitments": [{"id": "x", "recipient": "subjects", "hours": 2, "time_zone": "Mars/Base"}]}}),
            "tenant.commitments[0].time_zone",
            "unknown IANA time zone",
        ),
        (
            json!({"tenant": {"establishments": ["JP", "ZZ"]}}),
            "tenant.establishments[1]",
            "unknown jurisdiction",
        ),
    ];
    for (patch, field, reason) in cases {
        let errors = run_cli(&incident(patch).to_string()).unwrap_err();
        let hit = errors.iter().find(|e| e.field == field);
        assert!(
            hit.is_some_and(|e| e.reason.contains(reason)),
            "{field}: {errors:?}"
        );
    }
    let errors = run_cli("{not json").unwrap_err();
    assert_eq!(errors[0].field, "input");
}

#[test]
fn cli_output_shape() {
    let input = json!({
        "aware_at": "2026-03-05T10:00:00+09:00",
        "cause": "malicious",
        "data_categories": ["credentials"],
        "risk": "high",
        "affected": [{"jurisdiction": "JP", "count": 1500, "minors": 0}],
    });
    let output: Value = serde_json::from_str(&run_cli(&input.to_string()).unwrap()).unwrap();
    let first = &output["obligations"][0];
    assert_eq!(first["regime"], "appi");
    assert_eq!(first["phase"], "preliminary");
    assert_eq!(first["kind"], "asap");
    assert_eq!(first["due_at"], Value::Null);
    assert_eq!(first["target_at"], "2026-03-08T01:00:00Z");
    assert_eq!(first["error"], Value::Null);
    // 5 Mar JST, malicious: day 60 = Sun 3 May → 4–6 May holidays → Thu 7 May.
    let last = &output["obligations"][1];
    assert_eq!(last["due_at"], "2026-05-07T14:59:59Z");
    assert_eq!(last["due_date"], "2026-05-07");
    assert_eq!(last["time_zone"], "Asia/Tokyo");
    assert_eq!(
        last["basis"],
        "APPI Art. 26(1); PPC Rules Art. 8(2) (60 days: Rule 7(iii) malicious act)"
    );
    let gdpr = output["not_triggered"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["regime"] == "gdpr")
        .unwrap();
    assert_eq!(gdpr.get("obligation"), None);
}

#[test]
fn notice_items_add_what_each_law_names_to_the_base() {
    use crate::domain::NoticeItem;
    let appi = super::notice_items("appi").unwrap();
    assert!(appi.contains(&NoticeItem::DataCategories) && appi.contains(&NoticeItem::Remedies));
    assert_eq!(
        super::notice_items("ru-152fz").unwrap(),
        NoticeItem::BASE.to_vec()
    );
    assert_eq!(
        super::notice_items("commitment:jc-task").unwrap(),
        NoticeItem::BASE.to_vec()
    );
}
