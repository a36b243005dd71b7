//! Planning one person's notice: who is addressed (the person, or a minor's
//! guardian), in which locale, and the channels to try in order.

use serde::Serialize;

use super::{Audience, locale};
use crate::domain::Channel;

/// Where one party (a person, or a guardian) can be reached, per channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contacts {
    /// E-mail address.
    pub email: Option<String>,
    /// Phone (E.164), for SMS and calls.
    pub phone: Option<String>,
    /// Push token of their own device.
    pub push_token: Option<String>,
    /// Postal address.
    pub postal_address: Option<String>,
}

impl Contacts {
    /// The address `channel` reaches, when there is a usable one.
    pub fn address(&self, channel: Channel) -> Option<String> {
        let value = match channel {
            Channel::Email => &self.email,
            Channel::Sms | Channel::Phone => &self.phone,
            Channel::Push => &self.push_token,
            Channel::Letter => &self.postal_address,
        };
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }
}

/// What the plan needs to know about one affected person.
#[derive(Debug, Clone, Default)]
pub struct PlanPerson {
    /// Name.
    pub name: Option<String>,
    /// BCP 47 locale.
    pub locale: Option<String>,
    /// Younger than 18 when the organisation became aware.
    pub minor: bool,
    /// Guardian's name.
    pub guardian_name: Option<String>,
    /// The person's own contacts.
    pub own: Contacts,
    /// The guardian's contacts (a minor is reached only through these).
    pub guardian: Contacts,
    /// The person's preferred channel.
    pub preferred_channel: Option<Channel>,
}

impl PlanPerson {
    /// Who a notice about this person is addressed to.
    pub fn audience(&self) -> Audience {
        if self.minor {
            Audience::Guardian
        } else {
            Audience::Subject
        }
    }

    /// Where `channel` reaches the addressee: a minor's notice goes only to a
    /// guardian contact, never to the child's own device, number or address.
    pub fn address(&self, channel: Channel) -> Option<String> {
        match self.audience() {
            Audience::Subject => self.own.address(channel),
            Audience::Guardian => self.guardian.address(channel),
        }
    }
}

/// The tenant's channel policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelPolicy {
    /// Channels to try first, in order.
    pub order: Vec<Channel>,
    /// Only these channels (the tenant promised no others).
    pub only: bool,
}

impl ChannelPolicy {
    /// The channels to consider for a person, in order.
    fn candidates(&self, preferred: Option<Channel>) -> Vec<Channel> {
        let mut out: Vec<Channel> = Vec::new();
        let rest = if self.only {
            &[][..]
        } else {
            &DEFAULT_ORDER[..]
        };
        let preferred = preferred.filter(|c| !self.only || self.order.contains(c));
        for channel in self
            .order
            .iter()
            .copied()
            .chain(preferred)
            .chain(rest.iter().copied())
        {
            if !out.contains(&channel) {
                out.push(channel);
            }
        }
        out
    }
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
    /// The locale the person wanted (their own, else the tenant's default).
    pub wanted_locale: String,
    /// Channels in the order to try them; empty when unreachable.
    pub routes: Vec<Route>,
}

impl PlannedNotice {
    /// No channel reaches this person: the public bulletin covers them.
    pub fn unreachable(&self) -> bool {
        self.routes.is_empty()
    }

    /// How the notice's language differs from the one the person wanted.
    pub fn fallback(&self) -> Option<locale::Fallback> {
        locale::fallback(&self.wanted_locale, &self.locale)
    }
}

/// The channels every plan falls back to, after the tenant's and the person's
/// choice, unless the tenant allows only its own.
const DEFAULT_ORDER: [Channel; 5] = [
    Channel::Email,
    Channel::Sms,
    Channel::Push,
    Channel::Letter,
    Channel::Phone,
];

