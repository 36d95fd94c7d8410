//! Reading conversations: the inbox, one conversation, search and the figures behind the
//! reports. The writes (reply, assign, pend, resolve) are [`Desk::reply`] and [`Desk::act`].

use super::{Desk, DeskError};
use chrono::{DateTime, Utc};
use earshot_core::ConversationId;
use earshot_store::StoreError;
pub use earshot_store::{
    ConversationDetail, InboxFilter, InboxRow, Page, ResponseSample, SearchHit, SearchQuery,
    StoreCounts, VolumeCount,
};

impl Desk {
    /// Conversations ranked by priority (highest first), filtered and paged.
    pub async fn inbox(
        &self,
        filter: &InboxFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<InboxRow>, DeskError> {
        Ok(self.store().inbox(filter, now).await?)
    }

    /// One conversation with its posts and replies.
    pub async fn conversation(&self, id: ConversationId) -> Result<ConversationDetail, DeskError> {
        self.store()
            .conversation(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("conversation {id}")).into())
    }

    /// Full-text search over what customers and the brand wrote.
    pub async fn search(&self, query: &SearchQuery) -> Result<Page<SearchHit>, DeskError> {
        Ok(self.store().search(query).await?)
    }

    /// How much is stored (posts, conversations, open ones).
    pub async fn counts(&self) -> Result<StoreCounts, DeskError> {
        Ok(self.store().counts().await?)
    }

    /// What the response-time and volume reports are computed from, for `[from, to)`.
    pub async fn report_inputs(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(Vec<ResponseSample>, Vec<VolumeCount>), DeskError> {
        let store = self.store();
        Ok(tokio::try_join!(
            store.response_samples(from, to),
            store.volume(from, to)
        )?)
    }
}
