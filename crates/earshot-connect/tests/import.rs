//! The importers against recorded files: each format is detected, every good record comes
//! through with the right fields, and bad records are reported with their line numbers.

use earshot_connect::import::{detect, Format, ImportError, Importer, Record};
use earshot_connect::mastodon::StatusKey;
use earshot_core::{Network, NewPost};
use std::io::Write;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Everything read from a file, sorted by kind, with line numbers.
#[derive(Debug, Default)]
struct Read {
    format: Option<Format>,
    posts: Vec<(usize, NewPost)>,
    skipped: Vec<(usize, String)>,
    rejected: Vec<(usize, String)>,
}

impl Read {
    fn post_lines(&self) -> Vec<usize> {
        self.posts.iter().map(|(l, _)| *l).collect()
    }
    fn skipped_lines(&self) -> Vec<usize> {
        self.skipped.iter().map(|(l, _)| *l).collect()
    }
    fn rejected_lines(&self) -> Vec<usize> {
        self.rejected.iter().map(|(l, _)| *l).collect()
    }
    fn post_at(&self, line: usize) -> &NewPost {
        &self
            .posts
            .iter()
            .find(|(l, _)| *l == line)
            .unwrap_or_else(|| panic!("no post at line {line}: {self:#?}"))
            .1
    }
    fn rejection_at(&self, line: usize) -> &str {
        &self
            .rejected
            .iter()
            .find(|(l, _)| *l == line)
            .unwrap_or_else(|| panic!("no rejection at line {line}: {self:#?}"))
            .1
    }
}

fn read_all(importer: Importer) -> Read {
    let total = importer.total_bytes();
    let mut read = Read {
        format: Some(importer.format()),
        ..Read::default()
    };
    let mut importer = importer;
    let mut last_progress = 0;
    let mut last_line = 0;
    while let Some(record) = importer.next() {
        let progress = importer.bytes_read();
        assert!(
            progress >= last_progress && progress <= total,
            "progress {progress} of {total}"
        );
        last_progress = progress;
        assert!(record.line() > last_line, "lines go forward: {record:?}");
        last_line = record.line();
        match record {
            Record::Post { line, post } => read.posts.push((line, post)),
            Record::Skipped { line, reason } => read.skipped.push((line, reason)),
            Record::Rejected { line, reason } => read.rejected.push((line, reason)),
        }
    }
    assert_eq!(importer.bytes_read(), total, "the whole file was read");
    assert!(
        importer.next().is_none(),
        "a finished importer stays finished"
    );
    read
}

