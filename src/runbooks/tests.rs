//! Unit tests of the runbook parser, sets and attachment rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};

use super::*;
use crate::domain::{BreachType, Cause, Clock, DataCategory, DueBasis, IncidentFacts, Risk};

fn duties() -> Duties {
    files::duties().unwrap()
}

fn parse_ok(text: &str) -> Runbook {
    parse("t.md", text, &duties()).unwrap_or_else(|e| panic!("{}", report(&e)))
}

/// `(line, reason)` of every problem.
fn problems(text: &str) -> Vec<(usize, String)> {
    parse("t.md", text, &duties())
        .expect_err("should not parse")
        .into_iter()
        .map(|e| {
            assert_eq!(e.file, "t.md");
            (e.line, e.reason)
        })
        .collect()
}

/// A runbook with `items` as its body (its first item line is line 8).
fn with_items(items: &str) -> String {
    format!("---\nid: t\ntitle: T\nversion: 1\napplies_to: {{}}\n---\n\n{items}")
}

/// A runbook whose front matter lines 2.. are `front` (one item on the line after).
fn with_front(front: &str) -> String {
    format!("---\n{front}\n---\n- [ ] Step. {{id: a}}\n")
}

const FULL: &str = r#"---
# comment lines are YAML
id: full-example
title: "Every syntax element: a title with a colon"
version: 3
applies_to:
  breach_types: [confidentiality]
  causes: [malicious, insider]
  data_categories: [contact]
  regimes: [appi, commitment:jc-task]
  jurisdictions: [JP, US]
  tenants: [jc-task]
  risk: [high]
  minors: false
  any_of:
    - data_categories: [credentials]
    - cause_free: skipped
---

# Document title (ends no section; prose is ignored)

Intro text with - [ ] not at the start of the line.

## Contain

- [ ] Isolate the hosts. {id: isolate; role: responder; due: aware_at + 2h}
- [ ] Preserve the evidence,
  over two lines,
  {id: preserve; kind: evidence required; due: contained_at + 2d}

### Report

* [ ] File the PPC report. {id: ppc; role: approver; due: before appi/regulator/preliminary - 12h}
- [ ] Notify people. {id: notify; due: before */subjects/notice}
- [ ] Keep the promise. {id: promise; due: before commitment:jc-task/subjects/notice - 1d}

```text
- [ ] not an item: inside a code fence {id: fenced}
```

# Back to no section

- [ ] Close. {id: close; role: admin; kind: task; due: discovered_at}
"#;

#[test]
fn every_syntax_element_is_read() {
    let text = FULL.replace("    - cause_free: skipped\n", "");
    let r = parse_ok(&text);
    assert_eq!(
        (r.id.as_str(), r.version, r.id_line),
        ("full-example", 3, 3)
    );
    assert_eq!(r.title, "Every syntax element: a title with a colon");
    let c = &r.applies_to;
    assert_eq!(c.breach_types, [BreachType::Confidentiality]);
    assert_eq!(c.causes, [Cause::Malicious, Cause::Insider]);
    assert_eq!(c.regimes, ["appi", "commitment:jc-task"]);
    assert_eq!(c.jurisdictions.len(), 2);
    assert_eq!(
        (c.tenants.len(), c.risk.as_slice(), c.minors),
        (1, &[Risk::High][..], Some(false))
    );
    assert_eq!(c.any_of[0].data_categories, [DataCategory::Credentials]);

    let ids: Vec<&str> = r.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        ["isolate", "preserve", "ppc", "notify", "promise", "close"]
    );
    let [isolate, preserve, ppc, notify, promise, close] = r.items.as_slice() else {
        unreachable!()
    };
    assert_eq!(isolate.section.as_deref(), Some("Contain"));
    assert_eq!(
        (isolate.line, isolate.role, isolate.kind),
        (25, Role::Responder, TaskKind::Task)
    );
    assert_eq!(isolate.text, "Isolate the hosts.");
    assert_eq!(preserve.text, "Preserve the evidence, over two lines,");
    assert_eq!(
        (preserve.role, preserve.kind),
        (Role::Responder, TaskKind::EvidenceRequired)
    );
    assert_eq!(ppc.section.as_deref(), Some("Report"));
    assert_eq!(ppc.role, Role::Approver);
    assert_eq!(close.section, None);
    assert_eq!(close.role, Role::Admin);
    let due = |i: &Item| i.due.as_ref().map(ToString::to_string).unwrap();
    assert_eq!(due(isolate), "aware_at + 2h");
    assert_eq!(due(preserve), "contained_at + 2d");
    assert_eq!(due(ppc), "before appi/regulator/preliminary - 12h");
    assert_eq!(due(notify), "before */subjects/notice");
    assert_eq!(
        due(promise),
        "before commitment:jc-task/subjects/notice - 1d"
    );
    assert_eq!(due(close), "discovered_at");
    assert_eq!(
        isolate.due,
        Some(DueRule::AfterClock {
            clock: Clock::AwareAt,
            after: Some(Amount::Hours(2))
        })
    );
    assert_eq!(r.applies_to.to_string().split("; ").count(), 9);
}

