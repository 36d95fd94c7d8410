//! The conversation page's forms: a reply (sent through the desk, with the network's answer
//! shown as it is), a retry, assign and status actions, labels, notes for colleagues, and the
//! notice that someone is typing.

use super::*;

/// Whether the request came from the pages' script (which wants no redirect).
pub(in crate::web::pages) fn from_script(headers: &HeaderMap) -> bool {
    headers
        .get("x-requested-with")
        .and_then(|v| v.to_str().ok())
        == Some("earshot")
}

#[derive(Deserialize)]
pub struct ReplyForm {
    text: String,
    key: Option<String>,
}

pub async fn reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(signed, f): Posted<ReplyForm>,
) -> Result<Response, PageError> {
    require_agent(&signed)?;
    let id = conversation_id(&id)?;
    let key = f.key.filter(|k| !k.is_empty() && k.len() <= 200);
    match state
        .desk
        .reply(id, &f.text, &signed.user.username, key)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/c/{}?done=replied", id.0)).into_response()),
        Err(DeskError::Store(e)) => Err(e.into()),
        // Stored but not posted: the page says so, and the reply waits in the thread with its
        // text to copy and a retry; the draft is not kept twice.
        Err(e @ (DeskError::NotSent { .. } | DeskError::SendFailed { .. })) => {
            refused(&state, &signed, id, &not_posted(&e), "").await
        }
        // The text is too long or empty: show why, keep the draft.
        Err(e) => refused(&state, &signed, id, &e.to_string(), &f.text).await,
    }
}

/// The conversation page again, with what went wrong (422).
pub(super) async fn refused(
    state: &AppState,
    signed: &SignedIn,
    id: ConversationId,
    error: &str,
    draft: &str,
) -> Result<Response, PageError> {
    let loaded = load(state, id).await?;
    let page = render(
        signed,
        &loaded,
        &[],
        &brand_handle(state),
        None,
        Some(error),
        draft,
        Utc::now(),
    );
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// What the page says about a reply that was stored but not posted.
pub(super) fn not_posted(e: &DeskError) -> String {
    match e {
        DeskError::NotSent { reason, .. } => {
            format!("Your reply was NOT sent: {reason}. It is kept below.")
        }
        DeskError::SendFailed { reply, error } => match reply.next_attempt_at {
            Some(_) => format!(
                "Your reply was not sent yet: {error}. earshot tries again by itself; it is kept below."
            ),
            None => format!("Your reply was NOT sent: {error}. It is kept below."),
        },
        other => other.to_string(),
    }
}

/// An agent retries a reply that was not sent.
pub async fn retry(
    State(state): State<AppState>,
    Path((id, reply_id)): Path<(String, String)>,
    Posted(signed, _): Posted<NoFields>,
) -> Result<Response, PageError> {
    require_agent(&signed)?;
    let id = conversation_id(&id)?;
    let reply_id: i64 = reply_id
        .parse()
        .map_err(|_| PageError::NotFound(format!("{reply_id:?} is not a reply")))?;
    match state.desk.retry(id, reply_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/c/{}?done=retried", id.0)).into_response()),
        Err(DeskError::Store(e)) => Err(e.into()),
        Err(e) => refused(&state, &signed, id, &not_posted(&e), "").await,
    }
}

#[derive(Deserialize)]
pub struct ActForm {
    action: String,
}

pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Posted(signed, f): Posted<ActForm>,
) -> Result<Response, PageError> {
    require_agent(&signed)?;
    let id = conversation_id(&id)?;
    let (event, done) = match f.action.as_str() {
        "assign_me" => (
            ConversationEvent::Assigned {
                to: signed.user.username.clone(),
            },
            "assigned",
        ),
        "unassign" => (ConversationEvent::Unassigned, "unassigned"),
        "pend" => (ConversationEvent::MarkedPending, "pending"),
        "resolve" => (ConversationEvent::Resolved, "resolved"),
        "reopen" => (ConversationEvent::Reopened, "reopened"),
        other => {
            return Err(PageError::BadRequest(format!(
                "unknown action {other:?}: use assign_me, unassign, pend, resolve or reopen"
            )))
        }
    };
    state.desk.act(id, event, &signed.user.username).await?;
    if from_script(&headers) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Redirect::to(&format!("/c/{}?done={done}", id.0)).into_response())
}

#[derive(Deserialize)]
pub struct LabelsForm {
    labels: String,
}

pub(super) async fn labels_submit(
    state: &AppState,
    signed: &SignedIn,
    id: ConversationId,
    raw: &str,
) -> Result<(), PageError> {
    let labels: Vec<String> = raw.split(',').map(str::to_string).collect();
    state
        .desk
        .store()
        .set_labels(id, &labels, &signed.user.username, Utc::now())
        .await?;
    state
        .desk
        .pipeline()
        .publish(crate::pipeline::LiveEvent::ConversationChanged {
            conversation_id: id,
            action: "labelled".into(),
        });
    Ok(())
}

pub async fn labels(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(signed, f): Posted<LabelsForm>,
) -> Result<Response, PageError> {
    require_agent(&signed)?;
    let id = conversation_id(&id)?;
    labels_submit(&state, &signed, id, &f.labels).await?;
    Ok(Redirect::to(&format!("/c/{}?done=labelled", id.0)).into_response())
}

#[derive(Deserialize)]
pub struct NoteForm {
    text: String,
}

pub async fn note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted(signed, f): Posted<NoteForm>,
) -> Result<Response, PageError> {
    require_agent(&signed)?;
    let id = conversation_id(&id)?;
    state
        .desk
        .store()
        .add_note(id, &signed.user.username, &f.text, Utc::now())
        .await?;
    Ok(Redirect::to(&format!("/c/{}?done=noted#notes-title", id.0)).into_response())
}

#[derive(Deserialize)]
pub struct TypingForm {
    /// `1` while typing; `0` only asks who else is.
    active: Option<String>,
}

pub async fn typing(
    Extension(web): Extension<Arc<WebState>>,
    Path(id): Path<String>,
    Posted(signed, f): Posted<TypingForm>,
) -> Result<Json<serde_json::Value>, PageError> {
    let id = conversation_id(&id)?;
    let others = if f.active.as_deref() == Some("1") && signed.user.role.can_act() {
        web.presence.typing(id, &signed.user.username)
    } else {
        web.presence.others(id, &signed.user.username)
    };
    Ok(Json(serde_json::json!({ "others": others })))
}
