//! The customer's survey page, `/survey/{token}`: no sign-in, in the customer's language, one
//! question (1–5), "would you buy from us again?" and an optional comment. Answered once.
//!
//! The unguessable token in the address is what protects the form (a customer has no session
//! to tie a CSRF token to); a post the browser marks as coming from another site is refused.

use crate::state::AppState;
use crate::survey::{plausible_token, token_hash, Texts};
use crate::web::{assets, csrf};
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use earshot_store::survey::{Survey, SurveyAnswer, MAX_COMMENT_CHARS};
use earshot_store::StoreError;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct AnswerForm {
    score: Option<String>,
    buy_again: Option<String>,
    comment: Option<String>,
}

/// A whole survey page in `lang`, on the app's stylesheet (no script).
fn shell(lang: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                link rel="stylesheet" href=(assets::url("app.css"));
            }
            body.survey-page {
                main id="main" .survey { (body) }
            }
        }
    }
}

fn message(status: StatusCode, t: &Texts, title: &str, text: &str) -> Response {
    let body = html! {
        h1 { (title) }
        p role="status" { (text) }
    };
    (status, shell(&t.language, title, body)).into_response()
}

fn form(token: &str, t: &Texts, error: Option<&str>, given: &AnswerForm) -> Markup {
    let chosen = given.score.as_deref().map(str::trim);
    let buy = given.buy_again.as_deref().map(str::trim);
    let body = html! {
        h1 { (t.title) }
        @if let Some(e) = error {
            p.error role="alert" { (e) }
        }
        form method="post" action=(format!("/survey/{token}")) {
            fieldset.scale {
                legend { (t.question) }
                div.scale-options {
                    @for n in 1..=5u8 {
                        @let id = format!("score-{n}");
                        @let label = match n { 1 => format!("1 – {}", t.low), 5 => format!("5 – {}", t.high), _ => n.to_string() };
                        span.scale-option {
                            input type="radio" id=(id) name="score" value=(n) required
                                checked[chosen == Some(n.to_string().as_str())];
                            label for=(id) aria-label=(label) { (n) }
                        }
                    }
                }
                p.scale-ends aria-hidden="true" { span { "1 = " (t.low) } span { "5 = " (t.high) } }
            }
            fieldset.buy-again {
                legend { (t.buy_again) }
                span.choice {
                    input type="radio" id="buy-yes" name="buy_again" value="yes" checked[buy == Some("yes")];
                    label for="buy-yes" { (t.yes) }
                }
                span.choice {
                    input type="radio" id="buy-no" name="buy_again" value="no" checked[buy == Some("no")];
                    label for="buy-no" { (t.no) }
                }
            }
            label for="comment" { (t.comment) }
            textarea id="comment" name="comment" rows="3" maxlength=(MAX_COMMENT_CHARS) {
                (given.comment.as_deref().unwrap_or(""))
            }
            p { button.primary type="submit" { (t.submit) } }
        }
    };
    shell(&t.language, t.title, body)
}

/// The survey a token opens, or the response to give instead (a friendly "not found").
async fn find(state: &AppState, token: &str) -> Result<Survey, Response> {
    let english = state.settings.survey.texts("en");
    let not_found = || {
        message(
            StatusCode::NOT_FOUND,
            &english,
            english.title,
            english.unknown,
        )
    };
    if !plausible_token(token) {
        return Err(not_found());
    }
    match state.desk.store().survey_by_token(&token_hash(token)).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(not_found()),
        Err(e) => Err(unavailable(e)),
    }
}

fn unavailable(e: StoreError) -> Response {
    tracing::error!(error = %e, "the survey page could not read the store");
    crate::web::PageError::Unavailable("the store is not answering; try again in a moment".into())
        .into_response()
}

/// `GET /survey/{token}`.
#[tracing::instrument(skip_all)]
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let survey = match find(&state, &token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let t = state.settings.survey.texts(&survey.language);
    if survey.answered_at.is_some() {
        return message(StatusCode::OK, &t, t.title, t.already);
    }
    form(&token, &t, None, &AnswerForm::default()).into_response()
}

