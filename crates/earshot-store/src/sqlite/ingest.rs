//! SQLite ingest: gather what is known about a batch, thread it
//! (`earshot_core::threading::plan`) and write the plan in one `BEGIN IMMEDIATE` transaction,
//! full-text rows last. Kept per backend on purpose: this is the hot path, and its locking is
//! SQLite's one writer.

use super::*;

/// What the store already holds about a batch, plus where its already-stored posts sit.
pub(super) struct Gathered {
    known: Known,
    existing: HashMap<PostKey, Placement>,
}

pub(super) fn gather(conn: &Connection, batch: &[Incoming]) -> Result<Gathered, StoreError> {
    let mut known = Known::default();
    let mut existing: HashMap<PostKey, Placement> = HashMap::new();
    let mut conversation_ids: HashSet<ConversationId> = HashSet::new();

    let mut by_key = conn.prepare_cached("SELECT id, conversation_id, from_brand, created_at FROM posts WHERE network = ?1 AND external_id = ?2")?;
    let mut lookup =
        |network: Network, external_id: &str| -> Result<Option<(i64, KnownPost)>, StoreError> {
            let mut rows = by_key.query(params![network.as_str(), external_id])?;
            match rows.next()? {
                None => Ok(None),
                Some(r) => Ok(Some((
                    r.get(0)?,
                    KnownPost {
                        key: PostKey::new(network, external_id),
                        conversation_id: r.get::<_, Option<i64>>(1)?.map(ConversationId),
                        from_brand: r.get(2)?,
                        created_at: ts(r, 3)?,
                    },
                ))),
            }
        };

    // The batch's own keys: which are stored already.
    let mut fresh: Vec<PostKey> = Vec::with_capacity(batch.len());
    for inc in batch {
        let key = inc.post.key();
        if known.stored.contains(&key) || existing.contains_key(&key) {
            continue;
        }
        match lookup(inc.post.network, &inc.post.external_id)? {
            Some((id, kp)) => {
                existing.insert(key.clone(), (id, kp.conversation_id));
                known.stored.insert(key);
            }
            None => fresh.push(key),
        }
    }
    // The posts the batch answers.
    for inc in batch {
        let Some(parent) = &inc.post.in_reply_to else {
            continue;
        };
        let key = PostKey::new(inc.post.network, parent.clone());
        if known.parents.contains_key(&key) {
            continue;
        }
        if let Some((_, kp)) = lookup(inc.post.network, parent)? {
            if let Some(c) = kp.conversation_id {
                conversation_ids.insert(c);
            }
            known.parents.insert(key, kp);
        }
    }

    // Conversations opened by a reply to a post of this batch, waiting for it (rare: the
    // index holds only those, and one look says whether there are any).
    let any_waiting: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM conversations WHERE awaits_parent IS NOT NULL)",
        )?
        .query_row([], |r| r.get(0))?;
    if any_waiting {
        let mut waiting = conn.prepare_cached(
            "SELECT id FROM conversations WHERE network = ?1 AND awaits_parent = ?2 \
             AND awaits_parent IS NOT NULL",
        )?;
        for inc in batch {
            let key = inc.post.key();
            if known.stored.contains(&key) || known.awaiting.contains_key(&key) {
                continue;
            }
            let ids = waiting
                .query_map(params![key.network.as_str(), key.external_id], |r| {
                    r.get::<_, i64>(0)
                })?
                .collect::<Result<Vec<i64>, _>>()?;
            if !ids.is_empty() {
                conversation_ids.extend(ids.iter().copied().map(ConversationId));
                known
                    .awaiting
                    .insert(key, ids.into_iter().map(ConversationId).collect());
            }
        }
    }

    // Each customer's latest unresolved conversation.
    let mut open = conn.prepare_cached(
        "SELECT id FROM conversations WHERE network = ?1 AND customer_external_id = ?2 AND status <> 'resolved' \
         ORDER BY last_activity_at DESC LIMIT 1",
    )?;
    for inc in batch.iter().filter(|i| !i.from_brand) {
        let customer = (inc.post.network, inc.post.author.external_id.clone());
        if known.open_by_customer.contains_key(&customer) {
            continue;
        }
        let id: Option<i64> = open
            .query_row(params![customer.0.as_str(), customer.1], |r| r.get(0))
            .optional()?;
        if let Some(id) = id {
            conversation_ids.insert(ConversationId(id));
            known.open_by_customer.insert(customer, ConversationId(id));
        }
    }

    // Brand posts that are earshot's own automatic replies: no answer, the clock runs on.
    let mut automatic = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM replies WHERE network = ?1 AND external_id = ?2 \
         AND idempotency_key LIKE ?3 AND author = ?4)",
    )?;
    let auto_key = format!("{}%", earshot_core::reply::AUTO_REPLY_KEY_PREFIX);
    for inc in batch.iter().filter(|i| i.from_brand) {
        let key = inc.post.key();
        if known.stored.contains(&key) || known.automatic.contains(&key) {
            continue;
        }
        let is_auto: bool = automatic.query_row(
            params![
                key.network.as_str(),
                key.external_id,
                auto_key,
                earshot_core::reply::AUTO_REPLY_AUTHOR
            ],
            |r| r.get(0),
        )?;
        if is_auto {
            known.automatic.insert(key);
        }
    }

    // Stored replies waiting for a post of this batch, and whatever waits for those.
    let any_orphans: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM posts WHERE conversation_id IS NULL AND in_reply_to IS NOT NULL)")?
        .query_row([], |r| r.get(0))?;
    if any_orphans {
        let mut orphans = conn.prepare_cached(
            "SELECT external_id, from_brand, created_at FROM posts \
             WHERE network = ?1 AND in_reply_to = ?2 AND in_reply_to IS NOT NULL AND conversation_id IS NULL",
        )?;
        let mut frontier = fresh;
        let mut seen: HashSet<PostKey> = HashSet::new();
        while let Some(parent) = frontier.pop() {
            if !seen.insert(parent.clone()) {
                continue;
            }
            let mut rows = orphans.query(params![parent.network.as_str(), parent.external_id])?;
            let mut waiting = Vec::new();
            while let Some(r) = rows.next()? {
                waiting.push(KnownPost {
                    key: PostKey::new(parent.network, r.get::<_, String>(0)?),
                    conversation_id: None,
                    from_brand: r.get(1)?,
                    created_at: ts(r, 2)?,
                });
            }
            if !waiting.is_empty() {
                frontier.extend(waiting.iter().map(|o| o.key.clone()));
                known.orphans.insert(parent, waiting);
            }
        }
    }

    for id in conversation_ids {
        let c = load_conversation(conn, id)?.ok_or_else(|| {
            StoreError::Corrupt(format!("a post refers to missing conversation {id}"))
        })?;
        known.conversations.insert(id, c);
    }
    Ok(Gathered { known, existing })
}

