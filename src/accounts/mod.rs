//! People who sign in to the web UI: the password rules, argon2id hashing, session
//! expiry and sign-in throttling. Pure: no I/O (the store keeps users, links,
//! sessions and failures; `web::ui` asks these functions what to do).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{Duration, NaiveDateTime};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::FieldError;

/// Fewest characters a password may have (NIST SP 800-63B asks for at least 8;
/// these accounts can send notices to a million people, so more).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Most characters a password may have (argon2 takes any length; this bounds the work).
pub const MAX_PASSWORD_CHARS: usize = 256;

const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Checks a new password: length, not one of the most common passwords, not the
/// e-mail address. The error names the field `password`.
pub fn check_new_password(password: &str, email: &str) -> Result<(), FieldError> {
    let chars = password.chars().count();
    let reject = |reason: String| Err(FieldError::new("password", reason));
    if chars < MIN_PASSWORD_CHARS {
        return reject(format!(
            "must have at least {MIN_PASSWORD_CHARS} characters (has {chars})"
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return reject(format!("must have at most {MAX_PASSWORD_CHARS} characters"));
    }
    let lower = password.to_lowercase();
    if is_common(&lower) {
        return reject("is one of the most common passwords; choose another".into());
    }
    let first = lower.chars().next();
    if lower.chars().all(|c| Some(c) == first) {
        return reject("repeats one character; choose another".into());
    }
    let email = email.to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if lower == email || (!local.is_empty() && lower == local) {
        return reject("must not be your e-mail address".into());
    }
    Ok(())
}

fn is_common(lower: &str) -> bool {
    COMMON_PASSWORDS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.trim() == lower)
}

/// The argon2id hasher with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane).
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password as an argon2id PHC string with a fresh random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
        .to_string())
}

/// Whether `password` matches a stored PHC string (constant time inside argon2).
/// A stored value that does not parse never matches.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| hasher().verify_password(password.as_bytes(), &hash).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that a wrong
/// e-mail address costs the same time as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_secret()).unwrap_or_default())
}

/// A random secret for a cookie, link or CSRF token: 32 bytes as hex.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// SHA-256 hex of a secret: what the database keeps of session ids and link tokens
/// (they are long random values, so a fast hash is enough).
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How long sessions and set-password links live.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, however busy.
    pub absolute: Duration,
    /// A set-password link is good for this long.
    pub link: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::hours(2),
            absolute: Duration::hours(12),
            link: Duration::hours(72),
        }
    }
}

/// The two instants a session may end at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpiry {
    /// Pushed forward on every use.
    pub idle_expires_at: NaiveDateTime,
    /// Fixed at sign-in.
    pub expires_at: NaiveDateTime,
}

impl SessionPolicy {
    /// The expiry of a session started at `now`.
    pub fn start(&self, now: NaiveDateTime) -> SessionExpiry {
        SessionExpiry {
            idle_expires_at: now + self.idle,
            expires_at: now + self.absolute,
        }
    }

    /// Whether a session with `expiry` is still alive at `now`.
    pub fn alive(&self, expiry: SessionExpiry, now: NaiveDateTime) -> bool {
        now < expiry.idle_expires_at && now < expiry.expires_at
    }

    /// The expiry after a use at `now`: the idle end moves, never past the absolute end.
    pub fn touch(&self, expiry: SessionExpiry, now: NaiveDateTime) -> SessionExpiry {
        SessionExpiry {
            idle_expires_at: (now + self.idle).min(expiry.expires_at),
            expires_at: expiry.expires_at,
        }
    }
}

/// Limits on failed sign-ins within a sliding window.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// The window failures are counted in.
    pub window: Duration,
    /// Failures for one account before it is refused for the window.
    pub per_account: i64,
    /// Failures from one client address (any accounts) before it is refused.
    pub per_address: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            window: Duration::minutes(15),
            per_account: 5,
            per_address: 20,
        }
    }
}

