//! Decision tables per regime, derived by hand from regulations.md: thresholds at
//! N−1, N and N+1, cost just below, at and above, and people with no contact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::regimes::{PublicAnnouncement, Substitute, substitute_policies};

fn policy(regime: &str) -> SubstitutePolicy<'static> {
    substitute_policies()
        .unwrap()
        .into_iter()
        .find(|p| p.regime == regime)
        .unwrap()
}

/// Facts with `people` all reachable by e-mail, `no_contact` unreachable, and a
/// given cost in USD.
fn facts(people: u64, no_contact: u64, failed: u64, cost: f64) -> RegimeFacts {
    RegimeFacts {
        counts: PeopleCounts {
            people,
            no_contact,
            channels_failed: failed,
            by_first_channel: BTreeMap::from([(Channel::Email, people - no_contact)]),
        },
        estimated_cost: Money {
            amount: cost,
            currency: "USD".into(),
        },
    }
}

fn allowed(regime: &str, facts: &RegimeFacts) -> bool {
    decide(&policy(regime), facts, &Progress::default()).allowed
}

#[test]
fn us_states_people_thresholds_are_more_than() {
    for (regime, n) in [
        ("us-ca", 500_000),
        ("us-ny", 500_000),
        ("us-tx", 500_000),
        ("us-fl", 500_000),
        ("us-wa", 500_000),
        ("us-co", 250_000),
    ] {
        assert!(!allowed(regime, &facts(n - 1, 0, 0, 1.0)), "{regime} N-1");
        assert!(!allowed(regime, &facts(n, 0, 0, 1.0)), "{regime} N");
        let d = decide(
            &policy(regime),
            &facts(n + 1, 0, 0, 1.0),
            &Progress::default(),
        );
        assert!(d.allowed, "{regime} N+1");
        assert_eq!(d.people_covered, n + 1, "{regime}: the whole class");
        assert!(d.reasons[0].contains("more than"), "{:?}", d.reasons);
    }
}

#[test]
fn us_states_cost_threshold_is_above_250_000_usd() {
    for regime in ["us-ca", "us-ny", "us-tx", "us-fl", "us-co", "us-wa"] {
        assert!(!allowed(regime, &facts(10, 0, 0, 249_999.99)), "{regime}");
        let at = decide(
            &policy(regime),
            &facts(10, 0, 0, 250_000.0),
            &Progress::default(),
        );
        assert!(!at.allowed, "{regime} at the threshold");
        assert!(
            at.reasons
                .iter()
                .any(|r| r.contains("250,000 USD is not above 250,000 USD")),
            "{:?}",
            at.reasons
        );
        let above = decide(
            &policy(regime),
            &facts(10, 0, 0, 250_000.01),
            &Progress::default(),
        );
        assert!(above.allowed, "{regime} above");
        assert_eq!(
            above.reasons,
            ["estimated cost of individual notice 250,000.01 USD is above 250,000 USD"]
        );
    }
}

#[test]
fn a_cost_in_another_currency_is_not_compared() {
    let mut f = facts(10, 0, 0, 90_000_000.0);
    f.estimated_cost.currency = "JPY".into();
    let d = decide(&policy("us-ca"), &f, &Progress::default());
    assert!(!d.allowed);
    assert!(
        d.reasons[0].contains("set notices.unit_costs in USD"),
        "{:?}",
        d.reasons
    );
}

#[test]
fn no_contact_allows_it_for_those_people_only() {
    for regime in [
        "us-ca",
        "us-ny",
        "us-tx",
        "us-fl",
        "us-co",
        "us-wa",
        "gdpr",
        "uk-gdpr",
        "appi",
        "pipl",
        "kr-pipa",
        "au-ndb",
        "br-lgpd",
        "ca-pipeda",
    ] {
        let none = decide(
            &policy(regime),
            &facts(100, 0, 0, 1.0),
            &Progress::default(),
        );
        assert!(!none.allowed, "{regime}: everyone reachable");
        let some = decide(
            &policy(regime),
            &facts(100, 3, 2, 1.0),
            &Progress::default(),
        );
        assert!(some.allowed, "{regime}: 5 unreachable");
        assert_eq!(some.people_covered, 5, "{regime}");
        assert_eq!(
            some.reasons,
            [
                "5 people cannot be told one by one (3 with no usable contact, 2 whose every channel failed)"
            ],
            "{regime}"
        );
    }
}

