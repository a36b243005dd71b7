//! Append-only, hash-chained audit log, one chain per tenant.
//!
//! Entry `n` stores `hash = SHA-256(prev_hash ‖ canonical(entry))`, where
//! `prev_hash` is entry `n-1`'s hash (64 zeros for the first) and the canonical
//! form is the JSON array `[tenant, seq, at, actor, action, target, details]`.
//! The tenant row keeps the head (`audit_seq`, `audit_head`), so removing the
//! newest entries is detected too. Entries are written in the same transaction
//! as the change they record. The head is in the same database and unkeyed, so
//! removing the newest entries *and* rewinding the head is caught only against a
//! [`checkpoint`] kept outside the database.

pub mod checkpoint;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::DbConnection;
use crate::db::schema::{audit_log, tenants};
use crate::domain::{format_instant, now_micros};
use crate::error::AppResult;

/// `prev_hash` of a chain's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How many entries [`verify`] reads at a time.
const VERIFY_BATCH: i64 = 5_000;

/// A change to record.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Who did it, e.g. `token:alice` or `cli`.
    pub actor: String,
    /// What was done, e.g. `incident.create`.
    pub action: &'static str,
    /// What it was done to, e.g. `incident:0193…`.
    pub target: String,
    /// Relevant values (no secrets).
    pub details: serde_json::Value,
}

/// One stored entry.
#[derive(Debug, Clone, Queryable, Serialize)]
pub struct AuditEntry {
    /// Tenant whose chain this is.
    #[serde(skip)]
    pub tenant_id: String,
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When it was recorded.
    #[serde(serialize_with = "serialize_instant")]
    pub at: NaiveDateTime,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// JSON text of the details.
    #[serde(serialize_with = "serialize_json_text")]
    pub details: String,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

fn serialize_instant<S: serde::Serializer>(at: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_instant(*at))
}

fn serialize_json_text<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    let value: serde_json::Value =
        serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()));
    value.serialize(s)
}

