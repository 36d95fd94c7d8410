-- What a request's figures need from each ask, kept beside it: aggregating a request's asks
-- then reads only request_posts instead of each post's row (a random read into the largest
-- table per ask).
ALTER TABLE request_posts ADD COLUMN network text;
ALTER TABLE request_posts ADD COLUMN author text;
ALTER TABLE request_posts ADD COLUMN followers bigint;
ALTER TABLE request_posts ADD COLUMN asked_at timestamptz;
ALTER TABLE request_posts ADD COLUMN lang text;
UPDATE request_posts rp SET network = p.network, author = p.author_external_id,
    followers = COALESCE(p.author_followers, 0), asked_at = p.created_at, lang = p.lang
FROM posts p WHERE p.id = rp.post_id;
-- Covering indexes: a request's askers and languages are read in index order.
CREATE INDEX request_posts_by_asker ON request_posts (request_id, network, author, followers, asked_at);
CREATE INDEX request_posts_by_language ON request_posts (request_id, lang);
