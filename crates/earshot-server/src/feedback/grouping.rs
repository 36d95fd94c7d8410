//! Grouping asks into requests as they arrive: the analyzer's [`Grouper`] decides, the store
//! keeps the result. The grouper numbers its requests itself; this maps them to stored ones.

use chrono::{DateTime, Utc};
use earshot_analyze::grouping::{Grouper, GroupingConfig, RequestId as GroupId};
use earshot_core::feedback::RequestId;
use earshot_store::{Store, StoreError};
use std::collections::HashMap;

/// How many grouped posts are read back to rebuild the grouper at start.
const REBUILD_LIMIT: u32 = 500_000;

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
}

impl Grouping {
    pub(crate) fn new() -> Self {
        Grouping {
            grouper: Grouper::new(GroupingConfig::default()),
            to_store: HashMap::new(),
            to_grouper: HashMap::new(),
            loaded: false,
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
        for ask in asks {
            let a = self
                .grouper
                .assign(ask.post_id, &ask.text, Some(&ask.language), ask.at);
            let request = match self.to_store.get(&a.request_id) {
                Some(&r) => r,
                None => {
                    let r = store.create_request(&title(&ask.text), ask.at).await?;
                    self.map(a.request_id, r);
                    r
                }
            };
            store
                .add_to_request(ask.post_id, request, a.similarity, "grouping", Utc::now())
                .await?;
            out.push((ask.post_id, request, a.new));
        }
        Ok(out)
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
