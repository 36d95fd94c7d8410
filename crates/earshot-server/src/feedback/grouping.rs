//! Grouping asks into requests as they arrive: the analyzer's [`Grouper`] decides, the store
//! keeps the result. The grouper numbers its requests itself; this maps them to stored ones.
//!
//! It also keeps titles in the team's language (a request is titled by its most
//! representative ask written in that language, until an agent renames it) and ranks the
//! corrections agents are offered: requests that look like one, asks that may not belong.

use chrono::{DateTime, Utc};
use earshot_analyze::grouping::{
    Grouper, GroupingConfig, RequestId as GroupId, MERGE_SUGGESTION_MIN, MISFIT_MAX,
};
use earshot_core::feedback::RequestId;
use earshot_store::{Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// How many grouped posts are read back to rebuild the grouper at start.
const REBUILD_LIMIT: u32 = 500_000;
/// Posts read from a request to find its representative ask's text.
const TITLE_SAMPLE: u32 = 40;
/// Largest requests whose asks are checked for misfits.
const MISFIT_REQUESTS: usize = 300;

/// "These two requests look like one": merge `from` into `into` (the larger).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeSuggestion {
    pub from: RequestId,
    pub into: RequestId,
    /// How alike they are, 0..1.
    pub similarity: f32,
}

/// "This ask may not belong": move `post_id` out of `from`, to `to` (a request it is more
/// like) or, when none is, into a request of its own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoveSuggestion {
    pub post_id: i64,
    pub from: RequestId,
    /// How well it fits the rest of `from`, 0..1.
    pub fit: f32,
    pub to: Option<RequestId>,
    /// How well it fits `to`.
    pub fit_there: Option<f32>,
}

/// Ranked corrections for agents, most worth doing first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Suggestions {
    pub merge: Vec<MergeSuggestion>,
    #[serde(rename = "move")]
    pub moves: Vec<MoveSuggestion>,
}

/// A customer post that asks for something.
#[derive(Debug, Clone)]
pub struct AskToGroup {
    pub post_id: i64,
    pub text: String,
    pub language: String,
    pub at: DateTime<Utc>,
}

pub(crate) struct Grouping {
    grouper: Grouper,
    to_store: HashMap<GroupId, RequestId>,
    to_grouper: HashMap<RequestId, GroupId>,
    loaded: bool,
    /// The language request titles are written in (`[brand] language`).
    team_language: String,
    /// Titles earshot gave: (the post it came from, the title). A stored title that differs
    /// is an agent's and is never replaced.
    titles: HashMap<RequestId, (i64, String)>,
    /// Stored requests merged by bridging, not yet handed out (absorbed, survivor).
    merged_here: Vec<(RequestId, RequestId)>,
}

impl Grouping {
    pub(crate) fn new(team_language: &str) -> Self {
        Grouping {
            grouper: Grouper::new(GroupingConfig::default()),
            to_store: HashMap::new(),
            to_grouper: HashMap::new(),
            loaded: false,
            team_language: team_language.to_string(),
            titles: HashMap::new(),
            merged_here: Vec::new(),
        }
    }

    /// Rebuilds the grouper from the stored requests, once, before the first use.
    async fn load(&mut self, store: &dyn Store) -> Result<(), StoreError> {
        if self.loaded {
            return Ok(());
        }
        let members = store.request_members(REBUILD_LIMIT).await?;
        for m in members {
            let lang = Some(m.language.as_str());
            match self.to_grouper.get(&m.request_id) {
                Some(&g) => {
                    if let Err(e) = self
                        .grouper
                        .add_to(g, m.post_id, &m.text, lang, m.created_at)
                    {
                        tracing::warn!(error = %e, post = m.post_id, "cannot rebuild a grouped post");
                    }
                }
                None => {
                    let g = self.grouper.open(m.post_id, &m.text, lang, m.created_at);
                    self.map(g, m.request_id);
                }
            }
        }
        self.loaded = true;
        Ok(())
    }

    /// A grouping that reloads from the store at its next use (a process that gains the
    /// grouping lease: merges, renames and moves made through other processes count).
    pub(crate) fn reloaded(&self) -> Self {
        Grouping::new(&self.team_language)
    }

    /// The asks this grouper has not placed yet (another pass, or the step of the process
    /// that stored them, may have grouped some already).
    pub(crate) async fn not_grouped(
        &mut self,
        store: &dyn Store,
        asks: Vec<AskToGroup>,
    ) -> Result<Vec<AskToGroup>, StoreError> {
        self.load(store).await?;
        Ok(asks
            .into_iter()
            .filter(|a| self.grouper.request_of(a.post_id).is_none())
            .collect())
    }

    fn map(&mut self, g: GroupId, r: RequestId) {
        self.to_store.insert(g, r);
        self.to_grouper.insert(r, g);
    }

