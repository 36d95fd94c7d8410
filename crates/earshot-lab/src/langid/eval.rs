//! Measures language identification on the [`Corpus`]'s measured sets: earshot's shipped
//! detector (through [`Analyzer`], as every post meets it), whatlang restricted to the
//! served languages, and any peer whose answers were computed elsewhere (`--peer
//! langid=FILE`, one code per line in the order `langid export` wrote the texts).

use crate::langid::corpus::{Corpus, EvalSet, Kind};
use crate::langid::LangIdError;
use earshot_analyze::lang::Lang;
use earshot_analyze::text::Prepared;
use earshot_analyze::Analyzer;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One system's answer for every measured text, set by set.
#[derive(Debug, Clone, PartialEq)]
pub struct Answers {
    pub system: String,
    pub per_set: Vec<Vec<String>>,
}

/// earshot's shipped detector, without a declared language.
pub fn earshot(sets: &[EvalSet]) -> Answers {
    let analyzer = Analyzer::default();
    answers("earshot", sets, |t| {
        analyzer.analyze_text(t, None, None).language.language.0
    })
}

/// whatlang (earshot's detector before this model) restricted to the served languages.
pub fn whatlang(sets: &[EvalSet]) -> Answers {
    let mut allow: Vec<whatlang::Lang> = Lang::ALL.iter().map(|l| to_whatlang(*l)).collect();
    allow.push(whatlang::Lang::Ara);
    let detector = whatlang::Detector::with_allowlist(allow);
    answers("whatlang", sets, |t| {
        detector
            .detect(t)
            .map_or("und", |i| from_whatlang(i.lang()))
            .to_string()
    })
}

fn answers(system: &str, sets: &[EvalSet], mut f: impl FnMut(&str) -> String) -> Answers {
    Answers {
        system: system.to_string(),
        per_set: sets
            .iter()
            .map(|s| s.texts.iter().map(|t| f(t)).collect())
            .collect(),
    }
}

fn to_whatlang(l: Lang) -> whatlang::Lang {
    match l {
        Lang::En => whatlang::Lang::Eng,
        Lang::Da => whatlang::Lang::Dan,
        Lang::It => whatlang::Lang::Ita,
        Lang::De => whatlang::Lang::Deu,
        Lang::Fr => whatlang::Lang::Fra,
        Lang::Es => whatlang::Lang::Spa,
        Lang::Pt => whatlang::Lang::Por,
        Lang::Nl => whatlang::Lang::Nld,
        Lang::Sv => whatlang::Lang::Swe,
        Lang::No => whatlang::Lang::Nob,
    }
}

fn from_whatlang(l: whatlang::Lang) -> &'static str {
    if l == whatlang::Lang::Ara {
        return "ar";
    }
    Lang::ALL
        .iter()
        .find(|x| to_whatlang(**x) == l)
        .map_or("und", |x| x.code())
}

/// The measured texts, one per line: set, expected code, text (tabs and line breaks made
/// spaces), for a peer to answer outside the lab.
pub fn export(sets: &[EvalSet]) -> String {
    let mut out = String::new();
    for s in sets {
        for t in &s.texts {
            let flat: String = t
                .chars()
                .map(|c| {
                    if matches!(c, '\t' | '\n' | '\r') {
                        ' '
                    } else {
                        c
                    }
                })
                .collect();
            let _ = writeln!(out, "{}\t{}\t{}", s.name, s.expected, flat);
        }
    }
    out
}

