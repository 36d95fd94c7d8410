//! [`TriageStateStore`] on SQLite: the tables of migration 0008, through the store's own reader
//! and writer connections. Timestamps are INTEGER microseconds, as in the rest of the file.

use crate::sqlite::{conversation_from_row, insert_audit, to_json, ts, us, SqliteStore};
use crate::triage_state::{
    last_level, normalise_jump_reason, RoutedConversation, StoredEscalation, TriageStateStore,
};
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use earshot_core::threading::{self, TriagePolicy};
use earshot_core::triage::EscalationState;
use earshot_core::{Conversation, ConversationId, Network};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn conversation_exists(conn: &Connection, id: ConversationId) -> Result<(), StoreError> {
    let found: Option<i64> = conn
        .prepare_cached("SELECT id FROM conversations WHERE id = ?1")?
        .query_row([id.0], |r| r.get(0))
        .optional()?;
    found
        .map(|_| ())
        .ok_or_else(|| common::not_found_conversation(id))
}

fn escalation_from_row(r: &Row) -> Result<StoredEscalation, StoreError> {
    let state: String = r.get(1)?;
    let paged: Option<String> = r.get(2)?;
    Ok(StoredEscalation {
        conversation: ConversationId(r.get(0)?),
        state: parse::<EscalationState>(&state, "escalation state")?,
        paged: paged
            .map(|p| p.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        updated_at: ts(r, 3)?,
    })
}

const ESCALATION_COLS: &str = "conversation_id, state, paged, updated_at";

#[async_trait]
impl TriageStateStore for SqliteStore {
    async fn save_routing(&self, routed: &RoutedConversation) -> Result<(), StoreError> {
        let routed = routed.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            conversation_exists(&tx, routed.conversation)?;
            tx.prepare_cached(
                "INSERT INTO conversation_routing (conversation_id, team, rules, band, routing, routed_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (conversation_id) DO UPDATE SET team = excluded.team, rules = excluded.rules, \
                 band = excluded.band, routing = excluded.routing, routed_at = excluded.routed_at",
            )?
            .execute(params![
                routed.conversation.0,
                routed.routing.team,
                routed.rules.join(","),
                routed.routing.band.as_str(),
                to_json(&routed.routing)?,
                us(common::trunc_us(routed.routed_at)),
            ])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn routing(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<RoutedConversation>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT routing, rules, routed_at FROM conversation_routing WHERE conversation_id = ?1",
            )?;
            let mut rows = stmt.query([conversation.0])?;
            let Some(r) = rows.next()? else {
                return Ok(None);
            };
            let routing: String = r.get(0)?;
            let rules: String = r.get(1)?;
            Ok(Some(RoutedConversation {
                conversation,
                routing: parse(&routing, "routing")?,
                rules: rules
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                routed_at: ts(r, 2)?,
            }))
        })
        .await
    }

    async fn save_escalation(
        &self,
        conversation: ConversationId,
        state: &EscalationState,
        paged: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let state = state.clone();
        let paged = (!paged.is_empty()).then(|| paged.join(","));
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            conversation_exists(&tx, conversation)?;
            tx.prepare_cached(
                "INSERT INTO triage_escalations (conversation_id, team, level, paged, started_at, \
                 acknowledged_at, closed_at, state, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (conversation_id) DO UPDATE SET team = excluded.team, level = excluded.level, \
                 paged = COALESCE(excluded.paged, triage_escalations.paged), started_at = excluded.started_at, \
                 acknowledged_at = excluded.acknowledged_at, closed_at = excluded.closed_at, \
                 state = excluded.state, updated_at = excluded.updated_at",
            )?
            .execute(params![
                conversation.0,
                state.team,
                last_level(&state),
                paged,
                us(state.started_at),
                state.acknowledged.as_ref().map(|(_, at)| us(*at)),
                state.closed_at.map(us),
                to_json(&state)?,
                us(common::trunc_us(at)),
            ])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn escalation(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<StoredEscalation>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ESCALATION_COLS} FROM triage_escalations WHERE conversation_id = ?1"
            ))?;
            let mut rows = stmt.query([conversation.0])?;
            rows.next()?.map(escalation_from_row).transpose()
        })
        .await
    }

    async fn open_escalations(&self) -> Result<Vec<StoredEscalation>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ESCALATION_COLS} FROM triage_escalations \
                 WHERE acknowledged_at IS NULL AND closed_at IS NULL ORDER BY started_at, conversation_id"
            ))?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(escalation_from_row(r)?);
            }
            Ok(out)
        })
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
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            conversation_exists(&tx, conversation)?;
            let changed = tx
                .prepare_cached(
                    "INSERT INTO triage_auto_replies (network, customer, conversation_id, sent_at) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (network, customer) DO UPDATE SET conversation_id = excluded.conversation_id, \
                     sent_at = excluded.sent_at WHERE triage_auto_replies.sent_at <= ?5",
                )?
                .execute(params![
                    network.as_str(),
                    customer,
                    conversation.0,
                    us(at),
                    us(at - every),
                ])?;
            tx.commit()?;
            Ok(changed == 1)
        })
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
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            conversation_exists(&tx, conversation)?;
            insert_audit(&tx, Some(conversation), &actor, &action, &detail, at)?;
            tx.commit()?;
            Ok(())
        })
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
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let found = tx
                .prepare_cached(&format!(
                    "SELECT {} FROM conversations c WHERE c.id = ?1",
                    common::CONV_COLS
                ))?
                .query_row([conversation.0], |r| Ok(conversation_from_row(r)))
                .optional()?
                .transpose()?;
            let Some(mut c) = found else {
                return Err(common::not_found_conversation(conversation));
            };
            if c.signals.jump.is_some() {
                return Ok(c);
            }
            c.signals.jump = Some(why);
            threading::rescore(&mut c, &policy, now);
            tx.prepare_cached(
                "UPDATE conversations SET signals = ?2, priority_score = ?3, band = ?4, priority = ?5 WHERE id = ?1",
            )?
            .execute(params![
                c.id.0,
                to_json(&c.signals)?,
                f64::from(c.priority.score),
                c.priority.band.as_str(),
                to_json(&c.priority)?,
            ])?;
            tx.commit()?;
            Ok(c)
        })
        .await
    }
}
