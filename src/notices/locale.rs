//! Choosing the locale a notice is written in: the person's own, else one of the
//! same language, else the tenant's default, else English — the first of these for
//! which both a template and the incident's notice content exist.

/// The candidate locales for a person, best first, without repeats: their own,
/// its language (for Chinese: its script), the other Chinese script, the tenant's
/// default, English.
pub fn candidates(person: Option<&str>, tenant_default: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |tag: String| {
        if !tag.is_empty() && !out.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
            out.push(tag);
        }
    };
    if let Some(tag) = person {
        push(tag.to_owned());
        push(chinese_script(tag).unwrap_or_else(|| language(tag).to_owned()));
        // A Chinese reader reads the other script before a foreign language
        // (the plan warns of the change).
        if let Some(script) = chinese_script(tag) {
            push(if script == "zh-TW" { "zh-CN" } else { "zh-TW" }.to_owned());
        }
    }
    push(tenant_default.to_owned());
    push("en".to_owned());
    out
}

/// The first `available` locale matching `wanted` exactly, or by language.
pub fn best_match<'a>(wanted: &str, available: &'a [String]) -> Option<&'a str> {
    available
        .iter()
        .find(|a| a.eq_ignore_ascii_case(wanted))
        .or_else(|| {
            let lang = language(wanted);
            let script = chinese_script(wanted);
            available.iter().find(|a| match &script {
                Some(s) => a.eq_ignore_ascii_case(s),
                None => language(a).eq_ignore_ascii_case(lang),
            })
        })
        .map(String::as_str)
}

/// How the language of a notice differs from the one a person wanted.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Another language (a Korean reader gets English).
    Language,
    /// The same language in another script (a Traditional Chinese reader gets
    /// Simplified): readable, but not what the person reads every day.
    Script,
}

/// Whether `used` differs from `wanted` in language or (for Chinese) script;
/// `None` when only the region differs (`ja-JP` read as `ja`).
pub fn fallback(wanted: &str, used: &str) -> Option<Fallback> {
    if !language(wanted).eq_ignore_ascii_case(language(used)) {
        return Some(Fallback::Language);
    }
    match (chinese_script(wanted), chinese_script(used)) {
        (Some(a), Some(b)) if a != b => Some(Fallback::Script),
        _ => None,
    }
}

fn language(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

/// Chinese falls back by script: Traditional (Hant, TW, HK, MO) to `zh-TW`,
/// everything else to `zh-CN`.
fn chinese_script(tag: &str) -> Option<String> {
    let mut parts = tag.split('-');
    if !parts.next()?.eq_ignore_ascii_case("zh") {
        return None;
    }
    let traditional =
        parts.any(|p| ["hant", "tw", "hk", "mo"].contains(&p.to_ascii_lowercase().as_str()));
    Some(if traditional { "zh-TW" } else { "zh-CN" }.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn available() -> Vec<String> {
        ["en", "ja", "ru", "zh-CN", "zh-TW"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn matches_exact_then_language_then_script() {
        let a = available();
        assert_eq!(best_match("ja", &a), Some("ja"));
        assert_eq!(best_match("ja-JP", &a), Some("ja"));
        assert_eq!(best_match("zh-tw", &a), Some("zh-TW"));
        assert_eq!(best_match("zh-HK", &a), Some("zh-TW"));
        assert_eq!(best_match("zh-Hant", &a), Some("zh-TW"));
        assert_eq!(best_match("zh-SG", &a), Some("zh-CN"));
        assert_eq!(best_match("zh", &a), Some("zh-CN"));
        assert_eq!(best_match("ru-UA", &a), Some("ru"));
        assert_eq!(best_match("de", &a), None);
    }

    #[test]
    fn fallbacks_tell_language_from_script_changes() {
        assert_eq!(fallback("ja-JP", "ja"), None);
        assert_eq!(fallback("zh-HK", "zh-TW"), None);
        assert_eq!(fallback("zh-TW", "zh-CN"), Some(Fallback::Script));
        assert_eq!(fallback("zh-Hant", "zh-CN"), Some(Fallback::Script));
        assert_eq!(fallback("ko", "en"), Some(Fallback::Language));
        assert_eq!(fallback("de-AT", "en"), Some(Fallback::Language));
    }

    #[test]
    fn candidates_end_with_tenant_default_and_english() {
        assert_eq!(
            candidates(Some("de-AT"), "ja"),
            vec!["de-AT", "de", "ja", "en"]
        );
        assert_eq!(candidates(None, "zh-CN"), vec!["zh-CN", "en"]);
        assert_eq!(candidates(Some("en"), "en"), vec!["en"]);
        assert_eq!(
            candidates(Some("zh-HK"), "en"),
            vec!["zh-HK", "zh-TW", "zh-CN", "en"]
        );
    }
}
