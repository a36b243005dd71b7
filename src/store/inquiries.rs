//! The inquiry desk of a public bulletin ("am I affected?"): throttled per client
//! and per contact, counted, kept only as keyed hashes; when the contact is one of
//! an affected person's planned addresses in an approved dispatch, that person's
//! notice is queued again to that address through the outbox (a message of the
//! dispatch: ledger line, rate limit, `Message-ID`), at most once a day per contact.
//! Contacts are looked up in the desk's own table ([`open_desk`]), not in the set.
//! Whatever happens, the caller learns only whether it was throttled.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::bulletins::BulletinRow;
use super::sql::{Bind, Statement};
use super::{affected, from_json_text, new_id, word};
use crate::db::DbConnection;
use crate::db::schema::{
    affected_sets, bulletin_inquiries, bulletins, desk_contacts, dispatch_recipients, dispatches,
    outbox,
};
use crate::domain::{Audience, BulletinStatus, Channel, InquiryContact, OutboxStatus};
use crate::error::{AppError, AppResult};
use crate::notices::plan::Route;

/// Inquiries one client address may make about one bulletin in an hour.
pub const PER_CLIENT_PER_HOUR: i64 = 30;
/// Inquiries about one contact (whoever asks) on one bulletin in a day.
pub const PER_CONTACT_PER_DAY: i64 = 5;

/// What became of an inquiry (never shown to the visitor beyond "throttled or not").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InquiryOutcome {
    /// Over a limit: try again after this many seconds. Nothing was recorded.
    Throttled {
        /// Seconds until the oldest counted inquiry leaves the window.
        retry_after: u64,
    },
    /// Counted; `queued` is the outbox message sent to the contact, if any.
    Received {
        /// The contact is an affected person's (or guardian's) in the registry.
        matched: bool,
        /// The outbox row queued for it, and its dispatch.
        queued: Option<(String, String)>,
    },
}

