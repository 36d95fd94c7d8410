//! Jumping the queue (`[triage.jump]`): a post from a high-reach author, or one that belongs to
//! a spike going on now, goes to the front of the inbox and is assigned before the others.
//!
//! The decision is `earshot_core::triage::JumpRule::reason`; this module words it for the
//! inbox's "why it ranks" ("jump: 250k followers", "jump: spike 'flights roskilde'") and the
//! store keeps it with the conversation's priority signals, so rescoring and restarts keep it.

use earshot_core::triage::{Facts, JumpRule};

/// "250k followers", "1.2M followers", "950 followers".
fn followers(n: u64) -> String {
    if n >= 1_000_000 {
        format!("{:.1}M followers", n as f64 / 1e6)
    } else if n >= 1_000 {
        format!("{:.0}k followers", n as f64 / 1e3)
    } else {
        format!("{n} followers")
    }
}

/// Why this conversation jumps the queue, as the inbox shows it, or `None` when it does not.
/// `facts.spike` says whether its post belongs to an active spike labelled `spike_label`.
pub fn reason(rule: &JumpRule, facts: &Facts, spike_label: Option<&str>) -> Option<String> {
    rule.reason(facts)?;
    match (rule.followers_at_least, facts.followers) {
        (Some(min), Some(f)) if f >= min => Some(followers(f)),
        _ => Some(match spike_label.filter(|l| !l.trim().is_empty()) {
            Some(label) => format!("spike '{}'", label.trim()),
            None => "part of a spike".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_accounts_and_spikes_are_worded_for_the_inbox() {
        let rule = JumpRule::default();
        let vip = Facts {
            followers: Some(250_000),
            ..Facts::default()
        };
        assert_eq!(reason(&rule, &vip, None).as_deref(), Some("250k followers"));
        let star = Facts {
            followers: Some(1_250_000),
            spike: true,
            ..Facts::default()
        };
        assert_eq!(
            reason(&rule, &star, Some("festival")).as_deref(),
            Some("1.2M followers"),
            "reach is the first reason"
        );
        let fan = Facts {
            followers: Some(40),
            spike: true,
            ..Facts::default()
        };
        assert_eq!(
            reason(&rule, &fan, Some("flights roskilde")).as_deref(),
            Some("spike 'flights roskilde'")
        );
        assert_eq!(
            reason(&rule, &fan, None).as_deref(),
            Some("part of a spike")
        );
        let quiet = Facts {
            followers: Some(99_999),
            ..Facts::default()
        };
        assert_eq!(reason(&rule, &quiet, None), None);
        let off = JumpRule {
            followers_at_least: None,
            spike: false,
        };
        assert_eq!(reason(&off, &vip, None), None);
        assert_eq!(reason(&off, &fan, Some("x")), None);
    }
}
