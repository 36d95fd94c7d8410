//! Reddit's HTTP dialect shared by the source, the responder and the credentials check:
//! authorised requests with the mandatory User-Agent, the `X-Ratelimit-*` budget (§4.5) and
//! why a request failed.
//!
//! Every answer's `X-Ratelimit-Remaining` (a float) and `X-Ratelimit-Reset` (seconds until
//! the window ends) are remembered. Below `rate_limit_reserve` requests left, requests are
//! spread evenly over the rest of the window; with none left the window is waited out. So
//! the budget is never run into, and a 429 only comes from limits Reddit keeps elsewhere.

use super::config::RedditConfig;
use super::oauth::OAuth;
use crate::Secret;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a Reddit request failed, which decides what the caller does next.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// Credentials refused even after a fresh token: an operator must act.
    Auth(String),
    /// HTTP 403 on an API call: a private, quarantined or banned subreddit, or a missing
    /// scope. Retrying will not help, but other calls may still work.
    Forbidden(String),
    /// HTTP 429; `wait` is how long until the window resets, when the server said.
    RateLimited {
        wait: Option<Duration>,
        reason: String,
    },
    /// Any other non-2xx answer.
    Http { status: u16, reason: String },
    /// No answer. `maybe_sent`: the request may have reached Reddit (a timeout, a connection
    /// dropped after sending), so a write may have happened.
    Network { reason: String, maybe_sent: bool },
    /// An answer that could not be read (cut short, not JSON).
    Unreadable(String),
}

impl Failure {
    pub fn network(context: &str, e: &reqwest::Error) -> Self {
        Failure::Network {
            reason: format!("{context}: {e}"),
            // Only a refused connection proves nothing was sent.
            maybe_sent: !e.is_connect(),
        }
    }

    pub fn reason(&self) -> String {
        match self {
            Failure::Auth(r)
            | Failure::Forbidden(r)
            | Failure::RateLimited { reason: r, .. }
            | Failure::Http { reason: r, .. }
            | Failure::Network { reason: r, .. }
            | Failure::Unreadable(r) => r.clone(),
        }
    }
}

/// A body shortened for an error message.
pub(crate) fn short(body: &str) -> &str {
    crate::de::shorten(body.trim())
}

/// How long until the rate-limit window resets: `X-Ratelimit-Reset` (seconds, relative),
/// else `Retry-After` (seconds or an HTTP date).
pub(crate) fn rate_limit_wait(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(secs) = header("x-ratelimit-reset").and_then(|v| v.trim().parse::<f64>().ok()) {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
    }
    retry_after(header("retry-after")?)
}

/// `Retry-After`: delay seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// What the last answer said about the request budget.
#[derive(Debug, Default)]
struct Budget {
    remaining: f64,
    resets_at: Option<Instant>,
}

impl Budget {
    fn note(&mut self, headers: &HeaderMap, now: Instant) {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        if let (Some(remaining), Some(reset)) =
            (header("x-ratelimit-remaining"), header("x-ratelimit-reset"))
        {
            self.remaining = remaining;
            self.resets_at = Some(now + Duration::from_secs_f64(reset));
        }
    }

    /// How long to wait before the next request, counting it as spent; `Err` with the wait
    /// (and nothing counted) when that is longer than `max_wait`.
    fn take(
        &mut self,
        now: Instant,
        reserve: f64,
        max_wait: Duration,
    ) -> Result<Duration, Duration> {
        let Some(resets_at) = self.resets_at.filter(|at| *at > now) else {
            // No answer yet, or the window is over: nothing known against going ahead.
            self.resets_at = None;
            return Ok(Duration::ZERO);
        };
        let left = resets_at - now;
        let wait = if self.remaining < 1.0 {
            left
        } else if self.remaining < reserve {
            left.div_f64(self.remaining)
        } else {
            Duration::ZERO
        };
        if wait > max_wait {
            return Err(wait);
        }
        // Answers without the headers count as one call too (as prawcore does).
        self.remaining -= 1.0;
        Ok(wait)
    }
}

/// An authorised Reddit API client for one account.
#[derive(Debug)]
pub(crate) struct RedditApi {
    config: RedditConfig,
    client: reqwest::Client,
    oauth: OAuth,
    budget: Mutex<Budget>,
    /// The longest a request waits for the budget; beyond it the caller hears 429 instead.
    max_pace: Duration,
}

impl RedditApi {
    /// A client that waits for the budget as long as it takes (the source).
    pub fn new(config: RedditConfig) -> Result<Self, reqwest::Error> {
        Self::with_max_pace(config, Duration::MAX)
    }

    /// A client that waits at most `max_pace` for the budget (the responder: a reply held
    /// for minutes would outlive its claim on the reply).
    pub fn with_max_pace(config: RedditConfig, max_pace: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .user_agent(config.user_agent())
            .build()?;
        Ok(RedditApi {
            config,
            client,
            oauth: OAuth::new(),
            budget: Mutex::new(Budget::default()),
            max_pace,
        })
    }

    pub fn config(&self) -> &RedditConfig {
        &self.config
    }

    pub fn tokens_fetched(&self) -> u64 {
        self.oauth.tokens_fetched()
    }

    /// Fetches a token now (the credentials check's first step).
    pub async fn authenticate(&self) -> Result<(), Failure> {
        self.oauth
            .token(&self.client, &self.config)
            .await
            .map(|_| ())
    }

    /// `GET path_and_query` on the API host; the body of a 2xx answer.
    pub async fn get(&self, path_and_query: &str) -> Result<String, Failure> {
        let url = self.config.api_url(path_and_query);
        self.send(|| self.client.get(&url)).await
    }

