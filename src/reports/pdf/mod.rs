//! The PDF: A4 pages with a running header (incident reference, report, version and
//! hash), the report's sections, and page numbers. Text is set glyph by glyph from the
//! embedded fonts (subset into the file) with its Unicode text attached, so it can be
//! selected, searched and extracted (`pdftotext`).
//!
//! Written with `krilla` (the PDF writer behind Typst): it subsets TrueType fonts, writes
//! ToUnicode maps for every glyph run, and needs no system fonts or native libraries.

mod fonts;
pub(crate) mod layout;

use anyhow::anyhow;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{GlyphId, KrillaGlyph};

pub(crate) use fonts::Fonts;
use layout::{Flow, LEFT, PAGE_HEIGHT, PAGE_WIDTH, Placed, Style, WIDTH};

use super::view::{Heading, ItemRow, ReportView, Row};

const TITLE: Style = Style::plain(15.0, 0);
const HEADING: Style = Style::plain(12.0, 0);
const LABEL: Style = Style::plain(10.0, 0);
const BODY: Style = Style::plain(9.5, 0);
const META_LABEL: Style = Style::plain(8.5, 60);
const ENGLISH: Style = Style::plain(7.5, 100);
const NOTE: Style = Style::plain(8.5, 90);
const SMALL: Style = Style::plain(7.0, 110);
const MISSING: Style = Style {
    size: 9.5,
    grey: 0,
    alert: true,
};
/// Width of the label or number column.
const META_COLUMN: f32 = 130.0;
const NUMBER_COLUMN: f32 = 64.0;
/// Blocks up to this tall move to the next page whole rather than split.
const KEEP_WHOLE: f32 = 240.0;

impl Style {
    const fn plain(size: f32, grey: u8) -> Self {
        Style {
            size,
            grey,
            alert: false,
        }
    }
}

/// Lays out and writes the PDF of `view`.
pub(crate) fn render(fonts: &Fonts, view: &ReportView) -> anyhow::Result<Vec<u8>> {
    let pages = compose(fonts, view);
    let total = pages.len();
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(view.title.clone())
            .language(view.language.clone())
            .creator("Breachline".into()),
    );
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| anyhow!("invalid page size"))?;
    for (i, placed) in pages.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        running_header(&mut surface, fonts, view, i + 1, total);
        for p in placed {
            draw(&mut surface, fonts, p);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| anyhow!("writing the report PDF: {e:?}"))
}

/// The report's sections, flowed onto pages.
fn compose(fonts: &Fonts, view: &ReportView) -> Vec<Vec<Placed>> {
    let mut flow = Flow::new(fonts);
    flow.text(&view.title, TITLE, LEFT, WIDTH);
    if let Some(en) = &view.title_en {
        flow.text(en, NOTE, LEFT, WIDTH);
    }
    flow.space(8.0);
    rows(&mut flow, &view.meta);
    for note in &view.notes {
        flow.space(3.0);
        flow.text(note, NOTE, LEFT, WIDTH);
    }
    heading(&mut flow, &view.missing_heading);
    match &view.complete {
        Some(complete) => flow.text(complete, BODY, LEFT, WIDTH),
        None => {
            for m in &view.missing {
                flow.text(m, MISSING, LEFT, WIDTH);
            }
        }
    }
    heading(&mut flow, &view.items_heading);
    for item in &view.items {
        item_row(&mut flow, item);
    }
    heading(&mut flow, &view.deadlines_heading);
    rows(&mut flow, &view.deadlines);
    heading(&mut flow, &view.proof_heading);
    rows(&mut flow, &view.proof);
    flow.finish()
}

fn heading(flow: &mut Flow<'_>, h: &Heading) {
    flow.space(10.0);
    flow.keep(HEADING.leading() + 4.0 * BODY.leading());
    flow.text(&h.text, HEADING, LEFT, WIDTH);
    if let Some(en) = &h.text_en {
        flow.text(en, ENGLISH, LEFT, WIDTH);
    }
    flow.rule();
    flow.space(2.0);
}

/// Label on the left, lines on the right.
fn rows(flow: &mut Flow<'_>, rows: &[Row]) {
    for row in rows {
        let mut left = lines(flow, &row.label, META_LABEL, META_COLUMN - 8.0);
        if let Some(en) = &row.label_en {
            left.extend(lines(flow, en, ENGLISH, META_COLUMN - 8.0));
        }
        let right = row
            .lines
            .iter()
            .flat_map(|l| lines(flow, l, BODY, WIDTH - META_COLUMN))
            .collect();
        columns(flow, left, right, META_COLUMN);
        flow.space(3.0);
    }
}

/// Number on the left; label, English label, value, note and source on the right.
fn item_row(flow: &mut Flow<'_>, item: &ItemRow) {
    let width = WIDTH - NUMBER_COLUMN;
    let label_style = if item.missing {
        Style {
            size: LABEL.size,
            ..MISSING
        }
    } else {
        LABEL
    };
    let mut right = lines(flow, &item.label, label_style, width);
    if let Some(en) = &item.label_en {
        right.extend(lines(flow, en, ENGLISH, width));
    }
    for line in &item.lines {
        right.extend(lines(flow, line, BODY, width));
    }
    if let Some(note) = &item.note {
        right.extend(lines(flow, note, NOTE, width));
    }
    right.extend(lines(flow, &item.source, SMALL, width));
    let left = lines(flow, &item.number, BODY, NUMBER_COLUMN - 6.0);
    columns(flow, left, right, NUMBER_COLUMN);
    flow.space(5.0);
}

