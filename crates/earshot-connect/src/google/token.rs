//! Google OAuth access tokens (PROTOCOLS-2.md §4.2, §5.2). Two grants:
//! - a **service account** (Google Play): an RS256 JWT assertion signed with the key file's
//!   private key (`kid` = `private_key_id`, `iss` = `client_email`, `scope`, `aud` = the token
//!   endpoint, `exp` one hour after `iat`), exchanged with the `jwt-bearer` grant;
//! - a **refresh token** (YouTube, a channel's own consent), exchanged with the
//!   `refresh_token` grant.
//!
//! A token is kept until less than [`RENEW_MARGIN`] is left, and dropped at once after a 401.
//! `invalid_grant` means the key was deleted or rotated, or the consent revoked: that is said
//! as such, never as a network error. Tokens and keys never appear in a message.

use crate::jws;
use crate::problem::Problem;
use crate::Secret;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::Deserialize;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// A token is replaced when less than this is left of it (§4.2: "< 5 min").
pub const RENEW_MARGIN: Duration = Duration::from_secs(5 * 60);
/// An assertion's life: Google allows at most an hour.
pub const ASSERTION_LIFETIME: u64 = 3600;
/// How far `iat` is put in the past, for clock skew.
const SKEW: u64 = 30;

/// The fields of a service account's JSON key file earshot uses.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key_id: String,
    private_key: String,
    #[serde(default)]
    pub token_uri: Option<String>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// The key file's contents; the error says what to fix and never quotes the file.
    pub fn parse(file: &Secret) -> Result<ServiceAccountKey, String> {
        let key: ServiceAccountKey = serde_json::from_str(file.expose()).map_err(|_| {
            "the service account key is not a Google JSON key file: download one in Google \
             Cloud Console (IAM → Service accounts → Keys → Add key → JSON)"
                .to_owned()
        })?;
        if key.client_email.trim().is_empty() || key.private_key_id.trim().is_empty() {
            return Err(
                "the service account key file lacks client_email or private_key_id: \
                        download a new JSON key"
                    .into(),
            );
        }
        key.key_pair()?;
        Ok(key)
    }

    fn key_pair(&self) -> Result<RsaKeyPair, String> {
        let bad = || {
            "the service account key's private_key is not an RSA key in PKCS#8 PEM form: \
             download a new JSON key"
                .to_owned()
        };
        let der = crate::appstore::jwt::pem_to_der(&self.private_key).map_err(|_| bad())?;
        RsaKeyPair::from_pkcs8(&der).map_err(|_| bad())
    }
}

/// How tokens are obtained.
pub enum Grant {
    ServiceAccount {
        client_email: String,
        key_id: String,
        // Boxed: an RSA key pair is large beside the refresh-token variant.
        key: Box<RsaKeyPair>,
        scope: String,
    },
    RefreshToken {
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
    },
}

impl Grant {
    /// A service account acting with `scope`.
    pub fn service_account(key: &ServiceAccountKey, scope: &str) -> Result<Grant, String> {
        Ok(Grant::ServiceAccount {
            client_email: key.client_email.trim().to_owned(),
            key_id: key.private_key_id.trim().to_owned(),
            key: Box::new(key.key_pair()?),
            scope: scope.to_owned(),
        })
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The signed assertion of a service account (`aud` = the token endpoint).
fn assertion(
    client_email: &str,
    key_id: &str,
    key: &RsaKeyPair,
    scope: &str,
    audience: &str,
) -> Result<String, Problem> {
    let iat = now_secs().saturating_sub(SKEW);
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": key_id});
    let claims = serde_json::json!({
        "iss": client_email, "scope": scope, "aud": audience,
        "iat": iat, "exp": iat + ASSERTION_LIFETIME,
    });
    let input = jws::signing_input(&header, &claims);
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| Problem::Key("the service account key could not sign".into()))?;
    Ok(jws::finish(&input, &signature))
}

/// What a checked assertion said (for a fake token endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub client_email: String,
    pub scope: String,
}

