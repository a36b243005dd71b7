//! Dispatch: delivering notices over e-mail, SMS, push, letter and phone.
//!
//! The worker ([`worker`]) and what it sends with: channel adapters ([`channels`]),
//! the retry and relay policy ([`policy`]), relay circuit breakers ([`relay`]),
//! per-provider rate limits ([`rate`]), delivery-receipt verification
//! ([`receipts`]), their settings ([`settings`]), dispatch progress
//! ([`progress`]), the runtime it runs on ([`runtime`]), and the team's reminders
//! and digest ([`reminders`], run in the worker's upkeep). Every state change is a
//! `store::delivery`, `store::outbox` or `store::reminders` function. See
//! `docs/channels.md` and `docs/runbooks.md`.

pub mod channels;
pub mod policy;
pub mod progress;
pub mod rate;
pub mod receipts;
pub mod relay;
pub mod reminders;
pub mod runtime;
pub mod settings;
pub mod worker;
