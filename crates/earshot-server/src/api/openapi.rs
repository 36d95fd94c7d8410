//! The OpenAPI 3.1 document for the API. Written by hand next to the handlers; a test checks
//! every route the router serves is described here.

use axum::Json;
use serde_json::{json, Value};

pub const PATHS: &[&str] = &[
    "/api/v1/posts",
    "/api/v1/inbox",
    "/api/v1/search",
    "/api/v1/conversations/{id}",
    "/api/v1/conversations/{id}/replies",
    "/api/v1/conversations/{id}/replies/{reply}/retry",
    "/api/v1/conversations/{id}/actions",
    "/api/v1/audit",
    "/api/v1/posts/{id}/corrections",
    "/api/v1/corrections",
    "/api/v1/metrics",
    "/api/v1/events",
    "/api/v1/stats",
    "/api/v1/connectors",
    "/api/v1/bus",
    "/api/v1/conversations/{id}/policy",
    "/api/v1/conversations/{id}/draft",
    "/api/v1/reports/response-times",
    "/api/v1/rules/test",
    "/api/v1/requests",
    "/api/v1/requests/suggestions",
    "/api/v1/requests/{id}",
    "/api/v1/requests/{id}/actions",
    "/api/v1/requests/{id}/handoff",
    "/api/v1/promises",
    "/api/v1/promises/{id}/actions",
    "/api/v1/releases",
    "/api/v1/releases/{id}",
    "/api/v1/spikes",
    "/api/v1/metrics/loop",
    "/api/v1/metrics/satisfaction",
    "/api/v1/tracker/github",
];

