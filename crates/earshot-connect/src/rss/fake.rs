//! A fake feed server (PROTOCOLS.md §5.3), for tests here and in other crates (feature
//! `fake`): it binds `127.0.0.1:0` and serves RSS 2.0 or Atom 1.0 feeds at any path.
//!
//! It honours conditional GET exactly as publishers do: every answer carries `ETag` (it
//! changes whenever the feed does) and `Last-Modified`; a request whose `If-None-Match`
//! matches, or (without one) whose `If-Modified-Since` is not older, gets `304` and no body.
//! Scripts: publish, edit and reorder entries, serve malformed XML or an oversized body,
//! cut a body in the middle, answer 429/503 with `Retry-After`, 410 Gone, and redirects
//! (permanent, temporary, loops).

use crate::fake_server::{half_then_reset, lock, serve_in_background};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Which syntax a fake feed is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    Rss,
    Atom,
}

/// One entry on a fake feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeEntry {
    /// `guid` / `id`; `None` leaves it out (RSS only: Atom requires one).
    pub id: Option<String>,
    pub title: String,
    pub link: String,
    /// The entry's HTML (RSS `description`, Atom `content type="html"`).
    pub html: String,
    pub author: Option<String>,
    pub published: Option<DateTime<Utc>>,
}

impl FakeEntry {
    pub fn new(id: &str, title: &str, html: &str) -> Self {
        FakeEntry {
            id: Some(id.into()),
            title: title.into(),
            link: format!("https://forum.acme.example/t/{id}"),
            html: html.into(),
            author: Some("Marta R.".into()),
            published: Some(Utc::now()),
        }
    }
}

/// A request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRequest {
    pub path: String,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub user_agent: Option<String>,
    /// The status it was answered with.
    pub status: u16,
}

#[derive(Debug, Clone)]
enum Scripted {
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    Cut,
}

#[derive(Debug)]
struct FakeFeed {
    format: FeedFormat,
    title: String,
    /// Newest first, as feeds list them.
    entries: Vec<FakeEntry>,
    version: u64,
    modified: DateTime<Utc>,
    /// Served instead of the feed (malformed XML, an oversized body).
    body_override: Option<Vec<u8>>,
    gone: bool,
}

impl FakeFeed {
    fn etag(&self) -> String {
        format!("\"v{}\"", self.version)
    }

    fn changed(&mut self) {
        self.version += 1;
        // HTTP dates have whole seconds; a change within the same second must still be
        // newer than what a client holds, so the clock moves a second per change.
        self.modified = (self.modified + chrono::Duration::seconds(1)).max(Utc::now());
    }
}

#[derive(Debug, Default)]
struct FakeState {
    feeds: HashMap<String, FakeFeed>,
    redirects: HashMap<String, (String, StatusCode)>,
    scripts: HashMap<String, Vec<Scripted>>,
    requests: Vec<FeedRequest>,
}

type Shared = Arc<Mutex<FakeState>>;

/// A running fake feed server; it stops when this is dropped.
#[derive(Debug)]
pub struct FakeFeeds {
    addr: SocketAddr,
    state: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl FakeFeeds {
    pub async fn start() -> std::io::Result<FakeFeeds> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state: Shared = Arc::default();
        let app = Router::new().fallback(serve).with_state(state.clone());
        let server = serve_in_background(listener, app, "fake feeds");
        Ok(FakeFeeds {
            addr,
            state,
            server,
        })
    }

    /// The absolute URL of `path` (starting with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Creates an empty feed at `path`.
    pub fn add_feed(&self, path: &str, format: FeedFormat, title: &str) {
        lock(&self.state).feeds.insert(
            path.into(),
            FakeFeed {
                format,
                title: title.into(),
                entries: Vec::new(),
                version: 1,
                modified: Utc::now() - chrono::Duration::hours(1),
                body_override: None,
                gone: false,
            },
        );
    }

    fn with_feed(&self, path: &str, f: impl FnOnce(&mut FakeFeed)) {
        if let Some(feed) = lock(&self.state).feeds.get_mut(path) {
            f(feed);
            feed.changed();
        }
    }

    /// Puts `entry` at the top of the feed.
    pub fn publish(&self, path: &str, entry: FakeEntry) {
        self.with_feed(path, |f| f.entries.insert(0, entry));
    }

    /// Changes an entry's HTML (the author edited it).
    pub fn edit(&self, path: &str, id: &str, html: &str) {
        self.with_feed(path, |f| {
            if let Some(e) = f.entries.iter_mut().find(|e| e.id.as_deref() == Some(id)) {
                e.html = html.into();
            }
        });
    }

    /// Reverses the order of the entries (feeds reorder; nothing is new).
    pub fn reorder(&self, path: &str) {
        self.with_feed(path, |f| f.entries.reverse());
    }

    /// Serves `body` instead of the feed until [`FakeFeeds::restore`].
    pub fn serve_raw(&self, path: &str, body: Vec<u8>) {
        self.with_feed(path, |f| f.body_override = Some(body));
    }

    /// Serves the feed itself again.
    pub fn restore(&self, path: &str) {
        self.with_feed(path, |f| f.body_override = None);
    }

    /// The feed is removed for good: 410 from now on.
    pub fn gone(&self, path: &str) {
        self.with_feed(path, |f| f.gone = true);
    }

    /// The next `n` requests for `path` get `status` (with `Retry-After` seconds, if given).
    pub fn fail_next(&self, path: &str, n: usize, status: u16, retry_after: Option<u64>) {
        let mut s = lock(&self.state);
        let script = s.scripts.entry(path.into()).or_default();
        script.extend((0..n).map(|_| Scripted::Status {
            status,
            retry_after,
        }));
    }

