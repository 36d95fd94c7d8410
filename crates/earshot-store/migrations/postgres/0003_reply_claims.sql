-- A sender claims a reply before handing it to the network; another process (or a retry) that
-- finds the claim unexpired leaves the reply alone, so one reply is never sent twice at once.
ALTER TABLE replies ADD COLUMN claimed_until timestamptz;
