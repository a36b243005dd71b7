//! Golden tests of the report definitions (item order, statute numbers, labels in the
//! regulator's language — written out here from regulations.md, not from the data files),
//! the builder's `missing` rules, the renderers and the diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;

use super::*;
use crate::domain::{AffectedSummary, BreachType, Cause, Channel, DataCategory, IncidentFacts};

fn reports() -> &'static Reports {
    static REPORTS: OnceLock<Reports> = OnceLock::new();
    REPORTS.get_or_init(|| Reports::embedded().unwrap())
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// When the organisation became aware: 2026-11-02 09:00 JST.
fn aware() -> DateTime<Utc> {
    at("2026-11-02T00:00:00Z")
}

fn obligation(regime: &str, recipient: &str, phase: &str, due_at: Option<&str>) -> ObligationClock {
    ObligationClock {
        regime: regime.into(),
        recipient: recipient.into(),
        phase: phase.into(),
        basis: format!("{regime} {recipient}.{phase} basis"),
        due_at: due_at.map(at),
        target_at: None,
        limit_at: None,
        met_at: None,
    }
}

/// A fixed incident: 1,500 people (1,200 in JP, 200 in DE, 100 in US-CA), 3 minors,
/// notices sent by e-mail and letter, one bulletin, one approval, no team answers.
fn input() -> ReportInput {
    let summary = AffectedSummary {
        total: 1500,
        by_jurisdiction: BTreeMap::from([
            ("DE".into(), 200),
            ("JP".into(), 1200),
            ("US-CA".into(), 100),
        ]),
        minors: 3,
        ..AffectedSummary::default()
    };
    let by_category = BTreeMap::from([
        (DataCategory::Contact, 1500),
        (DataCategory::PaymentCard, 40),
    ]);
    let proof = Proof {
        by_channel: BTreeMap::from([
            (
                Channel::Email,
                OutcomeCounts {
                    delivered: 1300,
                    failed: 12,
                    ..OutcomeCounts::default()
                },
            ),
            (
                Channel::Letter,
                OutcomeCounts {
                    handed_off: 150,
                    ..OutcomeCounts::default()
                },
            ),
        ]),
        people_notified: 1450,
        unreachable: 38,
        covered_by_bulletin: 38,
        first_sent_at: Some(at("2026-11-03T01:00:00Z")),
        last_sent_at: Some(at("2026-11-03T02:30:00Z")),
        bulletin: Some(BulletinRef {
            url: "https://status.example.jp/b/inc-7".into(),
            version: 2,
            sha256: "b".repeat(64),
            published_at: at("2026-11-03T03:00:00Z"),
        }),
        approvals: vec![Approval {
            who: "dpo".into(),
            when: at("2026-11-03T00:30:00Z"),
            content_hash: "c".repeat(64),
        }],
    };
    ReportInput {
        incident_reference: "INC-7".into(),
        incident: IncidentFacts {
            title: "Web shop card skimming".into(),
            description: Some("Skimming script on the checkout page.".into()),
            occurred_at: Some(at("2026-10-30T12:00:00Z").naive_utc()),
            discovered_at: aware().naive_utc(),
            aware_at: aware().naive_utc(),
            assessed_at: None,
            contained_at: None,
            cause: Some(Cause::Malicious),
            breach_types: vec![BreachType::Confidentiality],
            data_categories: vec![DataCategory::Contact, DataCategory::PaymentCard],
            systems: vec!["shop".into()],
            encrypted: false,
            risk: None,
            estimated_affected: None,
            severity: None,
            owner: None,
        },
        tenant_name: "JC-Task K.K.".into(),
        affected: Some(AffectedCounts {
            summary,
            by_category,
        }),
        obligations: vec![
            obligation("appi", "regulator", "preliminary", None),
            obligation("appi", "regulator", "final", Some("2026-12-31T14:59:59Z")),
            obligation("gdpr", "regulator", "initial", Some("2026-11-05T00:00:00Z")),
            obligation("us-ca", "attorney_general", "notice", None),
        ],
        proof,
        sample_notice: Some(SampleNotice {
            channel: Channel::Email,
            locale: "en".into(),
            subject: Some("Notice of Data Breach".into()),
            text: "What Happened\nA skimming script…".into(),
            content_hash: "c".repeat(64),
        }),
        answers: BTreeMap::new(),
        prepared_at: aware() + Duration::hours(30),
    }
}