pub(super) const POST_INSERT: &str = "INSERT INTO posts (network, external_id, author_external_id, author_handle, \
     author_display_name, author_followers, author_verified, author_bot, text, created_at, received_at, in_reply_to, \
     url, from_brand, conversation_id, lang, sentiment, sentiment_score, intent, urgency, fingerprint, analysis, raw) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23) \
     ON CONFLICT (network, external_id) DO NOTHING";

/// The author's edit of a stored post: the new text and its analysis replace the old, unless
/// the post was deleted or the text is the same; audited as `post_edited`. Whether it changed.
pub(super) fn apply_edit(
    tx: &Connection,
    post: &NewPost,
    analysis: &Analysis,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = tx
        .prepare_cached(
            "UPDATE posts SET text = ?3, lang = ?4, sentiment = ?5, sentiment_score = ?6, \
             intent = ?7, urgency = ?8, fingerprint = ?9, analysis = ?10, raw = ?11, edited_at = ?12 \
             WHERE network = ?1 AND external_id = ?2 AND deleted_at IS NULL AND text <> ?3 \
             RETURNING id, conversation_id",
        )?
        .query_row(
            params![
                post.network.as_str(),
                post.external_id,
                post.text,
                analysis.language.language.code(),
                analysis.sentiment.label.as_str(),
                f64::from(analysis.sentiment.score),
                analysis.intent.label.as_str(),
                analysis.urgency.level.as_str(),
                analysis.fingerprint as i64,
                to_json(analysis)?,
                post.raw,
                us(at),
            ],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)),
        )
        .optional()?;
    let Some((id, conversation)) = changed else {
        return Ok(false);
    };
    let detail = serde_json::json!({ "post_id": id, "network": post.network, "external_id": post.external_id });
    insert_audit(
        tx,
        conversation.map(ConversationId),
        "system",
        "post_edited",
        &detail,
        at,
    )?;
    Ok(true)
}

