//! Reading one [`ValueSource`] from a [`ReportInput`]. An empty value (no text, no
//! list entries, no affected set yet, nothing sent yet) is `None`; a count of zero is a value.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use super::definition::{Definition, ValueSource};
use super::document::ItemValue;
use super::input::{ObligationClock, OutcomeCounts, ReportInput};

/// What a value is read against: the input, the regime's form and the report's obligation.
pub(crate) struct Reading<'a> {
    pub input: &'a ReportInput,
    pub definition: &'a Definition,
    pub obligation: Option<&'a ObligationClock>,
}

impl Reading<'_> {
    /// The value `source` names, or `None` when it is empty. `Team` reads nothing here:
    /// team answers are the builder's business.
    pub fn read(&self, source: ValueSource) -> Option<ItemValue> {
        use ValueSource as V;
        let facts = &self.input.incident;
        match source {
            V::IncidentReference => text(&self.input.incident_reference),
            V::IncidentTitle => text(&facts.title),
            V::IncidentDescription => facts.description.as_deref().and_then(text),
            V::IncidentOccurredAt => facts.occurred_at.map(|t| self.naive(t)),
            V::IncidentDiscoveredAt => Some(self.naive(facts.discovered_at)),
            V::IncidentAwareAt => Some(self.naive(facts.aware_at)),
            V::IncidentAssessedAt => facts.assessed_at.map(|t| self.naive(t)),
            V::IncidentContainedAt => facts.contained_at.map(|t| self.naive(t)),
            V::IncidentCause => facts.cause.map(|c| word(c.as_str())),
            V::IncidentBreachTypes => words(facts.breach_types.iter().map(|b| b.as_str())),
            V::IncidentDataCategories => words(facts.data_categories.iter().map(|c| c.as_str())),
            V::IncidentSystems => words(facts.systems.iter().map(String::as_str)),
            V::IncidentEncrypted => Some(word(if facts.encrypted { "yes" } else { "no" })),
            V::IncidentRisk => facts.risk.map(|r| word(r.as_str())),
            V::TenantName => text(&self.input.tenant_name),
            V::AffectedTotal
            | V::AffectedInTerritory
            | V::AffectedByJurisdiction
            | V::AffectedJurisdictionUnknown
            | V::AffectedMinors
            | V::AffectedByCategory => self.affected(source),
            V::ObligationBasis => self.obligation.and_then(|o| text(&o.basis)),
            V::ObligationDue => self.obligation.and_then(|o| self.due(o)),
            V::BulletinSummary => self.bulletin(),
            V::NoticeSample => self.sample_notice(),
            V::Team => None,
            proof => self.proof(proof),
        }
    }

    fn affected(&self, source: ValueSource) -> Option<ItemValue> {
        let counts = self.input.affected.as_ref()?;
        let s = &counts.summary;
        Some(match source {
            ValueSource::AffectedTotal => ItemValue::Count(s.total),
            ValueSource::AffectedInTerritory => ItemValue::Count(
                self.definition
                    .territory
                    .iter()
                    .filter_map(|j| s.by_jurisdiction.get(j.as_str()))
                    .sum(),
            ),
            ValueSource::AffectedByJurisdiction => {
                let by_code = s.by_jurisdiction.iter().map(|(j, n)| (j.as_str(), *n));
                return count_record(by_code);
            }
            ValueSource::AffectedJurisdictionUnknown => ItemValue::Count(s.jurisdiction_unknown),
            ValueSource::AffectedMinors => ItemValue::Count(s.minors),
            _ => {
                let by_word = counts.by_category.iter().map(|(c, n)| (c.as_str(), *n));
                return count_record(by_word);
            }
        })
    }

    fn proof(&self, source: ValueSource) -> Option<ItemValue> {
        let proof = &self.input.proof;
        match source {
            ValueSource::ProofSummary => self.proof_summary(),
            ValueSource::ProofByChannel => by_channel(proof),
            ValueSource::ProofPeopleNotified => Some(ItemValue::Count(proof.people_notified)),
            ValueSource::ProofUnreachable => Some(ItemValue::Count(proof.unreachable)),
            ValueSource::ProofCoveredByBulletin => {
                Some(ItemValue::Count(proof.covered_by_bulletin))
            }
            ValueSource::ProofFirstSentAt => proof.first_sent_at.map(|t| self.instant(t)),
            ValueSource::ProofLastSentAt => proof.last_sent_at.map(|t| self.instant(t)),
            _ => {
                let approvals: Vec<String> = proof
                    .approvals
                    .iter()
                    .map(|a| format!("{} {} sha256:{}", a.who, self.stamp(a.when), a.content_hash))
                    .collect();
                (!approvals.is_empty()).then_some(ItemValue::List(approvals))
            }
        }
    }

    /// Everything the ledger says about notices to people, or `None` before the first one.
    fn proof_summary(&self) -> Option<ItemValue> {
        let proof = &self.input.proof;
        let first = proof.first_sent_at?;
        let mut parts = BTreeMap::new();
        parts.insert(
            "people_notified".into(),
            ItemValue::Count(proof.people_notified),
        );
        parts.insert("unreachable".into(), ItemValue::Count(proof.unreachable));
        parts.insert(
            "covered_by_bulletin".into(),
            ItemValue::Count(proof.covered_by_bulletin),
        );
        parts.insert("first_sent_at".into(), self.instant(first));
        if let Some(last) = proof.last_sent_at {
            parts.insert("last_sent_at".into(), self.instant(last));
        }
        if let Some(channels) = by_channel(proof) {
            parts.insert("by_channel".into(), channels);
        }
        Some(ItemValue::Record(parts))
    }

    fn bulletin(&self) -> Option<ItemValue> {
        let b = self.input.proof.bulletin.as_ref()?;
        let mut parts = BTreeMap::new();
        parts.insert("url".into(), ItemValue::Text(b.url.clone()));
        parts.insert("version".into(), ItemValue::Count(b.version));
        parts.insert("sha256".into(), ItemValue::Text(b.sha256.clone()));
        parts.insert("published_at".into(), self.instant(b.published_at));
        Some(ItemValue::Record(parts))
    }

    fn sample_notice(&self) -> Option<ItemValue> {
        let n = self.input.sample_notice.as_ref()?;
        let text = match &n.subject {
            Some(subject) => format!("{subject}\n\n{}", n.text),
            None => n.text.clone(),
        };
        self::text(&text)
    }

    fn due(&self, o: &ObligationClock) -> Option<ItemValue> {
        let mut parts = BTreeMap::new();
        let times = [
            ("due_at", o.due_at),
            ("target_at", o.target_at),
            ("limit_at", o.limit_at),
            ("met_at", o.met_at),
        ];
        for (name, at) in times {
            if let Some(at) = at {
                parts.insert(name.to_owned(), self.instant(at));
            }
        }
        (!parts.is_empty()).then_some(ItemValue::Record(parts))
    }

    fn naive(&self, at: NaiveDateTime) -> ItemValue {
        self.instant(at.and_utc())
    }

    fn instant(&self, at: DateTime<Utc>) -> ItemValue {
        ItemValue::Text(self.stamp(at))
    }

    /// RFC 3339 in the regime's time zone, e.g. `2026-11-02T18:00:00+09:00`.
    pub fn stamp(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.definition.time_zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    }
}

