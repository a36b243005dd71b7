//! A customer's synthetic registry: a spec (`demo/<slug>/registry.json`) and a
//! seeded generator that turns it into people of the customer's market, written
//! as the CSV `POST /api/v1/subjects/import` takes. The same spec, seed and date
//! always give the same people. Pure: no I/O.

use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;

use super::people::{self, NameStyle};

/// The columns of the generated CSV (docs/subjects.md).
pub const HEADER: [&str; 17] = [
    "external_id",
    "name",
    "email",
    "phone",
    "locale",
    "jurisdiction",
    "birth_date",
    "guardian_name",
    "guardian_email",
    "guardian_phone",
    "push_token",
    "guardian_push_token",
    "postal_address",
    "guardian_postal_address",
    "preferred_channel",
    "systems",
    "data_categories",
];

/// What people a customer holds data about.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    /// Seed of the generator: the same seed gives the same people.
    pub seed: u64,
    /// How many people.
    pub count: u32,
    /// Prefix of every `external_id`.
    pub id_prefix: String,
    /// Percent of people (or, for children, guardians) with no usable contact at
    /// all: at least one person when above zero.
    pub no_contact_percent: u32,
    /// The systems holding their data: everyone is in the first (where they signed
    /// up), and in each other with its percent chance.
    pub systems: Vec<SystemSpec>,
    /// The kinds of people, with their share of the registry.
    pub groups: Vec<GroupSpec>,
}

/// One system and the data it holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemSpec {
    /// System name as scopes name it.
    pub name: String,
    /// Percent of people in it.
    pub percent: u32,
    /// Categories of data it holds about each of them.
    pub data_categories: Vec<String>,
}

/// One kind of person: where they live, what they read, how to reach them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Relative share of the registry.
    pub weight: u32,
    /// Where they live (ISO 3166-1 alpha-2 or `US-XX`).
    pub jurisdiction: String,
    /// Their language (BCP 47); absent: the tenant's default applies.
    #[serde(default)]
    pub locale: Option<String>,
    /// Names of which market ([`people::name_style`]).
    pub names: String,
    /// Youngest and oldest age on the registry's date.
    pub ages: [u32; 2],
    /// Children: their notices go to a guardian, generated with them.
    #[serde(default)]
    pub minors: bool,
    /// Domains of their e-mail addresses (use `.example` ones: nothing real).
    pub email_domains: Vec<String>,
    /// Percent chance of each contact (of the guardian's, for children).
    pub contacts: ContactShares,
    /// Channel they prefer, with its percent chance (when they have that contact).
    #[serde(default)]
    pub preferred: Option<(String, u32)>,
    /// Percent of children with a device of their own (which must never get the
    /// parent's notice).
    #[serde(default)]
    pub child_device_percent: u32,
}

/// Percent chance of each contact.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContactShares {
    /// An e-mail address.
    pub email: u32,
    /// A mobile number.
    pub phone: u32,
    /// A push token (the app installed).
    pub push: u32,
    /// A postal address.
    pub letter: u32,
}

/// One generated person (one CSV row).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Person {
    /// `external_id`.
    pub external_id: String,
    /// Full name in their script.
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Mobile number, E.164.
    pub phone: Option<String>,
    /// Language.
    pub locale: Option<String>,
    /// Residence.
    pub jurisdiction: String,
    /// Birth date.
    pub birth_date: NaiveDate,
    /// For a child: the guardian's name.
    pub guardian_name: Option<String>,
    /// The guardian's e-mail address.
    pub guardian_email: Option<String>,
    /// The guardian's mobile number.
    pub guardian_phone: Option<String>,
    /// The person's own device.
    pub push_token: Option<String>,
    /// The guardian's device.
    pub guardian_push_token: Option<String>,
    /// Postal address.
    pub postal_address: Option<String>,
    /// The guardian's postal address.
    pub guardian_postal_address: Option<String>,
    /// Preferred channel.
    pub preferred_channel: Option<String>,
    /// Systems holding their data.
    pub systems: Vec<String>,
    /// Kinds of data held.
    pub data_categories: Vec<String>,
}

impl Person {
    /// A child whose notice goes to a guardian.
    pub fn is_minor(&self) -> bool {
        self.guardian_name.is_some()
    }

