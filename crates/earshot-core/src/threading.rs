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

mod rank_moves;
pub use rank_moves::{rank_moves_at, visible_reasons, SCORE_STALE_POINTS};

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
        None => {
            conv.signals.fair_turn_at = None;
            conv.signals.question_waiting = false;
        }
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
        question_waiting: false,
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
            // Owed from a later post now: its turn is noted afresh, and the question that
            // kept a turn may be among the posts answered.
            conv.signals.fair_turn_at = None;
            conv.signals.question_waiting = false;
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
mod tests;
