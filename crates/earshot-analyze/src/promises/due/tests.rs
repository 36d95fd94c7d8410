use super::*;
use crate::promises::lists::ALL_LANGS;
use crate::promises::words::Doc;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn hint(text: &str, lang: Option<Lang>) -> Option<DueHint> {
    let doc = Doc::new(text, &|_, _| false);
    let langs = lang.map_or(ALL_LANGS, |l| l.bit() | Lang::En.bit());
    // A Wednesday.
    find(&doc.words, 0, doc.words.len(), langs, day("2024-03-13")).map(|h| h.0)
}

#[test]
fn relative_spans_in_several_languages() {
    assert_eq!(
        hint("we'll fix this next week", Some(Lang::En)),
        Some(DueHint::Within(7))
    );
    assert_eq!(
        hint("vi retter det i næste uge", Some(Lang::Da)),
        Some(DueHint::Within(7))
    );
    assert_eq!(
        hint("lo sistemeremo la prossima settimana", Some(Lang::It)),
        Some(DueHint::Within(7))
    );
    assert_eq!(
        hint("should be live in a few days", Some(Lang::En)),
        Some(DueHint::Within(3))
    );
    assert_eq!(
        hint("within 2 weeks", Some(Lang::En)),
        Some(DueHint::Within(14))
    );
    assert_eq!(
        hint("om et par dage", Some(Lang::Da)),
        Some(DueHint::Within(2))
    );
    assert_eq!(
        hint("entro 10 giorni", Some(Lang::It)),
        Some(DueHint::Within(10))
    );
    assert_eq!(
        hint("in den nächsten Tagen", Some(Lang::De)),
        Some(DueHint::Within(3))
    );
    assert_eq!(
        hint("en unos días", Some(Lang::Es)),
        Some(DueHint::Within(3))
    );
    assert_eq!(hint("tomorrow", Some(Lang::En)), Some(DueHint::Within(1)));
    assert_eq!(
        hint("in 48 hours", Some(Lang::En)),
        Some(DueHint::Within(2))
    );
    // Wednesday → Sunday is four days.
    assert_eq!(
        hint("by the end of the week", Some(Lang::En)),
        Some(DueHint::Within(4))
    );
    assert_eq!(
        hint("end of the month", Some(Lang::En)),
        Some(DueHint::Date(day("2024-03-31")))
    );
    assert_eq!(
        hint("an Uninstaller app by this weekend", Some(Lang::En)),
        Some(DueHint::Within(4))
    );
    assert_eq!(
        hint("Guten Morgen!", Some(Lang::De)),
        None,
        "a greeting is not tomorrow"
    );
}

#[test]
fn absolute_dates_infer_the_year() {
    assert_eq!(
        hint("by March 3", Some(Lang::En)),
        Some(DueHint::Date(day("2025-03-03")))
    );
    assert_eq!(
        hint("by March 30th", Some(Lang::En)),
        Some(DueHint::Date(day("2024-03-30")))
    );
    assert_eq!(
        hint("le 15/4", Some(Lang::Fr)),
        Some(DueHint::Date(day("2024-04-15")))
    );
    assert_eq!(
        hint("by 15/4", Some(Lang::En)),
        Some(DueHint::Date(day("2024-04-15")))
    );
    assert_eq!(
        hint("by 4/5", Some(Lang::En)),
        Some(DueHint::Date(day("2024-04-05"))),
        "US order"
    );
    assert_eq!(
        hint("bis 15.4.", Some(Lang::De)),
        Some(DueHint::Date(day("2024-04-15")))
    );
    assert_eq!(
        hint("den 3. april", Some(Lang::Da)),
        Some(DueHint::Date(day("2024-04-03")))
    );
    assert_eq!(
        hint("el 15 de abril", Some(Lang::Es)),
        Some(DueHint::Date(day("2024-04-15")))
    );
    assert_eq!(
        hint("on 2024-06-01", Some(Lang::En)),
        Some(DueHint::Date(day("2024-06-01")))
    );
    assert_eq!(
        hint("by Friday", Some(Lang::En)),
        Some(DueHint::Date(day("2024-03-15")))
    );
}

#[test]
fn releases_with_and_without_versions() {
    assert_eq!(
        hint("in version 2.4", Some(Lang::En)),
        Some(DueHint::Release(Some("2.4".into())))
    );
    assert_eq!(
        hint("coming in v3.1", Some(Lang::En)),
        Some(DueHint::Release(Some("3.1".into())))
    );
    assert_eq!(
        hint("in the next release", Some(Lang::En)),
        Some(DueHint::Release(None))
    );
    assert_eq!(
        hint("an upcoming update", Some(Lang::En)),
        Some(DueHint::Release(None))
    );
    assert_eq!(
        hint("det kommer i næste opdatering", Some(Lang::Da)),
        Some(DueHint::Release(None))
    );
    assert_eq!(
        hint("nel prossimo aggiornamento", Some(Lang::It)),
        Some(DueHint::Release(None))
    );
    assert_eq!(
        hint("dans la prochaine mise à jour", Some(Lang::Fr)),
        Some(DueHint::Release(None))
    );
    assert_eq!(
        hint("im nächsten Update", Some(Lang::De)),
        Some(DueHint::Release(None))
    );
    assert_eq!(hint("thanks for the update", Some(Lang::En)), None);
    assert_eq!(
        DueHint::Within(6).due_on(day("2017-08-19")),
        Some(day("2017-08-25"))
    );
    assert_eq!(
        DueHint::Release(Some("9.0".into())).target_release(),
        Some("9.0")
    );
}