fn lines(flow: &Flow<'_>, text: &str, style: Style, width: f32) -> Vec<(String, Style)> {
    flow.wrap(text, style, width)
        .into_iter()
        .map(|l| (l, style))
        .collect()
}

/// Two columns line by line; a block of up to [`KEEP_WHOLE`] points is kept on one
/// page, a taller one keeps at least its first lines together.
fn columns(
    flow: &mut Flow<'_>,
    left: Vec<(String, Style)>,
    right: Vec<(String, Style)>,
    offset: f32,
) {
    let whole: f32 = right.iter().map(|(_, s)| s.leading()).sum();
    let head: f32 = right.iter().take(4).map(|(_, s)| s.leading()).sum();
    flow.keep(if whole <= KEEP_WHOLE { whole } else { head });
    let mut left = left.into_iter();
    for (text, style) in right {
        if let Some((l, l_style)) = left.next() {
            flow.keep(style.leading());
            flow.beside(l, l_style, LEFT, style);
        }
        flow.line(text, style, LEFT + offset);
    }
    for (l, style) in left {
        flow.line(l, style, LEFT);
    }
}

fn running_header(
    surface: &mut Surface<'_>,
    fonts: &Fonts,
    view: &ReportView,
    n: usize,
    total: usize,
) {
    let header = fit(fonts, &view.header, SMALL.size, WIDTH);
    draw_text(surface, fonts, LEFT, 40.0, SMALL, &header);
    let stamp = fit(fonts, &view.stamp, SMALL.size, WIDTH);
    draw_text(surface, fonts, LEFT, 50.0, SMALL, &stamp);
    draw_rule(surface, 56.0);
    let page = view
        .page
        .replace("{n}", &n.to_string())
        .replace("{total}", &total.to_string());
    let x = LEFT + (WIDTH - fonts.width(&page, SMALL.size)) / 2.0;
    draw_text(surface, fonts, x, PAGE_HEIGHT - 36.0, SMALL, &page);
}

/// `text` cut to `width` with an ellipsis.
fn fit(fonts: &Fonts, text: &str, size: f32, width: f32) -> String {
    if fonts.width(text, size) <= width {
        return text.to_owned();
    }
    let room = width - fonts.width("…", size);
    let mut used = 0.0;
    let mut out: String = text
        .chars()
        .take_while(|c| {
            used += fonts.glyph(*c).advance * size;
            used <= room
        })
        .collect();
    out.push('…');
    out
}

fn draw(surface: &mut Surface<'_>, fonts: &Fonts, placed: &Placed) {
    match placed {
        Placed::Text { x, y, style, text } => draw_text(surface, fonts, *x, *y, *style, text),
        Placed::Rule { y } => draw_rule(surface, *y),
    }
}

fn draw_rule(surface: &mut Surface<'_>, y: f32) {
    let Some(rect) = Rect::from_xywh(LEFT, y, WIDTH, 0.5) else {
        return;
    };
    let mut path = PathBuilder::new();
    path.push_rect(rect);
    if let Some(path) = path.finish() {
        surface.set_fill(Some(fill(Style::plain(0.0, 150))));
        surface.draw_path(&path);
    }
}

/// Draws one line, switching fonts where the fallback font takes over.
fn draw_text(surface: &mut Surface<'_>, fonts: &Fonts, x: f32, y: f32, style: Style, text: &str) {
    surface.set_fill(Some(fill(style)));
    let mut x = x;
    let mut runs: Vec<(usize, usize, Vec<KrillaGlyph>)> = Vec::new();
    for (at, c) in text.char_indices() {
        let g = fonts.glyph(c);
        let start = match runs.last() {
            Some((face, start, _)) if *face == g.face => *start,
            _ => {
                runs.push((g.face, at, Vec::new()));
                at
            }
        };
        if let Some((_, _, glyphs)) = runs.last_mut() {
            let range = at - start..at - start + c.len_utf8();
            glyphs.push(KrillaGlyph::new(
                GlyphId::new(g.id),
                g.advance,
                0.0,
                0.0,
                0.0,
                range,
                None,
            ));
        }
    }
    let ends: Vec<usize> = runs
        .iter()
        .skip(1)
        .map(|(_, start, _)| *start)
        .chain(std::iter::once(text.len()))
        .collect();
    for ((face, start, glyphs), end) in runs.into_iter().zip(ends) {
        let run = &text[start..end];
        surface.draw_glyphs(
            Point::from_xy(x, y),
            &glyphs,
            fonts.font(face),
            run,
            style.size,
            false,
        );
        x += glyphs.iter().map(|g| g.x_advance).sum::<f32>() * style.size;
    }
}

fn fill(style: Style) -> Fill {
    let color = if style.alert {
        rgb::Color::new(176, 0, 0)
    } else {
        rgb::Color::new(style.grey, style.grey, style.grey)
    };
    Fill {
        paint: color.into(),
        ..Fill::default()
    }
}
