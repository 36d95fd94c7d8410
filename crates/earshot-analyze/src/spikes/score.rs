//! How surprising a count is: the Poisson upper tail `P(X ≥ n | λ)`, as `-log10`, computed in
//! log space so that counts of thousands against a tiny expectation do not underflow.

/// `ln(n!)`: exact sums for small `n`, Stirling's series beyond.
pub(crate) fn ln_factorial(n: u32) -> f64 {
    if n < 2 {
        return 0.0;
    }
    if n < 64 {
        return (2..=n).map(|k| (k as f64).ln()).sum();
    }
    let x = n as f64;
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x * x)
}

/// `-log10 P(X ≥ n)` for `X ~ Poisson(lambda)`; 0 when `n` is not above the mean.
pub(crate) fn surprise(n: u32, lambda: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let lambda = lambda.max(1e-9);
    if (n as f64) <= lambda {
        return 0.0;
    }
    // P(X ≥ n) = P(X = n) · Σ_j Π_{i=1..j} λ/(n+i); the ratio terms fall fast above the mean.
    let ln_first = -lambda + n as f64 * lambda.ln() - ln_factorial(n);
    let mut sum = 1.0f64;
    let mut term = 1.0f64;
    for i in 1..200u32 {
        term *= lambda / (n as f64 + i as f64);
        sum += term;
        if term < 1e-12 * sum {
            break;
        }
    }
    let ln_tail = ln_first + sum.ln();
    (-ln_tail / std::f64::consts::LN_10).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_tail(n: u32, lambda: f64) -> f64 {
        // 1 - P(X < n), summed directly (fine for small λ and n).
        let mut p = (-lambda).exp();
        let mut below = 0.0;
        for k in 0..n {
            below += p;
            p *= lambda / (k as f64 + 1.0);
        }
        1.0 - below
    }

    #[test]
    fn matches_the_direct_sum() {
        for (n, lambda) in [(3u32, 1.0f64), (5, 2.0), (10, 3.0), (2, 0.5)] {
            let want = -exact_tail(n, lambda).log10();
            let got = surprise(n, lambda);
            assert!(
                (want - got).abs() < 1e-6,
                "n={n} λ={lambda}: {want} vs {got}"
            );
        }
    }

    #[test]
    fn extreme_counts_stay_finite_and_ordered() {
        let a = surprise(10, 0.02);
        let b = surprise(300, 0.02);
        assert!(a > 15.0 && b > a && b.is_finite(), "{a} {b}");
        assert_eq!(surprise(3, 5.0), 0.0);
        assert!((ln_factorial(70) - (1..=70).map(|k| (k as f64).ln()).sum::<f64>()).abs() < 1e-6);
    }
}
