//! The incident page's runbook tasks: marking one done (with evidence), skipping
//! it (with a reason) or reopening it, through the API's own `tasks::update`.

use actix_web::{HttpResponse, web};

use super::form::{self, FormData, Kind, Mode};
use super::incidents::{Deps, after};
use super::session::{SignedIn, UiResult};
use crate::web::api;

pub(super) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/incidents/{id}/tasks/{task}", web::post().to(update_task));
}

/// The fields of the task forms, in the API's names.
pub(super) const TASK_FIELDS: &[(&str, Kind)] = &[
    ("state", Kind::Text),
    ("evidence", Kind::Text),
    ("skipped_reason", Kind::Text),
];

/// Moves a task to the state the form's button names.
async fn update_task(
    signed: SignedIn,
    deps: Deps,
    path: web::Path<(String, String)>,
    form: web::Form<FormData>,
) -> UiResult<HttpResponse> {
    signed.check_csrf(form.csrf())?;
    let (id, task) = path.into_inner();
    let body = form::to_json(&form, TASK_FIELDS, signed.tz, Mode::Create);
    let result = api::tasks::update(signed.who.clone(), &deps.db, id.clone(), task.clone(), body)
        .await
        .map(drop);
    let form_name = format!("task-{task}");
    after(&signed, &deps, id, form_name, Some(&form), result, "tasks").await
}
