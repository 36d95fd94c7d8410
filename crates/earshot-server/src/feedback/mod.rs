//! The loop, running: asks are grouped into requests as they arrive, replies that commit to
//! something propose promises, releases keep them and tell every customer who asked.
//!
//! The rules live in `earshot_core::feedback` (promise states, who is told and how) and in
//! `earshot_analyze` (grouping, promise wording); this module wires them to the store and
//! the desk. [`steps`] subscribes the loop to the pipeline's committed batches (opt-outs,
//! grouping, spikes) and to the outbox's sent replies (promises).

pub mod catch_up;
pub mod grouping;
pub mod measure;
pub mod snapshot;
pub mod spikes;
pub mod steps;
pub mod tracker;

use chrono::{DateTime, Utc};
use earshot_analyze::promises::{detect_promise, PromiseSettings};
use earshot_core::feedback::{Promise, RequestId, Templates};
use earshot_core::{Conversation, Network, Reply};
use earshot_store::feedback::NewPromise;
use earshot_store::{Store, StoreError};
use grouping::{AskToGroup, Grouping};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The key prefix of overdue-promise alerts kept in the store (`promise-overdue:<id>`).
const PROMISE_ALERTS: &str = "promise-overdue:";

pub struct FeedbackLoop {
    store: Arc<dyn Store>,
    templates: Templates,
    pace: NotifyPace,
    promises: PromiseSettings,
    /// One grouper for the process; asks are grouped one batch at a time.
    grouping: tokio::sync::Mutex<Grouping>,
    /// Several processes on one store group under one lease (see [`FeedbackLoop::group_under`]);
    /// unset, this process groups alone and at once.
    grouping_lease: std::sync::OnceLock<crate::lease::Lease>,
    /// The lease term the grouper was loaded in, and where the catch-up reads from (both
    /// changed only with `grouping` locked).
    grouping_term: std::sync::atomic::AtomicU64,
    catch_up: std::sync::Mutex<catch_up::Cursor>,
    /// The spike detector (see [`spikes`]); its changes are written one pass at a time, in
    /// the order it made them.
    spikes: std::sync::Mutex<spikes::Detector>,
    spike_writes: tokio::sync::Mutex<()>,
    /// Several processes on one store count spikes under one lease (see
    /// [`FeedbackLoop::count_spikes_under`]); unset, this process counts each batch at once.
    spike_lease: std::sync::OnceLock<crate::lease::Lease>,
    spike_cursor: std::sync::Mutex<spikes::Cursor>,
    /// When the spike count under a lease last looked for spike alerts owed again (it runs
    /// twice a second; the owed ones are looked for once a minute).
    spike_alerts_checked: std::sync::Mutex<Option<std::time::Instant>>,
    /// The request list pages may show a minute old.
    snapshot: Arc<snapshot::RequestsSnapshot>,
}

impl FeedbackLoop {
    pub fn new(store: Arc<dyn Store>) -> Self {
        FeedbackLoop {
            store,
            templates: Templates::default(),
            pace: NotifyPace::default(),
            promises: PromiseSettings::default(),
            grouping: tokio::sync::Mutex::new(Grouping::new("en")),
            grouping_lease: std::sync::OnceLock::new(),
            grouping_term: std::sync::atomic::AtomicU64::new(0),
            catch_up: std::sync::Mutex::default(),
            spikes: std::sync::Mutex::new(spikes::Detector::new(Default::default())),
            spike_writes: tokio::sync::Mutex::new(()),
            spike_lease: std::sync::OnceLock::new(),
            spike_cursor: std::sync::Mutex::default(),
            spike_alerts_checked: std::sync::Mutex::default(),
            snapshot: Arc::default(),
        }
    }

    /// Every request but merged ones, at most `max_age` old (see [`snapshot`]).
    pub async fn requests_snapshot(
        &self,
        max_age: std::time::Duration,
    ) -> Result<Arc<Vec<earshot_core::feedback::Request>>, StoreError> {
        self.snapshot.requests(&self.store, max_age).await
    }