/// Appends `event` to the tenant's chain. Call inside the change's transaction.
pub fn append(conn: &mut DbConnection, tenant_id: &str, event: AuditEvent) -> AppResult<()> {
    let (seq, prev_hash) = lock_head(conn, tenant_id)?;
    let mut entry = AuditEntry {
        tenant_id: tenant_id.to_owned(),
        seq: seq + 1,
        at: now_micros(),
        actor: event.actor,
        action: event.action.to_owned(),
        target: event.target,
        details: event.details.to_string(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry_hash(&entry);
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::tenant_id.eq(&entry.tenant_id),
            audit_log::seq.eq(entry.seq),
            audit_log::at.eq(entry.at),
            audit_log::actor.eq(&entry.actor),
            audit_log::action.eq(&entry.action),
            audit_log::target.eq(&entry.target),
            audit_log::details.eq(&entry.details),
            audit_log::prev_hash.eq(&entry.prev_hash),
            audit_log::hash.eq(&entry.hash),
        ))
        .execute(conn)?;
    diesel::update(tenants::table.find(tenant_id))
        .set((
            tenants::audit_seq.eq(entry.seq),
            tenants::audit_head.eq(&entry.hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// Reads the chain head, locking the tenant row on PostgreSQL so concurrent
/// appends queue up (SQLite writes are already serialised). `FOR NO KEY UPDATE`:
/// transactions that only inserted rows referring to the tenant (their foreign-key
/// checks hold `KEY SHARE`) do not block it, so two of them cannot deadlock here.
fn lock_head(conn: &mut DbConnection, tenant_id: &str) -> AppResult<(i64, String)> {
    let query = tenants::table
        .find(tenant_id)
        .select((tenants::audit_seq, tenants::audit_head));
    Ok(match conn {
        DbConnection::Postgres(pg) => query.for_no_key_update().first(pg)?,
        DbConnection::Sqlite(sqlite) => query.first(sqlite)?,
    })
}

fn entry_hash(e: &AuditEntry) -> String {
    let canonical = serde_json::json!([
        e.tenant_id,
        e.seq,
        format_instant(e.at),
        e.actor,
        e.action,
        e.target,
        e.details
    ]);
    let mut hasher = Sha256::new();
    hasher.update(e.prev_hash.as_bytes());
    hasher.update(canonical.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// A page of a tenant's audit entries with `seq > after`, oldest first.
pub fn list(
    conn: &mut DbConnection,
    tenant_id: &str,
    after: i64,
    limit: i64,
) -> AppResult<Vec<AuditEntry>> {
    Ok(audit_log::table
        .filter(audit_log::tenant_id.eq(tenant_id))
        .filter(audit_log::seq.gt(after))
        .order(audit_log::seq.asc())
        .limit(limit)
        .load::<AuditEntry>(conn)?)
}

/// The tenant's newest `limit` entries about any of `targets` (e.g. an incident
/// and its obligations and dispatches), newest first.
pub fn about(
    conn: &mut DbConnection,
    tenant_id: &str,
    targets: &[String],
    limit: i64,
) -> AppResult<Vec<AuditEntry>> {
    Ok(audit_log::table
        .filter(audit_log::tenant_id.eq(tenant_id))
        .filter(audit_log::target.eq_any(targets))
        .order(audit_log::seq.desc())
        .limit(limit)
        .load::<AuditEntry>(conn)?)
}

/// The outcome of checking one tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry is present and unchanged.
    Intact {
        /// Number of entries checked.
        entries: i64,
    },
    /// The first entry found broken, and why.
    Broken {
        /// Sequence number of the entry.
        seq: i64,
        /// What is wrong with it.
        reason: String,
    },
}

/// Recomputes a tenant's whole chain, reading it in batches.
pub fn verify(conn: &mut DbConnection, tenant_id: &str) -> AppResult<Verdict> {
    Ok(verify_to_head(conn, tenant_id)?.0)
}

/// [`verify`], also returning the head it checked the chain against: the
/// tenant's `(audit_seq, audit_head)`, or `None` when the tenant does not exist.
fn verify_to_head(
    conn: &mut DbConnection,
    tenant_id: &str,
) -> AppResult<(Verdict, Option<(i64, String)>)> {
    let Some(head) = head(conn, tenant_id)? else {
        return Ok((
            Verdict::Broken {
                seq: 1,
                reason: format!("tenant {tenant_id} is no longer in the database"),
            },
            None,
        ));
    };
    let verdict = walk(conn, tenant_id, &head)?;
    Ok((verdict, Some(head)))
}

/// The tenant's recorded head `(audit_seq, audit_head)`.
fn head(conn: &mut DbConnection, tenant_id: &str) -> AppResult<Option<(i64, String)>> {
    Ok(tenants::table
        .find(tenant_id)
        .select((tenants::audit_seq, tenants::audit_head))
        .first(conn)
        .optional()?)
}

/// Recomputes the chain from its first entry and compares its end with `head`.
fn walk(conn: &mut DbConnection, tenant_id: &str, head: &(i64, String)) -> AppResult<Verdict> {
    let (head_seq, head_hash) = (head.0, head.1.as_str());
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS_HASH.to_owned();
    loop {
        let batch = list(conn, tenant_id, expected_seq - 1, VERIFY_BATCH)?;
        if batch.is_empty() {
            break;
        }
        for entry in &batch {
            if let Some(reason) = check_entry(entry, expected_seq, &prev_hash) {
                return Ok(Verdict::Broken {
                    seq: expected_seq.min(entry.seq),
                    reason,
                });
            }
            prev_hash = entry.hash.clone();
            expected_seq += 1;
        }
    }
    let last = expected_seq - 1;
    if last != head_seq {
        return Ok(Verdict::Broken {
            seq: last + 1,
            reason: format!(
                "missing: the chain ends at seq {last} but the tenant's head records seq {head_seq}"
            ),
        });
    }
    if prev_hash != head_hash {
        return Ok(Verdict::Broken {
            seq: last,
            reason: "hash does not match the head recorded on the tenant".into(),
        });
    }
    Ok(Verdict::Intact { entries: last })
}

fn check_entry(entry: &AuditEntry, expected_seq: i64, prev_hash: &str) -> Option<String> {
    if entry.seq != expected_seq {
        return Some(format!(
            "missing: expected seq {expected_seq}, found seq {} next",
            entry.seq
        ));
    }
    if entry.prev_hash != prev_hash {
        return Some("prev_hash does not match the previous entry's hash".into());
    }
    if entry_hash(entry) != entry.hash {
        return Some("contents do not match the stored hash (entry was edited)".into());
    }
    None
}
