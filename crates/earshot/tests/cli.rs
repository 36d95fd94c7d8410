//! The command line as a person uses it: import a file, read the inbox, answer, resolve.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn earshot(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("EARSHOT__BRAND__HANDLES", "[\"voltra\"]")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn import_reports_bad_lines_and_keeps_the_rest_then_agents_work_the_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mixed.jsonl");

    let (ok, out, err) = earshot(dir.path(), &["import", fixture, "--json"]);
    assert!(ok, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["read"], 4);
    assert_eq!(summary["new"], 3);
    assert_eq!(summary["rejected"], 1);
    let why = summary["rejections"][0].as_str().unwrap();
    assert!(why.contains("mixed.jsonl:3"), "line number reported: {why}");

    // Importing again stores nothing new.
    let (ok, out, _) = earshot(dir.path(), &["import", fixture, "--json"]);
    assert!(ok);
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["new"], 0);
    assert_eq!(again["duplicates"], 3);

    // Paul was answered (pending); Mette waits in the open inbox.
    let (ok, out, err) = earshot(dir.path(), &["inbox", "--json"]);
    assert!(ok, "{err}");
    let inbox: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items = inbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["conversation"]["customer"]["handle"],
        "mette.bsky.social"
    );
    let id = items[0]["conversation"]["id"].as_i64().unwrap().to_string();

    let (ok, out, _) = earshot(dir.path(), &["inbox", "--status", "pending", "--json"]);
    assert!(ok);
    let pending: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        pending["items"][0]["conversation"]["first_response_secs"],
        24 * 60
    );

    // No Bluesky connector is configured: nothing is posted, and the command says so.
    let (ok, _, err) = earshot(
        dir.path(),
        &[
            "reply",
            &id,
            "Tak for idéen! Vi giver den videre.",
            "--as",
            "maria",
        ],
    );
    assert!(!ok, "a reply nobody posted is not a success");
    assert!(
        err.contains("NOT sent") && err.contains("[[connectors.bluesky]]") && err.contains("--key"),
        "{err}"
    );
    let (ok, out, _) = earshot(dir.path(), &["show", &id, "--json"]);
    assert!(ok);
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["replies"][0]["state"], "not_sent");
    assert_eq!(
        shown["conversation"]["status"], "open",
        "still owed an answer"
    );
    let (ok, out, _) = earshot(dir.path(), &["resolve", &id, "--as", "maria"]);
    assert!(ok);
    assert!(out.contains("resolved"), "{out}");
    let (ok, _, err) = earshot(dir.path(), &["resolve", &id]);
    assert!(!ok, "resolving twice is refused");
    assert!(err.contains("cannot resolve"), "{err}");

    let (ok, out, _) = earshot(dir.path(), &["show", &id]);
    assert!(ok);
    assert!(out.contains("sædet") && out.contains("maria"), "{out}");
    assert!(out.contains("not_sent"), "{out}");

    let (ok, _, err) = earshot(dir.path(), &["show", "9999"]);
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn help_has_examples() {
    let (ok, out, _) = earshot(std::path::Path::new("/tmp"), &["--help"]);
    assert!(ok);
    assert!(out.contains("Examples:") && out.contains("earshot demo"));
    for sub in [
        "serve",
        "demo",
        "import",
        "inbox",
        "show",
        "reply",
        "assign",
        "unassign",
        "pend",
        "resolve",
        "reopen",
        "search",
        "metrics",
        "train",
        "bench",
        "connectors",
        "config",
    ] {
        let (ok, out, _) = earshot(std::path::Path::new("/tmp"), &[sub, "--help"]);
        assert!(ok, "{sub} --help");
        assert!(
            out.contains("Example"),
            "{sub} --help has an example:\n{out}"
        );
    }
}

#[test]
fn a_file_in_no_known_format_says_what_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes.txt");
    std::fs::write(&f, "just some words\n").unwrap();
    let (ok, _, err) = earshot(dir.path(), &["import", f.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("cannot tell what") && err.contains("Jetstream"),
        "{err}"
    );
}

#[test]
fn connectors_status_says_what_to_do_when_no_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = earshot(
        dir.path(),
        &["connectors", "status", "--url", "http://127.0.0.1:9"],
    );
    assert!(!ok);
    assert!(err.contains("is `earshot serve` running?"), "{err}");
}