/// Checks a service-account assertion as Google's token endpoint does: RS256 by the key whose
/// public half (PKCS#1 DER) is `public_key`, the expected `kid`, `aud`, and `exp − iat` at
/// most an hour, not expired. The error is the reason.
pub fn verify_assertion(
    token: &str,
    public_key: &[u8],
    key_id: &str,
    audience: &str,
    now: u64,
) -> Result<Assertion, String> {
    let parts = jws::split(token)?;
    if parts.header["alg"] != "RS256" {
        return Err(format!("alg {} is not RS256", parts.header["alg"]));
    }
    if parts.header["kid"] != key_id {
        return Err("Invalid JWT Signature.".into());
    }
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key,
    )
    .verify(parts.signed.as_bytes(), &parts.signature)
    .map_err(|_| "Invalid JWT Signature.".to_owned())?;
    let c = &parts.claims;
    if c["aud"] != audience {
        return Err(format!("Invalid JWT: aud {} is not {audience}", c["aud"]));
    }
    let (Some(iat), Some(exp)) = (c["iat"].as_u64(), c["exp"].as_u64()) else {
        return Err("Invalid JWT: iat and exp are required".into());
    };
    if exp <= iat || exp - iat > ASSERTION_LIFETIME {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes)".into());
    }
    if exp <= now || iat > now + 60 {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values".into());
    }
    Ok(Assertion {
        client_email: c["iss"].as_str().unwrap_or_default().to_owned(),
        scope: c["scope"].as_str().unwrap_or_default().to_owned(),
    })
}

#[derive(Deserialize)]
struct Minted {
    access_token: String,
    #[serde(default)]
    expires_in: u64,
}

/// Access tokens of one grant, kept while fresh.
pub struct Tokens {
    grant: Grant,
    token_url: String,
    cached: Mutex<Option<(Secret, Instant)>>,
    minted: std::sync::atomic::AtomicU64,
    /// Said when Google refuses the grant (what to fix, per network).
    refused_hint: &'static str,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub fn new(grant: Grant, token_url: &str, refused_hint: &'static str) -> Self {
        Tokens {
            grant,
            token_url: token_url.to_owned(),
            cached: Mutex::new(None),
            minted: Default::default(),
            refused_hint,
        }
    }

    /// How many tokens were minted so far.
    pub fn minted(&self) -> u64 {
        self.minted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Drops the cached token (Google answered 401 to it).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    /// A token good for at least [`RENEW_MARGIN`] more.
    pub async fn token(&self, client: &reqwest::Client) -> Result<Secret, Problem> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if until.saturating_duration_since(Instant::now()) > RENEW_MARGIN {
                return Ok(token.clone());
            }
        }
        let (token, lifetime) = self.mint(client).await?;
        *cached = Some((token.clone(), Instant::now() + lifetime));
        self.minted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(token)
    }

    async fn mint(&self, client: &reqwest::Client) -> Result<(Secret, Duration), Problem> {
        let form: Vec<(&str, String)> = match &self.grant {
            Grant::ServiceAccount {
                client_email,
                key_id,
                key,
                scope,
            } => vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                ),
                (
                    "assertion",
                    assertion(client_email, key_id, key, scope, &self.token_url)?,
                ),
            ],
            Grant::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", refresh_token.expose().to_owned()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.expose().to_owned()),
            ],
        };
        let answer = client
            .post(&self.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| Problem::Network {
                reason: format!(
                    "Google's token endpoint did not answer: {}",
                    e.without_url()
                ),
                maybe_done: false,
            })?;
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap_or_default();
        if (200..300).contains(&status) {
            let minted: Minted = serde_json::from_str(&text).map_err(|_| {
                Problem::Unclear("Google's token endpoint answered without an access_token".into())
            })?;
            // Google says 3599 s; a missing or tiny lifetime still serves this one request.
            let lifetime = Duration::from_secs(minted.expires_in.max(60));
            return Ok((Secret::new(minted.access_token), lifetime));
        }
        let said: super::error::OAuthError = serde_json::from_str(&text).unwrap_or_default();
        let said = if said.error.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("{}: {}", said.error, said.error_description)
        };
        Err(match status {
            400 | 401 | 403 => Problem::Unauthorized(format!(
                "Google refused the credentials ({said}): {}",
                self.refused_hint
            )),
            429 => Problem::RateLimited(format!("Google's token endpoint is busy ({said})")),
            500..=599 => Problem::Server(format!("Google's token endpoint failed ({said})")),
            _ => Problem::Refused {
                status,
                reason: format!("Google's token endpoint refused the request ({said})"),
            },
        })
    }
}

