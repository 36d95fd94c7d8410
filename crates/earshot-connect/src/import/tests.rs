use super::*;

fn detect_str(s: &str) -> Result<Format, ImportError> {
    detect(Path::new("test.file"), s.as_bytes())
}

#[test]
fn formats_are_told_apart() {
    let cases = [
        (r#"{"network":"x","id":"1","author":{"id":"u"},"text":"t","created_at":"2026-08-20T09:14:57Z"}"#, Format::Canonical),
        (r#"{"posts":[]}"#, Format::Canonical),
        ("tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n1,a,True,x,y,,", Format::TwcsCsv),
        ("row,main_tweet_id,tweet_id,in_response_to_tweet_id,response_tweet_id,created_at,author_id,inbound,text,company\n", Format::TwcsCsv),
        (r#"{"id":"1","uri":"u","content":"<p>x</p>","account":{"id":"2"}}"#, Format::MastodonStatus),
        (r#"[{"id":"1","created_at":"t","account":{"id":"2","note":"{\"type\":1}"},"content":"<p>x</p>"}]"#, Format::MastodonStatus),
        (r#"{"id":"1","type":"mention","created_at":"t","account":{"id":"2"},"status":{"content":"x"}}"#, Format::MastodonNotification),
        (r#"{"did":"did:plc:a","time_us":1,"kind":"identity","identity":{}}"#, Format::Jetstream),
        ("\r\n\r\n{\"data\":{\"id\":\"1\"},\"includes\":{}}", Format::XStream),
        (r#"[{"update_id":1,"message":{"message_id":2}}]"#, Format::TelegramUpdate),
        (r#"[{"id":"1","channel_id":"2","author":{"id":"3"},"content":"hi"}]"#, Format::DiscordMessage),
        (r#"{"reviews":[{"reviewId":"gp:1","comments":[]}]}"#, Format::GooglePlayReview),
        (r#"[{"reviewId":"gp:1","authorName":"M","comments":[]}]"#, Format::GooglePlayReview),
        (r#"{"kind":"youtube#commentThreadListResponse","etag":"x","items":[]}"#, Format::YouTubeComment),
        (r#"{"kind":"youtube#comment","etag":"x","id":"c","snippet":{}}"#, Format::YouTubeComment),
        (r#"{"errors":[{"title":"operational-disconnect"}]}"#, Format::XStream),
        ("\u{feff}  {\"network\":", Format::Canonical),
        ("[]", Format::Canonical),
    ];
    for (input, expected) in cases {
        assert_eq!(detect_str(input).unwrap(), expected, "{input}");
    }
}

#[test]
fn a_truncated_sniff_window_still_shows_the_keys() {
    let cut = r#"{"did":"did:plc:a","time_us":1787217298123456,"kind":"commit","commit":{"rev":"3lxq7h2mfak2c","operation":"cre"#;
    assert_eq!(detect_str(cut).unwrap(), Format::Jetstream);
}

#[test]
fn unknown_content_is_explained() {
    let e = detect_str(r#"{"foo":1,"bar":{"baz":[1,2]}}"#).unwrap_err();
    let message = e.to_string();
    assert!(message.contains("keys foo, bar"), "{message}");
    assert!(message.contains("TWCS CSV"), "{message}");
    assert!(message.contains("Jetstream"), "{message}");

    let e = detect_str("id,user,body\n1,2,3").unwrap_err();
    assert!(matches!(e, ImportError::CsvHeader { .. }), "{e}");
    assert!(e.to_string().contains("tweet_id"), "{e}");

    let e = detect_str("hello world").unwrap_err();
    assert!(e.to_string().contains("\"hello world\""), "{e}");
    assert!(matches!(
        detect_str(" \n\n "),
        Err(ImportError::Empty { .. })
    ));
    assert!(matches!(
        detect_str("[1,2]"),
        Err(ImportError::UnknownFormat { .. })
    ));
}

#[test]
fn format_names_round_trip() {
    for f in Format::ALL {
        assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
    }
    assert_eq!("X_Stream".parse::<Format>().unwrap(), Format::XStream);
    assert!("xml".parse::<Format>().is_err());
}

fn values(input: &str, array: bool) -> Vec<(usize, String)> {
    let mut reader = ValueReader::new(io::BufReader::with_capacity(7, input.as_bytes()), array);
    let mut out = Vec::new();
    while let Some(payload) = reader.next_payload().unwrap() {
        match payload {
            Payload::Bytes { line } => {
                out.push((line, String::from_utf8(reader.buf.clone()).unwrap()))
            }
            Payload::TooLong { .. } => panic!("too long"),
        }
    }
    assert_eq!(reader.bytes_read, input.len() as u64);
    out
}

#[test]
fn arrays_split_into_elements_with_their_lines() {
    let input =
        "[\n  {\"a\": \"}]\\\"\",\n   \"b\": [1, {\"c\": 2}]},\n  {\"d\": 1}\n, 5, \"s,]\"]\n";
    assert_eq!(
        values(input, true),
        [
            (
                2,
                "{\"a\": \"}]\\\"\",\n   \"b\": [1, {\"c\": 2}]}".to_owned()
            ),
            (4, "{\"d\": 1}".to_owned()),
            (5, "5".to_owned()),
            (5, "\"s,]\"".to_owned()),
        ]
    );
    assert!(values("[]", true).is_empty());
    assert_eq!(values("[1]", true), [(1, "1".to_owned())]);
}

#[test]
fn concatenated_values_split_too() {
    let input = "{\n  \"a\": 1\n}\n{\n  \"b\": \"x\\ny\"\n}\n";
    assert_eq!(
        values(input, false),
        [
            (1, "{\n  \"a\": 1\n}".to_owned()),
            (4, "{\n  \"b\": \"x\\ny\"\n}".to_owned()),
        ]
    );
    // A value cut short by the end of the file is still handed over (to be rejected).
    assert_eq!(values("{\"a\":", false), [(1, "{\"a\":".to_owned())]);
}

#[test]
fn lines_skip_blanks_and_count_every_line() {
    let input = "\u{feff}{\"a\":1}\r\n\r\n  \n{\"b\":2}\n{\"c\":3}";
    let mut reader = LineReader::new(io::BufReader::with_capacity(5, input.as_bytes()));
    let mut out = Vec::new();
    while let Some(Payload::Bytes { line }) = reader.next_payload().unwrap() {
        out.push((line, String::from_utf8(reader.buf.clone()).unwrap()));
    }
    assert_eq!(
        out,
        [
            (1, "{\"a\":1}".to_owned()),
            (4, "{\"b\":2}".to_owned()),
            (5, "{\"c\":3}".to_owned()),
        ]
    );
    assert_eq!(reader.bytes_read, input.len() as u64);
}

#[test]
fn json_shapes() {
    assert_eq!(json_shape(b"{\"a\":1}\n{\"a\":2}"), JsonShape::Lines);
    assert_eq!(json_shape(b"\n{\n  \"a\": 1\n}"), JsonShape::Concatenated);
    assert_eq!(json_shape(b"  [\n{}"), JsonShape::Array);
}
