//! A realistic scenario for `earshot demo`: Voltra, an electric-car maker, hears its customers
//! over three weeks — a few thousand posts in ten languages, with the brand's answers at
//! human speed (slower at night) — and the stories earshot is built for among them:
//! the Friday-evening seat request (asked in English and Danish), the idle cars blocking
//! chargers, and a sudden surge of people asking for chargers on the way to a festival.
//!
//! Deterministic for a given seed and end time, so a demo can be reproduced.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use earshot_core::{Author, Network, NewPost};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

mod phrases;
mod triage;

use phrases::LANGS;
pub use triage::{triage, TRIAGE};

pub const BRAND_HANDLE: &str = "voltra";
pub const BRAND_NAMES: &[&str] = &["Voltra"];
pub const KEYWORDS: &[&str] = &["supercharger", "autopilot", "model v", "charger", "app"];
pub const TIMEZONE: &str = "Europe/Copenhagen";

/// The demo's posts, oldest first, ending at `end`.
pub fn scenario(seed: u64, end: DateTime<Utc>, customer_posts: usize) -> Vec<NewPost> {
    let tz: Tz = TIMEZONE.parse().unwrap_or(chrono_tz::UTC);
    let mut rng = StdRng::seed_from_u64(seed);
    let start = end - Duration::days(21);
    let mut posts = Vec::with_capacity(customer_posts * 2);
    let mut next_id: u64 = 1_700_000_000_000;
    let mut id = || {
        next_id += rng_step(next_id);
        next_id.to_string()
    };
    let total_weight: u32 = LANGS.iter().map(|l| l.weight).sum();

    for n in 0..customer_posts {
        let lang = {
            let mut pick = rng.gen_range(0..total_weight);
            LANGS
                .iter()
                .find(|l| {
                    if pick < l.weight {
                        true
                    } else {
                        pick -= l.weight;
                        false
                    }
                })
                .unwrap_or(&LANGS[0])
        };
        let at = daytime_biased(&mut rng, start, end, tz);
        let (kind, pool) = match rng.gen_range(0..100) {
            0..=29 => ("complaint", lang.complaint),
            30..=47 => ("feature", lang.feature),
            48..=72 => ("question", lang.question),
            73..=87 => ("praise", lang.praise),
            _ => ("other", lang.other),
        };
        let text = pool.choose(&mut rng).copied().unwrap_or("@voltra hello");
        let name = lang.names.choose(&mut rng).copied().unwrap_or("Customer");
        let followers = followers(&mut rng);
        let customer = author(name, n % 400, followers, rng.gen_bool(0.02));
        let post_id = id();
        posts.push(customer_post(
            network(&mut rng),
            &post_id,
            customer.clone(),
            text,
            at,
            None,
        ));

        // The brand answers most posts: quickly in covered hours, slowly overnight; the most
        // recent ones are still waiting in the inbox.
        let chance = match (kind, at < end - Duration::hours(36)) {
            ("other", _) => 0.3,
            (_, true) => 0.97,
            (_, false) => 0.8,
        };
        let answered = rng.gen_bool(chance) && at < end - Duration::hours(2);
        if answered {
            let delay = answer_delay(&mut rng, at, tz);
            let answer_at = at + delay;
            if answer_at < end {
                let answer = lang.answer.choose(&mut rng).copied().unwrap_or("Thanks!");
                let answer_text = format!("@{} {}", customer.handle, answer);
                let reply_id = id();
                let net = posts.last().map(|p| p.network).unwrap_or(Network::X);
                posts.push(brand_post(
                    net,
                    &reply_id,
                    &answer_text,
                    answer_at,
                    &post_id,
                ));
                // Some customers come back with a follow-up, reopening the conversation.
                if rng.gen_bool(0.15) {
                    let follow_at = answer_at + Duration::minutes(rng.gen_range(5..240));
                    if follow_at < end {
                        let follow = lang
                            .question
                            .choose(&mut rng)
                            .copied()
                            .unwrap_or("@voltra ok?");
                        posts.push(customer_post(
                            net,
                            &id(),
                            customer,
                            follow,
                            follow_at,
                            Some(&reply_id),
                        ));
                    }
                }
            }
        }
    }

    stories(&mut posts, end, tz, &mut rng, &mut id);
    posts.sort_by_key(|p| p.created_at);
    posts
}

