//! The scores the evaluation reports: accuracy, macro-F1 and macro-recall over classes (the
//! SemEval sentiment figure is macro-recall), and precision/recall/F1 for one class.

/// Multi-class scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Averaged over the classes present in the gold labels.
    pub macro_recall: f64,
}

/// Accuracy, macro-F1 and macro-recall of `pred` against `gold` (class ids below `classes`).
pub fn metrics(gold: &[usize], pred: &[usize], classes: usize) -> Metrics {
    let n = gold.len().min(pred.len());
    let mut tp = vec![0f64; classes];
    let mut gold_n = vec![0f64; classes];
    let mut pred_n = vec![0f64; classes];
    let mut correct = 0f64;
    for (&g, &p) in gold.iter().zip(pred) {
        if g < classes {
            gold_n[g] += 1.0;
        }
        if p < classes {
            pred_n[p] += 1.0;
        }
        if g == p {
            correct += 1.0;
            if g < classes {
                tp[g] += 1.0;
            }
        }
    }
    let (mut f1_sum, mut recall_sum, mut k) = (0.0, 0.0, 0.0);
    for c in 0..classes {
        if gold_n[c] == 0.0 {
            continue;
        }
        k += 1.0;
        let recall = tp[c] / gold_n[c];
        let precision = if pred_n[c] > 0.0 {
            tp[c] / pred_n[c]
        } else {
            0.0
        };
        recall_sum += recall;
        if precision + recall > 0.0 {
            f1_sum += 2.0 * precision * recall / (precision + recall);
        }
    }
    let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    Metrics {
        n,
        accuracy: div(correct, n as f64),
        macro_f1: div(f1_sum, k),
        macro_recall: div(recall_sum, k),
    }
}

/// Scores for one class against the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Binary {
    pub n: usize,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

pub fn binary(gold: &[bool], pred: &[bool]) -> Binary {
    let (mut tp, mut fp, mut fneg, mut correct) = (0f64, 0f64, 0f64, 0f64);
    for (&g, &p) in gold.iter().zip(pred) {
        match (g, p) {
            (true, true) => tp += 1.0,
            (false, true) => fp += 1.0,
            (true, false) => fneg += 1.0,
            _ => {}
        }
        if g == p {
            correct += 1.0;
        }
    }
    let n = gold.len().min(pred.len());
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fneg > 0.0 {
        tp / (tp + fneg)
    } else {
        0.0
    };
    Binary {
        n,
        accuracy: if n > 0 { correct / n as f64 } else { 0.0 },
        precision,
        recall,
        f1: if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        },
    }
}

/// Expected calibration error: the gap between the stated probability of the chosen label and
/// how often it is right, averaged over ten probability bins weighted by their size.
pub fn calibration_error(confidence: &[f32], correct: &[bool]) -> f64 {
    let mut bins = [(0f64, 0f64, 0usize); 10];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let b = ((c.clamp(0.0, 1.0) * 10.0) as usize).min(9);
        bins[b].0 += c as f64;
        bins[b].1 += if ok { 1.0 } else { 0.0 };
        bins[b].2 += 1;
    }
    let n: usize = bins.iter().map(|b| b.2).sum();
    if n == 0 {
        return 0.0;
    }
    bins.iter()
        .filter(|b| b.2 > 0)
        .map(|b| (b.0 - b.1).abs() / n as f64)
        .sum()
}

/// The nearest-rank percentile `p` (0–100) of ascending `sorted` samples; NaN when empty.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_rank_that_covers_the_share() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert!(percentile(&[], 99.0).is_nan());
    }

    #[test]
    fn metrics_are_right_on_a_small_case() {
        let m = metrics(&[0, 0, 1, 2], &[0, 1, 1, 2], 3);
        assert_eq!(m.n, 4);
        assert!((m.accuracy - 0.75).abs() < 1e-9);
        assert!((m.macro_f1 - (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-9);
        assert!((m.macro_recall - (0.5 + 1.0 + 1.0) / 3.0).abs() < 1e-9);
        let b = binary(&[true, true, false, false], &[true, false, true, false]);
        assert!((b.precision - 0.5).abs() < 1e-9 && (b.recall - 0.5).abs() < 1e-9);
        assert!((b.accuracy - 0.5).abs() < 1e-9);
    }

    #[test]
    fn calibration_error_is_zero_when_confidence_matches() {
        let conf = [0.75f32; 4];
        assert!(calibration_error(&conf, &[true, true, true, false]) < 1e-6);
        assert!((calibration_error(&conf, &[false; 4]) - 0.75).abs() < 1e-6);
    }
}
