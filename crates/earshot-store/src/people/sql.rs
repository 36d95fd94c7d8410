//! [`PeopleStore`] written once for both backends (migrations 0005 and 0009), over the
//! neutral [`Conn`]. Checks that span rows (the last admin, a conversation's labels) run in
//! a write transaction that locks what they read first ([`Conn::for_update`]).

use super::{
    ApiToken, Credentials, CustomerConversation, NewApiToken, NewSession, NewUser, Note,
    PeopleStore, Role, SavedView, Session, StoredSetting, User,
};
use crate::db::{args, conversation_exists, insert_audit as audit, job, Backend};
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use earshot_core::{ConversationId, Network};

use super::rows::{
    end_access, labels_of, load_token, load_user, not_found_user, other_active_admins, reload_user,
    setting_from_row, token_from_row, user_from_row, SETTING_COLS, TOKEN_COLS, USER_COLS,
};

#[async_trait]
impl<B: Backend> PeopleStore for B {
    async fn create_user(&self, user: NewUser, at: DateTime<Utc>) -> Result<User, StoreError> {
        let username = super::normalise_username(&user.username)?;
        let at = common::trunc_us(at);
        self.write(job!(c => {
            let inserted = c
                .query_opt(
                    "INSERT INTO users (username, display_name, role, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING RETURNING id",
                    args![
                        username.as_str(),
                        user.display_name.trim(),
                        user.role.as_str(),
                        user.password_hash.as_str(),
                        at
                    ],
                )
                .await?;
            let Some(row) = inserted else {
                return Err(StoreError::Conflict(format!(
                    "a user named {username:?} already exists"
                )));
            };
            load_user(c, row.get(0)?)
                .await?
                .ok_or_else(|| StoreError::Database("the new user was not found".into()))
        }))
        .await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.read(job!(c => {
            c.query(&format!("SELECT {USER_COLS} FROM users u ORDER BY u.username"), &[])
                .await?
                .iter()
                .map(|r| user_from_row(r, 0))
                .collect()
        }))
        .await
    }

