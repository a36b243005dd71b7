//! An incident's runbook tasks: list them, assign them, mark them done (with evidence
//! where the item asks for it), skip them with a reason, reopen them. Tasks are the
//! team's working notes, so regulators do not see them.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::JsonObject;
use crate::audit::{self, AuditEvent};
use crate::db::Db;
use crate::domain::{
    DueBasis, Field, FieldError, Reader, Role, TaskKind, TaskState, format_instant, now_micros,
};
use crate::error::{AppError, AppResult};
use crate::store::incidents;
use crate::store::tasks::{self, AttachmentRow, Resolution, TaskChange, TaskRow};
use crate::web::auth::Principal;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents/{id}/tasks", web::get().to(list_tasks))
        .route("/incidents/{id}/tasks/{task}", web::patch().to(update_task));
}

/// One task as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct TaskView {
    id: String,
    runbook: String,
    item: String,
    section: Option<String>,
    position: i32,
    text: String,
    role: Role,
    kind: TaskKind,
    /// The due rule as written in the runbook.
    due: Option<String>,
    due_at: Option<String>,
    due_basis: Option<DueBasis>,
    /// Why there is no due time (a clock not set yet, an obligation without deadline).
    due_note: Option<String>,
    state: TaskState,
    /// Open and past its due time.
    overdue: bool,
    assignee: Option<String>,
    note: Option<String>,
    evidence: Option<String>,
    skipped_reason: Option<String>,
    resolved_by: Option<String>,
    resolved_at: Option<String>,
    created_at: String,
    updated_at: String,
}

impl TaskView {
    fn of(row: &TaskRow, now: NaiveDateTime) -> AppResult<Self> {
        let state = row.state()?;
        Ok(Self {
            id: row.id.clone(),
            runbook: row.runbook_id.clone(),
            item: row.item_id.clone(),
            section: row.section.clone(),
            position: row.position,
            text: row.text.clone(),
            role: row.role()?,
            kind: row.kind()?,
            due: row.due_rule.clone(),
            due_at: row.due_at.map(format_instant),
            due_basis: row.due_basis()?,
            due_note: row.due_note.clone(),
            state,
            overdue: state == TaskState::Open && row.due_at.is_some_and(|due| due < now),
            assignee: row.assignee.clone(),
            note: row.note.clone(),
            evidence: row.evidence.clone(),
            skipped_reason: row.skipped_reason.clone(),
            resolved_by: row.resolved_by.clone(),
            resolved_at: row.resolved_at.map(format_instant),
            created_at: format_instant(row.created_at),
            updated_at: format_instant(row.updated_at),
        })
    }
}

/// One runbook attached to the incident.
#[derive(Debug, Serialize)]
struct RunbookView {
    id: String,
    title: String,
    version: i32,
    /// Whether its conditions hold now; when not, its open tasks no longer apply.
    applies: bool,
    attached_at: String,
}