    /// Tunes the spike detector (tests use a short warm-up).
    pub fn with_spike_config(mut self, config: earshot_analyze::spikes::SpikeConfig) -> Self {
        self.spikes = std::sync::Mutex::new(spikes::Detector::new(config));
        self
    }

    /// Request titles are written in this language (`[brand] language`, ISO 639-1).
    pub fn with_team_language(self, language: &str) -> Self {
        FeedbackLoop {
            grouping: tokio::sync::Mutex::new(Grouping::new(language)),
            ..self
        }
    }

    /// Corrections worth offering agents now, best first: requests that look like one,
    /// asks that may not belong (at most `limit` of each).
    pub async fn suggestions(&self, limit: usize) -> Result<grouping::Suggestions, StoreError> {
        self.grouping
            .lock()
            .await
            .suggestions(&*self.store, limit)
            .await
    }

    /// An agent moves a post out of its request into a new request of its own, titled by
    /// it; the grouper learns the two apart. Returns the new request.
    pub async fn move_out(&self, post_id: i64, by: &str) -> Result<RequestId, StoreError> {
        let Some(from) = self.store.request_of_post(post_id).await? else {
            return Err(StoreError::NotFound(format!(
                "post {post_id} is in no request"
            )));
        };
        let detail = self.store.request(from, Utc::now(), 500).await?;
        let post = detail
            .as_ref()
            .and_then(|d| d.posts.iter().find(|p| p.id == post_id));
        let (title, at) = post.map_or_else(
            || ("Untitled request".to_string(), Utc::now()),
            |p| (grouping::title(&p.text), p.created_at),
        );
        let request = self.store.create_request(&title, at).await?;
        self.store
            .add_to_request(post_id, request, 1.0, by, Utc::now())
            .await?;
        self.snapshot.drop_list();
        self.grouping
            .lock()
            .await
            .moved_out(&*self.store, post_id, request)
            .await?;
        Ok(request)
    }

    /// Sends release notifications without pausing between them (tests, demos).
    pub fn with_pace(mut self, pace: NotifyPace) -> Self {
        self.pace = pace;
        self
    }