/// Plans one person's notice. `locales` are those with both templates and notice
/// content.
pub fn plan(
    person: &PlanPerson,
    policy: &ChannelPolicy,
    tenant_locale: &str,
    locales: &[String],
) -> PlannedNotice {
    let routes = policy
        .candidates(person.preferred_channel)
        .into_iter()
        .filter_map(|channel| {
            person
                .address(channel)
                .map(|address| Route { channel, address })
        })
        .collect();
    let wanted = person.locale.as_deref().unwrap_or(tenant_locale);
    PlannedNotice {
        audience: person.audience(),
        recipient_name: if person.minor {
            person.guardian_name.clone()
        } else {
            person.name.clone()
        },
        subject_name: person.name.clone(),
        locale: choose_locale(person.locale.as_deref(), tenant_locale, locales),
        wanted_locale: wanted.to_owned(),
        routes,
    }
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
            locale: Some("zh-CN".into()),
            own: Contacts {
                email: Some("fang@example.com".into()),
                phone: Some("+8613800000000".into()),
                postal_address: Some("Shanghai".into()),
                ..Contacts::default()
            },
            ..PlanPerson::default()
        }
    }

    fn channels(p: &PlannedNotice) -> Vec<Channel> {
        p.routes.iter().map(|r| r.channel).collect()
    }

    fn policy(order: &[Channel], only: bool) -> ChannelPolicy {
        ChannelPolicy {
            order: order.to_vec(),
            only,
        }
    }

    #[test]
    fn tenant_policy_then_preference_then_what_exists() {
        let mut person = adult();
        person.preferred_channel = Some(Channel::Letter);
        let renji = plan(
            &person,
            &policy(&[Channel::Sms, Channel::Phone], false),
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
        let default = plan(&adult(), &ChannelPolicy::default(), "en", &locales());
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
        assert_eq!(default.fallback(), None);
    }

    #[test]
    fn only_the_promised_channels_when_the_tenant_says_so() {
        let mut person = adult();
        person.preferred_channel = Some(Channel::Sms);
        let promised = [
            Channel::Email,
            Channel::Letter,
            Channel::Phone,
            Channel::Push,
        ];
        let jc_task = plan(&person, &policy(&promised, true), "zh-CN", &locales());
        assert_eq!(
            channels(&jc_task),
            vec![Channel::Email, Channel::Letter, Channel::Phone],
            "no SMS: JC-Task never promised it, whatever the person prefers"
        );
    }

    #[test]
    fn minors_are_reached_only_through_their_guardian() {
        let child = PlanPerson {
            name: Some("Kid".into()),
            minor: true,
            guardian_name: Some("Parent".into()),
            own: Contacts {
                email: Some("kid@example.com".into()),
                push_token: Some("child-device".into()),
                ..Contacts::default()
            },
            guardian: Contacts {
                email: Some("parent@example.com".into()),
                push_token: Some("parent-device".into()),
                ..Contacts::default()
            },
            ..PlanPerson::default()
        };
        let p = plan(
            &child,
            &policy(&[Channel::Push, Channel::Email], false),
            "en",
            &locales(),
        );
        assert_eq!(p.audience, Audience::Guardian);
        assert_eq!(p.recipient_name.as_deref(), Some("Parent"));
        assert_eq!(p.subject_name.as_deref(), Some("Kid"));
        assert_eq!(
            p.routes,
            vec![
                Route {
                    channel: Channel::Push,
                    address: "parent-device".into()
                },
                Route {
                    channel: Channel::Email,
                    address: "parent@example.com".into()
                },
            ]
        );
        let orphan = PlanPerson {
            guardian: Contacts::default(),
            ..child
        };
        let p = plan(&orphan, &ChannelPolicy::default(), "en", &locales());
        assert!(
            p.unreachable(),
            "never the child's own contacts: {:?}",
            p.routes
        );
    }

    #[test]
    fn nobody_to_reach_is_unreachable_and_locales_fall_back() {
        let p = plan(
            &PlanPerson {
                locale: Some("de".into()),
                ..PlanPerson::default()
            },
            &ChannelPolicy::default(),
            "ja",
            &locales(),
        );
        assert!(p.unreachable());
        assert_eq!(p.locale, "ja");
        assert_eq!(p.wanted_locale, "de");
        assert_eq!(p.fallback(), Some(locale::Fallback::Language));
        assert_eq!(choose_locale(Some("fr"), "ko", &locales()), "en");
        assert_eq!(choose_locale(Some("ja-JP"), "en", &locales()), "ja");
    }
}
