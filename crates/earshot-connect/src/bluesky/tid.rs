//! Record keys for replies. `createRecord` has no idempotency key, but it takes our own
//! `rkey`, and a second record under the same key cannot be created. So every reply gets a
//! TID (the record-key syntax posts must use: 13 base32-sortable characters holding 53 bits of
//! microseconds and 10 bits of clock id) derived from its idempotency key alone plus the day
//! it was drafted: a retry, even after a crash, names the same record.
//!
//! The day keeps the key near the reply's real time (TIDs sort by time); everything below the
//! day comes from the idempotency key, so two replies collide only with odds of about one in
//! 10^14 per day, and the responder checks what it finds under a taken key anyway.

use super::memory::fnv1a;
use chrono::{DateTime, Utc};

const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
const DAY_US: u64 = 86_400_000_000;

/// The record key of the reply drafted at `drafted_at` under `idempotency_key`.
pub(crate) fn reply_rkey(drafted_at: DateTime<Utc>, idempotency_key: &str) -> String {
    let micros = u64::try_from(drafted_at.timestamp_micros()).unwrap_or(0);
    let day_start = micros - micros % DAY_US;
    let hash = fnv1a(&[b"earshot-reply", idempotency_key.as_bytes()]);
    let timestamp = (day_start + hash % DAY_US) & ((1 << 53) - 1);
    let clock_id = (hash >> 54) & 0x3ff;
    encode_tid((timestamp << 10) | clock_id)
}

/// A TID's 64 bits as 13 base32-sortable characters, most significant first.
pub(crate) fn encode_tid(value: u64) -> String {
    (0..13)
        .rev()
        .map(|i| char::from(ALPHABET[((value >> (5 * i)) & 31) as usize]))
        .collect()
}

/// Whether `s` has the TID syntax (the top bit is zero, so the first character is one of
/// the first 16).
#[cfg(any(test, feature = "fake"))]
pub(crate) fn is_tid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 13 && ALPHABET[..16].contains(&b[0]) && b.iter().all(|c| ALPHABET.contains(c))
}

/// The microseconds a TID carries.
#[cfg(test)]
fn timestamp_of(tid: &str) -> u64 {
    let value = tid.bytes().fold(0u64, |v, c| {
        let digit = ALPHABET.iter().position(|a| *a == c).unwrap_or(0) as u64;
        (v << 5) | digit
    });
    value >> 10
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_reply_key_is_a_stable_tid_on_the_day_of_the_draft() {
        let drafted = at("2026-08-20T09:20:11.204Z");
        let rkey = reply_rkey(drafted, "conv-7-draft-1");
        assert!(is_tid(&rkey), "{rkey}");
        // Pinned: a retry after an upgrade must name the same record.
        assert_eq!(rkey, "3mtjwspf7hebw");
        // The same key later that day (a retry, or a time stored with less precision).
        assert_eq!(
            reply_rkey(at("2026-08-20T23:59:59Z"), "conv-7-draft-1"),
            rkey
        );
        assert_ne!(reply_rkey(drafted, "conv-7-draft-2"), rkey);
        let day = at("2026-08-20T00:00:00Z").timestamp_micros() as u64;
        let t = timestamp_of(&rkey);
        assert!((day..day + DAY_US).contains(&t), "{t}");
    }

    #[test]
    fn tid_syntax_is_checked() {
        assert!(is_tid("3lxq7k5t2ys2c"));
        assert!(!is_tid("3lxq7k5t2ys2"));
        assert!(!is_tid("zlxq7k5t2ys2c"));
        assert!(!is_tid("3lxq7k5t2ys2C"));
        assert!(!is_tid("3lxq7k5t2ys21"));
        assert_eq!(encode_tid(0), "2222222222222");
    }
}
