//! Plain domain types shared by every layer: no I/O, no database, no HTTP.

/// Declares a closed vocabulary: the enum, its wire words, parsing and serde.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire word.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            /// The accepted words joined for error messages.
            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join("|")
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!("unknown value '{other}', expected one of {}", Self::expected())),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let word = String::deserialize(d)?;
                word.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

mod bulletin;
mod channel;
mod delivery;
mod facts;
mod incident;
mod input;
mod jurisdiction;
mod notice_item;
mod obligation;
mod report;
mod role;
mod scope;
mod send_window;
mod spreadsheet;
mod subject;
mod task;
mod time;
mod validation;

pub use bulletin::{BulletinStatus, InquiryContact, RequirementKind, VersionKind};
pub use channel::Channel;
pub use delivery::{
    AttemptResult, Audience, DispatchStatus, MessageRef, OutboxStatus, Receipt, ReceiptStatus,
    RecipientState, WindowHold,
};
pub use facts::{FactsChange, INCIDENT_FIELDS, IncidentFacts, apply_incident_input};
pub use incident::{BreachType, Cause, DataCategory, IncidentStatus, Risk};
pub use input::{Field, Reader, read_localized};
pub use jurisdiction::Jurisdiction;
pub use notice_item::NoticeItem;
pub use obligation::{ObligationStatus, lateness};
pub use report::SubmissionChannel;
pub use role::Role;
pub use scope::{
    AffectedGroup, AffectedSummary, ContactCounts, Scope, ScopeChange, adult_born_on_or_before,
    channel_bits, parse_scope,
};
pub use send_window::SendWindow;
pub use spreadsheet::spreadsheet_safe;
pub use subject::{
    Subject, SubjectField, SubjectParser, categories_of_mask, category_mask, decode_systems,
    encode_systems, external_id, is_email, system_name,
};
pub use task::{
    Clock, DueBasis, ReminderAbout, TaskKind, TaskState, TeamChannel, TeamMessageStatus,
};
pub use time::{format_instant, now_micros, parse_instant};
pub use validation::{FieldError, is_locale};
