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
        let safety = safety::assess(&b.prepared, language.language.code());
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
    lex.scan(&prepared, &mut raw);
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
mod tests {
    use super::*;
    use earshot_core::analysis::{Intent, ReachTier, SentimentLabel, UrgencyLevel};

    /// What a post should come out as; `None` leaves a finding unchecked.
    struct Expect {
        lang: &'static str,
        sentiment: Option<SentimentLabel>,
        intent: Option<Intent>,
    }

    fn expect(
        lang: &'static str,
        sentiment: Option<SentimentLabel>,
        intent: Option<Intent>,
    ) -> Expect {
        Expect {
            lang,
            sentiment,
            intent,
        }
    }

    /// The rules alone (what every language has even where no labelled data exists).
    fn check(text: &str, e: Expect) {
        let a = Analyzer::rules_only(&Terms::default()).analyze_text(text, None, None);
        let why = format!(
            "{text:?}\n  language {:?}\n  sentiment {:?}\n  intent {:?}",
            a.language, a.sentiment, a.intent
        );
        assert_eq!(a.language.language.code(), e.lang, "language of {why}");
        if let Some(s) = e.sentiment {
            assert_eq!(a.sentiment.label, s, "sentiment of {why}");
        }
        if let Some(i) = e.intent {
            assert_eq!(a.intent.label, i, "intent of {why}");
        }
        assert_eq!(a.model, "builtin");
    }

    use Intent::{Complaint, FeatureRequest, Praise, Question};
    use SentimentLabel::{Negative, Neutral, Positive};

    #[test]
    fn english() {
        check(
            "@elonmusk Can you program the car, once in park, to move the seat back and raise the steering wheel?",
            expect("en", Some(Neutral), Some(FeatureRequest)),
        );
        check(
            "My order still hasn't arrived and nobody answers, this is terrible",
            expect("en", Some(Negative), Some(Complaint)),
        );
        check(
            "Thanks so much, the support team was amazing!",
            expect("en", Some(Positive), Some(Praise)),
        );
        check(
            "What time does the store open tomorrow?",
            expect("en", Some(Neutral), Some(Question)),
        );
        check(
            "The update is not good at all",
            expect("en", Some(Negative), None),
        );
        check(
            "Not bad, really good actually",
            expect("en", Some(Positive), None),
        );
        // a wish is not a feeling: "great" inside "would be great if" does not count
        check(
            "The seat doesn't move back when I park, would be great if it did",
            expect("en", Some(Neutral), Some(FeatureRequest)),
        );
        check(
            "Thanks @SamsClub for selling expired beer #fail",
            expect("en", Some(Negative), Some(Complaint)),
        );
    }

    #[test]
    fn danish() {
        check(
            "Det er virkelig irriterende at sædet ikke flytter sig",
            expect("da", Some(Negative), Some(Complaint)),
        );
        check(
            "Kan I tilføje en mulighed for at flytte sædet? Det ville være fedt hvis bilen gjorde det selv",
            expect("da", None, Some(FeatureRequest)),
        );
        check(
            "@voltra kan I ikke få sædet til at køre tilbage, når bilen står i park? Det ville gøre det meget nemmere at stige ud",
            expect("da", None, Some(FeatureRequest)),
        );
        check(
            "Tusind tak for den hurtige hjælp, I er de bedste!",
            expect("da", Some(Positive), Some(Praise)),
        );
    }

    #[test]
    fn italian() {
        check(
            "Grazie mille, servizio fantastico!",
            expect("it", Some(Positive), Some(Praise)),
        );
        check(
            "L'app non funziona da ieri, che vergogna",
            expect("it", Some(Negative), Some(Complaint)),
        );
        check(
            "Potreste aggiungere la modalità scura? Sarebbe bello averla",
            expect("it", None, Some(FeatureRequest)),
        );
    }

    #[test]
    fn german() {
        check(
            "Die App funktioniert nicht mehr, total enttäuschend",
            expect("de", Some(Negative), Some(Complaint)),
        );
        check(
            "Könntet ihr bitte einen Dunkelmodus einbauen? Das wäre toll",
            expect("de", None, Some(FeatureRequest)),
        );
        check(
            "Vielen Dank, super Service!",
            expect("de", Some(Positive), Some(Praise)),
        );
        check("Das gefällt mir nicht", expect("de", Some(Negative), None));
    }

    #[test]
    fn french() {
        check(
            "Pourriez-vous ajouter un mode sombre ?",
            expect("fr", Some(Neutral), Some(FeatureRequest)),
        );
        check(
            "Mon colis n'est toujours pas arrivé, c'est inadmissible",
            expect("fr", Some(Negative), Some(Complaint)),
        );
        check(
            "Merci beaucoup, service impeccable !",
            expect("fr", Some(Positive), Some(Praise)),
        );
    }