    /// Groups each ask, opening stored requests for new ones. Returns (post, request, new).
    pub(crate) async fn group(
        &mut self,
        store: &dyn Store,
        asks: &[AskToGroup],
    ) -> Result<Vec<(i64, RequestId, bool)>, StoreError> {
        self.load(store).await?;
        let mut out = Vec::with_capacity(asks.len());
        let mut touched = BTreeSet::new();
        for ask in asks {
            let a = self
                .grouper
                .assign(ask.post_id, &ask.text, Some(&ask.language), ask.at);
            let request = match self.to_store.get(&a.request_id) {
                Some(&r) => r,
                None => {
                    let t = title(&ask.text);
                    let r = store.create_request(&t, ask.at).await?;
                    self.map(a.request_id, r);
                    self.titles.insert(r, (ask.post_id, t));
                    r
                }
            };
            store
                .add_to_request(ask.post_id, request, a.similarity, "grouping", Utc::now())
                .await?;
            touched.insert((request, a.request_id));
            out.push((ask.post_id, request, a.new));
            for (from, into) in self.bridged(store).await? {
                touched.retain(|t| t.0 != from);
                for placed in out.iter_mut().filter(|p| p.1 == from) {
                    placed.1 = into;
                }
                self.merged_here.push((from, into));
            }
        }
        for (request, g) in touched {
            self.retitle(store, request, g).await?;
        }
        Ok(out)
    }

    /// Requests the grouper merged itself since the last call, (absorbed, survivor).
    pub(crate) fn drain_merged(&mut self) -> Vec<(RequestId, RequestId)> {
        std::mem::take(&mut self.merged_here)
    }

    /// The stored requests of requests the grouper merged by bridging (an ask fitting two
    /// requests that look like one) are merged as an agent's merge is: every ask and promise
    /// moves to the survivor, the absorbed request is `merged` into it, and the audit says
    /// `grouping` did it. Returns the stored (absorbed, survivor) pairs.
    async fn bridged(
        &mut self,
        store: &dyn Store,
    ) -> Result<Vec<(RequestId, RequestId)>, StoreError> {
        let mut merged = Vec::new();
        for (from_g, into_g) in self.grouper.drain_bridged() {
            let (Some(&from), Some(&into)) =
                (self.to_store.get(&from_g), self.to_store.get(&into_g))
            else {
                tracing::warn!(%from_g, %into_g, "a request the grouper merged is not stored");
                continue;
            };
            store
                .merge_requests(from, into, "grouping", Utc::now())
                .await?;
            self.to_store.remove(&from_g);
            self.to_grouper.remove(&from);
            self.titles.remove(&from);
            merged.push((from, into));
        }
        Ok(merged)
    }

    /// Titles a request by its most representative ask in the team's language, unless an
    /// agent named it. Reads the store only when the representative ask changed.
    async fn retitle(
        &mut self,
        store: &dyn Store,
        request: RequestId,
        g: GroupId,
    ) -> Result<(), StoreError> {
        let Some(best) = self.grouper.representative(g, Some(&self.team_language)) else {
            return Ok(());
        };
        if self
            .titles
            .get(&request)
            .is_some_and(|(post, _)| *post == best)
        {
            return Ok(());
        }
        let Some(detail) = store.request(request, Utc::now(), TITLE_SAMPLE).await? else {
            return Ok(());
        };
        let Some(post) = detail.posts.iter().find(|p| p.id == best) else {
            return Ok(());
        };
        let current = &detail.request.title;
        // Earshot's own title: the one it last gave, or (after a restart) any ask's short form.
        let ours = match self.titles.get(&request) {
            Some((_, t)) => t == current,
            None => detail.posts.iter().any(|p| title(&p.text) == *current),
        };
        if !ours {
            return Ok(());
        }
        let new = title(&post.text);
        if new != *current {
            store.rename_request(request, &new).await?;
        }
        self.titles.insert(request, (best, new));
        Ok(())
    }

