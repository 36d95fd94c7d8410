use earshot_analyze::Analyzer;
fn main() {
    let a = Analyzer::default();
    for line in std::io::stdin().lines().map_while(Result::ok) {
        let r = a.analyze_text(&line, None, None);
        println!("{line}\n  lang={} ({}, {:.2}) sent={} {:.2} intent={} {:.2} urg={} {:.2}", r.language.language.code(), r.language.source, r.language.confidence, r.sentiment.label, r.sentiment.score, r.intent.label, r.intent.confidence, r.urgency.level, r.urgency.score);
        for e in r.sentiment.evidence.iter().chain(&r.intent.evidence).chain(&r.urgency.evidence) { println!("    {} {:?} {:.2}", e.rule, e.text, e.weight); }
    }
}
