use serde::Serialize;

/// One reason why one input field was rejected, in the words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `title` or `affected[2].jurisdiction`.
    pub field: String,
    /// Why the value was rejected.
    pub reason: String,
}

impl FieldError {
    /// A field error from anything string-like.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Whether `tag` looks like a BCP 47 language tag (`ja`, `zh-CN`, `zh-Hant-TW`).
pub fn is_locale(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let language_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase()));
    language_ok
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_are_bcp47_shaped() {
        assert!(is_locale("zh-CN") && is_locale("ja") && is_locale("zh-Hant-TW"));
        assert!(!is_locale("Japanese") && !is_locale("zh_CN") && !is_locale(""));
    }
}
