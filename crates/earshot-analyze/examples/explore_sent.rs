use earshot_analyze::{eval, Analyzer};
use earshot_core::analysis::SentimentLabel;
fn idx(l: SentimentLabel) -> usize { match l { SentimentLabel::Negative=>0, SentimentLabel::Neutral=>1, SentimentLabel::Positive=>2 } }
fn main() {
    let d = std::path::Path::new("/work/shared/data");
    let a = Analyzer::default();
    let args: Vec<String> = std::env::args().collect();
    let show: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let only = args.get(2).cloned();
    let mut sets = vec![("tweeteval".to_string(), eval::tweeteval(d, "train").unwrap())];
    for (n, _) in eval::XLMT_LANGUAGES { sets.push((n.to_string(), eval::xlmt(d, n, "train").unwrap())); }
    for (name, set) in sets {
        if let Some(o) = &only { if o != &name { continue; } }
        let mut cm = [[0usize;3];3];
        let mut shown = 0;
        let mut g=vec![]; let mut p=vec![];
        for (t, l) in &set {
            let r = a.analyze_text(t, None, None);
            cm[idx(*l)][idx(r.sentiment.label)] += 1;
            g.push(idx(*l)); p.push(idx(r.sentiment.label));
            if shown < show && idx(*l) != idx(r.sentiment.label) && (idx(*l) as i32 - idx(r.sentiment.label) as i32).abs() >= 1 {
                shown += 1;
                println!("[{} -> {} {:.2}] {}  | {:?}", l, r.sentiment.label, r.sentiment.score, t, r.sentiment.evidence.iter().map(|e| format!("{}:{}", e.rule, e.text)).collect::<Vec<_>>());
            }
        }
        let m = eval::metrics(&g, &p, 3);
        println!("{name}: acc {:.3} f1 {:.3} rec {:.3} cm(gold rows neg/neu/pos) {:?}", m.accuracy, m.macro_f1, m.macro_recall, cm);
    }
}
