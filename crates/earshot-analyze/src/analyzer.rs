//! The [`Analyzer`]: one call turns a post into an [`Analysis`]. Built once (automata, whatlang
//! detector, the model) and shared between threads behind an `Arc`.
//!
//! The rules (lexicon, patterns) always run: they give the language, the urgency words and
//! features for the model. The model — the one compiled into earshot unless a team's adapted
//! model is set — decides sentiment and the intents it has heads for; the rules decide the
//! rest (question and praise, with the shipped model).

use crate::chase;
use crate::features::{self, Feature};
use crate::fingerprint;
use crate::intent::{self, IntentScores};
use crate::lang::{Detected, LanguageDetector};
use crate::lexicon::{Hit, Lexicon};
use crate::model::{Columns, Head, Model, Scores};
use crate::reach;
use crate::safety;
use crate::sentiment;
use crate::terms::{TermMatcher, Terms};
use crate::text::{concat, Prepared};
use crate::urgency;
use earshot_core::analysis::{
    Analysis, Evidence, Intent, IntentFinding, SentimentFinding, SentimentLabel,
};
use earshot_core::post::NewPost;
use std::cell::RefCell;
use std::sync::Arc;

/// What the built-in rules made of a text, before any model or reach.
#[derive(Debug, Clone)]
pub(crate) struct Builtin {
    pub prepared: Prepared,
    pub detected: Detected,
    pub hits: Vec<Hit>,
    pub sentiment: SentimentFinding,
    pub intent: IntentFinding,
    pub intent_scores: IntentScores,
    /// The anchored safety phrases the lexicon's walk found (for [`safety::assess_scanned`]).
    pub safety_found: Vec<safety::Found>,
}

/// Understands posts. `Send + Sync`; build it once and share it.
#[derive(Debug, Clone)]
pub struct Analyzer {
    terms: TermMatcher,
    detector: LanguageDetector,
    /// Shared so that cloning an analyzer does not copy the weights.
    model: Option<Arc<Model>>,
    model_id: String,
    /// The evidence rules the model writes, made once: `model:<id>`, then `model:<id>:<head>`
    /// in [`Head::ALL`] order.
    model_rules: Arc<[String; 6]>,
}

fn model_rules(id: &str) -> Arc<[String; 6]> {
    let head = |h: Head| concat(&["model:", id, ":", h.as_str()]);
    Arc::new([
        concat(&["model:", id]),
        head(Head::Sentiment),
        head(Head::Complaint),
        head(Head::FeatureRequest),
        head(Head::Question),
        head(Head::Praise),
    ])
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new(&Terms::default())
    }
}

/// A probability at or above this says yes for a one-against-the-rest intent head.
const HEAD_YES: f32 = 0.5;

impl Analyzer {
    /// An analyzer with the model compiled into earshot, listening for `terms`.
    pub fn new(terms: &Terms) -> Self {
        let rules = Analyzer::rules_only(terms);
        match Model::shipped() {
            Ok(m) => rules.with_model(m.clone()),
            Err(e) => {
                tracing::warn!(error = %e, "the shipped model does not load; using the rules alone");
                rules
            }
        }
    }

    /// An analyzer with the rules alone (the lexicon and patterns, no model).
    pub fn rules_only(terms: &Terms) -> Self {
        // Build the shared lexicon now rather than on the first post.
        let _ = Lexicon::global();
        Analyzer {
            terms: TermMatcher::new(terms),
            detector: LanguageDetector::new(),
            model: None,
            model_id: "builtin".to_string(),
            model_rules: model_rules("builtin"),
        }
    }

    /// Uses `model` (a team's adapted model, say) instead of the current one.
    pub fn with_model(mut self, model: Model) -> Self {
        self.model_id = model.id();
        self.model_rules = model_rules(&self.model_id);
        self.model = Some(Arc::new(model));
        self
    }

    /// The same analyzer (language detector, model) listening for other terms: what an
    /// admin's edit of the brand's names and keywords swaps in.
    pub fn with_terms(&self, terms: &Terms) -> Self {
        Analyzer {
            terms: TermMatcher::new(terms),
            ..self.clone()
        }
    }

    pub fn model(&self) -> Option<&Model> {
        self.model.as_deref()
    }

