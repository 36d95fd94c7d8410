//! [`PeopleStore`] on SQLite: the tables of migration 0005, through the store's own reader
//! and writer connections. Timestamps are INTEGER microseconds, as in the rest of the file.

use crate::people::{
    self, ApiToken, Credentials, CustomerConversation, NewApiToken, NewSession, NewUser, Note,
    PeopleStore, Role, SavedView, Session, StoredSetting, User,
};
use crate::sqlite::SqliteStore;
use crate::{common, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use earshot_core::{ConversationId, Network};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_us(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {v} is out of range")))
}

fn ts_opt(v: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    v.map(from_us).transpose()
}

/// A row mapped by a closure that can fail in either rusqlite or the store's own terms.
fn flatten<T>(r: rusqlite::Result<Result<T, StoreError>>) -> Result<T, StoreError> {
    r.map_err(StoreError::from).and_then(|x| x)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

const USER_COLS: &str = "u.id, u.username, u.display_name, u.role, u.created_at, u.disabled_at";

/// Reads [`USER_COLS`] starting at column `at`.
fn user_from_row(r: &Row, at: usize) -> Result<User, StoreError> {
    Ok(User {
        id: r.get(at)?,
        username: r.get(at + 1)?,
        display_name: r.get(at + 2)?,
        role: people::role(&r.get::<_, String>(at + 3)?)?,
        created_at: from_us(r.get(at + 4)?)?,
        disabled_at: ts_opt(r.get(at + 5)?)?,
    })
}

const TOKEN_COLS: &str = "t.id, t.user_id, u.username, t.name, t.prefix, t.scopes, t.created_at, \
     t.last_used_at, t.revoked_at";

fn token_from_row(r: &Row) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: r.get(0)?,
        user_id: r.get(1)?,
        username: r.get(2)?,
        name: r.get(3)?,
        prefix: r.get(4)?,
        scopes: people::scopes_from_text(&r.get::<_, String>(5)?),
        created_at: from_us(r.get(6)?)?,
        last_used_at: ts_opt(r.get(7)?)?,
        revoked_at: ts_opt(r.get(8)?)?,
    })
}

fn load_user(conn: &Connection, id: i64) -> Result<Option<User>, StoreError> {
    conn.prepare_cached(&format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1"))?
        .query_row([id], |r| Ok(user_from_row(r, 0)))
        .optional()?
        .transpose()
}

fn load_token(conn: &Connection, id: i64) -> Result<Option<ApiToken>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?1"
    ))?
    .query_row([id], |r| Ok(token_from_row(r)))
    .optional()?
    .transpose()
}

/// Active admins other than `user_id`: there must always be one left.
fn other_active_admins(conn: &Connection, user_id: i64) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> ?1",
        [user_id],
        |r| r.get(0),
    )?)
}

/// Ends a person's sessions and revokes their API tokens (a password reset, a disabling).
fn end_access(conn: &Connection, user_id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
        .execute([user_id])?;
    conn.prepare_cached(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE user_id = ?1",
    )?
    .execute(params![user_id, us(common::trunc_us(at))])?;
    Ok(())
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

fn audit(
    conn: &Connection,
    conversation: ConversationId,
    actor: &str,
    action: &str,
    detail: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit (conversation_id, actor, action, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![conversation.0, actor, action, detail.to_string(), us(at)])?;
    Ok(())
}

fn setting_of(conn: &Connection, key: &str) -> Result<Option<StoredSetting>, StoreError> {
    conn.prepare_cached("SELECT key, value, updated_by, updated_at FROM settings WHERE key = ?1")?
        .query_row([key], |r| Ok(setting_from_row(r)))
        .optional()?
        .transpose()
}

fn setting_from_row(r: &Row) -> Result<StoredSetting, StoreError> {
    let key: String = r.get(0)?;
    Ok(StoredSetting {
        value: people::setting_value(&key, &r.get::<_, String>(1)?)?,
        key,
        updated_by: r.get(2)?,
        updated_at: from_us(r.get(3)?)?,
    })
}

/// An audit row about the whole installation rather than one conversation.
fn audit_setting(
    conn: &Connection,
    actor: &str,
    action: &str,
    detail: &serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit (conversation_id, actor, action, detail, at) VALUES (NULL, ?1, ?2, ?3, ?4)",
    )?
    .execute(params![actor, action, detail.to_string(), us(at)])?;
    Ok(())
}