fn q(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn errors() -> Value {
    json!({
        "400": {"$ref": "#/components/responses/Error"},
        "401": {"$ref": "#/components/responses/Error"},
        "404": {"$ref": "#/components/responses/Error"},
        "421": {"$ref": "#/components/responses/Error"}
    })
}

fn with_errors(mut ok: Value) -> Value {
    if let (Some(o), Some(e)) = (ok.as_object_mut(), errors().as_object()) {
        for (k, v) in e {
            o.entry(k.clone()).or_insert(v.clone());
        }
    }
    ok
}

fn satisfaction_params() -> Value {
    json!([
        q(
            "from",
            "Date or RFC 3339 (default: 30 days before to)",
            json!({"type": "string"})
        ),
        q(
            "to",
            "Date or RFC 3339 (default: now)",
            json!({"type": "string"})
        ),
        q(
            "by",
            "Split by agent, request, network or language",
            json!({"type": "string", "enum": ["agent", "request", "network", "language"]})
        ),
        q(
            "format",
            "json (default) or csv",
            json!({"type": "string", "enum": ["json", "csv"]})
        )
    ])
}

pub fn build() -> Value {
    let filters = vec![
        q(
            "status",
            "Comma-separated statuses: open, pending, resolved, or all (default open)",
            json!({"type": "string"}),
        ),
        q(
            "network",
            "mastodon, bluesky, x, reddit, rss, webhook, telegram, discord, appstore, googleplay, youtube",
            json!({"type": "string"}),
        ),
        q(
            "language",
            "ISO 639-1 code, e.g. da",
            json!({"type": "string"}),
        ),
        q(
            "intent",
            "complaint, feature_request, question, praise, other",
            json!({"type": "string"}),
        ),
        q(
            "sentiment",
            "negative, neutral, positive",
            json!({"type": "string"}),
        ),
        q(
            "breached",
            "Only conversations past their response target",
            json!({"type": "boolean"}),
        ),
        q(
            "assignee",
            "Agent name, or none for unassigned",
            json!({"type": "string"}),
        ),
        q("limit", "1–500, default 50", json!({"type": "integer"})),
        q(
            "offset",
            "Rows to skip, at most 10000 (narrow the filters to go further)",
            json!({"type": "integer", "maximum": 10000}),
        ),
    ];
    let id_param =
        json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "earshot API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Hear every customer, answer where they spoke. Errors are {\"error\": code, \"message\": text}. Every route needs Authorization: Bearer <token> (a token an admin created for a person, with scopes read, reply, act; or api.token, which acts as `api`) or a signed-in page's session cookie (writes also send X-CSRF-Token) — except /api/v1/posts and /api/v1/tracker/github, which are signed. The actor is always the token's or session's person. A Host that is not this server's gets 421."
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "earshot_session",
                    "description": "A signed-in page's session (named __Host-earshot_session with http.secure_cookies); writes also send the session's CSRF token in X-CSRF-Token."},
                "signature": {"type": "apiKey", "in": "header", "name": "webhook-signature",
                    "description": "Standard Webhooks: webhook-id, webhook-timestamp (unix s), webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>. Or Earshot-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, t.body)>. Timestamps older than webhook.tolerance_seconds are refused."}
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"], "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
                "CanonicalPost": {
                    "type": "object", "required": ["network", "id", "author", "text", "created_at"],
                    "properties": {
                        "network": {"type": "string", "enum": ["mastodon", "bluesky", "x", "reddit", "rss", "webhook", "telegram", "discord", "appstore", "googleplay", "youtube"]},
                        "id": {"type": "string"},
                        "author": {"type": "object", "required": ["id", "handle"], "properties": {
                            "id": {"type": "string"}, "handle": {"type": "string"}, "name": {"type": ["string", "null"]},
                            "followers": {"type": ["integer", "null"]}, "verified": {"type": "boolean"}, "bot": {"type": "boolean"}}},
                        "text": {"type": "string"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "in_reply_to": {"type": ["string", "null"]},
                        "lang": {"type": ["string", "null"]},
                        "url": {"type": ["string", "null"]},
                        "from_brand": {"type": ["boolean", "null"]}
                    }
                },
                "Conversation": {"type": "object", "description": "A thread between a customer and the brand: status, assignee, priority (score, band, factors), response_due, first_response_at, first_response_secs."},
                "Reply": {"type": "object", "description": "An outbound reply: state queued | sent | failed | not_sent (nothing was posted: no connector for that network), error (why), attempts, next_attempt_at (when earshot retries a failed one by itself; null once it gave up), idempotency_key, external_id."}
            },
            "responses": {
                "Error": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/api/v1/posts": {"post": {
                "summary": "Take in one post, a list, or {\"posts\": [...]} in the canonical shape",
                "security": [{"signature": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [
                    {"$ref": "#/components/schemas/CanonicalPost"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/CanonicalPost"}},
                    {"type": "object", "properties": {"posts": {"type": "array", "items": {"$ref": "#/components/schemas/CanonicalPost"}}}}
                ]}}}},
                "responses": with_errors(json!({
                    "201": {"description": "Stored (some may be duplicates or rejected; see the body)"},
                    "200": {"description": "All duplicates: nothing new"},
                    "202": {"description": "Cluster mode: every post was taken by the bus ({received, queued, already_queued, rejected}); a worker of some process stores it"},
                    "503": {"description": "bus_unavailable (cluster mode): the bus did not acknowledge every post; nothing was taken, retry the same delivery", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "409": {"description": "replayed: this delivery (webhook-id, or the signature) was taken before", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "413": {"$ref": "#/components/responses/Error"},
                    "422": {"$ref": "#/components/responses/Error"}
                }))
            }},
            "/api/v1/inbox": {"get": {
                "summary": "Conversations ranked by priority",
                "parameters": filters,
                "responses": with_errors(json!({"200": {"description": "A page of {conversation, latest_text, latest_at, breached}"}}))
            }},
            "/api/v1/search": {"get": {
                "summary": "Full-text search over post text",
                "parameters": [
                    {"name": "q", "in": "query", "required": true, "schema": {"type": "string"}},
                    q("network", "", json!({"type": "string"})), q("language", "", json!({"type": "string"})),
                    q("intent", "", json!({"type": "string"})), q("sentiment", "", json!({"type": "string"})),
                    q("limit", "", json!({"type": "integer"})), q("offset", "At most 10000", json!({"type": "integer", "maximum": 10000}))
                ],
                "responses": with_errors(json!({"200": {"description": "A page of posts, newest first"}}))
            }},
            "/api/v1/conversations/{id}": {"get": {
                "summary": "A conversation with its posts, replies and audit trail",
                "parameters": [id_param.clone()],
                "responses": with_errors(json!({"200": {"description": "The conversation"}}))
            }},
            "/api/v1/conversations/{id}/replies": {"post": {
                "summary": "Answer on the customer's network (stored before sending; idempotent by key)",
                "parameters": [id_param.clone(),
                    {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["text"],
                    "properties": {"text": {"type": "string"}, "idempotency_key": {"type": "string"}}}}}},
                "responses": with_errors(json!({
                    "201": {"description": "The reply", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reply"}}}},
                    "422": {"description": "Refused text (invalid_reply), or not_sent: stored but nothing posted (no connector for the network); the body's reply says why", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "502": {"description": "send_failed: the network did not take it; the body's reply says when earshot retries by itself", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                }))
            }},
            "/api/v1/conversations/{id}/replies/{reply}/retry": {"post": {
                "summary": "Send a reply that was not sent again, under its own key (scope reply)",
                "parameters": [id_param.clone(), {"name": "reply", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": with_errors(json!({
                    "200": {"description": "The reply, sent (or sent before)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reply"}}}},
                    "422": {"$ref": "#/components/responses/Error"},
                    "502": {"$ref": "#/components/responses/Error"}
                }))
            }},
            "/api/v1/conversations/{id}/actions": {"post": {
                "summary": "assign (with to), unassign, pend, resolve, reopen",
                "parameters": [id_param],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["action"],
                    "properties": {"action": {"type": "string", "enum": ["assign", "unassign", "pend", "resolve", "reopen"]}, "to": {"type": "string"}}}}}},
                "responses": with_errors(json!({"200": {"description": "The conversation after the change"}, "409": {"$ref": "#/components/responses/Error"}}))
            }},
            "/api/v1/posts/{id}/corrections": {"post": {
                "summary": "Correct what earshot understood of a post: its intent, sentiment or language (scope act). The latest correction of a field wins, shows at once in the post's analysis (`corrections`: who, and what the model had read), is audited as post_corrected, re-ranks the conversation when the post is one its rank was read from, and is learned by `earshot train --corrections`",
                "parameters": [{"name": "id", "in": "path", "required": true, "description": "The post's id (`posts[].id` of a conversation)", "schema": {"type": "integer"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["field", "value"],
                    "properties": {"field": {"type": "string", "enum": ["intent", "sentiment", "language"]},
                        "value": {"type": "string", "description": "intent: complaint, feature_request, question, praise, other; sentiment: negative, neutral, positive; language: en, da, sv, no, nl, de, fr, it, es, pt, ar, und"}}}}}},
                "responses": with_errors(json!({
                    "201": {"description": "{correction, post, conversation, reranked}: stored"},
                    "200": {"description": "The post already said so: nothing stored (correction is null)"},
                    "409": {"description": "The author deleted the post", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "422": {"description": "unknown_label: a field or value outside the label sets", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                }))
            }},
            "/api/v1/corrections": {"get": {
                "summary": "Agents' corrections, newest first, with each post's text (empty once its author deleted it) and `current` (the latest of its field on a text unchanged since: what training learns)",
                "parameters": [q("before", "Only corrections with a smaller id: the previous page's next_before", json!({"type": "integer"})), q("limit", "1–1000, default 100", json!({"type": "integer"}))],
                "responses": with_errors(json!({"200": {"description": "{items: [{id, post_id, conversation_id, field, from, to, by, at, text, current}], next_before?}"}}))
            }},
            "/api/v1/audit": {"get": {
                "summary": "Who did what, newest first",
                "parameters": [q("conversation", "Only this conversation", json!({"type": "integer"})), q("limit", "", json!({"type": "integer"}))],
                "responses": with_errors(json!({"200": {"description": "Audit entries"}}))
            }},
            "/api/v1/conversations/{id}/policy": {"get": {
                "summary": "Which response-target policy applies and why, each target's state and due time, routing (team, labels, band), why it jumped the queue, and escalation ([triage])",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": with_errors(json!({"200": {"description": "Policy view"}}))
            }},
            "/api/v1/conversations/{id}/draft": {"get": {
                "summary": "A first draft from the brand's past answers to similar posts (offline; nothing is sent), its sources with similarity, whether it commits the brand, and a summary of a long thread",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "responses": with_errors(json!({"200": {"description": "{draft: {text, lang, same_language, shortened, commitment?, sources: [{id, similarity, support, used, answer, asked}]}?, past_answers, summary?: {posts, customer_posts, since, ask, points, promised, waiting}}"}}))
            }},
            "/api/v1/reports/response-times": {"get": {
                "summary": "First response and resolution time distributions, share within target, breaches with reasons ([triage])",
                "parameters": [q("from", "Date or RFC 3339 (default: 30 days before to)", json!({"type": "string"})), q("to", "Date or RFC 3339 (default: now)", json!({"type": "string"})), q("group_by", "team, agent, network, intent, weekday, hour or business (default: all)", json!({"type": "string"})), q("format", "json (default) or csv", json!({"type": "string", "enum": ["json", "csv"]}))],
                "responses": with_errors(json!({"200": {"description": "Report (JSON or text/csv)"}}))
            }},
            "/api/v1/requests": {"get": {"summary": "Product requests ranked by demand (status, limit), each with its askers per network", "responses": with_errors(json!({"200": {"description": "OK"}}))}},
            "/api/v1/requests/suggestions": {"get": {"summary": "Corrections worth making, best first: requests that look like one (merge) and asks that may not belong (move); limit", "responses": with_errors(json!({"200": {"description": "OK"}}))}},
            "/api/v1/requests/{id}": {"get": {"summary": "A request with its latest asks and its promises", "responses": with_errors(json!({"200": {"description": "OK"}}))}},
            "/api/v1/requests/{id}/actions": {"post": {"summary": "Rename, merge_into, move_post, move_out, status, tracker", "responses": with_errors(json!({"200": {"description": "OK"}}))}},
            "/api/v1/requests/{id}/handoff": {"post": {"summary": "Hand the request to engineering (GitHub issue or webhook)", "responses": with_errors(json!({"200": {"description": "OK"}}))}},
            "/api/v1/promises": {"get": {"summary": "The promise ledger (state filter), with overdue", "responses": with_errors(json!({"200": {"description": "OK"}}))}},
            "/api/v1/promises/{id}/actions": {"post": {"summary": "Confirm (due_on or target_release) or dismiss a promise", "responses": with_errors(json!({"200": {"description": "OK"}}))}},
            "/api/v1/releases": {"get": {"summary": "Releases, newest first", "responses": with_errors(json!({"200": {"description": "OK"}}))}, "post": {"summary": "Record a release: ship its requests, keep their promises, tell every customer who asked (dry_run previews)", "responses": with_errors(json!({"201": {"description": "Recorded"}, "200": {"description": "Recorded before, or a dry run"}}))}},
            "/api/v1/releases/{id}": {"get": {"summary": "A release and who was told", "responses": with_errors(json!({"200": {"description": "OK"}}))}},
            "/api/v1/spikes": {"get": {"summary": "Bursts of similar posts with their charts and a suggested bulk reply", "responses": with_errors(json!({"200": {"description": "OK"}}))}},
            "/api/v1/metrics/loop": {"get": {"summary": "Ask to promise, promise to release, release to told; promises kept on time", "responses": with_errors(json!({"200": {"description": "OK"}}))}},
            "/api/v1/tracker/github": {"post": {"summary": "GitHub issues webhook (X-Hub-Signature-256, X-GitHub-Delivery): closed issues ship their request; a delivery seen before is refused", "security": [], "responses": with_errors(json!({"200": {"description": "OK"}, "409": {"$ref": "#/components/responses/Error"}}))}},
            "/api/v1/rules/test": {"post": {
                "summary": "Run the routing rules on a sample post and explain each rule's outcome",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}, "network": {"type": "string"}, "followers": {"type": "integer"}, "lang": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}}}},
                "responses": with_errors(json!({"200": {"description": "Facts, trace and its explanation"}}))
            }},
            "/api/v1/metrics/satisfaction": {"get": {
                "summary": "Satisfaction surveys: CSAT (share of 4–5 scores), mean score, would-buy-again share (yes ÷ yes+no), score counts, sent, answered and response rate of the surveys sent in the range; `total` and, with `by`, `groups`",
                "parameters": satisfaction_params(),
                "responses": with_errors(json!({"200": {"description": "{from, to, by?, total, groups: [{key, label?, sent, answered, scores: [n1..n5], csat, mean_score, buy_again_yes, buy_again_no, buy_again_share, response_rate}]}, or CSV with one line per group"}}))
            }},
            "/api/v1/metrics": {"get": {
                "summary": "First response time (median, p90) overall, by weekday, hour and network; share within target; volume by intent and sentiment; `satisfaction`: CSAT, mean score and would-buy-again share of surveys sent in the range",
                "parameters": [q("from", "Date or RFC 3339 (default: 30 days before to)", json!({"type": "string"})), q("to", "Date or RFC 3339 (default: now)", json!({"type": "string"}))],
                "responses": with_errors(json!({"200": {"description": "Metrics"}}))
            }},
            "/api/v1/events": {"get": {
                "summary": "Server-sent events: post_stored, conversation_changed, spike_started (agents' typing notices go to the signed-in pages only)",
                "responses": {"200": {"description": "text/event-stream"}}
            }},
            "/api/v1/connectors": {"get": {
                "summary": "Health of each connector: state, last event, events and errors, next retry",
                "responses": {"200": {"description": "One report per configured source"}}
            }},
            "/api/v1/bus": {"get": {
                "summary": "Cluster mode's bus: connected, heard posts pending and in flight, dead letters (all processes, and moved by this one)",
                "responses": {
                    "200": {"description": "{connected, pending, in_flight, dead_letters, dead_lettered_here}"},
                    "404": {"$ref": "#/components/responses/Error"},
                    "503": {"$ref": "#/components/responses/Error"}
                }
            }},
            "/api/v1/stats": {"get": {
                "summary": "How much is stored",
                "responses": {"200": {"description": "Counts of posts, conversations, open conversations, replies"}}
            }}
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented() {
        let doc = super::build();
        for path in super::PATHS {
            assert!(
                doc["paths"].get(*path).is_some(),
                "{path} missing from the OpenAPI document"
            );
        }
        let source = include_str!("mod.rs");
        for line in source.lines().filter(|l| l.contains(".route(\"/api/v1")) {
            let path = line.split('"').nth(1).unwrap_or_default();
            assert!(
                super::PATHS.contains(&path),
                "router serves {path} but PATHS does not list it"
            );
        }
    }
}
