//! The labelled texts that train and measure language identification.
//!
//! Every labelled set of `shared/data` ([`data::all`]: each text's language is known) is
//! measured on its validation part; the sets in [`LEARNING_SETS`] also train on their
//! training part. Two more sources fill what the shared data lacks: the Leipzig-corpus
//! sentences that the Lingua language-model crates ship as their test data (the only Dutch
//! text there is, and more Danish, Norwegian and Swedish prose; split 70/30 like any one-file
//! set, their word pairs train only), and the words and phrases of earshot's own hand-written
//! lexicon (training only). Then [`overlap::training_pool`] drops every training text whose
//! normalised text is in any validation part, so no text is both learned and measured.

use crate::data::{self, Example, Licence, Split};
use crate::langid::LangIdError;
use crate::overlap::{self, Removed};
use earshot_analyze::lang::Lang;
use std::collections::BTreeMap;
use std::path::Path;

/// What kind of writing a set holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tweets,
    /// Edited prose: reviews, news and web sentences.
    Prose,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tweets => "tweets",
            Kind::Prose => "prose",
        }
    }

    /// The kind of a set's writing, by its name.
    pub fn of(set: &str) -> Kind {
        match set {
            "norec-sentence" | "lcc-danish-sentiment" | "clap-app-reviews" | LINGUA => Kind::Prose,
            _ => Kind::Tweets,
        }
    }
}

/// The shared sets whose training parts teach the model: posts and sentences whose language
/// is sure. (sentiment140 and the other English sets hold a few posts in other languages
/// under `en`; TweetEval and XLM-T give English enough.)
pub const LEARNING_SETS: &[&str] = &[
    "tweeteval-sentiment",
    "semeval2016-devtest",
    "sentiment140-sample",
    "airline-tweets",
    "complaints-twitter",
    "xlmt-sentiment",
    "mozetic-twitter-sentiment",
    "swe-sentiment-emoji",
    "norec-sentence",
    "lcc-danish-sentiment",
];

/// Lingua's test data (`set` of its examples).
pub const LINGUA: &str = "lingua test data";
pub const LINGUA_TERMS: &str =
    "Apache-2.0 (Lingua language-model crates 1.3; Leipzig Corpora Collection sentences)";
/// earshot's own word lists (`set` of their examples).
pub const LEXICON: &str = "earshot lexicon";
pub const LEXICON_TERMS: &str = "earshot's own hand-written word lists (AGPL-3.0-or-later)";

/// Texts measured together: one language of one set's validation part.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSet {
    /// e.g. `xlmt-sentiment german`.
    pub name: String,
    pub kind: Kind,
    /// The code every text should get: a served language, or `und` for one earshot does
    /// not serve.
    pub expected: &'static str,
    pub texts: Vec<String>,
}

/// The training texts and the measured sets, with no normalised text in both.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Training texts of the served Latin-script languages from the learning sets.
    pub train: Vec<Example>,
    pub eval: Vec<EvalSet>,
    /// What the overlap rule took out of the training texts.
    pub removed: Removed,
}

/// Which sets to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Leave out the sets licensed for non-commercial use only.
    pub commercial_only: bool,
}

