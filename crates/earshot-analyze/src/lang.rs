//! Language identification.
//!
//! Order of trust: a language the network declared (`source: "declared"`); then the script
//! (Arabic is told by its letters; other non-Latin scripts are not served and come out
//! `und`); then the shipped character n-gram model ([`ngrams`]) over the Latin-script
//! languages, whose top probability must reach [`MIN_PROBABILITY`]. Too few letters
//! ("@brand ok?"), a clear vote of stopwords from unserved languages, or an unsure model
//! give `und` rather than a guess. Codes are ISO 639-1; Norwegian (Bokmål and Nynorsk) is
//! `no`.

pub mod ngrams;

use crate::text::Prepared;
use earshot_core::analysis::{Language, LanguageFinding};
use ngrams::{ModelError, NgramModel};

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
    /// A code outside the built-in languages: declared (`ja`, kept as the network gave it) or
    /// Arabic told by its script (`ar`).
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

/// The shipped model, read once from the bytes compiled into the binary.
static SHIPPED: std::sync::OnceLock<Result<NgramModel, ModelError>> = std::sync::OnceLock::new();

/// The language-ID model compiled into earshot (see `lang/README.md`).
pub fn shipped_model() -> Result<&'static NgramModel, &'static ModelError> {
    SHIPPED
        .get_or_init(|| NgramModel::from_bytes(SHIPPED_BYTES))
        .as_ref()
}

/// The bytes of `lang/langid.bin`, as `earshot-lab langid build` wrote them.
pub const SHIPPED_BYTES: &[u8] = include_bytes!("lang/langid.bin");

/// Language identification with the shipped n-gram model.
#[derive(Debug, Clone)]
pub struct LanguageDetector {
    /// `None` only if the shipped file were damaged (a test proves it is not): then every
    /// undeclared post is `und`, which callers already treat as "language not known".
    model: Option<&'static NgramModel>,
}

impl Default for LanguageDetector {
    fn default() -> Self {
        Self::new()
    }
}

/// Fewer Latin letters than this and the text is too short to call ("@brand ok?").
const MIN_LETTERS: u32 = 4;

/// Below this probability the best language is no likelier than all the others together: a
/// guess, reported as `und` (a wrong language would pick the wrong word lists and route the
/// post to the wrong team).
pub const MIN_PROBABILITY: f32 = 0.5;

/// Arabic-script letters that Persian and Urdu use and Arabic does not (پ چ ژ گ ک ی ٹ ڈ ڑ ں ھ
/// ہ ے): more than one in twenty of the script's letters and the text is not Arabic.
fn persian_or_urdu_letter(c: char) -> bool {
    matches!(
        c,
        '\u{067E}'
            | '\u{0686}'
            | '\u{0698}'
            | '\u{06AF}'
            | '\u{06A9}'
            | '\u{06CC}'
            | '\u{0679}'
            | '\u{0688}'
            | '\u{0691}'
            | '\u{06BA}'
            | '\u{06BE}'
            | '\u{06C1}'
            | '\u{06D2}'
    )
}

fn arabic_script_letter(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
        && c.is_alphabetic()
}

impl LanguageDetector {
    pub fn new() -> Self {
        let model = match shipped_model() {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::error!(error = %e, "the shipped language model does not load; languages will be und");
                None
            }
        };
        LanguageDetector { model }
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
        // Mostly another script: Arabic is read from its letters, the rest is not served.
        if st.other_letters > st.latin_letters {
            return detect_script(&text.clean, st.latin_letters + st.other_letters);
        }
        if st.latin_letters < MIN_LETTERS {
            return Detected::und("too_short");
        }
        // Romanised Hindi, Indonesian, Turkish...: better unknown than a confident wrong guess.
        let foreign = votes[crate::lexicon::FOREIGN_VOTE];
        let served = votes[..crate::lexicon::FOREIGN_VOTE]
            .iter()
            .copied()
            .fold(0f32, f32::max);
        if foreign >= 2.0 && foreign >= served {
            return Detected::und("stopwords");
        }
        let Some(model) = self.model else {
            return Detected::und("ngrams");
        };
        let scores = model.score(&text.clean);
        let ((best, p), _) = scores.top_two(model.classes().len());
        if p < MIN_PROBABILITY {
            return Detected::und("ngrams");
        }
        Detected {
            lang: model.classes().get(best).copied(),
            other: None,
            confidence: p,
            source: "ngrams",
        }
    }
}

