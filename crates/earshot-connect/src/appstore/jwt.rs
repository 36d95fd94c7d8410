//! The bearer token of the App Store Connect API (PROTOCOLS-2.md §3.2): a JWT the team signs
//! itself with its API key (ES256, the `AuthKey_<KEYID>.p8` file), valid at most 20 minutes.
//!
//! There is no token endpoint and no refresh: a signer keeps its last token and signs a new
//! one when less than [`RENEW_MARGIN`] is left. `iat` is set a few seconds in the past, since
//! a clock running ahead of Apple's makes a fresh token fail.

use crate::jws;
use crate::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The audience Apple expects.
pub const AUDIENCE: &str = "appstoreconnect-v1";
/// Apple refuses tokens whose `exp` is more than this after now.
pub const MAX_LIFETIME: Duration = Duration::from_secs(20 * 60);
/// A cached token is replaced when less than this is left of it.
pub const RENEW_MARGIN: Duration = Duration::from_secs(2 * 60);
/// How far `iat` is put in the past, for clock skew.
const SKEW: u64 = 5;

/// Why an API key could not be used, in words that say what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("private_key is not a PEM file: expected the contents of AuthKey_<KEYID>.p8 (\"-----BEGIN PRIVATE KEY-----\" …)")]
    NotPem,
    #[error("private_key is not an ES256 (P-256) key in PKCS#8 form: download a new key in App Store Connect (Users and Access → Integrations)")]
    NotEs256,
    #[error("token lifetime {0} s is over Apple's limit of 1200 s (20 minutes)")]
    TooLong(u64),
    #[error("{0} is empty: copy it from App Store Connect (Users and Access → Integrations)")]
    Empty(&'static str),
}

/// The DER bytes inside a PEM block (the header and footer lines dropped).
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, KeyError> {
    if !pem.contains("-----BEGIN") {
        return Err(KeyError::NotPem);
    }
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).map_err(|_| KeyError::NotPem)
}

/// Signs the team's tokens with one API key, and keeps the last one while it is fresh.
pub struct TokenSigner {
    issuer_id: String,
    key_id: String,
    key: EcdsaKeyPair,
    lifetime: Duration,
    rng: SystemRandom,
    cached: Mutex<Option<(Secret, u64)>>,
    signed: Mutex<u64>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("issuer_id", &self.issuer_id)
            .field("key_id", &self.key_id)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl TokenSigner {
    /// A signer for the key `key_id` of team `issuer_id`, with the `.p8` file's contents.
    pub fn new(
        issuer_id: &str,
        key_id: &str,
        private_key_pem: &Secret,
        lifetime: Duration,
    ) -> Result<Self, KeyError> {
        if issuer_id.trim().is_empty() {
            return Err(KeyError::Empty("issuer_id"));
        }
        if key_id.trim().is_empty() {
            return Err(KeyError::Empty("key_id"));
        }
        if lifetime > MAX_LIFETIME {
            return Err(KeyError::TooLong(lifetime.as_secs()));
        }
        let der = pem_to_der(private_key_pem.expose())?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
            .map_err(|_| KeyError::NotEs256)?;
        Ok(TokenSigner {
            issuer_id: issuer_id.trim().to_owned(),
            key_id: key_id.trim().to_owned(),
            key,
            lifetime: lifetime.max(RENEW_MARGIN + Duration::from_secs(SKEW)),
            rng,
            cached: Mutex::new(None),
            signed: Mutex::new(0),
        })
    }

    /// The key's public half (uncompressed SEC1 point), for a verifier.
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// How many tokens this signer has signed (a cached one is not counted again).
    pub fn signed(&self) -> u64 {
        *self.signed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A token good for at least [`RENEW_MARGIN`] more.
    pub fn token(&self) -> Result<Secret, KeyError> {
        let now = now_secs();
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((token, exp)) = cached.as_ref() {
            if *exp > now + RENEW_MARGIN.as_secs() {
                return Ok(token.clone());
            }
        }
        let (token, exp) = self.sign(now)?;
        *cached = Some((token.clone(), exp));
        *self.signed.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        Ok(token)
    }

    /// Drops the cached token (Apple answered 401 to it): the next call signs a new one.
    pub fn forget(&self) {
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn sign(&self, now: u64) -> Result<(Secret, u64), KeyError> {
        let iat = now.saturating_sub(SKEW);
        // Counted from `now`, not `iat`, and kept under Apple's 20 minutes.
        let exp = now + self.lifetime.as_secs().min(MAX_LIFETIME.as_secs() - SKEW);
        let header = serde_json::json!({"alg": "ES256", "kid": self.key_id, "typ": "JWT"});
        let claims = serde_json::json!({
            "iss": self.issuer_id, "iat": iat, "exp": exp, "aud": AUDIENCE,
        });
        let signing_input = jws::signing_input(&header, &claims);
        let signature = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|_| KeyError::NotEs256)?;
        let token = jws::finish(&signing_input, signature.as_ref());
        Ok((Secret::new(token), exp))
    }
}

/// What a verified token said (for a fake server and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub key_id: String,
    pub issuer_id: String,
    pub expires_at: u64,
}

/// Checks a bearer token as App Store Connect does: ES256 signature by `public_key`, the
/// expected `kid` and `iss`, `aud`, not expired and not valid for more than 20 minutes.
/// The error is the reason, for a 401's `detail`.
pub fn verify(
    token: &str,
    public_key: &[u8],
    key_id: &str,
    issuer_id: &str,
    now: u64,
) -> Result<Verified, String> {
    let jws::Parts {
        header,
        claims,
        signed,
        signature,
    } = jws::split(token)?;
    if header["alg"] != "ES256" {
        return Err(format!("alg {} is not ES256", header["alg"]));
    }
    if header["kid"] != key_id {
        return Err(format!("unknown kid {}", header["kid"]));
    }
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_FIXED,
        public_key,
    );
    key.verify(signed.as_bytes(), &signature)
        .map_err(|_| "the signature does not verify".to_owned())?;
    if claims["iss"] != issuer_id {
        return Err(format!("unknown issuer {}", claims["iss"]));
    }
    if claims["aud"] != AUDIENCE {
        return Err(format!("aud {} is not {AUDIENCE}", claims["aud"]));
    }
    let exp = claims["exp"].as_u64().ok_or("exp is missing")?;
    if exp <= now {
        return Err("the token has expired".into());
    }
    if exp - now > MAX_LIFETIME.as_secs() {
        return Err("exp is more than 20 minutes away".into());
    }
    Ok(Verified {
        key_id: key_id.to_owned(),
        issuer_id: issuer_id.to_owned(),
        expires_at: exp,
    })
}

