-- A page is kept until every alert target has settled it (delivered, refused, out of retries
-- or dropped), so a process that dies between claiming a page and sending it does not lose
-- it: whoever holds paging next sends the unsettled ones again from `alert`.
ALTER TABLE page_claims ADD COLUMN alert text;
ALTER TABLE page_claims ADD COLUMN settled_at timestamptz;
ALTER TABLE page_claims ADD COLUMN outcome text;
-- Claims made before this kept no alert to send again: they count as settled.
UPDATE page_claims SET settled_at = claimed_at, outcome = 'claimed before delivery was tracked';
CREATE INDEX page_claims_unsettled ON page_claims (claimed_at) WHERE settled_at IS NULL;
