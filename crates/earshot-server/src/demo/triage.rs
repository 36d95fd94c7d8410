//! The demo's `[triage]` section and its test.

/// The demo's `[triage]`: Voltra's care team in Copenhagen, 08–23 every day, with a
/// one-hour calendar target for big accounts, business-hours targets for complaints, VIP and
/// product labels, and Maria (the demo agent) taking new conversations up to her capacity.
/// Used by `earshot demo` when the configuration has no `[triage]` of its own, so each
/// conversation page shows which policy applies and why.
pub const TRIAGE: &str = r#"
[hours.care]
timezone = "Europe/Copenhagen"
week = { "mon-sun" = "08:00-23:00" }
holidays = ["2026-12-24", "2026-12-25"]

[[policies]]
name = "big accounts"
when = { followers_at_least = 100000 }
first_response = { within = "1h" }
resolution = { within = "8h", hours = "care" }

[[policies]]
name = "complaints"
when = { intent = ["complaint"] }
first_response = { within = "2h", hours = "care" }
resolution = { within = "24h", hours = "care" }

[[policies]]
name = "questions and requests"
when = { intent = ["question", "feature_request"] }
first_response = { within = "4h", hours = "care" }

[[routes]]
name = "big accounts"
when = { followers_at_least = 100000 }
labels = ["vip"]
bump = 1
continue = true

[[routes]]
name = "product asks"
when = { intent = ["feature_request"] }
labels = ["product"]
continue = true

[[routes]]
name = "everything"
team = "care"

[teams.care]
strategy = "least_loaded"
hours = "care"
agents = [{ name = "maria", capacity = 12 }]
"#;

/// [`TRIAGE`], parsed.
pub fn triage() -> Result<earshot_core::triage::TriageConfig, toml::de::Error> {
    toml::from_str(TRIAGE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::demo::TIMEZONE;

    #[test]
    fn the_demo_triage_parses_and_compiles() {
        let mut s = Settings::default();
        s.response.timezone = TIMEZONE.into();
        s.triage = Some(triage().unwrap());
        let rules = s.triage().unwrap().unwrap();
        assert_eq!(rules.routes.len(), 3);
        assert!(rules.teams.contains_key("care"));
    }
}
