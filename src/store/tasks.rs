//! An incident's runbook tasks. [`attach`] keeps them in step with the runbooks whose
//! conditions hold (called by `obligations::refresh`, in its transaction): runbooks
//! and items that start to apply are attached once, due times follow the clocks and
//! obligations they count from, open tasks that stop applying are set aside as
//! `no_longer_applies` (and come back if they apply again), done and skipped tasks stay.
//! The team works them through [`update`].

use std::collections::HashMap;
use std::str::FromStr;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::new_id;
use crate::db::DbConnection;
use crate::db::schema::{incident_runbooks, tasks};
use crate::domain::{DueBasis, Field, FieldError, Role, TaskKind, TaskState, now_micros};
use crate::error::{AppError, AppResult};
use crate::runbooks::{Attachment, PlannedTask, RunbookSet, Situation, plan};

/// One stored task.
#[derive(Debug, Clone, Queryable)]
pub struct TaskRow {
    /// Identifier.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Incident it belongs to.
    pub incident_id: String,
    /// Runbook id.
    pub runbook_id: String,
    /// Item id within the runbook.
    pub item_id: String,
    /// Place in the runbook's checklist, from 0.
    pub position: i32,
    /// Heading the item is under.
    pub section: Option<String>,
    /// What to do.
    pub text: String,
    /// Role word of who does it.
    pub role: String,
    /// Kind word (`task`, `evidence_required`).
    pub kind: String,
    /// The due rule as written (`aware_at + 24h`).
    pub due_rule: Option<String>,
    /// When it is due.
    pub due_at: Option<NaiveDateTime>,
    /// What `due_at` rests on (`clock`, `deadline`, `target`).
    pub due_basis: Option<String>,
    /// Why there is no due time.
    pub due_note: Option<String>,
    /// State word.
    pub state: String,
    /// Who it is assigned to.
    pub assignee: Option<String>,
    /// Free note.
    pub note: Option<String>,
    /// What shows it was done.
    pub evidence: Option<String>,
    /// Why it was skipped.
    pub skipped_reason: Option<String>,
    /// Who marked it done or skipped.
    pub resolved_by: Option<String>,
    /// When it was marked done or skipped.
    pub resolved_at: Option<NaiveDateTime>,
    /// When it was attached.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
}

fn stored<T: FromStr<Err = String>>(word: &str, column: &str) -> AppResult<T> {
    word.parse()
        .map_err(|e: String| AppError::Unexpected(anyhow::anyhow!("stored task {column}: {e}")))
}

impl TaskRow {
    /// Where the task stands.
    pub fn state(&self) -> AppResult<TaskState> {
        stored(&self.state, "state")
    }

    /// What marking it done takes.
    pub fn kind(&self) -> AppResult<TaskKind> {
        stored(&self.kind, "kind")
    }

    /// Who does it.
    pub fn role(&self) -> AppResult<Role> {
        stored(&self.role, "role")
    }

    /// What the due time rests on.
    pub fn due_basis(&self) -> AppResult<Option<DueBasis>> {
        self.due_basis
            .as_deref()
            .map(|b| stored(b, "due_basis"))
            .transpose()
    }
}

/// A runbook attached to an incident.
#[derive(Debug, Clone, Queryable)]
pub struct AttachmentRow {
    /// Incident.
    pub incident_id: String,
    /// Runbook id.
    pub runbook_id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// The runbook's title (as of its latest version seen).
    pub title: String,
    /// The runbook's version.
    pub version: i32,
    /// Whether its conditions hold now.
    pub applies: bool,
    /// When it was first attached.
    pub attached_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
}

/// What a task copies from its runbook item (kept as it was once done or skipped).
#[derive(Debug, PartialEq, AsChangeset, Insertable)]
#[diesel(table_name = tasks, treat_none_as_null = true)]
struct Definition {
    position: i32,
    section: Option<String>,
    text: String,
    role: String,
    kind: String,
    due_rule: Option<String>,
}

