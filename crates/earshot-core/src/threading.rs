//! Threading: which conversation each new post belongs to, and what that does to the clock.
//!
//! The store gathers what it already knows about a batch ([`Known`]), [`plan`] decides
//! everything as a pure function, and the store writes the [`Plan`] in one transaction.
//! Both store backends share this logic, so they cannot drift apart.
//!
//! Rules:
//! - A post already stored (same `(network, external_id)`) is a duplicate and changes nothing.
//! - A reply joins the conversation of the post it answers, the brand's replies included.
//! - A customer's new top-level post joins their unresolved conversation on that network if
//!   it was active within the merge window; otherwise it opens a new conversation.
//! - A brand reply whose parent has not arrived yet is kept aside (an orphan) and adopted
//!   when the parent arrives, so out-of-order delivery still counts first responses right.
//! - A customer reply whose parent has not arrived yet opens a conversation that waits for it
//!   ([`Conversation::awaits_parent`]); when the parent comes and has no conversation of its
//!   own to go to, it joins that one — a customer's post as its new opening post (the clock
//!   then runs from it), the brand's as a post in the thread. A parent that belongs to another
//!   conversation (it answers a post there) leaves the waiting one as it is.
//! - The first brand post after a customer post is the first response, timed from the
//!   networks' own timestamps.
//! - earshot's automatic replies (an out-of-hours acknowledgement, [`Known::automatic`]) join
//!   the thread but answer nothing: the response clock keeps running, as the industry counts it.

use crate::analysis::Analysis;
use crate::conversation::{Conversation, ConversationId, Status};
use crate::fair_turn::QueuePace;
use crate::network::Network;
use crate::post::{NewPost, PostKey};
use crate::priority::{Owed, Priority, PrioritySignals, RankingModel};
use crate::sla::{ResponseTargets, SlaClock};
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, HashSet};

/// The brand's own accounts, so its posts are recognised as answers.
#[derive(Debug, Clone, Default)]
pub struct BrandIdentity {
    handles: HashSet<String>,
}

fn normalise_handle(h: &str) -> String {
    h.trim().trim_start_matches('@').to_lowercase()
}

impl BrandIdentity {
    pub fn new<S: AsRef<str>>(handles: &[S]) -> Self {
        BrandIdentity {
            handles: handles
                .iter()
                .map(|h| normalise_handle(h.as_ref()))
                .collect(),
        }
    }

    /// The source's word wins (TWCS marks brand rows); otherwise the configured handles decide.
    pub fn is_brand(&self, post: &NewPost) -> bool {
        post.from_brand.unwrap_or_else(|| {
            self.handles
                .contains(&normalise_handle(&post.author.handle))
                || self
                    .handles
                    .contains(&normalise_handle(&post.author.external_id))
        })
    }
}

/// Response targets and the clock they run on.
#[derive(Debug, Clone)]
pub struct TriagePolicy {
    pub targets: ResponseTargets,
    pub clock: SlaClock,
    /// A customer's new post joins their open conversation if it was active this recently.
    pub merge_window: Duration,
    /// How conversations rank (`[ranking]`).
    pub ranking: RankingModel,
    /// How busy the queue was when last measured (not a setting: the rescore pass measures
    /// it); `None` until then, and no fair turn is noted without it (see [`crate::fair_turn`]).
    pub pace: Option<QueuePace>,
}

impl Default for TriagePolicy {
    fn default() -> Self {
        TriagePolicy {
            targets: ResponseTargets::default(),
            clock: SlaClock::Calendar,
            merge_window: Duration::hours(24),
            ranking: RankingModel::default(),
            pace: None,
        }
    }
}

/// A post ready to be threaded: understood, and known to be the brand's or a customer's.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub post: NewPost,
    pub analysis: Analysis,
    pub from_brand: bool,
}

/// A post the store already holds, as far as threading cares.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownPost {
    pub key: PostKey,
    pub conversation_id: Option<ConversationId>,
    pub from_brand: bool,
    pub created_at: DateTime<Utc>,
}

/// What the store knows that a batch touches.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Keys of the batch that are already stored.
    pub stored: HashSet<PostKey>,
    /// Posts the batch replies to.
    pub parents: HashMap<PostKey, KnownPost>,
    /// Every conversation referenced by `parents`, `open_by_customer` or `orphans`.
    pub conversations: HashMap<ConversationId, Conversation>,
    /// The latest unresolved conversation of each customer `(network, author external id)`.
    pub open_by_customer: HashMap<(Network, String), ConversationId>,
    /// Stored posts with no conversation yet, by the key of the parent they wait for.
    pub orphans: HashMap<PostKey, Vec<KnownPost>>,
    /// Stored conversations opened by a reply whose parent had not been heard, by that
    /// parent's key (their [`Conversation::awaits_parent`]).
    pub awaiting: HashMap<PostKey, Vec<ConversationId>>,
    /// Brand posts of the batch that are earshot's own automatic replies (their reply's
    /// idempotency key starts with [`crate::reply::AUTO_REPLY_KEY_PREFIX`]).
    pub automatic: HashSet<PostKey>,
}