#[test]
fn front_matter_problems_name_their_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "# no front matter\n- [ ] a {id: a}\n",
            1,
            "starts with YAML front matter",
        ),
        ("---\nid: a\n- [ ] a {id: a}\n", 1, "not closed"),
        ("id: a\ntitle: [unclosed\nversion: 1\napplies_to: {}", 3, ""),
        (
            "id: a\ntitle: T\napplies_to: {}",
            2,
            "missing field `version`",
        ),
        (
            "id: a\ntitle: T\nversion: 1\napplies_to: {}\nowner: me",
            6,
            "unknown field `owner`",
        ),
        (
            "id: a\ntitle: T\nversion: 1\napplies_to:\n  vendors: [x]",
            6,
            "unknown field `vendors`",
        ),
        (
            "id: a\ntitle: T\nversion: 1\napplies_to:\n  causes: [malware]",
            6,
            "unknown value 'malware'",
        ),
        (
            "id: a\ntitle: T\nversion: 1\napplies_to:\n  jurisdictions: [XX]",
            6,
            "unknown jurisdiction 'XX'",
        ),
        (
            "id: a\ntitle: T\nversion: -1\napplies_to: {}",
            4,
            "version: invalid type: integer `-1`, expected u32",
        ),
        (
            "title: T\nid: Not_An_Id\nversion: 1\napplies_to: {}",
            3,
            "id 'Not_An_Id' must be",
        ),
        (
            "id: a\ntitle: ' '\nversion: 1\napplies_to: {}",
            3,
            "title must be 1-200",
        ),
        (
            "id: a\ntitle: T\nversion: 0\napplies_to: {}",
            4,
            "version must be 1 or more",
        ),
        (
            "id: a\ntitle: T\nversion: 1\napplies_to:\n  any_of:\n    - regimes: [apii]",
            7,
            "unknown regime 'apii'",
        ),
        (
            "id: a\ntitle: T\nversion: 1\napplies_to:\n  tenants: [Renji]",
            6,
            "'Renji' is not a tenant slug",
        ),
    ];
    for (front, line, reason) in cases {
        let text = if front.starts_with("---") || front.starts_with('#') {
            (*front).to_owned()
        } else {
            with_front(front)
        };
        let found = problems(&text);
        assert!(
            found.iter().any(|(l, r)| l == line && r.contains(reason)),
            "{front:?}: expected line {line} '{reason}', got {found:?}"
        );
        assert!(
            found.iter().all(|(_, r)| !r.contains(" at line ")),
            "{found:?}"
        );
    }
}

