-- Authors edit and delete posts after earshot heard them. An edit replaces the text (the
-- generated search column follows); a deletion empties it but keeps the row, so the
-- conversation's history and its response times still hold.
ALTER TABLE posts ADD COLUMN edited_at timestamptz;
ALTER TABLE posts ADD COLUMN deleted_at timestamptz;
