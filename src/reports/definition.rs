//! Report definitions as data: one `data/<form>.toml` per regulator form, naming the
//! regulator's own items in its order, each with the statute's item number, its label in
//! the regulator's language and in English, where its value comes from and in which
//! phases it is required. A form may serve several regimes (the generic form does); it is
//! expanded into one [`Definition`] per regime.

use chrono_tz::Tz;
use serde::Deserialize;

use crate::domain::Jurisdiction;

/// The form files, in output order.
const FILES: &[(&str, &str)] = &[
    ("gdpr.toml", include_str!("data/gdpr.toml")),
    ("uk-gdpr.toml", include_str!("data/uk-gdpr.toml")),
    ("appi.toml", include_str!("data/appi.toml")),
    ("pipl.toml", include_str!("data/pipl.toml")),
    ("cn-cac.toml", include_str!("data/cn-cac.toml")),
    ("ru-152fz.toml", include_str!("data/ru-152fz.toml")),
    ("us-ca.toml", include_str!("data/us-ca.toml")),
    ("generic.toml", include_str!("data/generic.toml")),
];

/// Languages a form may be written in; each has `templates/reports/labels/<lang>.toml`.
pub(crate) const LANGUAGES: &[&str] = &["en", "ja", "zh", "ru"];

vocabulary! {
    /// Which report of a regime: the phase of the regulator obligation it answers
    /// (as the regime files name them), or a supplement to an earlier report.
    ReportPhase {
        Initial => "initial",
        Preliminary => "preliminary",
        Final => "final",
        Followup => "followup",
        Notice => "notice",
        Supplement => "supplement",
    }
}

vocabulary! {
    /// Where an item's value came from, as shown beside it.
    ItemSource {
        Incident => "incident",
        Tenant => "tenant",
        Affected => "affected",
        Obligations => "obligations",
        Proof => "proof",
        Bulletin => "bulletin",
        Notice => "notice",
        Team => "team",
    }
}

vocabulary! {
    /// The exact value an item reads (`from` in a form file).
    ValueSource {
        IncidentReference => "incident.reference",
        IncidentTitle => "incident.title",
        IncidentDescription => "incident.description",
        IncidentOccurredAt => "incident.occurred_at",
        IncidentDiscoveredAt => "incident.discovered_at",
        IncidentAwareAt => "incident.aware_at",
        IncidentAssessedAt => "incident.assessed_at",
        IncidentContainedAt => "incident.contained_at",
        IncidentCause => "incident.cause",
        IncidentBreachTypes => "incident.breach_types",
        IncidentDataCategories => "incident.data_categories",
        IncidentSystems => "incident.systems",
        IncidentEncrypted => "incident.encrypted",
        IncidentRisk => "incident.risk",
        TenantName => "tenant.name",
        AffectedTotal => "affected.total",
        AffectedInTerritory => "affected.in_territory",
        AffectedByJurisdiction => "affected.by_jurisdiction",
        AffectedJurisdictionUnknown => "affected.jurisdiction_unknown",
        AffectedMinors => "affected.minors",
        AffectedByCategory => "affected.by_category",
        ObligationBasis => "obligation.basis",
        ObligationDue => "obligation.due",
        ProofSummary => "proof.summary",
        ProofByChannel => "proof.by_channel",
        ProofPeopleNotified => "proof.people_notified",
        ProofUnreachable => "proof.unreachable",
        ProofCoveredByBulletin => "proof.covered_by_bulletin",
        ProofFirstSentAt => "proof.first_sent_at",
        ProofLastSentAt => "proof.last_sent_at",
        ProofApprovals => "proof.approvals",
        BulletinSummary => "bulletin.summary",
        NoticeSample => "notice.sample",
        Team => "team",
    }
}

impl ValueSource {
    /// The source shown beside a value read from here.
    pub fn source(self) -> ItemSource {
        let word = self.as_str();
        match word.split_once('.').map_or(word, |(head, _)| head) {
            "incident" => ItemSource::Incident,
            "tenant" => ItemSource::Tenant,
            "affected" => ItemSource::Affected,
            "obligation" => ItemSource::Obligations,
            "proof" => ItemSource::Proof,
            "bulletin" => ItemSource::Bulletin,
            "notice" => ItemSource::Notice,
            _ => ItemSource::Team,
        }
    }
}

