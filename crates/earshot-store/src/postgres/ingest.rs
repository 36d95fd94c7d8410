//! PostgreSQL ingest: holding the batch's turn (`turns`: locks on what its threading depends
//! on), gather what is known about a batch, thread it (`earshot_core::threading::plan`) and write the plan with one round trip
//! per table. Kept per backend on purpose: this is the hot path, and its locking is
//! PostgreSQL's.

use super::*;

pub(super) struct Gathered {
    known: Known,
    existing: HashMap<PostKey, Placement>,
}

/// `(networks, ids)` arrays for an `UNNEST($1::text[], $2::text[])` of keys, each key once.
pub(super) fn key_arrays<'a>(
    keys: impl Iterator<Item = (&'a str, &'a str)>,
) -> (Vec<&'a str>, Vec<&'a str>) {
    let mut seen = HashSet::new();
    let mut nets = Vec::new();
    let mut ids = Vec::new();
    for (n, id) in keys {
        if seen.insert((n, id)) {
            nets.push(n);
            ids.push(id);
        }
    }
    (nets, ids)
}

pub(super) async fn gather<C: GenericClient>(
    c: &C,
    batch: &[Incoming],
) -> Result<Gathered, StoreError> {
    let mut known = Known::default();
    let mut existing: HashMap<PostKey, Placement> = HashMap::new();
    let mut conversation_ids: HashSet<i64> = HashSet::new();

    let batch_keys: HashSet<PostKey> = batch.iter().map(|i| i.post.key()).collect();
    let parent_keys: HashSet<PostKey> = batch
        .iter()
        .filter_map(|i| {
            i.post
                .in_reply_to
                .as_ref()
                .map(|p| PostKey::new(i.post.network, p.clone()))
        })
        .collect();

    // The batch's posts and their parents, in one query.
    let (nets, ids) = key_arrays(
        batch
            .iter()
            .map(|i| (i.post.network.as_str(), i.post.external_id.as_str()))
            .chain(batch.iter().filter_map(|i| {
                i.post
                    .in_reply_to
                    .as_deref()
                    .map(|p| (i.post.network.as_str(), p))
            })),
    );
    let rows = query(
        c,
        "SELECT p.id, p.network, p.external_id, p.conversation_id, p.from_brand, p.created_at \
         FROM UNNEST($1::text[], $2::text[]) AS k(network, external_id) \
         JOIN posts p ON p.network = k.network AND p.external_id = k.external_id",
        &[&nets, &ids],
    )
    .await?;
    for r in &rows {
        let key = PostKey::new(common::network(text(r, 1)?)?, r.try_get::<_, String>(2)?);
        let conv: Option<i64> = r.try_get(3)?;
        let kp = KnownPost {
            key: key.clone(),
            conversation_id: conv.map(ConversationId),
            from_brand: r.try_get(4)?,
            created_at: r.try_get(5)?,
        };
        if batch_keys.contains(&key) {
            existing.insert(key.clone(), (r.try_get(0)?, kp.conversation_id));
            known.stored.insert(key.clone());
        }
        if parent_keys.contains(&key) {
            conversation_ids.extend(conv);
            known.parents.insert(key, kp);
        }
    }

    // Conversations opened by a reply to a post of this batch, waiting for it.
    let (nets, ids) = key_arrays(
        batch
            .iter()
            .map(|i| (i.post.network.as_str(), i.post.external_id.as_str())),
    );
    let rows = query(
        c,
        "SELECT c.network, c.awaits_parent, c.id FROM UNNEST($1::text[], $2::text[]) AS k(network, external_id) \
         JOIN conversations c ON c.network = k.network AND c.awaits_parent = k.external_id \
         WHERE c.awaits_parent IS NOT NULL ORDER BY c.id",
        &[&nets, &ids],
    )
    .await?;
    for r in &rows {
        let key = PostKey::new(common::network(text(r, 0)?)?, r.try_get::<_, String>(1)?);
        let id: i64 = r.try_get(2)?;
        if !known.stored.contains(&key) {
            conversation_ids.insert(id);
            known
                .awaiting
                .entry(key)
                .or_default()
                .push(ConversationId(id));
        }
    }

    // Each customer's latest unresolved conversation.
    let (nets, customers) = key_arrays(
        batch
            .iter()
            .filter(|i| !i.from_brand)
            .map(|i| (i.post.network.as_str(), i.post.author.external_id.as_str())),
    );
    if !nets.is_empty() {
        let rows = query(
            c,
            "SELECT DISTINCT ON (c.network, c.customer_external_id) c.network, c.customer_external_id, c.id \
             FROM UNNEST($1::text[], $2::text[]) AS k(network, customer) \
             JOIN conversations c ON c.network = k.network AND c.customer_external_id = k.customer \
             WHERE c.status <> 'resolved' \
             ORDER BY c.network, c.customer_external_id, c.last_activity_at DESC",
            &[&nets, &customers],
        )
        .await?;
        for r in &rows {
            let id: i64 = r.try_get(2)?;
            conversation_ids.insert(id);
            known.open_by_customer.insert(
                (common::network(text(r, 0)?)?, r.try_get(1)?),
                ConversationId(id),
            );
        }
    }

    // Brand posts that are earshot's own automatic replies: no answer, the clock runs on.
    let (nets, ids) = key_arrays(
        batch
            .iter()
            .filter(|i| i.from_brand)
            .map(|i| (i.post.network.as_str(), i.post.external_id.as_str())),
    );
    if !ids.is_empty() {
        let auto_key = format!("{}%", earshot_core::reply::AUTO_REPLY_KEY_PREFIX);
        let rows = query(
            c,
            "SELECT r.network, r.external_id FROM UNNEST($1::text[], $2::text[]) AS k(network, external_id) \
             JOIN replies r ON r.network = k.network AND r.external_id = k.external_id \
             WHERE r.idempotency_key LIKE $3 AND r.author = $4",
            &[
                &nets,
                &ids,
                &auto_key,
                &earshot_core::reply::AUTO_REPLY_AUTHOR,
            ],
        )
        .await?;
        for r in &rows {
            let key = PostKey::new(common::network(text(r, 0)?)?, r.try_get::<_, String>(1)?);
            known.automatic.insert(key);
        }
    }

    // Stored replies waiting for a post of this batch, and whatever waits for those.
    let any_orphans: bool = query_opt(
        c,
        "SELECT EXISTS (SELECT 1 FROM posts WHERE conversation_id IS NULL AND in_reply_to IS NOT NULL)",
        &[],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()?
    .unwrap_or(false);
    if any_orphans {
        let mut seen: HashSet<PostKey> = HashSet::new();
        let mut frontier: Vec<PostKey> = batch_keys
            .iter()
            .filter(|k| !known.stored.contains(*k))
            .cloned()
            .collect();
        while !frontier.is_empty() {
            seen.extend(frontier.iter().cloned());
            let (nets, parents) = key_arrays(
                frontier
                    .iter()
                    .map(|k| (k.network.as_str(), k.external_id.as_str())),
            );
            let rows = query(
                c,
                "SELECT p.network, p.in_reply_to, p.external_id, p.from_brand, p.created_at \
                 FROM UNNEST($1::text[], $2::text[]) AS k(network, parent) \
                 JOIN posts p ON p.network = k.network AND p.in_reply_to = k.parent \
                 WHERE p.conversation_id IS NULL AND p.in_reply_to IS NOT NULL",
                &[&nets, &parents],
            )
            .await?;
            let mut next = Vec::new();
            for r in &rows {
                let network = common::network(text(r, 0)?)?;
                let parent = PostKey::new(network, r.try_get::<_, String>(1)?);
                let key = PostKey::new(network, r.try_get::<_, String>(2)?);
                if !seen.contains(&key) {
                    next.push(key.clone());
                }
                known.orphans.entry(parent).or_default().push(KnownPost {
                    key,
                    conversation_id: None,
                    from_brand: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                });
            }
            frontier = next;
        }
    }

    if !conversation_ids.is_empty() {
        let mut ids: Vec<i64> = conversation_ids.into_iter().collect();
        ids.sort_unstable();
        let sql = format!(
            "SELECT {CONV_COLS} FROM conversations c WHERE c.id = ANY($1) ORDER BY c.id FOR UPDATE"
        );
        for r in query(c, &sql, &[&ids]).await? {
            let conv = conversation_from_row(&r)?;
            known.conversations.insert(conv.id, conv);
        }
    }
    Ok(Gathered { known, existing })
}

/// A post as one `jsonb_to_recordset` row.
#[derive(Debug, Serialize)]
pub(super) struct PostRecord<'a> {
    id: i64,
    network: &'static str,
    external_id: &'a str,
    author_external_id: &'a str,
    author_handle: &'a str,
    author_display_name: Option<&'a str>,
    author_followers: Option<i64>,
    author_verified: bool,
    author_bot: bool,
    text: &'a str,
    created_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    in_reply_to: Option<&'a str>,
    url: Option<&'a str>,
    from_brand: bool,
    conversation_id: Option<i64>,
    lang: &'a str,
    sentiment: &'static str,
    sentiment_score: f32,
    intent: &'static str,
    urgency: &'static str,
    fingerprint: i64,
    analysis: &'a Analysis,
    raw: Option<&'a str>,
}