/// A conversation a planned post belongs to: stored already, or created by this plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConvRef {
    Existing(ConversationId),
    New(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPost {
    /// Index into the batch.
    pub index: usize,
    pub conversation: Option<ConvRef>,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// New posts in the order to write them.
    pub posts: Vec<PlannedPost>,
    /// Batch indexes that were already stored (or repeated within the batch).
    pub duplicates: Vec<usize>,
    /// Conversations to create; `ConvRef::New(i)` is `new_conversations[i]` (its id is a placeholder).
    pub new_conversations: Vec<Conversation>,
    /// Stored conversations whose state changed.
    pub updated_conversations: Vec<Conversation>,
    /// Stored orphan posts that now belong to a conversation.
    pub adopted: Vec<(PostKey, ConvRef)>,
    /// Stored conversations whose awaited parent arrived and joined them: their opening post,
    /// customer and first target (in `updated_conversations`) may have changed, and they await
    /// nothing more, or their new opening post's own parent.
    pub parent_arrived: Vec<ConversationId>,
}

struct Work<'a> {
    new: Vec<Conversation>,
    touched: HashMap<ConversationId, Conversation>,
    known: &'a Known,
}

impl Work<'_> {
    fn get_mut(&mut self, r: ConvRef) -> Option<&mut Conversation> {
        match r {
            ConvRef::New(i) => self.new.get_mut(i),
            ConvRef::Existing(id) => {
                if !self.touched.contains_key(&id) {
                    let c = self.known.conversations.get(&id)?.clone();
                    self.touched.insert(id, c);
                }
                self.touched.get_mut(&id)
            }
        }
    }

    fn get(&self, r: ConvRef) -> Option<&Conversation> {
        match r {
            ConvRef::New(i) => self.new.get(i),
            ConvRef::Existing(id) => self
                .touched
                .get(&id)
                .or_else(|| self.known.conversations.get(&id)),
        }
    }
}

/// A conversation that starts waiting notes its fair turn from the queue's pace at that
/// moment, and keeps it until answered (a follow-up or a chase does not push it back). The
/// pace says nothing of the queue long ago: a conversation already waiting more than the
/// pace's hour when first seen (an import of history) notes none.
fn note_fair_turn(conv: &mut Conversation, policy: &TriagePolicy, now: DateTime<Utc>) {
    match conv.awaiting_since {
        None => conv.signals.fair_turn_at = None,
        Some(since) if conv.signals.fair_turn_at.is_none() && now - since <= Duration::hours(1) => {
            conv.signals.fair_turn_at = policy
                .pace
                .and_then(|pace| pace.fair_turn(since, policy.ranking.fair_turn));
        }
        Some(_) => {}
    }
}

/// The signals a customer post gives the priority score.
pub fn signals_of(analysis: &Analysis) -> PrioritySignals {
    PrioritySignals {
        intent: analysis.intent.label,
        sentiment: analysis.sentiment.label,
        sentiment_score: analysis.sentiment.score,
        urgency: analysis.urgency.level,
        urgency_score: analysis.urgency.score,
        reach_tier: analysis.reach.tier,
        reach_score: analysis.reach.score,
        followers: analysis.reach.followers,
        harm: analysis.safety.harm,
        harm_kinds: analysis.safety.kinds.clone(),
        chases: 0,
        jump: None,
        fair_turn_at: None,
    }
}

/// Recomputes the score from the stored signals and how long the customer has waited by `now`.
pub fn rescore(conv: &mut Conversation, policy: &TriagePolicy, now: DateTime<Utc>) {
    note_fair_turn(conv, policy, now);
    conv.priority = rank(&conv.signals, conv.awaiting_since, policy, now);
}

