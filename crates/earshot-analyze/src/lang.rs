//! Language identification.
//!
//! Order of trust: a language the network declared (`source: "declared"`), then a vote of
//! frequent function words ("stopwords") when it is clear, then `whatlang` restricted to the
//! languages earshot knows, cross-checked with the vote. Short or non-Latin texts come out as
//! `und` rather than a guess. Codes are ISO 639-1; Norwegian (whatlang's `nob`) is `no`.

use crate::text::Prepared;
use earshot_core::analysis::{Language, LanguageFinding};

/// The languages with built-in word lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Lang {
    En = 0,
    Da,
    It,
    De,
    Fr,
    Es,
    Pt,
    Nl,
    Sv,
    No,
}

impl Lang {
    pub const ALL: [Lang; 10] = [
        Lang::En,
        Lang::Da,
        Lang::It,
        Lang::De,
        Lang::Fr,
        Lang::Es,
        Lang::Pt,
        Lang::Nl,
        Lang::Sv,
        Lang::No,
    ];

    /// ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Da => "da",
            Lang::It => "it",
            Lang::De => "de",
            Lang::Fr => "fr",
            Lang::Es => "es",
            Lang::Pt => "pt",
            Lang::Nl => "nl",
            Lang::Sv => "sv",
            Lang::No => "no",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }

    /// Reads ISO 639-1/639-3 codes and BCP-47 tags (`en-GB`, `nb`, `nno`, `dan`).
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        Some(match primary.as_str() {
            "en" | "eng" => Lang::En,
            "da" | "dan" => Lang::Da,
            "it" | "ita" => Lang::It,
            "de" | "deu" | "ger" => Lang::De,
            "fr" | "fra" | "fre" => Lang::Fr,
            "es" | "spa" => Lang::Es,
            "pt" | "por" => Lang::Pt,
            "nl" | "nld" | "dut" => Lang::Nl,
            "sv" | "swe" => Lang::Sv,
            "no" | "nb" | "nn" | "nor" | "nob" | "nno" => Lang::No,
            _ => return None,
        })
    }

    fn from_whatlang(l: whatlang::Lang) -> Option<Lang> {
        Some(match l {
            whatlang::Lang::Eng => Lang::En,
            whatlang::Lang::Dan => Lang::Da,
            whatlang::Lang::Ita => Lang::It,
            whatlang::Lang::Deu => Lang::De,
            whatlang::Lang::Fra => Lang::Fr,
            whatlang::Lang::Spa => Lang::Es,
            whatlang::Lang::Por => Lang::Pt,
            whatlang::Lang::Nld => Lang::Nl,
            whatlang::Lang::Swe => Lang::Sv,
            whatlang::Lang::Nob => Lang::No,
            _ => return None,
        })
    }

    fn to_whatlang(self) -> whatlang::Lang {
        match self {
            Lang::En => whatlang::Lang::Eng,
            Lang::Da => whatlang::Lang::Dan,
            Lang::It => whatlang::Lang::Ita,
            Lang::De => whatlang::Lang::Deu,
            Lang::Fr => whatlang::Lang::Fra,
            Lang::Es => whatlang::Lang::Spa,
            Lang::Pt => whatlang::Lang::Por,
            Lang::Nl => whatlang::Lang::Nld,
            Lang::Sv => whatlang::Lang::Swe,
            Lang::No => whatlang::Lang::Nob,
        }
    }
}

/// Normalises a network-declared language tag: ISO 639-1 where earshot knows the language,
/// the tag's primary subtag (lowercase) otherwise, `None` for empty/`und`.
pub fn normalise_declared(tag: &str) -> Option<String> {
    let t = tag.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(l) = Lang::from_code(t) {
        return Some(l.code().to_string());
    }
    let primary = t
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if primary.is_empty() || primary == "und" || primary == "zxx" || primary == "qme" {
        return None;
    }
    if primary.len() > 8 || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Some(primary)
}

/// The result of identification, before it is turned into a [`LanguageFinding`].
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    /// `None` means undetermined.
    pub lang: Option<Lang>,
    /// A declared code outside the built-in languages (e.g. `ja`), kept as the network gave it.
    pub other: Option<String>,
    pub confidence: f32,
    pub source: &'static str,
}

