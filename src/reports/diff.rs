//! Differences between two versions of the same report (same regime and phase).

use serde::Serialize;

use super::ReportError;
use super::document::{ItemValue, ReportDocument, ReportItem};
use super::input::NotYetKnown;

/// What changed from one version to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportDiff {
    /// Items whose value or "not yet known" answer changed, in the newer version's order
    /// (items only in the older version last).
    pub changed: Vec<ItemChange>,
    /// Keys missing in the older version and no longer missing.
    pub resolved: Vec<String>,
    /// Keys missing in the newer version that were not missing before.
    pub newly_missing: Vec<String>,
}

/// One changed item: old → new.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemChange {
    /// Item key.
    pub key: String,
    /// The statute's numbering.
    pub number: String,
    /// Label in the regulator's language.
    pub label: String,
    /// Label in English.
    pub label_en: String,
    /// The older version's entry (`None` when the item did not exist then).
    pub old: Option<ItemState>,
    /// The newer version's entry (`None` when the item no longer exists).
    pub new: Option<ItemState>,
}

/// An item's content in one version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemState {
    /// The value.
    pub value: Option<ItemValue>,
    /// The "not yet known" answer, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_yet_known: Option<NotYetKnown>,
}

/// Compares `old` with `new`; both must be versions of the same regime's same report.
pub fn diff(old: &ReportDocument, new: &ReportDocument) -> Result<ReportDiff, ReportError> {
    if (old.regime.as_str(), old.phase) != (new.regime.as_str(), new.phase) {
        return Err(ReportError::DifferentReports {
            old: format!("{} {}", old.regime, old.phase),
            new: format!("{} {}", new.regime, new.phase),
        });
    }
    let mut changed: Vec<ItemChange> = new
        .items
        .iter()
        .filter_map(|item| {
            let before = old.item(&item.key).map(state);
            let after = Some(state(item));
            (before != after).then(|| change(item, before, after))
        })
        .collect();
    changed.extend(
        old.items
            .iter()
            .filter(|item| new.item(&item.key).is_none())
            .map(|item| change(item, Some(state(item)), None)),
    );
    let resolved = old
        .missing
        .iter()
        .filter(|k| !new.missing.contains(k))
        .cloned()
        .collect();
    let newly_missing = new
        .missing
        .iter()
        .filter(|k| !old.missing.contains(k))
        .cloned()
        .collect();
    Ok(ReportDiff {
        changed,
        resolved,
        newly_missing,
    })
}

fn state(item: &ReportItem) -> ItemState {
    ItemState {
        value: item.value.clone(),
        not_yet_known: item.not_yet_known.clone(),
    }
}

fn change(item: &ReportItem, old: Option<ItemState>, new: Option<ItemState>) -> ItemChange {
    ItemChange {
        key: item.key.clone(),
        number: item.number.clone(),
        label: item.label.clone(),
        label_en: item.label_en.clone(),
        old,
        new,
    }
}