    pub fn with_templates(mut self, templates: Templates) -> Self {
        self.templates = templates;
        self
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// An agent folds `from` into `into`; the grouper learns from it.
    pub async fn merge(
        &self,
        from: RequestId,
        into: RequestId,
        by: &str,
    ) -> Result<(), StoreError> {
        self.store
            .merge_requests(from, into, by, Utc::now())
            .await?;
        self.snapshot.drop_list();
        self.grouping
            .lock()
            .await
            .merged(&*self.store, from, into)
            .await
    }

    /// An agent moves a post to the request it really asks for; the grouper learns from it.
    pub async fn move_post(&self, post_id: i64, to: RequestId, by: &str) -> Result<(), StoreError> {
        self.store
            .add_to_request(post_id, to, 1.0, by, Utc::now())
            .await?;
        self.snapshot.drop_list();
        self.grouping
            .lock()
            .await
            .moved(&*self.store, post_id, to)
            .await
    }

    /// Remembers customers who said they want no updates.
    pub async fn remember_opt_outs(
        &self,
        opt_outs: &[(Network, String)],
    ) -> Result<(), StoreError> {
        for (network, author) in opt_outs {
            self.store.opt_out(*network, author, Utc::now()).await?;
        }
        Ok(())
    }

    /// Groups new customer asks (feature requests) into requests; an ask that fits two
    /// requests which look like one merges them, as an agent's merge would. Returns (post,
    /// request, opened a new request), the request as it is after any such merge.
    pub async fn group_asks(
        &self,
        asks: &[AskToGroup],
    ) -> Result<Vec<(i64, RequestId, bool)>, StoreError> {
        if asks.is_empty() {
            return Ok(vec![]);
        }
        let Some(mut grouping) = self.grouping_here().await else {
            // Another process holds the grouping lease: it catches up with these asks.
            return Ok(vec![]);
        };
        let asks = if self.grouping_lease.get().is_some() {
            grouping.not_grouped(&*self.store, asks.to_vec()).await?
        } else {
            asks.to_vec()
        };
        let grouped = grouping.group(&*self.store, &asks).await;
        // An ask that bridged two requests merged them: the list must not show the absorbed one.
        if !grouping.drain_merged().is_empty() {
            self.snapshot.drop_list();
        }
        grouped
    }

    /// Groups under `lease` from now on: a process that does not hold it leaves the asks it
    /// stores to the holder, which finds them with [`FeedbackLoop::group_waiting_asks`].
    /// Set once, before asks are heard (a second lease is ignored). Not set when the process
    /// is alone on its store, so grouping there stays direct.
    pub fn group_under(&self, lease: crate::lease::Lease) {
        if self.grouping_lease.set(lease).is_err() {
            tracing::warn!("grouping already runs under a lease: the second one is ignored");
        }
    }

    /// The grouper, when this process groups now: reloaded from the store after each gain
    /// of the lease (another process may have grouped, merged or moved asks meanwhile).
    async fn grouping_here(&self) -> Option<tokio::sync::MutexGuard<'_, Grouping>> {
        use std::sync::atomic::Ordering;
        let mut grouping = self.grouping.lock().await;
        if let Some(lease) = self.grouping_lease.get() {
            if !lease.is_held() {
                return None;
            }
            let term = lease.term();
            if self.grouping_term.swap(term, Ordering::AcqRel) != term {
                *grouping = grouping.reloaded();
                *self.catch_up.lock().unwrap_or_else(|p| p.into_inner()) =
                    catch_up::Cursor::default();
            }
        }
        Some(grouping)
    }

    /// One catch-up pass of the process holding the grouping lease: asks stored by any
    /// process and in no request yet are grouped (at most [`catch_up::PAGE`]). Returns how
    /// many; 0 without the lease.
    pub async fn group_waiting_asks(&self) -> Result<usize, StoreError> {
        if self.grouping_lease.get().is_none() {
            return Ok(0);
        }
        let Some(mut grouping) = self.grouping_here().await else {
            return Ok(0);
        };
        let after = self
            .catch_up
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .after(std::time::Instant::now());
        let (waiting, read_to) = self.store.asks_not_grouped(after, catch_up::PAGE).await?;
        let asks = waiting
            .into_iter()
            .map(|a| AskToGroup {
                post_id: a.post_id,
                text: a.text,
                language: a.language,
                at: a.created_at,
            })
            .collect();
        let asks = grouping.not_grouped(&*self.store, asks).await?;
        let grouped = grouping.group(&*self.store, &asks).await?;
        if !grouping.drain_merged().is_empty() {
            self.snapshot.drop_list();
        }
        self.catch_up
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .read_to(read_to);
        Ok(grouped.len())
    }

    /// A reply went out: if it commits to something, a promise is proposed on the request the
    /// customer asked in (a request is opened around their post when nobody grouped it, as for
    /// a complaint that turns into a policy change).
    pub async fn on_reply_sent(
        &self,
        reply: &Reply,
        conversation: &Conversation,
    ) -> Result<Option<Promise>, StoreError> {
        let lang = conversation.language.as_str();
        let written = reply.sent_at.unwrap_or(reply.created_at);
        let Some(candidate) = detect_promise(&reply.text, Some(lang), written.date_naive()) else {
            return Ok(None);
        };
        let Some(kind) = self.promises.proposal(&candidate) else {
            return Ok(None);
        };
        let evidence = candidate.evidence_text(&reply.text).trim().to_string();
        let request_id = if candidate.kind.is_product_promise() {
            self.request_for(conversation).await?
        } else {
            None
        };
        let promise = self
            .store
            .propose_promise(NewPromise {
                request_id,
                conversation_id: conversation.id,
                reply_id: Some(reply.id),
                evidence: if evidence.is_empty() {
                    reply.text.clone()
                } else {
                    evidence
                },
                kind,
                made_at: written,
                due_on: candidate
                    .due
                    .as_ref()
                    .and_then(|d| d.due_on(written.date_naive())),
                target_release: candidate
                    .due
                    .as_ref()
                    .and_then(|d| d.target_release().map(str::to_string)),
            })
            .await?;
        Ok(Some(promise))
    }