#[test]
fn item_problems_name_their_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("- [x] Done already. {id: a}", 8, "start unchecked"),
        (
            "- [ ] Parent. {id: a}\n  - [ ] Child. {id: b}",
            9,
            "nested checklist items",
        ),
        ("- [ ] No block at all", 8, "no attribute block"),
        ("- [ ] {id: a}", 8, "text must be 1-2000"),
        (
            "- [ ] Step.\n  more words\n  {id: a; role responder}",
            10,
            "'role responder' is not an attribute",
        ),
        (
            "- [ ] Step. {id: a; role: approver; role: admin}",
            8,
            "attribute 'role' is given twice",
        ),
        (
            "- [ ] Step. {id: a; owner: bob}",
            8,
            "unknown attribute 'owner'",
        ),
        (
            "- [ ] Step. {id: a; due: }",
            8,
            "attribute 'due' has no value",
        ),
        ("- [ ] Step. {role: responder}", 8, "the item has no id"),
        ("- [ ] Step. {id: Step_1}", 8, "item id 'Step_1' must be"),
        (
            "- [ ] One. {id: a}\n\n- [ ] Two. {id: a}",
            10,
            "item id 'a' is used twice (first on line 8)",
        ),
        (
            "- [ ] Step. {id: a; role: boss}",
            8,
            "role: unknown value 'boss'",
        ),
        (
            "- [ ] Step. {id: a; kind: evidence}",
            8,
            "unknown kind 'evidence'",
        ),
        (
            "- [ ] Step. {id: a; due: aware + 2h}",
            8,
            "unknown clock 'aware'",
        ),
        (
            "- [ ] Step. {id: a; due: aware_at - 2h}",
            8,
            "counts forward from a clock",
        ),
        (
            "- [ ] Step. {id: a; due: before gdpr/regulator/initial + 1h}",
            8,
            "counts back",
        ),
        (
            "- [ ] Step. {id: a; due: before gdpr/regulator}",
            8,
            "does not name an obligation",
        ),
        (
            "- [ ] Step. {id: a; due: before gdrp/regulator/initial}",
            8,
            "unknown regime 'gdrp'",
        ),
        (
            "- [ ] Step. {id: a; due: before appi/regulator/initial}",
            8,
            "appi has no duty regulator/initial; its duties are regulator/final, regulator/preliminary, subjects/notice",
        ),
        (
            "- [ ] Step. {id: a; due: before */media/notice}",
            8,
            "no regime has a duty matching '*/media/notice'",
        ),
        (
            "- [ ] Step. {id: a; due: before gdpr/Regulator/initial}",
            8,
            "not a recipient or phase",
        ),
        (
            "- [ ] Step. {id: a; due: before commitment:/subjects/notice}",
            8,
            "does not name a tenant commitment",
        ),
        (
            "- [ ] Step. {id: a; due: aware_at + 2w}",
            8,
            "'2w' is not an amount",
        ),
        (
            "- [ ] Step. {id: a; due: aware_at + h}",
            8,
            "'h' is not an amount",
        ),
        (
            "- [ ] Step. {id: a; due: aware_at + 366d}",
            8,
            "more than a year",
        ),
        (
            "- [ ] Step. {id: a; due: aware_at+2h}",
            8,
            "unknown clock 'aware_at+2h'",
        ),
        (
            "- [ ] Step. {id: a; due: soon after aware_at}",
            8,
            "cannot read due time",
        ),
        ("Just prose, no items.", 7, "no checklist items"),
    ];
    for (items, line, reason) in cases {
        let found = problems(&with_items(items));
        assert!(
            found.iter().any(|(l, r)| l == line && r.contains(reason)),
            "{items:?}: expected line {line} '{reason}', got {found:?}"
        );
    }
}

#[test]
fn every_problem_of_a_file_is_reported_in_line_order() {
    let found = problems(&with_items(
        "- [ ] A. {id: a; role: boss}\n- [ ] B.\n- [x] C. {id: c}\n- [ ] D. {id: d; due: later}",
    ));
    let lines: Vec<usize> = found.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [8, 9, 10, 11], "{found:?}");
}

fn source(name: &str, id: &str) -> Source {
    Source {
        name: name.into(),
        path: format!("over/{name}"),
        text: format!(
            "---\nid: {id}\ntitle: {name}\nversion: 1\napplies_to: {{}}\n---\n- [ ] Step. {{id: a}}\n"
        ),
    }
}

