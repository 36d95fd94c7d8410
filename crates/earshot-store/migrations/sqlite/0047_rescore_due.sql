-- When each waiting conversation's stored rank next goes stale (`threading::rank_moves_at`):
-- the re-ranking pass reads only the rows due by its time, not every one owed an answer.
-- NULL: its rank does not move with time. Rows stored before, and any row written without
-- it, take the default: due at once, so the next pass ranks them and says when next.
-- Microseconds since the epoch, as every time here.
ALTER TABLE conversations ADD COLUMN rescore_due INTEGER DEFAULT 0;
CREATE INDEX conversations_rescore_due ON conversations (rescore_due, id)
    WHERE awaiting_since IS NOT NULL;
-- Waiting with no fair turn noted (there was no pace to judge one by): a pass that has a pace
-- notes theirs, reading only these (started waiting within the hour).
CREATE INDEX conversations_turn_unnoted ON conversations (awaiting_since)
    WHERE awaiting_since IS NOT NULL AND json_extract(signals, '$.fair_turn_at') IS NULL;
