//! The replay's report as the terminal prints it: full tables for the first seed, then one
//! row per team setting and seed and the worst case over the seeds.

use super::sim::Order;
use super::{percentile, Class, Figures, Report, Shifts, TeamRun};
use std::fmt::Write as _;

fn pct(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{:.0}%", x * 100.0)
    }
}

fn mins(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else if x >= 120.0 {
        format!("{:.1} h", x / 60.0)
    } else {
        format!("{x:.0} min")
    }
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_nan() || b.is_nan() || b <= 0.0 {
        "–".into()
    } else {
        format!("{:.2}×", a / b)
    }
}

pub(super) fn get(f: &[(Class, Figures)], c: Class) -> Figures {
    f.iter()
        .find(|(k, _)| *k == c)
        .map(|(_, v)| *v)
        .unwrap_or_default()
}

fn row(out: &mut String, name: &str, f: &[(Class, Figures)]) {
    let u = get(f, Class::UrgentHarm);
    let c = get(f, Class::Complaint);
    let q = get(f, Class::RoutineQuestion);
    let a = get(f, Class::All);
    let _ = writeln!(
        out,
        "  {:<20} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8}",
        name,
        pct(u.within_30_min),
        pct(c.within_30_min),
        mins(c.p50_minutes),
        mins(c.p90_minutes),
        mins(q.p50_minutes),
        mins(q.p90_minutes),
        mins(a.p50_minutes),
        mins(a.p90_minutes),
    );
}

impl Report {
    /// The report as the terminal prints it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let h = &self.handling;
        let _ = writeln!(
            out,
            "handling time per reply: {} samples from the brands' signed agents (TWCS), p50 {:.1} min, p90 {:.1} min; {} {}",
            h.len(),
            percentile(h, 0.5) / 60.0,
            percentile(h, 0.9) / 60.0,
            if self.seeds.len() == 1 { "seed" } else { "seeds" },
            self.seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let first_seed = self.seeds.first().copied();
        for t in &self.timelines {
            let _ = writeln!(out);
            let span = match (t.first, t.last) {
                (Some(a), Some(b)) => {
                    format!("{} → {}", a.format("%Y-%m-%d"), b.format("%Y-%m-%d"))
                }
                _ => String::new(),
            };
            let sizes: Vec<String> = t
                .class_sizes
                .iter()
                .map(|(c, n)| format!("{} {n}", c.as_str()))
                .collect();
            let _ = writeln!(out, "== {} ({} customer posts, {span})", t.name, t.posts);
            let _ = writeln!(
                out,
                "   classes by earshot's reading, measured on {}: {}",
                self.part.as_str(),
                sizes.join(", ")
            );
            let header = format!(
                "  {:<20} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8}",
                "",
                "urg≤30m",
                "cmp≤30m",
                "cmp p50",
                "cmp p90",
                "rtQ p50",
                "rtQ p90",
                "all p50",
                "all p90"
            );
            let real = get(&t.real, Class::All);
            let _ = writeln!(
                out,
                "   real brands on the same posts ({} of {} answered in the data):",
                real.answered, real.posts
            );
            let _ = writeln!(out, "{header}");
            row(&mut out, "real brands", &t.real);
            for r in t.runs.iter().filter(|r| Some(r.seed) == first_seed) {
                let _ = writeln!(
                    out,
                    "   simulated team: {} agent(s), {}, seed {}",
                    r.agents,
                    r.shifts.describe(),
                    r.seed
                );
                let _ = writeln!(out, "{header}");
                for (order, f) in &r.figures {
                    row(&mut out, order.as_str(), f);
                }
                let e = r.order(Order::Earshot);
                let fifo = r.order(Order::Fifo);
                let urgent = get(e, Class::UrgentHarm);
                let gain = r.complaint_gain();
                let (eq, fq) = (
                    get(e, Class::RoutineQuestion),
                    get(fifo, Class::RoutineQuestion),
                );
                let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
                let _ = writeln!(
                    out,
                    "   goals: urgent/harm ≤30 min {} (≥ 90%: {}; {} of them written within 30 min of a shift); complaint p90 FIFO/earshot {:.2}× (≥ 2×: {})",
                    pct(urgent.within_30_min),
                    verdict(urgent.within_30_min >= 0.9),
                    pct(r.urgent_reachable),
                    gain,
                    verdict(gain >= 2.0),
                );
                let _ = writeln!(
                    out,
                    "          routine questions: p50 {} / p90 {} of FIFO's (≤ 2×: {}); per post, {} of {} wait > 2× their FIFO wait (10-min floor; worst {:.1}×; none: {})",
                    ratio(eq.p50_minutes, fq.p50_minutes),
                    ratio(eq.p90_minutes, fq.p90_minutes),
                    verdict(eq.p50_minutes <= 2.0 * fq.p50_minutes.max(10.0) && eq.p90_minutes <= 2.0 * fq.p90_minutes.max(10.0)),
                    r.starved(),
                    r.routine_questions,
                    r.worst_ratio,
                    verdict(r.starved() == 0),
                );
                starved_list(&mut out, r);
            }
            if self.seeds.len() > 1 {
                per_seed(&mut out, &t.runs);
            }
        }
        out
    }
}

