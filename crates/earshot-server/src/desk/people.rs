//! People: who may sign in (argon2id password hashes, roles) and the scoped API tokens
//! services use. The settings page, the CLI (`earshot admin`, above all the first admin) and
//! the demo all come here, so the password policy and the hashing live in one place; the
//! web's sessions and sign-in throttling stay in `web::auth`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use chrono::Utc;
pub use earshot_core::Secret;
pub use earshot_store::people::{ApiToken, Role, UnknownRole, User};
use earshot_store::people::{NewApiToken, NewUser};
use earshot_store::{Store, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// What an API token may be allowed to do.
pub const SCOPES: [&str; 3] = ["read", "reply", "act"];
/// Where every API token starts, so a leaked one is easy to recognise (and to grep for).
pub const TOKEN_PREFIX: &str = "es_";
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the password must be at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("unknown scope {0:?}: use read, reply or act")]
    UnknownScope(String),
    #[error("a {role} cannot hold the {scope:?} scope")]
    ScopeAboveRole { role: Role, scope: String },
    #[error("a token needs at least one scope")]
    NoScope,
    #[error("{0} is disabled: enable them first")]
    Disabled(String),
    #[error("name the token after what will use it")]
    UnnamedToken,
}

/// Random bytes as URL-safe base64, from the operating system's generator.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// What the store keeps of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equal strings in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// argon2id with the crate's recommended parameters (19 MiB, 2 passes), salted per password.
pub fn hash_password(password: &Secret) -> Result<String, AuthError> {
    if password.expose().chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword);
    }
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(password: &Secret, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash nobody's password matches, checked when the user name is unknown so that a wrong
/// name costs as long as a wrong password (no telling which names exist by timing).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password(&Secret::new(random_token(24))).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()
        })
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    // Hashing takes tens of milliseconds of CPU: keep it off the async threads. A join error
    // means the closure panicked; there is nothing sensible to return but to re-raise it.
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Creates a person (the first admin comes from `earshot admin create-user`).
pub async fn create_user(
    store: &Arc<dyn Store>,
    username: &str,
    display_name: &str,
    role: Role,
    password: &Secret,
) -> Result<User, AuthError> {
    let password = password.clone();
    let hash = blocking(move || hash_password(&password)).await?;
    let display = if display_name.trim().is_empty() {
        username.trim()
    } else {
        display_name.trim()
    };
    Ok(store
        .create_user(
            NewUser {
                username: username.to_string(),
                display_name: display.to_string(),
                role,
                password_hash: hash,
            },
            Utc::now(),
        )
        .await?)
}

pub async fn set_password(
    store: &Arc<dyn Store>,
    user_id: i64,
    password: &Secret,
) -> Result<(), AuthError> {
    let password = password.clone();
    let hash = blocking(move || hash_password(&password)).await?;
    Ok(store.set_password(user_id, &hash).await?)
}

/// Checks a name and password; `None` when either is wrong or the user is disabled.
pub async fn check_password(
    store: &Arc<dyn Store>,
    username: &str,
    password: &Secret,
) -> Result<Option<User>, AuthError> {
    let creds = store.credentials(username).await?;
    let password = password.clone();
    let (user, hash) = match creds {
        Some(c) => (Some(c.user), c.password_hash),
        None => (None, decoy_hash().to_string()),
    };
    let ok = blocking(move || verify_password(&password, &hash)).await;
    Ok(user.filter(|u| ok && u.disabled_at.is_none()))
}

/// Scopes as given ("read,reply"), checked and capped by what the user's role may do.
pub fn parse_scopes(raw: &str, role: Role) -> Result<Vec<String>, AuthError> {
    let mut scopes: Vec<String> = Vec::new();
    for s in raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let s = s.to_ascii_lowercase();
        if !SCOPES.contains(&s.as_str()) {
            return Err(AuthError::UnknownScope(s));
        }
        if s != "read" && !role.can_act() {
            return Err(AuthError::ScopeAboveRole { role, scope: s });
        }
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    if scopes.is_empty() {
        return Err(AuthError::NoScope);
    }
    Ok(scopes)
}

/// Creates an API token for a user. The token itself is returned once and never stored.
pub async fn create_api_token(
    store: &Arc<dyn Store>,
    user: &User,
    name: &str,
    scopes: Vec<String>,
) -> Result<(Secret, ApiToken), AuthError> {
    let token = format!("{TOKEN_PREFIX}{}", random_token(32));
    let stored = store
        .create_api_token(NewApiToken {
            user_id: user.id,
            name: name.trim().to_string(),
            prefix: token.chars().take(10).collect(),
            token_hash: token_hash(&token),
            scopes,
            created_at: Utc::now(),
        })
        .await?;
    Ok((Secret::new(token), stored))
}

