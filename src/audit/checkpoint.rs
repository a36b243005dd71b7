//! Signed checkpoints of the audit chains, kept outside the database.
//!
//! The chain head lives on the tenant row, in the same database as the entries,
//! and is not keyed: whoever can delete the newest entries can also rewind the
//! head, and the chain still verifies. A checkpoint is a tenant's head (seq and
//! hash) signed with HMAC-SHA256 under a key from the configuration, printed
//! as one JSON line for operators to keep elsewhere. Verifying against it
//! proves the chain still reaches that entry with the same hash; since every
//! hash covers all entries before it, that proves the whole prefix unchanged.

use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{GENESIS_HASH, Verdict, list, verify_to_head};
use crate::db::DbConnection;
use crate::domain::format_instant;
use crate::error::AppResult;

/// Names the signed message's layout, so a later layout cannot be confused with it.
const FORMAT: &str = "breachline-audit-checkpoint-v1";

/// What the key id is derived from: HMAC(key, this label), so the id names the
/// key without revealing anything about it.
const KEY_ID_LABEL: &[u8] = b"breachline audit checkpoint key id";

/// One tenant's signed chain head: one JSON line of a checkpoint file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Tenant id.
    pub tenant_id: String,
    /// Tenant slug, for people reading the file.
    pub tenant: String,
    /// Sequence number of the head entry (0 for an empty chain).
    pub seq: i64,
    /// Hash of the head entry.
    pub head: String,
    /// When the checkpoint was taken (RFC 3339, UTC).
    pub at: String,
    /// Names the key that signed it (see [`CheckpointKey::id`]).
    pub key_id: String,
    /// Hex HMAC-SHA256 over every field above.
    pub hmac: String,
}

/// The key that signs and checks checkpoints, keyed once.
#[derive(Clone)]
pub struct CheckpointKey {
    mac: Hmac<Sha256>,
    id: String,
}

impl CheckpointKey {
    /// Keys HMAC-SHA256 with `secret` (from the configuration, never the database).
    pub fn new(secret: &[u8]) -> anyhow::Result<Self> {
        let mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|e| anyhow::anyhow!("cannot key HMAC-SHA256: {e}"))?;
        let mut named = mac.clone();
        named.update(KEY_ID_LABEL);
        let id = hex::encode(&named.finalize().into_bytes()[..8]);
        Ok(Self { mac, id })
    }

    /// A short public name of the key (16 hex digits), so a checkpoint signed with
    /// another key is reported as such rather than as altered.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointKey(id {})", self.id)
    }
}

impl Checkpoint {
    /// Signs a verified head `(seq, hash)` with `key`.
    pub fn sign(
        key: &CheckpointKey,
        tenant_id: &str,
        tenant: &str,
        (seq, head): (i64, String),
        at: NaiveDateTime,
    ) -> Self {
        let mut checkpoint = Checkpoint {
            tenant_id: tenant_id.to_owned(),
            tenant: tenant.to_owned(),
            seq,
            head,
            at: format_instant(at),
            key_id: key.id.clone(),
            hmac: String::new(),
        };
        checkpoint.hmac = hex::encode(checkpoint.mac(key).finalize().into_bytes());
        checkpoint
    }

    /// Checks that `key` signed this checkpoint and nothing in it changed since.
    pub fn check_signature(&self, key: &CheckpointKey) -> Result<(), String> {
        if self.key_id != key.id {
            return Err(format!(
                "signed with key id {}, not with the configured key (id {}): \
                 verify it with the key it was taken with",
                self.key_id, key.id
            ));
        }
        let tag = hex::decode(&self.hmac).map_err(|_| "hmac is not hex".to_owned())?;
        self.mac(key)
            .verify_slice(&tag)
            .map_err(|_| "signature does not verify: the checkpoint line was altered".to_owned())
    }

    /// The MAC over every field but `hmac`, in a fixed order.
    fn mac(&self, key: &CheckpointKey) -> Hmac<Sha256> {
        let message = serde_json::json!([
            FORMAT,
            self.tenant_id,
            self.tenant,
            self.seq,
            self.head,
            self.at,
            self.key_id
        ]);
        let mut mac = key.mac.clone();
        mac.update(message.to_string().as_bytes());
        mac
    }
}