fn answer(input: &mut ReportInput, key: &str, text: &str) {
    input.answers.insert(key.into(), Answer::Text(text.into()));
}

fn not_yet_known(input: &mut ReportInput, key: &str) {
    input.answers.insert(
        key.into(),
        Answer::NotYetKnown(NotYetKnown {
            reason: "forensic investigation under way".into(),
            follow_up_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        }),
    );
}

fn build_report(regime: &str, phase: ReportPhase, input: &ReportInput) -> ReportDocument {
    reports().build(regime, phase, input).unwrap()
}

/// `(key, number, label)` of every item, in order.
fn outline(regime: &str) -> Vec<(String, String, String)> {
    reports()
        .definition(regime)
        .unwrap()
        .items
        .iter()
        .map(|i| (i.key.clone(), i.number.clone(), i.label.clone()))
        .collect()
}

fn triples(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(k, n, l)| (k.to_string(), n.to_string(), l.to_string()))
        .collect()
}

#[test]
fn embedded_definitions_templates_and_fonts_load() {
    let regimes: Vec<&str> = reports()
        .definitions()
        .iter()
        .map(|d| d.regime.as_str())
        .collect();
    assert_eq!(
        regimes,
        [
            "gdpr",
            "uk-gdpr",
            "appi",
            "pipl",
            "cn-cac",
            "ru-152fz",
            "us-ca",
            "sg-pdpa",
            "kr-pipa",
            "au-ndb",
            "br-lgpd",
            "in-dpdp",
            "ca-pipeda",
            "us-ny",
            "us-tx",
            "us-fl",
            "us-co",
            "us-wa"
        ]
    );
}

