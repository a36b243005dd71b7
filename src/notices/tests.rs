use super::checklist::{Item, check};
use super::*;
use crate::domain::DataCategory;

fn templates() -> Templates {
    Templates::embedded().unwrap()
}

pub(super) fn sample(audience: Audience) -> NoticeContext {
    NoticeContext {
        organisation: "JC-Task".into(),
        audience,
        recipient_name: Some("Aiko Tanaka".into()),
        subject_name: Some("Hana Tanaka".into()),
        summary: "On 1 March an attacker copied our customer database.".into(),
        likely_impact: "Your e-mail address may receive phishing messages.".into(),
        measures_taken: "We closed the hole and reset all passwords.".into(),
        advice: "Change your password and be careful with unexpected e-mails.".into(),
        remedies: "Free identity monitoring for 12 months.".into(),
        contact: Contact {
            name: Some("Privacy team".into()),
            email: Some("privacy@example.com".into()),
            phone: Some("+81 3 1234 5678".into()),
            url: Some("https://example.com/incident".into()),
        },
        dpo_contact: None,
        data_categories: vec!["contact details".into()],
        notice_url: Some("https://notice.example/n/abc".into()),
        postal_address: Some("1-2-3 Chiyoda, Tokyo".into()),
        authoritative: None,
        reference: "0193c0de".into(),
    }
}

fn full_content() -> NoticeText {
    let s = sample(Audience::Subject);
    NoticeText {
        summary: s.summary,
        likely_impact: s.likely_impact,
        measures_taken: s.measures_taken,
        advice: s.advice,
        remedies: s.remedies,
        contact: s.contact,
        dpo_contact: Some("Dr. Data, dpo@example.com".into()),
    }
}

#[test]
fn every_locale_channel_and_audience_carries_every_item() {
    let t = templates();
    let mut required = Item::BASE.to_vec();
    required.extend([Item::DataCategories, Item::DpoContact]);
    for locale in t.locales() {
        for channel in Channel::ALL {
            for audience in [Audience::Subject, Audience::Guardian] {
                let checks = check(
                    &t,
                    &locale,
                    *channel,
                    audience,
                    &full_content(),
                    true,
                    &required,
                )
                .unwrap();
                let missing: Vec<_> = checks.iter().filter(|c| !c.present).collect();
                assert!(
                    missing.is_empty(),
                    "{locale} {channel} {audience:?}: {missing:?}"
                );
            }
        }
    }
}

#[test]
fn blank_items_are_reported_with_locale() {
    let t = templates();
    let mut content = full_content();
    content.remedies = "  ".into();
    let checks = check(
        &t,
        "en",
        Channel::Email,
        Audience::Subject,
        &content,
        false,
        Item::BASE,
    )
    .unwrap();
    let remedies = checks.iter().find(|c| c.item == Item::Remedies).unwrap();
    assert!(!remedies.present);
    assert_eq!(
        remedies.reason.as_deref(),
        Some("empty in the en notice content")
    );
}

#[test]
fn incident_text_is_escaped_in_html_but_not_in_text() {
    let t = templates();
    let mut ctx = sample(Audience::Subject);
    ctx.summary = "<script>alert(1)</script> & \"quotes\"".into();
    let out = t
        .render("en", Channel::Email, Audience::Subject, &ctx)
        .unwrap();
    let html = out.html.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp;"));
    assert!(
        out.text
            .unwrap()
            .contains("<script>alert(1)</script> & \"quotes\"")
    );
}

#[test]
fn guardian_notices_address_the_parent_about_the_child() {
    let t = templates();
    let out = t
        .render(
            "en",
            Channel::Email,
            Audience::Guardian,
            &sample(Audience::Guardian),
        )
        .unwrap();
    let text = out.text.unwrap();
    assert!(text.contains("parent or guardian of Hana Tanaka"), "{text}");
    assert!(out.subject.unwrap().contains("your child"));
}

#[test]
fn english_email_golden() {
    let t = templates();
    let out = t
        .render(
            "en",
            Channel::Email,
            Audience::Subject,
            &sample(Audience::Subject),
        )
        .unwrap();
    assert_eq!(
        out.subject.as_deref(),
        Some("Important: a security incident at JC-Task involving your information")
    );
    let text = out.text.unwrap();
    let expected_start =
        "Dear Aiko Tanaka,\n\nWe are writing to tell you about a security incident at JC-Task";
    assert!(text.starts_with(expected_start), "{text}");
    assert!(text.contains("WHAT HAPPENED\nOn 1 March an attacker copied our customer database.\n\nThe information involved: contact details."), "{text}");
    assert!(text.contains("HOW TO REACH US\nPrivacy team\nE-mail: privacy@example.com\nPhone: +81 3 1234 5678\nWeb: https://example.com/incident"), "{text}");
    assert!(text.ends_with("JC-Task\nReference: 0193c0de"), "{text}");
}

#[test]
fn sms_fits_and_links_to_the_page() {
    let t = templates();
    let out = t
        .render(
            "en",
            Channel::Sms,
            Audience::Subject,
            &sample(Audience::Subject),
        )
        .unwrap();
    let text = out.text.unwrap();
    assert!(text.ends_with("https://notice.example/n/abc"), "{text}");
    assert_eq!(sms::segments(&text).encoding, "GSM-7");
}

#[test]
fn categories_are_named_in_the_notice_language() {
    let t = templates();
    let labels = t.category_labels("en", &[DataCategory::Credentials]);
    assert_eq!(labels, vec!["login credentials (user names and passwords)"]);
}

#[test]
fn content_hash_changes_with_the_channel_and_audience() {
    let t = templates();
    let a = t
        .content_hash("en", Channel::Email, Audience::Subject)
        .unwrap();
    assert_eq!(
        a,
        t.content_hash("en", Channel::Email, Audience::Subject)
            .unwrap()
    );
    assert_ne!(
        a,
        t.content_hash("en", Channel::Email, Audience::Guardian)
            .unwrap()
    );
    assert_ne!(
        a,
        t.content_hash("en", Channel::Sms, Audience::Subject)
            .unwrap()
    );
}

#[test]
fn a_missing_template_file_is_an_error_naming_it() {
    let files = NoticeFilesForTest::without("sms/en/guardian/body.txt.hbs");
    let err = Templates::from_files(files.into_iter()).err().unwrap();
    assert!(
        format!("{err:#}").contains("missing template sms/<locale>/guardian/body.txt"),
        "{err:#}"
    );
}

struct NoticeFilesForTest;

impl NoticeFilesForTest {
    fn without(skip: &str) -> Vec<(String, String)> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/notices");
        let mut out = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                if rel != skip {
                    out.push((rel, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        out
    }
}