#[test]
fn report_works_on_the_demo_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (ok, out, err) = earshot(&data, &["demo", "--no-serve", "--posts", "200"]);
    assert!(ok, "{err}");
    let config = data.join("earshot.toml");
    assert!(
        out.contains(&format!("--config {}", config.display())),
        "the demo says how to use its store later:\n{out}"
    );

    // With the demo's own settings (its [triage] teams and business hours)…
    let out = Command::new(env!("CARGO_BIN_EXE_earshot"))
        .arg("--config")
        .arg(&config)
        .arg("report")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["overall"]["conversations"].as_u64().unwrap() > 50);
    let teams: Vec<&str> = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["dimension"] == "team")
        .filter_map(|g| g["key"].as_str())
        .collect();
    assert!(
        teams.contains(&"care"),
        "the demo's team is in the report: {teams:?}"
    );

    // …and without a [triage] section: the [response] targets alone.
    let (ok, out, err) = earshot(&data, &["report", "--group-by", "network"]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(report["overall"]["conversations"].as_u64().unwrap() > 50);
}

/// Sends a signal by name (`INT`, `TERM`) with the system's `kill`.
fn signal(child: &std::process::Child, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// What `earshot demo` left in its temporary directory's parent.
fn demo_leftovers(tmp: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("earshot-demo"))
        .collect()
}

#[test]
fn the_demo_removes_its_temporary_store_when_stopped() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let demo = |posts: &str| {
        Command::new(env!("CARGO_BIN_EXE_earshot"))
            .args(["demo", "--listen", "127.0.0.1:0", "--posts", posts])
            .env("TMPDIR", tmp.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };

    // Ctrl-C while serving.
    let mut child = demo("200");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let running = stdout.any(|l| l.unwrap().contains("earshot demo is running at"));
    assert!(running, "the demo started serving");
    // Keep reading, so the demo's next lines do not meet a closed pipe.
    let drain = std::thread::spawn(move || stdout.count());
    assert_eq!(
        demo_leftovers(tmp.path()).len(),
        1,
        "the store is there while serving"
    );
    signal(&child, "INT");
    assert!(child.wait().unwrap().success());
    drain.join().unwrap();
    assert_eq!(demo_leftovers(tmp.path()), Vec::<String>::new());

    // SIGTERM while it is still filling the store.
    let mut child = demo("20000");
    let started = std::time::Instant::now();
    while !demo_leftovers(tmp.path())
        .iter()
        .any(|d| tmp.path().join(d).join("earshot.db").exists())
    {
        assert!(
            started.elapsed().as_secs() < 60,
            "the demo never made its store"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    signal(&child, "TERM");
    child.wait().unwrap();
    assert_eq!(demo_leftovers(tmp.path()), Vec::<String>::new());
}

#[test]
fn import_refuses_odd_dates_by_file_and_line_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("odd.jsonl");
    let line = |id: &str, at: &str| {
        format!(
            r#"{{"network":"x","id":"{id}","author":{{"id":"u{id}","handle":"user{id}"}},"text":"@voltra post {id}","created_at":"{at}"}}"#
        )
    };
    let text = [
        line("1", "2017-08-18T20:47:00Z"),
        line("2", "9999-12-31T23:59:59Z"),
        line("3", "2017-08-18T21:47:00Z"),
        line("4", "1970-01-01T00:00:00Z"),
    ]
    .join("\n");
    std::fs::write(&file, text).unwrap();
    let (ok, out, err) = earshot(dir.path(), &["import", file.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["new"], 2, "{summary}");
    assert_eq!(summary["rejected"], 2, "{summary}");
    let why: Vec<&str> = summary["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        why[0].contains("odd.jsonl:2: created_at 9999-12-31"),
        "{why:?}"
    );
    assert!(why[0].contains("more than a day ahead"), "{why:?}");
    assert!(
        why[1].contains("odd.jsonl:4: created_at 1970-01-01"),
        "{why:?}"
    );
    assert!(why[1].contains("before 2006"), "{why:?}");
}

#[test]
fn a_post_imported_again_with_another_text_is_counted_as_an_edit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("posts.jsonl");
    let post = |text: &str| {
        format!(
            r#"{{"network":"x","id":"42","author":{{"id":"u42","handle":"paul"}},"text":"{text}","created_at":"2017-08-18T20:47:00Z"}}"#
        )
    };
    std::fs::write(&file, post("@voltra my charger is blocked by a car")).unwrap();
    let (ok, _, err) = earshot(dir.path(), &["import", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    std::fs::write(&file, post("@voltra my charger is blocked by a taxi")).unwrap();
    let (ok, out, err) = earshot(dir.path(), &["import", file.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&summary["new"], &summary["duplicates"], &summary["edited"]),
        (&0.into(), &1.into(), &1.into()),
        "{summary}"
    );
    let (ok, out, _) = earshot(dir.path(), &["search", "taxi", "--json"]);
    assert!(ok);
    assert!(out.contains("blocked by a taxi"), "{out}");
}

#[test]
fn serve_refuses_a_public_address_without_a_tls_proxy_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = earshot(dir.path(), &["serve", "--listen", "0.0.0.0:0"]);
    assert!(!ok);
    assert!(
        err.contains("plain HTTP")
            && err.contains("trusted_proxies")
            && err.contains("allow_insecure_listen"),
        "{err}"
    );
}

#[test]
fn config_check_explains_the_mode_and_refuses_a_bus_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, _) = earshot(dir.path(), &["config", "check"]);
    assert!(ok && out.contains("mode: embedded"), "{out}");
    let file = dir.path().join("earshot.toml");
    std::fs::write(&file, "[bus]\nurl = \"nats://127.0.0.1:4222\"\n").unwrap();
    let (ok, out, err) = earshot(
        dir.path(),
        &["--config", file.to_str().unwrap(), "config", "check"],
    );
    assert!(!ok, "{out}");
    assert!(
        err.contains("bus.url") && err.contains("postgres://") && err.contains("remove [bus]"),
        "{err}"
    );
    std::fs::write(
        &file,
        "db = \"postgres://care:hunter2@127.0.0.1:9/earshot\"\n[bus]\nurl = \"nats://bus:s3cret@127.0.0.1:4222\"\n",
    )
    .unwrap();
    let (ok, out, err) = earshot(
        dir.path(),
        &["--config", file.to_str().unwrap(), "config", "check"],
    );
    assert!(ok && out.contains("mode: cluster"), "{out}{err}");
    assert!(
        !out.contains("s3cret") && !err.contains("s3cret"),
        "{out}{err}"
    );
}

