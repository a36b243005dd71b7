//! `breachline bench dispatch`: what users get from the notifier. The production
//! worker loop (default pool, concurrency and batch; the e-mail rate raised out of
//! the way) sends a real dispatch to an SMTP server in another process, and in the
//! same run a minimal sender (plain SMTP over the same number of connections, no
//! database, no rendering) sends messages of the same size to the same server; the
//! ratio of the two is the notifier's overhead.
//!
//! `breachline bench smtp-sink` is that other process: a small SMTP server that
//! accepts and counts every message, and prints the count when its input closes.

use std::io::{BufRead, Write};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::compose::{NoticeService, dispatch as composed, plan};
use crate::config::Settings;
use crate::db::Db;
use crate::dispatch::worker::{Worker, WorkerOptions};
use crate::domain::{Channel, OutboxStatus};
use crate::store::notice_contents;

/// What to measure.
pub struct DispatchBench {
    /// People (one e-mail each).
    pub count: u64,
    /// Workers side by side.
    pub workers: u16,
    /// An SMTP server to send to (`host:port`); a sink process of our own when `None`.
    pub smtp: Option<String>,
    /// E-mails per second the worker may send (raised so the rate limit is not what
    /// is measured).
    pub rate: f64,
}

/// Runs the measurement and prints the figures.
pub fn dispatch(settings: &Settings, bench: DispatchBench) -> anyhow::Result<ExitCode> {
    crate::dispatch::runtime::system()?.block_on(run(settings.clone(), bench))
}

async fn run(mut settings: Settings, bench: DispatchBench) -> anyhow::Result<ExitCode> {
    let scratch = tempfile::tempdir()?;
    if std::env::var("BREACHLINE_DATABASE_URL").is_err() {
        let url = format!("sqlite://{}", scratch.path().join("bench.db").display());
        settings.database = crate::config::DatabaseSettings {
            url: crate::config::DatabaseUrl::parse(&url)?,
            pool_size: 4,
        };
    }
    println!(
        "database: {}; machine load (1/5/15 min): {}",
        settings.database.url.backend().as_str(),
        load_average()
    );
    let mut sink = match &bench.smtp {
        Some(_) => None,
        None => Some(Sink::start()?),
    };
    let server = match (&bench.smtp, &sink) {
        (Some(server), _) => server.clone(),
        (None, Some(sink)) => format!("127.0.0.1:{}", sink.port),
        (None, None) => anyhow::bail!("no SMTP server to send to"),
    };
    println!("SMTP server: {server} (another process)");
    let db = Db::connect(&settings.database)?;
    let service = Arc::new(NoticeService::new("https://notices.example".into(), None)?);
    let (queued, sample) = prepare(&db, &service, scratch.path(), bench.count)?;
    let pool = settings.channels.email.pool_size;
    let baseline_n = queued.min(5_000) as usize;
    let before = minimal_sender(&server, pool, &sample, baseline_n).await?;
    settings.channels.email.smtp_url = Some(crate::dispatch::settings::SmtpUrl::parse(&format!(
        "smtp://{server}?tls=none"
    ))?);
    settings.channels.rates.email = bench.rate;
    let worker_rate = run_workers(
        &db,
        &service,
        &settings,
        bench.workers,
        queued,
        scratch.path(),
    )
    .await?;
    let after = minimal_sender(&server, pool, &sample, baseline_n).await?;
    let minimal = (before + after) / 2.0;
    println!(
        "minimal sender: {minimal:.0} msgs/s ({baseline_n} messages of {} bytes over {pool} connections, before {before:.0}, after {after:.0})",
        sample.len()
    );
    println!(
        "worker: {worker_rate:.0} msgs/s ({queued} e-mails, {} worker(s), pool {pool}, concurrency {}, batch {})",
        bench.workers, settings.worker.concurrency, settings.worker.batch
    );
    println!(
        "ratio worker / minimal sender: {:.2}",
        worker_rate / minimal
    );
    if let Some(sink) = sink.take() {
        let received = sink.stop()?;
        println!("the sink received {received} messages in all (both minimal runs included)");
    }
    Ok(ExitCode::SUCCESS)
}

