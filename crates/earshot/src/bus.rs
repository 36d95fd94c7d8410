//! `earshot bus`: the cluster bus seen from the command line (cluster mode, `[bus] url`).

use crate::cli::Global;
use anyhow::bail;
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum BusCommand {
    /// List the heard posts that failed too often (the dead letters), with why; --replay
    /// publishes them to the heard stream again.
    #[command(
        after_help = "Examples:\n  earshot bus dead-letters\n  earshot bus dead-letters --json\n  earshot bus dead-letters --replay\n\nA post fails too often when [bus] max_deliveries ingest attempts in a row failed (the store\nwas away, a bug). Fix the cause first, then --replay: each post goes back on the heard\nstream and its letter is removed. Replaying is safe: a post already stored is stored once.\nA letter that holds no post (something else was published to the stream) is kept."
    )]
    DeadLetters {
        /// Publish each dead letter's post to the heard stream again, then remove the letter.
        #[arg(long)]
        replay: bool,
        /// At most this many letters, oldest first.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(g: &Global, cmd: BusCommand) -> anyhow::Result<()> {
    let s = crate::cli::settings(g)?;
    if s.bus.url.trim().is_empty() {
        bail!("no [bus] url in the configuration: dead letters exist only in cluster mode (see the README's \"Run several processes\")");
    }
    let bus = earshot_server::bus::Bus::connect(&s.bus).await?;
    let BusCommand::DeadLetters {
        replay,
        limit,
        json,
    } = cmd;
    if replay {
        let done = bus.replay_dead_letters(limit).await?;
        if json {
            println!("{}", serde_json::to_string_pretty(&done)?);
            return Ok(());
        }
        for l in &done.replayed {
            println!(
                "replayed  #{:<8} {}",
                l.sequence,
                l.post.as_deref().unwrap_or("?")
            );
        }
        for (l, why) in &done.kept {
            println!("kept      #{:<8} {why}", l.sequence);
        }
        println!(
            "{} replayed to the heard stream, {} kept",
            done.replayed.len(),
            done.kept.len()
        );
        return Ok(());
    }
    let letters: Vec<_> = bus
        .dead_letter_posts(limit)
        .await?
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&letters)?);
        return Ok(());
    }
    if letters.is_empty() {
        println!("No dead letters: every heard post was stored.");
        return Ok(());
    }
    for l in &letters {
        println!(
            "#{:<8} {}  {:<28} tried {:>2}×  {}",
            l.sequence,
            l.at.format("%Y-%m-%d %H:%M:%S"),
            l.post.as_deref().unwrap_or("(not a post)"),
            l.deliveries.map_or("?".to_string(), |d| d.to_string()),
            l.reason
        );
    }
    println!(
        "{} dead letters. Fix the cause, then: earshot bus dead-letters --replay",
        letters.len()
    );
    Ok(())
}