impl Definition {
    fn planned(t: &PlannedTask<'_>) -> AppResult<Self> {
        Ok(Self {
            position: i32::try_from(t.position)
                .map_err(|e| AppError::Unexpected(anyhow::anyhow!("item position: {e}")))?,
            section: t.item.section.clone(),
            text: t.item.text.clone(),
            role: t.item.role.as_str().to_owned(),
            kind: t.item.kind.as_str().to_owned(),
            due_rule: t.item.due.as_ref().map(ToString::to_string),
        })
    }

    fn stored(row: &TaskRow) -> Self {
        Self {
            position: row.position,
            section: row.section.clone(),
            text: row.text.clone(),
            role: row.role.clone(),
            kind: row.kind.clone(),
            due_rule: row.due_rule.clone(),
        }
    }
}

/// A task's computed due time.
#[derive(Debug, PartialEq, AsChangeset, Insertable)]
#[diesel(table_name = tasks, treat_none_as_null = true)]
struct DueFields {
    due_at: Option<NaiveDateTime>,
    due_basis: Option<String>,
    due_note: Option<String>,
}

impl DueFields {
    fn planned(t: &PlannedTask<'_>) -> Self {
        Self {
            due_at: t.due.at,
            due_basis: t.due.basis.map(|b| b.as_str().to_owned()),
            due_note: t.due.note.clone(),
        }
    }

    fn stored(row: &TaskRow) -> Self {
        Self {
            due_at: row.due_at,
            due_basis: row.due_basis.clone(),
            due_note: row.due_note.clone(),
        }
    }
}

/// Matches the incident against `set` and brings its attached runbooks and tasks in step.
pub fn attach(
    conn: &mut DbConnection,
    set: &RunbookSet,
    situation: &Situation<'_>,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<()> {
    let planned = plan(set, situation);
    let now = now_micros();
    sync_attachments(conn, tenant_id, incident_id, &planned, now)?;
    sync_tasks(conn, tenant_id, incident_id, &planned, now)
}

