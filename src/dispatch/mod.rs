//! Dispatch: delivering notices over e-mail, SMS, push, letter and phone.
//!
//! This part is the sending side the worker calls, with no database: channel adapters
//! ([`channels`]), the retry and fallback policy ([`policy`]), per-provider rate
//! limits ([`rate`]), delivery-receipt verification ([`receipts`]) and their settings
//! ([`settings`]). See `docs/channels.md`.

pub mod channels;
pub mod policy;
pub mod rate;
pub mod receipts;
pub mod settings;
pub mod worker;
