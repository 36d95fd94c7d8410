use super::*;

#[test]
fn search_words_are_quoted_and_safe() {
    assert!(matches!(search_words("   "), Err(StoreError::Invalid(_))));
    assert_eq!(search_words("AND( \" *").ok(), Some(vec!["AND("]));
    assert_eq!(search_words("-- ;").ok(), Some(vec![]));
    assert_eq!(
        search_words("car\0seat\u{1b}").ok(),
        Some(vec!["car", "seat"])
    );
    assert_eq!(fts5_query(&["car", "seat"]), "\"car\" \"seat\"");
    assert_eq!(fts5_query(&["say\"hi"]), "\"say\"\"hi\"");
}

#[test]
fn statuses_are_deduplicated_and_empty_means_all() {
    let mut f = InboxFilter {
        status: vec![Status::Open, Status::Open],
        ..InboxFilter::default()
    };
    assert_eq!(inbox_statuses(&f), vec![Status::Open]);
    f.status.clear();
    assert_eq!(inbox_statuses(&f).len(), 3);
}

#[test]
fn placeholders_follow_the_dialect() {
    let mut s = Sql::new(Dialect::Postgres);
    assert_eq!(s.bind(Arg::Int(1)), "$1");
    let mut s = Sql::new(Dialect::Sqlite);
    s.bind(Arg::Int(1));
    assert_eq!(s.bind(Arg::Int(2)), "?2");
}