    #[test]
    fn spanish() {
        check(
            "Mi vuelo está retrasado y nadie responde, qué vergüenza",
            expect("es", Some(Negative), Some(Complaint)),
        );
        check(
            "¿Podrían agregar la opción de pagar con PayPal? Sería genial",
            expect("es", None, Some(FeatureRequest)),
        );
        check(
            "Muchas gracias, excelente servicio",
            expect("es", Some(Positive), Some(Praise)),
        );
    }

    #[test]
    fn portuguese() {
        check(
            "O app não funciona desde ontem, péssimo atendimento",
            expect("pt", Some(Negative), Some(Complaint)),
        );
        check(
            "Vocês poderiam adicionar o modo escuro? Seria ótimo",
            expect("pt", None, Some(FeatureRequest)),
        );
        check(
            "Muito obrigado pelo atendimento, vocês são os melhores!",
            expect("pt", Some(Positive), Some(Praise)),
        );
    }

    #[test]
    fn dutch() {
        check(
            "De app werkt niet meer, echt belachelijk",
            expect("nl", Some(Negative), Some(Complaint)),
        );
        check(
            "Kunnen jullie een donkere modus toevoegen? Dat zou handig zijn",
            expect("nl", None, Some(FeatureRequest)),
        );
        check(
            "Bedankt voor de snelle hulp, top service!",
            expect("nl", Some(Positive), Some(Praise)),
        );
    }

    #[test]
    fn swedish() {
        check(
            "Appen fungerar inte, jag är så besviken",
            expect("sv", Some(Negative), Some(Complaint)),
        );
        check(
            "Kan ni lägga till mörkt läge? Det vore toppen",
            expect("sv", None, Some(FeatureRequest)),
        );
        check(
            "Tack för hjälpen, ni är bäst!",
            expect("sv", Some(Positive), Some(Praise)),
        );
    }

    #[test]
    fn norwegian() {
        check(
            "Appen funker ikke lenger, dette er helt elendig",
            expect("no", Some(Negative), Some(Complaint)),
        );
        check(
            "Kan dere legge til mørk modus? Det hadde vært fint om appen husket meg",
            expect("no", None, Some(FeatureRequest)),
        );
        check(
            "Tusen takk for hjelpen, dere er best!",
            expect("no", Some(Positive), Some(Praise)),
        );
    }

    /// The shipped model on posts whose reading is not in doubt, with its evidence.
    #[test]
    fn the_shipped_model_is_the_default_and_explains_itself() {
        let a = Analyzer::default();
        let id = Model::shipped().expect("shipped model loads").id();
        for (text, sentiment, intent) in [
            (
                "My order still hasn't arrived and nobody answers, this is terrible",
                Negative,
                Complaint,
            ),
            (
                "Thanks so much, the support team was amazing!",
                Positive,
                Praise,
            ),
            (
                "Please add a dark mode to the app, it would be great to have it",
                Neutral,
                FeatureRequest,
            ),
            ("What time does the store open tomorrow?", Neutral, Question),
            (
                "Mon colis n'est toujours pas arrivé, c'est inadmissible",
                Negative,
                Complaint,
            ),
        ] {
            let r = a.analyze_text(text, None, None);
            assert_eq!(r.model, id);
            assert_eq!(r.intent.label, intent, "{text}: {:?}", r.intent);
            if sentiment != Neutral {
                assert_eq!(r.sentiment.label, sentiment, "{text}: {:?}", r.sentiment);
            }
            let first = &r.sentiment.evidence[0];
            assert_eq!(first.rule, format!("model:{id}"));
            assert!(first.weight > 0.33 && first.weight <= 1.0, "{first:?}");
            assert!(r
                .sentiment
                .evidence
                .iter()
                .any(|e| e.rule.ends_with(":sentiment")));
        }
        let r = a.analyze_text("this is not good at all", None, None);
        assert_eq!(r.sentiment.label, Negative, "{:?}", r.sentiment);
    }

    #[test]
    fn declared_language_wins_and_unknown_stays_unknown() {
        let a = Analyzer::default();
        let r = a.analyze_text("ok", Some("nb-NO"), None);
        assert_eq!(r.language.language.code(), "no");
        assert_eq!(r.language.source, "declared");
        let r = a.analyze_text("ありがとう", Some("ja"), None);
        assert_eq!(r.language.language.code(), "ja");
        let r = a.analyze_text("ok 👍", None, None);
        assert_eq!(r.language.language.code(), "und");
        assert_eq!(r.sentiment.label, Positive, "{:?}", r.sentiment);
        let r = a.analyze_text("شكرا جزيلا على المساعدة", None, None);
        assert_eq!(r.language.language.code(), "ar");
        let r = a.analyze_text("@user https://t.co/abc", None, None);
        assert_eq!(r.language.language.code(), "und");
        assert_eq!(r.fingerprint, 0);
    }

