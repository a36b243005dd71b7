//! The embedded fonts and per-character fallback: each character is set in the first
//! font that has a glyph for it — DejaVu Sans (Latin, Cyrillic), then Droid Sans Fallback
//! (CJK, kana, Hangul). See `assets/fonts/README.md`.

use anyhow::{Context as _, anyhow};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

/// Latin, Greek and Cyrillic.
static DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
/// CJK ideographs, kana, Hangul.
static DROID_SANS_FALLBACK: &[u8] = include_bytes!("../../../assets/fonts/DroidSansFallback.ttf");

/// One font: the PDF writer's handle plus what layout needs to measure.
struct Face {
    font: krilla::text::Font,
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    units_per_em: f32,
}

/// The fonts in fallback order.
pub(crate) struct Fonts {
    faces: Vec<Face>,
}

/// Where a character is drawn from and how wide it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Glyph {
    /// Index of the font in fallback order.
    pub face: usize,
    /// Glyph id in that font (0, the missing-glyph box, when no font has one).
    pub id: u32,
    /// Advance width as a fraction of the font size.
    pub advance: f32,
}

impl Fonts {
    /// Loads the fonts built into the binary.
    pub fn embedded() -> anyhow::Result<Self> {
        let faces = [
            ("DejaVuSans.ttf", DEJAVU_SANS),
            ("DroidSansFallback.ttf", DROID_SANS_FALLBACK),
        ]
        .into_iter()
        .map(|(name, data)| face(data).with_context(|| format!("assets/fonts/{name}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { faces })
    }

    /// The glyph for `c` from the first font that has one; otherwise the first font's
    /// missing-glyph box (the character stays in the text layer either way).
    pub fn glyph(&self, c: char) -> Glyph {
        let found = self
            .faces
            .iter()
            .enumerate()
            .find_map(|(i, f)| f.charmap.map(c).map(|id| (i, id)));
        let (face, id) = found.unwrap_or((0, skrifa::GlyphId::NOTDEF));
        let f = &self.faces[face];
        let advance = f.metrics.advance_width(id).unwrap_or(0.0) / f.units_per_em;
        Glyph {
            face,
            id: id.to_u32(),
            advance,
        }
    }

    /// Width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.glyph(c).advance).sum::<f32>() * size
    }

    /// The PDF writer's handle for font `face`.
    pub fn font(&self, face: usize) -> krilla::text::Font {
        self.faces[face].font.clone()
    }
}

fn face(data: &'static [u8]) -> anyhow::Result<Face> {
    let font_ref = FontRef::new(data).map_err(|e| anyhow!("unreadable font: {e}"))?;
    let units_per_em = font_ref
        .metrics(Size::unscaled(), LocationRef::default())
        .units_per_em;
    if units_per_em == 0 {
        return Err(anyhow!("font has no units per em"));
    }
    let font = krilla::text::Font::new(data.into(), 0)
        .ok_or_else(|| anyhow!("the PDF writer cannot read the font"))?;
    Ok(Face {
        font,
        charmap: font_ref.charmap(),
        metrics: font_ref.glyph_metrics(Size::unscaled(), LocationRef::default()),
        units_per_em: f32::from(units_per_em),
    })
}