fn labels_of(conn: &Connection, conversation: ConversationId) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT label FROM conversation_labels WHERE conversation_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([conversation.0], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[async_trait]
impl PeopleStore for SqliteStore {
    async fn create_user(&self, user: NewUser, at: DateTime<Utc>) -> Result<User, StoreError> {
        let username = people::normalise_username(&user.username)?;
        let at = common::trunc_us(at);
        self.write(move |conn| {
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO users (username, display_name, role, password_hash, created_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    username,
                    user.display_name.trim(),
                    user.role.as_str(),
                    user.password_hash,
                    us(at)
                ]);
            match inserted {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict(format!(
                        "a user named {username:?} already exists"
                    )))
                }
                Err(e) => return Err(e.into()),
            }
            load_user(conn, conn.last_insert_rowid())?
                .ok_or_else(|| StoreError::Database("the new user was not found".into()))
        })
        .await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {USER_COLS} FROM users u ORDER BY u.username"
            ))?;
            let rows = stmt.query_map([], |r| Ok(user_from_row(r, 0)))?;
            rows.map(flatten).collect()
        })
        .await
    }

    async fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.read(move |conn| load_user(conn, id)).await
    }

    async fn credentials(&self, username: &str) -> Result<Option<Credentials>, StoreError> {
        let username = username.trim().to_lowercase();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.username = ?1"
            ))?
            .query_row([username], |r| {
                Ok(user_from_row(r, 0).and_then(|user| {
                    Ok(Credentials {
                        user,
                        password_hash: r.get(6)?,
                    })
                }))
            })
            .optional()?
            .transpose()
        })
        .await
    }

    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), StoreError> {
        let hash = password_hash.to_string();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx
                .prepare_cached("UPDATE users SET password_hash = ?2 WHERE id = ?1")?
                .execute(params![user_id, hash])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("user {user_id}")));
            }
            end_access(&tx, user_id, Utc::now())?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn set_role(&self, user_id: i64, role: Role) -> Result<User, StoreError> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let user = load_user(&tx, user_id)?
                .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
            if user.role == Role::Admin
                && role != Role::Admin
                && user.disabled_at.is_none()
                && other_active_admins(&tx, user_id)? == 0
            {
                return Err(people::last_admin());
            }
            tx.prepare_cached("UPDATE users SET role = ?2 WHERE id = ?1")?
                .execute(params![user_id, role.as_str()])?;
            let user = load_user(&tx, user_id)?
                .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
            tx.commit()?;
            Ok(user)
        })
        .await
    }

    async fn set_disabled(
        &self,
        user_id: i64,
        disabled: bool,
        at: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        let at = common::trunc_us(at);
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let user = load_user(&tx, user_id)?
                .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
            if disabled {
                if user.role == Role::Admin
                    && user.disabled_at.is_none()
                    && other_active_admins(&tx, user_id)? == 0
                {
                    return Err(people::last_admin());
                }
                tx.prepare_cached(
                    "UPDATE users SET disabled_at = COALESCE(disabled_at, ?2) WHERE id = ?1",
                )?
                .execute(params![user_id, us(at)])?;
                end_access(&tx, user_id, at)?;
            } else {
                tx.prepare_cached("UPDATE users SET disabled_at = NULL WHERE id = ?1")?
                    .execute([user_id])?;
            }
            let user = load_user(&tx, user_id)?
                .ok_or_else(|| StoreError::NotFound(format!("user {user_id}")))?;
            tx.commit()?;
            Ok(user)
        })
        .await
    }

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                session.token_hash,
                session.user_id,
                session.csrf_token,
                us(session.created_at),
                us(session.expires_at)
            ])?;
            Ok(())
        })
        .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let hash = token_hash.to_string();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {USER_COLS}, s.csrf_token, s.created_at, s.expires_at, \
                     COALESCE(s.last_seen_at, s.created_at) \
                     FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled_at IS NULL"
            ))?
            .query_row(params![hash, us(now)], |r| {
                Ok((|| -> Result<_, StoreError> {
                    Ok(Session {
                        user: user_from_row(r, 0)?,
                        csrf_token: r.get(6)?,
                        created_at: from_us(r.get(7)?)?,
                        expires_at: from_us(r.get(8)?)?,
                        last_seen_at: from_us(r.get(9)?)?,
                    })
                })())
            })
            .optional()?
            .transpose()
        })
        .await
    }

    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let hash = token_hash.to_string();
        self.write(move |conn| {
            conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1")?
                .execute(params![hash, us(common::trunc_us(at))])?;
            Ok(())
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let hash = token_hash.to_string();
        self.write(move |conn| {
            conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1 OR expires_at <= ?2")?
                .execute(params![hash, us(now)])?;
            Ok(())
        })
        .await
    }

    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiToken, StoreError> {
        let at = common::trunc_us(token.created_at);
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO api_tokens (user_id, name, prefix, token_hash, scopes, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                token.user_id,
                token.name.trim(),
                token.prefix,
                token.token_hash,
                people::scopes_to_text(&token.scopes),
                us(at)
            ])?;
            load_token(conn, conn.last_insert_rowid())?
                .ok_or_else(|| StoreError::Database("the new token was not found".into()))
        })
        .await
    }

    async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id DESC"
            ))?;
            let rows = stmt.query_map([], |r| Ok(token_from_row(r)))?;
            rows.map(flatten).collect()
        })
        .await
    }

    async fn api_token(&self, token_hash: &str) -> Result<Option<(ApiToken, User)>, StoreError> {
        let hash = token_hash.to_string();
        self.read(move |conn| {
            conn
                .prepare_cached(&format!(
                    "SELECT {TOKEN_COLS}, {USER_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
                     WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL"
                ))?
                .query_row([hash], |r| {
                    Ok(token_from_row(r).and_then(|t| Ok((t, user_from_row(r, 9)?))))
                })
                .optional()?
                .transpose()
        })
        .await
    }

    async fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![id, us(at)])?;
            Ok(())
        })
        .await
    }

    async fn revoke_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<ApiToken, StoreError> {
        let at = common::trunc_us(at);
        self.write(move |conn| {
            conn.prepare_cached(
                "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            )?
            .execute(params![id, us(at)])?;
            load_token(conn, id)?.ok_or_else(|| StoreError::NotFound(format!("API token {id}")))
        })
        .await
    }

    async fn record_login_attempt(
        &self,
        key: &str,
        succeeded: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = key.to_string();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached("DELETE FROM login_attempts WHERE at < ?1")?
                .execute([us(at - Duration::days(1))])?;
            tx.prepare_cached(
                "INSERT INTO login_attempts (key, succeeded, at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![key, succeeded, us(at)])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn failed_logins(&self, key: &str, since: DateTime<Utc>) -> Result<u64, StoreError> {
        let key = key.to_string();
        self.read(move |conn| {
            let n: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM login_attempts WHERE key = ?1 AND succeeded = 0 AND at >= ?2 \
                     AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE key = ?1 AND succeeded = 1), -1)",
                )?
                .query_row(params![key, us(since)], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    async fn add_note(
        &self,
        conversation: ConversationId,
        author: &str,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<Note, StoreError> {
        let text = people::check_note(text)?;
        let author = author.to_string();
        let at = common::trunc_us(at);
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            conversation_exists(&tx, conversation)?;
            tx.prepare_cached(
                "INSERT INTO notes (conversation_id, author, text, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![conversation.0, author, text, us(at)])?;
            let id = tx.last_insert_rowid();
            audit(
                &tx,
                conversation,
                &author,
                "note_added",
                &serde_json::json!({ "note_id": id }),
                at,
            )?;
            tx.commit()?;
            Ok(Note {
                id,
                conversation_id: conversation,
                author,
                text,
                created_at: at,
            })
        })
        .await
    }

    async fn notes(&self, conversation: ConversationId) -> Result<Vec<Note>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, author, text, created_at FROM notes WHERE conversation_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([conversation.0], |r| {
                Ok((|| -> Result<_, StoreError> {
                    Ok(Note {
                        id: r.get(0)?,
                        conversation_id: conversation,
                        author: r.get(1)?,
                        text: r.get(2)?,
                        created_at: from_us(r.get(3)?)?,
                    })
                })())
            })?;
            rows.map(flatten).collect()
        })
        .await
    }

    async fn set_labels(
        &self,
        conversation: ConversationId,
        labels: &[String],
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let labels = people::normalise_labels(labels)?;
        let actor = actor.to_string();
        let at = common::trunc_us(at);
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            conversation_exists(&tx, conversation)?;
            let before = labels_of(&tx, conversation)?;
            if before == labels {
                return Ok(before);
            }
            tx.prepare_cached("DELETE FROM conversation_labels WHERE conversation_id = ?1")?
                .execute([conversation.0])?;
            for (i, l) in labels.iter().enumerate() {
                tx.prepare_cached(
                    "INSERT INTO conversation_labels (conversation_id, label, position) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![conversation.0, l, i as i64])?;
            }
            audit(
                &tx,
                conversation,
                &actor,
                "labelled",
                &serde_json::json!({ "from": before, "to": labels }),
                at,
            )?;
            tx.commit()?;
            Ok(labels)
        })
        .await
    }

    async fn labels(&self, conversation: ConversationId) -> Result<Vec<String>, StoreError> {
        self.read(move |conn| labels_of(conn, conversation)).await
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
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO saved_views (user_id, name, query) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query",
            )?
            .execute(params![user_id, name, query])?;
            let id: i64 = conn.query_row(
                "SELECT id FROM saved_views WHERE user_id = ?1 AND name = ?2",
                params![user_id, name],
                |r| r.get(0),
            )?;
            Ok(SavedView {
                id,
                user_id,
                name,
                query,
            })
        })
        .await
    }

    async fn saved_views(&self, user_id: i64) -> Result<Vec<SavedView>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, query FROM saved_views WHERE user_id = ?1 ORDER BY name",
            )?;
            let rows = stmt.query_map([user_id], |r| {
                Ok(SavedView {
                    id: r.get(0)?,
                    user_id,
                    name: r.get(1)?,
                    query: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn delete_view(&self, user_id: i64, id: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            let n = conn
                .prepare_cached("DELETE FROM saved_views WHERE id = ?1 AND user_id = ?2")?
                .execute(params![id, user_id])?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("saved view {id}")));
            }
            Ok(())
        })
        .await
    }

    async fn setting(&self, key: &str) -> Result<Option<StoredSetting>, StoreError> {
        let key = key.to_string();
        self.read(move |conn| setting_of(conn, &key)).await
    }

    async fn settings(&self) -> Result<Vec<StoredSetting>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT key, value, updated_by, updated_at FROM settings ORDER BY key",
            )?;
            let rows = stmt.query_map([], |r| Ok(setting_from_row(r)))?;
            rows.map(flatten).collect()
        })
        .await
    }

    async fn set_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<StoredSetting, StoreError> {
        let text = people::setting_text(key, value)?;
        let stored = StoredSetting {
            key: key.to_string(),
            value: value.clone(),
            updated_by: by.to_string(),
            updated_at: common::trunc_us(at),
        };
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let before = setting_of(&tx, &stored.key)?.map(|s| s.value);
            tx.prepare_cached(
                "INSERT INTO settings (key, value, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                 updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )?
            .execute(params![stored.key, text, stored.updated_by, us(stored.updated_at)])?;
            audit_setting(
                &tx,
                &stored.updated_by,
                "setting_changed",
                &serde_json::json!({ "key": stored.key, "from": before, "to": stored.value }),
                stored.updated_at,
            )?;
            tx.commit()?;
            Ok(stored)
        })
        .await
    }

    async fn clear_setting(
        &self,
        key: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        people::check_setting_key(key)?;
        let (key, by, at) = (key.to_string(), by.to_string(), common::trunc_us(at));
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(before) = setting_of(&tx, &key)? else {
                return Ok(false);
            };
            tx.prepare_cached("DELETE FROM settings WHERE key = ?1")?
                .execute([&key])?;
            audit_setting(
                &tx,
                &by,
                "setting_cleared",
                &serde_json::json!({ "key": key, "from": before.value }),
                at,
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn customer_conversations(
        &self,
        network: Network,
        customer_external_id: &str,
        limit: u32,
    ) -> Result<Vec<CustomerConversation>, StoreError> {
        let customer = customer_external_id.to_string();
        self.read(move |conn| {
            // Walks `conversations_by_customer` (network, customer_external_id, last_activity_at).
            let mut stmt = conn.prepare_cached(
                "SELECT id, status, intent, sentiment, opened_at, last_activity_at, post_count \
                 FROM conversations WHERE network = ?1 AND customer_external_id = ?2 \
                 ORDER BY last_activity_at DESC LIMIT ?3",
            )?;
            let rows =
                stmt.query_map(params![network.as_str(), customer, i64::from(limit)], |r| {
                    Ok((|| -> Result<_, StoreError> {
                        Ok(CustomerConversation {
                            id: ConversationId(r.get(0)?),
                            status: common::status(&r.get::<_, String>(1)?)?,
                            intent: common::intent(&r.get::<_, String>(2)?)?,
                            sentiment: common::sentiment(&r.get::<_, String>(3)?)?,
                            opened_at: from_us(r.get(4)?)?,
                            last_activity_at: from_us(r.get(5)?)?,
                            post_count: u32::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
                        })
                    })())
                })?;
            rows.map(flatten).collect()
        })
        .await
    }
}
