#!/usr/bin/env bash
# The queue's pace (`Store::queue_pace`) before and after migration 46's index, on both
# backends, with the store's own migrations: N conversations (default 300,000; 60 % answered,
# one opened every 8.64 s over 30 days), the count of the last hour's answers timed without
# and with `conversations_last_brand`. Needs sqlite3, python3 and psql (PostgreSQL at
# $PGHOST, default 127.0.0.1, user postgres, database `test` for the scratch database).
#
#   crates/earshot-store/bench/queue_pace.sh [N]
set -euo pipefail
N=${1:-300000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fill_sql() { # $1: timestamp expression for "now", $2: seconds-per-conversation expression
  cat <<SQL
INSERT INTO conversations (id, network, customer_external_id, customer, root_external_id, status,
  priority_score, band, priority, signals, language, intent, sentiment, opened_at, last_activity_at,
  awaiting_since, first_response_due, post_count, last_brand_at)
SELECT i, 'x', 'c'||i, '{}', 'r'||i, CASE WHEN i%10<6 THEN 'resolved' ELSE 'open' END, 1.0, 'normal',
  '{}', '{}', 'en', 'question', 'neutral', $1 - $2, $1 - $2,
  CASE WHEN i%10>=6 THEN $1 - $2 END, $1, 2,
  CASE WHEN i%10<6 THEN $1 - $2 + $3 END
SQL
}

echo "## SQLite, $N conversations"
DB="$WORK/pace.db"
for f in "$HERE"/migrations/sqlite/00*.sql; do
  case $f in *0046_*) ;; *) sqlite3 "$DB" < "$f" ;; esac
done
NOW=1767225600000000
{ echo "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < $N)"
  fill_sql "$NOW" "i*8640000" "600000000"; echo "FROM n; ANALYZE;"; } | sqlite3 "$DB"
time_sqlite() {
  python3 - "$DB" "$((NOW - 3600000000))" <<'PY'
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
q = "SELECT COUNT(*) FROM conversations WHERE last_brand_at > ?"
args = (int(sys.argv[2]),)
c.execute(q, args).fetchall()
k, t = 50, time.perf_counter()
for _ in range(k):
    n = c.execute(q, args).fetchone()[0]
print(f"{(time.perf_counter() - t) / k * 1000:.3f} ms per count ({n} answered in the last hour);",
      c.execute("EXPLAIN QUERY PLAN " + q, args).fetchall()[0][3])
PY
}
echo -n "before: "; time_sqlite
sqlite3 "$DB" < "$HERE/migrations/sqlite/0046_last_brand_index.sql"; sqlite3 "$DB" "ANALYZE;"
echo -n "after:  "; time_sqlite

echo "## PostgreSQL, $N conversations"
P="psql -q -h ${PGHOST:-127.0.0.1} -U postgres -v ON_ERROR_STOP=1"
$P -d test -c "DROP DATABASE IF EXISTS earshot_queue_pace" -c "CREATE DATABASE earshot_queue_pace"
for f in "$HERE"/migrations/postgres/00*.sql; do
  case $f in *0046_*) ;; *) $P -d earshot_queue_pace -f "$f" > /dev/null ;; esac
done
{ fill_sql "now0" "i * interval '8.64 s'" "interval '10 min'"
  echo "FROM generate_series(1, $N) i, (SELECT timestamptz '2026-01-01' AS now0) t;"
  echo "VACUUM ANALYZE conversations;"; } | $P -d earshot_queue_pace
Q="SELECT count(*) FROM conversations WHERE last_brand_at > timestamptz '2026-01-01' - interval '1 hour'"
time_pg() {
  for _ in 1 2 3 4 5; do
    $P -d earshot_queue_pace -At -c "EXPLAIN (ANALYZE) $Q" | grep -E "Execution Time|Scan" | tr '\n' ' '
    echo
  done
}
echo "before:"; time_pg
$P -d earshot_queue_pace -f "$HERE/migrations/postgres/0046_last_brand_index.sql"
$P -d earshot_queue_pace -c "VACUUM ANALYZE conversations"
echo "after:"; time_pg
$P -d test -c "DROP DATABASE earshot_queue_pace"