fn rng_step(prev: u64) -> u64 {
    // Ids grow like snowflakes: unique and increasing, not sequential.
    1 + (prev % 7919)
}

fn network(rng: &mut StdRng) -> Network {
    match rng.gen_range(0..100) {
        0..=54 => Network::X,
        55..=74 => Network::Mastodon,
        75..=92 => Network::Bluesky,
        _ => Network::Reddit,
    }
}

fn followers(rng: &mut StdRng) -> u64 {
    // Heavy-tailed: most people have a few hundred followers, a few have hundreds of thousands.
    let x: f64 = rng.gen_range(0.0f64..1.0);
    (30.0 * (1.0 / (1.0 - x * 0.9999)).powf(1.6)) as u64
}

fn author(name: &str, variant: usize, followers: u64, verified: bool) -> Author {
    let base: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let handle = format!("{base}{}", variant % 37);
    Author {
        display_name: Some(name.to_string()),
        followers: Some(followers),
        verified,
        ..Author::new(format!("u-{handle}"), handle)
    }
}

fn brand_author() -> Author {
    Author {
        display_name: Some("Voltra Support".into()),
        followers: Some(412_000),
        verified: true,
        ..Author::new(format!("u-{BRAND_HANDLE}"), BRAND_HANDLE)
    }
}

fn customer_post(
    network: Network,
    id: &str,
    author: Author,
    text: &str,
    at: DateTime<Utc>,
    reply_to: Option<&str>,
) -> NewPost {
    NewPost {
        in_reply_to: reply_to.map(str::to_string),
        ..NewPost::new(network, id, author, text, at)
    }
}

fn brand_post(
    network: Network,
    id: &str,
    text: &str,
    at: DateTime<Utc>,
    reply_to: &str,
) -> NewPost {
    NewPost {
        in_reply_to: Some(reply_to.to_string()),
        ..NewPost::new(network, id, brand_author(), text, at)
    }
}

/// A time in `[start, end)`, three times likelier in the day and evening than at night.
fn daytime_biased(
    rng: &mut StdRng,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
) -> DateTime<Utc> {
    let span = (end - start).num_seconds().max(1);
    loop {
        let t = start + Duration::seconds(rng.gen_range(0..span));
        let hour = t.with_timezone(&tz).hour();
        let weight = if (8..23).contains(&hour) { 3 } else { 1 };
        if rng.gen_range(0..3) < weight {
            return t;
        }
    }
}

/// Team covers 08:00–23:00 every day: answers in minutes then, by morning otherwise.
fn answer_delay(rng: &mut StdRng, at: DateTime<Utc>, tz: Tz) -> Duration {
    let local = at.with_timezone(&tz);
    let base_minutes = (rng.gen_range(0.0f64..1.0).powf(2.2) * 120.0) as i64 + 3;
    if (8..23).contains(&local.hour()) {
        Duration::minutes(base_minutes)
    } else {
        let hours_to_8 = (24 + 8 - i64::from(local.hour())) % 24;
        Duration::hours(hours_to_8) + Duration::minutes(base_minutes)
    }
}

/// The last Friday before `end` (local time), at the given time.
fn last_weekday(
    end: DateTime<Utc>,
    tz: Tz,
    weekday: Weekday,
    h: u32,
    m: u32,
    weeks_back: i64,
) -> DateTime<Utc> {
    let mut d = end.with_timezone(&tz).date_naive() - Duration::days(1);
    while d.weekday() != weekday {
        d -= Duration::days(1);
    }
    d -= Duration::weeks(weeks_back);
    let local = d.and_hms_opt(h, m, 0).unwrap_or_default();
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(end)
}

