//! `earshot bench triage`: the triage replay on real timelines (`earshot_lab::triage_replay`),
//! with the ranking and targets of a config (`--config`) and several seeds (`--seeds`).

use crate::cli::Global;
use anyhow::{bail, Context};
use clap::Args;
use earshot_lab::triage_replay::{run, Part, ReplayConfig, Shifts};
use earshot_server::config::Settings;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct TriageArgs {
    /// The shared data folder (twcs-sample-head, twcs-sample-random, ibm-care-conversations).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// Team sizes to simulate, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "2,4,8")]
    agents: Vec<usize>,
    /// `covered` (around the clock), `weekdays` (nights and weekends uncovered) or `both`.
    #[arg(long, default_value = "both")]
    shifts: String,
    /// The weekday shift of `weekdays`.
    #[arg(long, default_value = "08:00-20:00")]
    hours: String,
    /// The time zone of the weekday shift.
    #[arg(long, default_value = "America/New_York")]
    timezone: String,
    /// Seeds of the handling-time draws (the same draws for every order), comma-separated:
    /// every team setting runs once per seed, and the report gives each and the worst case.
    #[arg(long, value_delimiter = ',', default_value = "7", alias = "seed")]
    seeds: Vec<u64>,
    /// Whose waits are measured: `all`, or one half of the conversations (`tuning`,
    /// `evaluation`, split by a stable hash), to tune settings on one half and report on the
    /// other. Every post is replayed either way.
    #[arg(long, default_value = "all")]
    part: String,
}

/// Runs the replay. With `--config FILE` the ranking (`[response.ranking]`) and the
/// response targets (`[response.targets]`) come from that file, checked as `earshot config
/// check` checks them; without it, the defaults (an `earshot.toml` in the folder is not read,
/// so the figures do not change with the folder the bench runs in).
pub fn triage(g: &Global, a: TriageArgs) -> anyhow::Result<()> {
    let weekdays = Shifts::Weekdays {
        hours: a.hours,
        timezone: a.timezone,
    };
    let shifts = match a.shifts.as_str() {
        "covered" => vec![Shifts::Covered],
        "weekdays" => vec![weekdays],
        "both" => vec![Shifts::Covered, weekdays],
        other => bail!("--shifts {other:?}: use covered, weekdays or both"),
    };
    if a.agents.is_empty() || a.agents.contains(&0) {
        bail!("--agents needs team sizes of at least 1, e.g. --agents 2,4,8");
    }
    if a.seeds.is_empty() {
        bail!("--seeds needs at least one seed, e.g. --seeds 1,2,3");
    }
    let part = match a.part.as_str() {
        "all" => Part::All,
        "tuning" => Part::Tuning,
        "evaluation" => Part::Evaluation,
        other => bail!("--part {other:?}: use all, tuning or evaluation"),
    };
    let mut cfg = ReplayConfig::new(a.data, a.agents, shifts, a.seeds);
    cfg.part = part;
    let source = match &g.config {
        Some(path) => {
            let s = Settings::load(Some(path))
                .with_context(|| format!("reading the ranking from {}", path.display()))?;
            let policy = s.triage_policy()?;
            cfg.ranking = policy.ranking;
            cfg.targets = policy.targets;
            format!("ranking and targets from {}", path.display())
        }
        None => "default ranking and targets (pass --config FILE to use a config's)".into(),
    };
    let r = &cfg.ranking;
    let report = run(&cfg, &mut |line| eprintln!("  {line}"))?;
    println!("triage replay on real timelines (`earshot bench triage`)");
    println!(
        "{source}: moves up a band at {} of its target, waiting counts up to {}× target",
        r.escalate_after_targets, r.waiting_stops_at_targets
    );
    print!("{}", report.render());
    Ok(())
}
