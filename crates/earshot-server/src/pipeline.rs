//! Listen → understand → triage: every post from any source goes through [`Pipeline::ingest`].

use chrono::Utc;
use earshot_analyze::Analyzer;
use earshot_core::threading::{BrandIdentity, Incoming, TriagePolicy};
use earshot_core::{Amendment, ConversationId, NewPost};
use earshot_store::{IngestReport, Store, StoreError};
use serde::Serialize;
use std::sync::{Arc, PoisonError, RwLock};
use tokio::sync::broadcast;

/// Batches at least this large are analysed off the async threads.
const BLOCKING_BATCH: usize = 32;

/// Something an inbox watching live should know about.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    PostStored {
        post_id: i64,
        conversation_id: Option<ConversationId>,
        network: earshot_core::Network,
    },
    ConversationChanged {
        conversation_id: ConversationId,
        action: String,
    },
    /// A burst of similar posts began (see `GET /api/v1/spikes`).
    SpikeStarted { spike_id: u64, label: String },
}

/// What the pipeline listens for and the clock it keeps. Swapped whole by
/// [`Pipeline::reconfigure`], so one batch is understood and timed by one consistent set.
struct Tuning {
    analyzer: Arc<Analyzer>,
    brand: Arc<BrandIdentity>,
    policy: Arc<TriagePolicy>,
    /// The brand and response settings behind them, once an admin's edit replaced the file's.
    in_force: Option<Arc<InForce>>,
}

/// The brand and response settings the pipeline runs on after [`Pipeline::reconfigure`].
#[derive(Debug, Clone)]
pub struct InForce {
    pub brand: crate::config::BrandSettings,
    pub response: crate::config::ResponseSettings,
}

pub struct Pipeline {
    tuning: RwLock<Arc<Tuning>>,
    store: Arc<dyn Store>,
    events: broadcast::Sender<LiveEvent>,
    feedback: Arc<crate::feedback::FeedbackLoop>,
    alerts: Arc<crate::alerts::Alerts>,
    /// `[triage]` routing and paging; `None` without a `[triage]` section.
    triage: Option<Arc<crate::triage::TriageDesk>>,
}

