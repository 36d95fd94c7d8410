//! Listen → understand → store → tell: every post from any source goes through
//! [`Pipeline::ingest`].
//!
//! The pipeline understands a batch, has the store thread and commit it, and then hands the
//! [`Committed`] batch to its after-commit steps ([`AfterCommit`]), in the order they were
//! subscribed: in a running server opt-outs, grouping, spikes and routing (see
//! `Desk::build`), and last the live feed ([`LiveFeed`]), so a page that hears of a post finds
//! it grouped and routed. A step's failure is its own to log: the posts are committed either
//! way. This is the seam where a message bus plugs in: the committed batch is what a bus
//! would publish, each step a durable consumer of it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_analyze::Analyzer;
use earshot_core::fair_turn::QueuePace;
use earshot_core::threading::{BrandIdentity, Incoming, TriagePolicy};
use earshot_core::{Amendment, ConversationId, NewPost};
use earshot_store::{IngestReport, IngestedPost, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use tokio::sync::{broadcast, mpsc};

/// Batches at least this large are analysed off the async threads.
const BLOCKING_BATCH: usize = 32;

/// Something an inbox watching live should know about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// `person` is writing a reply to the conversation now (see [`crate::web::presence`]): the
    /// other processes' reply boxes warn their agents too.
    Replying {
        conversation_id: ConversationId,
        person: String,
    },
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
    pub brand: crate::settings::BrandSettings,
    pub response: crate::settings::ResponseSettings,
}

/// What a post of a committed batch was understood as: what the after-commit steps read.
#[derive(Debug, Clone)]
pub struct Understood {
    pub network: earshot_core::Network,
    /// The author's id on the network.
    pub author: String,
    pub text: String,
    /// ISO 639-1 code of the language detected.
    pub language: String,
    pub intent: earshot_core::Intent,
    pub from_brand: bool,
    pub created_at: DateTime<Utc>,
}

/// A batch the store committed: each post as understood (by its place in the batch), what the
/// store did with it, and what earlier steps learned that later ones use.
#[derive(Debug)]
pub struct Committed {
    /// When the batch was heard: a post from a skewed clock's future counts as this moment.
    pub heard_at: DateTime<Utc>,
    /// Every post of the batch, in the order heard (refused ones included).
    pub posts: Vec<Understood>,
    pub report: IngestReport,
    /// The request each newly grouped post joined (post id → request), set by grouping for
    /// the steps after it (a spike's posts name their request).
    pub grouped: HashMap<i64, earshot_core::feedback::RequestId>,
}

impl Committed {
    /// The posts stored for the first time (not refused, not heard before), with their place
    /// in the store.
    pub fn fresh(&self) -> impl Iterator<Item = (&Understood, &IngestedPost)> {
        self.posts
            .iter()
            .enumerate()
            .filter_map(|(i, u)| Some((u, self.report.post_at(i)?)))
            .filter(|(_, p)| !p.duplicate)
    }
}

/// A step that runs after each committed batch (see the module doc). It gets the pipeline
/// (to read the policy in force, publish live events, or ingest what it sends in turn) and
/// the batch, which it may annotate for the steps after it.
#[async_trait]
pub trait AfterCommit: Send + Sync {
    async fn on_commit(&self, pipeline: &Pipeline, batch: &mut Committed);
}

/// The last after-commit step: live subscribers hear of every new post and every edit.
pub struct LiveFeed;

#[async_trait]
impl AfterCommit for LiveFeed {
    async fn on_commit(&self, pipeline: &Pipeline, batch: &mut Committed) {
        if pipeline.events.receiver_count() == 0
            && pipeline.own.receiver_count() == 0
            && pipeline.relay.get().is_none()
        {
            return;
        }
        let report = &batch.report;
        for p in report.posts.iter().filter(|p| !p.duplicate) {
            pipeline.publish(LiveEvent::PostStored {
                post_id: p.post_id,
                conversation_id: p.conversation_id,
                network: p.network,
            });
        }
        // Heard again with another text: stored as the author's edit.
        for p in report.posts.iter().filter(|p| p.edited) {
            if let Some(conversation_id) = p.conversation_id {
                pipeline.publish(LiveEvent::ConversationChanged {
                    conversation_id,
                    action: "post_edited".into(),
                });
            }
        }
    }
}

pub struct Pipeline {
    tuning: RwLock<Arc<Tuning>>,
    store: Arc<dyn Store>,
    /// Every event this process's pages should hear: its own and, in cluster mode, those
    /// other processes fanned out.
    events: broadcast::Sender<LiveEvent>,
    /// This process's own events only: what its `/metrics` counters count.
    own: broadcast::Sender<LiveEvent>,
    /// In cluster mode, where this process's own live events also go: the bus, which shows
    /// them to the other processes (see `crate::bus`). Set once, at start-up.
    relay: OnceLock<mpsc::Sender<LiveEvent>>,
    /// The after-commit steps in order; [`LiveFeed`] runs after them.
    after_commit: Vec<Arc<dyn AfterCommit>>,
}

impl Pipeline {
    pub fn new(
        analyzer: Arc<Analyzer>,
        brand: BrandIdentity,
        policy: TriagePolicy,
        store: Arc<dyn Store>,
    ) -> Self {
        let (events, _) = broadcast::channel(4096);
        let (own, _) = broadcast::channel(4096);
        Pipeline {
            tuning: RwLock::new(Arc::new(Tuning {
                analyzer,
                brand: Arc::new(brand),
                policy: Arc::new(policy),
                in_force: None,
            })),
            store,
            events,
            own,
            relay: OnceLock::new(),
            after_commit: vec![],
        }
    }

