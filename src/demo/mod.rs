//! The five customers as data, and the scenario that plays each one through the
//! service's public API: `breachline demo` loads them, the acceptance tests
//! (`tests/api/customers.rs`) assert what their policies promise.
//!
//! A customer is a folder `demo/<slug>/` embedded in the binary:
//!
//! - `tenant.json`: slug, display name, establishments, default locale, the team's
//!   names per role, and the tenant profile exactly as `PUT /api/v1/tenant/profile`
//!   takes it (its promises: commitments, public announcement, channels, languages);
//! - `incident.json`: the incident's facts, its scope, how long ago the team became
//!   aware in the demo, and the bulletin's titles and inquiry desk;
//! - `notice.json`: the notice content, as `PUT …/notice-content` takes it;
//! - `registry.json`: a [`registry::RegistrySpec`] from which a seeded generator
//!   makes the people of the customer's market, imported as CSV.
//!
//! [`provision`] creates the tenant and one token per team member through the
//! store functions `breachline tenants create` and `tokens create` use; [`runner`]
//! does the rest over HTTP, as a team would.

pub mod people;
pub mod registry;
pub mod runner;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::audit::{self, AuditEvent};
use crate::db::DbConnection;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::store::{tenants, tokens, users};

pub use registry::RegistrySpec;
pub use runner::{Api, Outcome, Scenario};

#[derive(rust_embed::Embed)]
#[folder = "demo/"]
struct Fixtures;

/// The customers, in the order the demo loads them.
pub const SLUGS: [&str; 5] = ["jc-task", "cybozu-sh", "renji", "cafetalk", "justalk-kids"];

/// The actor of the audit entries `breachline demo` writes: a tenant whose chain
/// starts with its creation by this actor is one of the demo's.
pub const DEMO_ACTOR: &str = "demo";

/// One customer: its tenant, incident, notice content and registry.
#[derive(Debug, Clone)]
pub struct Customer {
    /// Who the customer is and what it promises.
    pub tenant: TenantFixture,
    /// What happened to it.
    pub incident: IncidentFixture,
    /// The notice content, as the API takes it.
    pub notice: Value,
    /// The people it holds data about.
    pub registry: RegistrySpec,
}

/// `demo/<slug>/tenant.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFixture {
    /// Tenant slug.
    pub slug: String,
    /// Display name, as notices name the organisation.
    pub name: String,
    /// Where it is established.
    pub establishments: Vec<String>,
    /// Fallback locale of its notices.
    pub default_locale: String,
    /// What the customer does, in one line (printed by the demo).
    pub about: String,
    /// The people of its team, one per role: they hold the tokens.
    pub team: BTreeMap<Role, String>,
    /// The profile, exactly as `PUT /api/v1/tenant/profile` takes it.
    pub profile: Value,
}

/// `demo/<slug>/incident.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentFixture {
    /// The facts as `POST /api/v1/incidents` takes them, without the times.
    pub facts: Value,
    /// Hours between the breach and the moment the team became aware.
    pub occurred_hours_before: i64,
    /// Hours between becoming aware and containing it.
    pub contained_hours_after: i64,
    /// In the demo, hours ago the team became aware (so the clocks are running).
    pub demo_hours_ago: i64,
    /// The scope, as `PUT …/scope` takes it.
    pub scope: Value,
    /// Per locale: the bulletin's title and inquiry desk (the rest is the notice's).
    pub bulletin: BTreeMap<String, BulletinExtras>,
}

/// What a bulletin says beyond the notice content.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulletinExtras {
    /// Headline.
    pub title: String,
    /// `{phone, email, hours}` of the desk people can ask.
    pub inquiry_desk: Value,
}

impl Customer {
    /// Loads the customer `slug` from the embedded fixtures.
    pub fn load(slug: &str) -> anyhow::Result<Self> {
        let read = |file: &str| -> anyhow::Result<Value> {
            let path = format!("{slug}/{file}");
            let data = Fixtures::get(&path)
                .ok_or_else(|| anyhow::anyhow!("no demo fixture demo/{path}"))?
                .data;
            serde_json::from_slice(&data).map_err(|e| anyhow::anyhow!("demo/{path}: {e}"))
        };
        let parse = |file: &str| -> anyhow::Result<Value> { read(file) };
        let tenant: TenantFixture = serde_json::from_value(parse("tenant.json")?)
            .map_err(|e| anyhow::anyhow!("demo/{slug}/tenant.json: {e}"))?;
        let incident: IncidentFixture = serde_json::from_value(parse("incident.json")?)
            .map_err(|e| anyhow::anyhow!("demo/{slug}/incident.json: {e}"))?;
        let registry: RegistrySpec = serde_json::from_value(parse("registry.json")?)
            .map_err(|e| anyhow::anyhow!("demo/{slug}/registry.json: {e}"))?;
        if tenant.slug != slug {
            anyhow::bail!("demo/{slug}/tenant.json names slug {}", tenant.slug);
        }
        for role in [Role::Admin, Role::Responder, Role::Approver] {
            if !tenant.team.contains_key(&role) {
                anyhow::bail!("demo/{slug}/tenant.json: the team has no {role}");
            }
        }
        Ok(Self {
            tenant,
            incident,
            notice: parse("notice.json")?,
            registry,
        })
    }