impl Pipeline {
    pub fn new(
        analyzer: Arc<Analyzer>,
        brand: BrandIdentity,
        policy: TriagePolicy,
        store: Arc<dyn Store>,
    ) -> Self {
        let (events, _) = broadcast::channel(4096);
        let feedback = Arc::new(crate::feedback::FeedbackLoop::new(store.clone()));
        Pipeline {
            tuning: RwLock::new(Arc::new(Tuning {
                analyzer,
                brand: Arc::new(brand),
                policy: Arc::new(policy),
                in_force: None,
            })),
            store,
            events,
            feedback,
            alerts: Arc::new(crate::alerts::Alerts::log_only()),
            triage: None,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The loop: requests, promises, releases.
    pub fn feedback(&self) -> &Arc<crate::feedback::FeedbackLoop> {
        &self.feedback
    }

    /// Where alerts go.
    pub fn alerts(&self) -> &Arc<crate::alerts::Alerts> {
        &self.alerts
    }

    pub fn with_triage(mut self, triage: crate::triage::TriageDesk) -> Self {
        self.triage = Some(Arc::new(triage));
        self
    }

    pub fn triage(&self) -> Option<&Arc<crate::triage::TriageDesk>> {
        self.triage.as_ref()
    }

    pub fn with_alerts(mut self, alerts: crate::alerts::Alerts) -> Self {
        self.alerts = Arc::new(alerts);
        self
    }

    /// Replaces the loop (to change its templates or pacing) before the pipeline is shared.
    pub fn with_feedback(mut self, feedback: crate::feedback::FeedbackLoop) -> Self {
        self.feedback = Arc::new(feedback);
        self
    }

    fn tuning(&self) -> Arc<Tuning> {
        self.tuning
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The response targets and clock new posts are timed by now.
    pub fn policy(&self) -> Arc<TriagePolicy> {
        self.tuning().policy.clone()
    }

    /// The brand's own accounts, as they are now.
    pub fn brand(&self) -> Arc<BrandIdentity> {
        self.tuning().brand.clone()
    }

    /// The analyzer with the brand terms in force now.
    pub fn analyzer(&self) -> Arc<Analyzer> {
        self.tuning().analyzer.clone()
    }

    /// The brand and response settings in force, when they were set by
    /// [`Pipeline::reconfigure`] rather than at construction.
    pub fn in_force(&self) -> Option<Arc<InForce>> {
        self.tuning().in_force.clone()
    }

    /// Listens for other brand handles, names and keywords and times new posts by other
    /// response targets, from the next batch on (the analyzer keeps its trained model).
    /// Invalid response settings → the error `earshot config check` would give; nothing changes.
    pub fn reconfigure(
        &self,
        brand: &crate::config::BrandSettings,
        response: &crate::config::ResponseSettings,
    ) -> Result<(), crate::config::ConfigError> {
        let policy = crate::overrides::policy_of(response)?;
        let terms = earshot_analyze::Terms {
            brands: brand.names.clone(),
            handles: brand.handles.clone(),
            keywords: brand.keywords.clone(),
        };
        let mut tuning = self.tuning.write().unwrap_or_else(PoisonError::into_inner);
        *tuning = Arc::new(Tuning {
            analyzer: Arc::new(tuning.analyzer.with_terms(&terms)),
            brand: Arc::new(BrandIdentity::new(&brand.handles)),
            policy: Arc::new(policy),
            in_force: Some(Arc::new(InForce {
                brand: brand.clone(),
                response: response.clone(),
            })),
        });
        Ok(())
    }

    /// Understands posts with `model` from the next batch on (a retrain from agents'
    /// corrections, see [`crate::retrain`]); the brand terms and policy stay.
    pub fn use_model(&self, model: earshot_analyze::Model) {
        let mut tuning = self.tuning.write().unwrap_or_else(PoisonError::into_inner);
        *tuning = Arc::new(Tuning {
            analyzer: Arc::new((*tuning.analyzer).clone().with_model(model)),
            brand: tuning.brand.clone(),
            policy: tuning.policy.clone(),
            in_force: tuning.in_force.clone(),
        });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.events.subscribe()
    }

    pub fn publish(&self, event: LiveEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    /// Understands each post (pure and CPU-bound) and decides whether the brand wrote it.
    pub fn understand(
        analyzer: &Analyzer,
        brand: &BrandIdentity,
        posts: Vec<NewPost>,
    ) -> Vec<Incoming> {
        posts
            .into_iter()
            .map(|post| {
                let analysis = analyzer.analyze(&post);
                let from_brand = brand.is_brand(&post);
                Incoming {
                    post,
                    analysis,
                    from_brand,
                }
            })
            .collect()
    }

    /// Understands, threads and stores a batch; tells live subscribers what was new. A post
    /// the store refuses (a time outside the window earshot believes) is logged and listed in
    /// the report's `refused`; the rest of the batch is stored.
    #[tracing::instrument(skip_all, fields(posts = posts.len()))]
    /// The bulk import's path (`earshot import`): posts already understood (see
    /// [`Pipeline::understand`], run on another thread) are written in one batch with the
    /// policy in force, without the after-commit steps of [`Pipeline::ingest`] (history is not
    /// grouped, routed or announced live as it is read).
    pub async fn store_understood(&self, posts: Vec<Incoming>) -> Result<IngestReport, StoreError> {
        self.store
            .ingest(posts, &self.policy(), chrono::Utc::now())
            .await
    }

    pub async fn ingest(&self, posts: Vec<NewPost>) -> Result<IngestReport, StoreError> {
        if posts.is_empty() {
            return Ok(IngestReport::default());
        }
        let tuning = self.tuning();
        let incoming = if posts.len() >= BLOCKING_BATCH {
            let tuning = tuning.clone();
            tokio::task::spawn_blocking(move || {
                Self::understand(&tuning.analyzer, &tuning.brand, posts)
            })
            .await
            .map_err(|e| StoreError::Database(format!("analysis task failed: {e}")))?
        } else {
            Self::understand(&tuning.analyzer, &tuning.brand, posts)
        };
        let (asks, opt_outs, observed) = feedback_signals(&incoming);
        let report = self
            .store
            .ingest(incoming, &tuning.policy, Utc::now())
            .await?;
        for r in &report.refused {
            tracing::warn!(network = %r.network, id = %r.external_id, reason = %r.reason, "post refused");
        }
        // The posts are committed: grouping and opt-outs follow. A failure here is logged and
        // does not undo the ingest (the posts are in the inbox either way).
        let asks: Vec<crate::feedback::grouping::AskToGroup> = asks
            .into_iter()
            .filter_map(|(i, mut ask)| {
                let p = report.post_at(i)?;
                (!p.duplicate).then(|| {
                    ask.post_id = p.post_id;
                    ask
                })
            })
            .collect();
        let mut grouped = std::collections::HashMap::new();
        if !asks.is_empty() || !opt_outs.is_empty() {
            match self.feedback.on_ingested(asks, opt_outs).await {
                Ok(g) => grouped.extend(g.into_iter().map(|(post, request, _)| (post, request.0))),
                Err(e) => tracing::warn!(error = %e, "grouping asks into requests failed"),
            }
        }
        let observed: Vec<crate::feedback::spikes::Observed> = observed
            .into_iter()
            .filter_map(|(i, mut o)| {
                let p = report.post_at(i)?;
                (!p.duplicate).then(|| {
                    o.post_id = p.post_id;
                    o.request = grouped.get(&p.post_id).copied();
                    o
                })
            })
            .collect();
        for view in self.feedback.observe(&observed, &self.alerts) {
            self.publish(LiveEvent::SpikeStarted {
                spike_id: view.spike.id.0,
                label: view.spike.label_terms.join(", "),
            });
        }
        if let Some(triage) = &self.triage {
            crate::triage::after_ingest(triage, self, &report).await;
        }
        if self.events.receiver_count() > 0 {
            for p in report.posts.iter().filter(|p| !p.duplicate) {
                self.publish(LiveEvent::PostStored {
                    post_id: p.post_id,
                    conversation_id: p.conversation_id,
                    network: p.network,
                });
            }
            // Heard again with another text: stored as the author's edit.
            for p in report.posts.iter().filter(|p| p.edited) {
                if let Some(conversation_id) = p.conversation_id {
                    self.publish(LiveEvent::ConversationChanged {
                        conversation_id,
                        action: "post_edited".into(),
                    });
                }
            }
        }
        Ok(report)
    }

    /// Applies authors' edits and deletions in the order heard; posts never heard are ignored
    /// (a network may tell us about deletions of posts that were never ours to know).
    pub async fn amend(&self, amendments: Vec<Amendment>) -> Result<(), StoreError> {
        for amendment in amendments {
            let (post, action) = match amendment {
                Amendment::Edited(post) => {
                    let analysis = self.analyzer().analyze(&post);
                    (
                        self.store.edit_post(post, analysis, Utc::now()).await?,
                        "post_edited",
                    )
                }
                Amendment::Deleted(key) => (
                    self.store.delete_post(&key, Utc::now()).await?,
                    "post_deleted",
                ),
            };
            if let Some(conversation_id) = post.and_then(|p| p.conversation_id) {
                self.publish(LiveEvent::ConversationChanged {
                    conversation_id,
                    action: action.into(),
                });
            }
        }
        Ok(())
    }

    /// Moves waiting conversations up the inbox as their wait grows.
    pub async fn rescore(&self) -> Result<u64, StoreError> {
        self.store.rescore_open(&self.policy(), Utc::now()).await
    }
}

/// What the loop needs from a batch before it is stored: the feature requests to group (by
/// position in the batch) and the customers who asked not to be told anything.
type Signals = (
    Vec<(usize, crate::feedback::grouping::AskToGroup)>,
    Vec<(earshot_core::Network, String)>,
    Vec<(usize, crate::feedback::spikes::Observed)>,
);

fn feedback_signals(incoming: &[Incoming]) -> Signals {
    let mut asks = Vec::new();
    let mut opt_outs = Vec::new();
    let mut observed = Vec::new();
    let now = Utc::now();
    for (i, inc) in incoming.iter().enumerate() {
        if inc.from_brand {
            continue;
        }
        let lang = inc.analysis.language.language.code();
        observed.push((
            i,
            crate::feedback::spikes::Observed {
                post_id: 0,
                author: format!("{}:{}", inc.post.network, inc.post.author.external_id),
                text: inc.post.text.clone(),
                language: lang.to_string(),
                request: None,
                // A post from the future (a skewed clock) counts as now.
                at: inc.post.created_at.min(now),
            },
        ));
        if inc.analysis.intent.label == earshot_core::Intent::FeatureRequest {
            asks.push((
                i,
                crate::feedback::grouping::AskToGroup {
                    post_id: 0,
                    text: inc.post.text.clone(),
                    language: lang.to_string(),
                    at: inc.post.created_at,
                },
            ));
        }
        if earshot_analyze::promises::detect_opt_out(&inc.post.text, Some(lang)) {
            opt_outs.push((inc.post.network, inc.post.author.external_id.clone()));
        }
    }
    (asks, opt_outs, observed)
}
