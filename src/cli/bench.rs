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

fn context(i: usize) -> NoticeContext {
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

/// Fills the outbox with `count` e-mails (a synthetic registry of `count` people who
/// all prefer e-mail) through the real plan → dispatch → approval path, then sends
/// them to a built-in SMTP sink on loopback with `workers` workers side by side;
/// prints msgs/s.
pub fn dispatch(
    settings: &crate::config::Settings,
    count: u64,
    workers: u16,
) -> anyhow::Result<ExitCode> {
    actix_web::rt::System::new().block_on(dispatch_async(settings.clone(), count, workers))
}

async fn dispatch_async(
    mut settings: crate::config::Settings,
    count: u64,
    workers: u16,
) -> anyhow::Result<ExitCode> {
    use crate::store::{dispatches, notice_contents, plans};
    let scratch = tempfile::tempdir()?;
    if std::env::var("BREACHLINE_DATABASE_URL").is_err() {
        let url = format!("sqlite://{}", scratch.path().join("bench.db").display());
        settings.database = crate::config::DatabaseSettings {
            url: crate::config::DatabaseUrl::parse(&url)?,
            pool_size: 4,
        };
    }
    println!("database: {}", settings.database.url.backend().as_str());
    let db = crate::db::Db::connect(&settings.database)?;
    let csv = scratch.path().join("subjects.csv");
    crate::import::synthetic::write_csv(
        &csv,
        count,
        crate::import::synthetic::Profile::EmailFirst,
    )?;
    let (tenant, incident) = super::subjects::bench_tenant(&db)?;
    super::subjects::timed_import(&db, &tenant, &csv, "import", count)?;
    super::subjects::timed_scope(
        &db,
        &tenant,
        &incident,
        "every subject",
        &serde_json::json!({"systems": ["crm", "billing", "support", "app", "web", "shop"]}),
    )?;
    let service = std::sync::Arc::new(plans::NoticeService::new(
        "https://notices.example".into(),
        None,
    )?);
    let content = crate::notices::content::NoticeContent::parse(
        serde_json::json!({"default_locale": "en", "locales": {"en": {
            "summary": context(0).summary, "likely_impact": context(0).likely_impact, "measures_taken": context(0).measures_taken,
            "advice": context(0).advice, "remedies": context(0).remedies, "contact": {"email": "privacy@example.com"}}}})
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("content"))?,
    )
    .map_err(crate::error::AppError::Validation)?;
    let started = Instant::now();
    let queued = db.write_blocking(|conn| {
        notice_contents::put(conn, &tenant, &incident, &content, "bench")?;
        plans::build(conn, service.clone(), &tenant, &incident, "bench")?;
        let row = dispatches::create(conn, &service, &tenant, &incident, "bench")?;
        dispatches::approve(conn, service.clone(), &row, "bench-approver")?;
        // Everyone prefers e-mail, so the outbox holds one e-mail per person.
        use crate::db::schema::outbox;
        use diesel::prelude::*;
        Ok(outbox::table
            .filter(outbox::channel.eq("email"))
            .count()
            .get_result::<i64>(conn)?)
    })?;
    println!(
        "plan, dispatch and approval: {queued} e-mails in the outbox after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (port, received) = smtp_sink().await?;
    settings.channels.email.smtp_url = Some(crate::dispatch::settings::SmtpUrl::parse(&format!(
        "smtp://127.0.0.1:{port}?tls=none"
    ))?);
    settings.channels.email.pool_size = 256;
    settings.channels.rates.email = 1e9;
    let adapters = std::sync::Arc::new(crate::dispatch::channels::Adapters::from_settings(
        &settings.channels,
        scratch.path(),
    )?);
    let crew: Vec<_> = (0..workers)
        .map(|_| {
            let mut options =
                crate::dispatch::worker::WorkerOptions::from_settings(&settings.worker);
            options.batch = 1000;
            options.concurrency = 256 / usize::from(workers);
            crate::dispatch::worker::Worker::new(
                db.clone(),
                service.clone(),
                adapters.clone(),
                settings.channels.clone(),
                options,
            )
        })
        .collect();
    let started = Instant::now();
    let runs = crew.iter().map(|worker| async move {
        while worker.run_once().await? > 0 {}
        Ok::<_, crate::error::AppError>(())
    });
    for run in futures_util::future::join_all(runs).await {
        run?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let sent = received.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "dispatch: {sent} e-mails to a local SMTP sink in {seconds:.2} s = {:.0} msgs/s ({workers} worker(s), 256 SMTP connections, outbox of {queued})",
        sent as f64 / seconds
    );
    Ok(ExitCode::SUCCESS)
}

/// A minimal SMTP server on loopback, on a thread of its own (as a separate relay
/// would be), that accepts and counts every message.
async fn smtp_sink() -> anyhow::Result<(u16, std::sync::Arc<std::sync::atomic::AtomicU64>)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let port = listener.local_addr()?.port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = count.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(runtime) = runtime {
            runtime.block_on(async move {
                if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                    serve_sink(listener, total).await;
                }
            });
        }
    });
    Ok((port, count))
}

async fn serve_sink(
    listener: tokio::net::TcpListener,
    total: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    {
        while let Ok((socket, _)) = listener.accept().await {
            let total = total.clone();
            let _ = socket.set_nodelay(true);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let mut in_data = false;
                while let Ok(Some(line)) = lines.next_line().await {
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        in_data = false;
                        total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        b"250 OK\r\n"
                    } else {
                        match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                            Some("EHLO") => b"250-sink\r\n250 8BITMIME\r\n",
                            Some("DATA") => {
                                in_data = true;
                                b"354 go on\r\n"
                            }
                            Some("QUIT") => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"250 OK\r\n",
                        }
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    }
}
