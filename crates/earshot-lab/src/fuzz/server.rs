//! The server's parsers of outside bytes, reached the way outsiders reach them: the signature
//! headers of `POST /api/v1/posts`, the configuration file and its environment overrides, a
//! search query on a real store, and the public survey form over HTTP.

use chrono::Utc;
use earshot_connect::fuzz::Target;
use earshot_core::{Author, Network, NewPost};
use earshot_server::config::Settings;
use earshot_server::signature::Verifier;
use earshot_store::survey::NewSurvey;
use earshot_store::{SearchQuery, Store, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "signature headers (POST /api/v1/posts)",
            seeds: vec![
                b"msg-1\n1700000000\nv1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=\n\n{\"a\":1}"
                    .to_vec(),
                b"msg-2\n1700000000\nv1,abc v1,def\nt=1700000000,v1=00ff\n[]".to_vec(),
            ],
            check: signature,
        },
        Target {
            name: "configuration (earshot.toml and EARSHOT__ overrides)",
            seeds: vec![
                CONFIG.as_bytes().to_vec(),
                TRIAGE_CONFIG.as_bytes().to_vec(),
            ],
            check: config,
        },
        Target {
            name: "search query (SQLite FTS5)",
            seeds: vec![
                b"charger broken".to_vec(),
                "sædet \"seat back\" -idle".as_bytes().to_vec(),
                b"NEAR(a b) OR *".to_vec(),
            ],
            check: search,
        },
        Target {
            name: "survey form (POST /survey/{token})",
            seeds: vec![
                b"score=5&buy_again=yes&comment=Quick+and+kind".to_vec(),
                b"score=0&buy_again=maybe&comment=%E2%80%AE".to_vec(),
                b"score=3&score=4&csrf=x".to_vec(),
            ],
            check: survey,
        },
    ]
}

const CONFIG: &str = r#"listen = "127.0.0.1:8080"
data_dir = "earshot-data"
db = ""
[brand]
handles = ["voltra", "voltrasupport"]
names = ["Voltra"]
keywords = ["supercharger", "model v"]
[response]
clock = "business"
timezone = "Europe/Copenhagen"
holidays = ["2026-12-24", "2026-12-25"]
[response.hours]
"mon-fri" = "08:00-22:00"
"sat-sun" = "10:00-18:00"
[response.targets]
urgent_minutes = 30
high_minutes = 60
normal_minutes = 240
low_minutes = 1440
[webhook]
secret = "whsec_c2VjcmV0LWZvci1lYXJzaG90LWFwaS10ZXN0cy0wMDAx"
tolerance_seconds = 300
max_body_bytes = 1048576
[[connectors.mastodon]]
base_url = "https://mastodon.social"
brand_acct = "voltra"
access_token = "t"
[[connectors.rss]]
name = "reviews"
feeds = [{ url = "https://www.trustpilot.com/review/voltra.example/rss", label = "Trustpilot" }]
---
EARSHOT__RESPONSE__CLOCK=calendar
EARSHOT__BRAND__HANDLES=["acme"]
"#;

const TRIAGE_CONFIG: &str = r#"[triage.hours.care-eu]
timezone = "Europe/Copenhagen"
week = { "mon-fri" = "08:00-18:00" }
holidays = ["2026-12-24"]
[[triage.policies]]
name = "big accounts"
when = { followers_at_least = 100000 }
first_response = { within = "1h" }
resolution = { within = "8h", hours = "care-eu" }
[[triage.routes]]
name = "everything"
team = "care-eu"
[triage.teams.care-eu]
strategy = "least_loaded"
agents = [{ name = "maria", capacity = 12 }]
"#;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn lossy(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