pub(super) fn ingest_blocking(
    conn: &mut Connection,
    mut batch: Vec<Incoming>,
    policy: &TriagePolicy,
    now: DateTime<Utc>,
) -> Result<IngestReport, StoreError> {
    let refused = common::refuse_odd(&mut batch, now);
    common::normalise(&mut batch);
    let now = common::trunc_us(now);
    let started = Instant::now();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Gathered { known, existing } = gather(&tx, &batch)?;
    let gathered = Instant::now();
    let plan = threading::plan(&batch, &known, policy, now);
    let planned = Instant::now();

    let mut new_ids = Vec::with_capacity(plan.new_conversations.len());
    for c in &plan.new_conversations {
        new_ids.push(write_conversation(
            &tx,
            c,
            true,
            reranking::due(c, policy, now),
        )?);
    }
    for c in &plan.updated_conversations {
        write_conversation(&tx, c, false, reranking::due(c, policy, now))?;
    }
    for c in plan
        .updated_conversations
        .iter()
        .filter(|c| plan.parent_arrived.contains(&c.id))
    {
        tx.prepare_cached(CONV_REROOT)?.execute(params![
            c.id.0,
            c.customer.external_id,
            to_json(&c.customer)?,
            c.root_external_id,
            us(c.opened_at),
            us(c.first_response_due),
            c.awaits_parent,
        ])?;
    }

    let mut inserted = Vec::with_capacity(plan.posts.len());
    let mut to_index: Vec<(i64, &str)> = Vec::with_capacity(plan.posts.len());
    {
        let mut insert = tx.prepare_cached(POST_INSERT)?;
        let received = us(now);
        for pp in &plan.posts {
            let inc = &batch[pp.index];
            let p = &inc.post;
            let a = &inc.analysis;
            let conversation = pp
                .conversation
                .map(|r| common::resolve(r, &new_ids))
                .transpose()?;
            let changed = insert.execute(params![
                p.network.as_str(),
                p.external_id,
                p.author.external_id,
                p.author.handle,
                p.author.display_name,
                p.author
                    .followers
                    .map(|f| i64::try_from(f).unwrap_or(i64::MAX)),
                p.author.verified,
                p.author.bot,
                p.text,
                us(p.created_at),
                received,
                p.in_reply_to,
                p.url,
                inc.from_brand,
                conversation.map(|c| c.0),
                a.language.language.code(),
                a.sentiment.label.as_str(),
                f64::from(a.sentiment.score),
                a.intent.label.as_str(),
                a.urgency.level.as_str(),
                a.fingerprint as i64,
                to_json(a)?,
                p.raw,
            ])?;
            if changed == 1 {
                let id = tx.last_insert_rowid();
                inserted.push(id);
                to_index.push((id, &p.text));
            } else {
                // Unreachable while this connection holds the write lock; kept as the last defence.
                let id: i64 = tx
                    .prepare_cached("SELECT id FROM posts WHERE network = ?1 AND external_id = ?2")?
                    .query_row(params![p.network.as_str(), p.external_id], |r| r.get(0))?;
                inserted.push(id);
            }
        }
    }
    if !plan.adopted.is_empty() {
        let mut adopt = tx.prepare_cached(
            "UPDATE posts SET conversation_id = ?3 WHERE network = ?1 AND external_id = ?2",
        )?;
        for (key, r) in &plan.adopted {
            let id = common::resolve(*r, &new_ids)?;
            adopt.execute(params![key.network.as_str(), key.external_id, id.0])?;
        }
    }
    // Last, so no later statement's savepoint makes FTS5 flush its pending index early.
    {
        let mut index = tx.prepare_cached("INSERT INTO posts_fts (rowid, text) VALUES (?1, ?2)")?;
        for (id, text) in to_index {
            index.execute(params![id, text])?;
        }
    }
    // A post heard again with another text is the author's edit (the later delivery wins).
    let mut edited = vec![];
    for &i in &plan.duplicates {
        if apply_edit(&tx, &batch[i].post, &batch[i].analysis, now)? {
            edited.push(i);
        }
    }
    let mut report = common::report(&batch, &plan, &new_ids, &inserted, &existing)?;
    report.mark_edited(&edited);
    report.refused = refused;
    let written = Instant::now();
    tx.commit()?;
    tracing::debug!(
        posts = batch.len(),
        new = report.new,
        opened = report.conversations_opened,
        updated = report.conversations_updated,
        gather_us = (gathered - started).as_micros() as u64,
        plan_us = (planned - gathered).as_micros() as u64,
        write_us = (written - planned).as_micros() as u64,
        commit_us = written.elapsed().as_micros() as u64,
        "SQLite ingest"
    );
    Ok(report)
}
