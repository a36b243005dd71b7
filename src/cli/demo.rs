//! `breachline demo`: the five customers loaded into the configured database, each
//! played through the service's own API (started in-process on a free port) up to a
//! state worth looking at.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::config::Settings;
use crate::db::{self, Db};
use crate::demo::{self, Customer, Outcome, Scenario, TeamTokens, runner};
use crate::dispatch::settings::PerChannel;
use crate::dispatch::worker::WorkerOptions;
use crate::store::tenants;
use crate::web::Application;

/// What `breachline demo` was asked to do.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Drop everything in the database and load the demo afresh.
    pub reset: bool,
    /// Load the demo beside tenants that are not the demo's.
    pub force: bool,
}

/// Loads the demo (see the module documentation); prints tokens once and where to look.
pub fn demo(settings: &Settings, options: DemoOptions) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let customers = Customer::all()?;
    let db = Db::connect(&settings.database)?;
    let (existing, others) = db.read_blocking(|conn| {
        let existing = tenants::list(conn)?;
        let mut others = Vec::new();
        for t in &existing {
            if !demo::is_demo_tenant(conn, t)? {
                others.push(t.slug.clone());
            }
        }
        Ok((existing, others))
    })?;
    if !others.is_empty() && (options.reset || !options.force) {
        bail!(
            "this database holds tenants that are not the demo's ({}); {}",
            others.join(", "),
            if options.reset {
                "--reset would delete them: point BREACHLINE_DATA_DIR or BREACHLINE_DATABASE_URL elsewhere"
            } else {
                "point BREACHLINE_DATA_DIR or BREACHLINE_DATABASE_URL elsewhere, or add --force to load the demo beside them"
            }
        );
    }
    let loaded = existing.len() - others.len();
    if options.reset && !existing.is_empty() {
        drop(db);
        db::reset(&settings.database.url)?;
        return load(settings, &customers, started);
    }
    if loaded == demo::SLUGS.len() {
        println!(
            "The demo is already loaded in {:?}; `breachline demo --reset` loads it afresh (new tokens).\n",
            settings.database.url
        );
        print_where_to_look(settings, &customers);
        return Ok(ExitCode::SUCCESS);
    }
    if loaded > 0 {
        bail!("the demo is partly loaded ({loaded} of 5 tenants); run breachline demo --reset");
    }
    drop(db);
    load(settings, &customers, started)
}

fn load(settings: &Settings, customers: &[Customer], started: Instant) -> anyhow::Result<ExitCode> {
    let db = Db::connect(&settings.database)?;
    let teams = customers
        .iter()
        .map(|c| db.write_blocking(|conn| demo::provision(conn, c)))
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = actix_web::rt::System::new().block_on(play(settings, &db, customers, &teams))?;
    println!(
        "Breachline demo: five customers loaded into {:?} in {:.1} s.\n",
        settings.database.url,
        started.elapsed().as_secs_f64()
    );
    for ((customer, team), outcome) in customers.iter().zip(&teams).zip(&outcomes) {
        print_customer(customer, team, outcome);
    }
    println!(
        "Tokens and passwords are shown once (stored hashed); `breachline tokens create` and \
         `breachline users link --email E` make new ones.\n"
    );
    print_where_to_look(settings, customers);
    Ok(ExitCode::SUCCESS)
}

/// Starts the service in-process on a free port and plays every scenario through it,
/// with a dispatch worker that writes to the file outboxes.
async fn play(
    settings: &Settings,
    db: &Db,
    customers: &[Customer],
    teams: &[TeamTokens],
) -> anyhow::Result<Vec<Outcome>> {
    let mut local = settings.clone();
    local.http.workers = Some(2);
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot open a local port")?;
    let app = Application::with_listener(&local, db.clone(), listener)?;
    let base = format!("http://127.0.0.1:{}", app.port());
    local.channels = file_channels(settings)?;
    let worker = app.worker(&local, WorkerOptions::from_settings(&settings.worker))?;
    let server = app.handle();
    let serving = actix_web::rt::spawn(app.run_until_stopped());
    let now = chrono::Utc::now();
    let mut outcomes = Vec::new();
    let mut failure = None;
    for (customer, team) in customers.iter().zip(teams) {
        let api = runner::Api::new(base.clone(), team.clone());
        match runner::run(&api, customer, &Scenario::demo(customer, now), &worker).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                failure = Some(e.context(format!("demo scenario of {}", customer.tenant.slug)));
                break;
            }
        }
    }
    server.stop(true).await;
    let _ = serving.await;
    match failure {
        Some(e) => Err(e),
        None => Ok(outcomes),
    }
}

