//! Dispatch: delivering notices over e-mail, SMS, push, letter and phone.
//!
//! The worker ([`worker`]) and what it sends with: channel adapters ([`channels`]),
//! the retry and relay policy ([`policy`]), relay circuit breakers ([`relay`]),
//! per-provider rate limits ([`rate`]), delivery-receipt verification
//! ([`receipts`]), their settings ([`settings`]), and dispatch progress
//! ([`progress`]). Every state change is a `store::delivery` or `store::outbox`
//! function. See `docs/channels.md`.

pub mod channels;
pub mod policy;
pub mod progress;
pub mod rate;
pub mod receipts;
pub mod relay;
pub mod settings;
pub mod worker;
