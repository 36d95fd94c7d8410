//! The overlap scores of a draft against what the brand really answered, over word tokens
//! (lowercase, without URLs and @mentions, as `overlap::norm_key` reads text: a t.co link is
//! different in every tweet and says nothing about the answer).
//!
//! - ROUGE-L F (Lin, 2004): the longest common subsequence of tokens, as precision over the
//!   draft and recall over the real answer, combined as F1.
//! - Token edit distance (Levenshtein over words): how many words an agent adds, deletes or
//!   replaces to turn the draft into the real answer.

use crate::overlap::norm_key;

pub fn tokens(text: &str) -> Vec<String> {
    norm_key(text)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Length of the longest common subsequence (two rows of the table, O(len(a)·len(b)) time).
pub fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                prev[j + 1].max(cur[j])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// ROUGE-L F1 of `candidate` against `reference` (token lists). Two empty lists agree fully;
/// one empty list scores 0.
pub fn rouge_l<T: PartialEq>(candidate: &[T], reference: &[T]) -> f64 {
    if candidate.is_empty() && reference.is_empty() {
        return 1.0;
    }
    let lcs = lcs_len(candidate, reference) as f64;
    if lcs == 0.0 {
        return 0.0;
    }
    let p = lcs / candidate.len() as f64;
    let r = lcs / reference.len() as f64;
    2.0 * p * r / (p + r)
}

/// Word-level Levenshtein distance.
pub fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let change = prev[j] + usize::from(x != y);
            cur[j + 1] = change.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The rule for "sendable with small edits": the agent changes at most 30 % of the real
/// answer's words (token edit distance ≤ 0.3 × its length), and the draft is not empty.
pub const SENDABLE_EDIT_SHARE: f64 = 0.3;

pub fn sendable<T: PartialEq>(draft: &[T], real: &[T]) -> bool {
    !draft.is_empty()
        && (edit_distance(draft, real) as f64) <= SENDABLE_EDIT_SHARE * real.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rouge_l_matches_lins_worked_example() {
        // Lin (2004), section 3.1: reference "police killed the gunman".
        let reference = tokens("police killed the gunman");
        // S2 "police kill the gunman": LCS 3 of 4 → P = R = F = 0.75.
        assert!((rouge_l(&tokens("police kill the gunman"), &reference) - 0.75).abs() < 1e-9);
        // S3 "the gunman kill police": LCS 2 ("the gunman") → 0.5.
        assert!((rouge_l(&tokens("the gunman kill police"), &reference) - 0.5).abs() < 1e-9);
        assert_eq!(rouge_l(&reference, &reference), 1.0);
        assert_eq!(rouge_l(&tokens("nothing shared"), &reference), 0.0);
        assert_eq!(rouge_l(&[] as &[String], &reference), 0.0);
    }

    #[test]
    fn precision_and_recall_differ_when_lengths_do() {
        // LCS 2; P = 2/2, R = 2/4 → F = 2·1·0.5/1.5 = 2/3.
        let f = rouge_l(
            &tokens("police gunman"),
            &tokens("police killed the gunman"),
        );
        assert!((f - 2.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn tokens_ignore_case_links_and_mentions() {
        assert_eq!(
            tokens("@123 Please DM us: https://t.co/abc"),
            vec!["please", "dm", "us"]
        );
    }

    #[test]
    fn edit_distance_counts_words() {
        let a = tokens("please dm us your order number");
        assert_eq!(edit_distance(&a, &a), 0);
        assert_eq!(edit_distance(&a, &tokens("please dm us your number")), 1);
        assert_eq!(
            edit_distance(&a, &tokens("kindly email us your order id")),
            3
        );
        assert_eq!(edit_distance(&a, &[] as &[String]), 6);
        // 1 edit of 5 words (20 %) is sendable; 3 of 6 (50 %) is not.
        assert!(sendable(&a, &tokens("please dm us your number")));
        assert!(!sendable(&a, &tokens("kindly email us your order id")));
        assert!(!sendable(&[] as &[String], &a));
    }
}
