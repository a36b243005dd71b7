//! When a regime lets a public notice stand in for individual notice (substitute
//! notice), and what it then requires: the `[substitute]` section of every regime
//! file, and the tenant's own promise of a public announcement.

use serde::{Deserialize, Serialize};

use super::model::{Comparison, Threshold};
use crate::domain::{FieldError, Jurisdiction, RequirementKind};

/// A regime's substitute-notice rule, as its data file states it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Substitute {
    /// Where the law says so (or the tenant's promise).
    pub citation: String,
    /// Set when the regime has no substitute notice: why.
    pub not_allowed: Option<String>,
    /// Allowed when any of these holds.
    #[serde(default)]
    pub when: Vec<SubstituteCondition>,
    /// What the public notice must then include.
    #[serde(default)]
    pub requires: Vec<Requirement>,
}

/// One condition under which substitute notice is allowed.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SubstituteCondition {
    /// The estimated cost of individual notice is above `amount` (in `currency`).
    CostAbove {
        /// The amount, e.g. 250000.
        amount: f64,
        /// ISO 4217 code, e.g. `USD`.
        currency: String,
    },
    /// The people in the regime's territory pass this threshold.
    People {
        /// `gt` (more than) or `ge` (at least).
        op: Comparison,
        /// The number compared with.
        value: u64,
    },
    /// Some people cannot be told one by one: no usable contact on record, or every
    /// channel failed. Covers those people only; `at_least` of them are needed
    /// (HIPAA-style "10 or more"), one by default.
    NoContact {
        /// Fewest such people for the condition to hold.
        at_least: Option<u64>,
    },
    /// A judgment the organisation makes (e.g. GDPR "disproportionate effort"): never
    /// computed, shown so the operator knows the law also allows it on that ground.
    Assessment {
        /// The ground, in the law's words.
        text: String,
    },
}

/// One thing the public notice must include or be accompanied by.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// What kind of thing.
    pub kind: RequirementKind,
    /// For how many days, where the law names a period.
    pub days: Option<u32>,
    /// The law's words for it.
    pub detail: String,
}

/// A regime's substitute rule with what the bulletin evaluator needs to count people.
#[derive(Debug, Clone, Copy)]
pub struct SubstitutePolicy<'a> {
    /// Regime id.
    pub regime: &'a str,
    /// Where it applies; `None` for a tenant promise (everyone counts).
    pub territory: Option<&'a [Jurisdiction]>,
    /// How the territory reads in a sentence.
    pub territory_name: &'a str,
    /// The rule.
    pub substitute: &'a Substitute,
}

/// The tenant's own promise of a public announcement "when people cannot be told
/// one by one" (JC-Task, Cybozu, Renji), kept in the profile as `public_announcement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicAnnouncement {
    /// Short id; the regime is `commitment:<id>` (use the id of the tenant's notice
    /// commitment, if it has one, so both read as one promise).
    pub id: String,
    /// The promise in the policy's words.
    pub description: String,
    /// How long the announcement stays up, if the tenant promises a period.
    pub posting_days: Option<u32>,
    /// Whether the tenant also promises an inquiry desk.
    pub inquiry_desk: bool,
}

impl PublicAnnouncement {
    /// The promise as a substitute rule: allowed for the people who cannot be told
    /// one by one; requires the announcement (and the desk, when promised).
    pub fn substitute(&self) -> Substitute {
        let mut requires = vec![Requirement {
            kind: RequirementKind::WebsitePosting,
            days: self.posting_days,
            detail: format!("public announcement ({})", self.description),
        }];
        if self.inquiry_desk {
            requires.push(Requirement {
                kind: RequirementKind::InquiryDesk,
                days: self.posting_days,
                detail: "inquiry desk named in the announcement".into(),
            });
        }
        Substitute {
            citation: format!("tenant commitment: {}", self.description),
            not_allowed: None,
            when: vec![SubstituteCondition::NoContact { at_least: None }],
            requires,
        }
    }

    /// The regime id the promise evaluates as.
    pub fn regime(&self) -> String {
        format!("commitment:{}", self.id)
    }