impl Detected {
    pub fn finding(&self) -> LanguageFinding {
        let language = match (&self.lang, &self.other) {
            (Some(l), _) => Language::new(l.code()),
            (None, Some(code)) => Language::new(code),
            (None, None) => Language::unknown(),
        };
        LanguageFinding {
            language,
            confidence: self.confidence,
            source: self.source.to_string(),
        }
    }

    fn und(source: &'static str) -> Self {
        Detected {
            lang: None,
            other: None,
            confidence: 0.0,
            source,
        }
    }
}

/// Language identification with a whatlang detector built once.
#[derive(Debug, Clone)]
pub struct LanguageDetector {
    whatlang: whatlang::Detector,
}

impl Default for LanguageDetector {
    fn default() -> Self {
        Self::new()
    }
}

/// Fewer Latin letters than this and the text is too short to call.
const MIN_LETTERS: u32 = 4;

impl LanguageDetector {
    pub fn new() -> Self {
        LanguageDetector {
            whatlang: whatlang::Detector::with_allowlist(
                Lang::ALL.iter().map(|l| l.to_whatlang()).collect(),
            ),
        }
    }

    /// `votes` are the stopword votes per [`Lang::index`] (plus the foreign-language vote
    /// last), from the lexicon pass.
    pub fn detect(&self, declared: Option<&str>, text: &Prepared, votes: &[f32; 11]) -> Detected {
        if let Some(tag) = declared {
            if let Some(code) = normalise_declared(tag) {
                return Detected {
                    lang: Lang::from_code(&code),
                    other: if Lang::from_code(&code).is_none() {
                        Some(code)
                    } else {
                        None
                    },
                    confidence: 1.0,
                    source: "declared",
                };
            }
        }
        let st = &text.stats;
        if st.latin_letters < MIN_LETTERS {
            return Detected::und(if st.other_letters > st.latin_letters {
                "script"
            } else {
                "too_short"
            });
        }
        // Mostly another script (Arabic, Devanagari, CJK, Cyrillic...): not a language we read.
        if st.other_letters > st.latin_letters {
            return Detected::und("script");
        }

        let foreign = votes[crate::lexicon::FOREIGN_VOTE];
        let mut votes: [f32; 10] = std::array::from_fn(|i| votes[i]);
        letter_hints(&text.clean, &mut votes);
        let votes = &votes;
        let (top, top_votes, second_votes) = ranked(votes);
        // Romanised Hindi, Indonesian, Turkish...: better unknown than a confident wrong guess.
        if foreign >= 2.0 && foreign >= top_votes {
            return Detected::und("stopwords");
        }
        // A clear stopword vote is both faster and, on tweets, more accurate than trigrams.
        if top_votes >= 2.0 && top_votes >= 2.0 * second_votes + 1.0 {
            let confidence = (0.6 + 0.1 * (top_votes - second_votes)).min(0.99);
            return Detected {
                lang: Some(top),
                other: None,
                confidence,
                source: "stopwords",
            };
        }

        // Trigrams cost ~300 look-ups per candidate language: when the vote has a shortlist,
        // ask whatlang only about it.
        let info = if top_votes > 0.0 {
            let mut ranked: Vec<Lang> = Lang::ALL.to_vec();
            ranked.sort_by(|a, b| votes[b.index()].total_cmp(&votes[a.index()]));
            ranked.truncate(SHORTLIST);
            whatlang::Detector::with_allowlist(ranked.iter().map(|l| l.to_whatlang()).collect())
                .detect(&text.clean)
        } else {
            self.whatlang.detect(&text.clean)
        };
        let (wl, wl_conf) = match info
            .and_then(|i| Lang::from_whatlang(i.lang()).map(|l| (l, i.confidence() as f32)))
        {
            Some(x) => x,
            None => {
                if top_votes >= 1.0 && top_votes > second_votes {
                    return Detected {
                        lang: Some(top),
                        other: None,
                        confidence: 0.4,
                        source: "stopwords",
                    };
                }
                return Detected::und("whatlang");
            }
        };
        let wl_votes = votes[wl.index()];
        // Trigrams and stopwords disagree: trust the words when they clearly favour another
        // language and trigrams were unsure.
        if top_votes >= 1.0 && top != wl && top_votes >= wl_votes + OVERRIDE && wl_conf < 0.9 {
            return Detected {
                lang: Some(top),
                other: None,
                confidence: 0.5,
                source: "stopwords+whatlang",
            };
        }
        let letters = st.latin_letters;
        if wl_votes == 0.0 && wl_conf < 0.2 && letters < 20 {
            return Detected::und("whatlang");
        }
        let agree_bonus = if wl_votes > 0.0 { 0.2 } else { 0.0 };
        Detected {
            lang: Some(wl),
            other: None,
            confidence: (0.3 + 0.5 * wl_conf + agree_bonus).min(0.99),
            source: "whatlang",
        }
    }
}

