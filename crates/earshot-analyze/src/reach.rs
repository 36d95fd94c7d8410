//! Reach: how many people the author speaks to. Tiers by followers (below 1k small, below 10k
//! medium, below 100k large, then huge) and a score that grows with the logarithm of followers
//! (10 million followers is 1.0); verified accounts get a small bump.

use earshot_core::analysis::{ReachFinding, ReachTier};

/// Followers for a score of 1.0 (log-scaled).
const FULL_REACH: f64 = 10_000_000.0;
const VERIFIED_BUMP: f32 = 0.1;

pub fn assess(followers: Option<u64>, verified: bool) -> ReachFinding {
    let Some(n) = followers else {
        return ReachFinding {
            followers: None,
            tier: ReachTier::Unknown,
            score: if verified { VERIFIED_BUMP } else { 0.0 },
        };
    };
    let tier = match n {
        0..=999 => ReachTier::Small,
        1_000..=9_999 => ReachTier::Medium,
        10_000..=99_999 => ReachTier::Large,
        _ => ReachTier::Huge,
    };
    let mut score = ((n as f64 + 1.0).log10() / (FULL_REACH + 1.0).log10()) as f32;
    if verified {
        score += VERIFIED_BUMP;
    }
    ReachFinding {
        followers: Some(n),
        tier,
        score: score.clamp(0.0, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_and_scores() {
        assert_eq!(assess(None, false).tier, ReachTier::Unknown);
        assert_eq!(assess(None, false).score, 0.0);
        assert_eq!(assess(Some(0), false).tier, ReachTier::Small);
        assert_eq!(assess(Some(0), false).score, 0.0);
        assert_eq!(assess(Some(999), false).tier, ReachTier::Small);
        assert_eq!(assess(Some(1_000), false).tier, ReachTier::Medium);
        assert_eq!(assess(Some(1_520), false).tier, ReachTier::Medium);
        assert_eq!(assess(Some(10_000), false).tier, ReachTier::Large);
        assert_eq!(assess(Some(100_000), false).tier, ReachTier::Huge);
        let a = assess(Some(1_000), false).score;
        let b = assess(Some(100_000), false).score;
        assert!(a > 0.3 && a < 0.5, "{a}");
        assert!(b > a);
        assert_eq!(assess(Some(u64::MAX), true).score, 1.0);
        assert!(assess(Some(1_000), true).score > a);
    }
}