/// The service's channel settings with every channel on its file outbox: the demo
/// never contacts anyone, whatever relays are configured. Rates are raised so the
/// demo does not wait on limits meant for real providers.
fn file_channels(
    settings: &Settings,
) -> anyhow::Result<crate::dispatch::settings::ChannelSettings> {
    let data_dir = settings.data_dir.display().to_string();
    let defaults = Settings::load_from(None, move |key| {
        (key == "BREACHLINE_DATA_DIR").then(|| data_dir.clone())
    })?;
    let mut channels = defaults.channels;
    channels.rates = PerChannel {
        email: 1000.0,
        sms: 1000.0,
        push: 1000.0,
        letter: 1000.0,
        phone: 1000.0,
    };
    Ok(channels)
}

fn print_customer(customer: &Customer, team: &TeamTokens, outcome: &Outcome) {
    let t = &customer.tenant;
    println!("{} ({}): {}", t.name, t.slug, t.about);
    println!(
        "  incident {}: {}",
        outcome.incident_id,
        outcome.incident["title"].as_str().unwrap_or_default()
    );
    let counts = &outcome.dispatch["counts"];
    println!(
        "  people: {} in the registry, {} affected; notices: {} sent or handed off, {} unreachable",
        outcome.people.len(),
        outcome.affected["total"],
        counts["sent"].as_i64().unwrap_or(0)
            + counts["handed_off"].as_i64().unwrap_or(0)
            + counts["delivered"].as_i64().unwrap_or(0),
        counts["unreachable"].as_i64().unwrap_or(0),
    );
    for line in deadlines(&outcome.obligations) {
        println!("  {line}");
    }
    match &outcome.bulletin {
        Some(b) => println!(
            "  public bulletin: {}",
            b["url"].as_str().unwrap_or_default()
        ),
        None => println!("  public bulletin: none (everyone can be told one by one)"),
    }
    for r in &outcome.reports {
        let missing = r["missing"].as_array().map_or(0, Vec::len);
        println!(
            "  report {} {} v{}: {} items for the team to fill → /api/v1/incidents/{}/reports/{}.html",
            r["regime"].as_str().unwrap_or_default(),
            r["phase"].as_str().unwrap_or_default(),
            r["version"],
            missing,
            outcome.incident_id,
            r["id"].as_str().unwrap_or_default()
        );
    }
    println!("  API tokens:");
    for (role, person, token) in &team.members {
        println!("    {:<10} {:<44} {token}", role.as_str(), person);
    }
    println!("  web UI sign-ins (e-mail / password):");
    for (role, email, password) in &team.logins {
        println!("    {:<10} {email:<36} {password}", role.as_str());
    }
    println!();
}

/// One line per open obligation: regime, recipient, phase and its due time or target.
fn deadlines(obligations: &Value) -> Vec<String> {
    obligations["obligations"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|o| {
                    let when = match (o["due_at"].as_str(), o["target_at"].as_str()) {
                        (Some(due), _) => format!("due {due}"),
                        (None, Some(target)) => format!("as soon as possible (target {target})"),
                        _ => "as soon as possible".to_owned(),
                    };
                    format!(
                        "{:<22} {:<9} {:<11} {when} [{}]",
                        o["regime"].as_str().unwrap_or_default(),
                        o["recipient"].as_str().unwrap_or_default(),
                        o["phase"].as_str().unwrap_or_default(),
                        o["status"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn print_where_to_look(settings: &Settings, customers: &[Customer]) {
    let base = settings.http.public_url.trim_end_matches('/');
    println!("Where to look: run `breachline serve`, then");
    println!("  {base}/sign-in   the web UI: sign in with an e-mail and password above");
    for c in customers {
        println!(
            "  {base}/b/{:<14} public bulletins of {}",
            c.tenant.slug, c.tenant.name
        );
    }
    println!(
        "  {base}/api/v1/incidents   (curl -H \"Authorization: Bearer <token>\"), then …/{{id}}/obligations, /plan, /dispatches, /substitute-notice"
    );
    println!(
        "  {}/outbox/{{email,push,sms,letter,phone}}   what the dispatch worker wrote",
        settings.data_dir.display()
    );
}