/// Languages whatlang chooses between when the stopword vote has favourites.
const SHORTLIST: usize = 4;

/// How many more votes than whatlang's pick the stopword favourite needs to overrule it.
const OVERRIDE: f32 = 1.0;

/// Letters that only some languages use (ß, ñ, ã, ø, ...) add half a vote each, once per
/// letter kind: cheap, and decisive for short posts.
fn letter_hints(clean: &str, votes: &mut [f32; 10]) {
    if clean.is_ascii() {
        return;
    }
    let mut seen = 0u32;
    for c in clean.chars().filter(|c| !c.is_ascii()) {
        let (bit, langs): (u32, &[Lang]) = match c {
            'ß' => (0, &[Lang::De]),
            'ü' => (1, &[Lang::De]),
            'ä' | 'ö' => (2, &[Lang::De, Lang::Sv]),
            'æ' | 'ø' => (3, &[Lang::Da, Lang::No]),
            'å' => (4, &[Lang::Da, Lang::No, Lang::Sv]),
            'ñ' => (5, &[Lang::Es]),
            'ã' | 'õ' => (6, &[Lang::Pt]),
            'ç' => (7, &[Lang::Pt, Lang::Fr]),
            'ê' | 'ô' => (8, &[Lang::Fr, Lang::Pt]),
            'è' | 'ù' => (9, &[Lang::Fr, Lang::It]),
            'à' => (10, &[Lang::Fr, Lang::It, Lang::Pt]),
            'â' | 'î' | 'û' | 'œ' => (11, &[Lang::Fr]),
            'ì' | 'ò' => (12, &[Lang::It]),
            'í' | 'ó' | 'ú' | 'á' => (13, &[Lang::Es, Lang::Pt]),
            'é' => (14, &[Lang::Fr, Lang::Es, Lang::Pt, Lang::It]),
            _ => continue,
        };
        if seen & (1 << bit) != 0 {
            continue;
        }
        seen |= 1 << bit;
        let w = 0.5 / langs.len() as f32;
        for l in langs {
            votes[l.index()] += w;
        }
    }
}

fn ranked(votes: &[f32; 10]) -> (Lang, f32, f32) {
    let mut top = Lang::En;
    let mut top_v = f32::MIN;
    let mut second_v = f32::MIN;
    for l in Lang::ALL {
        let v = votes[l.index()];
        if v > top_v {
            second_v = top_v;
            top_v = v;
            top = l;
        } else if v > second_v {
            second_v = v;
        }
    }
    (top, top_v.max(0.0), second_v.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for l in Lang::ALL {
            assert_eq!(Lang::from_code(l.code()), Some(l));
        }
        assert_eq!(Lang::from_code("nb-NO"), Some(Lang::No));
        assert_eq!(Lang::from_code("nno"), Some(Lang::No));
        assert_eq!(Lang::from_code("en_GB"), Some(Lang::En));
        assert_eq!(normalise_declared("ja-JP").as_deref(), Some("ja"));
        assert_eq!(normalise_declared("und"), None);
        assert_eq!(normalise_declared(""), None);
        assert_eq!(normalise_declared("DA").as_deref(), Some("da"));
    }

    #[test]
    fn whatlang_norwegian_maps_to_no() {
        assert_eq!(Lang::from_whatlang(whatlang::Lang::Nob), Some(Lang::No));
    }
}
