//! Line breaking and page flow for the PDF: greedy wrapping that breaks Latin and Cyrillic
//! text at spaces and CJK text between any two characters (never before closing
//! punctuation such as 、。）), and a flow that starts a new A4 page when a block does
//! not fit.

use super::fonts::Fonts;

/// A4 in points.
pub(crate) const PAGE_WIDTH: f32 = 595.28;
/// A4 in points.
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
/// Left edge of the text.
pub(crate) const LEFT: f32 = 56.0;
/// Width of the text block.
pub(crate) const WIDTH: f32 = PAGE_WIDTH - 2.0 * LEFT;
/// First baseline below the running header.
const TOP: f32 = 84.0;
/// Last baseline above the footer.
const BOTTOM: f32 = PAGE_HEIGHT - 64.0;

/// How a run of text looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Style {
    /// Font size in points.
    pub size: f32,
    /// Grey level, 0 = black.
    pub grey: u8,
    /// Red text (missing items).
    pub alert: bool,
}

impl Style {
    /// Distance between baselines.
    pub fn leading(self) -> f32 {
        self.size * 1.45
    }
}

/// Something placed on a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Placed {
    /// One line of text with its baseline at `y` (from the top).
    Text {
        x: f32,
        y: f32,
        style: Style,
        text: String,
    },
    /// A thin horizontal rule across the text block.
    Rule { y: f32 },
}

/// Pages being filled, top to bottom.
pub(crate) struct Flow<'f> {
    fonts: &'f Fonts,
    pages: Vec<Vec<Placed>>,
    y: f32,
}

impl<'f> Flow<'f> {
    /// An empty first page.
    pub fn new(fonts: &'f Fonts) -> Self {
        Self {
            fonts,
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    /// The pages laid out.
    pub fn finish(self) -> Vec<Vec<Placed>> {
        self.pages
    }

    /// Starts a new page unless `height` points still fit on this one.
    pub fn keep(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > TOP {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
    }

    /// Vertical space.
    pub fn space(&mut self, points: f32) {
        self.y += points;
    }

    /// A rule below the last line.
    pub fn rule(&mut self) {
        let y = self.y - 1.0;
        self.place(Placed::Rule { y });
        self.y += 2.0;
    }

    /// The lines `text` wraps into at `style` in `width`.
    pub fn wrap(&self, text: &str, style: Style, width: f32) -> Vec<String> {
        text.lines()
            .flat_map(|paragraph| wrap(self.fonts, paragraph, style.size, width))
            .collect()
    }

    /// Places wrapped text starting at `x`, `width` wide, breaking pages between lines.
    pub fn text(&mut self, text: &str, style: Style, x: f32, width: f32) {
        for line in self.wrap(text, style, width) {
            self.line(line, style, x);
        }
    }

    /// Places one line, moving to the next page first if it does not fit.
    pub fn line(&mut self, text: String, style: Style, x: f32) {
        self.keep(style.leading());
        self.y += style.size;
        let y = self.y;
        self.place(Placed::Text { x, y, style, text });
        self.y += style.leading() - style.size;
    }

    /// Places one line beside the next one (e.g. an item number), without moving down.
    pub fn beside(&mut self, text: String, style: Style, x: f32, next: Style) {
        let y = self.y + next.size;
        self.place(Placed::Text { x, y, style, text });
    }

    fn place(&mut self, placed: Placed) {
        if let Some(page) = self.pages.last_mut() {
            page.push(placed);
        }
    }
}

/// Greedy wrap of one paragraph; an empty paragraph is one empty line.
pub(crate) fn wrap(fonts: &Fonts, paragraph: &str, size: f32, width: f32) -> Vec<String> {
    let chars: Vec<char> = paragraph.chars().collect();
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let end = line_end(fonts, &chars[start..], size, width) + start;
        let line: String = chars[start..end].iter().collect();
        lines.push(line.trim_end().to_owned());
        start = end;
        while chars.get(start) == Some(&' ') {
            start += 1;
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// How many of `chars` fit on one line: up to the last break opportunity that fits, or
/// as many characters as fit when a word is longer than the line (at least one).
fn line_end(fonts: &Fonts, chars: &[char], size: f32, width: f32) -> usize {
    let mut used = 0.0;
    let mut last_break = None;
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && may_break_before(chars[i - 1], c) {
            last_break = Some(i);
        }
        used += fonts.glyph(c).advance * size;
        if used > width && c != ' ' {
            return last_break.unwrap_or(i.max(1));
        }
    }
    chars.len()
}

/// Break opportunities: after a space or hyphen; before or after a CJK character,
/// except before closing punctuation and after opening brackets.
fn may_break_before(prev: char, next: char) -> bool {
    if next == ' ' || is_closing(next) || is_opening(prev) {
        return false;
    }
    prev == ' ' || prev == '-' || prev == '/' || is_wide(prev) || is_wide(next)
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF     // Hangul Jamo
        | 0x2E80..=0x303F   // CJK radicals, symbols and punctuation
        | 0x3040..=0x30FF   // kana
        | 0x3100..=0x31FF   // Bopomofo, Hangul compatibility Jamo, kana extensions
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF00..=0xFFEF) // half- and full-width forms
}

fn is_closing(c: char) -> bool {
    "、。，．・：；？！）」』】〕〉》）ー～ぁぃぅぇぉっゃゅょァィゥェォッャュョ,.:;!?)]}"
        .contains(c)
}

fn is_opening(c: char) -> bool {
    "（「『【〔〈《([{".contains(c)
}