pub(super) const POST_RECORD_COLS: &str = "network, external_id, author_external_id, author_handle, author_display_name, \
     author_followers, author_verified, author_bot, text, created_at, received_at, in_reply_to, url, from_brand, \
     conversation_id, lang, sentiment, sentiment_score, intent, urgency, fingerprint, analysis, raw";

pub(super) const POST_RECORD: &str = "jsonb_to_recordset($1::jsonb) AS x(id bigint, network text, external_id text, \
     author_external_id text, author_handle text, author_display_name text, author_followers bigint, \
     author_verified boolean, author_bot boolean, text text, created_at timestamptz, received_at timestamptz, \
     in_reply_to text, url text, from_brand boolean, conversation_id bigint, lang text, sentiment text, \
     sentiment_score real, intent text, urgency text, fingerprint bigint, analysis jsonb, raw text)";

/// The author's edit of a stored post: the new text and its analysis replace the old, unless
/// the post was deleted or the text is the same; audited as `post_edited`. Whether it changed.
pub(super) async fn apply_edit<C: GenericClient>(
    c: &C,
    post: &NewPost,
    analysis: &Analysis,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let rows = query(
        c,
        "UPDATE posts SET text = $3, lang = $4, sentiment = $5, sentiment_score = $6, \
         intent = $7, urgency = $8, fingerprint = $9, analysis = $10, raw = $11, edited_at = $12 \
         WHERE network = $1 AND external_id = $2 AND deleted_at IS NULL AND text <> $3 \
         RETURNING id, conversation_id",
        &[
            &post.network.as_str(),
            &post.external_id,
            &post.text,
            &analysis.language.language.code(),
            &analysis.sentiment.label.as_str(),
            &analysis.sentiment.score,
            &analysis.intent.label.as_str(),
            &analysis.urgency.level.as_str(),
            &(analysis.fingerprint as i64),
            &Json(analysis),
            &post.raw,
            &at,
        ],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(false);
    };
    let id: i64 = row.try_get(0)?;
    let conversation: Option<i64> = row.try_get(1)?;
    let detail = serde_json::json!({ "post_id": id, "network": post.network, "external_id": post.external_id });
    insert_audit(
        c,
        conversation.map(ConversationId),
        "system",
        "post_edited",
        &detail,
        at,
    )
    .await?;
    Ok(true)
}