/// Whether the browser says this post came from another site (`Sec-Fetch-Site`, `Origin`).
fn cross_site(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return true;
        }
    }
    let public = public_url.trim_end_matches('/');
    let from_public = !public.is_empty()
        && headers
            .get(axum::http::header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|o| o.eq_ignore_ascii_case(public));
    !(from_public || csrf::same_origin(headers))
}

fn parse(form: &AnswerForm) -> Result<SurveyAnswer, String> {
    let score = match form.score.as_deref().map(str::trim) {
        None | Some("") => return Err("Pick a score from 1 to 5.".into()),
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| format!("score {s:?} is not a number: pick 1 to 5"))?,
    };
    let buy_again = match form.buy_again.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("yes") => Some(true),
        Some("no") => Some(false),
        Some(other) => return Err(format!("buy_again {other:?}: answer yes or no")),
    };
    SurveyAnswer::new(score, buy_again, form.comment.as_deref()).map_err(|e| e.to_string())
}

/// `POST /survey/{token}`: records the answer once and thanks the customer.
#[tracing::instrument(skip_all)]
pub async fn answer(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Form<AnswerForm>, FormRejection>,
) -> Response {
    let survey = match find(&state, &token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let t = state.settings.survey.texts(&survey.language);
    if cross_site(&headers, &state.settings.survey.public_url) {
        return message(
            StatusCode::FORBIDDEN,
            &t,
            t.title,
            "This answer came from another site and was not recorded. Open the survey link again.",
        );
    }
    if survey.answered_at.is_some() {
        return message(StatusCode::CONFLICT, &t, t.title, t.already);
    }
    let given = match body {
        Ok(Form(f)) => f,
        Err(e) => {
            let msg = format!("The answer could not be read: {}", e.body_text());
            return (
                StatusCode::BAD_REQUEST,
                form(&token, &t, Some(&msg), &AnswerForm::default()),
            )
                .into_response();
        }
    };
    let answer = match parse(&given) {
        Ok(a) => a,
        Err(msg) => {
            return (
                StatusCode::BAD_REQUEST,
                form(&token, &t, Some(&msg), &given),
            )
                .into_response()
        }
    };
    match state
        .desk
        .store()
        .answer_survey(&token_hash(&token), &answer, Utc::now())
        .await
    {
        Ok(s) => {
            tracing::info!(survey = s.id, score = %answer.score(), "survey answered");
            message(StatusCode::OK, &t, t.title, t.thanks)
        }
        // Answered in another tab a moment ago.
        Err(StoreError::Conflict(_)) => message(StatusCode::CONFLICT, &t, t.title, t.already),
        Err(StoreError::NotFound(_)) => message(StatusCode::NOT_FOUND, &t, t.title, t.unknown),
        Err(e) => unavailable(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn answers_are_parsed_with_clear_errors() {
        let f = |score: &str, buy: Option<&str>| AnswerForm {
            score: Some(score.into()),
            buy_again: buy.map(str::to_string),
            comment: None,
        };
        let a = parse(&f("4", Some("yes"))).unwrap();
        assert_eq!((a.score().get(), a.buy_again()), (4, Some(true)));
        assert_eq!(parse(&f("2", None)).unwrap().buy_again(), None);
        assert!(parse(&f("7", None)).unwrap_err().contains("outside 1–5"));
        assert!(parse(&f("five", None))
            .unwrap_err()
            .contains("not a number"));
        assert!(parse(&f("5", Some("maybe")))
            .unwrap_err()
            .contains("yes or no"));
        assert!(parse(&AnswerForm::default())
            .unwrap_err()
            .contains("1 to 5"));
    }

    #[test]
    fn posts_from_other_sites_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(!cross_site(&h, ""), "no browser hints: allowed");
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(!cross_site(&h, ""));
        h.insert(header::ORIGIN, "https://care.example.com".parse().unwrap());
        assert!(cross_site(&h, ""), "another origin");
        assert!(
            !cross_site(&h, "https://care.example.com/"),
            "the public URL behind a proxy"
        );
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site(&h, "https://care.example.com"));
    }
}