fn sync_attachments(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    planned: &[Attachment<'_>],
    now: NaiveDateTime,
) -> AppResult<()> {
    let mut existing: HashMap<String, AttachmentRow> = attachments(conn, tenant_id, incident_id)?
        .into_iter()
        .map(|row| (row.runbook_id.clone(), row))
        .collect();
    for a in planned {
        let version = i32::try_from(a.runbook.version)
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("runbook version: {e}")))?;
        let target = incident_runbooks::table.find((incident_id, &a.runbook.id));
        match existing.remove(&a.runbook.id) {
            Some(row) if row.applies && row.version == version && row.title == a.runbook.title => {}
            Some(_) => {
                diesel::update(target)
                    .set((
                        incident_runbooks::applies.eq(true),
                        incident_runbooks::version.eq(version),
                        incident_runbooks::title.eq(&a.runbook.title),
                        incident_runbooks::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(incident_runbooks::table)
                    .values((
                        incident_runbooks::incident_id.eq(incident_id),
                        incident_runbooks::runbook_id.eq(&a.runbook.id),
                        incident_runbooks::tenant_id.eq(tenant_id),
                        incident_runbooks::title.eq(&a.runbook.title),
                        incident_runbooks::version.eq(version),
                        incident_runbooks::applies.eq(true),
                        incident_runbooks::attached_at.eq(now),
                        incident_runbooks::updated_at.eq(now),
                    ))
                    .execute(conn)?;
            }
        }
    }
    let stopped: Vec<String> = existing
        .into_values()
        .filter(|row| row.applies)
        .map(|row| row.runbook_id)
        .collect();
    diesel::update(
        incident_runbooks::table
            .filter(incident_runbooks::incident_id.eq(incident_id))
            .filter(incident_runbooks::runbook_id.eq_any(stopped)),
    )
    .set((
        incident_runbooks::applies.eq(false),
        incident_runbooks::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

fn sync_tasks(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    planned: &[Attachment<'_>],
    now: NaiveDateTime,
) -> AppResult<()> {
    let mut existing: HashMap<(String, String), TaskRow> = list(conn, tenant_id, incident_id)?
        .into_iter()
        .map(|row| ((row.runbook_id.clone(), row.item_id.clone()), row))
        .collect();
    for a in planned {
        for task in &a.tasks {
            match existing.remove(&(a.runbook.id.clone(), task.item.id.clone())) {
                Some(row) => sync_task(conn, &row, task, now)?,
                None => insert(conn, tenant_id, incident_id, &a.runbook.id, task, now)?,
            }
        }
    }
    for row in existing.into_values() {
        set_state(conn, &row, row.state()?.after_refresh(false), now)?;
    }
    Ok(())
}

/// Brings one applying task in step: due time, state, and (while open) the item's words.
fn sync_task(
    conn: &mut DbConnection,
    row: &TaskRow,
    task: &PlannedTask<'_>,
    now: NaiveDateTime,
) -> AppResult<()> {
    let target = tasks::table.find(&row.id);
    let due = DueFields::planned(task);
    if due != DueFields::stored(row) {
        diesel::update(target)
            .set((&due, tasks::updated_at.eq(now)))
            .execute(conn)?;
    }
    let next = row.state()?.after_refresh(true);
    set_state(conn, row, next, now)?;
    let definition = Definition::planned(task)?;
    if next == TaskState::Open && definition != Definition::stored(row) {
        diesel::update(target.filter(tasks::state.eq(next.as_str())))
            .set(&definition)
            .execute(conn)?;
    }
    Ok(())
}

/// Moves a task to `next` unless a concurrent change moved it first (that change wins).
fn set_state(
    conn: &mut DbConnection,
    row: &TaskRow,
    next: TaskState,
    now: NaiveDateTime,
) -> AppResult<()> {
    if next.as_str() != row.state {
        diesel::update(
            tasks::table
                .find(&row.id)
                .filter(tasks::state.eq(&row.state)),
        )
        .set((tasks::state.eq(next.as_str()), tasks::updated_at.eq(now)))
        .execute(conn)?;
    }
    Ok(())
}

fn insert(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    runbook_id: &str,
    task: &PlannedTask<'_>,
    now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(tasks::table)
        .values((
            Definition::planned(task)?,
            DueFields::planned(task),
            tasks::id.eq(new_id()),
            tasks::tenant_id.eq(tenant_id),
            tasks::incident_id.eq(incident_id),
            tasks::runbook_id.eq(runbook_id),
            tasks::item_id.eq(&task.item.id),
            tasks::state.eq(TaskState::Open.as_str()),
            tasks::created_at.eq(now),
            tasks::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The incident's attached runbooks, in the order they were attached.
pub fn attachments(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<AttachmentRow>> {
    Ok(incident_runbooks::table
        .filter(incident_runbooks::tenant_id.eq(tenant_id))
        .filter(incident_runbooks::incident_id.eq(incident_id))
        .order((
            incident_runbooks::attached_at.asc(),
            incident_runbooks::runbook_id.asc(),
        ))
        .load::<AttachmentRow>(conn)?)
}

/// The incident's tasks, by runbook and checklist order.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
) -> AppResult<Vec<TaskRow>> {
    Ok(tasks::table
        .filter(tasks::tenant_id.eq(tenant_id))
        .filter(tasks::incident_id.eq(incident_id))
        .order((tasks::runbook_id.asc(), tasks::position.asc()))
        .load::<TaskRow>(conn)?)
}

/// Loads one task of one of the tenant's incidents.
pub fn get(
    conn: &mut DbConnection,
    tenant_id: &str,
    incident_id: &str,
    id: &str,
) -> AppResult<TaskRow> {
    tasks::table
        .filter(tasks::tenant_id.eq(tenant_id))
        .filter(tasks::incident_id.eq(incident_id))
        .filter(tasks::id.eq(id))
        .first::<TaskRow>(conn)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("task {id}")))
}

/// A user's decision about a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Done, with what shows it (required when the item says `evidence required`).
    Done {
        /// Receipt, ticket, log reference.
        evidence: Option<String>,
    },
    /// Not needed for this incident, and why.
    Skipped {
        /// Why.
        reason: String,
    },
    /// Back to open.
    Reopened,
}

impl Resolution {
    fn state(&self) -> TaskState {
        match self {
            Resolution::Done { .. } => TaskState::Done,
            Resolution::Skipped { .. } => TaskState::Skipped,
            Resolution::Reopened => TaskState::Open,
        }
    }
}

/// A change to a task: PATCH semantics for the assignee and the note (absent keeps,
/// null clears), and optionally a resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskChange {
    /// Who it is assigned to.
    pub assignee: Field<String>,
    /// Free note.
    pub note: Field<String>,
    /// Done, skipped or reopened.
    pub resolution: Option<Resolution>,
}

/// Applies `change` to `row` after checking it against the task's state and kind:
/// tasks that no longer apply are not changed, resolutions follow the task life
/// cycle, and an item that requires evidence is done only with evidence.
pub fn update(
    conn: &mut DbConnection,
    row: &TaskRow,
    change: &TaskChange,
    by: &str,
) -> AppResult<TaskRow> {
    check(row, change)?;
    let now = now_micros();
    let target = tasks::table.find(&row.id);
    // Claims the row in the state it was checked in: a concurrent change (another
    // user, or the runbooks' rules) makes this one a conflict instead of overwriting it.
    let claimed = diesel::update(target.filter(tasks::state.eq(&row.state)))
        .set(tasks::updated_at.eq(now))
        .execute(conn)?;
    if claimed == 0 {
        return Err(AppError::Conflict(format!(
            "task {} changed meanwhile; read it again",
            row.id
        )));
    }
    if let Some(assignee) = cleared_or_set(&change.assignee) {
        diesel::update(target)
            .set(tasks::assignee.eq(assignee))
            .execute(conn)?;
    }
    if let Some(note) = cleared_or_set(&change.note) {
        diesel::update(target)
            .set(tasks::note.eq(note))
            .execute(conn)?;
    }
    if let Some(resolution) = &change.resolution {
        let (evidence, reason, resolved) = match resolution {
            Resolution::Done { evidence } => (evidence.as_deref(), None, true),
            Resolution::Skipped { reason } => (None, Some(reason.as_str()), true),
            Resolution::Reopened => (None, None, false),
        };
        diesel::update(target)
            .set((
                tasks::state.eq(resolution.state().as_str()),
                tasks::evidence.eq(evidence),
                tasks::skipped_reason.eq(reason),
                tasks::resolved_by.eq(resolved.then_some(by)),
                tasks::resolved_at.eq(resolved.then_some(now)),
            ))
            .execute(conn)?;
    }
    get(conn, &row.tenant_id, &row.incident_id, &row.id)
}

fn cleared_or_set(field: &Field<String>) -> Option<Option<&str>> {
    match field {
        Field::Absent => None,
        Field::Null => Some(None),
        Field::Set(v) => Some(Some(v.as_str())),
    }
}

fn check(row: &TaskRow, change: &TaskChange) -> AppResult<()> {
    let state = row.state()?;
    if state == TaskState::NoLongerApplies {
        return Err(AppError::Conflict(format!(
            "task {} no longer applies to the incident (its runbook's conditions or obligation no longer hold); it cannot be changed",
            row.id
        )));
    }
    let Some(resolution) = &change.resolution else {
        return Ok(());
    };
    let next = resolution.state();
    if !state.can_move_to(next) {
        return Err(AppError::Conflict(format!(
            "cannot move task from {state} to {next}: open tasks are done or skipped, done or skipped tasks are reopened (state: open)"
        )));
    }
    let missing = matches!(resolution, Resolution::Done { evidence: None });
    if missing && row.kind()? == TaskKind::EvidenceRequired {
        return Err(AppError::Validation(vec![FieldError::new(
            "evidence",
            "is required: this item asks for evidence (a filing receipt, ticket or log reference)",
        )]));
    }
    Ok(())
}