/// The routine questions that waited too long (the three longest by ratio), each with why:
/// a question that joined a conversation already waiting is answered with it.
fn starved_list(out: &mut String, r: &TeamRun) {
    const SHOWN: usize = 3;
    for p in r.starved_posts.iter().take(SHOWN) {
        let mut text: String = p.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().count() > 70 {
            text = text.chars().take(69).collect::<String>() + "…";
        }
        let why = match p.joined {
            Some((since, complaint)) => format!(
                "; joined its conversation's {} waiting since {}",
                if complaint { "complaint" } else { "post" },
                since.format("%H:%M")
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "            {:.1}×  {}  waited {} (FIFO {}){why}  \"{text}\"",
            p.ratio,
            p.at.format("%Y-%m-%d %H:%M"),
            minutes(p.earshot_secs),
            minutes(p.fifo_secs),
        );
    }
    if r.starved_posts.len() > SHOWN {
        let _ = writeln!(
            out,
            "            … and {} more",
            r.starved_posts.len() - SHOWN
        );
    }
}

fn minutes(secs: i64) -> String {
    let m = secs.max(0) / 60;
    if m >= 60 {
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

impl TeamRun {
    /// Routine questions whose earshot wait exceeds twice their FIFO wait (10-minute floor).
    pub fn starved(&self) -> usize {
        self.starved_posts.len()
    }

    fn order(&self, o: Order) -> &[(Class, Figures)] {
        self.figures
            .iter()
            .find(|(k, _)| *k == o)
            .map(|(_, f)| f.as_slice())
            .unwrap_or(&[])
    }

    /// Share of urgent/harm posts earshot's order answered within 30 minutes.
    pub fn urgent_within_30(&self) -> f64 {
        get(self.order(Order::Earshot), Class::UrgentHarm).within_30_min
    }

    /// Complaint p90 under FIFO over complaint p90 under earshot's order (the goal: ≥ 2).
    pub fn complaint_gain(&self) -> f64 {
        get(self.order(Order::Fifo), Class::Complaint).p90_minutes
            / get(self.order(Order::Earshot), Class::Complaint).p90_minutes
    }
}

fn shifts_label(s: &Shifts) -> &'static str {
    match s {
        Shifts::Covered => "covered",
        Shifts::Weekdays { .. } => "weekdays",
    }
}

/// One row per team setting and seed, then the worst case over the seeds of each setting.
fn per_seed(out: &mut String, runs: &[TeamRun]) {
    let _ = writeln!(
        out,
        "   per seed (goals: urg≤30m ≥ 90%, complaint p90 FIFO/earshot ≥ 2×, no routine question > 2× its FIFO wait):"
    );
    let _ = writeln!(
        out,
        "  {:<10} {:>6} {:>6} {:>8} {:>9} {:>9} {:>7}",
        "shifts", "agents", "seed", "urg≤30m", "cmp gain", "starved", "worst"
    );
    let mut settings: Vec<(&'static str, usize)> = Vec::new();
    for r in runs {
        let key = (shifts_label(&r.shifts), r.agents);
        if !settings.contains(&key) {
            settings.push(key);
        }
    }
    for (shifts, agents) in settings {
        let of: Vec<&TeamRun> = runs
            .iter()
            .filter(|r| shifts_label(&r.shifts) == shifts && r.agents == agents)
            .collect();
        for r in &of {
            let _ = writeln!(
                out,
                "  {:<10} {:>6} {:>6} {:>8} {:>8.2}× {:>9} {:>6.1}×",
                shifts,
                agents,
                r.seed,
                pct(r.urgent_within_30()),
                r.complaint_gain(),
                format!("{}/{}", r.starved(), r.routine_questions),
                r.worst_ratio
            );
        }
        let urgent = of
            .iter()
            .map(|r| r.urgent_within_30())
            .fold(f64::INFINITY, f64::min);
        let gain = of
            .iter()
            .map(|r| r.complaint_gain())
            .fold(f64::INFINITY, f64::min);
        let starved = of.iter().map(|r| r.starved()).max().unwrap_or(0);
        let routine = of.first().map_or(0, |r| r.routine_questions);
        let worst = of.iter().map(|r| r.worst_ratio).fold(0.0, f64::max);
        let ok = urgent >= 0.9 && gain >= 2.0 && starved == 0;
        let _ = writeln!(
            out,
            "  {:<10} {:>6} {:>6} {:>8} {:>8.2}× {:>9} {:>6.1}×  worst case: {}",
            shifts,
            agents,
            "all",
            pct(urgent),
            gain,
            format!("{starved}/{routine}"),
            worst,
            if ok { "goals met" } else { "NOT met" }
        );
    }
}