    /// Whether the person (or, for a child, the guardian) can be told one by one
    /// on one of `channels` (every channel when empty).
    pub fn reachable_on(&self, channels: &[&str]) -> bool {
        let allowed = |c: &str| channels.is_empty() || channels.contains(&c);
        let (email, phone, push, letter) = if self.is_minor() {
            (
                &self.guardian_email,
                &self.guardian_phone,
                &self.guardian_push_token,
                &self.guardian_postal_address,
            )
        } else {
            (
                &self.email,
                &self.phone,
                &self.push_token,
                &self.postal_address,
            )
        };
        (allowed("email") && email.is_some())
            || (allowed("sms") && phone.is_some())
            || (allowed("phone") && phone.is_some())
            || (allowed("push") && push.is_some())
            || (allowed("letter") && letter.is_some())
    }

    fn cells(&self) -> [String; 17] {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            self.external_id.clone(),
            self.name.clone(),
            opt(&self.email),
            opt(&self.phone),
            opt(&self.locale),
            self.jurisdiction.clone(),
            self.birth_date.format("%Y-%m-%d").to_string(),
            opt(&self.guardian_name),
            opt(&self.guardian_email),
            opt(&self.guardian_phone),
            opt(&self.push_token),
            opt(&self.guardian_push_token),
            opt(&self.postal_address),
            opt(&self.guardian_postal_address),
            opt(&self.preferred_channel),
            self.systems.join(";"),
            self.data_categories.join(";"),
        ]
    }
}

/// The people as CSV with [`HEADER`] (RFC 4180 quoting).
pub fn to_csv(people: &[Person]) -> anyhow::Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER)?;
    for person in people {
        out.write_record(person.cells())?;
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

/// SplitMix64: small and stable across builds and platforms.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < u64::from(percent)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(len);
        s
    }
}

impl RegistrySpec {
    /// The same spec with another seed and size (hidden variations of a scenario).
    pub fn varied(&self, seed: u64, count: u32) -> Self {
        Self {
            seed,
            count,
            ..self.clone()
        }
    }

    /// The people, with ages counted on `today` (the incident's date).
    ///
    /// # Panics
    /// Never for a spec that [`RegistrySpec::check`] accepts.
    pub fn generate(&self, today: NaiveDate) -> Vec<Person> {
        let mut rng = Rng(self.seed);
        let sizes = self.group_sizes();
        let no_contact = self.no_contact_every();
        let mut people = Vec::with_capacity(self.count as usize);
        for (group, size) in self.groups.iter().zip(sizes) {
            let Some(style) = people::name_style(&group.names) else {
                continue;
            };
            for _ in 0..size {
                let index = people.len() as u64;
                let silent = no_contact.is_some_and(|every| index % every == every / 2);
                people.push(self.person(&mut rng, group, &style, index, silent, today));
            }
        }
        people
    }