    /// Analyses a post as a source handed it over. An app store review's star rating (its
    /// opening words) counts too: see [`crate::rating`].
    pub fn analyze(&self, post: &NewPost) -> Analysis {
        let mut analysis = self.analyze_parts(
            &post.text,
            post.lang.as_deref(),
            post.author.followers,
            post.author.verified,
        );
        if matches!(
            post.network,
            earshot_core::Network::AppStore | earshot_core::Network::GooglePlay
        ) {
            if let Some(stars) = crate::rating::stars(&post.text) {
                crate::rating::apply(stars, &mut analysis);
            }
        }
        analysis
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
        self.analyze_marked(text, declared_lang, followers, verified, &mut NoMarks)
    }

    /// [`Analyzer::analyze_parts`], calling `marks` after each step (the bench's phase
    /// timings; the no-op [`NoMarks`] compiles away).
    fn analyze_marked(
        &self,
        text: &str,
        declared_lang: Option<&str>,
        followers: Option<u64>,
        verified: bool,
        marks: &mut impl Marks,
    ) -> Analysis {
        let mut b = builtin_marked(&self.detector, text, declared_lang, marks);
        let (sentiment, intent) = match &self.model {
            Some(model) => {
                SCRATCH.with(|cell| {
                    // A fresh scratch only if this thread is already inside an analysis.
                    let mut fresh = ModelScratch::default();
                    let mut held = cell.try_borrow_mut();
                    let s = match held.as_deref_mut() {
                        Ok(s) => s,
                        Err(_) => &mut fresh,
                    };
                    s.feats.clear();
                    features::extract(&b, &mut s.feats);
                    marks.mark(Step::Features);
                    model.gather(&s.feats, &mut s.cols);
                    let scores = model.scores(&s.cols);
                    marks.mark(Step::ModelScores);
                    // The rules' evidence follows the model's; moved, not copied.
                    let rules_sentiment = std::mem::take(&mut b.sentiment.evidence);
                    let rules_intent = std::mem::take(&mut b.intent.evidence);
                    let ctx = ModelContext {
                        b: &b,
                        model,
                        rules: &self.model_rules,
                        feats: &s.feats,
                        cols: &s.cols,
                        scores: &scores,
                        contributions: RefCell::new(&mut s.contributions),
                    };
                    let found = (ctx.sentiment(rules_sentiment), ctx.intent(rules_intent));
                    marks.mark(Step::ModelFindings);
                    found
                })
            }
            None => (
                std::mem::replace(&mut b.sentiment, placeholder_sentiment()),
                std::mem::replace(&mut b.intent, placeholder_intent()),
            ),
        };
        let urgency = urgency::assess(&b.prepared, &b.hits, &sentiment, &intent);
        marks.mark(Step::Urgency);
        let language = b.detected.finding();
        let safety = safety::assess_scanned(&b.prepared, language.language.code(), &b.safety_found);
        marks.mark(Step::Safety);
        let chase = chase::is_chase(&b.prepared);
        marks.mark(Step::Chase);
        let fingerprint = fingerprint::simhash(&b.prepared);
        marks.mark(Step::Fingerprint);
        let matches = self.terms.find(text);
        marks.mark(Step::Terms);
        let a = Analysis {
            language,
            sentiment,
            intent,
            urgency,
            reach: reach::assess(followers, verified),
            safety,
            chase,
            fingerprint,
            matches,
            model: self.model_id.clone(),
            corrections: vec![],
        };
        drop(b);
        marks.mark(Step::Assemble);
        a
    }

    /// [`Analyzer::analyze`], telling `marks` as each [`Step`] ends (for phase timings).
    pub fn analyze_with_marks(&self, post: &NewPost, marks: &mut impl Marks) -> Analysis {
        self.analyze_marked(
            &post.text,
            post.lang.as_deref(),
            post.author.followers,
            post.author.verified,
            marks,
        )
    }

    pub(crate) fn builtin(&self, text: &str, declared_lang: Option<&str>) -> Builtin {
        builtin(&self.detector, text, declared_lang)
    }
}

fn placeholder_sentiment() -> SentimentFinding {
    SentimentFinding {
        label: SentimentLabel::Neutral,
        score: 0.0,
        evidence: Vec::new(),
    }
}

fn placeholder_intent() -> IntentFinding {
    IntentFinding {
        label: Intent::Other,
        confidence: 0.0,
        evidence: Vec::new(),
    }
}

