//! Near-duplicate fingerprints: a 64-bit SimHash over the post's words and word pairs, after
//! the text preparation has dropped case, URLs, @mentions and `#`, and a leading "RT".
//! A retweet or a copy-paste with another mention or link lands within a few bits
//! ([`earshot_core::analysis::fingerprint_distance`]); unrelated posts differ in about 32.

use crate::text::Prepared;

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
pub(crate) const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Hashes bytes (FNV-1a, then a finaliser so nearby inputs spread over all 64 bits).
#[inline]
pub fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = FNV_OFFSET ^ seed;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    mix(h)
}

/// SplitMix64's finaliser.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The SimHash of a prepared post; 0 for a post without words.
pub fn simhash(p: &Prepared) -> u64 {
    let mut skip = 0;
    if p.token_str(0) == "rt" {
        skip = 1;
    }
    let n = p.tokens.len();
    if n <= skip {
        return 0;
    }
    let mut acc = Acc::default();
    let mut prev: Option<u64> = None;
    for i in skip..n {
        let h = hash_bytes(0x5eed, p.token_str(i).as_bytes());
        acc.add(h);
        if let Some(ph) = prev {
            acc.add(mix(ph.rotate_left(17) ^ h));
        }
        prev = Some(h);
    }
    acc.finish()
}

/// ±1 per bit for every byte value, so adding a hash costs eight 8-lane adds, not 64.
static SIGNS: [[i16; 8]; 256] = {
    let mut t = [[0i16; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut bit = 0;
        while bit < 8 {
            t[b][bit] = if (b >> bit) & 1 == 1 { 1 } else { -1 };
            bit += 1;
        }
        b += 1;
    }
    t
};

/// SimHash bit counters; i16 is plenty (analysed text is capped far below 32k shingles).
#[derive(Default)]
struct Acc([[i16; 8]; 8]);

impl Acc {
    #[inline]
    fn add(&mut self, h: u64) {
        for (k, lane) in self.0.iter_mut().enumerate() {
            let signs = &SIGNS[((h >> (8 * k)) & 0xff) as usize];
            for (a, s) in lane.iter_mut().zip(signs) {
                *a = a.wrapping_add(*s);
            }
        }
    }

    fn finish(&self) -> u64 {
        let mut out = 0u64;
        for (k, lane) in self.0.iter().enumerate() {
            for (bit, v) in lane.iter().enumerate() {
                if *v > 0 {
                    out |= 1 << (8 * k + bit);
                }
            }
        }
        out
    }
}

/// Fingerprint of raw text, for callers outside the analyzer.
pub fn of_text(text: &str) -> u64 {
    simhash(&Prepared::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_core::analysis::fingerprint_distance;

    #[test]
    fn retweet_copies_are_near_duplicates() {
        let a = of_text("@AmericanAir my flight to Austin was cancelled and nobody at the gate can tell me when the next one leaves https://t.co/abc123");
        let b = of_text("RT @someone: @Delta my flight to Austin was cancelled and nobody at the gate can tell me when the next one leaves https://t.co/zzz999");
        assert!(
            fingerprint_distance(a, b) <= 3,
            "{}",
            fingerprint_distance(a, b)
        );
        let c = of_text("My flight to Austin was cancelled and nobody at the gate can tell me when the next one leaves!!");
        assert!(
            fingerprint_distance(a, c) <= 3,
            "{}",
            fingerprint_distance(a, c)
        );
    }

    #[test]
    fn unrelated_posts_are_far_apart() {
        let a = of_text("@AmericanAir my flight to Austin was cancelled and nobody at the gate can tell me when the next one leaves");
        let b = of_text("Loving the new seat heating in the Model 3, thanks for the update @Tesla");
        let c = of_text("Grazie mille, servizio fantastico! Torneremo sicuramente l'anno prossimo");
        assert!(
            fingerprint_distance(a, b) > 10,
            "{}",
            fingerprint_distance(a, b)
        );
        assert!(
            fingerprint_distance(a, c) > 10,
            "{}",
            fingerprint_distance(a, c)
        );
        assert!(
            fingerprint_distance(b, c) > 10,
            "{}",
            fingerprint_distance(b, c)
        );
        assert_eq!(of_text("https://t.co/x @user"), 0);
    }
}