    /// Problems with the spec (unknown name styles, empty groups …), one per line.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.groups.is_empty() || self.groups.iter().all(|g| g.weight == 0) {
            problems.push("no group with a weight".to_owned());
        }
        if self.systems.is_empty() {
            problems.push("no system".to_owned());
        }
        for (i, g) in self.groups.iter().enumerate() {
            if people::name_style(&g.names).is_none() {
                problems.push(format!("groups[{i}].names: unknown style {}", g.names));
            }
            if g.email_domains.is_empty() && g.contacts.email > 0 {
                problems.push(format!("groups[{i}].email_domains: empty"));
            }
            if g.ages[0] > g.ages[1] || (g.minors && g.ages[1] >= 18) {
                problems.push(format!("groups[{i}].ages: {:?}", g.ages));
            }
            let country = g.jurisdiction.as_str();
            if people::phone(country, 0).is_none() && g.contacts.phone > 0 {
                problems.push(format!("groups[{i}]: no phone numbers for {country}"));
            }
            if people::address(country, 0).is_none() && g.contacts.letter > 0 {
                problems.push(format!("groups[{i}]: no addresses for {country}"));
            }
        }
        problems
    }

    /// People per group by largest remainder, summing to `count`.
    fn group_sizes(&self) -> Vec<u32> {
        let total: u64 = self.groups.iter().map(|g| u64::from(g.weight)).sum();
        if total == 0 {
            return vec![0; self.groups.len()];
        }
        let count = u64::from(self.count);
        let mut sizes: Vec<u64> = self
            .groups
            .iter()
            .map(|g| count * u64::from(g.weight) / total)
            .collect();
        let mut order: Vec<usize> = (0..self.groups.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(count * u64::from(self.groups[i].weight) % total));
        let mut left = count - sizes.iter().sum::<u64>();
        for i in order.into_iter().cycle() {
            if left == 0 {
                break;
            }
            if self.groups[i].weight > 0 {
                sizes[i] += 1;
                left -= 1;
            }
        }
        sizes.into_iter().map(|s| s as u32).collect()
    }

    /// Every how many people one has no contact (`None`: nobody).
    fn no_contact_every(&self) -> Option<u64> {
        if self.no_contact_percent == 0 || self.count == 0 {
            return None;
        }
        let silent = (u64::from(self.count) * u64::from(self.no_contact_percent) / 100).max(1);
        Some((u64::from(self.count) / silent).max(1))
    }

    fn person(
        &self,
        rng: &mut Rng,
        group: &GroupSpec,
        style: &NameStyle,
        index: u64,
        silent: bool,
        today: NaiveDate,
    ) -> Person {
        let female = rng.chance(50);
        let family = rng.pick(style.family);
        let given = rng.pick(if female { style.female } else { style.male });
        let (name, latin) = style.full_name(family, given, female);
        let age = group.ages[0] + rng.below(u64::from(group.ages[1] - group.ages[0] + 1)) as u32;
        let birth_date = birth_date(today, age, rng.below(365));
        let mut person = Person {
            external_id: format!("{}{:05}", self.id_prefix, index + 1),
            name,
            locale: group.locale.clone(),
            jurisdiction: group.jurisdiction.clone(),
            birth_date,
            ..Person::default()
        };
        let contacts = if silent {
            Contacts::default()
        } else {
            Contacts::draw(rng, group)
        };
        if group.minors {
            let guardian_female = rng.chance(60);
            let guardian_given = rng.pick(if guardian_female {
                style.female
            } else {
                style.male
            });
            let (guardian, guardian_latin) =
                style.full_name(family, guardian_given, guardian_female);
            person.guardian_name = Some(guardian);
            person.guardian_email = contacts
                .email
                .then(|| email(rng, &guardian_latin, &group.email_domains));
            person.guardian_phone = contacts
                .phone
                .then(|| people::phone(&group.jurisdiction, rng.next()))
                .flatten();
            person.guardian_push_token = contacts.push.then(|| push_token(rng));
            person.guardian_postal_address = contacts
                .letter
                .then(|| people::address(&group.jurisdiction, rng.next()))
                .flatten();
            person.push_token = rng
                .chance(group.child_device_percent)
                .then(|| push_token(rng));
        } else {
            person.email = contacts
                .email
                .then(|| email(rng, &latin, &group.email_domains));
            person.phone = contacts
                .phone
                .then(|| people::phone(&group.jurisdiction, rng.next()))
                .flatten();
            person.push_token = contacts.push.then(|| push_token(rng));
            person.postal_address = contacts
                .letter
                .then(|| people::address(&group.jurisdiction, rng.next()))
                .flatten();
        }
        if let Some((channel, percent)) = &group.preferred
            && rng.chance(*percent)
            && person.has_contact(channel)
        {
            person.preferred_channel = Some(channel.clone());
        }
        self.place_in_systems(rng, &mut person);
        person
    }

    fn place_in_systems(&self, rng: &mut Rng, person: &mut Person) {
        for (i, system) in self.systems.iter().enumerate() {
            if i == 0 || rng.chance(system.percent) {
                person.systems.push(system.name.clone());
                for category in &system.data_categories {
                    if !person.data_categories.contains(category) {
                        person.data_categories.push(category.clone());
                    }
                }
            }
        }
    }
}

impl Person {
    /// Whether the person (or, for a child, the guardian: never the child) has a
    /// contact for `channel` (`email`, `sms`, `push`, `letter`, `phone`).
    pub fn has_contact(&self, channel: &str) -> bool {
        let minor = self.is_minor();
        match channel {
            "email" if minor => self.guardian_email.is_some(),
            "email" => self.email.is_some(),
            "sms" | "phone" if minor => self.guardian_phone.is_some(),
            "sms" | "phone" => self.phone.is_some(),
            "push" if minor => self.guardian_push_token.is_some(),
            "push" => self.push_token.is_some(),
            "letter" if minor => self.guardian_postal_address.is_some(),
            "letter" => self.postal_address.is_some(),
            _ => false,
        }
    }
}

/// Which contacts one person has.
#[derive(Debug, Default, Clone, Copy)]
struct Contacts {
    email: bool,
    phone: bool,
    push: bool,
    letter: bool,
}

