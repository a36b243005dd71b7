//! SMS length in segments (3GPP TS 23.038 / 23.040).
//!
//! Text made only of the GSM 03.38 alphabet is sent as GSM-7: 160 septets in one
//! segment, 153 per segment when concatenated, characters of the extension table
//! (`^ { } \ [ ~ ] | €` and form feed) costing two. Anything else (CJK, Cyrillic,
//! emoji) is sent as UCS-2: 70 UTF-16 units in one segment, 67 per segment when
//! concatenated. A character is never split across two segments.

use serde::Serialize;

const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{0C}";

/// How an SMS text will be encoded and how many segments it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segments {
    /// `GSM-7` or `UCS-2`.
    pub encoding: &'static str,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    /// Number of segments the text is sent in.
    pub count: usize,
}

/// Counts the segments of `text`.
pub fn segments(text: &str) -> Segments {
    let gsm_costs: Option<Vec<usize>> = text.chars().map(gsm_cost).collect();
    match gsm_costs {
        Some(costs) => split("GSM-7", &costs, 160, 153),
        None => {
            let costs: Vec<usize> = text.chars().map(char::len_utf16).collect();
            split("UCS-2", &costs, 70, 67)
        }
    }
}

fn gsm_cost(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

fn split(encoding: &'static str, costs: &[usize], single: usize, part: usize) -> Segments {
    let units: usize = costs.iter().sum();
    if units <= single {
        return Segments {
            encoding,
            units,
            count: 1,
        };
    }
    let mut count = 1;
    let mut used = 0;
    for &cost in costs {
        if used + cost > part {
            count += 1;
            used = 0;
        }
        used += cost;
    }
    Segments {
        encoding,
        units,
        count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_table() {
        let cases: &[(String, &str, usize, usize)] = &[
            (String::new(), "GSM-7", 0, 1),
            ("a".repeat(160), "GSM-7", 160, 1),
            ("a".repeat(161), "GSM-7", 161, 2),
            ("a".repeat(306), "GSM-7", 306, 2),
            ("a".repeat(307), "GSM-7", 307, 3),
            ("€".repeat(80), "GSM-7", 160, 1),
            ("{".repeat(81), "GSM-7", 162, 2),
            ("{".repeat(153), "GSM-7", 306, 3),
            (format!("{}€", "a".repeat(152)), "GSM-7", 154, 1),
            (format!("{}€", "a".repeat(159)), "GSM-7", 161, 2),
            ("あ".repeat(70), "UCS-2", 70, 1),
            ("あ".repeat(71), "UCS-2", 71, 2),
            ("Ж".repeat(134), "UCS-2", 134, 2),
            ("Ж".repeat(135), "UCS-2", 135, 3),
            (format!("{}é", "a".repeat(159)), "GSM-7", 160, 1),
            (format!("{}ç", "a".repeat(69)), "UCS-2", 70, 1),
            ("😀".repeat(35), "UCS-2", 70, 1),
            (format!("{}😀", "a".repeat(68)), "UCS-2", 70, 1),
            (format!("{}😀", "a".repeat(69)), "UCS-2", 71, 2),
        ];
        for (text, encoding, units, count) in cases {
            let s = segments(text);
            assert_eq!(
                (s.encoding, s.units, s.count),
                (*encoding, *units, *count),
                "{text}"
            );
        }
    }

    #[test]
    fn extension_characters_are_not_split() {
        // 152 septets then '€' (2): it cannot straddle, so the second part starts with it.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(151));
        assert_eq!(segments(&text).count, 2);
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(segments(&text).count, 3);
    }
}