/// Only the first 16 KiB of a post are read for language, sentiment, intent and urgency
/// (term matches still cover all of it): it keeps a pasted article from costing more than a
/// few hundred tweets.
pub const MAX_ANALYZED_BYTES: usize = 16 * 1024;

fn builtin(detector: &LanguageDetector, text: &str, declared_lang: Option<&str>) -> Builtin {
    builtin_marked(detector, text, declared_lang, &mut NoMarks)
}

fn builtin_marked(
    detector: &LanguageDetector,
    text: &str,
    declared_lang: Option<&str>,
    marks: &mut impl Marks,
) -> Builtin {
    let mut cut = text.len().min(MAX_ANALYZED_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let prepared = Prepared::new(&text[..cut]);
    marks.mark(Step::Prepare);
    let lex = Lexicon::global();
    let mut raw = Vec::with_capacity(16);
    let mut safety_found = Vec::new();
    lex.scan_with_safety(&prepared, &mut raw, &mut safety_found);
    marks.mark(Step::LexiconScan);
    let votes = lex.votes(&raw);
    let detected = detector.detect(declared_lang, &prepared, &votes);
    marks.mark(Step::Language);
    let mut hits = Vec::with_capacity(raw.len());
    lex.resolve(
        &raw,
        detected.lang,
        &prepared.clean,
        &prepared.tokens,
        &mut hits,
    );
    marks.mark(Step::LexiconResolve);
    let sentiment = sentiment::score(&prepared, &hits, detected.lang);
    marks.mark(Step::RulesSentiment);
    let (intent, intent_scores) = intent::classify(&prepared, &hits, &sentiment);
    marks.mark(Step::RulesIntent);
    Builtin {
        prepared,
        detected,
        hits,
        sentiment,
        intent,
        intent_scores,
        safety_found,
    }
}

/// The steps of one analysis, in order (for the bench's phase timings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Lowercasing, dropping links and mentions, tokenising.
    Prepare,
    /// The lexicon automaton and the whole-word lookups.
    LexiconScan,
    /// Stopword votes and the n-gram language model.
    Language,
    /// Keeping the cues of the post's language.
    LexiconResolve,
    RulesSentiment,
    RulesIntent,
    /// Hashing the model's features.
    Features,
    /// The model's table lookups and probabilities.
    ModelScores,
    /// Picking labels and building their evidence (top features, names).
    ModelFindings,
    Urgency,
    /// The language finding and the safety automaton.
    Safety,
    Chase,
    Fingerprint,
    Terms,
    /// Building the `Analysis` and freeing the scratch.
    Assemble,
}

impl Step {
    pub const ALL: [Step; 15] = [
        Step::Prepare,
        Step::LexiconScan,
        Step::Language,
        Step::LexiconResolve,
        Step::RulesSentiment,
        Step::RulesIntent,
        Step::Features,
        Step::ModelScores,
        Step::ModelFindings,
        Step::Urgency,
        Step::Safety,
        Step::Chase,
        Step::Fingerprint,
        Step::Terms,
        Step::Assemble,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Prepare => "prepare text (lowercase, links, tokens)",
            Step::LexiconScan => "lexicon scan (automaton + word lookups)",
            Step::Language => "language (votes + n-gram model)",
            Step::LexiconResolve => "lexicon resolve (cues of the language)",
            Step::RulesSentiment => "rules sentiment",
            Step::RulesIntent => "rules intent",
            Step::Features => "model features (hashing)",
            Step::ModelScores => "model scores (table lookups)",
            Step::ModelFindings => "model findings + evidence",
            Step::Urgency => "urgency",
            Step::Safety => "safety",
            Step::Chase => "chase",
            Step::Fingerprint => "fingerprint",
            Step::Terms => "term matches",
            Step::Assemble => "assemble + free scratch",
        }
    }
}

/// Told when each [`Step`] of an analysis ends.
pub trait Marks {
    fn mark(&mut self, step: Step);
}

/// Marks nothing (every real analysis).
pub struct NoMarks;

impl Marks for NoMarks {
    #[inline(always)]
    fn mark(&mut self, _step: Step) {}
}