/// The people service: the desk's ([`super::Desk::people`]), or opened on its own by the CLI's
/// `earshot admin`, which must work before anything else is configured.
#[derive(Clone)]
pub struct People {
    store: Arc<dyn Store>,
}

impl super::Desk {
    /// People: who may sign in, their roles and API tokens.
    pub fn people(&self) -> People {
        People::new(self.store().clone())
    }
}

impl People {
    pub fn new(store: Arc<dyn Store>) -> Self {
        People { store }
    }

    /// Opens the store at `url` for people's records alone (no pipeline, no model).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Ok(People::new(earshot_store::open(url).await?))
    }

    /// Creates a person; an empty display name is their sign-in name.
    pub async fn create(
        &self,
        username: &str,
        display_name: &str,
        role: Role,
        password: &Secret,
    ) -> Result<User, AuthError> {
        create_user(&self.store, username, display_name, role, password).await
    }

    pub async fn list(&self) -> Result<Vec<User>, AuthError> {
        Ok(self.store.users().await?)
    }

    pub async fn set_role(&self, user_id: i64, role: Role) -> Result<User, AuthError> {
        Ok(self.store.set_role(user_id, role).await?)
    }

    /// Disabling ends their sessions and revokes their tokens (the last admin stays).
    pub async fn set_disabled(&self, user_id: i64, disabled: bool) -> Result<User, AuthError> {
        Ok(self
            .store
            .set_disabled(user_id, disabled, Utc::now())
            .await?)
    }

    /// Creates an API token for an active person, named after what will use it, with scopes
    /// their role allows ("read,reply"). The token is returned once and stored as a hash.
    pub async fn create_token(
        &self,
        user: UserRef<'_>,
        name: &str,
        scopes: &str,
    ) -> Result<(Secret, ApiToken), AuthError> {
        let user = match user {
            UserRef::Id(id) => self.store.user(id).await?,
            UserRef::Name(name) => self.store.credentials(name).await?.map(|c| c.user),
        }
        .ok_or_else(|| StoreError::NotFound(format!("user {user}")))?;
        if user.disabled_at.is_some() {
            return Err(AuthError::Disabled(user.username));
        }
        if name.trim().is_empty() {
            return Err(AuthError::UnnamedToken);
        }
        let scopes = parse_scopes(scopes, user.role)?;
        create_api_token(&self.store, &user, name, scopes).await
    }

    /// Tokens with their first characters only, and their state.
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, AuthError> {
        Ok(self.store.api_tokens().await?)
    }

    /// Revokes a token: it stops working at once.
    pub async fn revoke_token(&self, id: i64) -> Result<ApiToken, AuthError> {
        Ok(self.store.revoke_api_token(id, Utc::now()).await?)
    }
}

/// The demo's people, created when missing; their passwords are printed by `earshot demo`.
pub struct DemoPeople {
    pub admin: (String, Secret),
    pub agent: (String, Secret),
}

impl People {
    /// The demo's admin and agent, with their well-known passwords (reset if they exist).
    pub async fn demo_people(&self) -> Result<DemoPeople, AuthError> {
        let store = &self.store;
        let admin = ("admin".to_string(), Secret::new("earshot-demo-admin"));
        let agent = ("maria".to_string(), Secret::new("earshot-demo-agent"));
        for ((name, password), role, display) in [
            (&admin, Role::Admin, "Demo Admin"),
            (&agent, Role::Agent, "Maria Berg"),
        ] {
            match store.credentials(name).await? {
                Some(existing) => set_password(store, existing.user.id, password).await?,
                None => {
                    create_user(store, name, display, role, password).await?;
                }
            }
        }
        Ok(DemoPeople { admin, agent })
    }

    /// A fresh API token for one of the demo's people, for the curl examples `earshot demo`
    /// prints (read, reply and act, as an agent may).
    pub async fn demo_token(&self, username: &str) -> Result<Secret, AuthError> {
        let (token, _) = self
            .create_token(
                UserRef::Name(username),
                "demo curl examples",
                &SCOPES.join(","),
            )
            .await?;
        Ok(token)
    }
}

/// A person, by their id (the settings page) or sign-in name (the CLI).
#[derive(Debug, Clone, Copy)]
pub enum UserRef<'a> {
    Id(i64),
    Name(&'a str),
}

impl std::fmt::Display for UserRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserRef::Id(id) => write!(f, "{id}"),
            UserRef::Name(name) => write!(f, "{name:?}"),
        }
    }
}
