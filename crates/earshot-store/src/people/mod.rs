//! The people who work the inbox, and what they leave on it: users with roles and password
//! hashes, signed-in sessions, scoped API tokens, login attempts (for rate limiting), notes
//! and labels on conversations, saved inbox views — and, on the customer's side, the
//! earlier conversations of the person an agent is answering.
//!
//! The store keeps only hashes: passwords arrive already hashed (argon2id, by the server),
//! session and API tokens arrive as their SHA-256. A leaked database therefore signs nobody in.

use crate::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use earshot_core::analysis::{Intent, SentimentLabel};
use earshot_core::{ConversationId, Network, Status};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

mod rows;
mod sql;

/// What a person may do. Admins run the team (people, tokens, settings); agents answer and
/// act on conversations; viewers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Agent,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Agent, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Viewer => "viewer",
        }
    }

    /// Whether this role may answer, assign, resolve, label and write notes.
    pub fn can_act(self) -> bool {
        matches!(self, Role::Admin | Role::Agent)
    }

    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected admin, agent or viewer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "agent" => Ok(Role::Agent),
            "viewer" => Ok(Role::Viewer),
            other => Err(UnknownRole(other.to_string())),
        }
    }
}

/// A person on the team. Never carries the password hash: that is read only through
/// [`PeopleStore::credentials`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    /// The sign-in name, lower case; also the name the audit trail and assignments use.
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// A disabled user cannot sign in and their sessions and tokens stop working.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A user about to be created; the password is already hashed.
#[derive(Clone, PartialEq)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password_hash", &"***")
            .finish()
    }
}

/// A user with the hash to check a password against.
#[derive(Clone, PartialEq)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password_hash", &"***")
            .finish()
    }
}

/// A session to store: the SHA-256 of the cookie's token (hex), never the token itself.
#[derive(Clone, PartialEq)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: i64,
    /// The CSRF token every form of this session must send back.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A live session and who it belongs to.
#[derive(Clone, PartialEq)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When the session was last used (noted at most every minute or so, by the server).
    pub last_seen_at: DateTime<Utc>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An API token as lists show it: its prefix identifies it, the token itself was shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    /// What it is for, as the admin named it ("zapier", "nightly export").
    pub name: String,
    /// The token's first characters, enough to recognise it in a list.
    pub prefix: String,
    /// `read`, `reply`, `act`.
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn allows(&self, scope: &str) -> bool {
        self.revoked_at.is_none() && self.scopes.iter().any(|s| s == scope)
    }
}

/// A token to store: its SHA-256 (hex), never the token itself.
#[derive(Clone, PartialEq)]
pub struct NewApiToken {
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub token_hash: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl fmt::Debug for NewApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiToken")
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A note one colleague leaves for the others on a conversation (never sent to the customer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub id: i64,
    pub conversation_id: ConversationId,
    pub author: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// A named inbox filter a person keeps (the query string of the inbox page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedView {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub query: String,
}

/// One of a customer's conversations, as the conversation page lists their history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerConversation {
    pub id: ConversationId,
    pub status: Status,
    pub intent: Intent,
    pub sentiment: SentimentLabel,
    pub opened_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub post_count: u32,
}

/// A setting an admin changed from the web Settings page. The value is JSON whose shape
/// belongs to the server; a stored setting wins over the configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSetting {
    pub key: String,
    pub value: serde_json::Value,
    /// The user name of the admin who changed it last.
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// Largest stored setting, as JSON text: room for a thousand long keywords, no more.
pub const SETTING_MAX_BYTES: usize = 256 * 1024;

/// A setting's key: 1–64 lower-case letters, digits, `_` or `.`.
pub fn check_setting_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "setting key {key:?} must be 1–64 lower-case letters, digits, '_' or '.'"
        )))
    }
}

/// The JSON text to store for a setting, refused when over [`SETTING_MAX_BYTES`].
pub(crate) fn setting_text(key: &str, value: &serde_json::Value) -> Result<String, StoreError> {
    check_setting_key(key)?;
    let text = value.to_string();
    if text.len() > SETTING_MAX_BYTES {
        return Err(StoreError::Invalid(format!(
            "setting {key} is larger than {} KiB",
            SETTING_MAX_BYTES / 1024
        )));
    }
    Ok(text)
}