/// Buffers the model's steps reuse from post to post (one set per thread).
#[derive(Default)]
struct ModelScratch {
    feats: Vec<Feature>,
    cols: Columns,
    contributions: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<ModelScratch> = RefCell::new(ModelScratch::default());
}

/// One post's model answer, with what is needed to explain it.
struct ModelContext<'a> {
    b: &'a Builtin,
    model: &'a Model,
    rules: &'a [String; 6],
    feats: &'a [Feature],
    cols: &'a Columns,
    scores: &'a Scores,
    contributions: RefCell<&'a mut Vec<f32>>,
}

impl ModelContext<'_> {
    /// The model's own line (`model:<id>`, the label, its probability) and the features that
    /// pushed hardest towards it.
    /// The rules' evidence (`after`) follows.
    fn evidence(
        &self,
        head: Head,
        class: usize,
        label: &str,
        probability: f32,
        after: Vec<Evidence>,
    ) -> Vec<Evidence> {
        let mut ev = Vec::with_capacity(4 + after.len());
        ev.push(Evidence::new(self.rules[0].clone(), label, probability));
        let rule = &self.rules[1 + head as usize];
        let mut contributions = self.contributions.borrow_mut();
        let top = self
            .model
            .top_features(self.feats, self.cols, head, class, &mut contributions);
        for &(i, contribution) in top.as_slice() {
            if let Some(f) = self.feats.get(i) {
                ev.push(Evidence::new(
                    rule.clone(),
                    features::describe(self.b, f),
                    contribution,
                ));
            }
        }
        ev.extend(after);
        ev
    }

    fn sentiment(&self, rules_evidence: Vec<Evidence>) -> SentimentFinding {
        let Some(p) = self.scores.sentiment else {
            return SentimentFinding {
                evidence: rules_evidence,
                ..self.b.sentiment.clone()
            };
        };
        let mut class = 0;
        for k in 1..3 {
            if p[k] > p[class] {
                class = k;
            }
        }
        let label = SentimentLabel::ALL[class];
        let evidence = self.evidence(
            Head::Sentiment,
            class,
            label.as_str(),
            p[class],
            rules_evidence,
        );
        SentimentFinding {
            label,
            score: p[2] - p[0],
            evidence,
        }
    }

    /// Feature request, then complaint, then question, then praise: the first that says yes
    /// (a head when the model has one, else the rules) wins; a feature request beats a
    /// complaint only when it is at least as likely.
    fn intent(&self, rules_evidence: Vec<Evidence>) -> IntentFinding {
        let s = self.scores;
        let rules = &self.b.intent;
        let fr = s.feature_request;
        let complaint = s.complaint;
        let yes = |p: Option<f32>, rule: Intent| match p {
            Some(p) => p >= HEAD_YES,
            None => rules.label == rule,
        };
        let pick = if yes(fr, Intent::FeatureRequest)
            && (fr.unwrap_or(1.0) >= complaint.unwrap_or(0.0) || fr.is_none())
        {
            Some((Intent::FeatureRequest, Head::FeatureRequest, fr))
        } else if yes(complaint, Intent::Complaint) {
            Some((Intent::Complaint, Head::Complaint, complaint))
        } else if yes(s.question, Intent::Question) {
            Some((Intent::Question, Head::Question, s.question))
        } else if yes(s.praise, Intent::Praise) {
            Some((Intent::Praise, Head::Praise, s.praise))
        } else {
            None
        };
        let (label, evidence, confidence) = match pick {
            Some((label, head, Some(p))) => (
                label,
                self.evidence(head, 1, label.as_str(), p, rules_evidence),
                p,
            ),
            // The rules decided: their evidence and confidence stand.
            Some((label, _, None)) => (label, rules_evidence, rules.confidence),
            None => {
                // Nothing said yes: "other", as sure as the likeliest head was unsure.
                let most = [fr, complaint, s.question, s.praise]
                    .into_iter()
                    .flatten()
                    .fold(0f32, f32::max);
                let mut ev = Vec::with_capacity(1 + rules_evidence.len());
                ev.push(Evidence::new(self.rules[0].clone(), "other", 1.0 - most));
                ev.extend(rules_evidence);
                (Intent::Other, ev, 1.0 - most)
            }
        };
        IntentFinding {
            label,
            confidence,
            evidence,
        }
    }
}

#[cfg(test)]
mod tests;
