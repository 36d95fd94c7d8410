//! `POST /hooks/telegram/{bot}`: Telegram's webhook deliveries (PROTOCOLS-2.md §1.4) for a
//! `[[connectors.telegram]]` with `webhook_url` set.
//!
//! One of the few open routes, like the signed intake: Telegram holds no session, so the
//! `X-Telegram-Bot-Api-Secret-Token` header must be the connector's `webhook_secret`
//! (compared in constant time). A wrong or missing one is 401, logged without the header,
//! and nothing is read or stored. An admitted update is stored before the answer: 200 once
//! it is committed (or on the bus, in cluster mode), 503 when the store failed, so Telegram
//! delivers it again; a repeat is absorbed by the store.

use super::{ApiError, AppState};
use crate::connectors::PipelineSink;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use earshot_connect::source::{Health, Sink};
use earshot_connect::telegram::webhook::{hear_delivery, DeliveryError};
use serde_json::{json, Value};

pub async fn receive(
    State(state): State<AppState>,
    Path(bot): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let settings = state
        .settings
        .connectors
        .telegram
        .iter()
        .filter(|t| t.webhook_url.as_ref().is_some_and(|u| !u.trim().is_empty()))
        .find(|t| {
            t.bot_username
                .trim()
                .trim_start_matches('@')
                .eq_ignore_ascii_case(&bot)
        })
        .ok_or_else(|| ApiError::not_found("no Telegram bot here is heard by webhook"))?;
    // Checked at start-up; a secret file that became unreadable since is the server's fault.
    let config = settings.config().map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "misconfigured",
            format!("the Telegram connector's settings no longer load: {e}"),
        )
    })?;
    let given = headers
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok());
    if !config
        .webhook
        .as_ref()
        .is_some_and(|hook| hook.admits(given))
    {
        tracing::warn!(%bot, "telegram webhook delivery refused: wrong or missing secret token");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "X-Telegram-Bot-Api-Secret-Token is missing or wrong",
        ));
    }
    let name = config.source_name();
    let health = state
        .connector_health
        .iter()
        .find(|h| h.report().name == name)
        .cloned()
        .unwrap_or_else(|| Health::new(name));
    let pipeline = state.desk.pipeline().clone();
    let sink: Box<dyn Sink> = match &state.bus {
        Some(bus) => Box::new(PipelineSink::through(bus.clone(), pipeline)),
        None => Box::new(PipelineSink::new(pipeline)),
    };
    match hear_delivery(&config, &body, sink.as_ref(), &health).await {
        Ok(heard) => Ok(Json(json!({"ok": true, "heard": heard}))),
        Err(e @ DeliveryError::Unreadable(_)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unreadable",
            e.to_string(),
        )),
        Err(e @ DeliveryError::Sink(_)) => {
            tracing::warn!(%bot, error = %e, "telegram webhook delivery not stored; Telegram will deliver it again");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                e.to_string(),
            ))
        }
    }
}