#[test]
fn tenant_files_replace_built_in_files_of_the_same_name_or_add_to_them() {
    let builtin = [source("a.md", "alpha"), source("b.md", "beta")];
    let d = duties();
    let mut replaced = source("b.md", "beta-own");
    replaced.path = "renji/b.md".into();
    let tenants = BTreeMap::from([("renji".to_owned(), vec![replaced, source("c.md", "gamma")])]);
    let library = Library::build(&builtin, &tenants, &d).unwrap();
    let ids = |set: &RunbookSet| {
        set.runbooks()
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(library.builtin()), ["alpha", "beta"]);
    assert_eq!(
        ids(library.for_tenant("renji")),
        ["alpha", "beta-own", "gamma"]
    );
    assert_eq!(ids(library.for_tenant("jc-task")), ["alpha", "beta"]);

    let clash = BTreeMap::from([("renji".to_owned(), vec![source("mine.md", "alpha")])]);
    let errors = Library::build(&builtin, &clash, &d).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].file.as_str(), errors[0].line),
        ("over/mine.md", 2)
    );
    assert!(
        errors[0].reason.contains("also used by over/a.md"),
        "{errors:?}"
    );
}

#[test]
fn shipped_runbooks_all_pass_check() {
    let library = files::load(None).unwrap_or_else(|e| panic!("{}", report(&e)));
    let ids: Vec<&str> = library
        .builtin()
        .runbooks()
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "children-data",
            "credential-stuffing",
            "identity-health-data",
            "lost-device",
            "misdirected-communication",
            "personal-data-breach",
            "processor-breach",
            "ransomware",
        ]
    );
    for r in library.builtin().runbooks() {
        assert!(r.items.len() >= 5, "{} has {} items", r.id, r.items.len());
        assert!(r.file.starts_with("runbooks/"), "{}", r.file);
    }
}

fn at(text: &str) -> NaiveDateTime {
    crate::domain::parse_instant(text).unwrap()
}

fn facts(cause: Cause, breach_types: &[BreachType], categories: &[DataCategory]) -> IncidentFacts {
    IncidentFacts {
        title: "t".into(),
        description: None,
        occurred_at: None,
        discovered_at: at("2026-03-02T00:00:00Z"),
        aware_at: at("2026-03-02T01:00:00Z"),
        assessed_at: None,
        contained_at: None,
        cause: Some(cause),
        breach_types: breach_types.to_vec(),
        data_categories: categories.to_vec(),
        systems: Vec::new(),
        encrypted: false,
        risk: Some(Risk::High),
        estimated_affected: Some(2_000),
        severity: None,
        owner: None,
    }
}

/// The regime engine's obligations for `facts` with 2,000 people in Japan.
fn obligations(f: &IncidentFacts) -> Vec<ObligationClock> {
    let input = serde_json::json!({
        "aware_at": crate::domain::format_instant(f.aware_at),
        "cause": f.cause,
        "data_categories": f.data_categories,
        "encrypted": f.encrypted,
        "risk": f.risk,
        "affected": [{ "jurisdiction": "JP", "count": 2000, "minors": 0 }],
    });
    let evaluation =
        crate::regimes::evaluate(&crate::regimes::parse(&input.to_string()).unwrap()).unwrap();
    evaluation
        .obligations
        .into_iter()
        .map(|o| ObligationClock {
            regime: o.regime,
            recipient: o.recipient,
            phase: o.phase,
            due_at: o.due_at.map(|t| t.naive_utc()),
            target_at: o.target_at.map(|t| t.naive_utc()),
            error: o.error,
        })
        .collect()
}

fn attached<'a>(set: &'a RunbookSet, f: &IncidentFacts) -> Vec<(String, Vec<PlannedTask<'a>>)> {
    let clocks = obligations(f);
    let jp = [crate::domain::Jurisdiction::parse("JP").unwrap()];
    let s = Situation {
        tenant: "jc-task",
        facts: f,
        jurisdictions: &jp,
        minors: false,
        obligations: &clocks,
    };
    plan(set, &s)
        .into_iter()
        .map(|a| (a.runbook.id.clone(), a.tasks))
        .collect()
}

fn shipped() -> RunbookSet {
    files::load(None).unwrap().builtin().clone()
}