    /// Every customer, in [`SLUGS`] order.
    pub fn all() -> anyhow::Result<Vec<Self>> {
        SLUGS.iter().map(|slug| Self::load(slug)).collect()
    }

    /// The bulletin's body for `POST …/bulletins`: the notice's four items in each
    /// language that has a title, with the title and inquiry desk.
    pub fn bulletin(&self) -> Value {
        let mut locales = serde_json::Map::new();
        for (locale, extras) in &self.incident.bulletin {
            let Some(text) = self.notice["locales"].get(locale) else {
                continue;
            };
            let mut body = json!({"title": extras.title, "inquiry_desk": extras.inquiry_desk});
            for key in [
                "summary",
                "likely_impact",
                "measures_taken",
                "advice",
                "remedies",
                "contact",
            ] {
                body[key] = text[key].clone();
            }
            locales.insert(locale.clone(), body);
        }
        json!({"default_locale": self.notice["default_locale"], "locales": locales})
    }
}

/// The bearer tokens and web-UI sign-ins of one customer's team, by role (shown once).
#[derive(Debug, Clone)]
pub struct TeamTokens {
    /// Tenant slug.
    pub slug: String,
    /// (role, person, bearer token).
    pub members: Vec<(Role, String, String)>,
    /// (role, sign-in e-mail, password) for the web UI.
    pub logins: Vec<(Role, String, String)>,
}

impl TeamTokens {
    /// The token of the member with `role`.
    pub fn token(&self, role: Role) -> AppResult<&str> {
        self.members
            .iter()
            .find(|(r, _, _)| *r == role)
            .map(|(_, _, token)| token.as_str())
            .ok_or_else(|| AppError::NotFound(format!("{} token of {}", role, self.slug)))
    }
}

/// Creates the customer's tenant and a token for each team member, audited as
/// `breachline tenants create` and `tokens create` do, by [`DEMO_ACTOR`].
pub fn provision(conn: &mut DbConnection, customer: &Customer) -> AppResult<TeamTokens> {
    let t = &customer.tenant;
    let new = tenants::NewTenant {
        slug: t.slug.clone(),
        name: t.name.clone(),
        establishments: t.establishments.clone(),
        default_locale: t.default_locale.clone(),
    }
    .validate()
    .map_err(AppError::Validation)?;
    let row = tenants::create(conn, &new)?;
    audit::append(
        conn,
        &row.id,
        AuditEvent {
            actor: DEMO_ACTOR.into(),
            action: "tenant.create",
            target: format!("tenant:{}", row.slug),
            details: json!({ "tenant": row.to_tenant()? }),
        },
    )?;
    let mut members = Vec::new();
    let mut logins = Vec::new();
    for (role, person) in &t.team {
        let (token, bearer) = tokens::create(conn, &row.id, *role, person)?;
        audit::append(
            conn,
            &row.id,
            AuditEvent {
                actor: DEMO_ACTOR.into(),
                action: "token.create",
                target: format!("token:{}", token.id),
                details: json!({ "name": token.name, "role": token.role }),
            },
        )?;
        members.push((*role, person.clone(), bearer));
        logins.push(user(conn, &row.id, &t.slug, *role)?);
    }
    Ok(TeamTokens {
        slug: t.slug.clone(),
        members,
        logins,
    })
}

/// A web-UI user `<role>@<slug>.example` with a random password, set through the
/// same one-time link a new user follows; returns (role, e-mail, password).
fn user(
    conn: &mut DbConnection,
    tenant_id: &str,
    slug: &str,
    role: Role,
) -> AppResult<(Role, String, String)> {
    let now = crate::domain::now_micros();
    let email = format!("{role}@{slug}.example");
    let password = crate::accounts::random_secret()[..20].to_owned();
    let user = users::create(conn, tenant_id, &email, role, now)?;
    let policy = crate::accounts::SessionPolicy::default();
    let link = users::create_password_link(conn, &user, &policy, now)?;
    let hash = crate::accounts::hash_password(&password)?;
    users::use_password_link(conn, &link, &hash, now)?;
    for action in ["user.create", "user.password_set"] {
        audit::append(
            conn,
            tenant_id,
            AuditEvent {
                actor: DEMO_ACTOR.into(),
                action,
                target: format!("user:{}", user.id),
                details: json!({ "email": user.email, "role": user.role }),
            },
        )?;
    }
    Ok((role, email, password))
}

/// Whether `tenant` is one of the demo's: one of [`SLUGS`], created by the demo
/// (the first entry of its audit chain).
pub fn is_demo_tenant(conn: &mut DbConnection, tenant: &tenants::TenantRow) -> AppResult<bool> {
    if !SLUGS.contains(&tenant.slug.as_str()) {
        return Ok(false);
    }
    let first = audit::list(conn, &tenant.id, 0, 1)?;
    Ok(first
        .first()
        .is_some_and(|e| e.actor == DEMO_ACTOR && e.action == "tenant.create"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_customer_loads_and_its_registry_generates() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 4, 28).unwrap();
        for customer in Customer::all().unwrap() {
            let people = customer.registry.generate(today);
            assert!(people.len() >= 20, "{}", customer.tenant.slug);
            let bulletin = customer.bulletin();
            assert!(
                bulletin["locales"]
                    .get(customer.notice["default_locale"].as_str().unwrap())
                    .is_some(),
                "{}: the bulletin has the default language",
                customer.tenant.slug
            );
        }
    }
}
