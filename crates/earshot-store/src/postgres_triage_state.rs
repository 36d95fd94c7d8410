//! [`TriageStateStore`] on PostgreSQL: the tables of migration 0008, through the store's pool.
//! A jump rescores under the ingest lock, so it never overwrites a concurrent ingest's state.

use crate::postgres::{
    conversation_from_row, execute, insert_audit, query, query_opt, PgStore, INGEST_LOCK,
};
use crate::triage_state::{
    last_level, normalise_jump_reason, RoutedConversation, StoredEscalation, TriageStateStore,
};
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;
use earshot_core::threading::{self, TriagePolicy};
use earshot_core::triage::{EscalationState, Routing};
use earshot_core::{Conversation, ConversationId, Network};
use tokio_postgres::types::Json;
use tokio_postgres::Row;

async fn conversation_exists<C: GenericClient>(
    c: &C,
    id: ConversationId,
) -> Result<(), StoreError> {
    query_opt(c, "SELECT id FROM conversations WHERE id = $1", &[&id.0])
        .await?
        .map(|_| ())
        .ok_or_else(|| common::not_found_conversation(id))
}

fn escalation_from_row(r: &Row) -> Result<StoredEscalation, StoreError> {
    let paged: Option<String> = r.try_get(2)?;
    Ok(StoredEscalation {
        conversation: ConversationId(r.try_get(0)?),
        state: r.try_get::<_, Json<EscalationState>>(1)?.0,
        paged: paged
            .map(|p| p.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        updated_at: r.try_get(3)?,
    })
}

const ESCALATION_COLS: &str = "conversation_id, state, paged, updated_at";

#[async_trait]
impl TriageStateStore for PgStore {
    async fn save_routing(&self, routed: &RoutedConversation) -> Result<(), StoreError> {
        let client = self.client().await?;
        conversation_exists(&client, routed.conversation).await?;
        execute(
            &client,
            "INSERT INTO conversation_routing (conversation_id, team, rules, band, routing, routed_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (conversation_id) DO UPDATE SET team = EXCLUDED.team, rules = EXCLUDED.rules, \
             band = EXCLUDED.band, routing = EXCLUDED.routing, routed_at = EXCLUDED.routed_at",
            &[
                &routed.conversation.0,
                &routed.routing.team,
                &routed.rules.join(","),
                &routed.routing.band.as_str(),
                &Json(&routed.routing),
                &common::trunc_us(routed.routed_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn routing(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<RoutedConversation>, StoreError> {
        let client = self.client().await?;
        let Some(r) = query_opt(
            &client,
            "SELECT routing, rules, routed_at FROM conversation_routing WHERE conversation_id = $1",
            &[&conversation.0],
        )
        .await?
        else {
            return Ok(None);
        };
        let rules: String = r.try_get(1)?;
        Ok(Some(RoutedConversation {
            conversation,
            routing: r.try_get::<_, Json<Routing>>(0)?.0,
            rules: rules
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            routed_at: r.try_get(2)?,
        }))
    }

    async fn save_escalation(
        &self,
        conversation: ConversationId,
        state: &EscalationState,
        paged: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        conversation_exists(&client, conversation).await?;
        let paged = (!paged.is_empty()).then(|| paged.join(","));
        let level = i32::try_from(last_level(state)).unwrap_or(i32::MAX);
        execute(
            &client,
            "INSERT INTO triage_escalations (conversation_id, team, level, paged, started_at, \
             acknowledged_at, closed_at, state, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (conversation_id) DO UPDATE SET team = EXCLUDED.team, level = EXCLUDED.level, \
             paged = COALESCE(EXCLUDED.paged, triage_escalations.paged), started_at = EXCLUDED.started_at, \
             acknowledged_at = EXCLUDED.acknowledged_at, closed_at = EXCLUDED.closed_at, \
             state = EXCLUDED.state, updated_at = EXCLUDED.updated_at",
            &[
                &conversation.0,
                &state.team,
                &level,
                &paged,
                &state.started_at,
                &state.acknowledged.as_ref().map(|(_, at)| *at),
                &state.closed_at,
                &Json(state),
                &common::trunc_us(at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn escalation(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<StoredEscalation>, StoreError> {
        let client = self.client().await?;
        query_opt(
            &client,
            &format!("SELECT {ESCALATION_COLS} FROM triage_escalations WHERE conversation_id = $1"),
            &[&conversation.0],
        )
        .await?
        .as_ref()
        .map(escalation_from_row)
        .transpose()
    }

    async fn open_escalations(&self) -> Result<Vec<StoredEscalation>, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            &format!(
                "SELECT {ESCALATION_COLS} FROM triage_escalations \
                 WHERE acknowledged_at IS NULL AND closed_at IS NULL ORDER BY started_at, conversation_id"
            ),
            &[],
        )
        .await?;
        rows.iter().map(escalation_from_row).collect()
    }

    async fn claim_auto_reply(
        &self,
        network: Network,
        customer: &str,
        conversation: ConversationId,
        at: DateTime<Utc>,
        every: Duration,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        conversation_exists(&client, conversation).await?;
        let at = common::trunc_us(at);
        let changed = execute(
            &client,
            "INSERT INTO triage_auto_replies (network, customer, conversation_id, sent_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (network, customer) DO UPDATE SET conversation_id = EXCLUDED.conversation_id, \
             sent_at = EXCLUDED.sent_at WHERE triage_auto_replies.sent_at <= $5",
            &[
                &network.as_str(),
                &customer,
                &conversation.0,
                &at,
                &(at - every),
            ],
        )
        .await?;
        Ok(changed == 1)
    }

    async fn audit_triage(
        &self,
        conversation: ConversationId,
        actor: &str,
        action: &str,
        detail: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        conversation_exists(&client, conversation).await?;
        insert_audit(
            &client,
            Some(conversation),
            actor,
            action,
            detail,
            common::trunc_us(at),
        )
        .await
    }

    async fn mark_jump(
        &self,
        conversation: ConversationId,
        why: &str,
        policy: &TriagePolicy,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let why = normalise_jump_reason(why)?;
        let now = common::trunc_us(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Takes turns with ingest and rescoring, so neither overwrites the other.
        execute(&tx, "SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK]).await?;
        let row = query_opt(
            &tx,
            &format!(
                "SELECT {} FROM conversations c WHERE c.id = $1",
                common::CONV_COLS
            ),
            &[&conversation.0],
        )
        .await?;
        let Some(row) = row else {
            return Err(common::not_found_conversation(conversation));
        };
        let mut c = conversation_from_row(&row)?;
        if c.signals.jump.is_some() {
            return Ok(c);
        }
        c.signals.jump = Some(why);
        threading::rescore(&mut c, policy, now);
        execute(
            &tx,
            "UPDATE conversations SET signals = $2, priority_score = $3, band = $4, priority = $5 WHERE id = $1",
            &[
                &c.id.0,
                &Json(&c.signals),
                &c.priority.score,
                &c.priority.band.as_str(),
                &Json(&c.priority),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }
}