/// The code a text of `lang` should get: itself where earshot serves it, `und` otherwise.
fn expected(lang: &'static str) -> &'static str {
    if lang == "ar" || Lang::from_code(lang).is_some() {
        lang
    } else {
        "und"
    }
}

impl Corpus {
    /// Reads every set from `data` (the `shared/data` folder), Lingua's test data and the
    /// lexicon.
    pub fn load(data: &Path, options: Options) -> Result<Corpus, LangIdError> {
        let mut all = data::all(data)?;
        // XLM-T's Hindi (romanised, Devanagari, some English) is measured only: how often a
        // language earshot does not serve comes out `und`.
        for (text, _) in earshot_analyze::eval::xlmt(data, "hindi", "val")? {
            all.push(Example::new(
                "xlmt-sentiment",
                "hindi",
                "hi",
                Split::Val,
                text,
            ));
        }
        all.extend(lingua()?);
        for (lang, phrase) in earshot_analyze::lexicon::vocabulary() {
            all.push(Example::new(
                LEXICON,
                "",
                lang.code(),
                Split::Train,
                phrase.into(),
            ));
        }
        if options.commercial_only {
            all.retain(|e| {
                data::set_info(e.set).is_none_or(|s| s.licence != Licence::NonCommercial)
            });
        }
        Ok(Corpus::from_examples(&all))
    }

    /// Splits labelled examples into the training pool and the measured sets.
    pub fn from_examples(all: &[Example]) -> Corpus {
        let (pool, removed) = overlap::training_pool(all);
        let train = pool
            .into_iter()
            .filter(|e| {
                (LEARNING_SETS.contains(&e.set) || e.set == LINGUA || e.set == LEXICON)
                    && Lang::from_code(e.lang).is_some()
            })
            .collect();
        let mut groups: BTreeMap<(&str, &str, &str), Vec<String>> = BTreeMap::new();
        for e in all.iter().filter(|e| e.split == Split::Val) {
            groups
                .entry((e.set, e.part, e.lang))
                .or_default()
                .push(e.text.clone());
        }
        let eval = groups
            .into_iter()
            .map(|((set, part, lang), texts)| EvalSet {
                name: if part.is_empty() {
                    set.to_string()
                } else {
                    format!("{set} {part}")
                },
                kind: Kind::of(set),
                expected: expected(lang),
                texts,
            })
            .collect();
        Corpus {
            train,
            eval,
            removed,
        }
    }

    /// Training texts whose normalised text is also measured (none, by construction).
    pub fn overlap(&self) -> usize {
        let measured: Vec<Example> = self
            .eval
            .iter()
            .flat_map(|s| s.texts.iter())
            .map(|t| Example::new("", "", "", Split::Val, t.clone()))
            .collect();
        overlap::shared_texts(&self.train, &measured)
    }
}

/// Lingua's sentences, split 70/30 by normalised text, and its word pairs (training only).
fn lingua() -> Result<Vec<Example>, LangIdError> {
    use include_dir::Dir;
    let dirs: [(&'static str, &'static str, &Dir<'static>); 5] = [
        (
            "danish",
            "da",
            &lingua_danish_language_model::DANISH_TESTDATA_DIRECTORY,
        ),
        (
            "dutch",
            "nl",
            &lingua_dutch_language_model::DUTCH_TESTDATA_DIRECTORY,
        ),
        (
            "bokmal",
            "no",
            &lingua_bokmal_language_model::BOKMAL_TESTDATA_DIRECTORY,
        ),
        (
            "nynorsk",
            "no",
            &lingua_nynorsk_language_model::NYNORSK_TESTDATA_DIRECTORY,
        ),
        (
            "swedish",
            "sv",
            &lingua_swedish_language_model::SWEDISH_TESTDATA_DIRECTORY,
        ),
    ];
    let mut out = Vec::new();
    for (name, lang, dir) in dirs {
        let lines = |file: &str| -> Result<Vec<String>, LangIdError> {
            let f = dir
                .get_file(file)
                .and_then(|f| f.contents_utf8())
                .ok_or(LangIdError::Lingua(name))?;
            Ok(f.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect())
        };
        for text in lines("sentences.txt")? {
            let split = if data::in_train_part(&text) {
                Split::Train
            } else {
                Split::Val
            };
            out.push(Example::new(LINGUA, name, lang, split, text));
        }
        for text in lines("word-pairs.txt")? {
            out.push(Example::new(LINGUA, name, lang, Split::Train, text));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_texts_never_train() {
        let all = vec![
            Example::new(
                "xlmt-sentiment",
                "english",
                "en",
                Split::Train,
                "Great phone, love it! https://t.co/x".into(),
            ),
            Example::new(
                "tweeteval-sentiment",
                "",
                "en",
                Split::Train,
                "@user great PHONE love it".into(),
            ),
            Example::new(
                "tweeteval-sentiment",
                "",
                "en",
                Split::Train,
                "A different tweet".into(),
            ),
            Example::new(
                "semeval2016-devtest",
                "",
                "en",
                Split::Val,
                "great phone... love it".into(),
            ),
            // Measured, but not a learning set: it never trains.
            Example::new(
                "sanders-twitter",
                "",
                "en",
                Split::Train,
                "Another one".into(),
            ),
            Example::new(
                "xlmt-sentiment",
                "hindi",
                "hi",
                Split::Val,
                "kya hua".into(),
            ),
        ];
        let c = Corpus::from_examples(&all);
        assert_eq!(c.overlap(), 0);
        assert_eq!(c.removed.overlapping, 2);
        let texts: Vec<&str> = c.train.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["A different tweet"]);
        let expected: Vec<(&str, &str)> = c
            .eval
            .iter()
            .map(|s| (s.name.as_str(), s.expected))
            .collect();
        assert_eq!(
            expected,
            [
                ("semeval2016-devtest", "en"),
                ("xlmt-sentiment hindi", "und")
            ]
        );
    }

    #[test]
    fn real_corpus_has_no_text_both_trained_and_measured() {
        let Some(data) = data::for_tests() else {
            return;
        };
        let c = Corpus::load(&data, Options::default()).expect("corpus");
        assert_eq!(c.overlap(), 0);
        for lang in Lang::ALL {
            let n = c.train.iter().filter(|e| e.lang == lang.code()).count();
            assert!(n >= 500, "{} has {n} training texts", lang.code());
        }
        let measured: Vec<&str> = c.eval.iter().map(|s| s.expected).collect();
        for lang in Lang::ALL {
            assert!(
                measured.contains(&lang.code()),
                "{} is never measured",
                lang.code()
            );
        }
        assert!(measured.contains(&"ar"));
        // Without the non-commercial sets, NoReC and the Swedish emoji set teach nothing.
        let open = Corpus::load(
            &data,
            Options {
                commercial_only: true,
            },
        )
        .expect("corpus");
        assert!(open.train.iter().all(|e| e.set != "norec-sentence"));
        assert!(open.train.len() < c.train.len());
    }
}
