//! The UI's templates, words and static files, embedded from `templates/ui/` like
//! the notice templates: one HTML registry in strict mode with escaping, so every
//! value a page shows (titles, timeline text, notice content, names) is text.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use handlebars::Handlebars;
use serde_json::{Value, json};

use super::i18n::Lang;
use crate::domain::format_instant;
use crate::error::{AppError, AppResult};

#[derive(rust_embed::Embed)]
#[folder = "templates/ui/"]
struct UiFiles;

/// The compiled pages and every language's words.
pub struct Pages {
    html: Handlebars<'static>,
    labels: BTreeMap<&'static str, Value>,
}

static PAGES: OnceLock<Result<Pages, String>> = OnceLock::new();

impl Pages {
    /// The embedded templates, compiled once (a defect is caught by unit tests).
    pub fn get() -> AppResult<&'static Pages> {
        PAGES
            .get_or_init(Self::embedded)
            .as_ref()
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("UI templates: {e}")))
    }

    fn embedded() -> Result<Pages, String> {
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        for path in UiFiles::iter().filter(|p| p.ends_with(".html.hbs")) {
            let name = path.trim_end_matches(".html.hbs").to_owned();
            html.register_template_string(&name, file(&path)?)
                .map_err(|e| format!("templates/ui/{path}: {e}"))?;
        }
        let mut labels = BTreeMap::new();
        for lang in Lang::ALL {
            let path = format!("labels/{}.toml", lang.tag());
            let words: BTreeMap<String, String> =
                toml::from_str(&file(&path)?).map_err(|e| format!("templates/ui/{path}: {e}"))?;
            labels.insert(lang.tag(), json!(words));
        }
        Ok(Pages { html, labels })
    }

    /// Renders page `name` with `data`, the words of `lang` as `t` and its tag as `lang`.
    pub fn render(&self, name: &str, lang: Lang, mut data: Value) -> AppResult<String> {
        if let Some(map) = data.as_object_mut() {
            map.insert("t".into(), self.words(lang).clone());
            map.insert("lang".into(), json!(lang.tag()));
        }
        self.html
            .render(name, &data)
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("UI page {name}: {e}")))
    }

    /// The words of one language.
    pub fn words(&self, lang: Lang) -> &Value {
        static EMPTY: Value = Value::Null;
        self.labels.get(lang.tag()).unwrap_or(&EMPTY)
    }

    /// One word (the key itself when missing; a unit test keeps none missing).
    pub fn word(&self, lang: Lang, key: &str) -> String {
        self.words(lang)[key]
            .as_str()
            .map_or_else(|| key.to_owned(), str::to_owned)
    }
}

fn file(path: &str) -> Result<String, String> {
    UiFiles::get(path)
        .map(|f| String::from_utf8_lossy(&f.data).into_owned())
        .ok_or_else(|| format!("templates/ui/{path} is missing"))
}

/// A static file of the UI (`ui.js`, `ui.css`) with its media type.
pub fn asset(name: &str) -> Option<(Vec<u8>, &'static str)> {
    let kind = match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => return None,
    };
    UiFiles::get(&format!("assets/{name}")).map(|f| (f.data.into_owned(), kind))
}

/// An instant for a page: `iso` for `<time datetime>`, and `text` in `tz` with the
/// zone named, e.g. `2026-11-28 14:00 JST (Asia/Tokyo)`.
pub fn instant(at: NaiveDateTime, tz: Tz) -> Value {
    let local = Utc.from_utc_datetime(&at).with_timezone(&tz);
    json!({
        "iso": format_instant(at),
        "text": format!("{} ({})", local.format("%Y-%m-%d %H:%M %Z"), tz.name()),
    })
}

/// The value of a `datetime-local` input for an instant, in `tz`.
pub fn local_input(at: NaiveDateTime, tz: Tz) -> String {
    Utc.from_utc_datetime(&at)
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// How urgent a deadline is, as a CSS class: `overdue`, `lt24h`, `lt72h` or `later`.
pub fn urgency(due: NaiveDateTime, now: NaiveDateTime) -> &'static str {
    let left = due - now;
    if left <= chrono::Duration::zero() {
        "overdue"
    } else if left < chrono::Duration::hours(24) {
        "lt24h"
    } else if left < chrono::Duration::hours(72) {
        "lt72h"
    } else {
        "later"
    }
}

/// The countdown text the page starts with (the script keeps it current):
/// `2d 4h 10m`, or with `overdue` before it when past.
pub fn countdown(due: NaiveDateTime, now: NaiveDateTime, overdue_word: &str) -> String {
    let secs = (due - now).num_seconds();
    let abs = secs.unsigned_abs();
    let (d, h, m) = (abs / 86_400, (abs % 86_400) / 3_600, (abs % 3_600) / 60);
    let span = if d > 0 {
        format!("{d}d {h}h {m}m")
    } else {
        format!("{h}h {m}m")
    };
    if secs <= 0 {
        format!("{overdue_word} {span}")
    } else {
        span
    }
}

/// A deadline for a page: the instant in the viewer's zone and in `regime_tz`,
/// the countdown and its urgency class (`regime_tz`: the viewer's where no regime applies).
pub fn deadline(
    due: NaiveDateTime,
    viewer: Tz,
    regime_tz: Tz,
    now: NaiveDateTime,
    overdue_word: &str,
) -> Value {
    json!({
        "at": instant(due, viewer),
        "regime": instant(due, regime_tz),
        "countdown": countdown(due, now, overdue_word),
        "urgency": urgency(due, now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    #[test]
    fn every_language_has_every_word_and_every_page_compiles() {
        let pages = Pages::get().unwrap();
        let keys = |lang: Lang| {
            pages
                .words(lang)
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(Lang::En), keys(Lang::Ja));
        assert_eq!(keys(Lang::En), keys(Lang::ZhCn));
        assert!(asset("ui.js").is_some() && asset("ui.css").is_some());
        assert!(asset("../labels/en.toml").is_none());
    }

    #[test]
    fn times_name_their_zone_and_deadlines_their_urgency() {
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        assert_eq!(
            instant(at(27, 5), tokyo)["text"],
            "2026-11-27 14:00 JST (Asia/Tokyo)"
        );
        assert_eq!(instant(at(27, 5), tokyo)["iso"], "2026-11-27T05:00:00Z");
        assert_eq!(local_input(at(27, 5), tokyo), "2026-11-27T14:00");
        let now = at(20, 0);
        assert_eq!(urgency(at(19, 0), now), "overdue");
        assert_eq!(urgency(at(20, 23), now), "lt24h");
        assert_eq!(urgency(at(22, 23), now), "lt72h");
        assert_eq!(urgency(at(23, 1), now), "later");
        assert_eq!(countdown(at(22, 4), now, "overdue"), "2d 4h 0m");
        assert_eq!(countdown(at(19, 22), now, "overdue"), "overdue 2h 0m");
    }
}
