//! [`PeopleStore`] on PostgreSQL: the tables of migration 0005, through the store's pool.
//! Checks that span rows (the last admin) run in a transaction that locks the admins first.

use crate::people::{
    self, ApiToken, Credentials, CustomerConversation, NewApiToken, NewSession, NewUser, Note,
    PeopleStore, Role, SavedView, Session, StoredSetting, User,
};
use crate::postgres::PgStore;
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;
use earshot_core::{ConversationId, Network};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

async fn query<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, params).await?)
}

async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, StoreError> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&stmt, params).await?)
}

async fn execute<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StoreError> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.execute(&stmt, params).await?)
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

/// Ends a person's sessions and revokes their API tokens (a password reset, a disabling).
async fn end_access<C: GenericClient>(
    c: &C,
    user_id: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    execute(c, "DELETE FROM sessions WHERE user_id = $1", &[&user_id]).await?;
    execute(
        c,
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE user_id = $1",
        &[&user_id, &common::trunc_us(at)],
    )
    .await?;
    Ok(())
}

const USER_COLS: &str = "u.id, u.username, u.display_name, u.role, u.created_at, u.disabled_at";

/// Reads [`USER_COLS`] starting at column `at`.
fn user_from_row(r: &Row, at: usize) -> Result<User, StoreError> {
    Ok(User {
        id: r.try_get(at)?,
        username: r.try_get(at + 1)?,
        display_name: r.try_get(at + 2)?,
        role: people::role(r.try_get(at + 3)?)?,
        created_at: r.try_get(at + 4)?,
        disabled_at: r.try_get(at + 5)?,
    })
}

const TOKEN_COLS: &str = "t.id, t.user_id, u.username, t.name, t.prefix, t.scopes, t.created_at, \
     t.last_used_at, t.revoked_at";

fn token_from_row(r: &Row) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        username: r.try_get(2)?,
        name: r.try_get(3)?,
        prefix: r.try_get(4)?,
        scopes: people::scopes_from_text(r.try_get(5)?),
        created_at: r.try_get(6)?,
        last_used_at: r.try_get(7)?,
        revoked_at: r.try_get(8)?,
    })
}

async fn load_user<C: GenericClient>(c: &C, id: i64) -> Result<Option<User>, StoreError> {
    query_opt(
        c,
        &format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"),
        &[&id],
    )
    .await?
    .map(|r| user_from_row(&r, 0))
    .transpose()
}

async fn load_token<C: GenericClient>(c: &C, id: i64) -> Result<Option<ApiToken>, StoreError> {
    query_opt(
        c,
        &format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"
        ),
        &[&id],
    )
    .await?
    .map(|r| token_from_row(&r))
    .transpose()
}

/// Locks the active admins (so two demotions cannot both pass) and counts those other than `user_id`.
async fn other_active_admins<C: GenericClient>(c: &C, user_id: i64) -> Result<usize, StoreError> {
    let rows = query(
        c,
        "SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL FOR UPDATE",
        &[],
    )
    .await?;
    let mut others = 0;
    for r in &rows {
        if r.try_get::<_, i64>(0)? != user_id {
            others += 1;
        }
    }
    Ok(others)
}

async fn conversation_exists<C: GenericClient>(
    c: &C,
    id: ConversationId,
) -> Result<(), StoreError> {
    query_opt(c, "SELECT id FROM conversations WHERE id = $1", &[&id.0])
        .await?
        .map(|_| ())
        .ok_or_else(|| common::not_found_conversation(id))
}

async fn audit<C: GenericClient>(
    c: &C,
    conversation: ConversationId,
    actor: &str,
    action: &str,
    detail: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    execute(
        c,
        "INSERT INTO audit (conversation_id, actor, action, detail, at) VALUES ($1, $2, $3, $4, $5)",
        &[&conversation.0, &actor, &action, detail, &at],
    )
    .await?;
    Ok(())
}

const SETTING_COLS: &str = "key, value, updated_by, updated_at";

fn setting_from_row(r: &Row) -> Result<StoredSetting, StoreError> {
    let key: String = r.try_get(0)?;
    Ok(StoredSetting {
        value: people::setting_value(&key, r.try_get(1)?)?,
        key,
        updated_by: r.try_get(2)?,
        updated_at: r.try_get(3)?,
    })
}

/// An audit row about the whole installation rather than one conversation.
async fn audit_setting<C: GenericClient>(
    c: &C,
    actor: &str,
    action: &str,
    detail: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    execute(
        c,
        "INSERT INTO audit (conversation_id, actor, action, detail, at) VALUES (NULL, $1, $2, $3, $4)",
        &[&actor, &action, detail, &at],
    )
    .await?;
    Ok(())
}

