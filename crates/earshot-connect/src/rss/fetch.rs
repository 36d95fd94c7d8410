//! One polite read of a feed (PROTOCOLS.md §5.3): a conditional GET (`If-None-Match` /
//! `If-Modified-Since` from the stored validators; 304 means nothing new), redirects
//! followed by hand so a permanent move (301/308) updates the stored URL and a loop is an
//! error, a body limit enforced while reading, and 410/429/503 told apart.

use super::config::FeedConfig;
use crate::reddit::http::retry_after;
use reqwest::header::{HeaderMap, ETAG, LAST_MODIFIED, LOCATION};
use reqwest::StatusCode;
use std::time::Duration;

/// What a server said last time, sent back so it can answer 304.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    fn from_headers(headers: &HeaderMap) -> Self {
        let header = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Validators {
            etag: header(ETAG),
            last_modified: header(LAST_MODIFIED),
        }
    }
}

/// A successful read.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// 304: nothing changed since the validators.
    NotModified,
    Document {
        body: Vec<u8>,
        validators: Validators,
        /// Where the feed lives now, when every redirect on the way was permanent.
        moved_to: Option<String>,
    },
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FetchError {
    /// 410: the publisher removed the feed for good; a person must replace or drop it.
    #[error("the feed is gone (HTTP 410): remove it or replace its URL")]
    Gone,
    #[error("rate-limited (HTTP 429){}", wait_text(.wait))]
    RateLimited { wait: Option<Duration> },
    #[error("HTTP {status}{}", wait_text(.wait))]
    Http {
        status: u16,
        /// `Retry-After` on a 503.
        wait: Option<Duration>,
    },
    #[error("{0}")]
    Network(String),
    #[error("the feed is larger than max_body_bytes ({limit} bytes)")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Redirects(String),
}

fn wait_text(wait: &Option<Duration>) -> String {
    wait.map(|w| format!(", retry after {} s", w.as_secs()))
        .unwrap_or_default()
}

/// Reads `url` conditionally.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    config: &FeedConfig,
    url: &str,
    validators: &Validators,
) -> Result<Fetched, FetchError> {
    let mut current = reqwest::Url::parse(url)
        .map_err(|e| FetchError::Network(format!("{url:?} is not a URL: {e}")))?;
    let mut visited = vec![current.to_string()];
    let mut all_permanent = true;
    for _ in 0..=config.max_redirects {
        let mut request = client
            .get(current.clone())
            .header(reqwest::header::USER_AGENT, &config.user_agent)
            .header(
                reqwest::header::ACCEPT,
                "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1",
            );
        if let Some(etag) = &validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(since) = &validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, since);
        }
        let response = request
            .send()
            .await
            .map_err(|e| FetchError::Network(format!("reading {current}: {e}")))?;
        let status = response.status();
        let retry = || {
            response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(retry_after)
        };
        match status {
            StatusCode::MOVED_PERMANENTLY
            | StatusCode::PERMANENT_REDIRECT
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT => {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        FetchError::Redirects(format!(
                            "HTTP {} without a Location header",
                            status.as_u16()
                        ))
                    })?;
                let next = current.join(location).map_err(|e| {
                    FetchError::Redirects(format!("bad redirect to {location:?}: {e}"))
                })?;
                all_permanent &= matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                );
                if visited.contains(&next.to_string()) {
                    visited.push(next.to_string());
                    return Err(FetchError::Redirects(format!(
                        "redirect loop: {}",
                        visited.join(" → ")
                    )));
                }
                visited.push(next.to_string());
                current = next;
            }
            StatusCode::NOT_MODIFIED => return Ok(Fetched::NotModified),
            StatusCode::GONE => return Err(FetchError::Gone),
            StatusCode::TOO_MANY_REQUESTS => return Err(FetchError::RateLimited { wait: retry() }),
            s if s.is_success() => {
                let validators = Validators::from_headers(response.headers());
                let body = read_limited(response, config.max_body_bytes).await?;
                let moved_to = (visited.len() > 1 && all_permanent).then(|| current.to_string());
                return Ok(Fetched::Document {
                    body,
                    validators,
                    moved_to,
                });
            }
            s => {
                return Err(FetchError::Http {
                    status: s.as_u16(),
                    wait: retry(),
                })
            }
        }
    }
    Err(FetchError::Redirects(format!(
        "more than {} redirects: {}",
        config.max_redirects,
        visited.join(" → ")
    )))
}

/// The body, refused as soon as it passes `limit` (a declared length is checked first).
async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, FetchError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(FetchError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Network(format!("reading the feed: {e}")))?
    {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
