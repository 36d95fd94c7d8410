-- The queue's pace (`Store::queue_pace`, read before every re-ranking of the inbox) counts the
-- conversations the brand answered in the last hour: without an index on `last_brand_at` that
-- count read every conversation. Conversations the brand never answered are left out.
CREATE INDEX conversations_last_brand ON conversations (last_brand_at)
    WHERE last_brand_at IS NOT NULL;
