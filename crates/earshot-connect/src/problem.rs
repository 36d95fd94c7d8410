//! Why a request to a review network's REST API (App Store Connect, Google Play, YouTube)
//! did not get the answer it wanted, in words an operator can act on. Each network's `http.rs`
//! turns its status codes and error envelope into one of these; sources and responders decide
//! from the variant whether to wait, retry or stop.

/// Why a request did not get the answer it wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// 401 even with a fresh token: the key is revoked, or the ids are wrong.
    Unauthorized(String),
    /// 403: the credentials may not do this.
    Forbidden(String),
    /// 404: the app, review, comment or response does not exist (any more).
    NotFound(String),
    /// 429 (or Google's 403 `rateLimitExceeded`): a short-term budget is spent.
    RateLimited(String),
    /// A daily quota is spent (YouTube's 403 `quotaExceeded`, or earshot's own ledger): no
    /// request helps before the quota resets.
    Quota(String),
    /// Another 4xx (400, 409, 422): the request itself was refused.
    Refused { status: u16, reason: String },
    /// 5xx: the network's trouble.
    Server(String),
    /// No answer; `maybe_done` when the request may have been carried out.
    Network { reason: String, maybe_done: bool },
    /// An answer that is not the JSON expected.
    Unclear(String),
    /// The credentials could not be used at all (a key that does not parse or sign).
    Key(String),
}

impl Problem {
    pub fn reason(&self) -> String {
        match self {
            Problem::Unauthorized(r)
            | Problem::Forbidden(r)
            | Problem::NotFound(r)
            | Problem::RateLimited(r)
            | Problem::Quota(r)
            | Problem::Server(r)
            | Problem::Unclear(r)
            | Problem::Key(r) => r.clone(),
            Problem::Refused { reason, .. } | Problem::Network { reason, .. } => reason.clone(),
        }
    }

    /// Credentials refused for good: retrying will not help, an operator must act.
    pub fn needs_operator(&self) -> bool {
        matches!(
            self,
            Problem::Unauthorized(_) | Problem::Forbidden(_) | Problem::Key(_)
        )
    }

    /// A failed request of a reply as a send error on `network`: short-term trouble is worth
    /// another try (the review responders read before they write, so a request that may
    /// have been carried out is safe to send again), refused credentials or requests are
    /// not, and a 404 is said in the words `gone` gives it.
    pub fn send_error(
        self,
        network: earshot_core::Network,
        gone: impl FnOnce(String) -> String,
    ) -> crate::responder::SendError {
        use crate::responder::SendError;
        match self {
            Problem::RateLimited(r)
            | Problem::Quota(r)
            | Problem::Server(r)
            | Problem::Unclear(r)
            | Problem::Network { reason: r, .. } => SendError::retryable(network, r),
            Problem::NotFound(r) => SendError::refused(network, gone(r)),
            Problem::Unauthorized(r)
            | Problem::Forbidden(r)
            | Problem::Key(r)
            | Problem::Refused { reason: r, .. } => SendError::refused(network, r),
        }
    }

    /// What `earshot connectors check` says of a failed request to `api_url`: refused
    /// credentials as such, a 404 as the setting `not_found` names, the rest as unreachable.
    pub fn check_error(
        self,
        api_url: &str,
        not_found: impl FnOnce(String) -> String,
    ) -> crate::source::CheckError {
        use crate::source::CheckError;
        match self {
            Problem::Unauthorized(r) | Problem::Forbidden(r) | Problem::Key(r) => {
                CheckError::Refused(r)
            }
            Problem::NotFound(r) => CheckError::Misconfigured(not_found(r)),
            // The day's quota is spent (earshot's own count or the network's): the network is
            // reachable, the credentials just could not be tried before the reset.
            Problem::Quota(r) => {
                CheckError::Refused(format!("{r}; the credentials were not tried"))
            }
            other => CheckError::Unreachable(format!("{api_url}: {}", other.reason())),
        }
    }
}

/// One request to a review network's REST API, sent and read whole: the status, the headers
/// and the body. A failure on the way is [`Problem::Network`], saying whether the network may
/// have acted (`sends`: the request changes something; a timeout may come after the network
/// acted, a refused connection never does).
pub(crate) async fn exchange(
    request: reqwest::RequestBuilder,
    network: &str,
    sends: bool,
) -> Result<(u16, reqwest::header::HeaderMap, String), Problem> {
    let answer = request.send().await.map_err(|e| {
        let maybe_done = sends && !e.is_connect();
        Problem::Network {
            reason: format!("{network} did not answer: {}", e.without_url()),
            maybe_done,
        }
    })?;
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let text = answer.text().await.map_err(|e| Problem::Network {
        reason: format!("{network}'s answer was cut off: {}", e.without_url()),
        maybe_done: sends,
    })?;
    Ok((status, headers, text))
}

/// A request with `token` as its bearer and `body`, if any, as JSON, through [`exchange`]:
/// how the App Store's and Google's clients call. Anything but a `GET` changes something.
pub(crate) async fn exchange_bearer(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<&serde_json::Value>,
    network: &str,
) -> Result<(u16, reqwest::header::HeaderMap, String), Problem> {
    let sends = method != reqwest::Method::GET;
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    exchange(request, network, sends).await
}

/// The JSON of a successful (2xx) answer; an empty body is `Null`.
pub(crate) fn success_json(
    network: &str,
    status: u16,
    text: &str,
) -> Result<serde_json::Value, Problem> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(text).map_err(|_| {
        Problem::Unclear(format!(
            "{network} answered {status} with something that is not JSON"
        ))
    })
}