/// A text mostly in a script other than Latin: Arabic when its letters are Arabic's.
fn detect_script(clean: &str, letters: u32) -> Detected {
    let (mut arabic, mut persian) = (0u32, 0u32);
    for c in clean.chars().filter(|c| !c.is_ascii()) {
        if arabic_script_letter(c) {
            arabic += 1;
            if persian_or_urdu_letter(c) {
                persian += 1;
            }
        }
    }
    if arabic >= MIN_LETTERS && 2 * arabic > letters && 20 * persian <= arabic {
        return Detected {
            lang: None,
            other: Some("ar".to_string()),
            confidence: (arabic as f32 / letters.max(1) as f32).min(0.99),
            source: "script",
        };
    }
    Detected::und("script")
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

    /// The shipped bytes are the ones its README names (the builder writes both; `langid
    /// build --check` proves the data still makes them).
    #[test]
    fn shipped_model_matches_the_checksum_in_its_readme() {
        use sha2::{Digest, Sha256};
        let readme = include_str!("lang/README.md");
        let named = readme
            .lines()
            .find_map(|l| l.strip_prefix("sha256: "))
            .expect("README names a sha256");
        assert_eq!(hex::encode(Sha256::digest(SHIPPED_BYTES)), named.trim());
        let model = shipped_model().expect("the shipped model loads");
        assert_eq!(model.classes(), &Lang::ALL);
        assert!(
            SHIPPED_BYTES.len() < 2 << 20,
            "{} bytes",
            SHIPPED_BYTES.len()
        );
    }

    fn detect(text: &str) -> Detected {
        detect_declared(text, None)
    }

    fn detect_declared(text: &str, declared: Option<&str>) -> Detected {
        let prepared = Prepared::new(text);
        let lex = crate::lexicon::Lexicon::global();
        let mut raw = Vec::new();
        lex.scan(&prepared, &mut raw);
        LanguageDetector::new().detect(declared, &prepared, &lex.votes(&raw))
    }

    fn code(d: &Detected) -> String {
        d.finding().language.code().to_string()
    }

    #[test]
    fn customer_posts_in_every_served_language() {
        let cases = [
            (
                "@AppleSupport my iphone keeps crashing since the update",
                "en",
            ),
            (
                "@KLM waaaarom is mijn vlucht geannuleerd?? #boos https://t.co/x1",
                "nl",
            ),
            (
                "Hallo, wann kommt meine Bestellung? Warte seit zwei Wochen",
                "de",
            ),
            ("Bonjour, quand arrive ma commande ?", "fr"),
            ("Ciao, quando arriva il mio ordine?", "it"),
            ("Hola, ¿cuándo llega mi pedido?", "es"),
            ("Olá, tudo bem? Quando chega a minha encomenda?", "pt"),
            (
                "Hej, hvornår kommer min ordre? Jeg har ventet i to uger",
                "da",
            ),
            (
                "Hei, når kommer bestillingen min? Jeg har ventet i to uker",
                "no",
            ),
            (
                "Hej, när kommer min beställning? Jag har väntat i två veckor",
                "sv",
            ),
            ("@user على فكره شركة محترمه حداعطوني كيبل كهديه", "ar"),
        ];
        for (text, want) in cases {
            let d = detect(text);
            assert_eq!(code(&d), want, "{text}: {d:?}");
            assert!(d.confidence >= MIN_PROBABILITY, "{text}: {d:?}");
        }
    }

    #[test]
    fn danish_norwegian_and_swedish_stay_apart() {
        for (text, want) in [
            ("Min pakke er stadig ikke leveret, hvad sker der?", "da"),
            ("Pakken min er fortsatt ikke levert, hva skjer?", "no"),
            (
                "Mitt paket har fortfarande inte levererats, vad händer?",
                "sv",
            ),
            ("Jeg har ikke set filmen endnu, men jeg glæder mig", "da"),
            ("Jeg har ikke sett filmen ennå, men jeg gleder meg", "no"),
            (
                "Jag har inte sett filmen än, men jag ser fram emot den",
                "sv",
            ),
        ] {
            assert_eq!(code(&detect(text)), want, "{text}");
        }
    }

    /// Too little to tell: unknown, never a confident wrong language.
    #[test]
    fn very_short_posts_are_unknown() {
        for text in [
            "@brand ok?",
            "@brand 👍👍",
            "lol",
            "@a @b 10/10",
            "#fail",
            "",
            "   ",
        ] {
            let d = detect(text);
            assert_eq!(code(&d), "und", "{text:?}: {d:?}");
            assert_eq!(d.confidence, 0.0);
        }
        // A greeting many languages share is not pinned on one of them.
        let d = detect("@brand hallo");
        assert!(
            code(&d) == "und" || d.confidence < 0.9,
            "@brand hallo: {d:?}"
        );
    }

    #[test]
    fn tweet_markup_does_not_change_the_answer() {
        let plain = detect("Warum ist mein Paket noch nicht da");
        for text in [
            "@DHLPaket Warum ist mein Paket noch nicht da?!? #ärgerlich https://t.co/AbC",
            "RT @someone: Waruuuuum ist mein Paket noch nicht da 😡😡",
        ] {
            assert_eq!(code(&detect(text)), code(&plain), "{text}");
        }
        // English hashtags and handles do not outvote the words.
        let d = detect("@UberEats mein Essen ist kalt angekommen #fail #customerservice");
        assert_eq!(code(&d), "de", "{d:?}");
    }

    /// Code-switching: the language most of the post is in, or unknown, never a third one.
    #[test]
    fn mixed_posts_get_one_of_their_languages() {
        for (text, allowed) in [
            (
                "Ich liebe dieses Handy, but the battery is terrible",
                ["de", "en"],
            ),
            (
                "The app is great pero no funciona el login desde ayer",
                ["en", "es"],
            ),
        ] {
            let got = code(&detect(text));
            assert!(
                allowed.contains(&got.as_str()) || got == "und",
                "{text}: {got}"
            );
        }
    }

    #[test]
    fn other_scripts_are_arabic_or_unknown() {
        assert_eq!(code(&detect("مرحبا كيف حالك اليوم")), "ar");
        assert_eq!(detect("مرحبا كيف حالك اليوم").source, "script");
        // Persian and Urdu share the script but not these letters.
        assert_eq!(code(&detect("من این کتاب را خیلی دوست دارم")), "und");
        assert_eq!(code(&detect("नमस्ते आप कैसे हैं")), "und");
        assert_eq!(code(&detect("Привет, как дела?")), "und");
        // Romanised Hindi votes for no served language.
        assert_eq!(code(&detect("kya hua bhai aaj mood nahi hai")), "und");
    }

    #[test]
    fn a_declared_language_wins() {
        let d = detect_declared("Warum ist mein Paket noch nicht da", Some("en-GB"));
        assert_eq!((code(&d).as_str(), d.source), ("en", "declared"));
        let d = detect_declared("日本語のテキスト", Some("ja"));
        assert_eq!(code(&d), "ja");
    }
}