pub(super) async fn ingest_tx(
    client: &mut deadpool_postgres::Client,
    mut batch: Vec<Incoming>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Result<IngestReport, StoreError> {
    let refused = common::refuse_odd(&mut batch, now);
    common::normalise(&mut batch);
    let now = common::trunc_us(now);
    let mut found = Vec::new();
    let mut tries = 0;
    loop {
        let tx = client.transaction().await?;
        // What `gather` reads about this batch stays true until this transaction commits.
        // After a few tries `take_turn` takes the whole store, which always succeeds.
        if turns::take_turn(&tx, &batch, &mut found, tries).await? {
            let mut report = thread_and_write(tx, &batch, policy, now).await?;
            report.refused = refused;
            return Ok(report);
        }
        tx.rollback().await?;
        tries += 1;
    }
}

/// Threads `batch` on what is stored and writes the plan, in the transaction holding its turn.
async fn thread_and_write(
    tx: deadpool_postgres::Transaction<'_>,
    batch: &[Incoming],
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Result<IngestReport, StoreError> {
    let Gathered { known, existing } = gather(&tx, batch).await?;
    let plan = threading::plan(batch, &known, policy, now);

    let new_ids: Vec<ConversationId> =
        next_ids(&tx, "conversations_id_seq", plan.new_conversations.len())
            .await?
            .into_iter()
            .map(ConversationId)
            .collect();
    let records: Vec<ConversationRecord> = plan
        .new_conversations
        .iter()
        .zip(&new_ids)
        .map(|(c, id)| ConversationRecord::new(c, *id).ranked(c, policy, now))
        .collect();
    insert_conversations(&tx, &records).await?;
    let records: Vec<ConversationRecord> = plan
        .updated_conversations
        .iter()
        .map(|c| ConversationRecord::new(c, c.id).ranked(c, policy, now))
        .collect();
    update_conversations(&tx, &records).await?;

    let post_ids = next_ids(&tx, "posts_id_seq", plan.posts.len()).await?;
    let mut records = Vec::with_capacity(plan.posts.len());
    for (pp, &id) in plan.posts.iter().zip(&post_ids) {
        let inc = &batch[pp.index];
        let p = &inc.post;
        let a = &inc.analysis;
        records.push(PostRecord {
            id,
            network: p.network.as_str(),
            external_id: &p.external_id,
            author_external_id: &p.author.external_id,
            author_handle: &p.author.handle,
            author_display_name: p.author.display_name.as_deref(),
            author_followers: p
                .author
                .followers
                .map(|f| i64::try_from(f).unwrap_or(i64::MAX)),
            author_verified: p.author.verified,
            author_bot: p.author.bot,
            text: &p.text,
            created_at: p.created_at,
            received_at: now,
            in_reply_to: p.in_reply_to.as_deref(),
            url: p.url.as_deref(),
            from_brand: inc.from_brand,
            conversation_id: pp
                .conversation
                .map(|r| common::resolve(r, &new_ids))
                .transpose()?
                .map(|c| c.0),
            lang: a.language.language.code(),
            sentiment: a.sentiment.label.as_str(),
            sentiment_score: a.sentiment.score,
            intent: a.intent.label.as_str(),
            urgency: a.urgency.level.as_str(),
            fingerprint: a.fingerprint as i64,
            analysis: a,
            raw: p.raw.as_deref(),
        });
    }
    let mut inserted = post_ids.clone();
    if !records.is_empty() {
        let sql = format!(
            "INSERT INTO posts (id, {POST_RECORD_COLS}) SELECT id, {POST_RECORD_COLS} FROM {POST_RECORD} \
             ON CONFLICT (network, external_id) DO NOTHING RETURNING id"
        );
        let rows = query(&tx, &sql, &[&Json(&records)]).await?;
        if rows.len() != records.len() {
            // Only reachable if a writer bypassed the ingest locks: point at the row it stored.
            let written: HashSet<i64> = rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            for (k, rec) in records.iter().enumerate() {
                if !written.contains(&rec.id) {
                    let row = query_opt(
                        &tx,
                        "SELECT id FROM posts WHERE network = $1 AND external_id = $2",
                        &[&rec.network, &rec.external_id],
                    )
                    .await?;
                    if let Some(row) = row {
                        inserted[k] = row.try_get(0)?;
                    }
                }
            }
        }
    }
    drop(records);

    if !plan.adopted.is_empty() {
        let mut nets = Vec::with_capacity(plan.adopted.len());
        let mut ids = Vec::with_capacity(plan.adopted.len());
        let mut convs = Vec::with_capacity(plan.adopted.len());
        for (key, r) in &plan.adopted {
            nets.push(key.network.as_str());
            ids.push(key.external_id.as_str());
            convs.push(common::resolve(*r, &new_ids)?.0);
        }
        execute(
            &tx,
            "UPDATE posts p SET conversation_id = x.conversation_id \
             FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS x(network, external_id, conversation_id) \
             WHERE p.network = x.network AND p.external_id = x.external_id",
            &[&nets, &ids, &convs],
        )
        .await?;
    }
    // A post heard again with another text is the author's edit (the later delivery wins).
    let mut edited = vec![];
    for &i in &plan.duplicates {
        if apply_edit(&tx, &batch[i].post, &batch[i].analysis, now).await? {
            edited.push(i);
        }
    }
    let mut report = common::report(batch, &plan, &new_ids, &inserted, &existing)?;
    report.mark_edited(&edited);
    tx.commit().await?;
    Ok(report)
}