/// A service account key file for fakes and tests: a fixed 2048-bit test key (ring cannot
/// make RSA keys, and making one per test would be slow). Never a real account's key.
#[cfg(any(test, feature = "fake"))]
pub mod testing {
    use super::*;

    pub const TEST_KEY_PEM: &str = include_str!("test_key.pem");
    pub const TEST_KEY_ID: &str = "3f9c2a7e8b1d4c6f0a5e9b2d7c4f1a8e6b3d0c95";

    /// The key file's JSON for `client_email`, its token endpoint at `token_uri`.
    pub fn key_file(client_email: &str, token_uri: &str) -> crate::Secret {
        crate::Secret::new(
            serde_json::json!({
                "type": "service_account", "project_id": "acme-play",
                "private_key_id": TEST_KEY_ID, "private_key": TEST_KEY_PEM,
                "client_email": client_email, "client_id": "101234567890123456789",
                "token_uri": token_uri,
            })
            .to_string(),
        )
    }

    /// The test key's public half (PKCS#1 DER), for a fake token endpoint.
    pub fn public_key() -> Vec<u8> {
        let der = crate::appstore::jwt::pem_to_der(TEST_KEY_PEM).unwrap_or_default();
        RsaKeyPair::from_pkcs8(&der)
            .map(|k| k.public().as_ref().to_vec())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUD: &str = "https://oauth2.googleapis.com/token";

    #[test]
    fn an_assertion_verifies_with_the_public_half_and_says_why_when_not() {
        let file = testing::key_file("earshot@acme-play.iam.gserviceaccount.com", AUD);
        let key = ServiceAccountKey::parse(&file).unwrap();
        let Grant::ServiceAccount { key: pair, .. } =
            Grant::service_account(&key, "scope-x").unwrap()
        else {
            unreachable!()
        };
        let token = assertion(
            &key.client_email,
            &key.private_key_id,
            &pair,
            "scope-x",
            AUD,
        )
        .unwrap();
        let public = testing::public_key();
        let now = now_secs();
        let ok = verify_assertion(&token, &public, testing::TEST_KEY_ID, AUD, now).unwrap();
        assert_eq!(ok.client_email, "earshot@acme-play.iam.gserviceaccount.com");
        assert_eq!(ok.scope, "scope-x");
        assert!(verify_assertion(&token, &public, "rotated", AUD, now)
            .unwrap_err()
            .contains("Signature"));
        assert!(
            verify_assertion(&token, &public, testing::TEST_KEY_ID, "other", now)
                .unwrap_err()
                .contains("aud")
        );
        assert!(
            verify_assertion(&token, &public, testing::TEST_KEY_ID, AUD, now + 7200)
                .unwrap_err()
                .contains("iat")
        );
        // Shown keys never print the private key.
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }

    #[test]
    fn a_broken_key_file_says_what_to_fix_without_quoting_it() {
        let e = ServiceAccountKey::parse(&Secret::new("{\"private_key\":\"s3cr3t\"")).unwrap_err();
        assert!(e.contains("JSON key") && !e.contains("s3cr3t"), "{e}");
        let e = ServiceAccountKey::parse(&Secret::new(
            r#"{"client_email":"a@b","private_key_id":"k","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}"#,
        ))
        .unwrap_err();
        assert!(e.contains("RSA"), "{e}");
    }
}