#[test]
fn definition_files_reject_mistakes() {
    let form = |items: &str, phased: bool| {
        format!(
            r#"language = "en"
[[regimes]]
id = "x"
regulator = "R"
regulator_en = "R"
time_zone = "Asia/Tokyo"
territory = ["JP"]
territory_name = "JP"
phases = [{{ phase = "final", obligation = "regulator.final", citation = "c", title = "t", title_en = "t", phased = {phased} }}]
{items}"#
        )
    };
    let item = |key: &str, extra: &str| {
        format!(
            "[[items]]\nkey = \"{key}\"\nnumber = \"1\"\nlabel = \"l\"\nlabel_en = \"l\"\n{extra}\n"
        )
    };
    let ok = form(&item("a", "from = \"team\"\nrequired = [\"final\"]"), false);
    assert!(definition::parse_form("t", &ok).is_ok());
    let cases = [
        (form(&item("a", "from = \"team\""), true), "never phased"),
        (form(&item("A", "from = \"team\""), false), "snake_case"),
        (
            form(
                &(item("a", "from = \"team\"") + &item("a", "from = \"team\"")),
                false,
            ),
            "used twice",
        ),
        (
            form(
                &item("a", "from = \"team\"\nrequired = [\"initial\"]"),
                false,
            ),
            "no regime",
        ),
        (
            form(
                &item(
                    "a",
                    "from = \"affected.total\"\nfallback = \"incident.title\"",
                ),
                false,
            ),
            "fallback",
        ),
        (
            form(&item("a", "from = \"incident.colour\""), false),
            "unknown value",
        ),
        (
            form(&item("a", "from = \"team\"\nwhen_late = true"), false),
            "when_late",
        ),
        (ok.replace("\"en\"", "\"fr\""), "no labels"),
        (ok.replace("Asia/Tokyo", "Mars/Olympus"), "time zone"),
    ];
    for (text, expected) in cases {
        let err = definition::parse_form("t", &text).unwrap_err();
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

/// Every regime's regulator and attorney-general obligations have a report, with the
/// regime's time zone and territory (checked against the regime engine itself).
#[test]
fn every_regulator_obligation_has_a_report_form() {
    let evaluate = |jurisdictions: &[String]| {
        let affected: Vec<_> = jurisdictions
            .iter()
            .map(|j| json!({ "jurisdiction": j, "count": 2_000_000, "minors": 0 }))
            .collect();
        let input = json!({
            "aware_at": "2027-06-01T00:00:00Z",
            "cause": "malicious",
            "data_categories": DataCategory::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            "encrypted": false,
            "risk": "high",
            "affected": affected,
        });
        crate::regimes::evaluate(&crate::regimes::parse(&input.to_string()).unwrap()).unwrap()
    };
    let definitions = reports().definitions();
    let all: Vec<String> = definitions
        .iter()
        .flat_map(|d| d.territory.iter().map(|j| j.as_str().to_owned()))
        .collect();
    for o in evaluate(&all).obligations {
        if o.recipient == "subjects" {
            continue;
        }
        let d = reports().definition(&o.regime).unwrap();
        let key = format!("{}.{}", o.recipient, o.phase);
        assert!(
            d.phases.iter().any(|p| p.obligation == key),
            "{} {key} has no report phase",
            o.regime
        );
        assert_eq!(o.time_zone, d.time_zone.name(), "{}", o.regime);
    }
    for d in definitions {
        for j in &d.territory {
            let applies = evaluate(&[j.as_str().to_owned()])
                .obligations
                .iter()
                .any(|o| o.regime == d.regime);
            assert!(applies, "{} is not in {}'s territory", j, d.regime);
        }
    }
}

#[test]
fn appi_items_are_ppc_rule_8_items_1_to_9() {
    let expected = triples(&[
        ("overview", "8(1)(i)", "概要"),
        ("occurred_at", "8(1)(i)", "発生日時"),
        ("discovered_at", "8(1)(i)", "発覚日時"),
        ("aware_at", "8(2)", "事態を知った日時（報告期限の起算点）"),
        (
            "data_items",
            "8(1)(ii)",
            "漏えい等が発生し又は発生したおそれがある個人データの項目",
        ),
        ("people_by_data_item", "8(1)(ii)", "項目ごとの本人の数"),
        (
            "people",
            "8(1)(iii)",
            "漏えい等が発生し又は発生したおそれがある個人データに係る本人の数",
        ),
        (
            "people_by_jurisdiction",
            "8(1)(iii)",
            "居住地域別の本人の数",
        ),
        ("minors", "8(1)(iii)", "うち未成年者の数"),
        ("cause", "8(1)(iv)", "原因"),
        (
            "secondary_damage",
            "8(1)(v)",
            "二次被害又はそのおそれの有無及びその内容",
        ),
        (
            "response_to_individuals",
            "8(1)(vi)",
            "本人への対応の実施状況",
        ),
        ("notification_proof", "8(1)(vi)", "本人への通知の送信記録"),
        ("public_announcement", "8(1)(vii)", "公表の実施状況"),
        ("bulletin", "8(1)(vii)", "公表ページ"),
        ("prevention", "8(1)(viii)", "再発防止のための措置"),
        ("other", "8(1)(ix)", "その他参考となる事項"),
    ]);
    assert_eq!(outline("appi"), expected);
    let d = reports().definition("appi").unwrap();
    let phases: Vec<_> = d.phases.iter().map(|p| (p.phase, p.phased)).collect();
    assert_eq!(
        phases,
        [
            (ReportPhase::Preliminary, true),
            (ReportPhase::Final, false),
            (ReportPhase::Supplement, true)
        ]
    );
    assert!(
        d.phase(ReportPhase::Preliminary)
            .unwrap()
            .title
            .contains("速報")
    );
    assert!(d.phase(ReportPhase::Final).unwrap().title.contains("確報"));
}

#[test]
fn pipl_items_are_article_57_items() {
    let expected = triples(&[
        (
            "data_categories",
            "57(1)(一)",
            "发生或者可能发生个人信息泄露、篡改、丢失的信息种类",
        ),
        ("cause", "57(1)(一)", "原因"),
        ("possible_harm", "57(1)(一)", "可能造成的危害"),
        (
            "remedial_measures",
            "57(1)(二)",
            "个人信息处理者采取的补救措施",
        ),
        (
            "measures_for_individuals",
            "57(1)(二)",
            "个人可以采取的减轻危害的措施",
        ),
        ("contact", "57(1)(三)", "个人信息处理者的联系方式"),
        ("people", "57(1)", "涉及的个人数量"),
        ("people_in_territory", "57(1)", "其中中国境内的个人数量"),
        ("minors", "57(1)", "其中未成年人数量"),
        ("notification_proof", "57(1)", "通知个人的情况（发送记录）"),
        ("public_notice", "57(2)", "公告"),
    ]);
    assert_eq!(outline("pipl"), expected);
}

#[test]
fn cac_items_follow_the_reporting_measures() {
    let keys: Vec<String> = outline("cn-cac").into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(
        keys,
        [
            "operator_overview",
            "discovered_at",
            "occurred_at",
            "location",
            "incident_type",
            "impact",
            "people",
            "data_categories",
            "measures_taken",
            "ransomware",
            "trend",
            "preliminary_cause",
            "investigation_leads",
            "further_measures",
            "site_protection",
            "other",
            "notification_proof"
        ]
    );
    let labels: BTreeMap<String, String> = outline("cn-cac")
        .into_iter()
        .map(|(k, _, l)| (k, l))
        .collect();
    assert_eq!(labels["preliminary_cause"], "初步分析的事件原因");
    assert_eq!(labels["people"], "泄露个人信息涉及的人数");
}

#[test]
fn gdpr_and_uk_items_are_article_33_3() {
    let numbers = |regime: &str| -> Vec<(String, String)> {
        outline(regime)
            .into_iter()
            .map(|(k, n, _)| (k, n))
            .collect()
    };
    let expected: Vec<(String, String)> = [
        ("nature", "33(3)(a)"),
        ("breach_types", "33(3)(a)"),
        ("occurred_at", "33(3)(a)"),
        ("aware_at", "33(1)"),
        ("subject_categories", "33(3)(a)"),
        ("subjects_approximate", "33(3)(a)"),
        ("subjects_in_territory", "33(3)(a)"),
        ("minors", "33(3)(a)"),
        ("data_categories", "33(3)(a)"),
        ("records_approximate", "33(3)(a)"),
        ("contact_point", "33(3)(b)"),
        ("likely_consequences", "33(3)(c)"),
        ("measures", "33(3)(d)"),
        ("late_reason", "33(1)"),
        ("communication_to_subjects", "34(1)"),
        ("notification_proof", "34(1)"),
        ("public_communication", "34(3)(c)"),
    ]
    .iter()
    .map(|(k, n)| (k.to_string(), n.to_string()))
    .collect();
    assert_eq!(numbers("gdpr"), expected);
    assert_eq!(numbers("uk-gdpr"), expected);
    let uk = reports().definition("uk-gdpr").unwrap();
    assert!(uk.regulator.contains("ICO"));
    assert_eq!(uk.territory.len(), 1);
}

#[test]
fn california_ag_report_has_counts_dates_and_the_sample_notice() {
    let mut input = input();
    answer(
        &mut input,
        "description",
        "Skimming script on the checkout page.",
    );
    let doc = build_report("us-ca", ReportPhase::Notice, &input);
    let value = |key: &str| doc.item(key).unwrap().value.clone();
    assert_eq!(value("residents"), Some(ItemValue::Count(100)));
    assert_eq!(value("people"), Some(ItemValue::Count(1500)));
    assert_eq!(
        value("notice_dates"),
        Some(ItemValue::Text("2026-11-02T17:00:00-08:00".into()))
    );
    assert_eq!(
        value("breach_dates"),
        Some(ItemValue::Text("2026-10-30T05:00:00-07:00".into()))
    );
    let sample = value("sample_notice").unwrap();
    assert_eq!(
        sample,
        ItemValue::Text("Notice of Data Breach\n\nWhat Happened\nA skimming script…".into())
    );
    assert!(doc.complete(), "{:?}", doc.missing);
    input.sample_notice = None;
    let doc = build_report("us-ca", ReportPhase::Notice, &input);
    assert_eq!(doc.missing, ["sample_notice"]);
}

#[test]
fn russian_and_generic_forms() {
    let ru = outline("ru-152fz");
    assert_eq!(
        ru[0],
        (
            "incident".into(),
            "21(3.1)(1)".into(),
            "Сведения об инциденте".into()
        )
    );
    let generic: Vec<String> = outline("sg-pdpa").into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(
        generic,
        [
            "citation",
            "deadline",
            "nature",
            "occurred_at",
            "aware_at",
            "data_categories",
            "people",
            "people_in_territory",
            "minors",
            "likely_consequences",
            "measures",
            "contact_point",
            "late_reason",
            "notification_proof",
            "public_notice",
            "sample_notice"
        ]
    );
    let mut input = input();
    input.obligations = vec![obligation(
        "sg-pdpa",
        "regulator",
        "notice",
        Some("2026-11-05T15:59:59Z"),
    )];
    let doc = build_report("sg-pdpa", ReportPhase::Notice, &input);
    assert_eq!(
        doc.item("citation").unwrap().value,
        Some(ItemValue::Text("sg-pdpa regulator.notice basis".into()))
    );
    assert_eq!(
        doc.item("deadline").unwrap().value,
        Some(ItemValue::Record(BTreeMap::from([(
            "due_at".into(),
            ItemValue::Text("2026-11-05T23:59:59+08:00".into())
        )])))
    );
    assert_eq!(
        doc.item("people_in_territory").unwrap().value,
        Some(ItemValue::Count(0))
    );
    assert_eq!(
        doc.missing,
        ["likely_consequences", "measures", "contact_point"]
    );
}

/// 速報 with what is known, the rest "not yet known"; then 確報, where the same
/// answers are missing until every item is filled.
#[test]
fn appi_preliminary_with_unknown_items_then_final() {
    let mut input = input();
    answer(
        &mut input,
        "response_to_individuals",
        "本人への通知をメール及び郵送で実施。",
    );
    answer(
        &mut input,
        "public_announcement",
        "2026年11月3日に当社ウェブサイトで公表。",
    );
    not_yet_known(&mut input, "secondary_damage");
    not_yet_known(&mut input, "prevention");
    let doc = build_report("appi", ReportPhase::Preliminary, &input);
    assert!(doc.phased);
    assert!(doc.missing.is_empty(), "{:?}", doc.missing);
    assert!(doc.complete());
    let damage = doc.item("secondary_damage").unwrap();
    assert_eq!(damage.value, None);
    assert_eq!(damage.source, ItemSource::Team);
    assert_eq!(
        damage
            .not_yet_known
            .as_ref()
            .unwrap()
            .follow_up_on
            .to_string(),
        "2026-11-20"
    );
    // Filled from the data: description, categories, counts, the cause word, the ledger.
    assert_eq!(
        doc.item("overview").unwrap().value,
        Some(ItemValue::Text(
            "Skimming script on the checkout page.".into()
        ))
    );
    assert_eq!(doc.item("overview").unwrap().source, ItemSource::Incident);
    assert_eq!(
        doc.item("people").unwrap().value,
        Some(ItemValue::Count(1500))
    );
    assert_eq!(
        doc.item("cause").unwrap().value,
        Some(ItemValue::Text("malicious".into()))
    );
    assert_eq!(
        doc.item("notification_proof").unwrap().source,
        ItemSource::Proof
    );

    let final_report = build_report("appi", ReportPhase::Final, &input);
    assert!(!final_report.phased);
    assert_eq!(final_report.missing, ["secondary_damage", "prevention"]);
    assert!(!final_report.complete());

    answer(
        &mut input,
        "secondary_damage",
        "カード不正利用の報告が3件。",
    );
    answer(&mut input, "prevention", "決済画面の改ざん検知を導入。");
    let final_report = build_report("appi", ReportPhase::Final, &input);
    assert!(final_report.complete(), "{:?}", final_report.missing);

    input.affected = None;
    let no_counts = build_report("appi", ReportPhase::Final, &input);
    assert_eq!(no_counts.missing, ["people"]);
}

#[test]
fn a_not_yet_known_answer_needs_a_reason() {
    let mut input = input();
    input.answers.insert(
        "secondary_damage".into(),
        Answer::NotYetKnown(NotYetKnown {
            reason: "  ".into(),
            follow_up_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        }),
    );
    let doc = build_report("appi", ReportPhase::Preliminary, &input);
    assert!(doc.missing.contains(&"secondary_damage".to_owned()));
    assert_eq!(doc.item("secondary_damage").unwrap().not_yet_known, None);
}

#[test]
fn gdpr_late_reason_is_required_after_72_hours() {
    let mut input = input();
    for key in ["contact_point", "likely_consequences", "measures"] {
        answer(&mut input, key, "…");
    }
    input.prepared_at = aware() + Duration::hours(72);
    let on_time = build_report("gdpr", ReportPhase::Initial, &input);
    assert!(!on_time.late);
    assert!(!on_time.item("late_reason").unwrap().required);
    assert!(on_time.complete(), "{:?}", on_time.missing);

    input.prepared_at = aware() + Duration::hours(72) + Duration::seconds(1);
    let late = build_report("gdpr", ReportPhase::Initial, &input);
    assert!(late.late);
    assert_eq!(late.missing, ["late_reason"]);

    answer(&mut input, "late_reason", "The processor told us on day 3.");
    assert!(build_report("gdpr", ReportPhase::Initial, &input).complete());
    // A supplement is not a late notification.
    input.answers.remove("late_reason");
    assert!(build_report("gdpr", ReportPhase::Supplement, &input).complete());
    assert_eq!(
        build_report("gdpr", ReportPhase::Initial, &input)
            .item("subjects_in_territory")
            .unwrap()
            .value,
        Some(ItemValue::Count(200))
    );
}

#[test]
fn the_ledger_is_never_overridden_by_a_typed_answer() {
    let mut input = input();
    answer(&mut input, "people", "12");
    answer(&mut input, "overview", "The team's own account.");
    let doc = build_report("appi", ReportPhase::Preliminary, &input);
    assert_eq!(
        doc.item("people").unwrap().value,
        Some(ItemValue::Count(1500))
    );
    assert_eq!(doc.item("people").unwrap().source, ItemSource::Affected);
    assert_eq!(
        doc.item("overview").unwrap().value,
        Some(ItemValue::Text("The team's own account.".into()))
    );
    assert_eq!(doc.item("overview").unwrap().source, ItemSource::Team);
    input.affected = None;
    let doc = build_report("appi", ReportPhase::Preliminary, &input);
    assert_eq!(
        doc.item("people").unwrap().value,
        Some(ItemValue::Text("12".into()))
    );
}

#[test]
fn unknown_regimes_and_phases_are_errors() {
    assert_eq!(
        reports()
            .build("tw-pdpa", ReportPhase::Notice, &input())
            .unwrap_err(),
        ReportError::UnknownRegime("tw-pdpa".into())
    );
    let err = reports()
        .build("appi", ReportPhase::Initial, &input())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "regime 'appi' has no 'initial' report; it has preliminary|final|supplement"
    );
}

#[test]
fn json_has_the_issue_shape_and_round_trips() {
    let doc = build_report("appi", ReportPhase::Preliminary, &input());
    let json = serde_json::to_value(&doc).unwrap();
    let item = &json["items"][0];
    for key in ["key", "number", "label", "label_en", "value", "source"] {
        assert!(item.get(key).is_some(), "items[].{key}");
    }
    for key in [
        "by_channel",
        "unreachable",
        "covered_by_bulletin",
        "first_sent_at",
        "last_sent_at",
        "bulletin",
        "approvals",
    ] {
        assert!(json["proof"].get(key).is_some(), "proof.{key}");
    }
    assert_eq!(json["proof"]["by_channel"]["email"]["delivered"], 1300);
    assert_eq!(json["proof"]["bulletin"]["version"], 2);
    assert_eq!(json["proof"]["first_sent_at"], "2026-11-03T01:00:00Z");
    assert_eq!(json["missing"].as_array().unwrap().len(), 4);
    let people = doc.items.iter().position(|i| i.key == "people").unwrap();
    assert_eq!(json["items"][people]["value"], 1500);
    let back: ReportDocument = serde_json::from_value(json).unwrap();
    assert_eq!(back, doc);
    assert_eq!(back.sha256().unwrap(), doc.sha256().unwrap());
    assert_eq!(doc.sha256().unwrap().len(), 64);
}

#[test]
fn diff_names_changed_items_old_to_new() {
    let mut input = input();
    not_yet_known(&mut input, "secondary_damage");
    let v1 = build_report("appi", ReportPhase::Final, &input);
    answer(&mut input, "secondary_damage", "なし");
    input.proof.people_notified = 1480;
    let v2 = build_report("appi", ReportPhase::Final, &input);
    let d = diff(&v1, &v2).unwrap();
    let keys: Vec<&str> = d.changed.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["secondary_damage", "notification_proof"]);
    let change = &d.changed[0];
    assert_eq!(change.old.as_ref().unwrap().value, None);
    assert!(change.old.as_ref().unwrap().not_yet_known.is_some());
    assert_eq!(
        change.new.as_ref().unwrap().value,
        Some(ItemValue::Text("なし".into()))
    );
    assert_eq!(d.resolved, ["secondary_damage"]);
    assert!(d.newly_missing.iter().all(|k| v2.missing.contains(k)));
    assert!(diff(&v1, &v1).unwrap().changed.is_empty());
    let other = build_report("appi", ReportPhase::Preliminary, &input);
    assert!(matches!(
        diff(&v1, &other),
        Err(ReportError::DifferentReports { .. })
    ));
}