#[test]
fn config_check_refuses_plaintext_to_another_host_and_a_bad_pool_size() {
    let dir = tempfile::tempdir().unwrap();
    // `.invalid` never resolves: the accepted cases fail at connecting, not at the rule.
    let remote = "postgres://care:hunter2@db.invalid/earshot?connect_timeout=2";
    // Another host without sslmode: TLS or no connection, and config check says so.
    let (_, out, err) = earshot(dir.path(), &["config", "check", "--db", remote]);
    assert!(
        out.contains("store: PostgreSQL, 16 connections per process; TLS required"),
        "{out}{err}"
    );
    // Plaintext asked for: refused, saying how to allow it.
    let plain = format!("{remote}&sslmode=disable");
    let (ok, out, err) = earshot(dir.path(), &["config", "check", "--db", &plain]);
    assert!(!ok, "{out}");
    assert!(err.contains("in the clear"), "{err}");
    assert!(err.contains("allow_plaintext = true"), "{err}");
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}{err}"
    );
    // Said explicitly, in the file: accepted, and named.
    let file = dir.path().join("earshot.toml");
    std::fs::write(&file, "[store]\nallow_plaintext = true\npool_size = 12\n").unwrap();
    let conf = file.to_str().unwrap();
    let (_, out, err) = earshot(
        dir.path(),
        &["--config", conf, "config", "check", "--db", &plain],
    );
    assert!(!err.contains("in the clear"), "{out}{err}");
    assert!(out.contains("configuration is valid"), "{out}{err}");
    assert!(out.contains("pool_size = 12"), "{out}");
    assert!(out.contains("PLAINTEXT to another host"), "{out}");
    std::fs::write(&file, "[store]\npool_size = 0\n").unwrap();
    let (ok, _, err) = earshot(dir.path(), &["--config", conf, "config", "check"]);
    assert!(!ok);
    assert!(err.contains("store.pool_size"), "{err}");
}

#[test]
fn config_check_never_prints_the_database_password() {
    let dir = tempfile::tempdir().unwrap();
    let (_, out, err) = earshot(
        dir.path(),
        &[
            "config",
            "check",
            "--db",
            "postgres://care:hunter2@127.0.0.1:9/earshot",
        ],
    );
    assert!(
        out.contains("postgres://care:***@127.0.0.1:9/earshot"),
        "{out}"
    );
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}{err}"
    );
    // A broken line in the file is located, not quoted.
    let file = dir.path().join("earshot.toml");
    std::fs::write(&file, "db = \"postgres://care:hunter2@db/earshot\n").unwrap();
    let (ok, out, err) = earshot(
        dir.path(),
        &["--config", file.to_str().unwrap(), "config", "check"],
    );
    assert!(!ok);
    assert!(err.contains("line 1"), "{err}");
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}{err}"
    );
}