    /// Corrections worth offering now, best first (at most `limit` of each kind).
    pub(crate) async fn suggestions(
        &mut self,
        store: &dyn Store,
        limit: usize,
    ) -> Result<Suggestions, StoreError> {
        self.load(store).await?;
        let mut out = Suggestions::default();
        for (a, b, similarity) in self
            .grouper
            .lookalike_pairs(MERGE_SUGGESTION_MIN, limit * 2)
        {
            let (Some(&ra), Some(&rb)) = (self.to_store.get(&a), self.to_store.get(&b)) else {
                continue;
            };
            let size = |g: GroupId| self.grouper.posts_of(g).map_or(0, <[i64]>::len);
            // The larger request stays; between equals, the older one.
            let (from, into) = if size(b) > size(a) {
                (ra, rb)
            } else {
                (rb, ra)
            };
            out.merge.push(MergeSuggestion {
                from,
                into,
                similarity,
            });
            if out.merge.len() >= limit {
                break;
            }
        }
        let mut largest: Vec<(usize, GroupId)> = self
            .grouper
            .request_ids()
            .into_iter()
            .filter_map(|g| self.grouper.posts_of(g).map(|p| (p.len(), g)))
            .filter(|(n, _)| *n >= 3)
            .collect();
        largest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut moves = Vec::new();
        for &(_, g) in largest.iter().take(MISFIT_REQUESTS) {
            let Some(&from) = self.to_store.get(&g) else {
                continue;
            };
            for (post_id, fit) in self.grouper.misfits(g) {
                if fit >= MISFIT_MAX {
                    break;
                }
                let home = self
                    .grouper
                    .better_home(post_id)
                    .filter(|h| h.1 > fit)
                    .and_then(|(h, sim)| self.to_store.get(&h).map(|&r| (r, sim)));
                moves.push(MoveSuggestion {
                    post_id,
                    from,
                    fit,
                    to: home.map(|h| h.0),
                    fit_there: home.map(|h| h.1),
                });
            }
        }
        // Asks with a clearly better home first, then the worst fits.
        moves.sort_by(|a, b| {
            let gain = |m: &MoveSuggestion| m.fit_there.unwrap_or(0.0) - m.fit;
            gain(b).total_cmp(&gain(a)).then(a.post_id.cmp(&b.post_id))
        });
        moves.truncate(limit);
        out.moves = moves;
        Ok(out)
    }

    /// An agent moved a post out of its request into a new one (`request`, already stored
    /// with the post in it): the grouper splits it off and learns the two apart.
    pub(crate) async fn moved_out(
        &mut self,
        store: &dyn Store,
        post_id: i64,
        request: RequestId,
    ) -> Result<(), StoreError> {
        self.load(store).await?;
        let Some(g) = self.grouper.request_of(post_id) else {
            return Ok(());
        };
        match self.grouper.split(g, &[post_id]) {
            Ok(new) => self.map(new, request),
            Err(e) => tracing::warn!(error = %e, "the grouper could not learn from a move out"),
        }
        Ok(())
    }

    /// A request opened by hand around one post (a promise on a complaint nobody grouped).
    pub(crate) async fn open(
        &mut self,
        store: &dyn Store,
        ask: &AskToGroup,
    ) -> Result<RequestId, StoreError> {
        self.load(store).await?;
        let g = self
            .grouper
            .open(ask.post_id, &ask.text, Some(&ask.language), ask.at);
        if let Some(&r) = self.to_store.get(&g) {
            return Ok(r);
        }
        let r = store.create_request(&title(&ask.text), ask.at).await?;
        self.map(g, r);
        store
            .add_to_request(ask.post_id, r, 1.0, "promise", Utc::now())
            .await?;
        Ok(r)
    }

    /// An agent merged `from` into `into`: the grouper learns that such asks belong together.
    pub(crate) async fn merged(
        &mut self,
        store: &dyn Store,
        from: RequestId,
        into: RequestId,
    ) -> Result<(), StoreError> {
        self.load(store).await?;
        if let (Some(&f), Some(&i)) = (self.to_grouper.get(&from), self.to_grouper.get(&into)) {
            if let Err(e) = self.grouper.merge(i, f) {
                tracing::warn!(error = %e, "the grouper could not learn from a merge");
            }
            self.to_store.remove(&f);
            self.to_grouper.remove(&from);
            self.titles.remove(&from);
            // The merged asks may bring the first ask in the team's language.
            self.retitle(store, into, i).await?;
        }
        Ok(())
    }

    /// An agent moved a post: the grouper learns the words that joined it wrongly.
    pub(crate) async fn moved(
        &mut self,
        store: &dyn Store,
        post_id: i64,
        to: RequestId,
    ) -> Result<(), StoreError> {
        self.load(store).await?;
        if let Some(&g) = self.to_grouper.get(&to) {
            if let Err(e) = self.grouper.move_post(post_id, g) {
                tracing::warn!(error = %e, "the grouper could not learn from a move");
            }
        }
        Ok(())
    }
}

/// A first title for a request: the ask's first sentence, without handles and links, short.
pub fn title(text: &str) -> String {
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !w.starts_with('@') && !w.starts_with("http://") && !w.starts_with("https://"))
        .collect();
    let joined = words.join(" ");
    let first = joined
        .split_inclusive(['.', '?', '!'])
        .next()
        .unwrap_or(&joined)
        .trim();
    let mut t: String = first.chars().take(90).collect();
    if first.chars().count() > 90 {
        t.push('…');
    }
    if t.is_empty() {
        "Untitled request".into()
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn titles_are_short_and_clean() {
        assert_eq!(
            super::title(
                "@elonmusk Can you program the car to move the seat back? Thanks https://x.co/a"
            ),
            "Can you program the car to move the seat back?"
        );
        assert_eq!(super::title("@a @b"), "Untitled request");
        assert!(super::title(&"word ".repeat(100)).chars().count() <= 91);
    }
}
