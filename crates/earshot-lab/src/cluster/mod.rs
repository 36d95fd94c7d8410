//! Cluster mode as real processes: a fresh PostgreSQL database and fresh NATS names
//! ([`Services`]), `earshot serve` processes started on them ([`Process`]), and the signed
//! intake as a customer's system calls it ([`Intake`]). Shared by the cluster tests
//! (`crates/earshot/tests/cluster.rs`) and `earshot bench cluster` ([`bench`]).

pub mod bench;
mod cpu;
mod report;
mod sink;
mod watch;

pub use cpu::cpu_seconds;

use anyhow::{bail, Context};
use earshot_server::signature::Verifier;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The signing secret of the processes' intake (a test value, never a real one).
pub const SECRET: &str = "whsec_Y2x1c3Rlci10ZXN0cy1zZWNyZXQtMDAwMDAx";
/// The processes' API token.
pub const TOKEN: &str = "cluster-tests-api-token-0123456789abcdef";
pub const DEFAULT_NATS: &str = "nats://127.0.0.1:4222";
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A service the cluster needs is not there: what, and why.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {why}")]
pub struct Unavailable {
    pub what: String,
    pub why: String,
}

/// One run's services: a fresh database and bus names (stream, consumer, subjects) no other
/// run uses, so runs never see each other. [`Services::close`] removes both.
pub struct Services {
    pub db_url: String,
    pub nats_url: String,
    /// The unique part of every name.
    pub tag: String,
    db: String,
    admin: tokio_postgres::Client,
    nats: async_nats::Client,
}

impl Services {
    /// Creates the database on the PostgreSQL at `postgres` (its database part is replaced)
    /// and checks that NATS answers at `nats_url`.
    pub async fn open(postgres: &str, nats_url: &str) -> Result<Services, Unavailable> {
        let unavailable = |what: &str, why: String| Unavailable {
            what: what.to_string(),
            why,
        };
        let nats_what = format!("NATS at {nats_url}");
        let nats = match tokio::time::timeout(Duration::from_secs(5), async_nats::connect(nats_url))
            .await
        {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(unavailable(&nats_what, e.to_string())),
            Err(_) => return Err(unavailable(&nats_what, "timed out after 5 s".into())),
        };
        let pg_what = format!("PostgreSQL at {}", hide_password(postgres));
        let (admin, connection) = match tokio::time::timeout(
            Duration::from_secs(10),
            tokio_postgres::connect(postgres, tokio_postgres::NoTls),
        )
        .await
        {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => return Err(unavailable(&pg_what, e.to_string())),
            Err(_) => return Err(unavailable(&pg_what, "timed out after 10 s".into())),
        };
        tokio::spawn(connection);
        let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let db = format!("earshot_cluster_{tag}");
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .map_err(|e| unavailable(&pg_what, format!("cannot create a database: {e}")))?;
        Ok(Services {
            db_url: with_database(postgres, &db),
            nats_url: nats_url.to_string(),
            tag,
            db,
            admin,
            nats,
        })
    }

    /// The JetStream stream heard posts go to.
    pub fn stream(&self) -> String {
        format!("C_{}", self.tag)
    }