/// Reads a checkpoint file: one JSON object per line, blank lines skipped.
/// Returns each checkpoint with its line number, or every unreadable line.
pub fn parse_file(text: &str) -> Result<Vec<(usize, Checkpoint)>, Vec<String>> {
    let mut checkpoints = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Checkpoint>(line) {
            Ok(checkpoint) => checkpoints.push((index + 1, checkpoint)),
            Err(e) => errors.push(format!("line {}: not a checkpoint: {e}", index + 1)),
        }
    }
    if errors.is_empty() {
        Ok(checkpoints)
    } else {
        Err(errors)
    }
}

/// Verifies the tenant's chain and signs its head, or returns why the chain is
/// broken (a broken chain is never checkpointed).
pub fn take(
    conn: &mut DbConnection,
    key: &CheckpointKey,
    tenant_id: &str,
    tenant: &str,
    at: NaiveDateTime,
) -> AppResult<Result<Checkpoint, Verdict>> {
    Ok(match verify_to_head(conn, tenant_id)? {
        (Verdict::Intact { .. }, Some(head)) => {
            Ok(Checkpoint::sign(key, tenant_id, tenant, head, at))
        }
        (verdict, _) => Err(verdict),
    })
}

/// Proves the tenant's chain is intact up to its head and still holds the
/// checkpointed entry with the same hash. A chain cut below the checkpoint names
/// the first missing entry; a rewritten one names the checkpointed entry, the
/// latest known-good point at or before which it was rewritten.
pub fn verify(conn: &mut DbConnection, checkpoint: &Checkpoint) -> AppResult<Verdict> {
    let entries = match verify_to_head(conn, &checkpoint.tenant_id)?.0 {
        Verdict::Intact { entries } => entries,
        broken => return Ok(broken),
    };
    if entries < checkpoint.seq {
        return Ok(Verdict::Broken {
            seq: entries + 1,
            reason: format!(
                "truncated: the chain ends at seq {entries}, but the checkpoint holds entries \
                 up to seq {}",
                checkpoint.seq
            ),
        });
    }
    let hash = if checkpoint.seq == 0 {
        Some(GENESIS_HASH.to_owned())
    } else {
        list(conn, &checkpoint.tenant_id, checkpoint.seq - 1, 1)?
            .into_iter()
            .find(|e| e.seq == checkpoint.seq)
            .map(|e| e.hash)
    };
    if hash.as_deref() != Some(checkpoint.head.as_str()) {
        return Ok(Verdict::Broken {
            seq: checkpoint.seq,
            reason: "rewritten: its hash differs from the checkpoint's, so the chain was \
                     rewritten at or before this entry"
                .into(),
        });
    }
    Ok(Verdict::Intact { entries })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;

    fn key() -> CheckpointKey {
        CheckpointKey::new(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn checkpoint() -> Checkpoint {
        let at = parse_instant("2026-11-22T10:00:00Z").unwrap();
        Checkpoint::sign(&key(), "t-1", "acme", (7, "ab".repeat(32)), at)
    }

    #[test]
    fn a_signed_checkpoint_verifies_and_round_trips_as_one_line() {
        let cp = checkpoint();
        assert_eq!(cp.check_signature(&key()), Ok(()));
        let line = serde_json::to_string(&cp).unwrap();
        assert!(!line.contains('\n'));
        let parsed = parse_file(&format!("{line}\n\n{line}\n")).unwrap();
        assert_eq!(parsed, vec![(1, cp.clone()), (3, cp)]);
    }

    #[test]
    fn any_change_or_another_key_is_caught() {
        let cp = checkpoint();
        for altered in [
            Checkpoint {
                seq: 6,
                ..cp.clone()
            },
            Checkpoint {
                head: "cd".repeat(32),
                ..cp.clone()
            },
            Checkpoint {
                tenant_id: "t-2".into(),
                ..cp.clone()
            },
            Checkpoint {
                at: "2026-11-23T10:00:00Z".into(),
                ..cp.clone()
            },
        ] {
            let err = altered.check_signature(&key()).unwrap_err();
            assert!(err.contains("altered"), "{err}");
        }
        let other = CheckpointKey::new(b"another key of at least thirty-two bytes").unwrap();
        let err = cp.check_signature(&other).unwrap_err();
        assert!(
            err.contains(&cp.key_id) && err.contains(other.id()),
            "{err}"
        );
        assert_ne!(key().id(), other.id());
        assert_eq!(key().id().len(), 16);
        assert!(!format!("{:?}", key()).contains("0123456789"));
    }

    #[test]
    fn unreadable_lines_are_named() {
        let errors = parse_file("{\"seq\": 1}\nnot json\n").unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[1].starts_with("line 2:"), "{errors:?}");
    }
}