    async fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.read(job!(c => { load_user(c, id).await })).await
    }

    async fn credentials(&self, username: &str) -> Result<Option<Credentials>, StoreError> {
        let username = username.trim().to_lowercase();
        self.read(job!(c => {
            c.query_opt(
                &format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.username = $1"),
                args![username],
            )
            .await?
            .map(|r| {
                Ok(Credentials {
                    user: user_from_row(&r, 0)?,
                    password_hash: r.get(6)?,
                })
            })
            .transpose()
        }))
        .await
    }

    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), StoreError> {
        let hash = password_hash.to_string();
        self.transaction(job!(c => {
            let n = c
                .execute(
                    "UPDATE users SET password_hash = $2 WHERE id = $1",
                    args![user_id, hash],
                )
                .await?;
            if n == 0 {
                return Err(not_found_user(user_id));
            }
            end_access(c, user_id, Utc::now()).await
        }))
        .await
    }

    async fn set_role(&self, user_id: i64, role: Role) -> Result<User, StoreError> {
        self.transaction(job!(c => {
            let others = other_active_admins(c, user_id).await?;
            let user = reload_user(c, user_id).await?;
            if user.role == Role::Admin
                && role != Role::Admin
                && user.disabled_at.is_none()
                && others == 0
            {
                return Err(super::last_admin());
            }
            c.execute(
                "UPDATE users SET role = $2 WHERE id = $1",
                args![user_id, role.as_str()],
            )
            .await?;
            reload_user(c, user_id).await
        }))
        .await
    }

    async fn set_disabled(
        &self,
        user_id: i64,
        disabled: bool,
        at: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let at = common::trunc_us(at);
        self.transaction(job!(c => {
            let others = other_active_admins(c, user_id).await?;
            let user = reload_user(c, user_id).await?;
            if disabled {
                if user.role == Role::Admin && user.disabled_at.is_none() && others == 0 {
                    return Err(super::last_admin());
                }
                c.execute(
                    "UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
                    args![user_id, at],
                )
                .await?;
                end_access(c, user_id, at).await?;
            } else {
                c.execute(
                    "UPDATE users SET disabled_at = NULL WHERE id = $1",
                    args![user_id],
                )
                .await?;
            }
            reload_user(c, user_id).await
        }))
        .await
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.write(job!(c => {
            c.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
                args![
                    session.token_hash.as_str(),
                    session.user_id,
                    session.csrf_token.as_str(),
                    session.created_at,
                    session.expires_at
                ],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let hash = token_hash.to_string();
        self.read(job!(c => {
            c.query_opt(
                &format!(
                    "SELECT {USER_COLS}, s.csrf_token, s.created_at, s.expires_at, \
                     COALESCE(s.last_seen_at, s.created_at) \
                     FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"
                ),
                args![hash, now],
            )
            .await?
            .map(|r| {
                Ok(Session {
                    user: user_from_row(&r, 0)?,
                    csrf_token: r.get(6)?,
                    created_at: r.get(7)?,
                    expires_at: r.get(8)?,
                    last_seen_at: r.get(9)?,
                })
            })
            .transpose()
        }))
        .await
    }

    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let hash = token_hash.to_string();
        self.write(job!(c => {
            c.execute(
                "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1",
                args![hash, at],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn delete_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let hash = token_hash.to_string();
        self.write(job!(c => {
            c.execute(
                "DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2",
                args![hash, now],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiToken, StoreError> {
        self.write(job!(c => {
            let row = c
                .query_one(
                    "INSERT INTO api_tokens (user_id, name, prefix, token_hash, scopes, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    args![
                        token.user_id,
                        token.name.trim(),
                        token.prefix.as_str(),
                        token.token_hash.as_str(),
                        super::scopes_to_text(&token.scopes),
                        token.created_at
                    ],
                )
                .await?;
            load_token(c, row.get(0)?)
                .await?
                .ok_or_else(|| StoreError::Database("the new token was not found".into()))
        }))
        .await
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.read(job!(c => {
            c.query(
                &format!(
                    "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
                     ORDER BY t.id DESC"
                ),
                &[],
            )
            .await?
            .iter()
            .map(token_from_row)
            .collect()
        }))
        .await
    }

    async fn api_token(&self, token_hash: &str) -> Result<Option<(ApiToken, User)>, StoreError> {
        let hash = token_hash.to_string();
        self.read(job!(c => {
            c.query_opt(
                &format!(
                    "SELECT {TOKEN_COLS}, {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL"
                ),
                args![hash],
            )
            .await?
            .map(|r| Ok((token_from_row(&r)?, user_from_row(&r, 9)?)))
            .transpose()
        }))
        .await
    }

    async fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(job!(c => {
            c.execute(
                "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
                args![id, at],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn revoke_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<ApiToken, StoreError> {
        self.write(job!(c => {
            c.execute(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
                args![id, at],
            )
            .await?;
            load_token(c, id)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("API token {id}")))
        }))
        .await
    }

    async fn record_login_attempt(
        &self,
        key: &str,
        succeeded: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = key.to_string();
        self.transaction(job!(c => {
            c.execute(
                "DELETE FROM login_attempts WHERE at < $1",
                args![at - Duration::days(1)],
            )
            .await?;
            c.execute(
                "INSERT INTO login_attempts (key, succeeded, at) VALUES ($1, $2, $3)",
                args![key, succeeded, at],
            )
            .await?;
            Ok(())
        }))
        .await
    }

    async fn failed_logins(&self, key: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let key = key.to_string();
        self.read(job!(c => {
            // Failures since `since` and since the last success: none at or after them.
            let n: i64 = c
                .query_one(
                    "SELECT COUNT(*) FROM login_attempts f \
                     WHERE f.key = $1 AND f.succeeded = FALSE AND f.at >= $2 AND NOT EXISTS \
                     (SELECT 1 FROM login_attempts s WHERE s.key = $1 AND s.succeeded = TRUE \
                      AND s.at >= f.at)",
                    args![key, since],
                )
                .await?
                .get(0)?;
            Ok(n.max(0) as u64)
        }))
        .await
    }

    async fn add_note(
        &self,
        conversation: ConversationId,
        author: &str,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<Note, StoreError> {
        let text = super::check_note(text)?;
        let author = author.to_string();
        let at = common::trunc_us(at);
        self.transaction(job!(c => {
            conversation_exists(c, conversation, false).await?;
            let id: i64 = c
                .query_one(
                    "INSERT INTO notes (conversation_id, author, text, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                    args![conversation, author.as_str(), text.as_str(), at],
                )
                .await?
                .get(0)?;
            let detail = serde_json::json!({ "note_id": id });
            audit(c, Some(conversation), &author, "note_added", &detail, at).await?;
            Ok(Note {
                id,
                conversation_id: conversation,
                author,
                text,
                created_at: at,
            })
        }))
        .await
    }

    async fn notes(&self, conversation: ConversationId) -> Result<Vec<Note>, StoreError> {
        self.read(job!(c => {
            c.query(
                "SELECT id, author, text, created_at FROM notes WHERE conversation_id = $1 ORDER BY id",
                args![conversation],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(Note {
                    id: r.get(0)?,
                    conversation_id: conversation,
                    author: r.get(1)?,
                    text: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })
            .collect()
        }))
        .await
    }

    async fn set_labels(
        &self,
        conversation: ConversationId,
        labels: &[String],
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let labels = super::normalise_labels(labels)?;
        let actor = actor.to_string();
        let at = common::trunc_us(at);
        self.transaction(job!(c => {
            conversation_exists(c, conversation, true).await?;
            let before = labels_of(c, conversation).await?;
            if before == labels {
                return Ok(before);
            }
            c.execute(
                "DELETE FROM conversation_labels WHERE conversation_id = $1",
                args![conversation],
            )
            .await?;
            for (i, l) in labels.iter().enumerate() {
                c.execute(
                    "INSERT INTO conversation_labels (conversation_id, label, position) \
                     VALUES ($1, $2, $3)",
                    args![conversation, l, i],
                )
                .await?;
            }
            let detail = serde_json::json!({ "from": before, "to": labels });
            audit(c, Some(conversation), &actor, "labelled", &detail, at).await?;
            Ok(labels)
        }))
        .await
    }

    async fn labels(&self, conversation: ConversationId) -> Result<Vec<String>, StoreError> {
        self.read(job!(c => { labels_of(c, conversation).await }))
            .await
    }

    async fn save_view(
        &self,
        user_id: i64,
        name: &str,
        query: &str,
    ) -> Result<SavedView, StoreError> {
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(StoreError::Invalid(
                "a view needs a name of 1–60 characters".into(),
            ));
        }
        let query = query.to_string();
        self.write(job!(c => {
            let id: i64 = c
                .query_one(
                    "INSERT INTO saved_views (user_id, name, query) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query RETURNING id",
                    args![user_id, name.as_str(), query.as_str()],
                )
                .await?
                .get(0)?;
            Ok(SavedView {
                id,
                user_id,
                name,
                query,
            })
        }))
        .await
    }

    async fn saved_views(&self, user_id: i64) -> Result<Vec<SavedView>, StoreError> {
        self.read(job!(c => {
            c.query(
                "SELECT id, name, query FROM saved_views WHERE user_id = $1 ORDER BY name",
                args![user_id],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(SavedView {
                    id: r.get(0)?,
                    user_id,
                    name: r.get(1)?,
                    query: r.get(2)?,
                })
            })
            .collect()
        }))
        .await
    }

    async fn delete_view(&self, user_id: i64, id: i64) -> Result<(), StoreError> {
        self.write(job!(c => {
            let n = c
                .execute(
                    "DELETE FROM saved_views WHERE id = $1 AND user_id = $2",
                    args![id, user_id],
                )
                .await?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("saved view {id}")));
            }
            Ok(())
        }))
        .await
    }

    async fn setting(&self, key: &str) -> Result<Option<StoredSetting>, StoreError> {
        let key = key.to_string();
        self.read(job!(c => {
            c.query_opt(
                &format!("SELECT {SETTING_COLS} FROM settings WHERE key = $1"),
                args![key],
            )
            .await?
            .map(|r| setting_from_row(&r))
            .transpose()
        }))
        .await
    }

    async fn settings(&self) -> Result<Vec<StoredSetting>, StoreError> {
        self.read(job!(c => {
            c.query(&format!("SELECT {SETTING_COLS} FROM settings ORDER BY key"), &[])
                .await?
                .iter()
                .map(setting_from_row)
                .collect()
        }))
        .await
    }

    async fn set_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<StoredSetting, StoreError> {
        let text = super::setting_text(key, value)?;
        let stored = StoredSetting {
            key: key.to_string(),
            value: value.clone(),
            updated_by: by.to_string(),
            updated_at: common::trunc_us(at),
        };
        self.transaction(job!(c => {
            let sql = format!(
                "SELECT {SETTING_COLS} FROM settings WHERE key = $1{}",
                c.for_update()
            );
            let before = c
                .query_opt(&sql, args![stored.key.as_str()])
                .await?
                .map(|r| setting_from_row(&r))
                .transpose()?
                .map(|s| s.value);
            c.execute(
                "INSERT INTO settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                 updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                args![
                    stored.key.as_str(),
                    text,
                    stored.updated_by.as_str(),
                    stored.updated_at
                ],
            )
            .await?;
            let detail =
                serde_json::json!({ "key": stored.key, "from": before, "to": stored.value });
            audit(c, None, &stored.updated_by, "setting_changed", &detail, stored.updated_at)
                .await?;
            Ok(stored)
        }))
        .await
    }

    async fn clear_setting(
        &self,
        key: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        super::check_setting_key(key)?;
        let (key, by, at) = (key.to_string(), by.to_string(), common::trunc_us(at));
        self.transaction(job!(c => {
            let Some(row) = c
                .query_opt(
                    &format!("DELETE FROM settings WHERE key = $1 RETURNING {SETTING_COLS}"),
                    args![key.as_str()],
                )
                .await?
            else {
                return Ok(false);
            };
            let before = setting_from_row(&row)?;
            let detail = serde_json::json!({ "key": key, "from": before.value });
            audit(c, None, &by, "setting_cleared", &detail, at).await?;
            Ok(true)
        }))
        .await
    }

    async fn customer_conversations(
        &self,
        network: Network,
        customer_external_id: &str,
        limit: u32,
    ) -> Result<Vec<CustomerConversation>, StoreError> {
        let customer = customer_external_id.to_string();
        self.read(job!(c => {
            // Walks `conversations_by_customer` (network, customer_external_id, last_activity_at).
            c.query(
                "SELECT id, status, intent, sentiment, opened_at, last_activity_at, post_count \
                 FROM conversations WHERE network = $1 AND customer_external_id = $2 \
                 ORDER BY last_activity_at DESC LIMIT $3",
                args![network.as_str(), customer, limit],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(CustomerConversation {
                    id: ConversationId(r.get(0)?),
                    status: common::status(r.text(1)?)?,
                    intent: common::intent(r.text(2)?)?,
                    sentiment: common::sentiment(r.text(3)?)?,
                    opened_at: r.get(4)?,
                    last_activity_at: r.get(5)?,
                    post_count: u32::try_from(r.get::<i64>(6)?).unwrap_or(0),
                })
            })
            .collect()
        }))
        .await
    }
}
