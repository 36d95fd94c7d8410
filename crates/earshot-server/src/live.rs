//! Live updates as server-sent events: one `post_stored` or `conversation_changed` event per
//! change, `spike_started` when a burst begins, `replying` while an agent writes a reply. The
//! API serves them at `/api/v1/events`, the pages at `/live` (signed in).

use crate::state::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use std::convert::Infallible;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

/// Who reads a stream. Presence (`replying`) is for the team's own pages: it names agents and
/// pings a few times a second while they type, which an integration holding an API token has
/// no use for (and should not learn who is on shift from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Pages,
    Api,
}

/// `/api/v1/events`: every change but presence.
pub async fn api_events(
    state: State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    events(state, Audience::Api).await
}

pub async fn events(
    State(state): State<AppState>,
    audience: Audience,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(state.desk.pipeline().subscribe()).filter_map(move |event| {
        // A lagging client misses events, not the connection: it refetches the inbox.
        let event = match event {
            Ok(e) => e,
            Err(_) => return Some(Ok(Event::default().event("lagged").data("{}"))),
        };
        let name = match &event {
            crate::pipeline::LiveEvent::PostStored { .. } => "post_stored",
            crate::pipeline::LiveEvent::ConversationChanged { .. } => "conversation_changed",
            crate::pipeline::LiveEvent::SpikeStarted { .. } => "spike_started",
            crate::pipeline::LiveEvent::Replying { .. } if audience == Audience::Api => {
                return None
            }
            crate::pipeline::LiveEvent::Replying { .. } => "replying",
        };
        serde_json::to_string(&event)
            .ok()
            .map(|data| Ok(Event::default().event(name).data(data)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
