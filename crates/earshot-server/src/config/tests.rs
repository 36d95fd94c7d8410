use super::*;
use earshot_core::sla::SlaClock;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_are_valid() {
    let s = Settings::load_with_env(None, env(&[])).expect("defaults load");
    assert_eq!(s.listen, "127.0.0.1:8080");
    assert!(s.db_url().ends_with("earshot.db"));
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("earshot.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:9000\"\n[brand]\nhandles = [\"acme\"]\n[response]\nclock = \"business\"\ntimezone = \"Europe/Copenhagen\"\n[response.hours]\nmon-fri = \"09:00-17:00\"\n",
    )
    .expect("write");
    let s = Settings::load_with_env(
        Some(&path),
        env(&[
            ("EARSHOT__LISTEN", "127.0.0.1:9100"),
            (
                "EARSHOT__WEBHOOK__SECRET",
                "s3cr3t-long-enough-to-sign-with",
            ),
            ("EARSHOT__RESPONSE__TARGETS__URGENT_MINUTES", "15"),
            ("UNRELATED", "x"),
        ]),
    )
    .expect("load");
    assert_eq!(s.listen, "127.0.0.1:9100");
    assert_eq!(s.webhook.secret.expose(), "s3cr3t-long-enough-to-sign-with");
    assert_eq!(s.response.targets.urgent_minutes, 15);
    assert_eq!(s.brand.handles, vec!["acme".to_string()]);
    assert!(matches!(
        s.triage_policy().expect("policy").clock,
        SlaClock::Business(_)
    ));
    // Secrets never print.
    assert!(!format!("{s:?}").contains("s3cr3t"));
    assert!(!serde_json::to_string(&s).expect("json").contains("s3cr3t"));
    let err = Settings::load_with_env(None, env(&[("EARSHOT__API__TOKEN", "letmein")]))
        .expect_err("short token");
    assert!(err.to_string().contains("api.token"), "{err}");
    // Too short to sign with: refused, naming the key.
    let err = Settings::load_with_env(None, env(&[("EARSHOT__WEBHOOK__SECRET", "s3cr3t")]))
        .expect_err("short secret");
    assert!(err.to_string().contains("webhook.secret"), "{err}");
}

#[test]
fn the_teams_language_is_one_earshot_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("earshot.toml");
    std::fs::write(&path, "[brand]\nlanguage = \"da\"\n").expect("write");
    let s = Settings::load_with_env(Some(&path), env(&[])).expect("load");
    assert_eq!(s.brand.team_language(), "da");
    assert!(s.check().is_ok());
    assert_eq!(Settings::default().brand.team_language(), "en");
    std::fs::write(&path, "[brand]\nlanguage = \"klingon\"\n").expect("write");
    let err = Settings::load_with_env(Some(&path), env(&[]))
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("brand.language") && err.contains("en, da"),
        "{err}"
    );
}

#[test]
fn database_passwords_never_print() {
    let s = Settings {
        db: "postgres://me:hunter2@db/earshot".into(),
        ..Settings::default()
    };
    assert!(!toml::to_string(&s).expect("toml").contains("hunter2"));
}

#[test]
fn a_broken_line_is_located_but_never_quoted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("earshot.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:8080\"\ndb = \"postgres://me:hunter2@db/earshot\n",
    )
    .expect("write");
    let err = Settings::load_with_env(Some(&path), env(&[])).expect_err("broken");
    let text = err.to_string();
    assert!(text.contains("line 2"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn mistakes_name_their_key() {
    let err = Settings::load_with_env(None, env(&[("EARSHOT__RESPONSE__CLOCK", "lunar")]))
        .expect_err("bad clock");
    assert!(err.to_string().contains("response.clock"), "{err}");
    let err = Settings::load_with_env(None, env(&[("EARSHOT__LISTEN", "everywhere")]))
        .expect_err("bad listen");
    assert!(err.to_string().contains("listen"), "{err}");
    let err =
        Settings::load_with_env(None, env(&[("EARSHOT__BRAND__HANDEL", "x")])).expect_err("typo");
    assert!(err.to_string().contains("handel"), "{err}");
    let err = Settings::load_with_env(None, env(&[("EARSHOT__RESPONSE__CLOCK", "business")]))
        .expect_err("no hours");
    assert!(err.to_string().contains("response.hours"), "{err}");
}

#[test]
fn an_unknown_key_is_named_with_its_section_and_the_known_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("earshot.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:9000\"\n[brand]\nhandels = [\"acme\"]\n",
    )
    .expect("write");
    let err = Settings::load_with_env(Some(&path), env(&[])).expect_err("typo");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: unknown key `handels` in [brand]; known keys: handles, names, keywords, language",
            path.display()
        )
    );
    let err = Settings::load_with_env(None, env(&[("EARSHOT__LISTNE", "127.0.0.1:1")]))
        .expect_err("typo at the top");
    let msg = err.to_string();
    assert!(!msg.contains("TOML"), "{msg}");
    assert!(
        msg.contains("unknown key `listne` at the top level; known keys: listen, data_dir, db"),
        "{msg}"
    );
    // Inside an array of tables, the block is named by its position.
    std::fs::write(
        &path,
        "[[connectors.mastodon]]\nbase_url = \"https://m.example\"\nbrand_acct = \"acme\"\nacess_token = \"t\"\n",
    )
    .expect("write");
    let err = Settings::load_with_env(Some(&path), env(&[])).expect_err("typo in a block");
    let msg = err.to_string();
    assert!(msg.contains("unknown key `acess_token` in [[connectors.mastodon]] #1; known keys: base_url, brand_acct, access_token"), "{msg}");
}