/// Imports a registry of `count` people who all prefer e-mail, plans, creates and
/// approves a dispatch; returns the e-mails queued and one rendered message.
fn prepare(
    db: &Db,
    service: &Arc<NoticeService>,
    scratch: &std::path::Path,
    count: u64,
) -> anyhow::Result<(u64, Vec<u8>)> {
    let csv = scratch.join("subjects.csv");
    crate::import::synthetic::write_csv(
        &csv,
        count,
        crate::import::synthetic::Profile::EmailFirst,
    )?;
    let (tenant, incident) = super::subjects::bench_tenant(db)?;
    super::subjects::timed_import(db, &tenant, &csv, "import", count)?;
    super::subjects::timed_scope(
        db,
        &tenant,
        &incident,
        "every subject",
        &serde_json::json!({"systems": ["crm", "billing", "support", "app", "web", "shop"]}),
    )?;
    let c = super::bench::context(0);
    let content = crate::notices::content::NoticeContent::parse(
        serde_json::json!({"default_locale": "en", "locales": {"en": {
            "summary": c.summary, "likely_impact": c.likely_impact, "measures_taken": c.measures_taken,
            "advice": c.advice, "remedies": c.remedies, "contact": {"email": "privacy@example.com"}}}})
        .as_object()
        .context("content")?,
    )
    .map_err(crate::error::AppError::Validation)?;
    let started = Instant::now();
    let service = service.clone();
    let queued = db.write_blocking(|conn| {
        notice_contents::put(conn, &tenant, &incident, &content, "bench")?;
        plan::build(conn, service.clone(), &tenant, &incident, "bench")?;
        let row = composed::create(conn, &service, &tenant, &incident, "bench")?;
        composed::approve(conn, service.clone(), &row, "bench-approver")?;
        use crate::db::schema::outbox;
        use diesel::prelude::*;
        Ok(outbox::table
            .filter(outbox::channel.eq(Channel::Email.as_str()))
            .count()
            .get_result::<i64>(conn)?)
    })?;
    println!(
        "plan, dispatch and approval: {queued} e-mails in the outbox after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok((queued as u64, sample_message()?))
}

/// A notice e-mail as the worker sends it (multipart text + HTML), for the minimal sender.
fn sample_message() -> anyhow::Result<Vec<u8>> {
    use lettre::message::{Mailbox, MultiPart};
    let templates = crate::notices::Templates::embedded()?;
    let ctx = super::bench::context(1);
    let rendered = templates.render("en", Channel::Email, ctx.audience, &ctx)?;
    let message = lettre::Message::builder()
        .message_id(Some("<sample@breachline>".into()))
        .from("Breachline <notices@localhost>".parse::<Mailbox>()?)
        .to("person@example.com".parse::<Mailbox>()?)
        .subject(rendered.subject.unwrap_or_default())
        .multipart(MultiPart::alternative_plain_html(
            rendered.text.unwrap_or_default(),
            rendered.html.unwrap_or_default(),
        ))?;
    Ok(message.formatted())
}

/// Runs the production worker loop until the outbox is empty; returns msgs/s.
async fn run_workers(
    db: &Db,
    service: &Arc<NoticeService>,
    settings: &Settings,
    workers: u16,
    queued: u64,
    scratch: &std::path::Path,
) -> anyhow::Result<f64> {
    let adapters = Arc::new(crate::dispatch::channels::Adapters::from_settings(
        &settings.channels,
        scratch,
    )?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let worker = Worker::new(
                db.clone(),
                service.clone(),
                adapters.clone(),
                settings.channels.clone(),
                WorkerOptions::from_settings(&settings.worker),
            );
            actix_web::rt::spawn(worker.run(stopped.clone()))
        })
        .collect();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        // One row is enough to know: counting them all would take CPU from the
        // worker being measured.
        let pending = db
            .read(|conn| {
                use crate::db::schema::outbox;
                use diesel::prelude::*;
                Ok(outbox::table
                    .filter(outbox::status.eq_any([
                        OutboxStatus::Queued.as_str(),
                        OutboxStatus::Sending.as_str(),
                    ]))
                    .select(outbox::id)
                    .first::<String>(conn)
                    .optional()?)
            })
            .await?;
        if pending.is_none() {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    for handle in handles {
        let _ = handle.await;
    }
    Ok(queued as f64 / seconds)
}

/// Sends `n` copies of `message` over `connections` connections with plain SMTP:
/// the ceiling of what any sender gets from this server; returns msgs/s.
async fn minimal_sender(
    server: &str,
    connections: u32,
    message: &[u8],
    n: usize,
) -> anyhow::Result<f64> {
    let left = Arc::new(AtomicU64::new(n as u64));
    let message: Arc<[u8]> = Arc::from(dot_stuffed(message));
    let started = Instant::now();
    let senders: Vec<_> = (0..connections.max(1))
        .map(|_| {
            let (left, message, server) = (left.clone(), message.clone(), server.to_owned());
            tokio::spawn(async move { send_copies(&server, &message, &left).await })
        })
        .collect();
    for sender in senders {
        sender.await.context("minimal sender")??;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// One connection's share of the minimal sender.
async fn send_copies(server: &str, message: &[u8], left: &AtomicU64) -> anyhow::Result<()> {
    let stream = tokio::net::TcpStream::connect(server).await?;
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut replies = BufReader::new(read);
    expect(&mut replies, "220").await?;
    write.write_all(b"EHLO bench\r\n").await?;
    expect(&mut replies, "250").await?;
    while left
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        write
            .write_all(b"MAIL FROM:<notices@localhost>\r\n")
            .await?;
        expect(&mut replies, "250").await?;
        write.write_all(b"RCPT TO:<person@example.com>\r\n").await?;
        expect(&mut replies, "250").await?;
        write.write_all(b"DATA\r\n").await?;
        expect(&mut replies, "354").await?;
        write.write_all(message).await?;
        write.write_all(b"\r\n.\r\n").await?;
        expect(&mut replies, "250").await?;
    }
    write.write_all(b"QUIT\r\n").await?;
    Ok(())
}

/// Reads one (possibly multi-line) reply and checks its code.
async fn expect(
    replies: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    code: &str,
) -> anyhow::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if replies.read_line(&mut line).await? == 0 {
            anyhow::bail!("the SMTP server closed the connection");
        }
        if !line.starts_with(code) {
            anyhow::bail!("expected {code}, got {}", line.trim_end());
        }
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
        }
    }
}

