//! Text bound for CSV files people open in spreadsheets.

/// Neutralises a spreadsheet formula at the start of a free-text cell (a name or
/// an address someone typed), so opening an export never runs it: the cell is
/// prefixed with `'`. Apply it to free text only; an E.164 number starts with `+`
/// and is data, not a formula.
pub fn spreadsheet_safe(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_but_text_is_kept() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(spreadsheet_safe("1-2-3 Chiyoda"), "1-2-3 Chiyoda");
        assert_eq!(spreadsheet_safe(""), "");
    }
}