impl RunbookView {
    fn of(row: &AttachmentRow) -> Self {
        Self {
            id: row.runbook_id.clone(),
            title: row.title.clone(),
            version: row.version,
            applies: row.applies,
            attached_at: format_instant(row.attached_at),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
}

async fn list_tasks(
    who: Principal,
    db: web::Data<Db>,
    id: web::Path<String>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    who.require(who.role.can_read_tasks(), "read runbook tasks")?;
    let state = query
        .state
        .as_deref()
        .map(str::parse::<TaskState>)
        .transpose()
        .map_err(|reason| AppError::field("state", reason))?;
    let body = db
        .read(move |conn| {
            incidents::get(conn, &who.tenant_id, &id)?;
            let runbooks = tasks::attachments(conn, &who.tenant_id, &id)?;
            let rows = tasks::list(conn, &who.tenant_id, &id)?;
            let items = in_checklist_order(&runbooks, &rows, state)?;
            let runbooks: Vec<RunbookView> = runbooks.iter().map(RunbookView::of).collect();
            Ok(json!({ "runbooks": runbooks, "items": items }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Tasks by the order their runbooks were attached, then checklist order.
fn in_checklist_order(
    runbooks: &[AttachmentRow],
    rows: &[TaskRow],
    state: Option<TaskState>,
) -> AppResult<Vec<TaskView>> {
    let order: HashMap<&str, usize> = runbooks
        .iter()
        .enumerate()
        .map(|(i, r)| (r.runbook_id.as_str(), i))
        .collect();
    let now = now_micros();
    let mut items = rows
        .iter()
        .map(|row| TaskView::of(row, now))
        .collect::<AppResult<Vec<_>>>()?;
    items.retain(|t| state.is_none_or(|s| t.state == s));
    items.sort_by_key(|t| (order.get(t.runbook.as_str()).copied(), t.position));
    Ok(items)
}

/// Keys a PATCH may carry.
const TASK_FIELDS: &[&str] = &["assignee", "state", "note", "evidence", "skipped_reason"];

/// Reads a PATCH body: `assignee` and `note` (null clears), `state` (`done` with
/// `evidence`, `skipped` with `skipped_reason`, `open` to reopen).
fn read_change(body: &Map<String, Value>) -> Result<TaskChange, Vec<FieldError>> {
    let mut r = Reader::new(body, TASK_FIELDS);
    if body.is_empty() {
        r.reject(
            "body",
            "send at least one of assignee, state, note, evidence, skipped_reason",
        );
    }
    let assignee = r.text("assignee", 200);
    let note = r.prose("note", 5_000);
    let state = match r.word::<TaskState>("state") {
        Field::Null => {
            r.reject("state", "cannot be null: use done, skipped or open");
            None
        }
        field => field.or_keep(None),
    };
    let evidence = r.prose("evidence", 5_000).or_keep(None);
    let reason = r.prose("skipped_reason", 5_000).or_keep(None);
    let resolution = resolution(&mut r, state, evidence, reason);
    r.finish(TaskChange {
        assignee,
        note,
        resolution,
    })
}

fn resolution(
    r: &mut Reader<'_>,
    state: Option<TaskState>,
    evidence: Option<String>,
    reason: Option<String>,
) -> Option<Resolution> {
    if evidence.is_some() && state != Some(TaskState::Done) {
        r.reject("evidence", "is recorded only with state done");
    }
    if reason.is_some() && state != Some(TaskState::Skipped) {
        r.reject("skipped_reason", "is recorded only with state skipped");
    }
    match state? {
        TaskState::Done => Some(Resolution::Done { evidence }),
        TaskState::Skipped => match reason {
            Some(reason) => Some(Resolution::Skipped { reason }),
            None => {
                if !r.has_error_for("skipped_reason") {
                    r.reject("skipped_reason", "is required to skip a task");
                }
                None
            }
        },
        TaskState::Open => Some(Resolution::Reopened),
        TaskState::NoLongerApplies => {
            r.reject(
                "state",
                "no_longer_applies is set when a runbook's conditions stop holding; use done, skipped or open",
            );
            None
        }
    }
}

async fn update_task(
    who: Principal,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    body: JsonObject,
) -> AppResult<HttpResponse> {
    let (incident_id, task_id) = path.into_inner();
    let view = update(who, &db, incident_id, task_id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes a task (assignee, note, done with evidence, skipped with a reason,
/// reopened) and audits it: the one way to work a task, for the API and the web UI.
pub(crate) async fn update(
    who: Principal,
    db: &Db,
    incident_id: String,
    task_id: String,
    body: Map<String, Value>,
) -> AppResult<TaskView> {
    who.require(who.role.can_work_tasks(), "change runbook tasks")?;
    let change = read_change(&body).map_err(AppError::Validation)?;
    db.write(move |conn| {
        let row = tasks::get(conn, &who.tenant_id, &incident_id, &task_id)?;
        let now = now_micros();
        let before = TaskView::of(&row, now)?;
        let after = TaskView::of(&tasks::update(conn, &row, &change, &who.name)?, now)?;
        audit::append(
            conn,
            &who.tenant_id,
            AuditEvent {
                actor: who.actor(),
                action: match change.resolution {
                    Some(Resolution::Done { .. }) => "task.done",
                    Some(Resolution::Skipped { .. }) => "task.skip",
                    Some(Resolution::Reopened) => "task.reopen",
                    None => "task.update",
                },
                target: format!("task:{task_id}"),
                details: json!({
                    "incident": incident_id,
                    "runbook": row.runbook_id,
                    "item": row.item_id,
                    "changes": changes(&before, &after)?,
                }),
            },
        )?;
        Ok(after)
    })
    .await
}

/// `{field: {from, to}}` for each field a user can change that did change.
fn changes(before: &TaskView, after: &TaskView) -> AppResult<Value> {
    let as_json =
        |v: &TaskView| serde_json::to_value(v).map_err(|e| AppError::Unexpected(e.into()));
    let (before, after) = (as_json(before)?, as_json(after)?);
    let mut out = Map::new();
    for key in TASK_FIELDS {
        if before[key] != after[key] {
            out.insert(
                (*key).to_owned(),
                json!({ "from": before[key], "to": after[key] }),
            );
        }
    }
    Ok(Value::Object(out))
}