    /// `POST path` on the API host with a form body.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<String, Failure> {
        let url = self.config.api_url(path);
        self.send(|| self.client.post(&url).form(form)).await
    }

    /// Sends with the cached token; a 401 forgets it and tries once more with a new one.
    async fn send(&self, request: impl Fn() -> reqwest::RequestBuilder) -> Result<String, Failure> {
        let mut retried = false;
        loop {
            self.pace().await?;
            let token = self.oauth.token(&self.client, &self.config).await?;
            let response = request()
                .header(reqwest::header::AUTHORIZATION, bearer(&token))
                .header(reqwest::header::USER_AGENT, self.config.user_agent())
                .send()
                .await
                .map_err(|e| Failure::network("reddit request", &e))?;
            let status = response.status();
            let headers = response.headers().clone();
            self.note_budget(&headers);
            if status == StatusCode::UNAUTHORIZED {
                self.oauth.forget(&token).await;
                if !retried {
                    // Expired early or revoked: one fresh token decides which.
                    tracing::info!("reddit answered 401; requesting a new token");
                    retried = true;
                    continue;
                }
                return Err(Failure::Auth(
                    "Reddit refused a freshly issued token (HTTP 401): the app's access may have been revoked".into(),
                ));
            }
            let body = response.text().await.map_err(|e| Failure::Network {
                reason: format!("reading reddit's answer: {e}"),
                maybe_sent: true,
            })?;
            return match status {
                StatusCode::FORBIDDEN => Err(Failure::Forbidden(format!(
                    "HTTP 403 (a private, quarantined or banned subreddit, or a missing scope): {}",
                    short(&body)
                ))),
                StatusCode::TOO_MANY_REQUESTS => {
                    let wait = rate_limit_wait(&headers);
                    Err(Failure::RateLimited {
                        wait,
                        reason: match wait {
                            Some(w) => format!("rate-limited for {} s", w.as_secs_f64().ceil()),
                            None => "rate-limited".into(),
                        },
                    })
                }
                s if !s.is_success() => Err(Failure::Http {
                    status: s.as_u16(),
                    reason: format!("HTTP {}: {}", s.as_u16(), short(&body)),
                }),
                _ => Ok(body),
            };
        }
    }

    fn lock_budget(&self) -> std::sync::MutexGuard<'_, Budget> {
        self.budget.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn note_budget(&self, headers: &HeaderMap) {
        self.lock_budget().note(headers, Instant::now());
    }

    /// Waits as long as the budget asks before the next request, up to `max_pace`.
    async fn pace(&self) -> Result<(), Failure> {
        let taken = self.lock_budget().take(
            Instant::now(),
            self.config.rate_limit_reserve,
            self.max_pace,
        );
        match taken {
            Ok(wait) if wait.is_zero() => Ok(()),
            Ok(wait) => {
                tracing::info!(
                    wait_ms = wait.as_millis() as u64,
                    "reddit request budget running low; slowing down"
                );
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Err(wait) => Err(Failure::RateLimited {
                wait: Some(wait),
                reason: format!(
                    "the request budget is spent for another {} s",
                    wait.as_secs_f64().ceil()
                ),
            }),
        }
    }
}

fn bearer(token: &Secret) -> String {
    format!("bearer {}", token.expose())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_reset_header_counts_seconds_from_now() {
        let h = headers(&[
            ("X-Ratelimit-Used", "3"),
            ("X-Ratelimit-Remaining", "97.0"),
            ("X-Ratelimit-Reset", "412"),
        ]);
        assert_eq!(rate_limit_wait(&h), Some(Duration::from_secs(412)));
        assert_eq!(
            rate_limit_wait(&headers(&[("Retry-After", "7")])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            rate_limit_wait(&headers(&[(
                "Retry-After",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            Some(Duration::ZERO)
        );
        assert_eq!(rate_limit_wait(&HeaderMap::new()), None);
    }

    #[test]
    fn the_budget_spreads_the_last_requests_and_waits_out_an_empty_window() {
        let now = Instant::now();
        let mut budget = Budget::default();
        let max = Duration::MAX;
        assert_eq!(budget.take(now, 10.0, max), Ok(Duration::ZERO));
        budget.note(
            &headers(&[
                ("X-Ratelimit-Remaining", "50.0"),
                ("X-Ratelimit-Reset", "100"),
            ]),
            now,
        );
        assert_eq!(budget.take(now, 10.0, max), Ok(Duration::ZERO));
        budget.note(
            &headers(&[
                ("X-Ratelimit-Remaining", "5.0"),
                ("X-Ratelimit-Reset", "100"),
            ]),
            now,
        );
        // Five left for 100 s: one every 20 s.
        assert_eq!(budget.take(now, 10.0, max), Ok(Duration::from_secs(20)));
        budget.note(
            &headers(&[
                ("X-Ratelimit-Remaining", "0.0"),
                ("X-Ratelimit-Reset", "30"),
            ]),
            now,
        );
        // A caller that cannot wait that long is told so, and nothing is counted.
        assert_eq!(
            budget.take(now, 10.0, Duration::from_secs(5)),
            Err(Duration::from_secs(30))
        );
        assert_eq!(budget.take(now, 10.0, max), Ok(Duration::from_secs(30)));
        // Once the window is over, go ahead.
        assert_eq!(
            budget.take(now + Duration::from_secs(31), 10.0, max),
            Ok(Duration::ZERO)
        );
    }
}
