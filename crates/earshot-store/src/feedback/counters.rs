//! A request's figures kept on its row (migration 0040): asks, distinct askers, reach, first
//! and latest ask, and asks per language (`request_languages`). Grouping an ask adds it to
//! the counters of its request in a few indexed statements; a move or a merge, which takes
//! asks away, recounts the requests it touched from their asks. So the requests page reads
//! one row per request however many asks there are. Only the trend (asks in the last 7 days
//! and the 7 before) is still counted from the asks, reading the last 14 days' only.

use super::{RequestRow, WindowRow};
use crate::db::{args, Conn, Value};
use crate::StoreError;
use chrono::{DateTime, Duration, Utc};
use earshot_core::feedback::Request;

/// Locks the rows of `requests` (lowest id first, so two writers never wait on each other in
/// a circle) for the rest of the transaction: counting an ask reads what is already counted.
pub(crate) async fn lock_requests(c: &mut dyn Conn, requests: &[i64]) -> Result<(), StoreError> {
    let mut ids = requests.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let sql = format!("SELECT id FROM requests WHERE id = $1{}", c.for_update());
        c.query(&sql, args![id]).await?;
    }
    Ok(())
}

/// Adds the ask `post_id`, just written to `request_posts` under `request`, to that
/// request's counters. The request's row must be locked ([`lock_requests`]).
pub(crate) async fn count_ask(
    c: &mut dyn Conn,
    request: i64,
    post_id: i64,
) -> Result<(), StoreError> {
    let ask = c
        .query_one(
            "SELECT network, author, followers, asked_at, lang FROM request_posts \
             WHERE post_id = $1",
            args![post_id],
        )
        .await?;
    let network: String = ask.get(0)?;
    let author: String = ask.get(1)?;
    let followers: i64 = ask.get(2)?;
    let asked_at: DateTime<Utc> = ask.get(3)?;
    let lang: String = ask.get(4)?;
    // The same customer's other asks on this request: a second ask adds no asker, and
    // reach counts each customer's largest audience once.
    let before = c
        .query_one(
            "SELECT COUNT(*), COALESCE(MAX(followers), 0) FROM request_posts \
             WHERE request_id = $1 AND network = $2 AND author = $3 AND post_id <> $4",
            args![request, network, author, post_id],
        )
        .await?;
    let (asked_before, their_reach): (i64, i64) = (before.get(0)?, before.get(1)?);
    let (new_asker, more_reach) = if asked_before == 0 {
        (1, followers)
    } else {
        (0, (followers - their_reach).max(0))
    };
    c.execute(
        "UPDATE requests SET asks = asks + 1, askers = askers + $2, reach = reach + $3, \
         first_ask_at = CASE WHEN first_ask_at IS NULL OR first_ask_at > $4 \
         THEN $4 ELSE first_ask_at END, \
         latest_ask_at = CASE WHEN latest_ask_at IS NULL OR latest_ask_at < $4 \
         THEN $4 ELSE latest_ask_at END WHERE id = $1",
        args![request, new_asker, more_reach, asked_at],
    )
    .await?;
    c.execute(
        "INSERT INTO request_languages (request_id, lang, asks) VALUES ($1, $2, 1) \
         ON CONFLICT (request_id, lang) DO UPDATE SET asks = request_languages.asks + 1",
        args![request, lang],
    )
    .await?;
    Ok(())
}

/// Counts `request`'s figures again from its asks (after asks left it). The same counting
/// as migration 0040's back-fill, for one request.
pub(crate) async fn recount(c: &mut dyn Conn, request: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE requests SET asks = 0, askers = 0, reach = 0, first_ask_at = NULL, \
         latest_ask_at = NULL WHERE id = $1",
        args![request],
    )
    .await?;
    c.execute(
        "UPDATE requests SET asks = a.asks, askers = a.askers, reach = a.reach, \
         first_ask_at = a.first_ask_at, latest_ask_at = a.latest_ask_at \
         FROM (SELECT request_id, SUM(n) AS asks, COUNT(*) AS askers, SUM(followers) AS reach, \
                      MIN(first_ask_at) AS first_ask_at, MAX(latest_ask_at) AS latest_ask_at \
               FROM (SELECT request_id, COUNT(*) AS n, MAX(followers) AS followers, \
                            MIN(asked_at) AS first_ask_at, MAX(asked_at) AS latest_ask_at \
                     FROM request_posts WHERE request_id = $1 \
                     GROUP BY request_id, network, author) per_asker \
               GROUP BY request_id) a \
         WHERE requests.id = a.request_id",
        args![request],
    )
    .await?;
    c.execute(
        "DELETE FROM request_languages WHERE request_id = $1",
        args![request],
    )
    .await?;
    c.execute(
        "INSERT INTO request_languages (request_id, lang, asks) \
         SELECT request_id, lang, COUNT(*) FROM request_posts WHERE request_id = $1 \
         GROUP BY request_id, lang",
        args![request],
    )
    .await?;
    Ok(())
}

/// The requests matching `filter`, a WHERE clause over `requests r` whose one optional value
/// is written `$P`, with their figures as of `now`.
pub(crate) async fn load_requests(
    c: &mut dyn Conn,
    filter: &str,
    arg: Option<Value>,
    now: DateTime<Utc>,
) -> Result<Vec<Request>, StoreError> {
    let own: Vec<Value> = arg.into_iter().collect();
    let sql = format!(
        "SELECT id, title, status, merged_into, tracker_url, created_at, asks, askers, reach, \
         first_ask_at, latest_ask_at FROM requests r WHERE {}",
        filter.replace("$P", "$1")
    );
    let mut rows = Vec::new();
    for r in c.query(&sql, &own).await? {
        rows.push(RequestRow {
            id: r.get(0)?,
            title: r.get(1)?,
            status: r.get(2)?,
            merged_into: r.get(3)?,
            tracker_url: r.get(4)?,
            created_at: r.get(5)?,
            asks: r.get(6)?,
            askers: r.get(7)?,
            reach: r.get(8)?,
            first_ask_at: r.get(9)?,
            latest_ask_at: r.get(10)?,
        });
    }
    let sql = format!(
        "SELECT rl.request_id, rl.lang, rl.asks FROM request_languages rl \
         JOIN requests r ON r.id = rl.request_id WHERE {}",
        filter.replace("$P", "$1")
    );
    let mut languages = Vec::new();
    for r in c.query(&sql, &own).await? {
        languages.push((r.get(0)?, r.get(1)?, r.get(2)?));
    }
    // The trend, over request_posts_by_time: the last 14 days' asks, however old the store.
    let sql = format!(
        "SELECT rp.request_id, SUM(CASE WHEN rp.asked_at >= $1 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN rp.asked_at < $1 THEN 1 ELSE 0 END) \
         FROM request_posts rp JOIN requests r ON r.id = rp.request_id \
         WHERE rp.asked_at >= $2 AND {} GROUP BY rp.request_id",
        filter.replace("$P", "$3")
    );
    let mut values = vec![
        Value::Time(now - Duration::days(7)),
        Value::Time(now - Duration::days(14)),
    ];
    values.extend(own.iter().cloned());
    let mut windows = Vec::new();
    for r in c.query(&sql, &values).await? {
        windows.push(WindowRow {
            request_id: r.get(0)?,
            last_7d: r.get(1)?,
            prior_7d: r.get(2)?,
        });
    }
    super::assemble(rows, windows, languages)
}
