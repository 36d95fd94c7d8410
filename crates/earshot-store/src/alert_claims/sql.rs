//! [`AlertClaimStore`] written once for both backends (the table of migration 0048), over the
//! neutral [`Conn`](crate::db::Conn).

use super::{AlertClaimStore, UnsettledAlert};
use crate::db::{args, conversation_exists, job, Backend, Conn};
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::ConversationId;

/// Inserts the claim unless `key` is claimed: `true` when this call claimed it. For the
/// callers that claim inside a transaction of their own (a spike's alert).
pub(crate) async fn claim(
    c: &mut dyn Conn,
    key: &str,
    conversation: Option<ConversationId>,
    alert: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let claimed = c
        .execute(
            "INSERT INTO alert_claims (alert_key, conversation_id, alert, claimed_at, touched_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (alert_key) DO NOTHING",
            args![key.to_string(), conversation, alert.to_string(), at],
        )
        .await?;
    Ok(claimed == 1)
}

#[async_trait]
impl<B: Backend> AlertClaimStore for B {
    async fn claim_alert(
        &self,
        key: &str,
        conversation: Option<ConversationId>,
        alert: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (key, alert) = (key.to_string(), alert.to_string());
        let at = common::trunc_us(at);
        self.transaction(job!(c => {
            if let Some(id) = conversation {
                conversation_exists(c, id, false).await?;
            }
            claim(c, &key, conversation, &alert, at).await
        }))
        .await
    }

    async fn settle_alert(
        &self,
        key: &str,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (key, outcome) = (key.to_string(), outcome.to_string());
        let at = common::trunc_us(at);
        self.transaction(job!(c => {
            let known = c
                .query_opt("SELECT 1 FROM alert_claims WHERE alert_key = $1", args![key.clone()])
                .await?;
            if known.is_none() {
                return Err(StoreError::NotFound(format!("alert {key}")));
            }
            c.execute(
                "UPDATE alert_claims SET settled_at = $2, outcome = $3 \
                 WHERE alert_key = $1 AND settled_at IS NULL",
                args![key, at, outcome],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn touch_alert(&self, key: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let key = key.to_string();
        let at = common::trunc_us(at);
        self.write(job!(c => {
            c.execute(
                "UPDATE alert_claims SET touched_at = $2 WHERE alert_key = $1 AND settled_at IS NULL",
                args![key, at],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn retake_alert(
        &self,
        key: &str,
        untouched_since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = key.to_string();
        let (untouched_since, at) = (common::trunc_us(untouched_since), common::trunc_us(at));
        self.write(job!(c => {
            let taken = c
                .execute(
                    "UPDATE alert_claims SET touched_at = $3 \
                     WHERE alert_key = $1 AND settled_at IS NULL AND touched_at < $2",
                    args![key, untouched_since, at],
                )
                .await?;
            Ok(taken == 1)
        }))
        .await
    }

    async fn unsettled_alerts(
        &self,
        prefix: &str,
        untouched_since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<UnsettledAlert>, StoreError> {
        // The prefix compared as text, not by LIKE (no wildcard to escape) nor by a range
        // (a collation may order punctuation its own way); the unsettled are few.
        let prefix = prefix.to_string();
        let untouched_since = common::trunc_us(untouched_since);
        self.read(job!(c => {
            c.query(
                "SELECT alert_key, conversation_id, alert, claimed_at FROM alert_claims \
                 WHERE settled_at IS NULL AND touched_at < $1 \
                 AND substr(alert_key, 1, length(CAST($2 AS TEXT))) = CAST($2 AS TEXT) \
                 ORDER BY touched_at, alert_key LIMIT $3",
                args![untouched_since, prefix, limit],
            )
            .await?
            .iter()
            .map(|r| {
                let conversation: Option<i64> = r.get(1)?;
                Ok(UnsettledAlert {
                    key: r.get(0)?,
                    conversation: conversation.map(ConversationId),
                    alert: r.get(2)?,
                    claimed_at: r.get(3)?,
                })
            })
            .collect()
        }))
        .await
    }
}
