//! Correcting what earshot understood of a post, on the conversation page: each customer
//! post's labels (marked when an agent corrected them) and a small chooser per field with
//! numbered labels. Without the script it is a `<details>` of plain forms; with it, `j`/`k`
//! pick a post, `i`, `s` or `l` open its intent, sentiment or language chooser and a digit
//! picks (see `assets/app.js`). The post is drawn again in place, so the corrected label shows
//! at once.

use crate::state::AppState;
use crate::web::auth::SignedIn;
use crate::web::csrf::Posted;
use crate::web::layout;
use crate::web::{require_agent, PageError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use earshot_core::correction::{self, CorrectedField, CorrectedValue, CorrectionMark};
use earshot_core::{ConversationId, Post};
use maud::{html, Markup};
use serde::Deserialize;

/// The key that opens each field's chooser.
pub fn key(field: CorrectedField) -> &'static str {
    match field {
        CorrectedField::Intent => "i",
        CorrectedField::Sentiment => "s",
        CorrectedField::Language => "l",
    }
}

/// The digit that picks the `i`-th label (1–9, then 0); later labels are reached with Tab.
fn digit(i: usize) -> Option<String> {
    match i {
        0..=8 => Some((i + 1).to_string()),
        9 => Some("0".into()),
        _ => None,
    }
}

fn mark(p: &Post, field: CorrectedField) -> Option<&CorrectionMark> {
    p.analysis.corrections.iter().find(|m| m.field == field)
}

fn label(field: CorrectedField, value: &str) -> String {
    match field {
        CorrectedField::Language => value.to_string(),
        _ => value.replace('_', " "),
    }
}

/// A post's language, intent and sentiment badges; a corrected one says by whom.
pub fn labels(p: &Post) -> Markup {
    html! {
        span.labels {
            @for field in CorrectedField::ALL {
                @let value = correction::current(&p.analysis, *field);
                @let kind = match field { CorrectedField::Intent => "intent", CorrectedField::Sentiment => "sent", CorrectedField::Language => "lang" };
                @match mark(p, *field) {
                    Some(m) => {
                        span.corrected data-field=(field.as_str()) title=(format!("{field} corrected by {} (earshot read {})", m.by, label(*field, &m.model))) {
                            (layout::badge(kind, &value, &label(*field, &value)))
                            span.by { "✎ " (m.by) }
                        }
                    }
                    None => { span data-field=(field.as_str()) { (layout::badge(kind, &value, &label(*field, &value))) } }
                }
            }
        }
    }
}

/// The chooser: one form per field, a numbered button per label (the current one pressed).
pub fn chooser(signed: &SignedIn, conversation: ConversationId, p: &Post) -> Markup {
    let action = format!("/c/{}/posts/{}/correct", conversation.0, p.id);
    html! {
        details.correct data-post=(p.id) {
            summary { "Correct" }
            @for field in CorrectedField::ALL {
                @let now = correction::current(&p.analysis, *field);
                form.chooser method="post" action=(action) data-field=(field.as_str()) {
                    (layout::csrf_field(signed))
                    input type="hidden" name="field" value=(field.as_str());
                    fieldset {
                        legend { (field.as_str()) " " kbd { (key(*field)) } }
                        @for (i, value) in field.values().into_iter().enumerate() {
                            button type="submit" name="value" value=(value) data-n=[digit(i)] aria-pressed=(if value == now { "true" } else { "false" }) {
                                @if let Some(d) = digit(i) { kbd { (d) } " " }
                                (label(*field, value))
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub struct CorrectForm {
    field: String,
    value: String,
}

/// An agent's correction from the page: the post drawn again for the script, a redirect back
/// to it otherwise. A field or value outside the label sets → 422.
pub async fn correct(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, post_id)): Path<(String, String)>,
    Posted(signed, f): Posted<CorrectForm>,
) -> Result<Response, PageError> {
    require_agent(&signed)?;
    let id = super::conversation::conversation_id(&id)?;
    let post_id: i64 = post_id
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| PageError::NotFound(format!("{post_id:?} is not a post")))?;
    let value = match CorrectedValue::parse(&f.field, &f.value) {
        Ok(v) => v,
        Err(e) => return Ok((StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response()),
    };
    let outcome = state
        .desk
        .correct_in(id, post_id, &value, &signed.user.username)
        .await?;
    if super::conversation::from_script(&headers) {
        // The post, then (re-ranked) the rank line and band: the script swaps each by its id.
        let item = super::conversation::post_item(&outcome.post, Some((&signed, id)));
        let rank = outcome.conversation.as_ref().filter(|_| outcome.reranked);
        let fragment = html! {
            (item)
            @if let Some(c) = rank {
                (super::conversation::rank_line(c))
                (super::conversation::band(c))
            }
        };
        return Ok(fragment.into_response());
    }
    Ok(Redirect::to(&format!("/c/{}?done=corrected#post-{post_id}", id.0)).into_response())
}