    /// The next request for `path` gets half the document, then the connection drops.
    pub fn cut_next(&self, path: &str) {
        lock(&self.state)
            .scripts
            .entry(path.into())
            .or_default()
            .push(Scripted::Cut);
    }

    /// Redirects `from` to `to` (a path), permanently (301) or not (302).
    pub fn redirect(&self, from: &str, to: &str, permanent: bool) {
        let status = if permanent {
            StatusCode::MOVED_PERMANENTLY
        } else {
            StatusCode::FOUND
        };
        lock(&self.state)
            .redirects
            .insert(from.into(), (to.into(), status));
    }

    /// Every request, in order.
    pub fn requests(&self) -> Vec<FeedRequest> {
        lock(&self.state).requests.clone()
    }

    /// The requests for `path`.
    pub fn requests_for(&self, path: &str) -> Vec<FeedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

impl Drop for FakeFeeds {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render(feed: &FakeFeed) -> String {
    match feed.format {
        FeedFormat::Rss => {
            let items: String = feed
                .entries
                .iter()
                .map(|e| {
                    let guid = e
                        .id
                        .as_ref()
                        .map(|id| format!("<guid isPermaLink=\"false\">{}</guid>", escape(id)))
                        .unwrap_or_default();
                    let author = e
                        .author
                        .as_ref()
                        .map(|a| format!("<dc:creator>{}</dc:creator>", escape(a)))
                        .unwrap_or_default();
                    let date = e
                        .published
                        .map(|d| format!("<pubDate>{}</pubDate>", d.to_rfc2822()))
                        .unwrap_or_default();
                    format!(
                        "<item>{guid}<title>{}</title><link>{}</link>{author}<description>{}</description>{date}</item>\n",
                        escape(&e.title),
                        escape(&e.link),
                        escape(&e.html)
                    )
                })
                .collect();
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n<channel><title>{}</title><link>https://forum.acme.example/</link><description>fake</description>\n{items}</channel></rss>\n",
                escape(&feed.title)
            )
        }
        FeedFormat::Atom => {
            let entries: String = feed
                .entries
                .iter()
                .map(|e| {
                    let id = e.id.clone().unwrap_or_else(|| e.link.clone());
                    let published = e.published.unwrap_or(feed.modified);
                    let author = e
                        .author
                        .as_ref()
                        .map(|a| format!("<author><name>{}</name></author>", escape(a)))
                        .unwrap_or_default();
                    format!(
                        "<entry><id>{}</id><title type=\"text\">{}</title><link rel=\"alternate\" href=\"{}\"/>{author}<published>{}</published><updated>{}</updated><content type=\"html\">{}</content></entry>\n",
                        escape(&id),
                        escape(&e.title),
                        escape(&e.link),
                        published.to_rfc3339(),
                        published.to_rfc3339(),
                        escape(&e.html)
                    )
                })
                .collect();
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{}</title><id>urn:fake:{}</id><updated>{}</updated>\n{entries}</feed>\n",
                escape(&feed.title),
                feed.version,
                feed.modified.to_rfc3339()
            )
        }
    }
}

fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

async fn serve(State(state): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_owned();
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut request = FeedRequest {
        path: path.clone(),
        if_none_match: header_text(header::IF_NONE_MATCH),
        if_modified_since: header_text(header::IF_MODIFIED_SINCE),
        user_agent: header_text(header::USER_AGENT),
        status: 200,
    };
    let mut s = lock(&state);
    let (status, response) = answer(&mut s, &path, &request);
    request.status = status;
    s.requests.push(request);
    response
}

fn answer(s: &mut FakeState, path: &str, request: &FeedRequest) -> (u16, Response) {
    let scripted = s
        .scripts
        .get_mut(path)
        .and_then(|script| (!script.is_empty()).then(|| script.remove(0)));
    if let Some(Scripted::Status {
        status,
        retry_after,
    }) = scripted
    {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut response = (code, "try again later").into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        return (status, response);
    }
    if let Some((to, status)) = s.redirects.get(path).cloned() {
        let mut response = status.into_response();
        if let Ok(v) = HeaderValue::from_str(&to) {
            response.headers_mut().insert(header::LOCATION, v);
        }
        return (status.as_u16(), response);
    }
    let Some(feed) = s.feeds.get(path) else {
        return (404, (StatusCode::NOT_FOUND, "no such feed").into_response());
    };
    if feed.gone {
        return (
            410,
            (StatusCode::GONE, "this feed was removed").into_response(),
        );
    }
    let etag = feed.etag();
    let modified = http_date(feed.modified);
    let fresh = match (&request.if_none_match, &request.if_modified_since) {
        (Some(tags), _) => tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        (None, Some(since)) => DateTime::parse_from_rfc2822(since)
            .is_ok_and(|since| since.with_timezone(&Utc).timestamp() >= feed.modified.timestamp()),
        (None, None) => false,
    };
    let validators = |response: &mut Response| {
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        if let Ok(v) = HeaderValue::from_str(&modified) {
            h.insert(header::LAST_MODIFIED, v);
        }
    };
    if fresh {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        validators(&mut response);
        return (304, response);
    }
    let content_type = match feed.format {
        FeedFormat::Rss => "application/rss+xml; charset=utf-8",
        FeedFormat::Atom => "application/atom+xml; charset=utf-8",
    };
    let body = feed
        .body_override
        .clone()
        .unwrap_or_else(|| render(feed).into_bytes());
    let mut response = if matches!(scripted, Some(Scripted::Cut)) {
        Response::new(half_then_reset(&body))
    } else {
        Response::new(Body::from(body))
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    validators(&mut response);
    (200, response)
}
