-- When the customer and the brand last wrote, so a brand post that arrives late (after a newer
-- customer post) does not stop the response clock, and a late customer post does not restart it.
ALTER TABLE conversations ADD COLUMN last_customer_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_brand_at INTEGER;
UPDATE conversations SET last_customer_at = COALESCE(awaiting_since, opened_at), last_brand_at = first_response_at;
