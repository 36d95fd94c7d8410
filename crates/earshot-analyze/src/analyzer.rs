//! The [`Analyzer`]: one call turns a post into an [`Analysis`]. Built once (automata, whatlang
//! detector, optional trained model) and shared between threads behind an `Arc`.

use crate::fingerprint;
use crate::intent::{self, IntentScores};
use crate::lang::{Detected, LanguageDetector};
use crate::lexicon::{Hit, Lexicon};
use crate::reach;
use crate::sentiment;
use crate::terms::{TermMatcher, Terms};
use crate::text::Prepared;
use crate::train::{self, Feature, Model, Prediction};
use crate::urgency;
use earshot_core::analysis::{Analysis, Evidence, IntentFinding, SentimentFinding};
use earshot_core::post::NewPost;

/// What the built-in rules made of a text, before any trained model or reach.
#[derive(Debug, Clone)]
pub(crate) struct Builtin {
    pub prepared: Prepared,
    pub detected: Detected,
    pub hits: Vec<Hit>,
    pub sentiment: SentimentFinding,
    pub intent: IntentFinding,
    pub intent_scores: IntentScores,
}

/// Understands posts. `Send + Sync`; build it once and share it.
#[derive(Debug, Clone)]
pub struct Analyzer {
    terms: TermMatcher,
    detector: LanguageDetector,
    model: Option<Model>,
    model_id: String,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new(&Terms::default())
    }
}

impl Analyzer {
    /// An analyzer with the built-in lexicon, listening for `terms`.
    pub fn new(terms: &Terms) -> Self {
        // Build the shared lexicon now rather than on the first post.
        let _ = Lexicon::global();
        Analyzer {
            terms: TermMatcher::new(terms),
            detector: LanguageDetector::new(),
            model: None,
            model_id: "builtin".to_string(),
        }
    }

    /// Uses a trained model for the tasks it holds (sentiment and/or intent).
    pub fn with_model(mut self, model: Model) -> Self {
        self.model_id = model.id();
        self.model = Some(model);
        self
    }

    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref()
    }

    /// Analyses a post as a source handed it over.
    pub fn analyze(&self, post: &NewPost) -> Analysis {
        self.analyze_parts(
            &post.text,
            post.lang.as_deref(),
            post.author.followers,
            post.author.verified,
        )
    }

    /// Analyses bare text (for tests, the CLI and imports without an author).
    pub fn analyze_text(
        &self,
        text: &str,
        declared_lang: Option<&str>,
        followers: Option<u64>,
    ) -> Analysis {
        self.analyze_parts(text, declared_lang, followers, false)
    }

    fn analyze_parts(
        &self,
        text: &str,
        declared_lang: Option<&str>,
        followers: Option<u64>,
        verified: bool,
    ) -> Analysis {
        let b = builtin(&self.detector, text, declared_lang);
        let mut sentiment = b.sentiment.clone();
        let mut intent = b.intent.clone();
        if let Some(model) = &self.model {
            let mut feats = Vec::with_capacity(b.prepared.tokens.len() * 6 + 16);
            train::features(&b, &mut feats);
            if let Some(tm) = &model.sentiment {
                let pred = tm.predict(&feats);
                sentiment = model_sentiment(&b, &pred, &self.model_id, &feats);
            }
            if let Some(tm) = &model.intent {
                let pred = tm.predict(&feats);
                intent = model_intent(&b, &pred, &self.model_id, &feats);
            }
        }
        let urgency = urgency::assess(&b.prepared, &b.hits, &sentiment, &intent);
        Analysis {
            language: b.detected.finding(),
            sentiment,
            intent,
            urgency,
            reach: reach::assess(followers, verified),
            fingerprint: fingerprint::simhash(&b.prepared),
            matches: self.terms.find(text),
            model: self.model_id.clone(),
        }
    }

    pub(crate) fn builtin(&self, text: &str, declared_lang: Option<&str>) -> Builtin {
        builtin(&self.detector, text, declared_lang)
    }
}

fn builtin(detector: &LanguageDetector, text: &str, declared_lang: Option<&str>) -> Builtin {
    let prepared = Prepared::new(text);
    let lex = Lexicon::global();
    let mut raw = Vec::with_capacity(16);
    lex.scan(&prepared.clean, &mut raw);
    let votes = lex.votes(&raw);
    let detected = detector.detect(declared_lang, &prepared, &votes);
    let mut hits = Vec::with_capacity(raw.len());
    lex.resolve(
        &raw,
        detected.lang,
        &prepared.clean,
        &prepared.tokens,
        &mut hits,
    );
    let sentiment = sentiment::score(&prepared, &hits, detected.lang);
    let (intent, intent_scores) = intent::classify(&prepared, &hits, &sentiment);
    Builtin {
        prepared,
        detected,
        hits,
        sentiment,
        intent,
        intent_scores,
    }
}

fn model_evidence(
    b: &Builtin,
    pred: &Prediction,
    model_id: &str,
    label: &str,
    feats: &[Feature],
) -> Vec<Evidence> {
    let mut ev = Vec::with_capacity(4);
    ev.push(Evidence::new(
        format!("model:{model_id}"),
        label,
        pred.probability,
    ));
    for (i, contribution) in pred.top.iter().flatten() {
        if let Some(f) = feats.get(*i as usize) {
            ev.push(Evidence::new(
                format!("model:{model_id}:feature"),
                train::describe(b, f),
                *contribution,
            ));
        }
    }
    ev
}

fn model_sentiment(b: &Builtin, pred: &Prediction, model_id: &str, feats: &[Feature]) -> SentimentFinding {
    let label = pred.sentiment_label();
    let mut evidence = model_evidence(b, pred, model_id, label.as_str(), feats);
    evidence.extend(b.sentiment.evidence.iter().cloned());
    SentimentFinding {
        label,
        score: pred.sentiment_score(),
        evidence,
    }
}

fn model_intent(b: &Builtin, pred: &Prediction, model_id: &str, feats: &[Feature]) -> IntentFinding {
    let label = pred.intent_label();
    let mut evidence = model_evidence(b, pred, model_id, label.as_str(), feats);
    evidence.extend(b.intent.evidence.iter().cloned());
    IntentFinding {
        label,
        confidence: pred.probability,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzer_is_send_sync_and_cheap_to_share() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Analyzer>();
        let a = std::sync::Arc::new(Analyzer::default());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let a = a.clone();
                std::thread::spawn(move || a.analyze_text("thanks, love it", None, None).sentiment.label)
            })
            .collect();
        for h in handles {
            assert_eq!(
                h.join().ok(),
                Some(earshot_core::analysis::SentimentLabel::Positive)
            );
        }
    }
}
