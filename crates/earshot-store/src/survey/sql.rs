//! [`SurveyStore`] written once for both backends (the table of migration 0007), over the
//! neutral [`Conn`].

use super::{
    NewSurvey, Satisfaction, SatisfactionCount, SatisfactionGroup, Survey, SurveyAnswer,
    SurveyStore,
};
use crate::db::{args, job, Backend, Conn, Row, Value};
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::feedback::RequestId;
use earshot_core::{ConversationId, Network};

const SURVEY_COLS: &str = "id, conversation_id, network, language, agent, request_id, created_at, \
     sent_at, reply_id, answered_at, score, buy_again, comment";

fn survey_from_row(r: &Row) -> Result<Survey, StoreError> {
    Ok(Survey {
        id: r.get(0)?,
        conversation_id: ConversationId(r.get(1)?),
        network: common::network(r.text(2)?)?,
        language: r.get(3)?,
        agent: r.get(4)?,
        request_id: r.get::<Option<i64>>(5)?.map(RequestId),
        created_at: r.get(6)?,
        sent_at: r.get(7)?,
        reply_id: r.get(8)?,
        answered_at: r.get(9)?,
        score: super::parse_score(r.get(10)?)?,
        buy_again: r.get(11)?,
        comment: r.get(12)?,
    })
}

/// The survey whose `column` (a fixed column name, never input) equals `value`.
async fn load_by(
    c: &mut dyn Conn,
    column: &str,
    value: Value,
) -> Result<Option<Survey>, StoreError> {
    let sql = format!("SELECT {SURVEY_COLS} FROM surveys WHERE {column} = $1");
    c.query_opt(&sql, &[value])
        .await?
        .map(|r| survey_from_row(&r))
        .transpose()
}

#[async_trait]
impl<B: Backend> SurveyStore for B {
    async fn create_survey(&self, s: NewSurvey) -> Result<(Survey, bool), StoreError> {
        self.write(job!(c => {
            // ON CONFLICT: two senders racing for one conversation store one survey.
            let inserted = c
                .query_opt(
                    "INSERT INTO surveys (conversation_id, token_hash, network, language, agent, \
                     request_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (conversation_id) DO NOTHING RETURNING id",
                    args![
                        s.conversation_id,
                        s.token_hash.as_str(),
                        s.network.as_str(),
                        s.language.as_str(),
                        s.agent.as_deref(),
                        s.request_id.map(|r| r.0),
                        s.created_at
                    ],
                )
                .await?;
            let survey = load_by(c, "conversation_id", s.conversation_id.into())
                .await?
                .ok_or_else(|| StoreError::Database("survey vanished while stored".into()))?;
            Ok((survey, inserted.is_some()))
        }))
        .await
    }

    async fn survey_sent(
        &self,
        id: i64,
        reply_id: i64,
        at: DateTime<Utc>,
    ) -> Result<Survey, StoreError> {
        self.write(job!(c => {
            let n = c
                .execute(
                    "UPDATE surveys SET reply_id = $2, sent_at = COALESCE(sent_at, $3) WHERE id = $1",
                    args![id, reply_id, at],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("survey {id}")));
            }
            load_by(c, "id", id.into())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("survey {id}")))
        }))
        .await
    }

    async fn survey_by_token(&self, token_hash: &str) -> Result<Option<Survey>, StoreError> {
        let hash = token_hash.to_string();
        self.read(job!(c => { load_by(c, "token_hash", hash.into()).await }))
            .await
    }

    async fn survey_of_conversation(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<Survey>, StoreError> {
        self.read(job!(c => { load_by(c, "conversation_id", conversation.into()).await }))
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
        self.write(job!(c => {
            let n = c
                .execute(
                    "UPDATE surveys SET answered_at = $2, score = $3, buy_again = $4, comment = $5 \
                     WHERE token_hash = $1 AND answered_at IS NULL",
                    args![
                        hash.as_str(),
                        at,
                        i64::from(answer.score().get()),
                        answer.buy_again(),
                        answer.comment()
                    ],
                )
                .await?;
            let survey = load_by(c, "token_hash", hash.into())
                .await?
                .ok_or_else(|| StoreError::NotFound("survey".into()))?;
            if n == 0 {
                return Err(StoreError::Conflict(format!(
                    "survey {} was already answered",
                    survey.id
                )));
            }
            Ok(survey)
        }))
        .await
    }

    async fn opted_out(
        &self,
        network: Network,
        author_external_id: &str,
    ) -> Result<bool, StoreError> {
        let author = author_external_id.to_string();
        self.read(job!(c => {
            Ok(c
                .query_opt(
                    "SELECT 1 FROM opt_outs WHERE network = $1 AND author_external_id = $2",
                    args![network.as_str(), author],
                )
                .await?
                .is_some())
        }))
        .await
    }

    async fn conversations_to_survey(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(ConversationId, DateTime<Utc>)>, StoreError> {
        self.read(job!(c => {
            c.query(
                "SELECT c.id, c.resolved_at FROM conversations c WHERE c.status = 'resolved' \
                 AND c.resolved_at >= $1 AND c.resolved_at < $2 \
                 AND NOT EXISTS (SELECT 1 FROM surveys s WHERE s.conversation_id = c.id) \
                 ORDER BY c.resolved_at, c.id LIMIT $3",
                args![from, to, limit],
            )
            .await?
            .iter()
            .map(|r| Ok((ConversationId(r.get(0)?), r.get(1)?)))
            .collect()
        }))
        .await
    }

    async fn satisfaction(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        by: Option<SatisfactionGroup>,
    ) -> Result<Vec<Satisfaction>, StoreError> {
        let (key, label) = super::group_sql(by);
        let sql = format!(
            "SELECT {key}, {label}, s.sent_at IS NOT NULL, s.score, s.buy_again, COUNT(*) \
             FROM surveys s LEFT JOIN requests r ON r.id = s.request_id \
             WHERE s.created_at >= $1 AND s.created_at < $2 \
             GROUP BY 1, 3, 4, 5"
        );
        let counts = self
            .read(job!(c => {
                c.query(&sql, args![from, to])
                    .await?
                    .iter()
                    .map(|r| {
                        Ok(SatisfactionCount {
                            key: r.get(0)?,
                            label: r.get(1)?,
                            sent: r.get(2)?,
                            score: r.get(3)?,
                            buy_again: r.get(4)?,
                            surveys: r.get(5)?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()
            }))
            .await?;
        Ok(super::assemble(counts, by.is_some()))
    }
}