/// One regulator's report form for one regime: what the builder fills.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// Regime id, as in `src/regimes/data/<id>.toml`.
    pub regime: String,
    /// The form file it comes from (`appi`, `generic`, …).
    pub form: String,
    /// Language of `label`s and titles (`ja`, `zh`, `ru`, `en`).
    pub language: String,
    /// The regulator in the form's language.
    pub regulator: String,
    /// The regulator in English.
    pub regulator_en: String,
    /// The regime's civil time zone: instants are shown in it.
    pub time_zone: Tz,
    /// Where the regime's people live, for `affected.in_territory`.
    pub territory: Vec<Jurisdiction>,
    /// How the territory reads in a sentence (`the EU/EEA`, `California`).
    pub territory_name: String,
    /// The reports this regime has, in order.
    pub phases: Vec<PhaseDefinition>,
    /// The items, in the regulator's order.
    pub items: Vec<ItemDefinition>,
}

/// One report of a regime: which obligation it answers and whether items may follow later.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseDefinition {
    /// The phase.
    pub phase: ReportPhase,
    /// The obligation it answers, `recipient.phase` (`regulator.preliminary`).
    pub obligation: String,
    /// Legal basis of this report.
    pub citation: String,
    /// Title in the regulator's language.
    pub title: String,
    /// Title in English.
    pub title_en: String,
    /// Whether the law lets items still unknown follow later (GDPR 33(4), APPI 速報):
    /// then an item answered "not yet known" with a reason and follow-up date is not missing.
    pub phased: bool,
}

/// One item of a form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemDefinition {
    /// Stable snake_case key, unique in the form (the team's answers use it).
    pub key: String,
    /// The statute's own numbering, e.g. `33(3)(a)` or `8(1)(iii)`.
    pub number: String,
    /// Label in the regulator's language.
    pub label: String,
    /// Label in English.
    pub label_en: String,
    /// Where the value comes from; a team answer fills it when that is empty.
    pub from: ValueSource,
    /// For `from = "team"`: the value used while the team has not answered.
    #[serde(default)]
    pub fallback: Option<ValueSource>,
    /// Phases in which the item must be filled.
    #[serde(default)]
    pub required: Vec<ReportPhase>,
    /// Required only when the report is made after the obligation's deadline (GDPR 33(1)).
    #[serde(default)]
    pub when_late: bool,
}

impl Definition {
    /// The phase definition, if this regime has that report.
    pub fn phase(&self, phase: ReportPhase) -> Option<&PhaseDefinition> {
        self.phases.iter().find(|p| p.phase == phase)
    }
}

impl ItemDefinition {
    /// Whether the item must be filled in `phase` (lateness aside).
    pub fn required_in(&self, phase: ReportPhase) -> bool {
        self.required.contains(&phase)
    }
}

/// A form file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormFile {
    language: String,
    regimes: Vec<RegimeEntry>,
    items: Vec<ItemDefinition>,
}

/// Who files a form: one regime with its regulator and reports.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegimeEntry {
    id: String,
    regulator: String,
    regulator_en: String,
    time_zone: String,
    territory: Vec<Jurisdiction>,
    territory_name: String,
    phases: Vec<PhaseDefinition>,
}

/// Parses and validates every embedded form, expanded to one definition per regime.
pub(crate) fn load() -> Result<Vec<Definition>, String> {
    let mut out: Vec<Definition> = Vec::new();
    for (name, text) in FILES {
        let form = name.trim_end_matches(".toml");
        for definition in parse_form(form, text).map_err(|e| format!("{name}: {e}"))? {
            if out.iter().any(|d| d.regime == definition.regime) {
                return Err(format!(
                    "{name}: regime '{}' defined twice",
                    definition.regime
                ));
            }
            out.push(definition);
        }
    }
    Ok(out)
}

