use super::*;
use earshot_core::Status;

#[test]
fn fts5_is_compiled_in() {
    let conn = Connection::open_in_memory().unwrap();
    let on: i64 = conn
        .query_row("SELECT sqlite_compileoption_used('ENABLE_FTS5')", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(on, 1);
}

#[test]
fn migrations_apply_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/earshot.db");
    let path = path.to_str().unwrap();
    SqliteStore::open_blocking(path).unwrap();
    let store = SqliteStore::open_blocking(path).unwrap();
    let conn = lock(&store.inner.writer);
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, MIGRATIONS.len() as i64);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
}

fn plan_of(conn: &Connection, sql: &str, args: &Sql) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt
        .query_map(bound(args), |r| r.get::<_, String>(3))
        .unwrap();
    rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("\n")
}

#[test]
fn hot_queries_use_their_indexes() {
    let store = SqliteStore::open_blocking(":memory:").unwrap();
    let conn = lock(&store.inner.writer);
    let mut sql = Sql::new(Dialect::Sqlite);
    let page = common::inbox_page_ids(&mut sql, &InboxFilter::default(), Utc::now());
    let plan = plan_of(&conn, &page, &sql);
    assert!(plan.contains("conversations_inbox"), "{plan}");
    assert!(
        !plan.contains("TEMP B-TREE FOR ORDER BY"),
        "inbox must not sort: {plan}"
    );

    let mut sql = Sql::new(Dialect::Sqlite);
    let mine = InboxFilter {
        assignee: Some("maria".into()),
        ..InboxFilter::default()
    };
    let page = common::inbox_page_ids(&mut sql, &mine, Utc::now());
    let plan = plan_of(&conn, &page, &sql);
    assert!(plan.contains("conversations_assigned"), "{plan}");

    let filtered = InboxFilter {
        language: Some("da".into()),
        breached: Some(true),
        status: vec![Status::Open, Status::Pending],
        ..InboxFilter::default()
    };
    let mut sql = Sql::new(Dialect::Sqlite);
    let count = common::inbox_count(&mut sql, &filtered, Utc::now());
    let plan = plan_of(&conn, &count, &sql);
    assert!(
        plan.contains("COVERING INDEX conversations_inbox"),
        "counting reads no rows: {plan}"
    );

    let mut sql = Sql::new(Dialect::Sqlite);
    sql.bind(Arg::Text("x".into()));
    sql.bind(Arg::Text("1".into()));
    let plan = plan_of(
        &conn,
        "SELECT external_id FROM posts WHERE network = ?1 AND in_reply_to = ?2 AND in_reply_to IS NOT NULL AND conversation_id IS NULL",
        &sql,
    );
    assert!(plan.contains("posts_orphans"), "{plan}");

    let mut sql = Sql::new(Dialect::Sqlite);
    sql.bind(Arg::Text("\"car\"".into()));
    sql.bind(Arg::Text("x".into()));
    let plan = plan_of(
        &conn,
        "SELECT p.id FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid WHERE posts_fts MATCH ?1 AND p.network = ?2 ORDER BY posts_fts.rowid DESC LIMIT 10",
        &sql,
    );
    assert!(
        !plan.contains("TEMP B-TREE"),
        "search must not sort: {plan}"
    );
}
