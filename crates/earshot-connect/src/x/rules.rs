//! Keeps the app's filtered-stream rules in step with the config (PROTOCOLS.md §3.3).
//!
//! Ours are the rules tagged `earshot:<username>:...`; every other rule on the app belongs
//! to someone else (another tool, another brand) and is never touched. A sync lists the
//! rules (`GET .../rules`, paged), validates the missing ones with `dry_run=true` (so a
//! refused rule changes nothing), deletes ours that are no longer wanted, then adds the
//! missing ones. Tags are immutable on X, so a changed rule is a delete plus an add.
//!
//! The stream delivers every post that matches *any* rule of the app; [`OurRules::covers`]
//! tells which posts matched ours.

use super::api::{Api, As};
use super::config::{StreamRule, RULE_TAG_PREFIX};
use super::http::CallError;
use super::wire::{MatchingRule, Problem, RulesAnswer};
use std::collections::HashSet;

const RULES_PATH: &str = "/2/tweets/search/stream/rules";

/// What a sync established.
#[derive(Debug, Clone, Default)]
pub(crate) struct OurRules {
    /// Rule ids whose matches are ours (our rules, and another tag's rule with the same value).
    pub ids: HashSet<String>,
    /// The tag prefix of this connector's rules.
    pub tag_prefix: String,
}

impl OurRules {
    /// Whether a stream post that matched `rules` was matched by one of ours. A line without
    /// `matching_rules` is kept (better a stray post than a lost one).
    pub fn covers(&self, rules: &[MatchingRule]) -> bool {
        rules.is_empty()
            || rules.iter().any(|r| {
                self.ids.contains(&r.id)
                    || r.tag
                        .as_deref()
                        .is_some_and(|t| t.starts_with(&self.tag_prefix))
            })
    }
}

/// Why a sync failed.
#[derive(Debug)]
pub(crate) enum SyncError {
    /// X refused a rule (or the config yields none): a person must fix the config.
    Refused(String),
    /// The request failed; worth retrying per the usual policy.
    Call(CallError),
}

impl From<CallError> for SyncError {
    fn from(e: CallError) -> Self {
        SyncError::Call(e)
    }
}

/// Makes the app's rules match `api.config.stream_rules()`.
#[tracing::instrument(skip_all, fields(source = %api.config.source_name()))]
pub(crate) async fn sync(api: &Api) -> Result<OurRules, SyncError> {
    let wanted = api.config.stream_rules();
    if wanted.is_empty() {
        return Err(SyncError::Refused(
            "no stream rules: set the brand's username or some keywords".into(),
        ));
    }
    let tag_prefix = format!("{RULE_TAG_PREFIX}{}:", api.config.brand_username);
    let existing = list(api).await?;
    let is_ours = |tag: &Option<String>| tag.as_deref().is_some_and(|t| t.starts_with(&tag_prefix));
    let stale: Vec<String> = existing
        .iter()
        .filter(|r| is_ours(&r.tag))
        .filter(|r| {
            !wanted
                .iter()
                .any(|w| w.value == r.value && Some(&w.tag) == r.tag.as_ref())
        })
        .map(|r| r.id.clone())
        .collect();
    let mut ids: HashSet<String> = existing
        .iter()
        .filter(|r| !stale.contains(&r.id))
        .filter(|r| wanted.iter().any(|w| w.value == r.value))
        .map(|r| r.id.clone())
        .collect();
    let missing: Vec<&StreamRule> = wanted
        .iter()
        .filter(|w| {
            !existing
                .iter()
                .any(|r| r.value == w.value && r.tag.as_ref() == Some(&w.tag))
        })
        .collect();

    if !missing.is_empty() {
        // Validate first: a refused rule must not leave the app with our old rules deleted.
        add(api, &missing, true).await?;
    }
    if !stale.is_empty() {
        delete(api, &stale).await?;
        tracing::info!(
            count = stale.len(),
            "deleted stream rules no longer configured"
        );
    }
    if !missing.is_empty() {
        let added = add(api, &missing, false).await?;
        tracing::info!(count = added.len(), "added stream rules");
        ids.extend(added);
    }
    Ok(OurRules { ids, tag_prefix })
}

/// Every rule on the app, across pages.
async fn list(api: &Api) -> Result<Vec<super::wire::Rule>, CallError> {
    let mut rules = Vec::new();
    let mut token: Option<String> = None;
    // X caps an app at 1,000 rules (pay-per-use) or 25,000 (enterprise), 1,000 a page.
    for _ in 0..30 {
        let mut url = format!("{}?max_results=1000", api.config.api(RULES_PATH));
        if let Some(t) = &token {
            url.push_str(&format!("&pagination_token={}", urlencode(t)));
        }
        let (page, _): (RulesAnswer, _) =
            api.get_json(As::App, "listing stream rules", &url).await?;
        rules.extend(page.data);
        match page.meta.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => break,
        }
    }
    Ok(rules)
}

