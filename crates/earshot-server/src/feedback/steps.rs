//! The loop's subscriptions: after each committed batch (see [`crate::pipeline`]) customers
//! who opt out are remembered, asks are grouped into requests and posts are counted for
//! spikes, in that order; after each sent reply (see [`crate::outbox`]) a commitment in it is
//! proposed as a promise.

use super::grouping::AskToGroup;
use super::spikes::Observed;
use super::FeedbackLoop;
use crate::alerts::Alerts;
use crate::outbox::AfterSent;
use crate::pipeline::{AfterCommit, Committed, LiveEvent, Pipeline};
use async_trait::async_trait;
use earshot_core::{Conversation, Intent, Reply};
use std::sync::Arc;

/// "Don't notify me": remembered per (network, author), from every customer post heard.
pub struct OptOuts(pub Arc<FeedbackLoop>);

#[async_trait]
impl AfterCommit for OptOuts {
    async fn on_commit(&self, _: &Pipeline, batch: &mut Committed) {
        let opt_outs: Vec<_> = batch
            .posts
            .iter()
            .filter(|u| !u.from_brand)
            .filter(|u| earshot_analyze::promises::detect_opt_out(&u.text, Some(&u.language)))
            .map(|u| (u.network, u.author.clone()))
            .collect();
        if let Err(e) = self.0.remember_opt_outs(&opt_outs).await {
            tracing::warn!(error = %e, "remembering customers who opted out failed");
        }
    }
}

/// New customer asks (intent `feature_request`) join requests; the batch remembers which,
/// for the spikes after it.
pub struct Grouping(pub Arc<FeedbackLoop>);

#[async_trait]
impl AfterCommit for Grouping {
    async fn on_commit(&self, _: &Pipeline, batch: &mut Committed) {
        let asks: Vec<AskToGroup> = batch
            .fresh()
            .filter(|(u, _)| !u.from_brand && u.intent == Intent::FeatureRequest)
            .map(|(u, p)| AskToGroup {
                post_id: p.post_id,
                text: u.text.clone(),
                language: u.language.clone(),
                at: u.created_at,
            })
            .collect();
        match self.0.group_asks(&asks).await {
            Ok(grouped) => batch.grouped.extend(
                grouped
                    .into_iter()
                    .map(|(post, request, _)| (post, request)),
            ),
            Err(e) => tracing::warn!(error = %e, "grouping asks into requests failed"),
        }
    }
}

/// New customer posts are counted for bursts; a spike that starts is stored, alerted once
/// and announced live.
pub struct Spikes {
    pub feedback: Arc<FeedbackLoop>,
    pub alerts: Arc<Alerts>,
}

#[async_trait]
impl AfterCommit for Spikes {
    async fn on_commit(&self, pipeline: &Pipeline, batch: &mut Committed) {
        let observed: Vec<Observed> = batch
            .fresh()
            .filter(|(u, _)| !u.from_brand)
            .map(|(u, p)| Observed {
                post_id: p.post_id,
                author: format!("{}:{}", u.network, u.author),
                text: u.text.clone(),
                language: u.language.clone(),
                request: batch.grouped.get(&p.post_id).map(|r| r.0),
                // A post from the future (a skewed clock) counts as now.
                at: u.created_at.min(batch.heard_at),
            })
            .collect();
        // Where several processes share the store, only the lease holder counts (reading what
        // every process stored): here this is nothing.
        match self.feedback.observe(&observed, &self.alerts).await {
            Ok(started) => {
                for view in started {
                    pipeline.publish(LiveEvent::SpikeStarted {
                        spike_id: view.spike.id.0,
                        label: view.spike.label_terms.join(", "),
                    });
                }
            }
            Err(e) => tracing::warn!(error = %e, "writing spikes failed"),
        }
    }
}

/// "We will add that": a sent reply that commits to something proposes a promise for an
/// agent to confirm.
pub struct Promises(pub Arc<FeedbackLoop>);

#[async_trait]
impl AfterSent for Promises {
    async fn on_sent(&self, reply: &Reply, conversation: &Conversation) {
        match self.0.on_reply_sent(reply, conversation).await {
            Ok(Some(promise)) => {
                tracing::info!(promise = %promise.id, kind = promise.kind.as_str(), "promise proposed")
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "reading the reply for promises failed"),
        }
    }
}