fn stamp() -> VersionStamp {
    VersionStamp {
        version: 3,
        sha256: "a".repeat(64),
    }
}

#[test]
fn html_is_escaped_and_shows_the_regulators_labels() {
    let mut input = input();
    answer(&mut input, "other", "<script>alert(1)</script>");
    not_yet_known(&mut input, "prevention");
    let doc = build_report("appi", ReportPhase::Preliminary, &input);
    let html = reports().html(&doc, &stamp()).unwrap();
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;"));
    for text in [
        "個人データの漏えい等の事態の報告（速報）",
        "二次被害又はそのおそれの有無及びその内容",
        "1,500",
        "クレジットカード等の決済カード情報",
        "未判明：forensic investigation under way（2026-11-20までに追って報告）",
        "版 3 · SHA-256 aaaa",
        "Items",
    ] {
        assert!(html.contains(text), "{text}");
    }
}

/// Runs `pdftotext` on `pdf`; `None` (with a message) where it is not installed, unless
/// `BREACHLINE_REQUIRE_TOOLS=1` (set by `.ci/run`) makes that a failure.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output();
    match out {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) => {
            let required = std::env::var("BREACHLINE_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "pdftotext is required (BREACHLINE_REQUIRE_TOOLS=1): {e}"
            );
            eprintln!("SKIPPED: pdftotext not installed (apt-get install poppler-utils): {e}");
            None
        }
    }
}