    /// A connection to this run's database, to count what was stored.
    pub async fn store(&self) -> anyhow::Result<tokio_postgres::Client> {
        let (client, connection) = tokio_postgres::connect(&self.db_url, tokio_postgres::NoTls)
            .await
            .context("connecting to the run's database")?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// Removes the stream and the database (processes still connected are cut off).
    pub async fn close(self) {
        let stream = self.stream();
        let _ = async_nats::jetstream::new(self.nats)
            .delete_stream(stream)
            .await;
        let _ = self
            .admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db))
            .await;
    }

    /// Starts one `earshot serve` (the executable `exe`) of this cluster in `data` on a free
    /// port, with `config` when given, and waits until it listens.
    pub fn serve(&self, exe: &Path, data: &Path, config: Option<&Path>) -> anyhow::Result<Process> {
        let mut command = Command::new(exe);
        command.arg("--data-dir").arg(data);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            // A stray ./earshot.toml must not change the processes.
            .current_dir(data)
            .env_remove("EARSHOT_CONFIG")
            .env("EARSHOT__DB", &self.db_url)
            .env("EARSHOT__BUS__URL", &self.nats_url)
            .env("EARSHOT__BUS__STREAM", self.stream())
            .env("EARSHOT__BUS__CONSUMER", format!("ingest_{}", self.tag))
            .env("EARSHOT__BUS__SUBJECTS", format!("c{}", self.tag))
            .env("EARSHOT__BRAND__HANDLES", "[\"acme\"]")
            .env("EARSHOT__WEBHOOK__SECRET", SECRET)
            .env("EARSHOT__API__TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        match listening_at(&mut child) {
            Ok(base) => Ok(Process {
                child,
                base,
                data: data.to_path_buf(),
                _temporary: None,
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// [`Services::serve`] in a data directory of its own, removed with the process.
    pub fn serve_fresh(&self, exe: &Path) -> anyhow::Result<Process> {
        let data = tempfile::tempdir()?;
        let mut process = self.serve(exe, data.path(), None)?;
        process._temporary = Some(data);
        Ok(process)
    }
}

/// A running `earshot serve`; killed (SIGKILL) when dropped, so a failed run leaves none.
pub struct Process {
    pub child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Its data directory (kept for a restart).
    pub data: PathBuf,
    _temporary: Option<tempfile::TempDir>,
}

impl Process {
    /// SIGKILL: no release of leases, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads the server's log until it says where it listens, then keeps draining it (a full
/// pipe would stop the server).
fn listening_at(child: &mut Child) -> anyhow::Result<String> {
    let Some(stderr) = child.stderr.take() else {
        bail!("the server's log is not readable");
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut last = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.strip_prefix("earshot is listening on ") {
                if !sent {
                    let base = at.split_whitespace().next().unwrap_or_default().to_string();
                    let _ = tx.send(Ok(base));
                    sent = true;
                }
            } else if !sent {
                last.push(line);
            }
        }
        if !sent {
            let _ = tx.send(Err(last.join("\n")));
        }
    });
    match rx.recv_timeout(Duration::from_secs(90)) {
        Ok(Ok(base)) => Ok(base),
        Ok(Err(log)) => bail!("earshot serve stopped before it listened:\n{log}"),
        Err(_) => bail!("earshot serve did not listen within 90 s"),
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let root = base.rsplit_once('/').map(|(r, _)| r).unwrap_or(base);
    format!("{root}/{db}{query}")
}

/// `url` with any password replaced by `***`, for messages.
fn hide_password(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// An HTTP client that sends [`TOKEN`].
pub fn client() -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {TOKEN}").parse()?,
    );
    Ok(reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(64)
        .build()?)
}

/// The signed intake (`POST /api/v1/posts`) as a customer's system calls it.
#[derive(Clone)]
pub struct Intake {
    client: reqwest::Client,
    verifier: Verifier,
}

impl Intake {
    pub fn new() -> anyhow::Result<Intake> {
        Ok(Intake {
            client: client()?,
            verifier: Verifier::new(SECRET, 300)?,
        })
    }

    /// Delivers `body` to the process at `base` as the webhook delivery `delivery`; the
    /// status it got (an error only when no answer came).
    pub async fn deliver(
        &self,
        base: &str,
        delivery: &str,
        body: &[u8],
    ) -> reqwest::Result<reqwest::StatusCode> {
        let ts = chrono::Utc::now().timestamp();
        let r = self
            .client
            .post(format!("{base}/api/v1/posts"))
            .header("content-type", "application/json")
            .header("webhook-id", delivery)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", self.verifier.sign(delivery, ts, body))
            .body(body.to_vec())
            .send()
            .await?;
        Ok(r.status())
    }
}

/// A customer's post as the signed intake takes it (network `x`, its own author).
pub fn post(id: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"network": "x", "id": id,
        "author": {"id": format!("u-{id}"), "handle": format!("user-{id}")},
        "text": text, "created_at": chrono::Utc::now().to_rfc3339()}))
    .unwrap_or_default()
}

/// The lease roles `/readyz` says the process at `base` holds (`None`: no answer).
pub async fn roles(client: &reqwest::Client, base: &str) -> Option<Vec<String>> {
    let r = client.get(format!("{base}/readyz")).send().await.ok()?;
    let ready: serde_json::Value = r.json().await.ok()?;
    serde_json::from_value(ready["roles"].clone()).ok()
}
