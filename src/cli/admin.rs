//! Service and administration commands.

use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::audit::{self, AuditEvent};
use crate::config::Settings;
use crate::db::{self, Db};
use crate::domain::{Role, format_instant};
use crate::error::AppError;
use crate::store::{tenants, tokens, users};
use crate::web::Application;

pub fn serve(settings: &Settings) -> anyhow::Result<ExitCode> {
    let app = Application::build(settings)?;
    tracing::info!(
        database = settings.database.url.backend().as_str(),
        "Breachline is listening: sign in at {}/sign-in",
        settings.http.public_url
    );
    first_run_hint(app.db())?;
    crate::dispatch::runtime::system()?
        .block_on(app.run_with_worker(settings))
        .context("server stopped with an error")?;
    Ok(ExitCode::SUCCESS)
}

/// On a database with no users yet, says how to make the first administrator.
fn first_run_hint(db: &Db) -> anyhow::Result<()> {
    let (users, tenants) =
        db.read_blocking(|conn| Ok((users::count_all(conn)?, tenants::list(conn)?.len())))?;
    if users == 0 {
        let tenant_step = if tenants == 0 {
            "breachline tenants create SLUG --name NAME --establishment CC, then "
        } else {
            ""
        };
        tracing::warn!(
            "No user can sign in yet. Create the first administrator: {tenant_step}\
             breachline users create --tenant SLUG --email YOU@EXAMPLE.ORG --role admin \
             — it prints a one-time link; open it, choose a password, and you are signed in."
        );
    }
    Ok(())
}

