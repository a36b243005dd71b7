//! Plays a customer's scenario through the public HTTP API, as its team would:
//! profile (the policy's promises) → registry import → incident → scope → notice
//! content → plan → dispatch by the responder, approved by a second person → the
//! dispatch worker until it is done → the public bulletin for the people nobody
//! can tell one by one, where a law or the customer's promise allows it → the
//! first report to each regulator, with the proof of notification.

use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::registry::{Person, RegistrySpec, to_csv};
use super::{Customer, TeamTokens};
use crate::dispatch::worker::Worker;
use crate::domain::{Role, format_instant};

/// A client of one tenant's API: the base URL and the team's tokens.
pub struct Api {
    base: String,
    client: reqwest::Client,
    team: TeamTokens,
}

/// When the scenario happens and who is in the registry.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// When the team became aware of the breach: the clock start.
    pub aware_at: DateTime<Utc>,
    /// The registry to import.
    pub registry: RegistrySpec,
}

impl Scenario {
    /// The demo's: the team became aware the fixture's `demo_hours_ago` before `now`,
    /// so the clocks are running when someone looks.
    pub fn demo(customer: &Customer, now: DateTime<Utc>) -> Self {
        Self::at(
            customer,
            now - chrono::Duration::hours(customer.incident.demo_hours_ago),
        )
    }

    /// Awareness pinned at `aware_at` (tests: across holidays and DST changes).
    pub fn at(customer: &Customer, aware_at: DateTime<Utc>) -> Self {
        Self {
            aware_at,
            registry: customer.registry.clone(),
        }
    }
}

/// Everything the scenario did, as the API answered it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The incident's id.
    pub incident_id: String,
    /// The people imported.
    pub people: Vec<Person>,
    /// The import's counts.
    pub import: Value,
    /// `GET /incidents/{id}`.
    pub incident: Value,
    /// `GET …/affected/summary`.
    pub affected: Value,
    /// `POST …/plan`.
    pub plan: Value,
    /// The dispatch as approved (`POST …/approve`).
    pub approval: Value,
    /// `GET …/dispatches/{d}` once the worker is done.
    pub dispatch: Value,
    /// `GET …/substitute-notice` after the dispatch.
    pub substitute: Value,
    /// The published bulletin (`POST …/approve`), when one was allowed.
    pub bulletin: Option<Value>,
    /// The first report to each regulator (and attorney general) with a duty
    /// (`POST …/reports`): the preliminary or initial one, with the proof of
    /// notification from the dispatch ledger.
    pub reports: Vec<Value>,
    /// `GET …/obligations` at the end.
    pub obligations: Value,
}

impl Outcome {
    /// The dispatch's id.
    pub fn dispatch_id(&self) -> &str {
        self.dispatch["id"].as_str().unwrap_or_default()
    }
}

impl Api {
    /// A client of the service at `base` (e.g. `http://127.0.0.1:8080`) for `team`.
    pub fn new(base: impl Into<String>, team: TeamTokens) -> Self {
        Self {
            base: base.into(),
            client: reqwest::Client::new(),
            team,
        }
    }

    /// The team's tokens.
    pub fn team(&self) -> &TeamTokens {
        &self.team
    }

    /// `GET path` as `role`; fails on any status but 200.
    pub async fn get(&self, role: Role, path: &str) -> anyhow::Result<Value> {
        let request = self.client.get(self.url(path));
        self.send(role, "GET", path, request, 200).await
    }

    /// `POST path` with a JSON body as `role`, expecting `status`.
    pub async fn post(
        &self,
        role: Role,
        path: &str,
        body: &Value,
        status: u16,
    ) -> anyhow::Result<Value> {
        let request = self.client.post(self.url(path)).json(body);
        self.send(role, "POST", path, request, status).await
    }

