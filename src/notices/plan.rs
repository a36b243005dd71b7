//! Planning one person's notice: who is addressed (the person, or a minor's
//! guardian), in which locale, and the channels to try in order.

use serde::Serialize;

use super::{Audience, locale};
use crate::domain::Channel;

/// What the plan needs to know about one affected person.
#[derive(Debug, Clone, Default)]
pub struct PlanPerson {
    /// Name.
    pub name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone (E.164).
    pub phone: Option<String>,
    /// BCP 47 locale.
    pub locale: Option<String>,
    /// Younger than 18 when the organisation became aware.
    pub minor: bool,
    /// Guardian's name.
    pub guardian_name: Option<String>,
    /// Guardian's e-mail.
    pub guardian_email: Option<String>,
    /// Guardian's phone.
    pub guardian_phone: Option<String>,
    /// Push token of the person's device.
    pub push_token: Option<String>,
    /// Postal address.
    pub postal_address: Option<String>,
    /// The person's preferred channel.
    pub preferred_channel: Option<Channel>,
}

/// One channel to try and where to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Route {
    /// The channel.
    pub channel: Channel,
    /// E-mail address, phone number, push token or postal address.
    pub address: String,
}

/// One person's planned notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedNotice {
    /// Addressed to the person or to a guardian.
    pub audience: Audience,
    /// The addressee's name.
    pub recipient_name: Option<String>,
    /// The person whose data was involved.
    pub subject_name: Option<String>,
    /// The locale actually used.
    pub locale: String,
    /// Channels in the order to try them; empty when unreachable.
    pub routes: Vec<Route>,
}

impl PlannedNotice {
    /// No channel reaches this person: the public bulletin covers them.
    pub fn unreachable(&self) -> bool {
        self.routes.is_empty()
    }
}

/// The channels every plan falls back to, after the tenant's and the person's choice.
const DEFAULT_ORDER: [Channel; 5] = [
    Channel::Email,
    Channel::Sms,
    Channel::Push,
    Channel::Letter,
    Channel::Phone,
];

/// Plans one person's notice. `locales` are those with both templates and notice
/// content; `tenant_channels` is the tenant's channel policy, first to last.
pub fn plan(
    person: &PlanPerson,
    tenant_channels: &[Channel],
    tenant_locale: &str,
    locales: &[String],
) -> PlannedNotice {
    let audience = if person.minor {
        Audience::Guardian
    } else {
        Audience::Subject
    };
    let order = tenant_channels
        .iter()
        .copied()
        .chain(person.preferred_channel)
        .chain(DEFAULT_ORDER);
    let mut routes: Vec<Route> = Vec::new();
    for channel in order {
        if routes.iter().any(|r| r.channel == channel) {
            continue;
        }
        if let Some(address) = address(person, channel) {
            routes.push(Route { channel, address });
        }
    }
    PlannedNotice {
        audience,
        recipient_name: if person.minor {
            person.guardian_name.clone()
        } else {
            person.name.clone()
        },
        subject_name: person.name.clone(),
        locale: choose_locale(person.locale.as_deref(), tenant_locale, locales),
        routes,
    }
}

/// Where a channel reaches the person: a minor's e-mail, SMS and calls go to the
/// guardian; push goes to the person's own device and letters to their address.
pub fn address(person: &PlanPerson, channel: Channel) -> Option<String> {
    let (email, phone) = if person.minor {
        (&person.guardian_email, &person.guardian_phone)
    } else {
        (&person.email, &person.phone)
    };
    let value = match channel {
        Channel::Email => email,
        Channel::Sms | Channel::Phone => phone,
        Channel::Push => &person.push_token,
        Channel::Letter => &person.postal_address,
    };
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The first candidate (the person's locale, its language, the tenant's default,
/// English) available in `locales`; English when none is.
pub fn choose_locale(person: Option<&str>, tenant_locale: &str, locales: &[String]) -> String {
    locale::candidates(person, tenant_locale)
        .iter()
        .find_map(|c| locale::best_match(c, locales))
        .unwrap_or("en")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locales() -> Vec<String> {
        ["en", "ja", "zh-CN"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn adult() -> PlanPerson {
        PlanPerson {
            name: Some("Wang Fang".into()),
            email: Some("fang@example.com".into()),
            phone: Some("+8613800000000".into()),
            locale: Some("zh-CN".into()),
            postal_address: Some("Shanghai".into()),
            ..PlanPerson::default()
        }
    }

    fn channels(p: &PlannedNotice) -> Vec<Channel> {
        p.routes.iter().map(|r| r.channel).collect()
    }

    #[test]
    fn tenant_policy_then_preference_then_what_exists() {
        let mut person = adult();
        person.preferred_channel = Some(Channel::Letter);
        let renji = plan(
            &person,
            &[Channel::Sms, Channel::Phone],
            "zh-CN",
            &locales(),
        );
        assert_eq!(
            channels(&renji),
            vec![
                Channel::Sms,
                Channel::Phone,
                Channel::Letter,
                Channel::Email
            ]
        );
        let default = plan(&adult(), &[], "en", &locales());
        assert_eq!(
            channels(&default),
            vec![
                Channel::Email,
                Channel::Sms,
                Channel::Letter,
                Channel::Phone
            ]
        );
        assert_eq!(default.locale, "zh-CN");
    }

    #[test]
    fn minors_are_reached_through_their_guardian() {
        let child = PlanPerson {
            name: Some("Kid".into()),
            email: Some("kid@example.com".into()),
            minor: true,
            guardian_name: Some("Parent".into()),
            guardian_email: Some("parent@example.com".into()),
            push_token: Some("tok".into()),
            ..PlanPerson::default()
        };
        let p = plan(&child, &[Channel::Push, Channel::Email], "en", &locales());
        assert_eq!(p.audience, Audience::Guardian);
        assert_eq!(p.recipient_name.as_deref(), Some("Parent"));
        assert_eq!(p.subject_name.as_deref(), Some("Kid"));
        assert_eq!(
            p.routes,
            vec![
                Route {
                    channel: Channel::Push,
                    address: "tok".into()
                },
                Route {
                    channel: Channel::Email,
                    address: "parent@example.com".into()
                },
            ]
        );
    }

    #[test]
    fn nobody_to_reach_is_unreachable_and_locales_fall_back() {
        let p = plan(
            &PlanPerson {
                locale: Some("de".into()),
                ..PlanPerson::default()
            },
            &[],
            "ja",
            &locales(),
        );
        assert!(p.unreachable());
        assert_eq!(p.locale, "ja");
        assert_eq!(choose_locale(Some("fr"), "ko", &locales()), "en");
        assert_eq!(choose_locale(Some("ja-JP"), "en", &locales()), "ja");
    }
}
