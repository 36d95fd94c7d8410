//! [`TriageStateStore`] written once for both backends (the tables of migration 0008), over
//! the neutral [`Conn`]. A jump rescores beside ingest ([`Conn::take_ingest_turn`])
//! with its conversation's row locked first, so it never overwrites a concurrent batch's
//! state nor a batch its own.

use super::{
    last_level, normalise_jump_reason, RoutedConversation, StoredEscalation, TriageStateStore,
};
use crate::db::{self, args, conversation_exists, insert_audit, job, Backend, IngestTurn, Row};
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use earshot_core::threading::{self, TriagePolicy};
use earshot_core::triage::EscalationState;
use earshot_core::{Conversation, ConversationId, Network};

const ESCALATION_COLS: &str = "conversation_id, state, paged, updated_at";
const ROUTING_COLS: &str = "conversation_id, routing, rules, routed_at";

fn routed_from_row(r: &Row) -> Result<RoutedConversation, StoreError> {
    Ok(RoutedConversation {
        conversation: ConversationId(r.get(0)?),
        routing: r.json(1)?,
        rules: r
            .text(2)?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        routed_at: r.get(3)?,
    })
}

fn escalation_from_row(r: &Row) -> Result<StoredEscalation, StoreError> {
    let paged: Option<String> = r.get(2)?;
    Ok(StoredEscalation {
        conversation: ConversationId(r.get(0)?),
        state: r.json::<EscalationState>(1)?,
        paged: paged
            .map(|p| p.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        updated_at: r.get(3)?,
    })
}

#[async_trait]
impl<B: Backend> TriageStateStore for B {
    async fn save_routing(&self, routed: &RoutedConversation) -> Result<(), StoreError> {
        let routed = routed.clone();
        let routing = db::json(&routed.routing)?;
        self.transaction(job!(c => {
            conversation_exists(c, routed.conversation, false).await?;
            c.execute(
                "INSERT INTO conversation_routing (conversation_id, team, rules, band, routing, routed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (conversation_id) DO UPDATE SET team = excluded.team, rules = excluded.rules, \
                 band = excluded.band, routing = excluded.routing, routed_at = excluded.routed_at",
                &[
                    routed.conversation.into(),
                    routed.routing.team.as_deref().into(),
                    routed.rules.join(",").into(),
                    routed.routing.band.as_str().into(),
                    routing,
                    routed.routed_at.into(),
                ],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn routing(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<RoutedConversation>, StoreError> {
        self.read(job!(c => {
            c.query_opt(
                &format!("SELECT {ROUTING_COLS} FROM conversation_routing WHERE conversation_id = $1"),
                args![conversation],
            )
            .await?
            .map(|r| routed_from_row(&r))
            .transpose()
        }))
        .await
    }

    async fn routings(
        &self,
        conversations: &[ConversationId],
    ) -> Result<Vec<RoutedConversation>, StoreError> {
        if conversations.is_empty() {
            return Ok(Vec::new());
        }
        // One placeholder each: the same statement on both backends (no arrays in SQLite).
        let list = (1..=conversations.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {ROUTING_COLS} FROM conversation_routing WHERE conversation_id IN ({list}) \
             ORDER BY conversation_id"
        );
        let ids: Vec<db::Value> = conversations.iter().map(|&id| id.into()).collect();
        self.read(job!(c => {
            c.query(&sql, &ids)
                .await?
                .iter()
                .map(routed_from_row)
                .collect()
        }))
        .await
    }

    async fn save_escalation(
        &self,
        conversation: ConversationId,
        state: &EscalationState,
        paged: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let paged = (!paged.is_empty()).then(|| paged.join(","));
        let json = db::json(state)?;
        let state = state.clone();
        self.transaction(job!(c => {
            conversation_exists(c, conversation, false).await?;
            c.execute(
                "INSERT INTO triage_escalations (conversation_id, team, level, paged, started_at, \
                 acknowledged_at, closed_at, state, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (conversation_id) DO UPDATE SET team = excluded.team, level = excluded.level, \
                 paged = COALESCE(excluded.paged, triage_escalations.paged), started_at = excluded.started_at, \
                 acknowledged_at = excluded.acknowledged_at, closed_at = excluded.closed_at, \
                 state = excluded.state, updated_at = excluded.updated_at",
                &[
                    conversation.into(),
                    state.team.as_str().into(),
                    last_level(&state).min(i64::from(i32::MAX)).into(),
                    paged.into(),
                    state.started_at.into(),
                    state.acknowledged.as_ref().map(|(_, at)| *at).into(),
                    state.closed_at.into(),
                    json,
                    at.into(),
                ],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn escalation(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<StoredEscalation>, StoreError> {
        self.read(job!(c => {
            c.query_opt(
                &format!(
                    "SELECT {ESCALATION_COLS} FROM triage_escalations WHERE conversation_id = $1"
                ),
                args![conversation],
            )
            .await?
            .as_ref()
            .map(escalation_from_row)
            .transpose()
        }))
        .await
    }

    async fn open_escalations(&self) -> Result<Vec<StoredEscalation>, StoreError> {
        self.read(job!(c => {
            c.query(
                &format!(
                    "SELECT {ESCALATION_COLS} FROM triage_escalations \
                     WHERE acknowledged_at IS NULL AND closed_at IS NULL \
                     ORDER BY started_at, conversation_id"
                ),
                &[],
            )
            .await?
            .iter()
            .map(escalation_from_row)
            .collect()
        }))
        .await
    }

    async fn claim_auto_reply(
        &self,
        network: Network,
        customer: &str,
        conversation: ConversationId,
        at: DateTime<Utc>,
        every: Duration,
    ) -> Result<bool, StoreError> {
        let customer = customer.to_string();
        let at = common::trunc_us(at);
        self.transaction(job!(c => {
            conversation_exists(c, conversation, false).await?;
            let changed = c
                .execute(
                    "INSERT INTO triage_auto_replies (network, customer, conversation_id, sent_at) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (network, customer) DO UPDATE SET conversation_id = excluded.conversation_id, \
                     sent_at = excluded.sent_at WHERE triage_auto_replies.sent_at <= $5",
                    args![network.as_str(), customer, conversation, at, at - every],
                )
                .await?;
            Ok(changed == 1)
        }))
        .await
    }

    async fn audit_triage(
        &self,
        conversation: ConversationId,
        actor: &str,
        action: &str,
        detail: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (actor, action, detail) = (actor.to_string(), action.to_string(), detail.clone());
        let at = common::trunc_us(at);
        self.transaction(job!(c => {
            conversation_exists(c, conversation, false).await?;
            insert_audit(c, Some(conversation), &actor, &action, &detail, at).await
        }))
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
        let policy = policy.clone();
        let now = common::trunc_us(now);
        self.transaction(job!(c => {
            // Beside ingest and rescoring, not instead of them: the conversation's row is locked
            // before it is read, as they lock the rows they rewrite, so no one writes from a
            // state another has replaced (and a jump no longer stops every ingest meanwhile).
            c.take_ingest_turn(IngestTurn::Beside).await?;
            let row = c
                .query_opt(
                    &format!(
                        "SELECT {} FROM conversations c WHERE c.id = $1{}",
                        common::CONV_COLS,
                        c.for_update()
                    ),
                    args![conversation],
                )
                .await?;
            let Some(row) = row else {
                return Err(common::not_found_conversation(conversation));
            };
            let mut conv = db::conversation_from_row(&row)?;
            if conv.signals.jump.is_some() {
                return Ok(conv);
            }
            conv.signals.jump = Some(why);
            threading::rescore(&mut conv, &policy, now);
            c.execute(
                "UPDATE conversations SET signals = $2, priority_score = $3, band = $4, priority = $5, \
                 rescore_due = $6 WHERE id = $1",
                &[
                    conv.id.into(),
                    db::json(&conv.signals)?,
                    conv.priority.score.into(),
                    conv.priority.band.as_str().into(),
                    db::json(&conv.priority)?,
                    crate::reranking::due(&conv, &policy, now).into(),
                ],
            )
            .await?;
            Ok(conv)
        }))
        .await
    }
}
