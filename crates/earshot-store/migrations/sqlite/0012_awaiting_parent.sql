-- A customer's reply whose parent has not been heard opens a conversation that waits for it:
-- when the parent comes, it joins that conversation (issue 11 §5). Few conversations wait, so
-- the index holds only those.
ALTER TABLE conversations ADD COLUMN awaits_parent TEXT;
CREATE INDEX conversations_awaiting_parent ON conversations (network, awaits_parent)
    WHERE awaits_parent IS NOT NULL;
