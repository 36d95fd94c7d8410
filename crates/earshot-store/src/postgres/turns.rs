//! Which ingests may run at the same time.
//!
//! Threading a batch decides from what is *not* stored yet: the post is new, its parent has
//! not been heard, its customer has no open conversation, no conversation waits for it. Two
//! transactions deciding that about the same post or customer at once would thread it
//! twice (two conversations for one customer, a reply and its parent apart). So each ingest
//! locks what its plan depends on, as transaction-scoped advisory locks on hashed keys:
//! - every post of the batch and the post it replies to;
//! - every customer who wrote in it (their latest open conversation);
//! - found under those locks: the unheard ancestor of a parent stored without a conversation
//!   (an "orphan", adopted when that ancestor arrives), and the customer of a conversation
//!   that waits for a post of the batch (it becomes the parent author's).
//!
//! Batches that share none of these run side by side; the rows they both update
//! (conversations) are locked `FOR UPDATE` in id order as before. Keys are taken in sorted
//! order, so two ingests never wait on each other in a circle; the keys found later are only
//! *tried*, and when one is held the transaction starts again with all of them.
//!
//! Every ingest also holds the store-wide ingest lock in shared mode, and so does rescoring
//! (it locks the conversation rows it rewrites in id order, as ingest does, so the two
//! serialise on those rows), and so does a queue jump (its one row). Work that must not run
//! beside any ingest (a correction: `take_ingest_turn(IngestTurn::Alone)`) takes it
//! exclusively, and so does a batch with too many keys for PostgreSQL's lock table (a bulk
//! import), which then runs alone as all ingests did before.

use super::*;

/// Keys above this and a batch takes the whole store instead: each advisory lock is an entry
/// in PostgreSQL's shared lock table (`max_locks_per_transaction` × connections: 6,400 by
/// default), which writers with thousands of keys each would fill. The cluster's ingest
/// workers take 64 posts at a time: at most 192 keys.
const MAX_KEYS: usize = 256;

/// Tries before a batch stops looking for keys and takes the whole store.
const MAX_TRIES: usize = 3;

/// The one-key (bigint) advisory lock of a post or a customer. One-key locks never meet the
/// leases' two-key ones; FNV-1a (fixed by its definition) gives the same key in every
/// process and every earshot version, so a cluster mid-upgrade still agrees.
fn key(kind: u8, network: &str, id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in [kind, 0]
        .iter()
        .chain(network.as_bytes())
        .chain(&[0])
        .chain(id.as_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let k = h as i64;
    // Never the store-wide locks' own keys.
    if k == INGEST_LOCK || k == MIGRATION_LOCK {
        k ^ 1
    } else {
        k
    }
}

fn post_key(network: &str, id: &str) -> i64 {
    key(b'p', network, id)
}

fn customer_key(network: &str, id: &str) -> i64 {
    key(b'c', network, id)
}

/// The keys a batch's plan depends on before anything is read.
fn batch_keys(batch: &[Incoming]) -> Vec<i64> {
    let mut keys = Vec::with_capacity(batch.len() * 3);
    for i in batch {
        let net = i.post.network.as_str();
        keys.push(post_key(net, &i.post.external_id));
        if let Some(parent) = &i.post.in_reply_to {
            keys.push(post_key(net, parent));
        }
        if !i.from_brand {
            keys.push(customer_key(net, &i.post.author.external_id));
        }
    }
    keys
}

/// Keys found under the first locks: the unheard ancestors above parents stored without a
/// conversation, and the customers of conversations waiting for a post of the batch.
async fn found_keys<C: GenericClient>(c: &C, batch: &[Incoming]) -> Result<Vec<i64>, StoreError> {
    let (nets, parents) = key_arrays(batch.iter().filter_map(|i| {
        i.post
            .in_reply_to
            .as_deref()
            .map(|p| (i.post.network.as_str(), p))
    }));
    let (post_nets, ids) = key_arrays(
        batch
            .iter()
            .map(|i| (i.post.network.as_str(), i.post.external_id.as_str())),
    );
    // The walk up stops at a post with a conversation or one not stored (the ancestor whose
    // arrival adopts the chain); 64 steps bound a loop of replies.
    let rows = query(
        c,
        "WITH RECURSIVE up(network, external_id, depth) AS ( \
             SELECT k.network, k.external_id, 0 FROM UNNEST($1::text[], $2::text[]) AS k(network, external_id) \
             UNION ALL \
             SELECT p.network, p.in_reply_to, up.depth + 1 FROM up \
             JOIN posts p ON p.network = up.network AND p.external_id = up.external_id \
             WHERE p.conversation_id IS NULL AND p.in_reply_to IS NOT NULL AND up.depth < 64) \
         SELECT 'p', network, external_id FROM up WHERE depth > 0 \
         UNION ALL \
         SELECT 'c', c.network, c.customer_external_id FROM UNNEST($3::text[], $4::text[]) AS k(network, external_id) \
         JOIN conversations c ON c.network = k.network AND c.awaits_parent = k.external_id",
        &[&nets, &parents, &post_nets, &ids],
    )
    .await?;
    rows.iter()
        .map(|r| {
            let (kind, net, id): (&str, &str, &str) = (text(r, 0)?, text(r, 1)?, text(r, 2)?);
            Ok(if kind == "p" {
                post_key(net, id)
            } else {
                customer_key(net, id)
            })
        })
        .collect()
}

/// Takes this batch's turn inside `tx`. `false`: a key found under the first locks is held
/// by another ingest, so the caller rolls back and tries again (`found` now holds it, to be
/// waited for in order with the rest).
pub(super) async fn take_turn<C: GenericClient>(
    tx: &C,
    batch: &[Incoming],
    found: &mut Vec<i64>,
    tries: usize,
) -> Result<bool, StoreError> {
    let mut keys = batch_keys(batch);
    keys.extend_from_slice(found);
    keys.sort_unstable();
    keys.dedup();
    if keys.len() > MAX_KEYS || tries >= MAX_TRIES {
        execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK]).await?;
        return Ok(true);
    }
    execute(
        tx,
        "SELECT pg_advisory_xact_lock_shared($1)",
        &[&INGEST_LOCK],
    )
    .await?;
    // UNNEST keeps the array's order: the keys are taken smallest first.
    execute(
        tx,
        "SELECT pg_advisory_xact_lock(k) FROM UNNEST($1::bigint[]) AS k",
        &[&keys],
    )
    .await?;
    let mut more = found_keys(tx, batch).await?;
    more.sort_unstable();
    more.dedup();
    more.retain(|k| keys.binary_search(k).is_err());
    if more.is_empty() {
        return Ok(true);
    }
    let row = query_opt(
        tx,
        "SELECT bool_and(pg_try_advisory_xact_lock(k)) FROM UNNEST($1::bigint[]) AS k",
        &[&more],
    )
    .await?;
    let all: Option<bool> = row.map(|r| r.try_get(0)).transpose()?.flatten();
    if all == Some(true) {
        return Ok(true);
    }
    found.extend(more);
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fixed_by_their_definition_and_kept_apart() {
        // FNV-1a of "p", 0, "x", 0, "123": the same in every process and version.
        assert_eq!(post_key("x", "123"), post_key("x", "123"));
        assert_eq!(post_key("x", "123") as u64, {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in b"p\x00x\x00123" {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x100_0000_01b3);
            }
            h
        });
        assert_ne!(post_key("x", "123"), customer_key("x", "123"));
        assert_ne!(post_key("x", "123"), post_key("reddit", "123"));
        assert_ne!(post_key("x", "1"), post_key("x1", ""));
    }
}