/// A fresh P-256 key as a `.p8`-style PEM, for fakes and tests.
#[cfg(any(test, feature = "fake"))]
pub fn generate_pem() -> Secret {
    let rng = SystemRandom::new();
    let doc = match EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng) {
        Ok(doc) => doc,
        // The system's random source failing is not something a test can recover from.
        Err(_) => return Secret::new(""),
    };
    let b64 = STANDARD.encode(doc.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    Secret::new(format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const ISSUER: &str = "57246542-96fe-1a63-e053-0824d011072a";
    const KID: &str = "2X9R4HXF34";

    fn signer(lifetime: Duration) -> TokenSigner {
        TokenSigner::new(ISSUER, KID, &generate_pem(), lifetime).unwrap()
    }

    #[test]
    fn a_signed_token_verifies_with_the_keys_public_half_only() {
        let s = signer(Duration::from_secs(15 * 60));
        let token = s.token().unwrap();
        let now = now_secs();
        let ok = verify(token.expose(), &s.public_key(), KID, ISSUER, now).unwrap();
        assert!(ok.expires_at > now + 14 * 60 && ok.expires_at <= now + 15 * 60);
        // Another key, another kid or issuer, a changed claim, or time past exp: refused.
        let other = signer(Duration::from_secs(60 * 5));
        let e = verify(token.expose(), &other.public_key(), KID, ISSUER, now).unwrap_err();
        assert!(e.contains("signature"), "{e}");
        assert!(
            verify(token.expose(), &s.public_key(), "OTHERKID00", ISSUER, now)
                .unwrap_err()
                .contains("kid")
        );
        assert!(
            verify(token.expose(), &s.public_key(), KID, "someone-else", now)
                .unwrap_err()
                .contains("issuer")
        );
        let parts: Vec<&str> = token.expose().split('.').collect();
        let forged_claims = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"iss": ISSUER, "iat": now, "exp": now + 86_400, "aud": AUDIENCE})
                .to_string(),
        );
        let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
        assert!(verify(&forged, &s.public_key(), KID, ISSUER, now)
            .unwrap_err()
            .contains("signature"));
        assert!(
            verify(token.expose(), &s.public_key(), KID, ISSUER, now + 16 * 60)
                .unwrap_err()
                .contains("expired")
        );
        assert!(verify("a.b", &s.public_key(), KID, ISSUER, now).is_err());
    }

    #[test]
    fn a_token_is_reused_until_close_to_expiry_and_resigned_after_a_401() {
        let s = signer(Duration::from_secs(15 * 60));
        let first = s.token().unwrap();
        assert_eq!(s.token().unwrap(), first);
        assert_eq!(s.signed(), 1);
        s.forget();
        let second = s.token().unwrap();
        assert_ne!(second, first);
        assert_eq!(s.signed(), 2);
        // A lifetime inside the renewal margin would sign for every request: it is raised.
        let short = signer(Duration::from_secs(1));
        let t = short.token().unwrap();
        assert_eq!(short.token().unwrap(), t);
    }

    #[test]
    fn bad_keys_and_settings_say_what_to_fix_and_never_print_the_key() {
        let pem = generate_pem();
        assert_eq!(
            TokenSigner::new(ISSUER, KID, &pem, Duration::from_secs(21 * 60)).unwrap_err(),
            KeyError::TooLong(1260)
        );
        assert_eq!(
            TokenSigner::new(" ", KID, &pem, MAX_LIFETIME).unwrap_err(),
            KeyError::Empty("issuer_id")
        );
        assert_eq!(
            TokenSigner::new(ISSUER, KID, &Secret::new("abc"), MAX_LIFETIME).unwrap_err(),
            KeyError::NotPem
        );
        let not_a_key = Secret::new("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----");
        assert_eq!(
            TokenSigner::new(ISSUER, KID, &not_a_key, MAX_LIFETIME).unwrap_err(),
            KeyError::NotEs256
        );
        let s = TokenSigner::new(ISSUER, KID, &pem, MAX_LIFETIME).unwrap();
        let shown = format!("{s:?}");
        let body: String = pem.expose().lines().nth(1).unwrap_or_default().to_owned();
        assert!(!shown.contains(&body), "{shown}");
        assert!(shown.contains(KID));
    }
}