/// Runs a dispatch worker only (any number of them against PostgreSQL) until Ctrl-C
/// or SIGTERM; the batch in flight is finished first.
pub fn worker(settings: &Settings) -> anyhow::Result<ExitCode> {
    crate::dispatch::runtime::system()?.block_on(async {
        let db = Db::connect_existing(&settings.database)?;
        let service = std::sync::Arc::new(crate::compose::NoticeService::new(
            settings.http.public_url.clone(),
            settings.templates_dir.clone(),
        )?);
        let adapters = crate::dispatch::channels::Adapters::from_settings(
            &settings.channels,
            &settings.data_dir,
        )?;
        let options = crate::dispatch::worker::WorkerOptions::from_settings(&settings.worker);
        let worker = crate::dispatch::worker::Worker::new(
            db,
            service,
            std::sync::Arc::new(adapters),
            settings.channels.clone(),
            options,
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let handle = actix_web::rt::spawn(worker.run(stopped));
        wait_for_shutdown().await;
        let _ = stop.send(true);
        let _ = handle.await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
}

pub fn migrate(settings: &Settings) -> anyhow::Result<ExitCode> {
    db::migrate(&settings.database.url)?;
    println!("database is up to date");
    Ok(ExitCode::SUCCESS)
}

pub fn create_tenant(
    settings: &Settings,
    slug: String,
    name: String,
    establishments: Vec<String>,
    locale: String,
) -> anyhow::Result<ExitCode> {
    let new = tenants::NewTenant {
        slug,
        name,
        establishments,
        default_locale: locale,
    }
    .validate()
    .map_err(AppError::Validation)?;
    let db = Db::connect_existing(&settings.database)?;
    let tenant = db.write_blocking(|conn| {
        let row = tenants::create(conn, &new)?;
        let view = row.to_tenant()?;
        audit::append(
            conn,
            &row.id,
            AuditEvent {
                actor: "cli".into(),
                action: "tenant.create",
                target: format!("tenant:{}", row.slug),
                details: json!({ "tenant": view }),
            },
        )?;
        Ok(view)
    })?;
    println!("{}", serde_json::to_string_pretty(&tenant)?);
    Ok(ExitCode::SUCCESS)
}

pub fn list_tenants(settings: &Settings) -> anyhow::Result<ExitCode> {
    let db = Db::connect_existing(&settings.database)?;
    let rows = db.read_blocking(tenants::list)?;
    for row in rows {
        let t = row.to_tenant()?;
        println!(
            "{}\t{}\t{}\t{}",
            t.slug,
            t.name,
            t.establishments.join(","),
            t.default_locale
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn set_tenant_profile(settings: &Settings, slug: &str, json: &str) -> anyhow::Result<ExitCode> {
    let profile = match serde_json::from_str(json) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return Err(AppError::Malformed("the profile must be one JSON object".into()).into()),
    };
    let runbooks = crate::runbooks::files::load_for_service(settings.templates_dir.as_deref())?;
    let db = Db::connect_existing(&settings.database)?;
    let tenant = db.write_blocking(|conn| {
        let row = tenants::require_by_slug(conn, slug)?;
        let view = tenants::update_profile(conn, &runbooks, &row.id, profile)?;
        audit::append(
            conn,
            &row.id,
            AuditEvent {
                actor: "cli".into(),
                action: "tenant.profile",
                target: format!("tenant:{slug}"),
                details: json!({ "establishments": view.establishments, "profile": view.profile }),
            },
        )?;
        Ok(view)
    })?;
    println!("{}", serde_json::to_string_pretty(&tenant)?);
    Ok(ExitCode::SUCCESS)
}

pub fn create_token(
    settings: &Settings,
    tenant_slug: &str,
    role: Role,
    name: Option<String>,
) -> anyhow::Result<ExitCode> {
    let name = name.unwrap_or_else(|| role.as_str().to_owned());
    let db = Db::connect_existing(&settings.database)?;
    let bearer = db.write_blocking(|conn| {
        let tenant = tenants::require_by_slug(conn, tenant_slug)?;
        let (_, bearer) = tokens::create_audited(conn, &tenant.id, role, &name, "cli".into())?;
        Ok(bearer)
    })?;
    println!("{bearer}");
    Ok(ExitCode::SUCCESS)
}

/// Prints the tokens of one tenant (or of all), one per line; never a secret.
pub fn list_tokens(settings: &Settings, only: Option<&str>) -> anyhow::Result<ExitCode> {
    let db = Db::connect_existing(&settings.database)?;
    let lines = db.read_blocking(|conn| {
        let tenants = match only {
            Some(slug) => vec![tenants::require_by_slug(conn, slug)?],
            None => tenants::list(conn)?,
        };
        let mut lines = Vec::new();
        for tenant in tenants {
            for token in tokens::list(conn, &tenant.id)? {
                lines.push(format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    token.id,
                    tenant.slug,
                    token.name,
                    token.role,
                    format_instant(token.created_at),
                    token.revoked_at.map_or("-".to_owned(), format_instant)
                ));
            }
        }
        Ok(lines)
    })?;
    for line in lines {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Revokes a token by id, audited on its tenant's chain.
pub fn revoke_token(settings: &Settings, id: &str) -> anyhow::Result<ExitCode> {
    let db = Db::connect_existing(&settings.database)?;
    let (slug, row) = db.write_blocking(|conn| {
        let token =
            tokens::find(conn, id)?.ok_or_else(|| AppError::NotFound(format!("token {id}")))?;
        let tenant = tenants::get(conn, &token.tenant_id)?;
        let row = tokens::revoke_audited(conn, &tenant.id, id, "cli".into())?;
        Ok((tenant.slug, row))
    })?;
    println!(
        "revoked token {} ({}, {}) of tenant {slug}",
        row.id, row.name, row.role
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates a user of the web UI (audited) and prints only the set-password URL.
pub fn create_user(
    settings: &Settings,
    tenant_slug: &str,
    email: &str,
    role: Role,
) -> anyhow::Result<ExitCode> {
    let db = Db::connect_existing(&settings.database)?;
    let policy = crate::accounts::SessionPolicy::default();
    let token = db.write_blocking(|conn| {
        let tenant = tenants::require_by_slug(conn, tenant_slug)?;
        let now = crate::domain::now_micros();
        let user = users::create(conn, &tenant.id, email, role, now)?;
        let token = users::create_password_link(conn, &user, &policy, now)?;
        audit::append(
            conn,
            &tenant.id,
            AuditEvent {
                actor: "cli".into(),
                action: "user.create",
                target: format!("user:{}", user.id),
                details: json!({ "email": user.email, "role": user.role }),
            },
        )?;
        Ok(token)
    })?;
    println!("{}/set-password/{token}", settings.http.public_url);
    Ok(ExitCode::SUCCESS)
}

/// Prints a new set-password URL for an existing user (audited).
pub fn user_link(settings: &Settings, email: &str) -> anyhow::Result<ExitCode> {
    let db = Db::connect_existing(&settings.database)?;
    let policy = crate::accounts::SessionPolicy::default();
    let token = db.write_blocking(|conn| {
        let user = users::find_by_email(conn, email)?
            .ok_or_else(|| AppError::NotFound(format!("user {email}")))?;
        let token = users::create_password_link(conn, &user, &policy, crate::domain::now_micros())?;
        audit::append(
            conn,
            &user.tenant_id,
            AuditEvent {
                actor: "cli".into(),
                action: "user.password_link",
                target: format!("user:{}", user.id),
                details: json!({}),
            },
        )?;
        Ok(token)
    })?;
    println!("{}/set-password/{token}", settings.http.public_url);
    Ok(ExitCode::SUCCESS)
}

/// Prints the users of one tenant (or of all), one per line.
pub fn list_users(settings: &Settings, only: Option<&str>) -> anyhow::Result<ExitCode> {
    let db = Db::connect_existing(&settings.database)?;
    let lines = db.read_blocking(|conn| {
        let mut lines = Vec::new();
        for tenant in tenants::list(conn)? {
            if only.is_some_and(|slug| slug != tenant.slug) {
                continue;
            }
            for user in users::list(conn, &tenant.id)? {
                lines.push(format!(
                    "{}\t{}\t{}\t{}",
                    user.email,
                    tenant.slug,
                    user.role,
                    if user.password_hash.is_some() {
                        "password set"
                    } else {
                        "no password yet"
                    }
                ));
            }
        }
        Ok(lines)
    })?;
    for line in lines {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