fn text(s: &str) -> Option<ItemValue> {
    let trimmed = s.trim();
    (!trimmed.is_empty()).then(|| ItemValue::Text(trimmed.to_owned()))
}

fn word(w: &str) -> ItemValue {
    ItemValue::Text(w.to_owned())
}

fn words<'a>(items: impl Iterator<Item = &'a str>) -> Option<ItemValue> {
    let list: Vec<String> = items.map(str::to_owned).collect();
    (!list.is_empty()).then_some(ItemValue::List(list))
}

fn count_record<'a>(counts: impl IntoIterator<Item = (&'a str, i64)>) -> Option<ItemValue> {
    let record: BTreeMap<String, ItemValue> = counts
        .into_iter()
        .map(|(k, n)| (k.to_owned(), ItemValue::Count(n)))
        .collect();
    (!record.is_empty()).then_some(ItemValue::Record(record))
}

fn by_channel(proof: &super::input::Proof) -> Option<ItemValue> {
    let record: BTreeMap<String, ItemValue> = proof
        .by_channel
        .iter()
        .map(|(channel, counts)| (channel.as_str().to_owned(), outcomes(counts)))
        .collect();
    (!record.is_empty()).then_some(ItemValue::Record(record))
}

/// The outcomes with a non-zero count.
fn outcomes(c: &OutcomeCounts) -> ItemValue {
    let all = [
        ("queued", c.queued),
        ("sending", c.sending),
        ("delivered", c.delivered),
        ("sent", c.sent),
        ("handed_off", c.handed_off),
        ("failed", c.failed),
        ("bounced", c.bounced),
    ];
    ItemValue::Record(
        all.into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|(k, n)| (k.to_owned(), ItemValue::Count(n)))
            .collect(),
    )
}