/// `earshot serve` (or `demo`) as a child process; its stderr lines as they come.
struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    fn start(data: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Running {
        use std::io::BufRead;
        let mut command = Command::new(env!("CARGO_BIN_EXE_earshot"));
        command
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .env("EARSHOT__BRAND__HANDLES", "[\"voltra\"]")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let send = send.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                    if send.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Running { child, lines }
    }

    /// Lines until one contains `marker` (all of them, that one last).
    fn until(&mut self, marker: &str) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let mut seen = vec![];
        while std::time::Instant::now() < deadline {
            match self
                .lines
                .recv_timeout(std::time::Duration::from_millis(200))
            {
                Ok(line) => {
                    let done = line.contains(marker);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                // Ended without saying it: what it said is the reason.
                Err(_) if self.child.try_wait().ok().flatten().is_some() => {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    seen.extend(self.lines.try_iter());
                    break;
                }
                Err(_) => {}
            }
        }
        panic!("no line with {marker:?} in:\n{}", seen.join("\n"));
    }

    /// The address `earshot serve` says it listens on.
    fn address(&mut self) -> String {
        let lines = self.until("earshot is listening on");
        let line = lines.last().map(String::as_str).unwrap_or_default();
        line.split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string()
    }

    /// Stops the process and returns what it printed since.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(std::time::Duration::from_millis(200));
        self.lines.try_iter().collect::<Vec<_>>().join("\n")
    }
}

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut r = reqwest::Client::new().get(url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    })
}

#[test]
fn request_logs_hold_no_survey_token_and_no_query_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = Running::start(
        dir.path(),
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("EARSHOT_LOG", "debug"),
            ("EARSHOT__API__TOKEN", "a-token-for-the-log-test"),
        ],
    );
    let base = running.address();
    let secret = "Zk3vQ9sKk2LkP0p1eXf4c2VjcmV0LXN1cnZleS10b2tlbg";
    let (status, _) = get(&format!("{base}/survey/{secret}"), None);
    assert_eq!(status, 404);
    let (status, _) = get(
        &format!("{base}/api/v1/search?q=my-vin-WVWZZZ1JZXW000001"),
        Some("a-token-for-the-log-test"),
    );
    assert_eq!(status, 200);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = running.stop();
    assert!(log.contains("/survey/…"), "requests are logged:\n{log}");
    assert!(
        !log.contains(secret),
        "the survey token stays out of the log:\n{log}"
    );
    assert!(
        !log.contains("WVWZZZ"),
        "query values stay out of the log:\n{log}"
    );
    assert!(!log.contains("a-token-for-the-log-test"));
}

#[test]
fn serve_on_a_fresh_store_says_how_to_create_the_first_admin() {
    let dir = tempfile::tempdir().unwrap();
    let mut running = Running::start(dir.path(), &["serve", "--listen", "127.0.0.1:0"], &[]);
    let lines = running.until("nobody can sign in yet");
    running.stop();
    assert!(
        lines
            .last()
            .unwrap()
            .contains("earshot admin create-user NAME --role admin"),
        "{lines:?}"
    );
}

#[test]
fn the_demo_prints_a_token_its_curl_examples_work_with() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let mut running = Running::start(
        &data,
        &["demo", "--posts", "150", "--listen", "127.0.0.1:0"],
        &[],
    );
    let lines = running.until("Ctrl-C to stop");
    running.stop();
    let text = lines.join("\n");
    let token = text
        .split("export EARSHOT_TOKEN=")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no token printed:\n{text}"))
        .to_string();
    assert!(token.starts_with("es_"), "{token}");
    let example = lines
        .iter()
        .find(|l| l.contains("ranked inbox:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        example.contains("-H \"Authorization: Bearer $EARSHOT_TOKEN\""),
        "{example}"
    );
    // The store outlives the demo process: serve it again and use the printed token.
    let mut running = Running::start(&data, &["serve", "--listen", "127.0.0.1:0"], &[]);
    let base = running.address();
    let (status, body) = get(&format!("{base}/api/v1/inbox?limit=5"), Some(&token));
    assert_eq!(status, 200, "{body}");
    let (status, _) = get(&format!("{base}/api/v1/inbox?limit=5"), None);
    assert_eq!(status, 401);
    running.stop();
}