impl Contacts {
    /// Draws each contact by its share; someone who draws none gets the group's
    /// most common one (people without any are the spec's `no_contact_percent`).
    fn draw(rng: &mut Rng, group: &GroupSpec) -> Self {
        let s = group.contacts;
        let mut c = Self {
            email: rng.chance(s.email),
            phone: rng.chance(s.phone),
            push: rng.chance(s.push),
            letter: rng.chance(s.letter),
        };
        if !(c.email || c.phone || c.push || c.letter) {
            let best = [s.email, s.phone, s.push, s.letter]
                .into_iter()
                .enumerate()
                .max_by_key(|(i, share)| (*share, std::cmp::Reverse(*i)))
                .map_or(0, |(i, _)| i);
            match best {
                0 => c.email = true,
                1 => c.phone = true,
                2 => c.push = true,
                _ => c.letter = true,
            }
        }
        c
    }
}

/// A birth date making the person exactly `age` on `today` (`offset` days after
/// their last birthday, at most 364).
fn birth_date(today: NaiveDate, age: u32, offset: u64) -> NaiveDate {
    let year = today.year() - age as i32;
    let birthday = NaiveDate::from_ymd_opt(year, today.month(), today.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 2, 28))
        .unwrap_or(today);
    // A day at least one day after the birthday `age + 1` years ago, before
    // the birthday `age` years ago: the person turns `age + 1` only later.
    let earliest = birthday - Duration::days(364);
    (earliest + Duration::days(offset.min(363) as i64)).min(birthday)
}

fn email(rng: &mut Rng, latin: &str, domains: &[String]) -> String {
    let domain = domains
        .get(rng.below(domains.len() as u64) as usize)
        .map_or("mail.example", String::as_str);
    let local: String = latin
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    match rng.below(3) {
        0 => format!("{local}@{domain}"),
        1 => format!("{}{}@{domain}", local.replace('.', ""), 10 + rng.below(90)),
        _ => format!("{local}{}@{domain}", 1970 + rng.below(40)),
    }
}

/// A device token as FCM or APNs issue them.
fn push_token(rng: &mut Rng) -> String {
    if rng.chance(50) {
        format!("fcm:{}:APA91b{}", rng.hex(11), rng.hex(40))
    } else {
        format!("apns:{}", rng.hex(64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RegistrySpec {
        serde_json::from_value(serde_json::json!({
            "seed": 7, "count": 50, "id_prefix": "k-", "no_contact_percent": 10,
            "systems": [{"name": "app", "percent": 100, "data_categories": ["children", "location"]},
                        {"name": "moments", "percent": 50, "data_categories": ["communications"]}],
            "groups": [
                {"weight": 3, "jurisdiction": "DE", "locale": "de", "names": "de", "ages": [5, 12], "minors": true,
                 "email_domains": ["web.example"], "contacts": {"email": 90, "push": 70}, "child_device_percent": 80},
                {"weight": 2, "jurisdiction": "US-CA", "locale": "en", "names": "en", "ages": [4, 12], "minors": true,
                 "email_domains": ["gmail.example"], "contacts": {"email": 90, "push": 70}, "preferred": ["push", 60]}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_same_seed_and_date_give_the_same_people() {
        let today = NaiveDate::from_ymd_opt(2026, 9, 30).unwrap();
        let a = spec().generate(today);
        assert_eq!(a, spec().generate(today));
        assert_eq!(a.len(), 50);
        assert_eq!(a.iter().filter(|p| p.jurisdiction == "DE").count(), 30);
        assert_ne!(a, spec().varied(8, 50).generate(today));
        assert!(spec().check().is_empty(), "{:?}", spec().check());
    }

    #[test]
    fn children_have_guardians_and_some_nobody_to_tell() {
        let today = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        let people = spec().generate(today);
        assert!(people.iter().all(Person::is_minor));
        assert!(
            people
                .iter()
                .all(|p| p.email.is_none() && p.phone.is_none())
        );
        let silent = people.iter().filter(|p| !p.reachable_on(&[])).count();
        assert_eq!(silent, 5, "10 % of 50");
        for p in &people {
            let age = today.years_since(p.birth_date).unwrap();
            assert!((4..=12).contains(&age), "{} is {age}", p.birth_date);
        }
        let csv = to_csv(&people).unwrap();
        assert!(csv.starts_with("external_id,name,email"));
        assert_eq!(csv.lines().count(), 51);
    }

    #[test]
    fn birth_dates_give_the_exact_age_on_the_day() {
        let today = NaiveDate::from_ymd_opt(2028, 2, 29).unwrap();
        for age in [0, 12, 13, 17, 18, 40] {
            for offset in [0, 1, 200, 364, 900] {
                let born = birth_date(today, age, offset);
                assert_eq!(today.years_since(born), Some(age), "{born}");
            }
        }
    }
}
