//! A spike's life: judging whether a key that was just counted bursts, starting a spike (or
//! joining the one its posts already belong to) with its label, samples and chart, and
//! reporting growth when its rate doubles.

use super::*;

impl SpikeDetector {
    /// Decides whether `key` (just counted) bursts; if so it joins a spike or starts one.
    pub(super) fn judge(&mut self, key: u64, label: &str, t: i64, events: &mut Vec<SpikeEvent>) {
        let cfg = &self.config;
        let Some(state) = self.table.get(&key) else {
            return;
        };
        let n = state.window.count(self.now, self.w);
        if n < cfg.min_posts
            || state.authors.count(self.now, self.w) < cfg.min_authors.min(AUTHOR_SLOTS as u32)
        {
            return;
        }
        if self
            .baseline
            .as_ref()
            .is_none_or(|b| b.seen < cfg.warmup_posts)
            || i64::from(self.now) * i64::from(cfg.bucket_seconds.max(1))
                < i64::from(cfg.warmup_minutes) * 60
        {
            return;
        }
        let lambda = self.expected(key, n, t);
        if f64::from(n) < cfg.min_ratio * lambda {
            return;
        }
        let surprise = score::surprise(n, lambda);
        if surprise < cfg.min_score {
            return;
        }
        let label: Box<str> = state.label.clone().unwrap_or_else(|| label.into());
        let member = Member {
            key,
            is_pair: keys::is_pair_label(&label),
            request: request_of(&label),
            label,
            surprise,
            common: self.is_common(key, n, t),
        };
        let from = (self.now + 1).saturating_sub(self.w);
        let with_key: Vec<usize> = self
            .recent
            .since(from)
            .filter(|&i| self.recent.keys_of(i).contains(&key))
            .collect();
        // Join the active spike whose keys are in most of this key's posts.
        let mut best: Option<(usize, usize)> = None;
        for (si, a) in self.active.iter().enumerate() {
            let overlap = with_key
                .iter()
                .filter(|&&i| {
                    self.recent
                        .keys_of(i)
                        .iter()
                        .any(|k| *k != key && a.has_distinctive_key(*k))
                })
                .count();
            if overlap > 0 && best.is_none_or(|(_, o)| overlap > o) {
                best = Some((si, overlap));
            }
        }
        if let Some((si, overlap)) = best {
            if overlap * 2 >= with_key.len() {
                let id = self.active[si].id;
                self.active[si].members.push(member);
                if let Some(s) = self.table.get_mut(&key) {
                    s.spike = Some(id);
                }
                return;
            }
        }
        if self.active.len() >= self.config.max_active_spikes {
            return;
        }
        self.start_spike(member, lambda, t, &with_key, events);
    }

    /// Opens a spike around `first`, with the keys that burst in the same posts.
    pub(super) fn start_spike(
        &mut self,
        first: Member,
        lambda: f64,
        t: i64,
        with_key: &[usize],
        events: &mut Vec<SpikeEvent>,
    ) {
        let id = SpikeId(self.next_id);
        self.next_id += 1;
        let score = first.surprise;
        let mut members = vec![first];
        // Co-bursting keys: in most of the same posts, busy and well above their own usual
        // count, though not (yet) over every bar.
        let mut co: HashMap<u64, usize, BuildKeyHash> = HashMap::with_hasher(BuildKeyHash);
        for &i in with_key {
            for &k in self.recent.keys_of(i) {
                if k != members[0].key {
                    *co.entry(k).or_insert(0) += 1;
                }
            }
        }
        let mut extra: Vec<(u64, f64)> = Vec::new();
        for (&k, &c) in &co {
            if c * 10 < with_key.len() * 6 {
                continue;
            }
            let Some(s) = self.table.get(&k) else {
                continue;
            };
            if s.spike.is_some() || s.label.is_none() {
                continue;
            }
            let n = s.window.count(self.now, self.w);
            if n * 2 < self.config.min_posts {
                continue;
            }
            let lam = self.expected(k, n, t);
            if f64::from(n) < self.config.min_ratio / 2.0 * lam {
                continue;
            }
            extra.push((k, score::surprise(n, lam)));
        }
        extra.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (k, surprise) in extra.into_iter().take(12) {
            if let Some(label) = self.table.get(&k).and_then(|s| s.label.clone()) {
                let n = self
                    .table
                    .get(&k)
                    .map_or(0, |s| s.window.count(self.now, self.w));
                members.push(Member {
                    key: k,
                    is_pair: keys::is_pair_label(&label),
                    request: request_of(&label),
                    label,
                    surprise,
                    common: self.is_common(k, n, t),
                });
            }
        }
        for m in &members {
            if let Some(s) = self.table.get_mut(&m.key) {
                s.spike = Some(id);
            }
        }
        let started = with_key
            .iter()
            .map(|&i| self.recent.times[i])
            .min()
            .unwrap_or(t);
        let mut active = Active::new(NewSpike {
            id,
            members,
            started,
            detected: t,
            now: self.now,
            score,
            baseline_per_window: lambda,
        });
        // The posts of the window so far, oldest first, make the first bars of the chart.
        let from = (self.now + 1).saturating_sub(self.w);
        let mut posts: Vec<usize> = self
            .recent
            .since(from)
            .filter(|&i| self.recent.keys_of(i).iter().any(|k| active.has_key(*k)))
            .collect();
        posts.reverse();
        for i in posts {
            let lang = Lang::ALL.get(self.recent.langs[i] as usize).copied();
            active.add_post(
                self.recent.ids[i],
                self.recent.buckets[i],
                self.w,
                self.recent.authors[i],
                lang,
            );
        }
        active.reported_window = active.window.count(self.now, self.w);
        active.reported_at = self.now;
        let epoch = self.epoch.unwrap_or(0);
        let snapshot = active.snapshot(self.now, self.w, epoch, self.config.bucket_seconds);
        tracing::info!(
            spike = id.0,
            terms = ?snapshot.label_terms,
            rate_per_minute = snapshot.rate_per_minute,
            baseline_per_minute = snapshot.baseline_per_minute,
            "spike started"
        );
        events.push(SpikeEvent::Started(snapshot));
        self.active.push(active);
    }

    /// Spikes whose rate reached `growing_factor` times the last reported one (at most once
    /// per window).
    pub(super) fn report_growth(&mut self, events: &mut Vec<SpikeEvent>) {
        let epoch = self.epoch.unwrap_or(0);
        for a in &mut self.active {
            let n = a.window.count(self.now, self.w);
            if self.now >= a.reported_at + self.w
                && f64::from(n) >= self.config.growing_factor * f64::from(a.reported_window.max(1))
            {
                a.reported_window = n;
                a.reported_at = self.now;
                events.push(SpikeEvent::Growing(a.snapshot(
                    self.now,
                    self.w,
                    epoch,
                    self.config.bucket_seconds,
                )));
            }
        }
    }
}
