-- A page is kept until every alert target has settled it (delivered, refused, out of retries
-- or dropped), so a process that dies between claiming a page and sending it does not lose
-- it: whoever holds paging next sends the unsettled ones again from `alert`.
-- Microseconds since the epoch, as every time here.
ALTER TABLE page_claims ADD COLUMN alert TEXT;
ALTER TABLE page_claims ADD COLUMN settled_at INTEGER;
ALTER TABLE page_claims ADD COLUMN outcome TEXT;
-- Claims made before this kept no alert to send again: they count as settled.
UPDATE page_claims SET settled_at = claimed_at, outcome = 'claimed before delivery was tracked';
CREATE INDEX page_claims_unsettled ON page_claims (claimed_at) WHERE settled_at IS NULL;