async fn labels_of<C: GenericClient>(
    c: &C,
    conversation: ConversationId,
) -> Result<Vec<String>, StoreError> {
    query(
        c,
        "SELECT label FROM conversation_labels WHERE conversation_id = $1 ORDER BY position",
        &[&conversation.0],
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

fn not_found_user(id: i64) -> StoreError {
    StoreError::NotFound(format!("user {id}"))
}

#[async_trait]
impl PeopleStore for PgStore {
    async fn create_user(&self, user: NewUser, at: DateTime<Utc>) -> Result<User, StoreError> {
        let username = people::normalise_username(&user.username)?;
        let at = common::trunc_us(at);
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "INSERT INTO users (username, display_name, role, password_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING {}",
                USER_COLS.replace("u.", "")
            ))
            .await?;
        let row = client
            .query_one(
                &stmt,
                &[
                    &username,
                    &user.display_name.trim(),
                    &user.role.as_str(),
                    &user.password_hash,
                    &at,
                ],
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("a user named {username:?} already exists"))
                } else {
                    e.into()
                }
            })?;
        user_from_row(&row, 0)
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let client = self.client().await?;
        query(
            &client,
            &format!("SELECT {USER_COLS} FROM users u ORDER BY u.username"),
            &[],
        )
        .await?
        .iter()
        .map(|r| user_from_row(r, 0))
        .collect()
    }

    async fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        load_user(&self.client().await?, id).await
    }

    async fn credentials(&self, username: &str) -> Result<Option<Credentials>, StoreError> {
        let username = username.trim().to_lowercase();
        let client = self.client().await?;
        query_opt(
            &client,
            &format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.username = $1"),
            &[&username],
        )
        .await?
        .map(|r| {
            Ok(Credentials {
                user: user_from_row(&r, 0)?,
                password_hash: r.try_get(6)?,
            })
        })
        .transpose()
    }

    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = execute(
            &tx,
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            &[&user_id, &password_hash],
        )
        .await?;
        if n == 0 {
            return Err(not_found_user(user_id));
        }
        end_access(&tx, user_id, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_role(&self, user_id: i64, role: Role) -> Result<User, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let others = other_active_admins(&tx, user_id).await?;
        let user = load_user(&tx, user_id)
            .await?
            .ok_or_else(|| not_found_user(user_id))?;
        if user.role == Role::Admin
            && role != Role::Admin
            && user.disabled_at.is_none()
            && others == 0
        {
            return Err(people::last_admin());
        }
        execute(
            &tx,
            "UPDATE users SET role = $2 WHERE id = $1",
            &[&user_id, &role.as_str()],
        )
        .await?;
        let user = load_user(&tx, user_id)
            .await?
            .ok_or_else(|| not_found_user(user_id))?;
        tx.commit().await?;
        Ok(user)
    }

    async fn set_disabled(
        &self,
        user_id: i64,
        disabled: bool,
        at: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let others = other_active_admins(&tx, user_id).await?;
        let user = load_user(&tx, user_id)
            .await?
            .ok_or_else(|| not_found_user(user_id))?;
        if disabled {
            if user.role == Role::Admin && user.disabled_at.is_none() && others == 0 {
                return Err(people::last_admin());
            }
            execute(
                &tx,
                "UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
                &[&user_id, &at],
            )
            .await?;
            end_access(&tx, user_id, at).await?;
        } else {
            execute(
                &tx,
                "UPDATE users SET disabled_at = NULL WHERE id = $1",
                &[&user_id],
            )
            .await?;
        }
        let user = load_user(&tx, user_id)
            .await?
            .ok_or_else(|| not_found_user(user_id))?;
        tx.commit().await?;
        Ok(user)
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &session.token_hash,
                &session.user_id,
                &session.csrf_token,
                &common::trunc_us(session.created_at),
                &common::trunc_us(session.expires_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let client = self.client().await?;
        query_opt(
            &client,
            &format!(
                "SELECT {USER_COLS}, s.csrf_token, s.created_at, s.expires_at, \
                 COALESCE(s.last_seen_at, s.created_at) \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"
            ),
            &[&token_hash, &now],
        )
        .await?
        .map(|r| {
            Ok(Session {
                user: user_from_row(&r, 0)?,
                csrf_token: r.try_get(6)?,
                created_at: r.try_get(7)?,
                expires_at: r.try_get(8)?,
                last_seen_at: r.try_get(9)?,
            })
        })
        .transpose()
    }

    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1",
            &[&token_hash, &common::trunc_us(at)],
        )
        .await?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "DELETE FROM sessions WHERE token_hash = $1 OR expires_at <= $2",
            &[&token_hash, &now],
        )
        .await?;
        Ok(())
    }

    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiToken, StoreError> {
        let client = self.client().await?;
        let row = query(
            &client,
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &token.user_id,
                &token.name.trim(),
                &token.prefix,
                &token.token_hash,
                &people::scopes_to_text(&token.scopes),
                &common::trunc_us(token.created_at),
            ],
        )
        .await?;
        let id: i64 = row
            .first()
            .ok_or_else(|| StoreError::Database("inserting a token returned no id".into()))?
            .try_get(0)?;
        load_token(&client, id)
            .await?
            .ok_or_else(|| StoreError::Database("the new token was not found".into()))
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let client = self.client().await?;
        query(
            &client,
            &format!(
                "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id DESC"
            ),
            &[],
        )
        .await?
        .iter()
        .map(token_from_row)
        .collect()
    }

    async fn api_token(&self, token_hash: &str) -> Result<Option<(ApiToken, User)>, StoreError> {
        let client = self.client().await?;
        query_opt(
            &client,
            &format!(
                "SELECT {TOKEN_COLS}, {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL"
            ),
            &[&token_hash],
        )
        .await?
        .map(|r| Ok((token_from_row(&r)?, user_from_row(&r, 9)?)))
        .transpose()
    }

    async fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
            &[&id, &common::trunc_us(at)],
        )
        .await?;
        Ok(())
    }

    async fn revoke_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<ApiToken, StoreError> {
        let client = self.client().await?;
        execute(
            &client,
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            &[&id, &common::trunc_us(at)],
        )
        .await?;
        load_token(&client, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("API token {id}")))
    }

    async fn record_login_attempt(
        &self,
        key: &str,
        succeeded: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        execute(
            &tx,
            "DELETE FROM login_attempts WHERE at < $1",
            &[&(at - Duration::days(1))],
        )
        .await?;
        execute(
            &tx,
            "INSERT INTO login_attempts (key, succeeded, at) VALUES ($1, $2, $3)",
            &[&key, &succeeded, &at],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn failed_logins(&self, key: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT COUNT(*) FROM login_attempts WHERE key = $1 AND NOT succeeded AND at >= $2 \
             AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE key = $1 AND succeeded), '-infinity')",
            &[&key, &since],
        )
        .await?;
        let n: i64 = rows
            .first()
            .ok_or_else(|| StoreError::Database("counting returned no row".into()))?
            .try_get(0)?;
        Ok(n.max(0) as u64)
    }

    async fn add_note(
        &self,
        conversation: ConversationId,
        author: &str,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<Note, StoreError> {
        let text = people::check_note(text)?;
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        conversation_exists(&tx, conversation).await?;
        let rows = query(
            &tx,
            "INSERT INTO notes (conversation_id, author, text, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            &[&conversation.0, &author, &text, &at],
        )
        .await?;
        let id: i64 = rows
            .first()
            .ok_or_else(|| StoreError::Database("inserting a note returned no id".into()))?
            .try_get(0)?;
        audit(
            &tx,
            conversation,
            author,
            "note_added",
            &serde_json::json!({ "note_id": id }),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(Note {
            id,
            conversation_id: conversation,
            author: author.to_string(),
            text,
            created_at: at,
        })
    }

    async fn notes(&self, conversation: ConversationId) -> Result<Vec<Note>, StoreError> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT id, author, text, created_at FROM notes WHERE conversation_id = $1 ORDER BY id",
            &[&conversation.0],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(Note {
                id: r.try_get(0)?,
                conversation_id: conversation,
                author: r.try_get(1)?,
                text: r.try_get(2)?,
                created_at: r.try_get(3)?,
            })
        })
        .collect()
    }

    async fn set_labels(
        &self,
        conversation: ConversationId,
        labels: &[String],
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let labels = people::normalise_labels(labels)?;
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Locks the conversation's row, so two agents labelling at once take turns.
        query_opt(
            &tx,
            "SELECT id FROM conversations WHERE id = $1 FOR UPDATE",
            &[&conversation.0],
        )
        .await?
        .ok_or_else(|| common::not_found_conversation(conversation))?;
        let before = labels_of(&tx, conversation).await?;
        if before == labels {
            return Ok(before);
        }
        execute(
            &tx,
            "DELETE FROM conversation_labels WHERE conversation_id = $1",
            &[&conversation.0],
        )
        .await?;
        for (i, l) in labels.iter().enumerate() {
            execute(
                &tx,
                "INSERT INTO conversation_labels (conversation_id, label, position) VALUES ($1, $2, $3)",
                &[&conversation.0, l, &(i as i32)],
            )
            .await?;
        }
        audit(
            &tx,
            conversation,
            actor,
            "labelled",
            &serde_json::json!({ "from": before, "to": labels }),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(labels)
    }

    async fn labels(&self, conversation: ConversationId) -> Result<Vec<String>, StoreError> {
        labels_of(&self.client().await?, conversation).await
    }

    async fn save_view(
        &self,
        user_id: i64,
        name: &str,
        query_text: &str,
    ) -> Result<SavedView, StoreError> {
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(StoreError::Invalid(
                "a view needs a name of 1–60 characters".into(),
            ));
        }
        let client = self.client().await?;
        let rows = query(
            &client,
            "INSERT INTO saved_views (user_id, name, query) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query RETURNING id",
            &[&user_id, &name, &query_text],
        )
        .await?;
        let id: i64 = rows
            .first()
            .ok_or_else(|| StoreError::Database("saving a view returned no id".into()))?
            .try_get(0)?;
        Ok(SavedView {
            id,
            user_id,
            name,
            query: query_text.to_string(),
        })
    }

    async fn saved_views(&self, user_id: i64) -> Result<Vec<SavedView>, StoreError> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT id, name, query FROM saved_views WHERE user_id = $1 ORDER BY name",
            &[&user_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(SavedView {
                id: r.try_get(0)?,
                user_id,
                name: r.try_get(1)?,
                query: r.try_get(2)?,
            })
        })
        .collect()
    }

    async fn delete_view(&self, user_id: i64, id: i64) -> Result<(), StoreError> {
        let client = self.client().await?;
        let n = execute(
            &client,
            "DELETE FROM saved_views WHERE id = $1 AND user_id = $2",
            &[&id, &user_id],
        )
        .await?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("saved view {id}")));
        }
        Ok(())
    }

    async fn setting(&self, key: &str) -> Result<Option<StoredSetting>, StoreError> {
        let client = self.client().await?;
        query_opt(
            &client,
            &format!("SELECT {SETTING_COLS} FROM settings WHERE key = $1"),
            &[&key],
        )
        .await?
        .map(|r| setting_from_row(&r))
        .transpose()
    }

    async fn settings(&self) -> Result<Vec<StoredSetting>, StoreError> {
        let client = self.client().await?;
        query(
            &client,
            &format!("SELECT {SETTING_COLS} FROM settings ORDER BY key"),
            &[],
        )
        .await?
        .iter()
        .map(setting_from_row)
        .collect()
    }

    async fn set_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<StoredSetting, StoreError> {
        let text = people::setting_text(key, value)?;
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let before = query_opt(
            &tx,
            &format!("SELECT {SETTING_COLS} FROM settings WHERE key = $1 FOR UPDATE"),
            &[&key],
        )
        .await?
        .map(|r| setting_from_row(&r))
        .transpose()?
        .map(|s| s.value);
        execute(
            &tx,
            "INSERT INTO settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            &[&key, &text, &by, &at],
        )
        .await?;
        audit_setting(
            &tx,
            by,
            "setting_changed",
            &serde_json::json!({ "key": key, "from": before, "to": value }),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(StoredSetting {
            key: key.to_string(),
            value: value.clone(),
            updated_by: by.to_string(),
            updated_at: at,
        })
    }

    async fn clear_setting(
        &self,
        key: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        people::check_setting_key(key)?;
        let at = common::trunc_us(at);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = query_opt(
            &tx,
            &format!("DELETE FROM settings WHERE key = $1 RETURNING {SETTING_COLS}"),
            &[&key],
        )
        .await?
        else {
            return Ok(false);
        };
        let before = setting_from_row(&row)?;
        audit_setting(
            &tx,
            by,
            "setting_cleared",
            &serde_json::json!({ "key": key, "from": before.value }),
            at,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn customer_conversations(
        &self,
        network: Network,
        customer_external_id: &str,
        limit: u32,
    ) -> Result<Vec<CustomerConversation>, StoreError> {
        let client = self.client().await?;
        query(
            &client,
            "SELECT id, status, intent, sentiment, opened_at, last_activity_at, post_count \
             FROM conversations WHERE network = $1 AND customer_external_id = $2 \
             ORDER BY last_activity_at DESC LIMIT $3",
            &[&network.as_str(), &customer_external_id, &i64::from(limit)],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(CustomerConversation {
                id: ConversationId(r.try_get(0)?),
                status: common::status(r.try_get(1)?)?,
                intent: common::intent(r.try_get(2)?)?,
                sentiment: common::sentiment(r.try_get(3)?)?,
                opened_at: r.try_get(4)?,
                last_activity_at: r.try_get(5)?,
                post_count: u32::try_from(r.try_get::<_, i32>(6)?).unwrap_or(0),
            })
        })
        .collect()
    }
}