    #[test]
    fn urgency_levels() {
        let a = Analyzer::rules_only(&Terms::default());
        let u = |t: &str| a.analyze_text(t, None, None).urgency;
        let hacked = u(
            "My account was hacked and someone is making fraudulent charges, please help ASAP!!",
        );
        assert_eq!(hacked.level, UrgencyLevel::Critical, "{hacked:?}");
        assert!(hacked.evidence.iter().any(|e| e.text == "hacked"));
        let stranded = u("Stranded at the gate, flight cancelled and nobody helps");
        assert!(stranded.level >= UrgencyLevel::High, "{stranded:?}");
        assert_eq!(
            u("Sidder fast i lufthavnen, det haster!").level,
            UrgencyLevel::High
        );
        assert_eq!(u("Thanks, love the new app!").level, UrgencyLevel::Low);
        // angry and stuck is high; only safety and fraud words make a post critical
        assert_eq!(
            u("@AmericanAir stranded in Dallas, 3rd cancelled flight today. Worst airline ever!!!").level,
            UrgencyLevel::High
        );
        assert_eq!(
            u("When does the new model come out?").level,
            UrgencyLevel::Normal
        );
    }

    #[test]
    fn long_posts_are_capped_not_slow() {
        let text = "this is bad and not good at all, ".repeat(20_000);
        let a = Analyzer::rules_only(&Terms {
            keywords: vec!["good".into()],
            ..Terms::default()
        })
        .analyze_text(&text, None, None);
        assert_eq!(a.sentiment.label, Negative);
        // term matches still cover the whole text
        assert_eq!(a.matches.len(), 20_000);
    }

    proptest::proptest! {
        #[test]
        fn any_text_gives_a_sane_analysis(text in "\\PC{0,120}") {
            let a = Analyzer::new(&Terms { brands: vec!["Acme".into()], ..Terms::default() });
            let r = a.analyze_text(&text, None, Some(10));
            proptest::prop_assert!((-1.0..=1.0).contains(&r.sentiment.score));
            proptest::prop_assert!((0.0..=1.0).contains(&r.urgency.score));
            proptest::prop_assert!(r.intent.confidence >= 0.0 && r.intent.confidence <= 1.0);
            for m in &r.matches {
                proptest::prop_assert!(text.get(m.start..m.end).is_some());
            }
        }

        #[test]
        fn tweet_like_noise_never_panics(text in "[a-zA-Z\\\\u0-9 @#:/.!?'’&;ÆØÅæøå😂-]{0,80}") {
            let p = crate::text::Prepared::new(&text);
            for t in &p.tokens {
                proptest::prop_assert!(p.clean.get(t.start as usize..t.end as usize).is_some());
            }
            let r = Analyzer::default().analyze_text(&text, None, None);
            proptest::prop_assert!(r.sentiment.score.is_finite());
        }
    }

    #[test]
    fn post_fields_are_used() {
        let json = r#"{"network":"x","external_id":"896523232098078720",
            "author":{"external_id":"u1","handle":"paulfranks","followers":1520,"verified":true},
            "text":"@elonmusk Can you program the car, once in park, to move the seat back and raise the steering wheel?",
            "created_at":"2017-08-19T03:47:00Z","lang":"en"}"#;
        let post: NewPost = serde_json::from_str(json).expect("canonical post");
        let terms = Terms {
            handles: vec!["@elonmusk".into()],
            brands: vec!["Tesla".into()],
            keywords: vec!["seat".into(), "steering wheel".into()],
        };
        let a = Analyzer::rules_only(&terms).analyze(&post);
        assert_eq!(a.language.source, "declared");
        assert_eq!(a.intent.label, FeatureRequest);
        assert!(
            a.intent.evidence[0].rule.contains("can you program"),
            "{:?}",
            a.intent.evidence
        );
        assert_eq!(a.reach.tier, ReachTier::Medium);
        assert_eq!(a.reach.followers, Some(1520));
        let kinds: Vec<&str> = a.matches.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["handle", "keyword", "keyword"]);
        assert_eq!(
            &post.text[a.matches[0].start..a.matches[0].end],
            "@elonmusk"
        );
        assert_ne!(a.fingerprint, 0);
    }

    #[test]
    fn analyzer_is_send_sync_and_cheap_to_share() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Analyzer>();
        let a = std::sync::Arc::new(Analyzer::default());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let a = a.clone();
                std::thread::spawn(move || {
                    a.analyze_text("thanks, love it", None, None)
                        .sentiment
                        .label
                })
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