    /// `PUT path` with a JSON body as `role`; fails on any status but 200.
    pub async fn put(&self, role: Role, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self.client.put(self.url(path)).json(body);
        self.send(role, "PUT", path, request, 200).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(
        &self,
        role: Role,
        method: &str,
        path: &str,
        request: reqwest::RequestBuilder,
        expected: u16,
    ) -> anyhow::Result<Value> {
        let token = self.team.token(role)?;
        let response = request
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status != expected {
            bail!("{method} {path} as {role}: {status} (expected {expected}): {body}");
        }
        Ok(body)
    }

    /// Imports people as CSV, all or nothing.
    pub async fn import(&self, people: &[Person]) -> anyhow::Result<Value> {
        let path = "/api/v1/subjects/import";
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", "text/csv")
            .body(to_csv(people)?);
        self.send(Role::Responder, "POST", path, request, 200).await
    }
}

/// Plays `customer`'s scenario through `api`, running `worker` until the approved
/// dispatch is done.
pub async fn run(
    api: &Api,
    customer: &Customer,
    scenario: &Scenario,
    worker: &Worker,
) -> anyhow::Result<Outcome> {
    let slug = &customer.tenant.slug;
    api.put(
        Role::Admin,
        "/api/v1/tenant/profile",
        &customer.tenant.profile,
    )
    .await
    .with_context(|| format!("{slug}: profile"))?;
    let people = scenario.registry.generate(scenario.aware_at.date_naive());
    let import = api.import(&people).await?;

    let incident = api
        .post(
            Role::Responder,
            "/api/v1/incidents",
            &incident_facts(customer, scenario.aware_at),
            201,
        )
        .await?;
    let id = incident["id"]
        .as_str()
        .context("the incident has no id")?
        .to_owned();
    let at = |rest: &str| format!("/api/v1/incidents/{id}{rest}");
    api.put(Role::Responder, &at("/scope"), &customer.incident.scope)
        .await?;
    api.put(Role::Responder, &at("/notice-content"), &customer.notice)
        .await?;
    let plan = api
        .post(Role::Responder, &at("/plan"), &json!({}), 201)
        .await?;

    // The responder prepares the dispatch; a second person approves it.
    let created = api
        .post(Role::Responder, &at("/dispatches"), &json!({}), 201)
        .await?;
    let d = created["id"]
        .as_str()
        .context("the dispatch has no id")?
        .to_owned();
    let approval = api
        .post(
            Role::Approver,
            &at(&format!("/dispatches/{d}/approve")),
            &json!({}),
            200,
        )
        .await?;
    drain(worker).await?;
    let dispatch = api
        .get(Role::Viewer, &at(&format!("/dispatches/{d}")))
        .await?;

    let substitute = api.get(Role::Viewer, &at("/substitute-notice")).await?;
    let bulletin = if bulletin_allowed(&substitute) {
        let created = api
            .post(
                Role::Responder,
                &at("/bulletins"),
                &customer.bulletin(),
                201,
            )
            .await?;
        let b = created["id"].as_str().context("the bulletin has no id")?;
        Some(
            api.post(
                Role::Approver,
                &at(&format!("/bulletins/{b}/approve")),
                &json!({}),
                200,
            )
            .await?,
        )
    } else {
        None
    };
    let mut reports = Vec::new();
    let duties = api.get(Role::Viewer, &at("/obligations")).await?;
    for (regime, phase) in first_reports(&duties) {
        let body = json!({"regime": regime, "phase": phase});
        reports.push(
            api.post(Role::Responder, &at("/reports"), &body, 201)
                .await?,
        );
    }
    Ok(Outcome {
        reports,
        incident: api.get(Role::Viewer, &at("")).await?,
        affected: api.get(Role::Viewer, &at("/affected/summary")).await?,
        obligations: api.get(Role::Viewer, &at("/obligations")).await?,
        incident_id: id,
        people,
        import,
        plan,
        approval,
        dispatch,
        substitute,
        bulletin,
    })
}

/// The body of `POST /incidents`: the fixture's facts with the times of `aware_at`.
pub fn incident_facts(customer: &Customer, aware_at: DateTime<Utc>) -> Value {
    let f = &customer.incident;
    let mut facts = f.facts.clone();
    let hours = chrono::Duration::hours;
    facts["occurred_at"] = json!(format_instant(
        (aware_at - hours(f.occurred_hours_before)).naive_utc()
    ));
    facts["discovered_at"] = json!(format_instant(aware_at.naive_utc()));
    facts["aware_at"] = json!(format_instant(aware_at.naive_utc()));
    facts["contained_at"] = json!(format_instant(
        (aware_at + hours(f.contained_hours_after)).naive_utc()
    ));
    facts
}

/// Per regime, the earliest open duty to a regulator or attorney general, as
/// (regime, phase): the report a team writes first.
pub fn first_reports(obligations: &Value) -> Vec<(String, String)> {
    let mut first: Vec<(String, String)> = Vec::new();
    for o in obligations["obligations"].as_array().into_iter().flatten() {
        let (Some(regime), Some(phase)) = (o["regime"].as_str(), o["phase"].as_str()) else {
            continue;
        };
        let to_authority = matches!(
            o["recipient"].as_str(),
            Some("regulator" | "attorney_general")
        );
        if to_authority
            && !regime.starts_with("commitment:")
            && o["status"] != "met"
            && o["status"] != "waived"
            && !first.iter().any(|(r, _)| r == regime)
        {
            first.push((regime.to_owned(), phase.to_owned()));
        }
    }
    first
}

/// Whether some law or the tenant's promise allows a public bulletin for people
/// who cannot be told one by one, and someone is in that case.
pub fn bulletin_allowed(substitute: &Value) -> bool {
    substitute["regimes"].as_array().is_some_and(|regimes| {
        regimes
            .iter()
            .any(|r| r["allowed"] == true && r["people_covered"].as_u64().unwrap_or(0) > 0)
    })
}

/// Runs the worker until the outbox has nothing it can do now.
pub async fn drain(worker: &Worker) -> anyhow::Result<()> {
    for _ in 0..10_000 {
        if worker.run_once().await? == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    bail!("the dispatch worker did not finish")
}