    /// Adds a step after each committed batch, after those already there (before it is
    /// shared: the steps are fixed once the pipeline runs).
    pub fn with_after_commit(mut self, step: Arc<dyn AfterCommit>) -> Self {
        self.after_commit.push(step);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
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
        brand: &crate::settings::BrandSettings,
        response: &crate::settings::ResponseSettings,
    ) -> Result<(), crate::settings::ConfigError> {
        let mut policy = response.triage_policy()?;
        let terms = earshot_analyze::Terms {
            brands: brand.names.clone(),
            handles: brand.handles.clone(),
            keywords: brand.keywords.clone(),
        };
        let mut tuning = self.tuning.write().unwrap_or_else(PoisonError::into_inner);
        // The queue's pace is measured, not set: it carries over.
        policy.pace = tuning.policy.pace;
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

    /// Every live event this process hears (in cluster mode, other processes' too).
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.events.subscribe()
    }

    /// The events of what this process itself did, never another process's (see
    /// [`Pipeline::publish_from_elsewhere`]).
    pub fn subscribe_own(&self) -> broadcast::Receiver<LiveEvent> {
        self.own.subscribe()
    }

    /// Tells this process's live subscribers, and the other processes when a relay is set.
    pub fn publish(&self, event: LiveEvent) {
        if let Some(relay) = self.relay.get() {
            // A full relay means the bus is far behind: the other processes' pages miss this
            // event (as a lagging page does) and refetch; this process's own go on.
            if relay.try_send(event.clone()).is_err() {
                tracing::warn!("live event not relayed to the other processes: the bus is behind");
            }
        }
        // Nobody listening is fine.
        let _ = self.own.send(event.clone());
        let _ = self.events.send(event);
    }

    /// Also sends this process's live events to `relay` from now on (cluster mode; once: a
    /// second relay is refused and `false` returned).
    pub fn relay_live_events(&self, relay: mpsc::Sender<LiveEvent>) -> bool {
        self.relay.set(relay).is_ok()
    }

    /// An event another process committed and published: shown to this process's live
    /// subscribers only, never relayed back (it would echo between the processes).
    pub fn publish_from_elsewhere(&self, event: LiveEvent) {
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

    /// The bulk import's path (`earshot import`): posts already understood (see
    /// [`Pipeline::understand`], run on another thread) are written in one batch with the
    /// policy in force, without the after-commit steps of [`Pipeline::ingest`] (history is not
    /// grouped, routed or announced live as it is read).
    pub async fn store_understood(&self, posts: Vec<Incoming>) -> Result<IngestReport, StoreError> {
        self.store
            .ingest(posts, &self.policy(), chrono::Utc::now())
            .await
    }

    /// Understands, threads and stores a batch, then runs the after-commit steps (the live
    /// feed last). A post the store refuses (a time outside the window earshot believes) is
    /// logged and listed in the report's `refused`; the rest of the batch is stored.
    #[tracing::instrument(skip_all, fields(posts = posts.len()))]
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
        let heard_at = Utc::now();
        let posts: Vec<Understood> = incoming
            .iter()
            .map(|inc| Understood {
                network: inc.post.network,
                author: inc.post.author.external_id.clone(),
                text: inc.post.text.clone(),
                language: inc.analysis.language.language.code().to_string(),
                intent: inc.analysis.intent.label,
                from_brand: inc.from_brand,
                created_at: inc.post.created_at,
            })
            .collect();
        let report = self
            .store
            .ingest(incoming, &tuning.policy, Utc::now())
            .await?;
        for r in &report.refused {
            tracing::warn!(network = %r.network, id = %r.external_id, reason = %r.reason, "post refused");
        }
        // The posts are committed: the steps follow, in order. Each logs its own failure,
        // which does not undo the ingest (the posts are in the inbox either way).
        let mut batch = Committed {
            heard_at,
            posts,
            report,
            grouped: HashMap::new(),
        };
        for step in &self.after_commit {
            step.on_commit(self, &mut batch).await;
        }
        LiveFeed.on_commit(self, &mut batch).await;
        Ok(batch.report)
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

    /// Moves waiting conversations up the inbox as their wait grows, after measuring the
    /// queue's pace (new conversations note their fair turn by it, see
    /// [`earshot_core::fair_turn`]).
    pub async fn rescore(&self) -> Result<u64, StoreError> {
        let now = Utc::now();
        let pace = self.store.queue_pace(now).await?;
        self.set_pace(pace);
        Ok(self.store.rescore_open(&self.policy(), now).await?.reranked)
    }

    fn set_pace(&self, pace: QueuePace) {
        let mut tuning = self.tuning.write().unwrap_or_else(PoisonError::into_inner);
        if tuning.policy.pace == Some(pace) {
            return;
        }
        *tuning = Arc::new(Tuning {
            analyzer: tuning.analyzer.clone(),
            brand: tuning.brand.clone(),
            policy: Arc::new(TriagePolicy {
                pace: Some(pace),
                ..(*tuning.policy).clone()
            }),
            in_force: tuning.in_force.clone(),
        });
    }
}