fn import(path: &Path) -> Read {
    read_all(Importer::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn temp_file(contents: &[u8], suffix: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(suffix)
        .tempfile()
        .expect("temp file");
    file.write_all(contents).expect("write temp file");
    file.flush().expect("flush temp file");
    file
}

#[test]
fn canonical_jsonl_with_a_broken_line_in_the_middle() {
    let read = import(&fixture("canonical.jsonl"));
    assert_eq!(read.format, Some(Format::Canonical));
    assert_eq!(read.post_lines(), [1, 2, 4, 6, 8]);
    assert_eq!(read.rejected_lines(), [3, 7]);
    assert!(read.skipped.is_empty());
    assert!(
        read.rejection_at(3).contains("not valid JSON"),
        "{}",
        read.rejection_at(3)
    );
    assert!(
        read.rejection_at(7).contains("`network`"),
        "{}",
        read.rejection_at(7)
    );
    assert!(
        read.rejection_at(7).contains("myspace"),
        "{}",
        read.rejection_at(7)
    );

    let paul = read.post_at(1);
    assert_eq!(paul.network, Network::X);
    assert_eq!(paul.external_id, "896523232098078720");
    assert_eq!(paul.author.handle, "paulfranks");
    assert_eq!(paul.author.followers, Some(1520));
    assert_eq!(paul.created_at.to_rfc3339(), "2017-08-19T03:47:00+00:00");
    assert_eq!(paul.from_brand, None);
    assert_eq!(paul.raw, None);

    let mette = read.post_at(2);
    assert_eq!(mette.network, Network::Mastodon);
    assert_eq!(
        mette.author.handle, "mette@mastodon.dk",
        "leading @ stripped"
    );
    assert_eq!(mette.lang.as_deref(), Some("da"));
    assert!(mette.text.contains("Hvad kan jeg gøre?"));
    assert_eq!(mette.created_at.to_rfc3339(), "2026-08-21T18:47:12+00:00");

    let giulia = read.post_at(4);
    assert_eq!(giulia.network, Network::Bluesky);
    assert_eq!(giulia.lang.as_deref(), Some("it"));
    assert_eq!(
        giulia.in_reply_to.as_deref(),
        Some("at://did:plc:acme/app.bsky.feed.post/3lxq9")
    );
    assert!(giulia.text.contains("arriverà"));

    let brand = read.post_at(6);
    assert_eq!(brand.from_brand, Some(true));
    assert!(brand.author.verified);
    assert_eq!(brand.in_reply_to.as_deref(), Some("896523232098078720"));

    let numeric = read.post_at(8);
    assert_eq!(numeric.external_id, "896523232098078722");
    assert_eq!(numeric.author.external_id, "12345");
}

#[test]
fn mastodon_status_array_with_hostile_html_and_a_boost() {
    let read = import(&fixture("mastodon-statuses.json"));
    assert_eq!(read.format, Some(Format::MastodonStatus));
    assert_eq!(read.post_lines(), [2, 49, 84]);
    assert_eq!(read.skipped_lines(), [116]);
    assert!(read.rejected.is_empty(), "{:?}", read.rejected);
    assert!(read.skipped[0].1.contains("boost"), "{}", read.skipped[0].1);

    let mette = read.post_at(2);
    assert_eq!(mette.network, Network::Mastodon);
    assert_eq!(mette.external_id, "115063500000000001");
    assert_eq!(
        mette.text,
        "@acme Hej! Min lader har ikke virket siden opdateringen i går.\nHvad kan jeg gøre? #elbil"
    );
    assert_eq!(mette.author.handle, "mette@mastodon.dk");
    assert_eq!(mette.author.display_name.as_deref(), Some("Mette Holm"));
    assert_eq!(mette.author.followers, Some(212));
    assert_eq!(mette.lang.as_deref(), Some("da"));
    assert_eq!(
        mette.url.as_deref(),
        Some("https://mastodon.dk/@mette/115063499990000001")
    );
    let raw = mette
        .raw
        .as_deref()
        .expect("network payloads keep their raw JSON");
    assert!(raw.trim_start().starts_with('{') && raw.contains("\"mentions\""));

    let giulia = read.post_at(49);
    assert_eq!(
        giulia.text,
        "Lamentela sull'ordine\n\nCiao @acme,\n\nl'ordine #5521 è in ritardo di una settimana & nessuno risponde."
    );
    assert_eq!(giulia.in_reply_to.as_deref(), Some("115063400000000009"));
    assert_eq!(giulia.lang.as_deref(), Some("it"));

    let hostile = read.post_at(84);
    assert_eq!(hostile.text, "Free kettle!claim here\n\n<b>not bold</b>");
    for gone in [
        "script",
        "cookie",
        "onerror",
        "alert",
        "display:none",
        "frame",
        "javascript",
    ] {
        assert!(
            !hostile.text.contains(gone),
            "{gone} leaked: {}",
            hostile.text
        );
    }
    assert!(hostile.author.bot);
}

#[test]
fn mastodon_statuses_can_be_keyed_by_uri() {
    let importer = Importer::open(&fixture("mastodon-statuses.json"))
        .expect("open")
        .mastodon_key(StatusKey::Uri)
        .keep_raw(false);
    let read = read_all(importer);
    assert_eq!(
        read.post_at(2).external_id,
        "https://mastodon.dk/users/mette/statuses/115063499990000001"
    );
    assert_eq!(read.post_at(2).raw, None);
}

#[test]
fn mastodon_notifications_keep_mentions_only() {
    let read = import(&fixture("mastodon-notifications.jsonl"));
    assert_eq!(read.format, Some(Format::MastodonNotification));
    assert_eq!(read.post_lines(), [1, 5, 7]);
    assert_eq!(read.skipped_lines(), [2, 3, 6]);
    assert_eq!(read.rejected_lines(), [4]);
    assert!(
        read.skipped[0].1.contains("favourite"),
        "{}",
        read.skipped[0].1
    );

    let lena = read.post_at(1);
    assert_eq!(lena.external_id, "115063412345678901");
    assert_eq!(
        lena.text,
        "@acme Seit dem Update startet die App nicht mehr. #AcmeApp"
    );
    assert_eq!(lena.author.handle, "lena@fosstodon.example");
    assert_eq!(lena.author.followers, Some(1834));
    assert_eq!(lena.lang.as_deref(), Some("de"));
    assert_eq!(lena.created_at.to_rfc3339(), "2026-08-20T09:14:57+00:00");
    assert_eq!(read.post_at(5).lang.as_deref(), Some("it"));
    assert_eq!(read.post_at(7).lang.as_deref(), Some("da"));
}

#[test]
fn a_pretty_printed_notification_reads_as_one_record() {
    let read = import(&fixture("mastodon-notification-pretty.json"));
    assert_eq!(read.format, Some(Format::MastodonNotification));
    assert_eq!(read.post_lines(), [1]);
    assert_eq!(read.post_at(1).author.handle, "lena@fosstodon.example");
}

#[test]
fn jetstream_skips_what_is_not_a_post() {
    let read = import(&fixture("jetstream.jsonl"));
    assert_eq!(read.format, Some(Format::Jetstream));
    assert_eq!(read.post_lines(), [1, 4, 9]);
    assert_eq!(read.skipped_lines(), [2, 3, 5, 6, 7, 10]);
    assert_eq!(read.rejected_lines(), [8]);
    let reasons: Vec<&str> = read.skipped.iter().map(|(_, r)| r.as_str()).collect();
    assert!(reasons[0].contains("app.bsky.feed.like"), "{reasons:?}");
    assert!(reasons[1].contains("identity"), "{reasons:?}");
    assert!(reasons[2].contains("delete"), "{reasons:?}");
    assert!(reasons[4].contains("account"), "{reasons:?}");

    let ana = read.post_at(1);
    assert_eq!(ana.network, Network::Bluesky);
    assert_eq!(
        ana.external_id,
        "at://did:plc:7x2kq4mhd3vlrwy5n6aqzt4e/app.bsky.feed.post/3lxq7h2lzgs2c"
    );
    assert_eq!(ana.author.external_id, "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e");
    assert_eq!(
        ana.author.handle, "did:plc:7x2kq4mhd3vlrwy5n6aqzt4e",
        "handle not known yet"
    );
    assert_eq!(ana.lang.as_deref(), Some("es"));
    assert_eq!(
        ana.in_reply_to.as_deref(),
        Some("at://did:plc:q3ov5tmzj6f2xk7lbnc4ahwe/app.bsky.feed.post/3lxp4vq2d2k2a")
    );
    assert!(ana.raw.is_some());

    let soren = read.post_at(4);
    assert_eq!(
        soren.author.handle, "soren.bsky.social",
        "learnt from the identity event"
    );
    assert_eq!(soren.lang.as_deref(), Some("da"));
    assert!(soren.text.contains("logger mig ud"));
    assert_eq!(soren.in_reply_to, None);

    let chiara = read.post_at(9);
    assert_eq!(chiara.lang.as_deref(), Some("it"), "first of langs");
    assert_eq!(chiara.created_at.to_rfc3339(), "2026-08-20T07:20:00+00:00");
    assert_eq!(
        chiara.in_reply_to.as_deref(),
        Some("at://did:plc:q3ov5tmzj6f2xk7lbnc4ahwe/app.bsky.feed.post/3lxq7l9zzzz2c")
    );
}

#[test]
fn x_stream_with_keep_alives_and_an_error_line() {
    let read = import(&fixture("x-stream.jsonl"));
    assert_eq!(read.format, Some(Format::XStream));
    assert_eq!(read.post_lines(), [2, 5, 8]);
    assert_eq!(read.rejected_lines(), [7]);
    assert_eq!(
        read.skipped_lines(),
        [10],
        "the repost; keep-alives are not records"
    );
    assert!(read.rejection_at(7).contains("operational-disconnect"));
    assert!(read.rejection_at(7).contains("disconnected upstream"));

    let priya = read.post_at(2);
    assert_eq!(priya.network, Network::X);
    assert_eq!(priya.external_id, "2090366968135249920");
    assert_eq!(priya.author.handle, "priya_n");
    assert_eq!(priya.author.followers, Some(812));
    assert_eq!(priya.lang.as_deref(), Some("en"));

    let lars = read.post_at(5);
    assert_eq!(lars.in_reply_to.as_deref(), Some("2090366968135249920"));
    assert_eq!(lars.author.display_name.as_deref(), Some("Lars Ø."));
    assert!(lars.author.verified);
    assert_eq!(lars.author.followers, Some(20544));
    assert_eq!(lars.lang.as_deref(), Some("da"));

    let marco = read.post_at(8);
    assert_eq!(
        marco.external_id, "2090368000000000050",
        "keyed by the original of an edit"
    );
    assert_eq!(marco.lang.as_deref(), Some("it"));
    assert_eq!(
        marco.url.as_deref(),
        Some("https://x.com/marco_b/status/2090369000000000099")
    );
}

#[test]
fn twcs_slice_with_a_multiline_row_and_a_bad_row() {
    let read = import(&fixture("twcs-slice.csv"));
    assert_eq!(read.format, Some(Format::TwcsCsv));
    assert_eq!(read.post_lines(), [2, 3, 4, 8, 9, 11]);
    assert_eq!(read.rejected_lines(), [10]);
    assert!(
        read.rejection_at(10).contains("`inbound`"),
        "{}",
        read.rejection_at(10)
    );

    let brand = read.post_at(2);
    assert_eq!(brand.network, Network::X);
    assert_eq!(brand.external_id, "501");
    assert_eq!(brand.author.handle, "AcmeHelp");
    assert_eq!(brand.author.external_id, "AcmeHelp");
    assert_eq!(brand.from_brand, Some(true));
    assert_eq!(brand.in_reply_to.as_deref(), Some("502"));
    assert_eq!(brand.created_at.to_rfc3339(), "2017-08-18T21:11:00+00:00");

    let customer = read.post_at(3);
    assert_eq!(customer.from_brand, Some(false));
    assert_eq!(customer.in_reply_to, None);

    let multiline = read.post_at(4);
    assert_eq!(
        multiline.text,
        "@AcmeHelp my charger stopped working:\n- the light blinks red\n- \"error 42\" on the app\nany ideas?"
    );
    assert_eq!(
        read.post_at(9).in_reply_to.as_deref(),
        Some("504"),
        "pandas' 504.0"
    );
    assert!(read.post_at(11).text.contains("virker ikke"));
}

#[test]
fn twcs_labelled_layout() {
    let read = import(&fixture("twcs-labeled.csv"));
    assert_eq!(read.format, Some(Format::TwcsCsv));
    assert_eq!(read.post_lines(), [2, 3]);
    let customer = read.post_at(2);
    assert_eq!(customer.external_id, "9001");
    assert_eq!(customer.from_brand, Some(false));
    assert_eq!(
        customer.created_at.to_rfc3339(),
        "2017-11-28T06:28:43+00:00"
    );
    let brand = read.post_at(3);
    assert_eq!(brand.from_brand, Some(true));
    assert_eq!(brand.in_reply_to.as_deref(), Some("9001"));
}

#[test]
fn unknown_files_are_explained() {
    let e = Importer::open(&fixture("unknown.json"))
        .err()
        .expect("unknown format");
    let message = e.to_string();
    assert!(message.contains("unknown.json"), "{message}");
    assert!(message.contains("keys foo, bar"), "{message}");
    assert!(message.contains("canonical posts"), "{message}");

    let missing = Importer::open(Path::new("/nonexistent/earshot.jsonl"))
        .err()
        .expect("no file");
    assert!(matches!(missing, ImportError::Io { .. }), "{missing}");

    let empty = temp_file(b"\n\n", ".jsonl");
    assert!(matches!(
        Importer::open(empty.path()),
        Err(ImportError::Empty { .. })
    ));

    let csv = temp_file(b"id,user,body\n1,2,3\n", ".csv");
    let e = Importer::open(csv.path()).err().expect("bad header");
    assert!(e.to_string().contains("tweet_id"), "{e}");
}

#[test]
fn every_fixture_is_detected_from_its_first_bytes() {
    let expected = [
        ("canonical.jsonl", Format::Canonical),
        ("mastodon-statuses.json", Format::MastodonStatus),
        ("mastodon-notifications.jsonl", Format::MastodonNotification),
        (
            "mastodon-notification-pretty.json",
            Format::MastodonNotification,
        ),
        ("jetstream.jsonl", Format::Jetstream),
        ("x-stream.jsonl", Format::XStream),
        ("twcs-slice.csv", Format::TwcsCsv),
        ("twcs-labeled.csv", Format::TwcsCsv),
    ];
    for (name, format) in expected {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        assert_eq!(
            detect(&fixture(name), &bytes).expect(name),
            format,
            "{name}"
        );
        // The sniff works on a short prefix too.
        let prefix = &bytes[..bytes.len().min(200)];
        assert_eq!(
            detect(&fixture(name), prefix).expect(name),
            format,
            "{name} prefix"
        );
    }
}

#[test]
fn a_forced_format_is_used() {
    let importer = Importer::open_as(
        &fixture("mastodon-notifications.jsonl"),
        Format::MastodonStatus,
    )
    .expect("open");
    assert_eq!(importer.format(), Format::MastodonStatus);
    // Mastodon files may mix statuses and notifications; each object is read as what it is.
    assert_eq!(read_all(importer).post_lines(), [1, 5, 7]);
}

#[test]
fn broken_bytes_and_broken_elements_lose_nothing_else() {
    let good = r#"{"network":"x","id":"1","author":{"handle":"a"},"text":"hej","created_at":"2026-08-20T09:14:57Z"}"#;
    let mut jsonl = Vec::new();
    jsonl.extend_from_slice(good.as_bytes());
    jsonl.extend_from_slice(b"\n{\"network\":\"x\",\"id\":\"2\",\"text\":\"\xff\xfe\"}\n");
    jsonl.extend_from_slice(b"[1,2]\n");
    jsonl.extend_from_slice(good.replace("\"1\"", "\"3\"").as_bytes());
    let file = temp_file(&jsonl, ".jsonl");
    let read = import(file.path());
    assert_eq!(read.post_lines(), [1, 4]);
    assert_eq!(read.rejected_lines(), [2, 3]);

    let array = format!(
        "[\n{good},\n{{\"network\":\"x\" \"id\":1}},\n\"a string\",\n{}\n]",
        good.replace("\"1\"", "\"3\"")
    );
    let file = temp_file(array.as_bytes(), ".json");
    let read = import(file.path());
    assert_eq!(read.format, Some(Format::Canonical));
    assert_eq!(read.post_lines(), [2, 5]);
    assert_eq!(read.rejected_lines(), [3, 4]);

    let csv = b"tweet_id,author_id,inbound,created_at,text\n1,a,True,Tue Oct 31 22:10:10 +0000 2017,ok\n2,b,True,Tue Oct 31 22:10:10 +0000 2017,bad \xff byte\n3,c,False,Tue Oct 31 22:10:10 +0000 2017\n4,d,False,Tue Oct 31 22:10:10 +0000 2017,ok\n";
    let file = temp_file(csv, ".csv");
    let read = import(file.path());
    assert_eq!(read.post_lines(), [2, 5]);
    assert_eq!(read.rejected_lines(), [3, 4]);
    assert!(read.rejection_at(3).contains("UTF-8"));
    assert!(
        read.rejection_at(4).contains("`text`"),
        "{}",
        read.rejection_at(4)
    );
}

#[test]
fn an_overlong_line_is_rejected_without_buffering_it() {
    let good = r#"{"network":"x","id":"1","author":{"handle":"a"},"text":"ok","created_at":"2026-08-20T09:14:57Z"}"#;
    let mut contents = Vec::with_capacity(earshot_connect::import::MAX_LINE_BYTES + 1024);
    contents.extend_from_slice(good.as_bytes());
    contents.extend_from_slice(b"\n{\"network\":\"x\",\"text\":\"");
    contents.resize(
        contents.len() + earshot_connect::import::MAX_LINE_BYTES,
        b'a',
    );
    contents.extend_from_slice(b"\"}\n");
    contents.extend_from_slice(good.as_bytes());
    let file = temp_file(&contents, ".jsonl");
    let read = import(file.path());
    assert_eq!(read.post_lines(), [1, 3]);
    assert_eq!(read.rejected_lines(), [2]);
    assert!(
        read.rejection_at(2).contains("limit"),
        "{}",
        read.rejection_at(2)
    );
}

/// The real "Customer Support on Twitter" head sample, when the shared data is present.
#[test]
fn real_twcs_head_sample_imports_cleanly() {
    let path = Path::new("/work/shared/data/twcs-sample-head/dev.csv");
    if !path.exists() {
        eprintln!("skipping: {} is not here", path.display());
        return;
    }
    let read = import(path);
    assert_eq!(read.format, Some(Format::TwcsCsv));
    assert!(
        read.rejected.is_empty(),
        "{:?}",
        &read.rejected[..read.rejected.len().min(5)]
    );
    assert_eq!(read.posts.len(), 3_499);
    let inbound = read
        .posts
        .iter()
        .filter(|(_, p)| p.from_brand == Some(false))
        .count();
    assert_eq!(inbound, 1_956);
    let replies = read
        .posts
        .iter()
        .filter(|(_, p)| p.in_reply_to.is_some())
        .count();
    assert!(replies > 2_000, "{replies} replies");
    // Tweet 3399 holds raw carriage returns inside its quoted text.
    let cr = read
        .posts
        .iter()
        .find(|(_, p)| p.external_id == "3399")
        .expect("tweet 3399");
    assert!(cr.1.text.contains('\r'));
}

/// The other real TWCS files (random sample, labelled topics), when present.
#[test]
fn real_twcs_variants_import_cleanly() {
    let root = Path::new("/work/shared/data");
    let files = [
        ("twcs-sample-random/dev.csv", 3_500),
        ("twcs-sample/sample_train.csv", 65),
        (
            "twcs-labeled-topics/twcs-AmazonHelp-100-outbound.train.csv",
            70,
        ),
        (
            "twcs-labeled-topics/twcs-AmazonHelp-200-inbound.train.csv",
            140,
        ),
        (
            "twcs-labeled-topics/twcs-AppleSupport-200-inbound.train.csv",
            140,
        ),
        (
            "twcs-labeled-topics/twcs-SpotifyCares-100-outbound.train.csv",
            70,
        ),
    ];
    for (name, rows) in files {
        let path = root.join(name);
        if !path.exists() {
            eprintln!("skipping: {} is not here", path.display());
            continue;
        }
        let read = import(&path);
        assert_eq!(read.format, Some(Format::TwcsCsv), "{name}");
        assert!(
            read.rejected.is_empty(),
            "{name}: {:?}",
            &read.rejected[..read.rejected.len().min(5)]
        );
        assert_eq!(read.posts.len(), rows, "{name}");
    }
}