fn stories(
    posts: &mut Vec<NewPost>,
    end: DateTime<Utc>,
    tz: Tz,
    rng: &mut StdRng,
    id: &mut impl FnMut() -> String,
) {
    // 1. The Friday-evening seat request, answered 24 minutes later; a Danish customer asks the same.
    let friday = last_weekday(end, tz, Weekday::Fri, 20, 47, 0);
    let paul = Author {
        display_name: Some("Paul Franks".into()),
        followers: Some(1520),
        ..Author::new("u-paulfranks", "paulfranks")
    };
    let ask = id();
    posts.push(customer_post(
        Network::X,
        &ask,
        paul,
        "@voltra Can you program the car, once in park, to move the seat back and raise the steering wheel?",
        friday,
        None,
    ));
    posts.push(brand_post(
        Network::X,
        &id(),
        "@paulfranks Good point, we will add that in an upcoming software release.",
        friday + Duration::minutes(24),
        &ask,
    ));
    let mette = Author {
        display_name: Some("Mette Jensen".into()),
        followers: Some(340),
        ..Author::new("did:plc:mettejensen7k2q", "mette.bsky.social")
    };
    posts.push(customer_post(
        Network::Bluesky,
        &format!("at://did:plc:mettejensen7k2q/app.bsky.feed.post/{}", id()),
        mette,
        "@voltra kan I ikke få sædet til at køre tilbage, når bilen står i park? Det ville gøre det meget nemmere at stige ud",
        friday + Duration::hours(26),
        None,
    ));

    // 2. Idle cars blocking chargers: a complaint, a promise, and the fix six days later.
    let monday = last_weekday(end, tz, Weekday::Mon, 9, 12, 1);
    let karl = Author {
        display_name: Some("Karl Holm".into()),
        followers: Some(48_200),
        ..Author::new("109876543210987654", "karl@mastodon.example")
    };
    let complaint = id();
    posts.push(customer_post(
        Network::Mastodon,
        &complaint,
        karl,
        "@voltra Superchargers at Køge are blocked by idle cars that finished charging hours ago. Drivers are waiting in line. Please do something about it!",
        monday,
        None,
    ));
    posts.push(brand_post(
        Network::Mastodon,
        &id(),
        "@karl@mastodon.example You're right, this is a real problem. We will take action on idle cars at busy stations.",
        monday + Duration::minutes(31),
        &complaint,
    ));
    posts.push(NewPost {
        in_reply_to: None,
        ..brand_post(
            Network::Mastodon,
            &id(),
            "From today, cars left at a busy Supercharger after charging pay an idle fee. Thanks for telling us.",
            monday + Duration::days(6),
            "",
        )
    });

    // 3. A surge: in half an hour, many people ask for chargers on the way to a festival.
    let surge = end - Duration::hours(2);
    let asks = [
        ("en", "@voltra any chance of extra chargers on the way to Roskilde Festival? Every station is queued"),
        ("en", "@voltra please add temporary chargers near Roskilde Festival, queue of 20 cars here"),
        ("da", "@voltra kan I ikke sætte flere ladere op ved Roskilde Festival? Der er kø overalt"),
        ("da", "@voltra vi holder i kø til laderen på vej til Roskilde Festival, kan I hjælpe?"),
        ("de", "@voltra könntet ihr mehr Ladesäulen auf dem Weg zum Roskilde Festival aufstellen?"),
    ];
    for i in 0..140 {
        let (lang, text) = asks[i % asks.len()];
        let name = LANGS
            .iter()
            .find(|l| l.code == lang)
            .and_then(|l| l.names.choose(rng).copied())
            .unwrap_or("Festival goer");
        let at = surge + Duration::seconds(rng.gen_range(0..1800));
        let who = author(name, 1000 + i, followers(rng), false);
        posts.push(customer_post(network(rng), &id(), who, text, at, None));
    }

    // 4. Harm first: in the last hour a 157k-follower account asks a routine question (it
    // jumps the queue within its band) and a customer reports phantom braking with their
    // children in the car. The safety report ranks above the big account.
    let big = Author {
        display_name: Some("Priya Shah".into()),
        followers: Some(157_000),
        verified: true,
        ..Author::new("u-priyashah", "priyashah")
    };
    posts.push(customer_post(
        Network::X,
        &id(),
        big,
        "@voltra is there a way to check my warranty status in the app?",
        end - Duration::minutes(50),
        None,
    ));
    let parent = Author {
        display_name: Some("James O'Brien".into()),
        followers: Some(276),
        ..Author::new("u-jamesobrien", "jamesobrien")
    };
    posts.push(customer_post(
        Network::X,
        &id(),
        parent,
        "@voltra phantom braking on the motorway again today, scared my kids. Please fix this, it's dangerous",
        end - Duration::minutes(20),
        None,
    ));
}