/// Removes line breaks and spaces, which pdftotext puts where lines wrap.
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn pdf_text_is_extractable_in_japanese_chinese_and_russian() {
    let mut input = input();
    let long = "本人への通知は電子メールで実施し、電子メールアドレスを保有していない本人には郵送で通知した。".repeat(6);
    answer(&mut input, "response_to_individuals", &long);
    let appi = build_report("appi", ReportPhase::Preliminary, &input);
    let pdf = reports().pdf(&appi, &stamp()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let Some(text) = pdftotext(&pdf) else { return };
    let flat = squeeze(&text);
    for label in [
        "概要",
        "漏えい等が発生し又は発生したおそれがある個人データの項目",
        "二次被害又はそのおそれの有無及びその内容",
        "その他参考となる事項",
        "個人データの漏えい等の事態の報告（速報）",
        "1,500",
        "1,300",
        "INC-7",
        "版3·SHA-256aaaa",
    ] {
        assert!(flat.contains(&squeeze(label)), "{label} not in:\n{text}");
    }
    assert!(
        flat.contains(&squeeze(&long)),
        "long line wrapped and kept whole"
    );
    assert!(
        text.contains("1 / ") && text.contains("ページ"),
        "page numbers: {text}"
    );

    let mut zh_input = input.clone();
    zh_input.obligations = vec![obligation("pipl", "regulator", "notice", None)];
    let pipl = build_report("pipl", ReportPhase::Notice, &zh_input);
    let text = pdftotext(&reports().pdf(&pipl, &stamp()).unwrap()).unwrap();
    let flat = squeeze(&text);
    for label in [
        "发生或者可能发生个人信息泄露、篡改、丢失的信息种类",
        "个人信息处理者的联系方式",
        "1,500",
        "1,300",
    ] {
        assert!(flat.contains(&squeeze(label)), "{label} not in:\n{text}");
    }

    let ru = build_report("ru-152fz", ReportPhase::Initial, &input);
    let text = pdftotext(&reports().pdf(&ru, &stamp()).unwrap()).unwrap();
    assert!(squeeze(&text).contains("Сведенияобинциденте"), "{text}");
}

#[test]
fn pdf_lines_fit_the_page() {
    let fonts = pdf::Fonts::embedded().unwrap();
    let text = "個人データの漏えい等が発生し、又は発生したおそれがある事態。".repeat(8)
        + " A very long English sentence that must wrap at spaces and nowhere else.";
    let lines = pdf::layout::wrap(&fonts, &text, 9.5, 300.0);
    assert!(lines.len() > 3);
    for line in &lines {
        assert!(fonts.width(line, 9.5) <= 300.0, "{line}");
        assert!(!line.starts_with(['、', '。']), "{line}");
    }
    assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
}

/// Build, HTML and PDF for an incident with 1,000,000 affected people: the builder sees
/// counts only, so the size of the incident does not matter. Prints the figures.
#[test]
fn one_million_people_render_well_under_two_seconds() {
    let mut input = input();
    if let Some(affected) = input.affected.as_mut() {
        affected.summary.total = 1_000_000;
        affected
            .summary
            .by_jurisdiction
            .insert("JP".into(), 999_700);
    }
    let started = std::time::Instant::now();
    let doc = build_report("appi", ReportPhase::Final, &input);
    let built = started.elapsed();
    let html = reports().html(&doc, &stamp()).unwrap();
    let html_done = started.elapsed();
    let pdf = reports().pdf(&doc, &stamp()).unwrap();
    let total = started.elapsed();
    eprintln!(
        "1,000,000 people: build {built:?}, html {:?} ({} bytes), pdf {:?} ({} bytes), total {total:?}",
        html_done - built,
        html.len(),
        total - html_done,
        pdf.len()
    );
    assert!(html.contains("1,000,000"));
    assert!(total < std::time::Duration::from_secs(2), "{total:?}");
}
