//! Agents' corrections of what earshot understood of a post: stored, audited, shown at once,
//! re-ranking the conversation when the post is one its rank was read from (see
//! `earshot_store::corrections`); and what training reads back.

use super::{Desk, DeskError};
use crate::pipeline::LiveEvent;
use chrono::Utc;
use earshot_core::correction::{CorrectedPost, CorrectedValue};
use earshot_core::ConversationId;
pub use earshot_store::corrections::{CorrectionOutcome, MAX_CORRECTIONS_PAGE};
use earshot_store::StoreError;

impl Desk {
    /// `actor`'s correction of post `post_id`. Watching inboxes hear of it.
    pub async fn correct(
        &self,
        post_id: i64,
        value: &CorrectedValue,
        actor: &str,
    ) -> Result<CorrectionOutcome, DeskError> {
        let policy = self.pipeline().policy();
        let outcome = self
            .store()
            .correct_post(post_id, value, actor, Utc::now(), &policy)
            .await?;
        if let (Some(_), Some(c)) = (&outcome.correction, &outcome.conversation) {
            self.pipeline().publish(LiveEvent::ConversationChanged {
                conversation_id: c.id,
                action: "post_corrected".into(),
            });
        }
        Ok(outcome)
    }

    /// [`Desk::correct`] of a customer's post as a conversation page shows it: a post that is
    /// not one of that conversation's customer posts is not found there.
    pub async fn correct_in(
        &self,
        conversation: ConversationId,
        post_id: i64,
        value: &CorrectedValue,
        actor: &str,
    ) -> Result<CorrectionOutcome, DeskError> {
        let detail = self.conversation(conversation).await?;
        if !detail
            .posts
            .iter()
            .any(|p| p.id == post_id && !p.from_brand)
        {
            return Err(StoreError::NotFound(format!(
                "post {post_id} among the customer's posts of conversation {conversation}"
            ))
            .into());
        }
        self.correct(post_id, value, actor).await
    }

    /// Corrections newest first, with their posts' text, below id `before`; at most `limit`.
    pub async fn corrections(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<CorrectedPost>, DeskError> {
        Ok(self.store().corrections(before, limit).await?)
    }

    /// What training learns from: the latest correction of each field of each post whose text
    /// has not changed since.
    pub async fn current_corrections(&self) -> Result<Vec<CorrectedPost>, DeskError> {
        Ok(self.store().current_corrections().await?)
    }
}
