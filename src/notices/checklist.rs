//! The content checklist: which required items a rendered notice carries.
//!
//! An item is present when the incident's notice content has it (non-empty) and
//! the template actually shows it. The second part is found by rendering the
//! template once with a marker in place of every item and looking for the markers.
//! SMS and push carry the summary and a link to the person's notice page, so they
//! count what the page shows: SMS when its text has the link, push always (the
//! link travels in the push payload and opens when the person taps).

use std::collections::BTreeSet;

use serde::Serialize;

use super::{Audience, Channel, Contact, NoticeContext, NoticeText, Templates};

/// A required piece of content (the domain's notice item).
pub use crate::domain::NoticeItem as Item;

fn marker(item: Item) -> String {
    format!("⟦{}⟧", item.as_str())
}

const LINK_MARKER: &str = "⟦notice_url⟧";

/// Whether one required item is in a notice, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemCheck {
    /// The item.
    pub item: Item,
    /// Present in both content and template.
    pub present: bool,
    /// Why not, e.g. `empty in the ja notice content`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Checks `required` items for one locale, channel and audience.
pub fn check(
    templates: &Templates,
    locale: &str,
    channel: Channel,
    audience: Audience,
    content: &NoticeText,
    has_categories: bool,
    required: &[Item],
) -> anyhow::Result<Vec<ItemCheck>> {
    let shown = shown_items(templates, locale, channel, audience)?;
    Ok(required
        .iter()
        .map(|&item| {
            let reason = if !in_content(item, content, has_categories) {
                Some(format!("empty in the {locale} notice content"))
            } else if !shown.contains(&item) {
                Some(format!(
                    "not shown by the {} template ({locale})",
                    channel.as_str()
                ))
            } else {
                None
            };
            ItemCheck {
                item,
                present: reason.is_none(),
                reason,
            }
        })
        .collect())
}

/// The required items the content of one locale leaves empty (whatever the templates).
pub fn missing_in_content(content: &NoticeText, required: &[Item]) -> Vec<Item> {
    required
        .iter()
        .copied()
        .filter(|&item| item != Item::DataCategories && !in_content(item, content, true))
        .collect()
}

fn in_content(item: Item, c: &NoticeText, has_categories: bool) -> bool {
    let filled = |s: &str| !s.trim().is_empty();
    match item {
        Item::Summary => filled(&c.summary),
        Item::LikelyImpact => filled(&c.likely_impact),
        Item::MeasuresTaken => filled(&c.measures_taken),
        Item::Advice => filled(&c.advice),
        Item::Remedies => filled(&c.remedies),
        Item::Contact => c.contact.is_given(),
        Item::DataCategories => has_categories,
        Item::DpoContact => c.dpo_contact.as_deref().is_some_and(filled),
    }
}

/// The items a template shows (for SMS and push: the page's, when it links to it).
fn shown_items(
    templates: &Templates,
    locale: &str,
    channel: Channel,
    audience: Audience,
) -> anyhow::Result<BTreeSet<Item>> {
    let ctx = marker_context();
    let output = templates.render(locale, channel, audience, &ctx)?.joined();
    let mut shown = markers_in(&output);
    let links_to_page = match channel {
        Channel::Sms => output.contains(LINK_MARKER),
        Channel::Push => true,
        Channel::Email | Channel::Letter | Channel::Phone => false,
    };
    if links_to_page {
        shown.extend(markers_in(&templates.render_page(locale, audience, &ctx)?));
    }
    Ok(shown)
}

fn markers_in(output: &str) -> BTreeSet<Item> {
    Item::ALL
        .iter()
        .copied()
        .filter(|i| output.contains(&marker(*i)))
        .collect()
}

fn marker_context() -> NoticeContext {
    let contact = marker(Item::Contact);
    NoticeContext {
        organisation: "Organisation".into(),
        audience: Audience::Subject,
        recipient_name: Some("Recipient".into()),
        subject_name: Some("Subject".into()),
        summary: marker(Item::Summary),
        likely_impact: marker(Item::LikelyImpact),
        measures_taken: marker(Item::MeasuresTaken),
        advice: marker(Item::Advice),
        remedies: marker(Item::Remedies),
        contact: Contact {
            name: Some("Contact".into()),
            email: Some(contact.clone()),
            phone: Some(contact.clone()),
            url: Some(contact),
        },
        dpo_contact: Some(marker(Item::DpoContact)),
        data_categories: vec![marker(Item::DataCategories)],
        notice_url: Some(LINK_MARKER.into()),
        postal_address: Some("Address".into()),
        authoritative: None,
        reference: "REF".into(),
    }
}