/// Surveys for the demo's resolved conversations, about two in three answered (mostly
/// happily, in the customers' own languages), so the dashboard's satisfaction panel has
/// figures. Sent through [`crate::survey::Surveys::offer`] like real ones. Returns how many
/// were answered.
pub async fn answer_surveys(
    desk: &crate::desk::Desk,
    seed: u64,
) -> Result<usize, crate::desk::DeskError> {
    use crate::survey::{token_hash, Outcome, SurveySettings, Surveys};
    use earshot_store::survey::SurveyAnswer;
    let settings = SurveySettings {
        enabled: true,
        public_url: "http://127.0.0.1:8080".into(),
        ..SurveySettings::default()
    };
    let Ok(Some(surveys)) = Surveys::new(&settings) else {
        return Ok(0);
    };
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_c5a7);
    let now = Utc::now();
    let resolved = desk
        .store()
        .conversations_to_survey(now - Duration::days(30), now + Duration::seconds(1), 2_000)
        .await?;
    let mut answered = 0;
    for (id, _) in resolved {
        let Outcome::Sent { token, .. } = surveys.offer(desk.outbox(), desk.pipeline(), id).await?
        else {
            continue;
        };
        if rng.gen_bool(0.35) {
            continue;
        }
        // Mostly 4s and 5s, as care teams that answer well see.
        let score = match rng.gen_range(0..100) {
            0..=5 => 1,
            6..=12 => 2,
            13..=25 => 3,
            26..=55 => 4,
            _ => 5,
        };
        let yes_in_100 = match score {
            4 | 5 => 92,
            3 => 60,
            _ => 25,
        };
        let buy_again = match rng.gen_range(0..100) {
            0..=14 => None,
            p => Some(p < yes_in_100),
        };
        let answer = SurveyAnswer::new(score, buy_again, None)
            .map_err(|e| earshot_store::StoreError::Invalid(e.to_string()))?;
        desk.store()
            .answer_survey(&token_hash(&token), &answer, now)
            .await?;
        answered += 1;
    }
    Ok(answered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_is_varied_and_holds_the_stories() {
        let end = Utc::now();
        let posts = scenario(7, end, 1500);
        assert!(posts.len() > 2000, "{} posts", posts.len());
        assert!(posts.windows(2).all(|w| w[0].created_at <= w[1].created_at));
        assert!(posts
            .iter()
            .all(|p| p.created_at <= end && p.created_at >= end - Duration::days(22)));
        let texts: Vec<&str> = posts.iter().map(|p| p.text.as_str()).collect();
        assert!(texts.iter().any(|t| t.contains("move the seat back")));
        assert!(texts.iter().any(|t| t.contains("sædet")));
        assert!(texts.iter().filter(|t| t.contains("Roskilde")).count() >= 100);
        assert!(posts
            .iter()
            .any(|p| p.author.followers == Some(157_000) && p.text.contains("warranty status")));
        let brand = posts
            .iter()
            .filter(|p| p.author.handle == BRAND_HANDLE)
            .count();
        assert!(brand > 800, "{brand} brand answers");
        let mut keys: Vec<_> = posts.iter().map(|p| p.key()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), posts.len(), "ids are unique");
        // Same seed, same scenario.
        assert_eq!(scenario(7, end, 1500), posts);
    }
}