/// Reads a peer's answers: one code per line, in [`export`]'s order. Codes are mapped to
/// earshot's (`nb`/`nn` → `no`); anything outside the served languages counts as wrong.
pub fn read_peer(system: &str, path: &Path, sets: &[EvalSet]) -> Result<Answers, LangIdError> {
    let text = std::fs::read_to_string(path).map_err(|source| LangIdError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lines = text.lines();
    let mut per_set = Vec::with_capacity(sets.len());
    for s in sets {
        let mut v = Vec::with_capacity(s.texts.len());
        for _ in &s.texts {
            let code = lines.next().ok_or_else(|| LangIdError::Peer {
                path: path.to_path_buf(),
                message: format!("fewer lines than the {} measured texts", total(sets)),
            })?;
            let code = code.trim();
            let code = match Lang::from_code(code) {
                Some(l) => l.code().to_string(),
                None => code.to_ascii_lowercase(),
            };
            v.push(code);
        }
        per_set.push(v);
    }
    if lines.next().is_some() {
        return Err(LangIdError::Peer {
            path: path.to_path_buf(),
            message: format!("more lines than the {} measured texts", total(sets)),
        });
    }
    Ok(Answers {
        system: system.to_string(),
        per_set,
    })
}

fn total(sets: &[EvalSet]) -> usize {
    sets.iter().map(|s| s.texts.len()).sum()
}

fn right(set: &EvalSet, answers: &[String]) -> usize {
    answers.iter().filter(|a| *a == set.expected).count()
}

fn share(a: usize, n: usize) -> String {
    if n == 0 {
        "–".into()
    } else {
        format!("{:.3}", a as f64 / n as f64)
    }
}

/// The report: accuracy per set and per language for every system, earshot's `und` rate
/// and most frequent error, and the Scandinavian confusions.
pub fn report(corpus: &Corpus, systems: &[Answers]) -> String {
    let sets = &corpus.eval;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Language identification, no declared language ({} training texts; {} dropped because a measured set holds the same normalised text, {} overlapping)\n",
        corpus.train.len(),
        corpus.removed.overlapping,
        corpus.overlap()
    );
    let names: Vec<&str> = systems.iter().map(|s| s.system.as_str()).collect();
    let _ = writeln!(
        out,
        "| set | kind | expected | n | {} | earshot und | earshot's top error |",
        names.join(" | ")
    );
    let _ = writeln!(
        out,
        "|---|---|---|---:|{}---:|---|",
        "---:|".repeat(names.len())
    );
    for (i, s) in sets.iter().enumerate() {
        let n = s.texts.len();
        let cols: Vec<String> = systems
            .iter()
            .map(|a| share(right(s, &a.per_set[i]), n))
            .collect();
        let ours = &systems[0].per_set[i];
        let und = ours.iter().filter(|a| *a == "und").count();
        let mut wrong: BTreeMap<&str, usize> = BTreeMap::new();
        for a in ours.iter().filter(|a| *a != s.expected) {
            *wrong.entry(a.as_str()).or_default() += 1;
        }
        let top = wrong
            .iter()
            .max_by_key(|(_, c)| **c)
            .map_or(String::new(), |(code, c)| {
                format!("{code} {}", share(*c, n))
            });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {n} | {} | {} | {top} |",
            s.name,
            s.kind.as_str(),
            s.expected,
            cols.join(" | "),
            share(und, n)
        );
    }

    let _ = writeln!(out, "\nPer language, all measured sets of a kind pooled:\n");
    let _ = writeln!(out, "| language | kind | n | {} |", names.join(" | "));
    let _ = writeln!(out, "|---|---|---:|{}", "---:|".repeat(names.len()));
    let mut codes: Vec<&str> = Lang::ALL.iter().map(|l| l.code()).collect();
    codes.push("ar");
    for code in codes {
        for kind in [Kind::Tweets, Kind::Prose] {
            let idx: Vec<usize> = (0..sets.len())
                .filter(|&i| sets[i].expected == code && sets[i].kind == kind)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let n: usize = idx.iter().map(|&i| sets[i].texts.len()).sum();
            let cols: Vec<String> = systems
                .iter()
                .map(|a| {
                    let r: usize = idx.iter().map(|&i| right(&sets[i], &a.per_set[i])).sum();
                    share(r, n)
                })
                .collect();
            let _ = writeln!(
                out,
                "| {code} | {} | {n} | {} |",
                kind.as_str(),
                cols.join(" | ")
            );
        }
    }

    let _ = writeln!(
        out,
        "\nScandinavian confusions (earshot; rows: expected, columns: answered):\n"
    );
    let cols = ["da", "no", "sv", "und", "other"];
    let _ = writeln!(out, "| set | n | {} |", cols.join(" | "));
    let _ = writeln!(out, "|---|---:|{}", "---:|".repeat(cols.len()));
    for (i, s) in sets.iter().enumerate() {
        if !matches!(s.expected, "da" | "no" | "sv") {
            continue;
        }
        let mut counts = [0usize; 5];
        for a in &systems[0].per_set[i] {
            let at = cols.iter().position(|c| c == a).unwrap_or(4);
            counts[at] += 1;
        }
        let cells: Vec<String> = counts.iter().map(|c| c.to_string()).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            s.name,
            s.texts.len(),
            cells.join(" | ")
        );
    }
    out
}

/// Short posts: each measured tweet of a served language cut to its first `words` words
/// (after URLs and @mentions are gone). A good detector is right or says `und`; being
/// wrong is what hurts.
pub fn short_posts(sets: &[EvalSet], words: &[usize]) -> String {
    let analyzer = Analyzer::default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nShort posts (tweets of served languages cut to their first words; earshot):\n"
    );
    let _ = writeln!(out, "| words | n | right | und | wrong |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|");
    for &k in words {
        let (mut n, mut r, mut und) = (0usize, 0usize, 0usize);
        for s in sets
            .iter()
            .filter(|s| s.kind == Kind::Tweets && s.expected != "und")
        {
            for t in &s.texts {
                let p = Prepared::new(t);
                if p.tokens.len() < k {
                    continue;
                }
                let cut: Vec<&str> = (0..k).map(|i| p.token_str(i)).collect();
                let code = analyzer
                    .analyze_text(&cut.join(" "), None, None)
                    .language
                    .language
                    .0;
                n += 1;
                if code == s.expected {
                    r += 1;
                } else if code == "und" {
                    und += 1;
                }
            }
        }
        let _ = writeln!(
            out,
            "| {k} | {n} | {} | {} | {} |",
            share(r, n),
            share(und, n),
            share(n - r - und, n)
        );
    }
    out
}
