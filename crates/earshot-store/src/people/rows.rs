//! How the people store reads its rows and the lookups its writes share: users, tokens and
//! settings from neutral [`Row`]s, the locked count of other admins, ending a person's access.

use super::{ApiToken, StoredSetting, User};
use crate::db::{args, Conn, Row};
use crate::StoreError;
use chrono::{DateTime, Utc};
use earshot_core::ConversationId;

pub(super) const USER_COLS: &str =
    "u.id, u.username, u.display_name, u.role, u.created_at, u.disabled_at";

/// Reads [`USER_COLS`] starting at column `at`.
pub(super) fn user_from_row(r: &Row, at: usize) -> Result<User, StoreError> {
    Ok(User {
        id: r.get(at)?,
        username: r.get(at + 1)?,
        display_name: r.get(at + 2)?,
        role: super::role(r.text(at + 3)?)?,
        created_at: r.get(at + 4)?,
        disabled_at: r.get(at + 5)?,
    })
}

pub(super) const TOKEN_COLS: &str =
    "t.id, t.user_id, u.username, t.name, t.prefix, t.scopes, t.created_at, \
     t.last_used_at, t.revoked_at";

pub(super) fn token_from_row(r: &Row) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: r.get(0)?,
        user_id: r.get(1)?,
        username: r.get(2)?,
        name: r.get(3)?,
        prefix: r.get(4)?,
        scopes: super::scopes_from_text(r.text(5)?),
        created_at: r.get(6)?,
        last_used_at: r.get(7)?,
        revoked_at: r.get(8)?,
    })
}

pub(super) const SETTING_COLS: &str = "key, value, updated_by, updated_at";

pub(super) fn setting_from_row(r: &Row) -> Result<StoredSetting, StoreError> {
    let key: String = r.get(0)?;
    Ok(StoredSetting {
        value: super::setting_value(&key, r.text(1)?)?,
        key,
        updated_by: r.get(2)?,
        updated_at: r.get(3)?,
    })
}

pub(super) fn not_found_user(id: i64) -> StoreError {
    StoreError::NotFound(format!("user {id}"))
}

pub(super) async fn load_user(c: &mut dyn Conn, id: i64) -> Result<Option<User>, StoreError> {
    c.query_opt(
        &format!("SELECT {USER_COLS} FROM users u WHERE u.id = $1"),
        args![id],
    )
    .await?
    .map(|r| user_from_row(&r, 0))
    .transpose()
}

pub(super) async fn load_token(c: &mut dyn Conn, id: i64) -> Result<Option<ApiToken>, StoreError> {
    c.query_opt(
        &format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"
        ),
        args![id],
    )
    .await?
    .map(|r| token_from_row(&r))
    .transpose()
}

/// Locks the active admins (so two demotions cannot both pass) and counts those other
/// than `user_id`: there must always be one left.
pub(super) async fn other_active_admins(
    c: &mut dyn Conn,
    user_id: i64,
) -> Result<usize, StoreError> {
    let sql = format!(
        "SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL{}",
        c.for_update()
    );
    let mut others = 0;
    for r in c.query(&sql, &[]).await? {
        if r.get::<i64>(0)? != user_id {
            others += 1;
        }
    }
    Ok(others)
}

/// Ends a person's sessions and revokes their API tokens (a password reset, a disabling).
pub(super) async fn end_access(
    c: &mut dyn Conn,
    user_id: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    c.execute("DELETE FROM sessions WHERE user_id = $1", args![user_id])
        .await?;
    c.execute(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE user_id = $1",
        args![user_id, at],
    )
    .await?;
    Ok(())
}

pub(super) async fn labels_of(
    c: &mut dyn Conn,
    conversation: ConversationId,
) -> Result<Vec<String>, StoreError> {
    c.query(
        "SELECT label FROM conversation_labels WHERE conversation_id = $1 ORDER BY position",
        args![conversation],
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// The user after a change made in the same transaction.
pub(super) async fn reload_user(c: &mut dyn Conn, id: i64) -> Result<User, StoreError> {
    load_user(c, id).await?.ok_or_else(|| not_found_user(id))
}
