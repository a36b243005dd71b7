//! The languages of the web UI (English, Japanese, Simplified Chinese): the user's
//! choice, else the browser's `Accept-Language`, else English. The words live in
//! `templates/ui/labels/<locale>.toml`; a unit test keeps the three key sets equal.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::notices::locale::best_match;

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Japanese.
    Ja,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// Every UI language.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ja, Lang::ZhCn];

    /// The BCP 47 tag (also the labels file name and the `lang` attribute).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language a tag asks for, matched exactly or by language (any Chinese
    /// gets Simplified Chinese, the only Chinese the UI has).
    pub fn parse(tag: &str) -> Option<Lang> {
        let available: Vec<String> = Self::ALL.iter().map(|l| l.tag().to_owned()).collect();
        let tag = tag.trim();
        let matched = best_match(tag, &available).or_else(|| {
            tag.to_ascii_lowercase()
                .starts_with("zh")
                .then_some("zh-CN")
        })?;
        Self::ALL.into_iter().find(|l| l.tag() == matched)
    }

    /// The best language for an `Accept-Language` value (by q, then order).
    pub fn from_accept_language(value: &str) -> Option<Lang> {
        let mut wanted: Vec<(f32, usize, &str)> = value
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (!tag.is_empty() && tag != "*" && q > 0.0).then_some((q, i, tag))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        wanted.into_iter().find_map(|(_, _, tag)| Self::parse(tag))
    }

    /// The language for a request: `chosen` (the user's), else the browser's, else English.
    pub fn from_request(req: &HttpRequest, chosen: Option<&str>) -> Lang {
        chosen
            .and_then(Self::parse)
            .or_else(|| {
                req.headers()
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Self::from_accept_language)
            })
            .unwrap_or(Lang::En)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_by_quality_then_order() {
        assert_eq!(Lang::from_accept_language("ja"), Some(Lang::Ja));
        assert_eq!(
            Lang::from_accept_language("ja-JP,ja;q=0.9,en;q=0.8"),
            Some(Lang::Ja)
        );
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9"),
            Some(Lang::ZhCn)
        );
        assert_eq!(Lang::from_accept_language("zh-TW"), Some(Lang::ZhCn));
        assert_eq!(
            Lang::from_accept_language("fr;q=1, en;q=0.5, ja;q=0.7"),
            Some(Lang::Ja)
        );
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language("en-GB"), Some(Lang::En));
        assert_eq!(Lang::parse("ZH-cn"), Some(Lang::ZhCn));
    }
}
