//! [`SurveyStore`] on SQLite: the table of migration 0007.

use crate::common;
use crate::sqlite::{ts, ts_opt, us, SqliteStore};
use crate::survey::{
    self, NewSurvey, Satisfaction, SatisfactionCount, SatisfactionGroup, Survey, SurveyAnswer,
    SurveyStore,
};
use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::feedback::RequestId;
use earshot_core::{ConversationId, Network};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

const SURVEY_COLS: &str = "id, conversation_id, network, language, agent, request_id, created_at, \
     sent_at, reply_id, answered_at, score, buy_again, comment";

fn survey_from_row(r: &Row) -> Result<Survey, StoreError> {
    Ok(Survey {
        id: r.get(0)?,
        conversation_id: ConversationId(r.get(1)?),
        network: common::network(&r.get::<_, String>(2)?)?,
        language: r.get(3)?,
        agent: r.get(4)?,
        request_id: r.get::<_, Option<i64>>(5)?.map(RequestId),
        created_at: ts(r, 6)?,
        sent_at: ts_opt(r, 7)?,
        reply_id: r.get(8)?,
        answered_at: ts_opt(r, 9)?,
        score: survey::parse_score(r.get(10)?)?,
        buy_again: r.get(11)?,
        comment: r.get(12)?,
    })
}

fn load_by(
    conn: &Connection,
    column: &str,
    value: &dyn rusqlite::ToSql,
) -> Result<Option<Survey>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SURVEY_COLS} FROM surveys WHERE {column} = ?1"
    ))?;
    let mut rows = stmt.query([value])?;
    rows.next()?.map(survey_from_row).transpose()
}

#[async_trait]
impl SurveyStore for SqliteStore {
    async fn create_survey(&self, s: NewSurvey) -> Result<(Survey, bool), StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(existing) = load_by(&tx, "conversation_id", &s.conversation_id.0)? {
                return Ok((existing, false));
            }
            tx.prepare_cached(
                "INSERT INTO surveys (conversation_id, token_hash, network, language, agent, request_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                s.conversation_id.0,
                s.token_hash,
                s.network.as_str(),
                s.language,
                s.agent,
                s.request_id.map(|r| r.0),
                us(s.created_at)
            ])?;
            let id = tx.last_insert_rowid();
            let created = load_by(&tx, "id", &id)?
                .ok_or_else(|| StoreError::Database("survey vanished while stored".into()))?;
            tx.commit()?;
            Ok((created, true))
        })
        .await
    }

    async fn survey_sent(
        &self,
        id: i64,
        reply_id: i64,
        at: DateTime<Utc>,
    ) -> Result<Survey, StoreError> {
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE surveys SET reply_id = ?2, sent_at = COALESCE(sent_at, ?3) WHERE id = ?1",
                )?
                .execute(params![id, reply_id, us(at)])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("survey {id}")));
            }
            load_by(conn, "id", &id)?.ok_or_else(|| StoreError::NotFound(format!("survey {id}")))
        })
        .await
    }

    async fn survey_by_token(&self, token_hash: &str) -> Result<Option<Survey>, StoreError> {
        let hash = token_hash.to_string();
        self.read(move |conn| load_by(conn, "token_hash", &hash))
            .await
    }

    async fn survey_of_conversation(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<Survey>, StoreError> {
        self.read(move |conn| load_by(conn, "conversation_id", &conversation.0))
            .await
    }

    async fn answer_survey(
        &self,
        token_hash: &str,
        answer: &SurveyAnswer,
        at: DateTime<Utc>,
    ) -> Result<Survey, StoreError> {
        let hash = token_hash.to_string();
        let answer = answer.clone();
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE surveys SET answered_at = ?2, score = ?3, buy_again = ?4, comment = ?5 \
                     WHERE token_hash = ?1 AND answered_at IS NULL",
                )?
                .execute(params![
                    hash,
                    us(at),
                    answer.score().get(),
                    answer.buy_again(),
                    answer.comment()
                ])?;
            let survey = load_by(conn, "token_hash", &hash)?
                .ok_or_else(|| StoreError::NotFound("survey".into()))?;
            if n == 0 {
                return Err(StoreError::Conflict(format!(
                    "survey {} was already answered",
                    survey.id
                )));
            }
            Ok(survey)
        })
        .await
    }

    async fn opted_out(
        &self,
        network: Network,
        author_external_id: &str,
    ) -> Result<bool, StoreError> {
        let author = author_external_id.to_string();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT 1 FROM opt_outs WHERE network = ?1 AND author_external_id = ?2",
                )?
                .query_row(params![network.as_str(), author], |_| Ok(()))
                .optional()?
                .is_some())
        })
        .await
    }

    async fn conversations_to_survey(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(ConversationId, DateTime<Utc>)>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT c.id, c.resolved_at FROM conversations c WHERE c.status = 'resolved' \
                 AND c.resolved_at >= ?1 AND c.resolved_at < ?2 \
                 AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.conversation_id = c.id) \
                 ORDER BY c.resolved_at, c.id LIMIT ?3",
            )?;
            let mut rows = stmt.query(params![us(from), us(to), limit])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push((ConversationId(r.get(0)?), ts(r, 1)?));
            }
            Ok(out)
        })
        .await
    }

    async fn satisfaction(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        by: Option<SatisfactionGroup>,
    ) -> Result<Vec<Satisfaction>, StoreError> {
        let (key, label) = survey::group_sql(by);
        let sql = format!(
            "SELECT {key}, {label}, s.sent_at IS NOT NULL, s.score, s.buy_again, COUNT(*) \
             FROM surveys s LEFT JOIN requests r ON r.id = s.request_id \
             WHERE s.created_at >= ?1 AND s.created_at < ?2 \
             GROUP BY 1, 3, 4, 5"
        );
        let counts = self
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params![us(from), us(to)])?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    out.push(SatisfactionCount {
                        key: r.get(0)?,
                        label: r.get(1)?,
                        sent: r.get(2)?,
                        score: r.get(3)?,
                        buy_again: r.get(4)?,
                        surveys: r.get(5)?,
                    });
                }
                Ok(out)
            })
            .await?;
        Ok(survey::assemble(counts, by.is_some()))
    }
}