    /// The request a conversation's ask belongs to, opening one around its latest customer post.
    async fn request_for(
        &self,
        conversation: &Conversation,
    ) -> Result<Option<RequestId>, StoreError> {
        let Some(detail) = self.store.conversation(conversation.id).await? else {
            return Ok(None);
        };
        let customer_posts: Vec<_> = detail.posts.iter().filter(|p| !p.from_brand).collect();
        for post in customer_posts.iter().rev() {
            if let Some(r) = self.store.request_of_post(post.id).await? {
                return Ok(Some(r));
            }
        }
        let Some(post) = customer_posts.last() else {
            return Ok(None);
        };
        let ask = AskToGroup {
            post_id: post.id,
            text: post.text.clone(),
            language: post.analysis.language.language.code().to_string(),
            at: post.created_at,
        };
        Ok(Some(
            self.grouping.lock().await.open(&*self.store, &ask).await?,
        ))
    }

    /// Marks confirmed promises past their due date broken and alerts once for each (kept
    /// until delivered: the alerts of a process that died first go out on the next pass).
    pub async fn check_promises(
        &self,
        alerts: &crate::alerts::Alerts,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        alerts
            .send_unsettled(&self.store, PROMISE_ALERTS, now)
            .await;
        let today = now.date_naive();
        let mut broken = 0;
        for mut promise in self
            .store
            .promises(Some(earshot_core::feedback::PromiseState::Confirmed))
            .await?
        {
            if promise.break_if_overdue(today) {
                let due = promise.due_on.map(|d| d.to_string()).unwrap_or_default();
                let alert = earshot_connect::notify::Alert::new(
                    earshot_connect::notify::AlertKind::PromiseOverdue,
                    format!("Promise {} is overdue (due {due})", promise.id),
                    format!(
                        "\"{}\" — promised in conversation {}.",
                        promise.evidence, promise.conversation_id
                    ),
                    format!("{PROMISE_ALERTS}{}", promise.id),
                )
                .with_severity(earshot_connect::notify::Severity::Warning);
                // Claimed before the promise is saved broken: a process that dies in between
                // leaves a claim the next pass sends, and breaks the promise again unalerted.
                alerts.claim_and_send(&self.store, alert, None, now).await?;
                self.store.save_promise(&promise, "earshot").await?;
                broken += 1;
            }
        }
        Ok(broken)
    }

    /// How fast release notifications go out.
    pub fn pace(&self) -> &NotifyPace {
        &self.pace
    }
}

/// How fast notifications go out per network, so a release to thousands of askers does not
/// trip a network's rate limit (or look like spam).
#[derive(Debug, Clone)]
pub struct NotifyPace {
    pub per_network: HashMap<Network, Duration>,
    pub default: Duration,
}

impl Default for NotifyPace {
    fn default() -> Self {
        NotifyPace {
            per_network: HashMap::new(),
            default: Duration::from_millis(1_000),
        }
    }
}

impl NotifyPace {
    pub fn none() -> Self {
        NotifyPace {
            per_network: HashMap::new(),
            default: Duration::ZERO,
        }
    }

    pub(crate) fn gap(&self, network: Network) -> Duration {
        self.per_network
            .get(&network)
            .copied()
            .unwrap_or(self.default)
    }
}