pub(crate) fn setting_value(key: &str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("setting {key} is not JSON: {e}")))
}

/// Longest note and label, in characters: notes are for colleagues, not essays.
pub const NOTE_MAX_CHARS: usize = 5_000;
pub const LABEL_MAX_CHARS: usize = 40;
pub const LABELS_MAX: usize = 20;

/// Labels as stored: trimmed, lower case, without duplicates or empties, in the order given.
pub fn normalise_labels(labels: &[String]) -> Result<Vec<String>, StoreError> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        let l = l.trim().to_lowercase();
        if l.is_empty() || out.contains(&l) {
            continue;
        }
        if l.chars().count() > LABEL_MAX_CHARS {
            return Err(StoreError::Invalid(format!(
                "label {l:?} is longer than {LABEL_MAX_CHARS} characters"
            )));
        }
        if l.chars().any(|c| c.is_control() || c == ',') {
            return Err(StoreError::Invalid(format!(
                "label {l:?} holds a comma or a control character"
            )));
        }
        out.push(l);
    }
    if out.len() > LABELS_MAX {
        return Err(StoreError::Invalid(format!(
            "at most {LABELS_MAX} labels on a conversation"
        )));
    }
    Ok(out)
}

/// A sign-in name: 1–64 characters of letters, digits, `.`, `_`, `-`, `@`; stored lower case.
pub fn normalise_username(name: &str) -> Result<String, StoreError> {
    let name = name.trim().to_lowercase();
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(name)
    } else {
        Err(StoreError::Invalid(format!(
            "user name {name:?} must be 1–64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

#[async_trait]
pub trait PeopleStore: Send + Sync {
    /// Creates a user. A name already taken → `StoreError::Conflict`.
    async fn create_user(&self, user: NewUser, at: DateTime<Utc>) -> Result<User, StoreError>;

    /// Every user, by name.
    async fn users(&self) -> Result<Vec<User>, StoreError>;

    async fn user(&self, id: i64) -> Result<Option<User>, StoreError>;

    /// The user with this sign-in name (any case) and their password hash.
    async fn credentials(&self, username: &str) -> Result<Option<Credentials>, StoreError>;

    /// Replaces a password hash and, in the same transaction, ends every session of the user
    /// and revokes every API token they hold: whoever knew the old password is out.
    async fn set_password(&self, user_id: i64, password_hash: &str) -> Result<(), StoreError>;

    /// Changes a role. Taking the last active admin's role away → `Conflict`.
    async fn set_role(&self, user_id: i64, role: Role) -> Result<User, StoreError>;

    /// Disables (ending their sessions and revoking their API tokens) or re-enables a user.
    /// Disabling the last active admin → `Conflict`.
    async fn set_disabled(
        &self,
        user_id: i64,
        disabled: bool,
        at: DateTime<Utc>,
    ) -> Result<User, StoreError>;

    async fn create_session(&self, session: NewSession) -> Result<(), StoreError>;

    /// The session with this token hash, if it has not expired and its user is active.
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError>;

    /// Notes that a session was used at `at` (for the idle timeout). Unknown hash is fine.
    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Signs a session out; also drops expired sessions. Unknown hash is fine.
    async fn delete_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiToken, StoreError>;

    /// Every token, newest first, revoked ones included.
    async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// The unrevoked token with this hash and its active user.
    async fn api_token(&self, token_hash: &str) -> Result<Option<(ApiToken, User)>, StoreError>;

    /// Notes that a token was used (callers do this at most every few minutes).
    async fn touch_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Revokes a token; revoking twice keeps the first time. Unknown id → `NotFound`.
    async fn revoke_api_token(&self, id: i64, at: DateTime<Utc>) -> Result<ApiToken, StoreError>;

    /// Records a sign-in attempt under `key` (a user name or an address); attempts older
    /// than a day are dropped on the way.
    async fn record_login_attempt(
        &self,
        key: &str,
        succeeded: bool,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Failed attempts under `key` since `since` and after the latest success.
    async fn failed_logins(&self, key: &str, since: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Adds a note for colleagues, with an audit row in the same transaction.
    /// Unknown conversation → `NotFound`; empty or over-long text → `Invalid`.
    async fn add_note(
        &self,
        conversation: ConversationId,
        author: &str,
        text: &str,
        at: DateTime<Utc>,
    ) -> Result<Note, StoreError>;

    /// A conversation's notes, oldest first.
    async fn notes(&self, conversation: ConversationId) -> Result<Vec<Note>, StoreError>;

    /// Replaces a conversation's labels (normalised by [`normalise_labels`]), with an audit
    /// row in the same transaction when they change. Returns the labels now on it.
    async fn set_labels(
        &self,
        conversation: ConversationId,
        labels: &[String],
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;

    async fn labels(&self, conversation: ConversationId) -> Result<Vec<String>, StoreError>;

    /// Saves (or, under the same name, replaces) a view of the inbox for one person.
    async fn save_view(
        &self,
        user_id: i64,
        name: &str,
        query: &str,
    ) -> Result<SavedView, StoreError>;

    /// A person's saved views, by name.
    async fn saved_views(&self, user_id: i64) -> Result<Vec<SavedView>, StoreError>;

    /// Deletes one of a person's views; someone else's view or an unknown id → `NotFound`.
    async fn delete_view(&self, user_id: i64, id: i64) -> Result<(), StoreError>;

    /// A setting changed from the web, if one is stored under `key`.
    async fn setting(&self, key: &str) -> Result<Option<StoredSetting>, StoreError>;

    /// Every stored setting, by key.
    async fn settings(&self) -> Result<Vec<StoredSetting>, StoreError>;

    /// Stores (or replaces) a setting, with an audit row (no conversation; action
    /// `setting_changed`, detail `{key, from, to}`) in the same transaction. A bad key or a
    /// value over [`SETTING_MAX_BYTES`] → `Invalid`.
    async fn set_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<StoredSetting, StoreError>;

    /// Forgets a stored setting (the configuration file's value applies again), with an
    /// audit row `setting_cleared` when there was one. Returns whether one was stored.
    async fn clear_setting(
        &self,
        key: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The customer's conversations on a network, most recently active first.
    async fn customer_conversations(
        &self,
        network: Network,
        customer_external_id: &str,
        limit: u32,
    ) -> Result<Vec<CustomerConversation>, StoreError>;
}

pub(crate) fn check_note(text: &str) -> Result<String, StoreError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(StoreError::Invalid("the note is empty".into()));
    }
    if text.chars().count() > NOTE_MAX_CHARS {
        return Err(StoreError::Invalid(format!(
            "the note is longer than {NOTE_MAX_CHARS} characters"
        )));
    }
    Ok(text.to_string())
}

pub(crate) fn scopes_to_text(scopes: &[String]) -> String {
    scopes.join(",")
}

pub(crate) fn scopes_from_text(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn role(s: &str) -> Result<Role, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("unknown role {s:?}")))
}

pub(crate) fn last_admin() -> StoreError {
    StoreError::Conflict("this is the last active admin: make someone else an admin first".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_tidied_and_bounded() {
        let l = normalise_labels(&[
            " Billing ".into(),
            "billing".into(),
            "".into(),
            "App".into(),
        ])
        .unwrap();
        assert_eq!(l, vec!["billing", "app"]);
        assert!(normalise_labels(&["a,b".into()]).is_err());
        assert!(normalise_labels(&["x".repeat(41)]).is_err());
    }

    #[test]
    fn usernames_are_lower_case_and_plain() {
        assert_eq!(normalise_username(" Maria ").unwrap(), "maria");
        assert!(normalise_username("ma ria").is_err());
        assert!(normalise_username("<script>").is_err());
        assert!(normalise_username("").is_err());
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let u = NewUser {
            username: "maria".into(),
            display_name: "Maria".into(),
            role: Role::Agent,
            password_hash: "$argon2id$secret".into(),
        };
        assert!(!format!("{u:?}").contains("secret"));
    }
}