/// Adds `rules` (or only validates them); returns the ids of the rules whose matches are ours.
async fn add(api: &Api, rules: &[&StreamRule], dry_run: bool) -> Result<Vec<String>, SyncError> {
    let body = serde_json::json!({
        "add": rules.iter().map(|r| serde_json::json!({"value": r.value, "tag": r.tag})).collect::<Vec<_>>(),
    });
    let url = format!("{}?dry_run={dry_run}", api.config.api(RULES_PATH));
    let timeout = api.config.request_timeout;
    let answer = match api
        .send(As::App, "adding stream rules", |c| {
            c.post(&url).timeout(timeout).json(&body)
        })
        .await
    {
        Ok(response) => response
            .json::<RulesAnswer>()
            .await
            .map_err(|e| CallError::network("reading the rules answer", &e))?,
        // A malformed rule can also come back as a whole-request 400 with the same items.
        Err(CallError::Status {
            status: 400,
            problem,
            text,
        }) => {
            let items: Vec<&Problem> = std::iter::once(problem.as_ref())
                .chain(problem.errors.iter())
                .filter(|p| refusal(p).is_some())
                .collect();
            if let Some(p) = items.first() {
                return Err(SyncError::Refused(refused_rule(p, rules)));
            }
            return Err(SyncError::Call(CallError::Status {
                status: 400,
                text,
                problem,
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let mut ours: Vec<String> = answer.data.iter().map(|r| r.id.clone()).collect();
    for problem in &answer.errors {
        match refusal(problem) {
            Some(Refusal::Invalid) => return Err(SyncError::Refused(refused_rule(problem, rules))),
            Some(Refusal::Duplicate) => {
                // The same query is already on the app under another tag: its matches are
                // ours too, and X will not take a second copy.
                tracing::warn!(rule = %value_of(problem), "a stream rule with this value exists already; sharing it");
                ours.extend(problem.id.clone());
            }
            None => {
                tracing::warn!(error = %problem.summary(), "X reported a problem with the stream rules");
            }
        }
    }
    Ok(ours)
}

async fn delete(api: &Api, ids: &[String]) -> Result<(), CallError> {
    let body = serde_json::json!({"delete": {"ids": ids}});
    let url = format!("{}?dry_run=false", api.config.api(RULES_PATH));
    let timeout = api.config.request_timeout;
    let answer: RulesAnswer = api
        .send(As::App, "deleting stream rules", |c| {
            c.post(&url).timeout(timeout).json(&body)
        })
        .await?
        .json()
        .await
        .map_err(|e| CallError::network("reading the rules answer", &e))?;
    for problem in &answer.errors {
        // Already gone is what we wanted; anything else is worth a log line, not a stop.
        tracing::warn!(error = %problem.summary(), "X did not delete a stream rule");
    }
    Ok(())
}

enum Refusal {
    Invalid,
    Duplicate,
}

fn refusal(p: &Problem) -> Option<Refusal> {
    if p.is("duplicate-rules") || p.title.as_deref() == Some("DuplicateRule") {
        Some(Refusal::Duplicate)
    } else if p.is("invalid-rules") || p.is("rule-cap") {
        Some(Refusal::Invalid)
    } else {
        None
    }
}

fn value_of(p: &Problem) -> String {
    match &p.value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// "X refused the stream rule `earshot:acme:1` ((@acme ...) -is:retweet): why".
fn refused_rule(p: &Problem, rules: &[&StreamRule]) -> String {
    let value = value_of(p);
    let named = rules
        .iter()
        .find(|r| !value.is_empty() && r.value == value)
        .map(|r| format!("`{}` ({})", r.tag, r.value))
        .unwrap_or_else(|| {
            let all: Vec<String> = rules
                .iter()
                .map(|r| format!("`{}` ({})", r.tag, r.value))
                .collect();
            all.join(", ")
        });
    let mut why = p.summary();
    if !p.details.is_empty() {
        why.push_str(": ");
        why.push_str(&p.details.join("; "));
    }
    format!("X refused the stream rule {named}: {why}; fix the X handles/keywords")
}

/// Percent-encodes a query value (tokens and queries carry spaces, quotes, `@`, `:`).
pub(crate) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_is_by_id_or_by_our_tag() {
        let ours = OurRules {
            ids: HashSet::from(["10".to_owned()]),
            tag_prefix: "earshot:acme:".into(),
        };
        let rule = |id: &str, tag: Option<&str>| MatchingRule {
            id: id.into(),
            tag: tag.map(str::to_owned),
        };
        assert!(ours.covers(&[rule("10", None)]));
        assert!(ours.covers(&[rule("99", Some("earshot:acme:2"))]));
        assert!(!ours.covers(&[rule("99", Some("marketing"))]));
        assert!(!ours.covers(&[rule("99", Some("earshot:other:1"))]));
        assert!(ours.covers(&[]));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            urlencode("(@AcmeHelp OR \"a b\") -is:retweet"),
            "%28%40AcmeHelp%20OR%20%22a%20b%22%29%20-is%3Aretweet"
        );
    }
}