fn keyed_hash(key: &str, value: &str) -> AppResult<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .map_err(|e| AppError::Unexpected(anyhow::anyhow!("inquiry key: {e}")))?;
    mac.update(value.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// The bulletin's key for the desk's hashes, made at its first inquiry.
fn inquiry_key(conn: &mut DbConnection, row: &BulletinRow) -> AppResult<String> {
    if let Some(key) = &row.inquiry_key {
        return Ok(key.clone());
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    diesel::update(bulletins::table.find(&row.id))
        .filter(bulletins::inquiry_key.is_null())
        .set(bulletins::inquiry_key.eq(hex::encode(bytes)))
        .execute(conn)?;
    Ok(bulletins::table
        .find(&row.id)
        .select(bulletins::inquiry_key)
        .first::<Option<String>>(conn)?
        .unwrap_or_default())
}

/// Receives one inquiry about a published bulletin from `client` (its address).
/// Does the same work whether or not the contact matches, so the time taken says
/// as little as the answer.
pub fn receive(
    conn: &mut DbConnection,
    row: &BulletinRow,
    contact: &InquiryContact,
    client: &str,
    now: NaiveDateTime,
) -> AppResult<InquiryOutcome> {
    if row.status()? != BulletinStatus::Published {
        return Err(AppError::Conflict(
            "this notice was withdrawn; its inquiry desk is closed".into(),
        ));
    }
    let key = inquiry_key(conn, row)?;
    let contact_hash = keyed_hash(&key, &contact.key())?;
    let client_hash = keyed_hash(&key, &format!("client:{client}"))?;
    let hour = now - Duration::hours(1);
    let day = now - Duration::days(1);
    let by_client: Vec<NaiveDateTime> = bulletin_inquiries::table
        .filter(bulletin_inquiries::bulletin_id.eq(&row.id))
        .filter(bulletin_inquiries::client_hash.eq(&client_hash))
        .filter(bulletin_inquiries::at.gt(hour))
        .order(bulletin_inquiries::at.asc())
        .select(bulletin_inquiries::at)
        .load(conn)?;
    let by_contact: Vec<NaiveDateTime> = bulletin_inquiries::table
        .filter(bulletin_inquiries::bulletin_id.eq(&row.id))
        .filter(bulletin_inquiries::contact_hash.eq(&contact_hash))
        .filter(bulletin_inquiries::at.gt(day))
        .order(bulletin_inquiries::at.asc())
        .select(bulletin_inquiries::at)
        .load(conn)?;
    let wait = |times: &[NaiveDateTime], limit: i64, window: Duration| {
        (times.len() as i64 >= limit).then(|| {
            times.first().map_or(1, |first| {
                ((*first + window - now).num_seconds().max(1)) as u64
            })
        })
    };
    if let Some(retry_after) = wait(&by_client, PER_CLIENT_PER_HOUR, Duration::hours(1))
        .or_else(|| wait(&by_contact, PER_CONTACT_PER_DAY, Duration::days(1)))
    {
        return Ok(InquiryOutcome::Throttled { retry_after });
    }
    diesel::insert_into(bulletin_inquiries::table)
        .values((
            bulletin_inquiries::id.eq(new_id()),
            bulletin_inquiries::tenant_id.eq(&row.tenant_id),
            bulletin_inquiries::bulletin_id.eq(&row.id),
            bulletin_inquiries::contact_hash.eq(&contact_hash),
            bulletin_inquiries::client_hash.eq(&client_hash),
            bulletin_inquiries::at.eq(now),
        ))
        .execute(conn)?;
    let people = matching_people(conn, row, contact)?;
    let matched = !people.is_empty();
    let first_today = by_contact.is_empty();
    let target = find_route(conn, row, contact, &people)?;
    let queued = match target.filter(|_| first_today) {
        Some((dispatch, external_id, route)) => {
            Some(queue(conn, row, &dispatch, &external_id, &route, now)?)
        }
        None => None,
    };
    diesel::update(bulletins::table.find(&row.id))
        .set((
            bulletins::inquiries.eq(bulletins::inquiries + 1),
            bulletins::inquiries_matched.eq(bulletins::inquiries_matched + i64::from(matched)),
        ))
        .execute(conn)?;
    Ok(InquiryOutcome::Received { matched, queued })
}

/// Fills the desk's contact table from affected set `set_id`, once per set (the
/// first inquiry or publication after a recompute): every person's and guardian's
/// e-mail address (lower-cased by the database) and phone number, with whose it is.
/// Lookups then read one index; recomputes never maintain one on the set itself.
pub fn open_desk(conn: &mut DbConnection, set_id: i64) -> AppResult<()> {
    let ready = affected_sets::table
        .find(set_id)
        .select(affected_sets::desk_ready)
        .first::<bool>(conn)
        .optional()?;
    if ready != Some(false) {
        return Ok(());
    }
    let mut fill = Statement::new();
    fill.push("INSERT INTO desk_contacts (set_id, contact, external_id, audience) ");
    let set = fill.bind(Bind::BigInt(set_id));
    let parts = [
        ("lower(email)", "email", Audience::Subject),
        ("phone", "phone", Audience::Subject),
        (
            "lower(guardian_email)",
            "guardian_email",
            Audience::Guardian,
        ),
        ("guardian_phone", "guardian_phone", Audience::Guardian),
    ];
    let selects: Vec<String> = parts
        .iter()
        .map(|(contact, column, audience)| {
            format!(
                "SELECT set_id, {contact}, external_id, '{}' FROM affected_subjects \
                 WHERE set_id = {set} AND {column} IS NOT NULL",
                audience.as_str()
            )
        })
        .collect();
    fill.push(&selects.join(" UNION ALL "));
    fill.push(" ON CONFLICT DO NOTHING");
    fill.execute(conn)?;
    diesel::update(affected_sets::table.find(set_id))
        .set(affected_sets::desk_ready.eq(true))
        .execute(conn)?;
    Ok(())
}

/// People of the incident's affected set whose own (or guardian's) contact it is,
/// e-mail addresses compared without regard to case, with whose contact it is.
fn matching_people(
    conn: &mut DbConnection,
    row: &BulletinRow,
    contact: &InquiryContact,
) -> AppResult<Vec<(String, Audience)>> {
    let Some(set_id) = affected::current_set(conn, &row.incident_id)? else {
        return Ok(Vec::new());
    };
    open_desk(conn, set_id)?;
    let mut forms = match contact {
        // SQLite's lower() folds ASCII only, PostgreSQL's the whole of Unicode.
        InquiryContact::Email(e) => vec![e.to_ascii_lowercase(), e.to_lowercase()],
        InquiryContact::Phone(p) => vec![p.clone()],
    };
    forms.dedup();
    let found: Vec<(String, String)> = desk_contacts::table
        .filter(desk_contacts::set_id.eq(set_id))
        .filter(desk_contacts::contact.eq_any(&forms))
        .select((desk_contacts::external_id, desk_contacts::audience))
        .distinct()
        .load(conn)?;
    found
        .into_iter()
        .map(|(id, audience)| Ok((id, word("desk contact audience", &audience)?)))
        .collect()
}

/// The newest approved, not cancelled dispatch that plans a notice for one of
/// `people` addressed to whom the contact belongs to, on a route to exactly this
/// contact: (dispatch id, external id, route).
fn find_route(
    conn: &mut DbConnection,
    row: &BulletinRow,
    contact: &InquiryContact,
    people: &[(String, Audience)],
) -> AppResult<Option<(String, String, Route)>> {
    let ids: Vec<&String> = people.iter().map(|(id, _)| id).collect();
    let candidates: Vec<(String, String, String, String)> = dispatch_recipients::table
        .inner_join(dispatches::table.on(dispatches::id.eq(dispatch_recipients::dispatch_id)))
        .filter(dispatches::tenant_id.eq(&row.tenant_id))
        .filter(dispatches::incident_id.eq(&row.incident_id))
        .filter(dispatches::approved_at.is_not_null())
        .filter(dispatches::cancelled_at.is_null())
        .filter(dispatch_recipients::external_id.eq_any(ids))
        .order(dispatches::approved_at.desc())
        .select((
            dispatch_recipients::dispatch_id,
            dispatch_recipients::external_id,
            dispatch_recipients::audience,
            dispatch_recipients::channels,
        ))
        .load(conn)?;
    for (dispatch, external_id, audience, channels) in candidates {
        let whose = people
            .iter()
            .any(|(id, a)| *id == external_id && a.as_str() == audience);
        if !whose {
            continue;
        }
        let routes: Vec<Route> = from_json_text(&channels)?;
        let route = routes.into_iter().find(|r| match contact {
            InquiryContact::Email(e) => {
                r.channel == Channel::Email && r.address.eq_ignore_ascii_case(e)
            }
            InquiryContact::Phone(p) => r.channel == Channel::Sms && r.address == *p,
        });
        if let Some(route) = route {
            return Ok(Some((dispatch, external_id, route)));
        }
    }
    Ok(None)
}

/// Queues the person's notice to `route` as a new message of the dispatch.
fn queue(
    conn: &mut DbConnection,
    row: &BulletinRow,
    dispatch_id: &str,
    external_id: &str,
    route: &Route,
    now: NaiveDateTime,
) -> AppResult<(String, String)> {
    let id = new_id();
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&id),
            outbox::tenant_id.eq(&row.tenant_id),
            outbox::dispatch_id.eq(dispatch_id),
            outbox::external_id.eq(external_id),
            outbox::channel.eq(route.channel.as_str()),
            outbox::address.eq(&route.address),
            outbox::status.eq(OutboxStatus::Queued.as_str()),
            outbox::run_at.eq(now),
            outbox::attempts.eq(0),
            outbox::created_at.eq(now),
            outbox::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok((id, dispatch_id.to_owned()))
}
