//! The compact JWS form both self-signed tokens use (App Store Connect's ES256 token, a Google
//! service account's RS256 assertion): `base64url(header).base64url(claims).base64url(sig)`.
//! Signing and checking the signature are each caller's (its algorithm, its key); here is only
//! the framing, so neither spells it out again.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

/// `base64url(header).base64url(claims)`: what gets signed.
pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// The token: the signing input and its signature.
pub fn finish(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// A token taken apart (for a verifier: a fake server, a test).
#[derive(Debug, Clone)]
pub struct Parts {
    pub header: Value,
    pub claims: Value,
    /// What was signed (`header.claims` as sent).
    pub signed: String,
    pub signature: Vec<u8>,
}

/// Splits a compact JWS; the error says what is wrong with it.
pub fn split(token: &str) -> Result<Parts, String> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWT (three dot-separated parts expected)".into());
    };
    let decode = |part: &str, what: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| format!("the {what} is not base64url"))
    };
    let header = serde_json::from_slice(&decode(h, "header")?)
        .map_err(|_| "the header is not JSON".to_owned())?;
    let claims = serde_json::from_slice(&decode(c, "payload")?)
        .map_err(|_| "the payload is not JSON".to_owned())?;
    Ok(Parts {
        header,
        claims,
        signed: format!("{h}.{c}"),
        signature: decode(s, "signature")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_splits_back_into_what_was_signed() {
        let input = signing_input(
            &serde_json::json!({"alg": "X"}),
            &serde_json::json!({"a": 1}),
        );
        let token = finish(&input, b"sig");
        let parts = split(&token).unwrap();
        assert_eq!(parts.header["alg"], "X");
        assert_eq!(parts.claims["a"], 1);
        assert_eq!(parts.signed, input);
        assert_eq!(parts.signature, b"sig");
        assert!(split("a.b").unwrap_err().contains("three"));
        assert!(split("!.b.c").unwrap_err().contains("header"));
    }
}
