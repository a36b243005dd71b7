//! A deterministic synthetic registry for benchmarks: the same `count` always
//! gives the same file, with mixed jurisdictions, locales, minors, guardians
//! and missing contacts.

use std::io::{BufWriter, Write};
use std::path::Path;

const JURISDICTIONS: [&str; 10] = [
    "JP", "US-CA", "DE", "CN", "TW", "RU", "US-NY", "FR", "GB", "KR",
];
const LOCALES: [&str; 6] = ["ja", "en", "zh-CN", "zh-TW", "ru", "de"];
const SYSTEMS: [&str; 5] = ["crm", "billing", "shop", "support", "app"];
const CATEGORIES: [&str; 6] = [
    "contact",
    "identity",
    "financial",
    "health",
    "location",
    "device",
];
const CHANNELS: [&str; 5] = ["email", "sms", "push", "letter", "phone"];

/// SplitMix64: tiny, fast and stable, so files are reproducible across builds.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// A non-empty subset, `;`-separated.
    fn subset(&mut self, items: &[&str]) -> String {
        let mask = 1 + self.below((1 << items.len()) - 1);
        let chosen: Vec<&str> = items
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, s)| *s)
            .collect();
        chosen.join(";")
    }
}

/// The CSV header of the synthetic file.
pub const HEADER: &str = "external_id,name,email,phone,locale,jurisdiction,birth_date,guardian_name,guardian_email,guardian_phone,push_token,postal_address,preferred_channel,systems,data_categories";

/// Who the synthetic people are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A realistic mix: missing contacts, every preferred channel.
    Mixed,
    /// The same people, but everyone (or their guardian) has an e-mail address and
    /// prefers e-mail, so a dispatch queues exactly one e-mail per person.
    EmailFirst,
}

/// Writes `count` subjects as CSV to `path`.
pub fn write_csv(path: &Path, count: u64, profile: Profile) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "{HEADER}")?;
    let mut rng = SplitMix(42);
    for i in 0..count {
        write_row(&mut out, &mut rng, i, profile)?;
    }
    out.flush()
}

fn write_row(
    out: &mut impl Write,
    rng: &mut SplitMix,
    i: u64,
    profile: Profile,
) -> std::io::Result<()> {
    let email_first = profile == Profile::EmailFirst;
    let year = 1940 + rng.below(86);
    let (month, day) = (1 + rng.below(12), 1 + rng.below(28));
    // Under 18 on most of 2026's dates; e-mail-first people born in 2008 get a
    // guardian too, since they are minors for an incident early in the year.
    let minor = year >= 2009;
    let guarded = minor || (email_first && year >= 2008);
    // `|` rather than `||`: every draw is still made, so a mixed file is the same
    // as before the profiles existed.
    let email = if rng.chance(85) | email_first {
        format!("person{i}@example.com")
    } else {
        String::new()
    };
    let phone = if rng.chance(70) {
        format!("+8190{:08}", rng.below(100_000_000))
    } else {
        String::new()
    };
    let (guardian_name, guardian_email, guardian_phone) =
        if guarded && (rng.chance(70) | email_first) {
            let phone = if rng.chance(50) {
                format!("+8180{:08}", rng.below(100_000_000))
            } else {
                String::new()
            };
            (
                format!("Guardian {i}"),
                format!("guardian{i}@example.com"),
                phone,
            )
        } else {
            (String::new(), String::new(), String::new())
        };
    let push = if rng.chance(40) {
        format!("tok{:016x}", rng.next())
    } else {
        String::new()
    };
    let address = if rng.chance(60) {
        format!("\"{} Chome, Chiyoda, Tokyo\"", 1 + rng.below(9))
    } else {
        String::new()
    };
    writeln!(
        out,
        "S{i:08},Person {i},{email},{phone},{},{},{year:04}-{month:02}-{day:02},{guardian_name},{guardian_email},{guardian_phone},{push},{address},{},{},{}",
        rng.pick(&LOCALES),
        rng.pick(&JURISDICTIONS),
        Some(rng.pick(&CHANNELS))
            .filter(|_| !email_first)
            .unwrap_or("email"),
        rng.subset(&SYSTEMS),
        rng.subset(&CATEGORIES),
    )
}
