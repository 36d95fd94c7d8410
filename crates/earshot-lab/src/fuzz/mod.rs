//! Fuzzing every parser that takes bytes from outside: the network wire formats and file
//! importers (`earshot_connect::fuzz`), the signature headers, the configuration, the search
//! query and the survey form ([`server`]).
//!
//! Inputs are drawn by one proptest strategy per target ([`inputs`]): a valid seed mutated a
//! few times (bytes flipped, cut, repeated, spliced with another seed, tokens that break
//! parsers inserted), or plain random bytes. The property tests (`tests/fuzz.rs`) draw a few
//! dozen per target in every CI run; `cargo run --release -p earshot-lab --example fuzz --
//! --minutes 30` draws from the same strategies for as long as asked, catches panics and
//! reports how many inputs each target took.

pub mod server;

use earshot_connect::fuzz::Target;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// Every target: the connectors' and importers', then the server's.
pub fn targets() -> Vec<Target> {
    let mut all = earshot_connect::fuzz::targets();
    all.extend(server::targets());
    all
}

/// Pieces that break parsers: quotes, brackets, escapes, huge and odd numbers, odd times,
/// markup, line ends, TOML tables, bidi controls, NUL.
const TOKENS: &[&str] = &[
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "true",
    "-0",
    "1e400",
    "-1",
    "18446744073709551616",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "<",
    ">",
    "&amp;",
    "&#x0;",
    "&#99999999;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "\r\n",
    "\n\n",
    "\r",
    "data: ",
    "event: ",
    "=",
    "[[",
    "]]",
    "\"\"\"",
    "'''",
    "\u{202E}",
    "\u{2066}",
    "\0",
    "🚗",
    "ø",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "2017-08-18T20:47:00",
    "Tue Feb 30 25:61:61 +9999 2017",
    "%",
    "%00",
    "&",
    "+",
    "v1,",
    "t=",
    "whsec_",
    "AND",
    "OR",
    "NOT",
    "NEAR(",
    "*",
    "\"a b",
    "^",
    "-",
    "(",
    ")",
];

/// One change to an input.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Sets the byte at `at` (a fraction of the length, in 1/65536ths).
    Set { at: u16, byte: u8 },
    /// Inserts one of [`TOKENS`].
    Token { at: u16, token: usize },
    /// Cuts `len` bytes out.
    Cut { at: u16, len: u16 },
    /// Repeats a stretch `times` times (deep nesting, long lines).
    Repeat { at: u16, len: u8, times: u8 },
    /// Keeps only the first part (a cut-off payload).
    Truncate { at: u16 },
    /// Splices in the start of another seed.
    Splice { at: u16, seed: usize, len: u16 },
}

fn position(at: u16, len: usize) -> usize {
    (usize::from(at) * (len + 1)) >> 16
}

/// Applies `mutations` to `seed`; `seeds` feeds [`Mutation::Splice`]. Inputs stay under 64 KiB.
pub fn mutate(seed: &[u8], mutations: &[Mutation], seeds: &[Vec<u8>]) -> Vec<u8> {
    const MAX: usize = 64 * 1024;
    let mut v = seed.to_vec();
    for m in mutations {
        match *m {
            Mutation::Set { at, byte } => {
                if !v.is_empty() {
                    let i = position(at, v.len() - 1);
                    v[i] = byte;
                }
            }
            Mutation::Token { at, token } => {
                let i = position(at, v.len());
                let t = TOKENS[token % TOKENS.len()].as_bytes();
                v.splice(i..i, t.iter().copied());
            }
            Mutation::Cut { at, len } => {
                let i = position(at, v.len());
                let end = (i + usize::from(len)).min(v.len());
                v.drain(i..end);
            }
            Mutation::Repeat { at, len, times } => {
                let i = position(at, v.len());
                let end = (i + usize::from(len)).min(v.len());
                let piece = v[i..end].to_vec();
                for _ in 0..times {
                    if v.len() + piece.len() > MAX {
                        break;
                    }
                    v.splice(end..end, piece.iter().copied());
                }
            }
            Mutation::Truncate { at } => {
                let i = position(at, v.len());
                v.truncate(i);
            }
            Mutation::Splice { at, seed, len } => {
                if let Some(other) = seeds.get(seed % seeds.len().max(1)) {
                    let i = position(at, v.len());
                    let take = usize::from(len).min(other.len());
                    v.splice(i..i, other[..take].iter().copied());
                }
            }
        }
        v.truncate(MAX);
    }
    v
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<u16>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        4 => (any::<u16>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Token { at, token }),
        2 => (any::<u16>(), 0u16..64).prop_map(|(at, len)| Mutation::Cut { at, len }),
        1 => (any::<u16>(), 1u8..32, 1u8..64).prop_map(|(at, len, times)| Mutation::Repeat { at, len, times }),
        1 => any::<u16>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<u16>(), any::<usize>(), 0u16..512).prop_map(|(at, seed, len)| Mutation::Splice { at, seed, len }),
    ]
}