#[test]
fn ransomware_and_misdirected_mail_get_their_own_runbooks() {
    use BreachType::*;
    let set = shipped();
    let ransomware = facts(
        Cause::Malicious,
        &[Availability, Confidentiality],
        &[DataCategory::Contact],
    );
    let ids: Vec<String> = attached(&set, &ransomware)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, ["personal-data-breach", "ransomware"]);

    let misdirected = facts(
        Cause::Misdelivery,
        &[Confidentiality],
        &[DataCategory::Contact],
    );
    let runbooks = attached(&set, &misdirected);
    let ids: Vec<&str> = runbooks.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["misdirected-communication", "personal-data-breach"]);
    // APPI applies (2,000 people in JP), so its filings are tasks; GDPR's is not.
    let generic: Vec<&str> = runbooks[1].1.iter().map(|t| t.item.id.as_str()).collect();
    assert!(
        generic.contains(&"ppc-preliminary") && generic.contains(&"ppc-final"),
        "{generic:?}"
    );
    assert!(
        !generic.contains(&"gdpr-report") && !generic.contains(&"cac-report"),
        "{generic:?}"
    );
}

fn due_of<'a>(runbooks: &'a [(String, Vec<PlannedTask<'_>>)], item: &str) -> &'a DueTime {
    runbooks
        .iter()
        .flat_map(|(_, tasks)| tasks)
        .find(|t| t.item.id == item)
        .map(|t| &t.due)
        .unwrap_or_else(|| panic!("{item} not attached"))
}

#[test]
fn due_times_follow_clocks_deadlines_and_targets() {
    let set = shipped();
    let mut f = facts(
        Cause::Malicious,
        &[BreachType::Availability],
        &[DataCategory::Contact],
    );
    let runbooks = attached(&set, &f);
    // aware_at 2026-03-02 01:00Z + 1h.
    assert_eq!(
        due_of(&runbooks, "isolate").at,
        Some(at("2026-03-02T02:00:00Z"))
    );
    assert_eq!(due_of(&runbooks, "isolate").basis, Some(DueBasis::Clock));
    // APPI preliminary is "promptly" with a 72 h target: due at the target less 12 h.
    let prelim = due_of(&runbooks, "ppc-preliminary");
    assert_eq!(
        (prelim.at, prelim.basis),
        (Some(at("2026-03-04T13:00:00Z")), Some(DueBasis::Target))
    );
    // APPI final, malicious: 60 days with 2 Mar (JST) as day 1 → Thu 30 Apr 23:59:59 JST, less 5 days.
    let last = due_of(&runbooks, "ppc-final");
    assert_eq!(
        (last.at, last.basis),
        (Some(at("2026-04-25T14:59:59Z")), Some(DueBasis::Deadline))
    );
    // Days are 24 hours: aware_at + 7d.
    assert_eq!(
        due_of(&runbooks, "restore").at,
        Some(at("2026-03-09T01:00:00Z"))
    );

    // aware_at moves a day later: every due time moves with it.
    f.aware_at = at("2026-03-03T01:00:00Z");
    let moved = attached(&set, &f);
    assert_eq!(
        due_of(&moved, "isolate").at,
        Some(at("2026-03-03T02:00:00Z"))
    );
    assert_eq!(
        due_of(&moved, "ppc-preliminary").at,
        Some(at("2026-03-05T13:00:00Z"))
    );
    // 60 days from 3 Mar → 1 May 2026 (Friday) 23:59:59 JST, less 5 days.
    assert_eq!(
        due_of(&moved, "ppc-final").at,
        Some(at("2026-04-26T14:59:59Z"))
    );
}

fn one_item(due: &str) -> RunbookSet {
    let text = with_items(&format!("- [ ] Step. {{id: a; due: {due}}}"));
    RunbookSet::parse(
        &[Source {
            name: "t.md".into(),
            path: "t.md".into(),
            text,
        }],
        &duties(),
    )
    .unwrap()
}

fn clock(
    regime: &str,
    due_at: Option<&str>,
    target_at: Option<&str>,
    error: Option<&str>,
) -> ObligationClock {
    ObligationClock {
        regime: regime.into(),
        recipient: "subjects".into(),
        phase: "notice".into(),
        due_at: due_at.map(at),
        target_at: target_at.map(at),
        error: error.map(Into::into),
    }
}

fn plan_one(
    set: &RunbookSet,
    f: &IncidentFacts,
    obligations: &[ObligationClock],
) -> Option<DueTime> {
    let s = Situation {
        tenant: "t",
        facts: f,
        jurisdictions: &[],
        minors: false,
        obligations,
    };
    plan(set, &s)[0].tasks.first().map(|t| t.due.clone())
}

#[test]
fn an_item_due_before_an_obligation_applies_only_with_it() {
    let f = facts(Cause::Accidental, &[], &[]);
    let set = one_item("before */subjects/notice - 1h");
    assert_eq!(plan_one(&set, &f, &[]), None, "no obligation, no task");
    // The earliest of the matching obligations counts.
    let two = [
        clock("us-ca", Some("2026-04-01T06:59:59Z"), None, None),
        clock("appi", None, Some("2026-03-05T01:00:00Z"), None),
    ];
    let due = plan_one(&set, &f, &two).unwrap();
    assert_eq!(
        (due.at, due.basis),
        (Some(at("2026-03-05T00:00:00Z")), Some(DueBasis::Target))
    );
    // An obligation without any instant: no due time, and why.
    let broken = [clock(
        "us-ca",
        None,
        None,
        Some("no holiday data for JP 2028"),
    )];
    let due = plan_one(&set, &f, &broken).unwrap();
    assert_eq!(due.at, None);
    assert_eq!(
        due.note.as_deref(),
        Some("us-ca/subjects/notice has no deadline: no holiday data for JP 2028")
    );
}

#[test]
fn an_item_due_after_an_unset_clock_says_so() {
    let f = facts(Cause::Accidental, &[], &[]);
    let due = plan_one(&one_item("contained_at + 2d"), &f, &[]).unwrap();
    assert_eq!(
        (due.at, due.note.as_deref()),
        (None, Some("contained_at is not set yet"))
    );
    let mut contained = f.clone();
    contained.contained_at = Some(
        NaiveDate::from_ymd_opt(2026, 3, 4)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    );
    let due = plan_one(&one_item("contained_at + 2d"), &contained, &[]).unwrap();
    assert_eq!(due.at, Some(at("2026-03-06T00:00:00Z")));
}

#[test]
fn conditions_combine_keys_and_alternatives() {
    let f = facts(
        Cause::Vendor,
        &[BreachType::Confidentiality],
        &[DataCategory::Children],
    );
    let us_ca = [crate::domain::Jurisdiction::parse("US-CA").unwrap()];
    let regimes = [clock("us-ca", None, None, None)];
    let s = Situation {
        tenant: "renji",
        facts: &f,
        jurisdictions: &us_ca,
        minors: true,
        obligations: &regimes,
    };
    let holds = |yaml: &str| {
        serde_yaml_ng::from_str::<Conditions>(yaml)
            .unwrap()
            .holds(&s)
    };
    assert!(holds("{}"));
    assert!(holds("causes: [vendor, malicious]"));
    assert!(
        !holds("causes: [vendor]\nbreach_types: [availability]"),
        "every key must hold"
    );
    assert!(holds("jurisdictions: [US]"), "a country covers its states");
    assert!(!holds("jurisdictions: [US-NY]"));
    assert!(holds("regimes: [us-ca]") && !holds("regimes: [appi]"));
    assert!(holds("tenants: [renji]") && !holds("tenants: [jc-task]"));
    assert!(holds("minors: true") && !holds("minors: false"));
    assert!(holds("risk: [high]") && !holds("risk: [low]"));
    assert!(holds(
        "any_of:\n  - causes: [lost_device]\n  - data_categories: [children]"
    ));
    assert!(!holds(
        "any_of:\n  - causes: [lost_device]\n  - data_categories: [health]"
    ));
}

#[test]
fn tenant_commitments_are_named_in_the_tenants_own_words() {
    let found = problems(&with_items(
        "- [ ] Keep the promise. {id: a; due: before commitment:JC Promise/Users/notice}",
    ));
    assert!(found[0].1.contains("cannot read due time"), "{found:?}");
    let r = parse_ok(&with_items(
        "- [ ] Keep the promise. {id: a; due: before commitment:JC_Promise/Users/notice - 1d}",
    ));
    assert_eq!(
        r.items[0].due.as_ref().unwrap().to_string(),
        "before commitment:JC_Promise/Users/notice - 1d"
    );
}