/// Parses one form file and checks what serde cannot.
pub(crate) fn parse_form(form: &str, text: &str) -> Result<Vec<Definition>, String> {
    let file: FormFile = toml::from_str(text).map_err(|e| e.to_string())?;
    if !LANGUAGES.contains(&file.language.as_str()) {
        return Err(format!(
            "language '{}' has no labels; use one of {}",
            file.language,
            LANGUAGES.join("|")
        ));
    }
    check_items(&file.items)?;
    let definitions = file
        .regimes
        .into_iter()
        .map(|entry| {
            let at = format!("regime '{}'", entry.id);
            expand(form, &file.language, &file.items, entry).map_err(|e| format!("{at}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_required_phases(&definitions)?;
    Ok(definitions)
}

/// Every phase an item is required in belongs to at least one regime of the form (the
/// generic form lists the phases of all its regimes; each regime uses its own).
fn check_required_phases(definitions: &[Definition]) -> Result<(), String> {
    let Some(first) = definitions.first() else {
        return Err("a form needs at least one regime".into());
    };
    for item in &first.items {
        let unknown = item
            .required
            .iter()
            .find(|p| !definitions.iter().any(|d| d.phase(**p).is_some()));
        if let Some(p) = unknown {
            return Err(format!(
                "item {}: required in phase '{p}', which no regime of the form has",
                item.key
            ));
        }
    }
    Ok(())
}

fn expand(
    form: &str,
    language: &str,
    items: &[ItemDefinition],
    entry: RegimeEntry,
) -> Result<Definition, String> {
    let time_zone: Tz = entry
        .time_zone
        .parse()
        .map_err(|_| format!("unknown time zone '{}'", entry.time_zone))?;
    let definition = Definition {
        regime: entry.id,
        form: form.to_owned(),
        language: language.to_owned(),
        regulator: entry.regulator,
        regulator_en: entry.regulator_en,
        time_zone,
        territory: entry.territory,
        territory_name: entry.territory_name,
        phases: entry.phases,
        items: items.to_vec(),
    };
    check_phases(&definition)?;
    Ok(definition)
}

fn check_items(items: &[ItemDefinition]) -> Result<(), String> {
    if items.is_empty() {
        return Err("a form needs items".into());
    }
    for (i, item) in items.iter().enumerate() {
        let at = format!("items[{i}] ({})", item.key);
        if !is_snake_case(&item.key) {
            return Err(format!("{at}: key must be snake_case"));
        }
        if items[..i].iter().any(|earlier| earlier.key == item.key) {
            return Err(format!("{at}: key used twice"));
        }
        let texts = [&item.number, &item.label, &item.label_en];
        if texts.iter().any(|t| t.trim().is_empty()) {
            return Err(format!(
                "{at}: number, label and label_en must not be empty"
            ));
        }
        match (item.from, item.fallback) {
            (ValueSource::Team, Some(ValueSource::Team)) => {
                return Err(format!("{at}: a fallback cannot be the team"));
            }
            (from, Some(_)) if from != ValueSource::Team => {
                return Err(format!("{at}: only team items take a fallback"));
            }
            _ => {}
        }
        if item.when_late && item.required.is_empty() {
            return Err(format!("{at}: when_late needs the phases in `required`"));
        }
    }
    Ok(())
}

fn check_phases(d: &Definition) -> Result<(), String> {
    if d.phases.is_empty() {
        return Err("a regime needs at least one report phase".into());
    }
    for (i, phase) in d.phases.iter().enumerate() {
        let at = format!("phases[{i}] ({})", phase.phase);
        if d.phases[..i].iter().any(|p| p.phase == phase.phase) {
            return Err(format!("{at}: phase listed twice"));
        }
        if phase.phase == ReportPhase::Final && phase.phased {
            return Err(format!(
                "{at}: a final report is never phased (nothing may stay unknown)"
            ));
        }
        if !phase
            .obligation
            .split_once('.')
            .is_some_and(|(recipient, duty)| is_snake_case(recipient) && is_snake_case(duty))
        {
            return Err(format!("{at}: obligation must read recipient.phase"));
        }
        if [&phase.citation, &phase.title, &phase.title_en]
            .iter()
            .any(|t| t.trim().is_empty())
        {
            return Err(format!("{at}: citation and titles must not be empty"));
        }
    }
    let reads_territory = d.items.iter().any(|i| {
        i.from == ValueSource::AffectedInTerritory
            || i.fallback == Some(ValueSource::AffectedInTerritory)
    });
    if reads_territory && d.territory.is_empty() {
        return Err("affected.in_territory needs a territory".into());
    }
    Ok(())
}

fn is_snake_case(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