/// Lines: webhook-id, webhook-timestamp, webhook-signature, Earshot-Signature, then the body.
fn signature(input: &[u8]) -> Result<(), String> {
    static VERIFIER: OnceLock<Option<Verifier>> = OnceLock::new();
    let Some(v) = VERIFIER.get_or_init(|| {
        Verifier::new("whsec_c2VjcmV0LWZvci1lYXJzaG90LWFwaS10ZXN0cy0wMDAx", 300).ok()
    }) else {
        return Err("the test secret is refused".into());
    };
    let text = lossy(input);
    let mut parts = text.splitn(5, '\n');
    let mut next = || parts.next().unwrap_or_default().to_string();
    let (id, ts, sig, alt, body) = (next(), next(), next(), next(), next());
    let now = 1_700_000_000;
    let headers: Vec<(&str, &str)> = vec![
        ("webhook-id", id.as_str()),
        ("webhook-timestamp", ts.as_str()),
        ("webhook-signature", sig.as_str()),
        ("earshot-signature", alt.as_str()),
    ];
    let _ = v.verify(headers.as_slice(), body.as_bytes(), now);
    // Any secret text either makes a verifier or is refused with a reason.
    let _ = Verifier::new(&id, 300);
    // A signature made for this body verifies; one byte more in the body does not.
    let fresh = format!("fuzz-{}", COUNTER.fetch_add(1, Ordering::Relaxed));
    let signed = v.sign(&fresh, now, body.as_bytes());
    let now_text = now.to_string();
    let good: Vec<(&str, &str)> = vec![
        ("webhook-id", fresh.as_str()),
        ("webhook-timestamp", now_text.as_str()),
        ("webhook-signature", signed.as_str()),
    ];
    if let Err(e) = v.verify(good.as_slice(), body.as_bytes(), now) {
        return Err(format!("a correct signature was refused: {e}"));
    }
    let mut tampered = body.clone().into_bytes();
    tampered.push(b' ');
    let fresh = format!("fuzz-{}", COUNTER.fetch_add(1, Ordering::Relaxed));
    let signed = v.sign(&fresh, now, body.as_bytes());
    let bad: Vec<(&str, &str)> = vec![
        ("webhook-id", fresh.as_str()),
        ("webhook-timestamp", now_text.as_str()),
        ("webhook-signature", signed.as_str()),
    ];
    if v.verify(bad.as_slice(), &tampered, now).is_ok() {
        return Err("a tampered body was accepted".into());
    }
    Ok(())
}

/// The TOML file, then after a `---` line the environment (`KEY=value` per line).
fn config(input: &[u8]) -> Result<(), String> {
    let text = lossy(input);
    let (file, env) = text.split_once("\n---\n").unwrap_or((text.as_str(), ""));
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let path = std::env::temp_dir().join(format!(
        "earshot-fuzz-{}-{}.toml",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, file).map_err(|e| e.to_string())?;
    let loaded = Settings::load_with_env(Some(&path), env);
    let _ = std::fs::remove_file(&path);
    if let Ok(s) = loaded {
        let _ = s.check();
        let _ = s.triage();
        let _ = s.triage_policy();
        // What `earshot config check` prints.
        toml::to_string_pretty(&s).map_err(|e| format!("valid settings do not print: {e}"))?;
    }
    Ok(())
}

/// A runtime and what it keeps alive for the targets that need a store or a server.
struct Rig<T> {
    runtime: tokio::runtime::Runtime,
    state: T,
    _dir: tempfile::TempDir,
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn post(id: &str, text: &str) -> NewPost {
    NewPost {
        from_brand: Some(false),
        ..NewPost::new(
            Network::X,
            id,
            Author::new(format!("u-{id}"), format!("customer{id}")),
            text,
            Utc::now(),
        )
    }
}

type SearchRig = Rig<Arc<dyn Store>>;

fn search_rig() -> Result<SearchRig, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let runtime = runtime()?;
    let db = dir.path().join("search.db").display().to_string();
    let store = runtime.block_on(async {
        let store = earshot_store::open(&db).await.map_err(|e| e.to_string())?;
        let analyzer = earshot_analyze::Analyzer::default();
        let posts = [
            post("1", "@voltra my charger is broken again"),
            post("2", "@voltra kan I få sædet til at køre tilbage?"),
            post("3", "NEAR the \"seat\" - AND OR NOT * ^ idle cars"),
        ];
        let batch = posts
            .into_iter()
            .map(|p| earshot_core::threading::Incoming {
                analysis: analyzer.analyze(&p),
                post: p,
                from_brand: false,
            })
            .collect();
        store
            .ingest(batch, &Default::default(), Utc::now())
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(store)
    })?;
    Ok(Rig {
        runtime,
        state: store,
        _dir: dir,
    })
}

/// Any query is answered or refused as invalid: never a database error.
fn search(input: &[u8]) -> Result<(), String> {
    static RIG: OnceLock<Result<SearchRig, String>> = OnceLock::new();
    let rig = RIG.get_or_init(search_rig).as_ref().map_err(Clone::clone)?;
    let q: String = lossy(input).chars().take(1000).collect();
    let result = rig.runtime.block_on(rig.state.search(&SearchQuery {
        q: q.clone(),
        network: None,
        language: None,
        intent: None,
        sentiment: None,
        limit: 10,
        offset: 0,
    }));
    match result {
        Ok(_) | Err(StoreError::Invalid(_)) => Ok(()),
        Err(e) => Err(format!("search {q:?} failed: {e}")),
    }
}

struct SurveyServer {
    base: String,
    client: reqwest::Client,
    desk: Arc<earshot_server::Desk>,
    /// The open survey's token; a fresh one once it is answered.
    token: Mutex<String>,
}

type SurveyRig = Rig<SurveyServer>;

fn survey_rig() -> Result<SurveyRig, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let runtime = runtime()?;
    let mut s = Settings {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".into(),
        ..Settings::default()
    };
    s.survey.enabled = true;
    s.survey.public_url = "http://127.0.0.1".into();
    let state = runtime.block_on(async {
        let app = earshot_server::App::build(s)
            .await
            .map_err(|e| e.to_string())?;
        let base = app.address();
        let desk = app.desk().clone();
        tokio::spawn(app.run_until_stopped());
        let server = SurveyServer {
            base,
            client: reqwest::Client::new(),
            desk,
            token: Mutex::new(String::new()),
        };
        let token = open_survey(&server).await?;
        *server.token.lock().unwrap_or_else(|p| p.into_inner()) = token;
        Ok::<_, String>(server)
    })?;
    Ok(Rig {
        runtime,
        state,
        _dir: dir,
    })
}

