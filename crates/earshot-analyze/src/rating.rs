//! A review's star rating: the customer's own verdict. The App Store and Google Play
//! connectors write it as the post's first words (`★☆☆☆☆ 1/5 title`), so the inbox shows it;
//! here it becomes part of what earshot understood. One or two stars is a negative review whatever its words say
//! ("works fine, I guess" under one star is not neutral), so the sentiment is negative and says
//! why; four or five stars lift a neutral reading to positive. A negative reading of a four- or
//! five-star review is kept: the words name a problem the stars forgave.

use earshot_core::analysis::{Evidence, SentimentLabel};
use earshot_core::Analysis;

/// The rating a post's text opens with (`★★☆☆☆ 2/5`), if it does.
pub fn stars(text: &str) -> Option<u8> {
    let mut symbols = 0u8;
    let mut filled = 0u8;
    let mut rest = text;
    for ch in text.chars() {
        match ch {
            '★' => filled += 1,
            '☆' => {}
            _ => break,
        }
        symbols += 1;
        rest = &rest[ch.len_utf8()..];
    }
    if symbols != 5 {
        return None;
    }
    let said = rest.strip_prefix(' ')?.get(..3)?;
    let n = said.strip_suffix("/5")?.parse::<u8>().ok()?;
    (n == filled && (1..=5).contains(&n)).then_some(n)
}

/// Applies a review's rating to its analysis (see the module's comment).
pub fn apply(stars: u8, a: &mut Analysis) {
    let shown = format!("{stars}/5");
    match stars {
        1 | 2 if a.sentiment.label != SentimentLabel::Negative => {
            a.sentiment.label = SentimentLabel::Negative;
            a.sentiment.score = a.sentiment.score.min(-0.5);
        }
        4 | 5 if a.sentiment.label == SentimentLabel::Neutral => {
            a.sentiment.label = SentimentLabel::Positive;
            a.sentiment.score = a.sentiment.score.max(0.5);
        }
        _ => return,
    }
    a.sentiment
        .evidence
        .insert(0, Evidence::new("rating:stars", shown, 1.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rating_is_read_only_from_a_well_formed_opening() {
        assert_eq!(stars("★☆☆☆☆ 1/5 Won't start"), Some(1));
        assert_eq!(stars("★★★★★ 5/5"), Some(5));
        assert_eq!(stars("★★☆☆☆ 2/5\nbody"), Some(2));
        for not in [
            "",
            "1/5 terrible",
            "★☆☆☆ 1/5",  // four symbols
            "★★☆☆☆ 1/5", // stars and number disagree
            "☆☆☆☆☆ 0/5", // no such rating
            "★☆☆☆☆1/5",  // no space
            "great app ★★★★★ 5/5",
        ] {
            assert_eq!(stars(not), None, "{not:?}");
        }
    }

    #[test]
    fn one_or_two_stars_read_negative_and_say_why() {
        let mut a = Analysis::default();
        a.sentiment.label = SentimentLabel::Positive;
        a.sentiment.score = 0.4;
        apply(1, &mut a);
        assert_eq!(a.sentiment.label, SentimentLabel::Negative);
        assert!(a.sentiment.score <= -0.5);
        assert_eq!(a.sentiment.evidence[0].rule, "rating:stars");
        assert_eq!(a.sentiment.evidence[0].text, "1/5");
    }

    #[test]
    fn high_ratings_lift_only_a_neutral_reading_and_three_stars_change_nothing() {
        let mut neutral = Analysis::default();
        apply(5, &mut neutral);
        assert_eq!(neutral.sentiment.label, SentimentLabel::Positive);

        let mut negative = Analysis::default();
        negative.sentiment.label = SentimentLabel::Negative;
        negative.sentiment.score = -0.6;
        apply(4, &mut negative);
        assert_eq!(negative.sentiment.label, SentimentLabel::Negative);
        assert!(negative.sentiment.evidence.is_empty());

        let mut middling = Analysis::default();
        apply(3, &mut middling);
        assert_eq!(middling, Analysis::default());
    }

    #[test]
    fn the_analyzer_reads_the_rating_of_app_store_and_google_play_reviews_only() {
        use earshot_core::{Author, Network, NewPost};
        let review = |network: Network| NewPost {
            lang: Some("en".into()),
            ..NewPost::new(
                network,
                "00000050-3c1d",
                Author::new("kettlefan_dk", "kettlefan_dk"),
                "★☆☆☆☆ 1/5 Okay\nIt opens.",
                chrono::Utc::now(),
            )
        };
        let analyzer = crate::Analyzer::default();
        for network in [Network::AppStore, Network::GooglePlay] {
            let store = analyzer.analyze(&review(network));
            assert_eq!(store.sentiment.label, SentimentLabel::Negative, "{network}");
            assert!(
                store
                    .sentiment
                    .evidence
                    .iter()
                    .any(|e| e.rule == "rating:stars"),
                "{:?}",
                store.sentiment
            );
        }
        // The same words on another network carry no rating: nothing is read into them.
        let elsewhere = analyzer.analyze(&review(Network::Mastodon));
        assert!(
            !elsewhere
                .sentiment
                .evidence
                .iter()
                .any(|e| e.rule == "rating:stars"),
            "{:?}",
            elsewhere.sentiment
        );
    }
}