/// The message with lines starting with `.` doubled (RFC 5321 §4.5.2).
fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut line_start = true;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    out
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// The sink process: this binary's `bench smtp-sink`.
struct Sink {
    child: std::process::Child,
    port: u16,
}

impl Sink {
    fn start() -> anyhow::Result<Self> {
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .args(["bench", "smtp-sink"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot start the SMTP sink process")?;
        let stdout = child.stdout.as_mut().context("sink output")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let port = line
            .trim()
            .strip_prefix("listening on port ")
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("the SMTP sink said '{}'", line.trim()))?;
        Ok(Self { child, port })
    }

    /// Closes the sink's input; it prints what it received and exits.
    fn stop(mut self) -> anyhow::Result<u64> {
        drop(self.child.stdin.take());
        let output = self.child.wait_with_output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix("received ")?.parse().ok())
            .unwrap_or(0))
    }
}

/// `breachline bench smtp-sink`: accepts and counts messages on a free loopback port
/// (printed first), until standard input closes; then prints the count.
pub fn smtp_sink() -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on port {}", listener.local_addr()?.port());
        std::io::stdout().flush()?;
        let total = Arc::new(AtomicU64::new(0));
        let serving = tokio::spawn(serve_sink(listener, total.clone()));
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        })
        .await?;
        serving.abort();
        println!("received {}", total.load(Ordering::Relaxed));
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn serve_sink(listener: tokio::net::TcpListener, total: Arc<AtomicU64>) {
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
                    total.fetch_add(1, Ordering::Relaxed);
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
