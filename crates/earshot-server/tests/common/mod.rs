//! What the server's test files share: the API is closed to callers without credentials, so
//! test servers carry `api.token` and test clients send it (acting as `api`); tests about a
//! person's actions use that person's own token or session instead.
#![allow(dead_code)]

use earshot_server::config::{Secret, Settings};

/// `api.token` of every test server.
pub const API_TOKEN: &str = "api-token-for-the-tests-0001";

/// Gives a test server the test token.
pub fn with_api_token(s: &mut Settings) {
    s.api.token = Secret::new(API_TOKEN);
}

/// An HTTP client that sends `Authorization: Bearer <token>` on every request.
pub fn authorised(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = format!("Bearer {token}").parse().expect("a header value");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}

/// A client for the test servers' API, acting as `api`.
pub fn api_client() -> reqwest::Client {
    authorised(API_TOKEN)
}

/// Stands in for a network where a test needs replies to go out: records what was posted.
/// (Each connector is tested against its protocol-faithful fake in networks.rs.)
#[derive(Default)]
pub struct Posted {
    pub replies: std::sync::Mutex<Vec<(String, String)>>,
}

#[async_trait::async_trait]
impl earshot_server::responder::Responder for Posted {
    async fn send(
        &self,
        reply: &earshot_core::Reply,
        _: &earshot_core::Conversation,
    ) -> Result<String, earshot_server::responder::SendError> {
        let mut replies = self.replies.lock().unwrap_or_else(|p| p.into_inner());
        replies.push((reply.idempotency_key.clone(), reply.text.clone()));
        Ok(format!("posted-{}", reply.idempotency_key))
    }
}

/// Responders that post on these networks to one [`Posted`].
pub fn posting_on(
    networks: &[earshot_core::Network],
) -> (
    earshot_server::responder::Responders,
    std::sync::Arc<Posted>,
) {
    let posted = std::sync::Arc::new(Posted::default());
    let mut responders = earshot_server::responder::Responders::default();
    for n in networks {
        responders = responders.with(*n, posted.clone());
    }
    (responders, posted)
}
pub mod live;