#[test]
fn requirements_follow_each_law_with_their_days() {
    let reqs = |regime: &str| -> Vec<(String, Option<u32>)> {
        decide(&policy(regime), &facts(10, 1, 0, 1.0), &Progress::default())
            .requirements
            .iter()
            .map(|r| (r.kind.to_string(), r.days))
            .collect()
    };
    let r = |k: &str, d: Option<u32>| (k.to_owned(), d);
    assert_eq!(
        reqs("us-ca"),
        [
            r("email_where_known", None),
            r("website_posting", Some(30)),
            r("home_page_link", None),
            r("media_notice", None)
        ]
    );
    assert_eq!(
        reqs("us-ny"),
        [
            r("email_where_known", None),
            r("website_posting", Some(30)),
            r("media_notice", None)
        ]
    );
    for regime in ["us-tx", "us-co", "us-wa"] {
        assert_eq!(
            reqs(regime),
            [
                r("email_where_known", None),
                r("website_posting", None),
                r("media_notice", None)
            ],
            "{regime}"
        );
    }
    assert_eq!(
        reqs("us-fl"),
        [r("website_posting", None), r("media_notice", None)]
    );
    assert_eq!(reqs("br-lgpd"), [r("website_posting", Some(90))]);
    assert_eq!(reqs("kr-pipa"), [r("website_posting", Some(30))]);
    assert_eq!(
        reqs("appi"),
        [r("website_posting", None), r("inquiry_desk", None)]
    );
    assert_eq!(
        reqs("au-ndb"),
        [r("website_posting", None), r("publicise", None)]
    );
    for regime in ["gdpr", "uk-gdpr", "pipl", "ca-pipeda"] {
        assert_eq!(reqs(regime), [r("website_posting", None)], "{regime}");
    }
}

#[test]
fn laws_without_substitute_notice_say_so() {
    for regime in ["sg-pdpa", "ru-152fz", "in-dpdp", "cn-cac"] {
        let d = decide(
            &policy(regime),
            &facts(1_000_000, 900_000, 0, 9e9),
            &Progress::default(),
        );
        assert!(!d.allowed, "{regime}");
        assert_eq!(d.people_covered, 0);
        assert!(d.requirements.is_empty());
        assert!(d.reasons[0].starts_with("not allowed: "), "{:?}", d.reasons);
    }
}

#[test]
fn assessment_grounds_are_named_but_never_computed() {
    let d = decide(
        &policy("tw-pdpa"),
        &facts(10, 10, 0, 9e9),
        &Progress::default(),
    );
    assert!(
        !d.allowed,
        "Taiwan allows it only on the cost, which it leaves to the agency"
    );
    assert!(
        d.reasons[0].contains("(your assessment; not computed)"),
        "{:?}",
        d.reasons
    );
    let gdpr = decide(&policy("gdpr"), &facts(10, 0, 0, 1.0), &Progress::default());
    assert!(
        gdpr.reasons
            .iter()
            .any(|r| r.contains("disproportionate effort")),
        "{:?}",
        gdpr.reasons
    );
}

fn hipaa_style() -> Substitute {
    toml::from_str(
        "citation = \"45 CFR 164.404(d)(2)\"\n\
         when = [{ kind = \"no_contact\", at_least = 10 }]\n\
         requires = [{ kind = \"website_posting\", days = 90, detail = \"home page 90 days\" }, \
                     { kind = \"inquiry_desk\", days = 90, detail = \"toll-free number 90 days\" }]",
    )
    .unwrap()
}