/// Why a sign-in is refused before its password is even checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// Too many recent failures for this account.
    Account,
    /// Too many recent failures from this address.
    Address,
}

impl ThrottlePolicy {
    /// Decides from the failures counted in the window.
    pub fn check(&self, account_failures: i64, address_failures: i64) -> Option<Throttled> {
        if account_failures >= self.per_account {
            Some(Throttled::Account)
        } else if address_failures >= self.per_address {
            Some(Throttled::Address)
        } else {
            None
        }
    }

    /// The start of the window that ends at `now`.
    pub fn since(&self, now: NaiveDateTime) -> NaiveDateTime {
        now - self.window
    }
}

/// The throttle key of an account: no e-mail address is stored with failures.
pub fn account_key(email: &str) -> String {
    secret_hash(&format!("account:{}", email.trim().to_lowercase()))
}

/// The throttle key of a client address.
pub fn address_key(address: &str) -> String {
    secret_hash(&format!("address:{address}"))
}

/// Normalises and checks an e-mail address used as a sign-in name.
pub fn normalise_email(email: &str) -> Result<String, FieldError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(FieldError::new(
            "email",
            "must be an e-mail address like name@example.org",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password("a long enough passphrase").unwrap();
        let b = hash_password("a long enough passphrase").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("a long enough passphrase", &a));
        assert!(!verify_password("a long enough passphrasf", &a));
        assert!(!verify_password("anything", "not a phc string"));
        assert!(PasswordHash::new(decoy_hash()).is_ok());
        assert!(!verify_password("anything", decoy_hash()));
    }

    #[test]
    fn short_common_and_self_passwords_are_refused() {
        let reason = |p: &str| {
            check_new_password(p, "alice@example.org")
                .err()
                .map(|e| e.reason)
        };
        assert!(reason("short").unwrap().contains("at least 12"));
        assert!(reason("Password1234").unwrap().contains("most common"));
        assert!(reason("QWERTYUIOP123").unwrap().contains("most common"));
        assert!(reason("aaaaaaaaaaaaaaaa").unwrap().contains("repeats"));
        assert!(reason("alice@example.org").unwrap().contains("e-mail"));
        assert!(reason(&"x".repeat(300)).is_some());
        assert_eq!(reason("seven horses graze quietly"), None);
        assert_eq!(
            check_new_password("x", "a@b.c").unwrap_err().field,
            "password"
        );
    }

    #[test]
    fn sessions_end_when_idle_or_at_the_absolute_limit() {
        let policy = SessionPolicy::default();
        let start = at(8, 0);
        let expiry = policy.start(start);
        assert!(policy.alive(expiry, at(9, 59)));
        assert!(!policy.alive(expiry, at(10, 0)), "two idle hours end it");
        // Busy all day: each use pushes the idle end, but never past 12 hours.
        let mut e = expiry;
        for hour in 9..20 {
            e = policy.touch(e, at(hour, 30));
            assert!(policy.alive(e, at(hour, 31)));
        }
        assert_eq!(e.idle_expires_at, at(20, 0), "capped at the absolute end");
        assert!(!policy.alive(e, at(20, 0)));
    }

    #[test]
    fn throttling_counts_account_and_address_separately() {
        let p = ThrottlePolicy::default();
        assert_eq!(p.check(0, 0), None);
        assert_eq!(p.check(4, 19), None);
        assert_eq!(p.check(5, 0), Some(Throttled::Account));
        assert_eq!(p.check(0, 20), Some(Throttled::Address));
        assert_eq!(p.since(at(12, 0)), at(11, 45));
        assert_ne!(account_key("A@x.org"), address_key("A@x.org"));
        assert_eq!(account_key(" A@X.org"), account_key("a@x.org"));
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            normalise_email(" Alice@Example.ORG ").unwrap(),
            "alice@example.org"
        );
        assert!(normalise_email("alice").is_err());
        assert!(normalise_email("a b@x.org").is_err());
    }
}
