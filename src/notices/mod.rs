//! Notices: what one person is told, on one channel, in one language.
//!
//! Templates are handlebars files embedded from `templates/notices/` (one registry
//! per locale: HTML with escaping, text without), compiled once. The incident's
//! notice content supplies the four items every notice carries (what happened and
//! the likely impact, what was done, what the person can do, remedies and contact).

pub mod checklist;
pub mod content;
pub mod locale;
#[cfg(test)]
mod locale_tests;
pub mod plan;
pub mod render;
pub mod settings;
pub mod sms;
mod templates;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use crate::domain::{Audience, Channel};
pub use checklist::{Item, ItemCheck};
pub use templates::{Rendered, Templates};

/// How to reach the organisation about the incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Team or person.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Web page.
    pub url: Option<String>,
}

impl Contact {
    /// Whether any way of contact is given.
    pub fn is_given(&self) -> bool {
        [&self.email, &self.phone, &self.url]
            .iter()
            .any(|v| v.as_deref().is_some_and(|s| !s.trim().is_empty()))
    }
}

/// The facts of a notice in one language, written by the incident team.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeText {
    /// What happened.
    #[serde(default)]
    pub summary: String,
    /// The likely consequences for the person.
    #[serde(default)]
    pub likely_impact: String,
    /// What the organisation has done or will do.
    #[serde(default)]
    pub measures_taken: String,
    /// What the person can do to protect themselves.
    #[serde(default)]
    pub advice: String,
    /// Remedies offered (credit monitoring, compensation, support line).
    #[serde(default)]
    pub remedies: String,
    /// How to reach the organisation.
    #[serde(default)]
    pub contact: Contact,
    /// Data protection officer's name and contact, where the law asks for it.
    #[serde(default)]
    pub dpo_contact: Option<String>,
}

/// Everything a template may use. Field names are the template variables.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeContext {
    /// The organisation's name.
    pub organisation: String,
    /// `subject` or `guardian`.
    pub audience: Audience,
    /// The addressee's name (the guardian's for a minor).
    pub recipient_name: Option<String>,
    /// The person whose data was involved (the child, for a guardian notice).
    pub subject_name: Option<String>,
    /// What happened.
    pub summary: String,
    /// The likely consequences.
    pub likely_impact: String,
    /// What was done.
    pub measures_taken: String,
    /// What the person can do.
    pub advice: String,
    /// Remedies offered.
    pub remedies: String,
    /// How to reach the organisation.
    pub contact: Contact,
    /// Data protection officer.
    pub dpo_contact: Option<String>,
    /// The kinds of data involved, in the notice's language.
    pub data_categories: Vec<String>,
    /// Link to the person's notice page (SMS and push carry only this and the summary).
    pub notice_url: Option<String>,
    /// Postal address, for letters.
    pub postal_address: Option<String>,
    /// The authoritative version when this notice is a translation.
    pub authoritative: Option<Authoritative>,
    /// Incident reference shown to the person.
    pub reference: String,
}

/// Points a translated notice at the version that prevails (e.g. Japanese for Cafetalk).
#[derive(Debug, Clone, Serialize)]
pub struct Authoritative {
    /// Its locale.
    pub locale: String,
    /// The language's own name, e.g. 日本語.
    pub language_name: String,
    /// Where to read it.
    pub url: Option<String>,
}