#[test]
fn at_least_ten_people_with_stale_contacts() {
    let rule = hipaa_style();
    rule.validate().unwrap();
    let p = SubstitutePolicy {
        regime: "hipaa",
        territory: None,
        territory_name: "all",
        substitute: &rule,
    };
    assert!(!decide(&p, &facts(50, 9, 0, 1.0), &Progress::default()).allowed);
    let nine = decide(&p, &facts(50, 4, 5, 1.0), &Progress::default());
    assert!(!nine.allowed);
    assert!(
        nine.reasons[0].ends_with("needs at least 10"),
        "{:?}",
        nine.reasons
    );
    let ten = decide(&p, &facts(50, 4, 6, 1.0), &Progress::default());
    assert!(ten.allowed);
    assert_eq!(ten.people_covered, 10);
    assert!(decide(&p, &facts(50, 11, 0, 1.0), &Progress::default()).allowed);
}

#[test]
fn the_tenants_promise_covers_people_who_cannot_be_told_one_by_one() {
    let promise = PublicAnnouncement {
        id: "renji".into(),
        description: "public announcement".into(),
        posting_days: None,
        inquiry_desk: true,
    };
    let rule = promise.substitute();
    let regime = promise.regime();
    let p = SubstitutePolicy {
        regime: &regime,
        territory: None,
        territory_name: "all",
        substitute: &rule,
    };
    assert!(!decide(&p, &facts(10, 0, 0, 1.0), &Progress::default()).allowed);
    let d = decide(&p, &facts(10, 0, 1, 1.0), &Progress::default());
    assert!(d.allowed);
    assert_eq!(d.regime, "commitment:renji");
    assert_eq!(d.people_covered, 1);
    assert_eq!(d.requirements.len(), 2);
}

#[test]
fn done_comes_from_the_bulletin_the_dispatch_and_the_operator() {
    let f = facts(10, 1, 0, 1.0);
    let kinds_done = |progress: &Progress| -> Vec<(String, bool)> {
        decide(&policy("us-ca"), &f, progress)
            .requirements
            .iter()
            .map(|r| (r.kind.to_string(), r.done))
            .collect()
    };
    let d = |k: &str, done: bool| (k.to_owned(), done);
    assert!(
        kinds_done(&Progress::default())
            .iter()
            .all(|(_, done)| !done)
    );
    let live = Progress {
        bulletin_live: true,
        inquiry_desk_live: true,
        individual_notices_sent: true,
        confirmed: vec![RequirementKind::MediaNotice],
    };
    assert_eq!(
        kinds_done(&live),
        [
            d("email_where_known", true),
            d("website_posting", true),
            d("home_page_link", false),
            d("media_notice", true)
        ]
    );
}

#[test]
fn facts_count_the_territory_or_everyone_when_established() {
    let ca = PeopleCounts {
        people: 3,
        no_contact: 1,
        channels_failed: 0,
        by_first_channel: BTreeMap::from([(Channel::Letter, 2)]),
    };
    let jp = PeopleCounts {
        people: 5,
        no_contact: 0,
        channels_failed: 1,
        by_first_channel: BTreeMap::from([(Channel::Email, 4), (Channel::Sms, 1)]),
    };
    let groups = BTreeMap::from([("US-CA".to_owned(), ca), ("JP".to_owned(), jp)]);
    let costs = UnitCosts::default();
    let california = RegimeFacts::count(&policy("us-ca"), &groups, &[], &costs);
    assert_eq!(
        (california.counts.people, california.counts.no_contact),
        (3, 1)
    );
    assert_eq!(california.estimated_cost.amount, 3.0);
    let established = [Jurisdiction::parse("US-CA").unwrap()];
    let all = RegimeFacts::count(&policy("us-ca"), &groups, &established, &costs);
    assert_eq!((all.counts.people, all.counts.unreachable()), (8, 2));
    assert_eq!(all.estimated_cost.amount, 3.09);
    assert_eq!(money(1_234_567.5), "1,234,567.50");
}
