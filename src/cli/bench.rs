//! `breachline bench …`: throughput of the heavy paths, printed as figures.

use std::process::ExitCode;
use std::time::Instant;

use crate::domain::DataCategory;
use crate::notices::render::{Person, Renderer};
use crate::notices::{Audience, Channel, Contact, NoticeContext, Templates};

/// Renders `count` e-mail notices (subject, text and HTML) on one thread, the way a
/// dispatch does (one incident, many people, every locale), and for comparison a
/// tenth as many with a full template rendering each.
pub fn render(count: usize) -> anyhow::Result<ExitCode> {
    let templates = Templates::embedded()?;
    let locales = templates.locales();
    let shared = locales.iter().map(|l| (l.clone(), context(0))).collect();
    let mut renderer = Renderer::new(&templates, shared);
    let started = Instant::now();
    let mut bytes = 0usize;
    for i in 0..count {
        let out = renderer.render(
            &locales[i % locales.len()],
            Channel::Email,
            audience(i),
            &person(i),
        )?;
        bytes += out.subject.map_or(0, |s| s.len())
            + out.text.map_or(0, |s| s.len())
            + out.html.map_or(0, |s| s.len());
    }
    report(
        "dispatch path",
        count,
        started.elapsed().as_secs_f64(),
        bytes,
        locales.len(),
    );
    let full = (count / 10).max(1);
    let started = Instant::now();
    let mut bytes = 0usize;
    for i in 0..full {
        let mut ctx = context(i);
        ctx.audience = audience(i);
        bytes += templates
            .render(
                &locales[i % locales.len()],
                Channel::Email,
                ctx.audience,
                &ctx,
            )?
            .joined()
            .len();
    }
    report(
        "full template render",
        full,
        started.elapsed().as_secs_f64(),
        bytes,
        locales.len(),
    );
    Ok(ExitCode::SUCCESS)
}

fn report(what: &str, count: usize, seconds: f64, bytes: usize, locales: usize) {
    println!(
        "render ({what}): {count} e-mail notices (subject + text + HTML, {locales} locales) in {seconds:.2} s = {:.0} notices/s on one thread, {:.1} MB",
        count as f64 / seconds,
        bytes as f64 / 1e6
    );
}

fn audience(i: usize) -> Audience {
    if i.is_multiple_of(10) {
        Audience::Guardian
    } else {
        Audience::Subject
    }
}

fn person(i: usize) -> Person {
    Person {
        recipient_name: Some(format!("Person {i}")),
        subject_name: i.is_multiple_of(10).then(|| format!("Child {i}")),
        notice_url: Some(format!("https://notices.example.com/n/{i:032x}")),
        postal_address: None,
        categories: vec![DataCategory::Contact, DataCategory::Identity],
    }
}

pub(super) fn context(i: usize) -> NoticeContext {
    NoticeContext {
        organisation: "JC-Task".into(),
        audience: if i.is_multiple_of(10) { Audience::Guardian } else { Audience::Subject },
        recipient_name: Some(format!("Person {i}")),
        subject_name: Some(format!("Child {i}")),
        summary: "On 1 March 2026 an attacker used a stolen administrator password to copy part of our customer database.".into(),
        likely_impact: "Your name and e-mail address may be used in phishing messages that pretend to come from us.".into(),
        measures_taken: "We locked the account, reset all administrator passwords, added two-factor sign-in and reported the incident to the regulator.".into(),
        advice: "Be careful with messages asking you to sign in or pay. We will never ask for your password.".into(),
        remedies: "A support line is open every day from 9:00 to 18:00, and we offer 12 months of free identity monitoring.".into(),
        contact: Contact {
            name: Some("Privacy team".into()),
            email: Some("privacy@example.com".into()),
            phone: Some("+81 3 1234 5678".into()),
            url: Some("https://example.com/incident".into()),
        },
        dpo_contact: None,
        data_categories: vec!["contact details".into(), "name and identity details".into()],
        notice_url: Some(format!("https://notices.example.com/n/{i:032x}")),
        postal_address: None,
        authoritative: None,
        reference: "0193c0de".into(),
    }
}