    /// Reads `{id, description, posting_days?, inquiry_desk?}`; errors name
    /// `public_announcement.<field>`.
    pub fn parse(value: &serde_json::Value) -> Result<Self, Vec<FieldError>> {
        let Some(map) = value.as_object() else {
            return Err(vec![FieldError::new(
                "public_announcement",
                "expected an object {id, description, posting_days?, inquiry_desk?}",
            )]);
        };
        let fields = ["id", "description", "posting_days", "inquiry_desk"];
        let mut r = crate::domain::Reader::new(map, &fields);
        let id = r.text("id", 63).or_keep(None);
        let description = r.text("description", 500).or_keep(None);
        let posting_days = r.count("posting_days").or_keep(None);
        let inquiry_desk = r.boolean("inquiry_desk").or_keep(None).unwrap_or(false);
        if id.is_none() && !r.has_error_for("id") {
            r.reject("id", "is required");
        }
        if description.is_none() && !r.has_error_for("description") {
            r.reject("description", "is required");
        }
        let posting_days = match posting_days.map(u32::try_from) {
            Some(Ok(days)) if (1..=3650).contains(&days) => Some(days),
            Some(_) => {
                r.reject("posting_days", "must be between 1 and 3650");
                None
            }
            None => None,
        };
        let parsed = r.finish(Self {
            id: id.unwrap_or_default(),
            description: description.unwrap_or_default(),
            posting_days,
            inquiry_desk,
        });
        parsed.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| FieldError::new(format!("public_announcement.{}", e.field), e.reason))
                .collect()
        })
    }

    /// The stored (and API) form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "description": self.description,
            "posting_days": self.posting_days,
            "inquiry_desk": self.inquiry_desk,
        })
    }
}

impl Substitute {
    /// Checks what serde cannot: a citation; either a reason it is not allowed or
    /// conditions and requirements; positive amounts and periods; texts given.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.citation.trim().is_empty() {
            return Err("substitute.citation is empty".into());
        }
        match &self.not_allowed {
            Some(reason) if reason.trim().is_empty() => {
                Err("substitute.not_allowed is empty".into())
            }
            Some(_) if !self.when.is_empty() || !self.requires.is_empty() => {
                Err("substitute.not_allowed goes without `when` and `requires`".into())
            }
            Some(_) => Ok(()),
            None if self.when.is_empty() || self.requires.is_empty() => {
                Err("substitute needs `when` and `requires`, or `not_allowed`".into())
            }
            None => {
                self.when
                    .iter()
                    .try_for_each(SubstituteCondition::validate)?;
                self.requires.iter().try_for_each(Requirement::validate)
            }
        }
    }
}

impl SubstituteCondition {
    /// The people threshold of a `people` condition.
    pub fn threshold(&self) -> Option<Threshold> {
        match self {
            SubstituteCondition::People { op, value } => Some(Threshold {
                op: *op,
                value: *value,
            }),
            _ => None,
        }
    }

    fn validate(&self) -> Result<(), String> {
        match self {
            SubstituteCondition::CostAbove { amount, currency } => {
                let code = currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase());
                if !code {
                    return Err(format!(
                        "substitute cost currency '{currency}' is not ISO 4217"
                    ));
                }
                if !(amount.is_finite() && *amount > 0.0) {
                    return Err("substitute cost amount must be positive".into());
                }
                Ok(())
            }
            SubstituteCondition::People { value: 0, .. } => {
                Err("substitute people threshold must be positive".into())
            }
            SubstituteCondition::NoContact { at_least: Some(0) } => {
                Err("substitute no_contact at_least must be positive".into())
            }
            SubstituteCondition::Assessment { text } if text.trim().is_empty() => {
                Err("substitute assessment text is empty".into())
            }
            _ => Ok(()),
        }
    }
}

impl Requirement {
    fn validate(&self) -> Result<(), String> {
        if self.detail.trim().is_empty() {
            return Err(format!(
                "substitute requirement {} has no detail",
                self.kind
            ));
        }
        if self.days == Some(0) {
            return Err(format!("substitute requirement {} has 0 days", self.kind));
        }
        Ok(())
    }
}
