//! Handing a request to engineering: a GitHub issue (the REST API's shape) or a signed generic
//! webhook, with a link both ways, and the status coming back (the issue closes → shipped).

use crate::settings::{ConfigError, Secret};
use crate::signature::Verifier;
use chrono::Utc;
use earshot_core::feedback::{RequestEvent, RequestId, RequestStatus};
use earshot_store::feedback::RequestDetail;
use earshot_store::{Store, StoreError};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// `[tracker]` in earshot.toml.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerSettings {
    /// `github` or `webhook`; empty: no hand-off.
    pub kind: String,
    /// GitHub: the API root (`https://api.github.com`, or an Enterprise host) and `owner/repo`.
    pub api_url: String,
    pub repo: String,
    /// GitHub: a token allowed to create issues (fine-grained: Issues read/write).
    pub token: Secret,
    pub token_env: Option<String>,
    /// GitHub: the secret of the repository webhook (issues events) pointed at
    /// `/api/v1/tracker/github`, to check `X-Hub-Signature-256`.
    pub webhook_secret: Secret,
    pub webhook_secret_env: Option<String>,
    /// Generic: where requests are sent (signed with Standard Webhooks headers using
    /// `webhook_secret`); the other system answers status changes at `/api/v1/tracker/webhook`.
    pub url: String,
    /// How earshot's pages are reached from outside, for the link back (`https://earshot.example`).
    pub public_url: String,
}

fn from_env(inline: &Secret, env: &Option<String>, key: &str) -> Result<String, ConfigError> {
    if let Some(var) = env {
        return std::env::var(var).map_err(|_| ConfigError::Invalid {
            key: format!("tracker.{key}_env"),
            message: format!("environment variable {var} is not set"),
        });
    }
    Ok(inline.expose().to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error(
        "no tracker is configured: set [tracker] kind = \"github\" or \"webhook\" in earshot.toml"
    )]
    NotConfigured,
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("the tracker refused the hand-off: {0}")]
    Refused(String),
    #[error("the tracker is unreachable: {0}")]
    Unreachable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signature: {0}")]
    Signature(String),
    #[error("GitHub delivery {0} was received before: a replay is refused")]
    Replayed(String),
}

/// How long GitHub delivery ids are remembered. GitHub signs no timestamp, so a captured
/// delivery has no window of its own; a month outlasts any redelivery GitHub makes.
pub const GITHUB_DELIVERY_DAYS: i64 = 30;

/// The issue body: who asked, how many, in which languages, with sample asks and the link back.
fn issue_body(detail: &RequestDetail, public_url: &str) -> String {
    let r = &detail.request;
    let mut body = format!(
        "**{} customers asked** ({} posts, combined reach {}), first {} and latest {}.\n\nLanguages: {}\n\n",
        r.askers,
        r.posts,
        r.reach,
        r.first_ask_at.format("%Y-%m-%d"),
        r.latest_ask_at.format("%Y-%m-%d"),
        r.languages.iter().map(|(l, n)| format!("{l} ({n})")).collect::<Vec<_>>().join(", ")
    );
    body.push_str("Sample asks:\n");
    for p in detail.posts.iter().take(5) {
        // Customer text is quoted, never rendered: neutralise mentions and markdown headers.
        let text: String = p.text.replace('@', "@\u{200b}").chars().take(280).collect();
        body.push_str(&format!(
            "> [{} {}] {}\n>\n",
            p.network,
            p.analysis.language.language.code(),
            text.replace('\n', " ")
        ));
    }
    if !public_url.is_empty() {
        body.push_str(&format!(
            "\nIn earshot: {}/requests/{}\n",
            public_url.trim_end_matches('/'),
            r.id.0
        ));
    }
    body.push_str(&format!("\n<!-- earshot-request: {} -->\n", r.id.0));
    body
}

#[derive(Deserialize)]
struct CreatedIssue {
    html_url: String,
}