/// A conversation with a survey waiting for its answer; its token.
async fn open_survey(server: &SurveyServer) -> Result<String, String> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let report = server
        .desk
        .pipeline()
        .ingest(vec![post(
            &format!("survey-{n}"),
            "@voltra thanks for the help",
        )])
        .await
        .map_err(|e| e.to_string())?;
    let conversation = report
        .posts
        .first()
        .and_then(|p| p.conversation_id)
        .ok_or("the post opened no conversation")?;
    let token = earshot_server::survey::new_token();
    server
        .desk
        .store()
        .create_survey(NewSurvey {
            conversation_id: conversation,
            token_hash: earshot_server::survey::token_hash(&token),
            network: Network::X,
            language: "en".into(),
            agent: Some("maria".into()),
            request_id: None,
            created_at: Utc::now(),
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(token)
}

/// Any form body, and any token in the path, gets a page: never a server error.
fn survey(input: &[u8]) -> Result<(), String> {
    static RIG: OnceLock<Result<SurveyRig, String>> = OnceLock::new();
    let rig = RIG.get_or_init(survey_rig).as_ref().map_err(Clone::clone)?;
    let server = &rig.state;
    rig.runtime.block_on(async {
        let token = server
            .token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let r = server
            .client
            .post(format!("{}/survey/{token}", server.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(input.to_vec())
            .send()
            .await
            .map_err(|e| format!("the survey answer got no response: {e}"))?;
        if r.status().is_server_error() {
            return Err(format!("the survey answer got {}", r.status()));
        }
        // Answered: the next input gets a fresh survey.
        let answered = server
            .desk
            .store()
            .survey_by_token(&earshot_server::survey::token_hash(&token))
            .await
            .map_err(|e| e.to_string())?
            .is_some_and(|s| s.answered_at.is_some());
        if answered {
            let next = open_survey(server).await?;
            *server.token.lock().unwrap_or_else(|p| p.into_inner()) = next;
        }
        // The same bytes as a token in the path.
        let path: String = url_path_segment(input);
        let r = server
            .client
            .get(format!("{}/survey/{path}", server.base))
            .send()
            .await
            .map_err(|e| format!("the survey page got no response: {e}"))?;
        if r.status().is_server_error() {
            return Err(format!("GET /survey/{path} got {}", r.status()));
        }
        Ok(())
    })
}

/// Bytes as one percent-encoded path segment.
fn url_path_segment(input: &[u8]) -> String {
    input
        .iter()
        .take(200)
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