/// The inputs a target is fuzzed with: mostly mutated seeds, some random bytes.
pub fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len().max(1);
    let pool = seeds.clone();
    prop_oneof![
        6 => (0..n, prop::collection::vec(mutation(), 0..8)).prop_map(move |(i, ms)| {
            let seed = pool.get(i).cloned().unwrap_or_default();
            mutate(&seed, &ms, &pool)
        }),
        1 => prop::collection::vec(any::<u8>(), 0..512),
        1 => prop::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..64)
            .prop_map(|ts| ts.concat().into_bytes()),
    ]
}

/// How one target fared.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub name: &'static str,
    pub inputs: u64,
    pub panics: u64,
    pub broken: u64,
    /// The first few failing inputs and what went wrong.
    pub failures: Vec<(Vec<u8>, String)>,
}

/// Runs `target` on inputs drawn from [`inputs`] until `budget` is spent.
pub fn run_for(target: &Target, budget: Duration, seed: u64) -> Tally {
    let strategy = inputs(target.seeds.clone());
    let mut runner = TestRunner::new_with_rng(
        proptest::test_runner::Config::default(),
        proptest::test_runner::TestRng::from_seed(
            proptest::test_runner::RngAlgorithm::ChaCha,
            &seed_bytes(seed),
        ),
    );
    let mut tally = Tally {
        name: target.name,
        ..Tally::default()
    };
    let started = Instant::now();
    while started.elapsed() < budget {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let input = tree.current();
        tally.inputs += 1;
        match catch_unwind(AssertUnwindSafe(|| (target.check)(&input))) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                tally.broken += 1;
                if tally.failures.len() < 5 {
                    tally.failures.push((input, why));
                }
            }
            Err(panic) => {
                tally.panics += 1;
                if tally.failures.len() < 5 {
                    let why = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panic".into());
                    tally.failures.push((input, format!("panicked: {why}")));
                }
            }
        }
    }
    tally
}

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &(seed
                .wrapping_add(i as u64)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .to_le_bytes(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_stay_in_bounds() {
        let seeds = vec![b"{\"a\":1}".to_vec(), vec![]];
        for at in [0u16, 1, 32_768, u16::MAX] {
            for m in [
                Mutation::Set { at, byte: 0 },
                Mutation::Token { at, token: 7 },
                Mutation::Cut { at, len: 63 },
                Mutation::Repeat {
                    at,
                    len: 31,
                    times: 63,
                },
                Mutation::Truncate { at },
                Mutation::Splice {
                    at,
                    seed: 1,
                    len: 511,
                },
                Mutation::Splice {
                    at,
                    seed: 0,
                    len: 3,
                },
            ] {
                for s in &seeds {
                    let _ = mutate(s, std::slice::from_ref(&m), &seeds);
                }
            }
        }
        assert_eq!(mutate(b"abc", &[Mutation::Truncate { at: 0 }], &seeds), b"");
        assert_eq!(
            mutate(
                b"abc",
                &[Mutation::Token {
                    at: u16::MAX,
                    token: 0
                }],
                &seeds
            ),
            b"abc\""
        );
    }
}