/// Sends a request to the configured tracker and stores the link; returns it.
pub async fn hand_off(
    settings: &TrackerSettings,
    store: &dyn Store,
    id: RequestId,
) -> Result<String, TrackerError> {
    let detail = store
        .request(id, Utc::now(), 5)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("request {id}")))?;
    if let Some(url) = &detail.request.tracker_url {
        return Ok(url.clone()); // Handed off before: one issue per request.
    }
    // Ask the rules before filing anything: a merged request is handed off as the one it joined.
    detail
        .request
        .clone()
        .apply(&RequestEvent::HandedOff)
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .user_agent(concat!("earshot/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| TrackerError::Unreachable(e.to_string()))?;
    let url = match settings.kind.as_str() {
        "github" => {
            let token = from_env(&settings.token, &settings.token_env, "token")?;
            let api = if settings.api_url.is_empty() {
                "https://api.github.com"
            } else {
                settings.api_url.trim_end_matches('/')
            };
            let request = client
                .post(format!("{api}/repos/{}/issues", settings.repo))
                .bearer_auth(token)
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
                .json(&serde_json::json!({
                    "title": detail.request.title,
                    "body": issue_body(&detail, &settings.public_url),
                    "labels": ["customer-request"],
                }));
            let text = answer_of(request, |status, text| {
                format!(
                    "GitHub answered {status}: {}",
                    text.chars().take(300).collect::<String>()
                )
            })
            .await?;
            serde_json::from_str::<CreatedIssue>(&text)
                .map_err(|e| {
                    TrackerError::Refused(format!("GitHub answered without an issue link: {e}"))
                })?
                .html_url
        }
        "webhook" => {
            let secret = from_env(
                &settings.webhook_secret,
                &settings.webhook_secret_env,
                "webhook_secret",
            )?;
            let signer =
                Verifier::new(&secret, 300).map_err(|e| TrackerError::Signature(e.to_string()))?;
            let body = serde_json::to_vec(&serde_json::json!({
                "type": "request.handoff",
                "request": detail.request,
                "sample_posts": detail.posts.iter().map(|p| serde_json::json!({"network": p.network, "text": p.text, "url": p.url})).collect::<Vec<_>>(),
                "link": if settings.public_url.is_empty() { None } else { Some(format!("{}/requests/{}", settings.public_url.trim_end_matches('/'), id.0)) },
            }))
            .map_err(|e| TrackerError::Refused(e.to_string()))?;
            let msg_id = format!("handoff-{}", id.0);
            let ts = Utc::now().timestamp();
            let request = client
                .post(&settings.url)
                .header("content-type", "application/json")
                .header("webhook-id", &msg_id)
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", signer.sign(&msg_id, ts, &body))
                .body(body);
            let text = answer_of(request, |status, _| {
                format!("{} answered {status}", settings.url)
            })
            .await?;
            // The receiver may answer with its own link; otherwise the endpoint stands for it.
            serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("url").and_then(|u| u.as_str()).map(str::to_string))
                .unwrap_or_else(|| format!("{}#request-{}", settings.url, id.0))
        }
        "" => return Err(TrackerError::NotConfigured),
        other => {
            return Err(ConfigError::Invalid {
                key: "tracker.kind".into(),
                message: format!("{other:?}: use github or webhook"),
            }
            .into())
        }
    };
    store.set_tracker_url(id, &url).await?;
    // An open request becomes planned; the rules live in `Request::apply`.
    store.apply_request(id, &RequestEvent::HandedOff).await?;
    Ok(url)
}

/// Sends a hand-off and reads the tracker's answer; one that is not a success is refused
/// with `refused(status, body)`.
async fn answer_of(
    request: reqwest::RequestBuilder,
    refused: impl FnOnce(reqwest::StatusCode, &str) -> String,
) -> Result<String, TrackerError> {
    let response = request
        .send()
        .await
        .map_err(|e| TrackerError::Unreachable(e.to_string()))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(TrackerError::Refused(refused(status, &text)));
    }
    Ok(text)
}

/// Checks GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn verify_github(
    secret: &str,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), TrackerError> {
    let sig = signature
        .and_then(|s| s.strip_prefix("sha256="))
        .ok_or_else(|| TrackerError::Signature("missing X-Hub-Signature-256".into()))?;
    let expected = hex::decode(sig)
        .map_err(|_| TrackerError::Signature("X-Hub-Signature-256 is not hex".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| TrackerError::Signature(e.to_string()))?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| {
        TrackerError::Signature(
            "X-Hub-Signature-256 does not match: check tracker.webhook_secret".into(),
        )
    })
}

/// A GitHub `issues` event: when an issue earshot opened is closed as completed, its request
/// is shipped; reopened, it is planned again. Returns the request changed.
pub async fn github_event(
    settings: &TrackerSettings,
    store: &dyn Store,
    signature: Option<&str>,
    delivery: Option<&str>,
    body: &[u8],
) -> Result<Option<RequestId>, TrackerError> {
    let secret = from_env(
        &settings.webhook_secret,
        &settings.webhook_secret_env,
        "webhook_secret",
    )?;
    if secret.is_empty() {
        return Err(TrackerError::NotConfigured);
    }
    crate::settings::check_webhook_secret("tracker.webhook_secret", &secret)?;
    verify_github(&secret, signature, body)?;
    // The same delivery again is a replay, in whichever process receives it.
    let delivery = delivery
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            TrackerError::Signature(
                "X-GitHub-Delivery is missing: GitHub sends it with every delivery".into(),
            )
        })?;
    let now = Utc::now();
    let until = now + chrono::Duration::days(GITHUB_DELIVERY_DAYS);
    if !store
        .remember_delivery("github", delivery, until, now)
        .await?
    {
        return Err(TrackerError::Replayed(delivery.to_string()));
    }
    let outcome = apply_github_event(store, body).await;
    if outcome.is_err() {
        store.forget_delivery("github", delivery).await?;
    }
    outcome
}

async fn apply_github_event(
    store: &dyn Store,
    body: &[u8],
) -> Result<Option<RequestId>, TrackerError> {
    let event: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| TrackerError::Refused(format!("not JSON: {e}")))?;
    let action = event["action"].as_str().unwrap_or_default();
    let Some(url) = event["issue"]["html_url"].as_str() else {
        return Ok(None);
    };
    let status = match (action, event["issue"]["state_reason"].as_str()) {
        ("closed", Some("not_planned")) => RequestStatus::Declined,
        ("closed", _) => RequestStatus::Shipped,
        ("reopened", _) => RequestStatus::Planned,
        _ => return Ok(None),
    };
    let Some(request) = store
        .requests(None, Utc::now())
        .await?
        .into_iter()
        .find(|r| r.tracker_url.as_deref() == Some(url))
    else {
        return Ok(None);
    };
    store
        .apply_request(request.id, &RequestEvent::TrackerChanged(status))
        .await?;
    Ok(Some(request.id))
}