/// Where a conversation with these signals ranks at `now`, waiting since `awaiting_since`
/// (`None`: no answer owed): its band's target and the covered time waited, under the
/// policy's ranking. The one ranking the inbox, the API and the lab's triage replay share.
pub fn rank(
    signals: &PrioritySignals,
    awaiting_since: Option<DateTime<Utc>>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Priority {
    let owed = awaiting_since.map(|since| {
        let band = policy.ranking.band(signals);
        Owed {
            waited: policy.clock.elapsed(since, now),
            target: policy.targets.target_for(band),
            raised_target: policy.targets.target_for(band.raised()),
            past_fair_turn: signals
                .fair_turn_at
                .filter(|turn| *turn <= now)
                .map(|turn| now - turn),
        }
    });
    policy.ranking.score_owed(signals, owed)
}

/// What a customer's post does to the signals of the conversation it joins. A content-free
/// chase ("hello??") says only that they are still waiting: the conversation keeps what it
/// was about and counts the chase. Any other post written while an answer is still owed is
/// folded in, the strongest of each signal kept, so a follow-up never demotes. After an
/// answer, the post is a new ask and is read afresh (a queue jump stays).
pub fn fold_customer_post(
    signals: &mut PrioritySignals,
    analysis: &Analysis,
    answer_owed: bool,
    model: &RankingModel,
) {
    let newer = signals_of(analysis);
    if analysis.chase {
        signals.chases = signals.chases.saturating_add(1);
    } else if answer_owed {
        signals.merge_unanswered(&newer, model);
    } else {
        // Read afresh, but a queue jump stays, and so does a fair turn already noted (an
        // answer clears it; a correction refolds from here and must not lose it).
        let jump = signals.jump.take();
        let fair_turn_at = signals.fair_turn_at.take();
        *signals = newer;
        signals.jump = jump;
        signals.fair_turn_at = fair_turn_at;
    }
}

fn open_conversation(
    incoming: &Incoming,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Conversation {
    let post = &incoming.post;
    let signals = signals_of(&incoming.analysis);
    let band = policy.ranking.band(&signals);
    let due = policy
        .clock
        .due(post.created_at, policy.targets.target_for(band));
    let mut conv = Conversation {
        priority: policy.ranking.score(&signals, None, None),
        language: incoming.analysis.language.language.code().to_string(),
        intent: incoming.analysis.intent.label,
        sentiment: incoming.analysis.sentiment.label,
        signals,
        // Opened because its parent is not here (it would have joined the parent's).
        awaits_parent: post.in_reply_to.clone(),
        ..Conversation::opened(
            post.network,
            post.author.clone(),
            post.external_id.clone(),
            post.created_at,
            due,
        )
    };
    rescore(&mut conv, policy, now);
    conv
}

/// The post a waiting conversation's opening post answers has arrived, from the customer:
/// written before everything in it, it becomes the opening post (the clock runs from it);
/// written after (clocks disagree), it is one more customer post.
fn parent_opened(
    conv: &mut Conversation,
    incoming: &Incoming,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) {
    let post = &incoming.post;
    let at = post.created_at;
    conv.awaits_parent = post.in_reply_to.clone();
    if at >= conv.opened_at {
        customer_posted(conv, incoming, policy, now);
        return;
    }
    conv.post_count += 1;
    conv.opened_at = at;
    conv.root_external_id = post.external_id.clone();
    conv.customer = post.author.clone();
    let target = policy
        .targets
        .target_for(policy.ranking.band(&conv.signals));
    conv.first_response_due = policy.clock.due(at, target);
    if let Some(first) = conv.first_response_at {
        conv.first_response_secs = Some((first - at).num_seconds());
    }
    // Owed since the earliest unanswered customer post: now this one, unless the brand wrote
    // after it (that answer covered it).
    if let (Some(since), false) = (
        conv.awaiting_since,
        conv.last_brand_at.is_some_and(|b| b >= at),
    ) {
        conv.awaiting_since = Some(since.min(at));
        conv.response_due = Some(policy.clock.due(since.min(at), target));
    }
    rescore(conv, policy, now);
}

fn customer_posted(
    conv: &mut Conversation,
    incoming: &Incoming,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) {
    let at = incoming.post.created_at;
    conv.post_count += 1;
    conv.last_activity_at = conv.last_activity_at.max(at);
    if conv.last_brand_at.is_some_and(|brand| at <= brand) {
        // Written before the brand's latest answer and delivered late: that answer covered it.
        conv.last_customer_at = conv.last_customer_at.max(at);
        return;
    }
    conv.last_customer_at = conv.last_customer_at.max(at);
    fold_customer_post(
        &mut conv.signals,
        &incoming.analysis,
        conv.awaiting_since.is_some(),
        &policy.ranking,
    );
    if !incoming.analysis.chase {
        conv.language = incoming.analysis.language.language.code().to_string();
    }
    conv.intent = conv.signals.intent;
    conv.sentiment = conv.signals.sentiment;
    if conv.status != Status::Open {
        conv.status = Status::Open;
        conv.resolved_at = None;
    }
    let band = policy.ranking.band(&conv.signals);
    let since = conv.awaiting_since.map_or(at, |s| s.min(at));
    if conv.awaiting_since != Some(since) {
        conv.awaiting_since = Some(since);
        conv.response_due = Some(policy.clock.due(since, policy.targets.target_for(band)));
    }
    rescore(conv, policy, now);
}

/// An automatic acknowledgement: part of the thread, but no answer to anything.
fn automatic_posted(conv: &mut Conversation, at: DateTime<Utc>) {
    conv.post_count += 1;
    conv.last_activity_at = conv.last_activity_at.max(at);
}

fn brand_posted(
    conv: &mut Conversation,
    at: DateTime<Utc>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) {
    conv.post_count += 1;
    conv.last_activity_at = conv.last_activity_at.max(at);
    conv.last_brand_at = Some(conv.last_brand_at.map_or(at, |b| b.max(at)));
    if let Some(since) = conv.awaiting_since {
        if at >= since && conv.first_response_at.is_none() {
            conv.first_response_at = Some(at);
            conv.first_response_secs = Some((at - conv.opened_at).num_seconds());
        }
        // Only an answer written after the customer's latest post settles what is owed.
        if at >= conv.last_customer_at {
            conv.awaiting_since = None;
            conv.response_due = None;
            conv.signals.chases = 0;
            if conv.status == Status::Open {
                conv.status = Status::Pending;
            }
        } else if at >= since {
            // It answered the earlier posts but not the customer's latest: the clock now runs
            // from that latest post (the only customer time known to be after this answer).
            let band = policy.ranking.band(&conv.signals);
            conv.awaiting_since = Some(conv.last_customer_at);
            // Owed from a later post now: its turn is noted afresh.
            conv.signals.fair_turn_at = None;
            conv.response_due = Some(
                policy
                    .clock
                    .due(conv.last_customer_at, policy.targets.target_for(band)),
            );
        }
    }
    rescore(conv, policy, now);
}

/// Decides where each post of a batch goes. Pure: same inputs, same plan.
pub fn plan(batch: &[Incoming], known: &Known, policy: &TriagePolicy, now: DateTime<Utc>) -> Plan {
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| batch[i].post.created_at);

    let mut work = Work {
        new: Vec::new(),
        touched: HashMap::new(),
        known,
    };
    let mut out = Plan::default();
    // Where each post of this batch went, for replies later in the same batch.
    let mut placed: HashMap<PostKey, usize> = HashMap::new();
    let mut open_by_customer: HashMap<(Network, String), ConvRef> = known
        .open_by_customer
        .iter()
        .map(|(k, v)| (k.clone(), ConvRef::Existing(*v)))
        .collect();
    // Planned posts without a conversation, by the parent they wait for.
    let mut batch_orphans: HashMap<PostKey, Vec<usize>> = HashMap::new();
    // Stored orphans this plan has adopted, so their own replies find the conversation.
    let mut adopted_into: HashMap<PostKey, ConvRef> = HashMap::new();

    for &i in &order {
        let incoming = &batch[i];
        let post = &incoming.post;
        let key = post.key();
        if known.stored.contains(&key) || placed.contains_key(&key) {
            out.duplicates.push(i);
            continue;
        }
        let parent_key = post
            .in_reply_to
            .as_ref()
            .map(|p| PostKey::new(post.network, p.clone()));
        let parent_conv: Option<ConvRef> = parent_key.as_ref().and_then(|pk| {
            if let Some(&planned) = placed.get(pk) {
                out.posts[planned].conversation
            } else if let Some(&r) = adopted_into.get(pk) {
                // Stored as an orphan, adopted earlier in this very plan.
                Some(r)
            } else {
                known
                    .parents
                    .get(pk)
                    .and_then(|p| p.conversation_id)
                    .map(ConvRef::Existing)
            }
        });

        // A stored conversation that was opened by a reply to this very post, waiting for it.
        let waiting: Option<ConversationId> = if parent_conv.is_none() {
            known.awaiting.get(&key).and_then(|cs| {
                cs.iter()
                    .copied()
                    .filter(|c| !out.parent_arrived.contains(c))
                    .min_by_key(|c| known.conversations.get(c).map(|c| c.opened_at))
            })
        } else {
            None
        };

        let conversation = if incoming.from_brand {
            if let Some(r) = parent_conv {
                if let Some(c) = work.get_mut(r) {
                    if known.automatic.contains(&key) {
                        automatic_posted(c, post.created_at);
                    } else {
                        brand_posted(c, post.created_at, policy, now);
                    }
                }
                parent_conv
            } else if let Some(w) = waiting {
                // The brand post the customer answered: it joins their thread (no answer to
                // anything written after it, so the clock does not stop).
                if let Some(c) = work.get_mut(ConvRef::Existing(w)) {
                    brand_posted(c, post.created_at, policy, now);
                    c.awaits_parent = post.in_reply_to.clone();
                }
                out.parent_arrived.push(w);
                Some(ConvRef::Existing(w))
            } else {
                None
            }
        } else {
            let customer = (post.network, post.author.external_id.clone());
            let r = if let Some(w) = waiting {
                let r = ConvRef::Existing(w);
                if let Some(c) = work.get_mut(r) {
                    parent_opened(c, incoming, policy, now);
                }
                out.parent_arrived.push(w);
                // Its customer may have changed: whoever kept it as theirs no longer does.
                open_by_customer.retain(|_, v| *v != r);
                r
            } else {
                let joined = parent_conv.or_else(|| {
                    let r = *open_by_customer.get(&customer)?;
                    let c = work.get(r)?;
                    let recent = post.created_at - c.last_activity_at <= policy.merge_window;
                    (c.status != Status::Resolved && recent).then_some(r)
                });
                match joined {
                    Some(r) => {
                        if let Some(c) = work.get_mut(r) {
                            customer_posted(c, incoming, policy, now);
                        }
                        r
                    }
                    None => {
                        work.new.push(open_conversation(incoming, policy, now));
                        ConvRef::New(work.new.len() - 1)
                    }
                }
            };
            // Only the customer's own conversation counts as theirs: replying in someone
            // else's thread must not pull their next top-level post into it.
            if work
                .get(r)
                .is_some_and(|c| c.customer.external_id == customer.1)
            {
                open_by_customer.insert(customer, r);
            }
            Some(r)
        };

        out.posts.push(PlannedPost {
            index: i,
            conversation,
        });
        let planned = out.posts.len() - 1;
        placed.insert(key.clone(), planned);

        match conversation {
            None => {
                if let Some(pk) = parent_key {
                    batch_orphans.entry(pk).or_default().push(planned);
                }
            }
            Some(r) => {
                // Adopt whatever was waiting for this post, then whatever waited for those.
                let mut waiting: Vec<PostKey> = vec![key];
                while let Some(parent) = waiting.pop() {
                    if let Some(stored) = known.orphans.get(&parent) {
                        let mut stored = stored.clone();
                        stored.sort_by_key(|o| o.created_at);
                        for orphan in stored {
                            if adopted_into.contains_key(&orphan.key) {
                                continue;
                            }
                            if let Some(c) = work.get_mut(r) {
                                if orphan.from_brand {
                                    brand_posted(c, orphan.created_at, policy, now);
                                } else {
                                    c.post_count += 1;
                                }
                            }
                            out.adopted.push((orphan.key.clone(), r));
                            adopted_into.insert(orphan.key.clone(), r);
                            waiting.push(orphan.key);
                        }
                    }
                    if let Some(children) = batch_orphans.remove(&parent) {
                        for child in children {
                            let idx = out.posts[child].index;
                            out.posts[child].conversation = Some(r);
                            if let Some(c) = work.get_mut(r) {
                                let at = batch[idx].post.created_at;
                                if !batch[idx].from_brand {
                                    c.post_count += 1;
                                } else if known.automatic.contains(&batch[idx].post.key()) {
                                    automatic_posted(c, at);
                                } else {
                                    brand_posted(c, at, policy, now);
                                }
                            }
                            waiting.push(batch[idx].post.key());
                        }
                    }
                }
            }
        }
    }

    out.new_conversations = work.new;
    let mut updated: Vec<Conversation> = work.touched.into_values().collect();
    updated.sort_by_key(|c| c.id);
    out.updated_conversations = updated;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Intent;
    use crate::post::Author;
    use crate::priority::PriorityBand;
    use crate::testing::at as t;

    fn post(id: &str, author: &str, at: &str, reply_to: Option<&str>, brand: bool) -> Incoming {
        let mut analysis = Analysis::default();
        analysis.intent.label = if brand {
            Intent::Other
        } else {
            Intent::FeatureRequest
        };
        Incoming {
            post: NewPost {
                in_reply_to: reply_to.map(str::to_string),
                from_brand: Some(brand),
                ..NewPost::new(
                    Network::X,
                    id,
                    Author::new(author, author),
                    format!("post {id}"),
                    t(at),
                )
            },
            analysis,
            from_brand: brand,
        }
    }

    /// Applies a plan to `known` the way a store would, so tests can feed batches in turn.
    fn apply(batch: &[Incoming], known: &mut Known, plan: &Plan, next_id: &mut i64) {
        let mut ids = vec![];
        for c in &plan.new_conversations {
            *next_id += 1;
            let mut c = c.clone();
            c.id = ConversationId(*next_id);
            ids.push(c.id);
            known.conversations.insert(c.id, c);
        }
        for c in &plan.updated_conversations {
            known.conversations.insert(c.id, c.clone());
        }
        let resolve = |r: ConvRef| match r {
            ConvRef::New(i) => ids[i],
            ConvRef::Existing(id) => id,
        };
        for p in &plan.posts {
            let b = &batch[p.index];
            let kp = KnownPost {
                key: b.post.key(),
                conversation_id: p.conversation.map(resolve),
                from_brand: b.from_brand,
                created_at: b.post.created_at,
            };
            known.stored.insert(kp.key.clone());
            known.parents.insert(kp.key.clone(), kp.clone());
            if let Some(id) = kp.conversation_id {
                if !b.from_brand {
                    known
                        .open_by_customer
                        .insert((b.post.network, b.post.author.external_id.clone()), id);
                }
            } else if let Some(parent) = &b.post.in_reply_to {
                known
                    .orphans
                    .entry(PostKey::new(b.post.network, parent.clone()))
                    .or_default()
                    .push(kp);
            }
        }
        for (k, r) in &plan.adopted {
            if let Some(p) = known.parents.get_mut(k) {
                p.conversation_id = Some(resolve(*r));
            }
        }
    }

    /// An urgent safety report, then follow-ups from the same customer before any answer.
    fn urgent_then(follow_up: Incoming) -> (Conversation, Conversation) {
        use crate::analysis::{HarmKind, SentimentLabel, UrgencyLevel};
        let mut known = Known::default();
        let mut next = 0;
        let policy = TriagePolicy::default();
        let mut report = post("1", "paul", "2025-03-08T10:00:00Z", None, false);
        report.analysis.intent.label = Intent::Complaint;
        report.analysis.sentiment.label = SentimentLabel::Negative;
        report.analysis.sentiment.score = -0.6;
        report.analysis.urgency.level = UrgencyLevel::High;
        report.analysis.urgency.score = 0.7;
        report.analysis.safety.harm = true;
        report.analysis.safety.kinds = vec![HarmKind::Vehicle];
        let first = vec![report];
        let p = plan(&first, &known, &policy, t("2025-03-08T10:00:00Z"));
        apply(&first, &mut known, &p, &mut next);
        let before = known
            .conversations
            .values()
            .next()
            .cloned()
            .expect("opened");
        let batch = vec![follow_up];
        let p = plan(&batch, &known, &policy, t("2025-03-08T10:20:00Z"));
        apply(&batch, &mut known, &p, &mut next);
        let after = known
            .conversations
            .values()
            .next()
            .cloned()
            .expect("one conversation");
        (before, after)
    }

    #[test]
    fn a_chase_raises_an_urgent_conversation_and_never_demotes_it() {
        // issue 11 §5: "hello??" used to replace the conversation's signals with its own
        // (low) ones, demoting an urgent conversation to low.
        let mut chase = post("2", "paul", "2025-03-08T10:15:00Z", None, false);
        chase.post.text = "hello??".into();
        chase.analysis.intent.label = Intent::Other;
        chase.analysis.chase = true;
        let (before, after) = urgent_then(chase);
        assert_eq!(before.priority.band, PriorityBand::Urgent);
        assert_eq!(
            after.priority.band,
            PriorityBand::Urgent,
            "{:?}",
            after.priority
        );
        assert!(
            after.priority.score > before.priority.score,
            "{:?}",
            after.priority
        );
        assert_eq!(after.signals.chases, 1);
        assert!(
            after.priority.explain().contains("chased once"),
            "{}",
            after.priority.explain()
        );
        assert_eq!(after.intent, Intent::Complaint, "still about the report");
        assert_eq!(
            after.awaiting_since, before.awaiting_since,
            "waiting since the first post"
        );
    }

    #[test]
    fn an_unanswered_follow_up_with_content_keeps_the_harm() {
        let mut more = post("2", "paul", "2025-03-08T10:15:00Z", None, false);
        more.analysis.intent.label = Intent::Question;
        let (_, after) = urgent_then(more);
        assert_eq!(
            after.priority.band,
            PriorityBand::Urgent,
            "{:?}",
            after.priority
        );
        assert!(after.signals.harm);
        assert_eq!(after.intent, Intent::Complaint);
    }

    #[test]
    fn brand_reply_joins_and_times_the_first_response() {
        let batch = vec![
            post("1", "paul", "2017-08-18T20:47:00-07:00", None, false),
            post("2", "brand", "2017-08-18T21:11:00-07:00", Some("1"), true),
        ];
        let p = plan(
            &batch,
            &Known::default(),
            &TriagePolicy::default(),
            t("2017-08-19T00:00:00Z"),
        );
        assert_eq!(p.new_conversations.len(), 1);
        let c = &p.new_conversations[0];
        assert_eq!(c.post_count, 2);
        assert_eq!(c.first_response_secs, Some(24 * 60));
        assert_eq!(c.status, Status::Pending);
        assert!(c.awaiting_since.is_none());
        assert!(p
            .posts
            .iter()
            .all(|pp| pp.conversation == Some(ConvRef::New(0))));
    }

    #[test]
    fn an_automatic_reply_joins_the_thread_but_the_clock_keeps_running() {
        let mut known = Known::default();
        let mut next = 0;
        let policy = TriagePolicy::default();
        let first = vec![post("1", "paul", "2025-03-08T22:10:00Z", None, false)];
        let p = plan(&first, &known, &policy, t("2025-03-08T22:10:00Z"));
        apply(&first, &mut known, &p, &mut next);
        let auto = vec![post("2", "brand", "2025-03-08T22:10:30Z", Some("1"), true)];
        known.automatic.insert(auto[0].post.key());
        let p = plan(&auto, &known, &policy, t("2025-03-08T22:11:00Z"));
        assert!(p.posts[0].conversation.is_some(), "in the thread");
        apply(&auto, &mut known, &p, &mut next);
        known.automatic.clear();
        let c = known
            .conversations
            .values()
            .next()
            .expect("one conversation");
        assert_eq!(c.post_count, 2);
        assert_eq!(c.first_response_at, None, "an acknowledgement is no answer");
        assert_eq!(c.status, Status::Open);
        assert_eq!(c.awaiting_since, Some(t("2025-03-08T22:10:00Z")));
        // A person's answer later is the first response, timed from the customer's post.
        let human = vec![post("3", "brand", "2025-03-10T07:10:00Z", Some("1"), true)];
        let p = plan(&human, &known, &policy, t("2025-03-10T07:11:00Z"));
        apply(&human, &mut known, &p, &mut next);
        let c = known
            .conversations
            .values()
            .next()
            .expect("one conversation");
        assert_eq!(c.first_response_at, Some(t("2025-03-10T07:10:00Z")));
        assert_eq!(c.status, Status::Pending);
    }

    #[test]
    fn late_brand_answer_does_not_settle_a_newer_customer_post() {
        let mut known = Known::default();
        let mut next = 0;
        let policy = TriagePolicy::default();
        for batch in [
            vec![post("A", "paul", "2017-08-18T10:00:00Z", None, false)],
            vec![post("C", "paul", "2017-08-18T10:30:00Z", Some("A"), false)],
            vec![post("B", "brand", "2017-08-18T10:10:00Z", Some("A"), true)],
        ] {
            let p = plan(&batch, &known, &policy, Utc::now());
            apply(&batch, &mut known, &p, &mut next);
        }
        let c = known
            .conversations
            .values()
            .next()
            .expect("one conversation");
        assert_eq!(
            c.first_response_secs,
            Some(600),
            "B was still the first answer"
        );
        assert_eq!(c.status, Status::Open, "C is still owed an answer");
        assert_eq!(c.awaiting_since, Some(t("2017-08-18T10:30:00Z")));
        assert_eq!(c.post_count, 3);
    }

    #[test]
    fn late_customer_post_older_than_the_answer_does_not_reopen() {
        let mut known = Known::default();
        let mut next = 0;
        let policy = TriagePolicy::default();
        for batch in [
            vec![
                post("A", "paul", "2017-08-18T10:00:00Z", None, false),
                post("B", "brand", "2017-08-18T10:10:00Z", Some("A"), true),
            ],
            vec![post("A2", "paul", "2017-08-18T10:05:00Z", Some("A"), false)],
        ] {
            let p = plan(&batch, &known, &policy, Utc::now());
            apply(&batch, &mut known, &p, &mut next);
        }
        let c = known
            .conversations
            .values()
            .next()
            .expect("one conversation");
        assert_eq!(c.status, Status::Pending);
        assert!(c.awaiting_since.is_none());
        assert_eq!(c.post_count, 3);
    }

    #[test]
    fn same_post_twice_is_a_duplicate() {
        let mut known = Known::default();
        let mut next = 0;
        let batch = vec![post("1", "paul", "2017-08-18T20:47:00Z", None, false)];
        let p1 = plan(&batch, &known, &TriagePolicy::default(), Utc::now());
        apply(&batch, &mut known, &p1, &mut next);
        let p2 = plan(&batch, &known, &TriagePolicy::default(), Utc::now());
        assert_eq!(p2.duplicates, vec![0]);
        assert!(
            p2.posts.is_empty()
                && p2.new_conversations.is_empty()
                && p2.updated_conversations.is_empty()
        );
        // Repeated inside one batch, too.
        let twice = vec![batch[0].clone(), batch[0].clone()];
        let p3 = plan(
            &twice,
            &Known::default(),
            &TriagePolicy::default(),
            Utc::now(),
        );
        assert_eq!(p3.posts.len(), 1);
        assert_eq!(p3.duplicates.len(), 1);
    }

    #[test]
    fn reply_arriving_before_its_parent_is_adopted_later() {
        let mut known = Known::default();
        let mut next = 0;
        let policy = TriagePolicy::default();
        let first = vec![post("2", "brand", "2017-08-18T21:11:00Z", Some("1"), true)];
        let p1 = plan(&first, &known, &policy, Utc::now());
        assert_eq!(p1.posts[0].conversation, None);
        apply(&first, &mut known, &p1, &mut next);

        let second = vec![post("1", "paul", "2017-08-18T20:47:00Z", None, false)];
        let p2 = plan(&second, &known, &policy, Utc::now());
        assert_eq!(
            p2.adopted,
            vec![(PostKey::new(Network::X, "2"), ConvRef::New(0))]
        );
        let c = &p2.new_conversations[0];
        assert_eq!(c.first_response_secs, Some(24 * 60));
        assert_eq!(c.post_count, 2);
    }

    #[test]
    fn reply_to_an_orphan_adopted_in_the_same_batch_joins_too() {
        let mut known = Known::default();
        let mut next = 0;
        let policy = TriagePolicy::default();
        // B1 answers A, but arrives first and waits as an orphan.
        let first = vec![post("B1", "brand", "2017-08-18T21:11:00Z", Some("A"), true)];
        let p1 = plan(&first, &known, &policy, Utc::now());
        apply(&first, &mut known, &p1, &mut next);
        // Then A arrives with B2, the brand's second answer (a reply to B1).
        let second = vec![
            post("A", "paul", "2017-08-18T20:47:00Z", None, false),
            post("B2", "brand", "2017-08-18T21:20:00Z", Some("B1"), true),
        ];
        let p2 = plan(&second, &known, &policy, Utc::now());
        assert_eq!(
            p2.adopted,
            vec![(PostKey::new(Network::X, "B1"), ConvRef::New(0))]
        );
        assert!(
            p2.posts
                .iter()
                .all(|pp| pp.conversation == Some(ConvRef::New(0))),
            "{:?}",
            p2.posts
        );
        assert_eq!(p2.new_conversations[0].post_count, 3);
    }

    #[test]
    fn replying_in_another_customers_thread_does_not_capture_the_next_post() {
        let policy = TriagePolicy::default();
        let batch = vec![
            post("1", "paul", "2017-08-18T20:00:00Z", None, false),
            post("2", "lena", "2017-08-18T20:05:00Z", Some("1"), false),
            post("3", "lena", "2017-08-18T20:10:00Z", None, false),
        ];
        let p = plan(&batch, &Known::default(), &policy, Utc::now());
        assert_eq!(
            p.new_conversations.len(),
            2,
            "lena's own post opens her own conversation"
        );
    }

    #[test]
    fn customer_follow_up_reopens_and_restarts_the_clock() {
        let mut known = Known::default();
        let mut next = 0;
        let policy = TriagePolicy::default();
        let b1 = vec![
            post("1", "paul", "2017-08-18T20:47:00Z", None, false),
            post("2", "brand", "2017-08-18T21:11:00Z", Some("1"), true),
        ];
        let p1 = plan(&b1, &known, &policy, Utc::now());
        apply(&b1, &mut known, &p1, &mut next);
        let b2 = vec![post("3", "paul", "2017-08-18T21:30:00Z", Some("2"), false)];
        let p2 = plan(&b2, &known, &policy, Utc::now());
        assert!(p2.new_conversations.is_empty());
        let c = &p2.updated_conversations[0];
        assert_eq!(c.status, Status::Open);
        assert_eq!(c.awaiting_since, Some(t("2017-08-18T21:30:00Z")));
        // The first response stays the first one.
        assert_eq!(c.first_response_secs, Some(24 * 60));
        assert_eq!(c.post_count, 3);
    }

    #[test]
    fn new_top_level_post_joins_recent_open_conversation_of_same_customer() {
        let policy = TriagePolicy::default();
        let batch = vec![
            post("1", "paul", "2017-08-18T20:47:00Z", None, false),
            post("2", "paul", "2017-08-18T20:49:00Z", None, false),
            post("3", "paul", "2017-08-21T20:49:00Z", None, false),
            post("4", "lena", "2017-08-18T20:50:00Z", None, false),
        ];
        let p = plan(&batch, &Known::default(), &policy, Utc::now());
        assert_eq!(
            p.new_conversations.len(),
            3,
            "paul twice (days apart) and lena once"
        );
        assert_eq!(p.new_conversations[0].post_count, 2);
    }

    #[test]
    fn brand_identity_from_handles() {
        let brand = BrandIdentity::new(&["@TeslaSupport", "elonmusk"]);
        let mut p = post("1", "ElonMusk", "2017-08-18T20:47:00Z", None, false).post;
        p.from_brand = None;
        assert!(brand.is_brand(&p));
        p.author.handle = "paul".into();
        p.author.external_id = "u1".into();
        assert!(!brand.is_brand(&p));
        p.from_brand = Some(true);
        assert!(brand.is_brand(&p));
    }

    #[test]
    fn a_waiting_conversation_notes_its_turn_once_and_an_answer_clears_it() {
        let t0 = t("2025-03-03T10:00:00Z");
        let mut question = post("q1", "ana", "2025-03-03T10:00:00Z", None, false);
        question.analysis.intent.label = Intent::Question;
        let pace = |waiting| {
            Some(crate::fair_turn::QueuePace {
                waiting,
                answers_last_hour: 20,
            })
        };
        let policy = TriagePolicy {
            pace: pace(40),
            ..TriagePolicy::default()
        };
        let mut conv = open_conversation(&question, &policy, t0);
        // 40 waiting at 20 an hour: its turn comes two hours on.
        assert_eq!(conv.signals.fair_turn_at, Some(t0 + Duration::hours(2)));
        // A busier queue later does not push it back.
        let busier = TriagePolicy {
            pace: pace(400),
            ..policy.clone()
        };
        rescore(&mut conv, &busier, t0 + Duration::minutes(30));
        assert_eq!(conv.signals.fair_turn_at, Some(t0 + Duration::hours(2)));
        rescore(&mut conv, &busier, t0 + Duration::hours(3));
        assert_eq!(conv.priority.band, PriorityBand::High);
        let why = conv.priority.explain();
        assert!(
            why.contains("past its turn in arrival order by 1 h"),
            "{why}"
        );
        // The points shown add up to the score.
        let sum: f32 = conv.priority.factors.iter().map(|f| f.points).sum();
        assert!(
            (50.0 + sum / 4.0 - conv.priority.score).abs() < 0.01,
            "{:?}",
            conv.priority
        );
        // A correction refolds the signals from the first unanswered post: the turn stays.
        let mut corrected = question.analysis.clone();
        corrected.intent.label = Intent::Question;
        fold_customer_post(&mut conv.signals, &corrected, false, &busier.ranking);
        rescore(&mut conv, &busier, t0 + Duration::hours(3));
        assert_eq!(conv.signals.fair_turn_at, Some(t0 + Duration::hours(2)));
        assert_eq!(conv.priority.band, PriorityBand::High);
        let answered = t0 + Duration::hours(3);
        brand_posted(&mut conv, answered, &busier, answered);
        assert_eq!(conv.signals.fair_turn_at, None);
    }

    #[test]
    fn history_imported_long_after_notes_no_turn() {
        let question = post("q1", "ana", "2025-03-03T10:00:00Z", None, false);
        let policy = TriagePolicy {
            pace: Some(crate::fair_turn::QueuePace {
                waiting: 1,
                answers_last_hour: 20,
            }),
            ..TriagePolicy::default()
        };
        let conv = open_conversation(&question, &policy, t("2025-03-05T10:00:00Z"));
        assert_eq!(conv.signals.fair_turn_at, None);
    }
}
