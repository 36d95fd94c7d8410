//! Writes `tests/pinned/analyses.jsonl`: real posts in every served language (and Arabic,
//! Hindi and hand-written edge cases), each with what the default analyzer (the shipped
//! model) and the rules alone make of it. `tests/pinned.rs` replays them and fails on any
//! change, so a speed-up can prove that it changed no prediction, evidence line or float.
//!
//! Regenerate only when a change of findings is intended (and say so in the commit):
//! `cargo run --release -p earshot-analyze --example pin -- ../shared/data > crates/earshot-analyze/tests/pinned/analyses.jsonl`

#[path = "../tests/pinned/common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Every `every`-th text of column `col` of a CSV file (`header`: whether it has one).
fn csv_texts(path: &Path, col: usize, header: bool, every: usize) -> Result<Vec<String>, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(header)
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        if i.is_multiple_of(every) {
            if let Some(t) = rec.get(col) {
                out.push(t.to_string());
            }
        }
    }
    Ok(out)
}

/// Every `every`-th line of a text file.
fn lines(path: &Path, every: usize) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .enumerate()
        .filter(|(i, _)| i.is_multiple_of(every))
        .map(|(_, l)| l.to_string())
        .collect())
}

/// Posts no data set has: safety reports, chases, shouting, escapes, declared languages,
/// a post past the analysed length.
fn hand_written() -> Vec<(String, Option<&'static str>)> {
    let mut v: Vec<(String, Option<&'static str>)> = [
        "My car braked by itself on the highway and we were nearly hit, this is dangerous!!",
        "The charger started smoking and melted, my kids were right next to it",
        "Someone hacked my account and made fraudulent charges, please help ASAP",
        "no one was hurt, but the battery caught fire in the garage",
        "if the brakes fail again I will sue",
        "this deal is fire 🔥 killing it",
        "hello??",
        "any update?",
        "still waiting...",
        "TERRIBLE SERVICE!!! WHY IS NOBODY ANSWERING???",
        "sooo goooood 😍 :-) !!",
        "don\\u2019t \\ud83d\\ude02 AT&amp;T &lt;3",
        "@AmazonHelp @sprintcare my refund never arrived https://t.co/xyz #fail",
        "Ørsted, ØRSTED and ørsted: the app is down",
        "ok 👍",
        "@user https://t.co/abc",
        "",
        "   ",
        "Det er virkelig irriterende at sædet ikke flytter sig",
        "Kan I tilføje en mulighed for at flytte sædet?",
        "Appen funker ikke lenger, dette er helt elendig",
        "Kunnen jullie een donkere modus toevoegen? Dat zou handig zijn",
        "De app werkt niet meer, echt belachelijk",
        "Bedankt voor de snelle hulp, top service!",
        "Mijn pakket is nog steeds niet aangekomen en niemand reageert",
        "Waarom duurt het zo lang voordat ik mijn geld terugkrijg?",
        "Ik ben zeer tevreden over de bezorging, heel erg bedankt",
        "Mijn account is gehackt en er zijn betalingen gedaan die ik niet heb gedaan",
        "Heel slechte klantenservice, nooit meer",
        "Goedemorgen, kan iemand mij helpen met mijn bestelling?",
        "¿Podrían agregar la opción de pagar con PayPal? Sería genial",
        "O app não funciona desde ontem, péssimo atendimento",
        "شكرا جزيلا على المساعدة",
        "ありがとう、助かりました",
        "Это ужасный сервис",
        "this is not good at all, great though",
        "Not bad, really good actually",
    ]
    .iter()
    .map(|t| (t.to_string(), None))
    .collect();
    for (t, l) in [
        ("ok", "nb-NO"),
        ("ありがとう", "ja"),
        ("Thanks for nothing", "en"),
        ("Merci beaucoup", "fr-CA"),
        ("great", "und"),
    ] {
        v.push((t.to_string(), Some(l)));
    }
    v.push((
        "this is bad and not good at all, my car caught fire. ".repeat(400),
        None,
    ));
    v.push(("é".repeat(9000), None));
    v
}

fn gather(data: &Path) -> Result<Vec<(String, Option<&'static str>)>, String> {
    let mut texts: Vec<String> = Vec::new();
    texts.extend(csv_texts(
        &data.join("twcs-sample-head/dev.csv"),
        4,
        true,
        14,
    )?);
    texts.extend(lines(&data.join("tweeteval-sentiment/val_text.txt"), 20)?);
    for lang in [
        "arabic",
        "english",
        "french",
        "german",
        "hindi",
        "italian",
        "portuguese",
        "spanish",
    ] {
        texts.extend(lines(
            &data.join(format!("xlmt-sentiment/{lang}/val_text.txt")),
            8,
        )?);
    }
    for lang in ["german", "portuguese", "spanish", "swedish"] {
        texts.extend(csv_texts(
            &data.join(format!("mozetic-twitter-sentiment/{lang}_train.csv")),
            2,
            true,
            400,
        )?);
    }
    texts.extend(csv_texts(&data.join("astd-arabic/val.csv"), 1, true, 40)?);
    texts.extend(csv_texts(
        &data.join("norec-sentence/val.csv"),
        1,
        true,
        30,
    )?);
    texts.extend(csv_texts(
        &data.join("swe-sentiment-emoji/train.csv"),
        0,
        true,
        25,
    )?);
    texts.extend(csv_texts(
        &data.join("lcc-danish-sentiment/train.csv"),
        2,
        true,
        5,
    )?);
    texts.extend(csv_texts(
        &data.join("clap-app-reviews/dev.csv"),
        6,
        true,
        20,
    )?);
    texts.extend(csv_texts(
        &data.join("complaints-twitter/dev.csv"),
        1,
        false,
        20,
    )?);
    texts.extend(csv_texts(
        &data.join("airline-tweets/dev.csv"),
        4,
        true,
        60,
    )?);
    let mut out: Vec<(String, Option<&'static str>)> =
        texts.into_iter().map(|t| (t, None)).collect();
    out.extend(hand_written());
    Ok(out)
}

fn main() -> ExitCode {
    let data = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let texts = match gather(&data) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("pin: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (model, rules) = common::analyzers();
    for (i, (text, lang)) in texts.iter().enumerate() {
        let post = common::post(i, text, *lang);
        let m = model.analyze(&post);
        let r = rules.analyze(&post);
        let line = serde_json::json!({
            "text": text,
            "lang": lang,
            "followers": post.author.followers,
            "verified": post.author.verified,
            "model": common::summary(&m),
            "model_digest": common::digest(&m),
            "rules": common::summary(&r),
            "rules_digest": common::digest(&r),
        });
        println!("{line}");
    }
    eprintln!("pin: {} posts", texts.len());
    ExitCode::SUCCESS
}
