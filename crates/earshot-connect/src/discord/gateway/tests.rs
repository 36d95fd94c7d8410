use super::*;

#[test]
fn the_cursor_keeps_the_session_and_each_channels_last_message() {
    let mut cursor = Cursor {
        v: 1,
        ..Cursor::default()
    };
    cursor.advance("12", "1406214753081282590");
    cursor.advance("12", "1406214753081282500");
    assert!(cursor.seen("12", "1406214753081282590"));
    assert!(!cursor.seen("12", "1406214753081282591"));
    assert!(!cursor.seen("13", "1"));
    cursor.session_id = Some("abc".into());
    cursor.seq = Some(42);
    let back = Cursor::parse(&cursor.encode()).unwrap();
    assert_eq!(back, cursor);
    assert_eq!(
        back.channels["12"], "1406214753081282590",
        "never moves back"
    );
    assert_eq!(Cursor::parse(r#"{"v":2}"#), None);
    let mut run = Run::detached();
    run.cursor = back;
    assert!(matches!(closed(Some(4004), &mut run), Ended::Auth(_)));
    assert!(
        matches!(closed(Some(4014), &mut run), Ended::Config(r) if r.contains("Message Content Intent"))
    );
    assert!(
        run.cursor.session_id.is_some(),
        "a final close keeps nothing from being resumed"
    );
    assert!(matches!(closed(Some(4009), &mut run), Ended::Retry { .. }));
    assert_eq!(run.cursor.session_id, None, "4009: a new session");
}
