//! [`SurveyStore`] on PostgreSQL: the table of migration 0007.

use crate::common;
use crate::postgres::{execute, query, query_opt, PgStore};
use crate::survey::{
    self, NewSurvey, Satisfaction, SatisfactionCount, SatisfactionGroup, Survey, SurveyAnswer,
    SurveyStore,
};
use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use earshot_core::feedback::RequestId;
use earshot_core::{ConversationId, Network};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

const SURVEY_COLS: &str = "id, conversation_id, network, language, agent, request_id, created_at, \
     sent_at, reply_id, answered_at, CAST(score AS bigint), buy_again, comment";

fn survey_from_row(r: &Row) -> Result<Survey, StoreError> {
    Ok(Survey {
        id: r.try_get(0)?,
        conversation_id: ConversationId(r.try_get(1)?),
        network: common::network(r.try_get(2)?)?,
        language: r.try_get(3)?,
        agent: r.try_get(4)?,
        request_id: r.try_get::<_, Option<i64>>(5)?.map(RequestId),
        created_at: r.try_get(6)?,
        sent_at: r.try_get(7)?,
        reply_id: r.try_get(8)?,
        answered_at: r.try_get(9)?,
        score: survey::parse_score(r.try_get(10)?)?,
        buy_again: r.try_get(11)?,
        comment: r.try_get(12)?,
    })
}

async fn load_by<C: GenericClient>(
    c: &C,
    column: &str,
    value: &(dyn ToSql + Sync),
) -> Result<Option<Survey>, StoreError> {
    let sql = format!("SELECT {SURVEY_COLS} FROM surveys WHERE {column} = $1");
    query_opt(c, &sql, &[value])
        .await?
        .map(|r| survey_from_row(&r))
        .transpose()
}

#[async_trait]
impl SurveyStore for PgStore {
    async fn create_survey(&self, s: NewSurvey) -> Result<(Survey, bool), StoreError> {
        let c = self.client().await?;
        // ON CONFLICT: two senders racing for one conversation store one survey.
        let inserted = query_opt(
            &c,
            "INSERT INTO surveys (conversation_id, token_hash, network, language, agent, request_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (conversation_id) DO NOTHING RETURNING id",
            &[
                &s.conversation_id.0,
                &s.token_hash,
                &s.network.as_str(),
                &s.language,
                &s.agent,
                &s.request_id.map(|r| r.0),
                &common::trunc_us(s.created_at),
            ],
        )
        .await?;
        let survey = load_by(&c, "conversation_id", &s.conversation_id.0)
            .await?
            .ok_or_else(|| StoreError::Database("survey vanished while stored".into()))?;
        Ok((survey, inserted.is_some()))
    }

    async fn survey_sent(
        &self,
        id: i64,
        reply_id: i64,
        at: DateTime<Utc>,
    ) -> Result<Survey, StoreError> {
        let c = self.client().await?;
        let n = execute(
            &c,
            "UPDATE surveys SET reply_id = $2, sent_at = COALESCE(sent_at, $3) WHERE id = $1",
            &[&id, &reply_id, &common::trunc_us(at)],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("survey {id}")));
        }
        load_by(&c, "id", &id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("survey {id}")))
    }

    async fn survey_by_token(&self, token_hash: &str) -> Result<Option<Survey>, StoreError> {
        let c = self.client().await?;
        load_by(&c, "token_hash", &token_hash).await
    }

    async fn survey_of_conversation(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<Survey>, StoreError> {
        let c = self.client().await?;
        load_by(&c, "conversation_id", &conversation.0).await
    }

    async fn answer_survey(
        &self,
        token_hash: &str,
        answer: &SurveyAnswer,
        at: DateTime<Utc>,
    ) -> Result<Survey, StoreError> {
        let c = self.client().await?;
        let n = execute(
            &c,
            "UPDATE surveys SET answered_at = $2, score = $3, buy_again = $4, comment = $5 \
             WHERE token_hash = $1 AND answered_at IS NULL",
            &[
                &token_hash,
                &common::trunc_us(at),
                &i16::from(answer.score().get()),
                &answer.buy_again(),
                &answer.comment(),
            ],
        )
        .await?;
        let survey = load_by(&c, "token_hash", &token_hash)
            .await?
            .ok_or_else(|| StoreError::NotFound("survey".into()))?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "survey {} was already answered",
                survey.id
            )));
        }
        Ok(survey)
    }

    async fn opted_out(
        &self,
        network: Network,
        author_external_id: &str,
    ) -> Result<bool, StoreError> {
        let c = self.client().await?;
        Ok(query_opt(
            &c,
            "SELECT 1 FROM opt_outs WHERE network = $1 AND author_external_id = $2",
            &[&network.as_str(), &author_external_id],
        )
        .await?
        .is_some())
    }

    async fn conversations_to_survey(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(ConversationId, DateTime<Utc>)>, StoreError> {
        let c = self.client().await?;
        let rows = query(
            &c,
            "SELECT c.id, c.resolved_at FROM conversations c WHERE c.status = 'resolved' \
             AND c.resolved_at >= $1 AND c.resolved_at < $2 \
             AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.conversation_id = c.id) \
             ORDER BY c.resolved_at, c.id LIMIT $3",
            &[&from, &to, &i64::from(limit)],
        )
        .await?;
        rows.iter()
            .map(|r| Ok((ConversationId(r.try_get(0)?), r.try_get(1)?)))
            .collect()
    }

    async fn satisfaction(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        by: Option<SatisfactionGroup>,
    ) -> Result<Vec<Satisfaction>, StoreError> {
        let (key, label) = survey::group_sql(by);
        let sql = format!(
            "SELECT {key}, {label}, s.sent_at IS NOT NULL, CAST(s.score AS bigint), s.buy_again, COUNT(*) \
             FROM surveys s LEFT JOIN requests r ON r.id = s.request_id \
             WHERE s.created_at >= $1 AND s.created_at < $2 \
             GROUP BY 1, 3, 4, 5"
        );
        let c = self.client().await?;
        let mut counts = Vec::new();
        for r in query(&c, &sql, &[&from, &to]).await? {
            counts.push(SatisfactionCount {
                key: r.try_get(0)?,
                label: r.try_get(1)?,
                sent: r.try_get(2)?,
                score: r.try_get(3)?,
                buy_again: r.try_get(4)?,
                surveys: r.try_get(5)?,
            });
        }
        Ok(survey::assemble(counts, by.is_some()))
    }
}
