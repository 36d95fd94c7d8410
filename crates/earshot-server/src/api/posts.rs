//! `POST /api/v1/posts`: one post or a batch in the canonical shape, signed with HMAC-SHA256
//! over a timestamp and the raw body. Answers with what was stored and what was refused; in
//! cluster mode with 202 and what the bus took (a worker of some process stores it), or 503
//! when the bus did not acknowledge every post (the sender retries; nothing doubles).

use super::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use earshot_core::{ConversationId, Network};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Stored {
    pub index: usize,
    pub network: Network,
    pub id: String,
    pub post_id: i64,
    pub conversation_id: Option<ConversationId>,
    pub duplicate: bool,
    /// Heard before with another text: the new text replaced it, as the author's edit.
    pub edited: bool,
}

/// Cluster mode's answer (202): the posts are on the bus, acknowledged by JetStream.
#[derive(Debug, Serialize)]
pub struct QueuedResponse {
    pub received: usize,
    /// Taken by the bus for the first time.
    pub queued: usize,
    /// Already on the bus (the same post sent again within the dedup window).
    pub already_queued: usize,
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Serialize)]
pub struct Rejected {
    pub index: usize,
    pub error: String,
}

#[derive(Debug, Serialize)]
pub struct PostsResponse {
    pub received: usize,
    pub new: u64,
    pub duplicates: u64,
    pub edited: u64,
    pub stored: Vec<Stored>,
    pub rejected: Vec<Rejected>,
}

/// 422 with every post's reason.
fn no_valid_post(rejected: &[Rejected]) -> ApiError {
    let mut err = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_posts",
        "no valid post in the body",
    );
    err.extra = Some(serde_json::json!({ "rejected": rejected }));
    err
}

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "body is larger than {} bytes (webhook.max_body_bytes): send smaller batches",
                    state.settings.webhook.max_body_bytes
                ),
            )
        } else {
            ApiError::bad_request(format!("cannot read body: {}", r.body_text()))
        }
    })?;
    let verifier = state
        .verifier
        .as_ref()
        .ok_or(crate::signature::SignatureError::NoSecret)?;
    let now = chrono::Utc::now();
    let delivery = verifier.verify(&headers, &body, now.timestamp())?;
    // A captured delivery played again inside the window is refused, in every process on
    // the store. A delivery that fails below is forgotten, so the sender's retry is taken.
    let until = chrono::DateTime::from_timestamp(delivery.timestamp, 0).unwrap_or(now)
        + chrono::Duration::seconds(verifier.tolerance_seconds() as i64 + 1);
    let store = state.desk.store();
    if !store
        .remember_delivery(DELIVERIES, &delivery.id, until, now)
        .await?
    {
        return Err(crate::signature::SignatureError::Replayed(delivery.id).into());
    }
    let outcome = take(&state, &body).await;
    if outcome.is_err() {
        if let Err(e) = store.forget_delivery(DELIVERIES, &delivery.id).await {
            tracing::warn!(error = %e, "forgetting a failed delivery failed: its retry will be refused");
        }
    }
    outcome
}

/// The deliveries of `POST /api/v1/posts`, as the store remembers them.
const DELIVERIES: &str = "posts";

async fn take(state: &AppState, body: &[u8]) -> Result<Response, ApiError> {
    let items = earshot_connect::webhook::wire::parse_canonical_body(body).map_err(|e| {
        ApiError::bad_request(format!(
            "body is not a post, a list of posts or {{\"posts\": [...]}}: {e}"
        ))
    })?;
    let received = items.len();
    let mut posts = Vec::with_capacity(received);
    let mut indexes = Vec::with_capacity(received);
    let mut rejected = vec![];
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Ok(post) => {
                indexes.push(index);
                posts.push(post);
            }
            Err(e) => rejected.push(Rejected {
                index,
                error: e.message,
            }),
        }
    }
    if posts.is_empty() {
        return Err(no_valid_post(&rejected));
    }
    if let Some(bus) = &state.bus {
        let published = bus.publish_heard(&posts).await.map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "bus_unavailable",
                e.to_string(),
            )
        })?;
        let queued = QueuedResponse {
            received,
            queued: published.queued,
            already_queued: published.already_queued,
            rejected,
        };
        return Ok((StatusCode::ACCEPTED, Json(queued)).into_response());
    }
    let report = state.desk.pipeline().ingest(posts).await?;
    // Posts the store refused (a time earshot cannot believe) are rejected one by one.
    for r in &report.refused {
        if let Some(&index) = indexes.get(r.index) {
            rejected.push(Rejected {
                index,
                error: r.reason.clone(),
            });
        }
    }
    rejected.sort_by_key(|r| r.index);
    let stored: Vec<Stored> = indexes
        .iter()
        .enumerate()
        .filter_map(|(k, &index)| {
            let p = report.post_at(k)?;
            Some(Stored {
                index,
                network: p.network,
                id: p.external_id.clone(),
                post_id: p.post_id,
                conversation_id: p.conversation_id,
                duplicate: p.duplicate,
                edited: p.edited,
            })
        })
        .collect();
    if stored.is_empty() {
        return Err(no_valid_post(&rejected));
    }
    let status = if report.new > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(PostsResponse {
            received,
            new: report.new,
            duplicates: report.duplicates,
            edited: report.edited,
            stored,
            rejected,
        }),
    )
        .into_response())
}
