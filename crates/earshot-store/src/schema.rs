//! The schema's history: every numbered migration, one list for both backends.

/// A numbered schema change, applied once and recorded in `schema_migrations`.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The migrations as `(version, name, file)`: each backend passes its own SQL folder
/// (`migrations/sqlite`, `migrations/postgres`), so a new migration is one line here and one
/// file in each folder.
macro_rules! migrations {
    ($dir:literal) => {
        $crate::schema::migrations!(@in $dir;
            (1, "initial", "0001_initial.sql"),
            (2, "last_customer_and_brand", "0002_last_customer_and_brand.sql"),
            (3, "reply_claims", "0003_reply_claims.sql"),
            (4, "post_amendments", "0004_post_amendments.sql"),
            (5, "people", "0005_people.sql"),
            (6, "feedback_loop", "0006_feedback_loop.sql"),
            (7, "surveys", "0007_surveys.sql"),
            (8, "triage_state", "0008_triage_state.sql"),
            (9, "settings", "0009_settings.sql"),
            (10, "ask_facts", "0010_ask_facts.sql"),
            (11, "exposure", "0011_exposure.sql"),
            (12, "awaiting_parent", "0012_awaiting_parent.sql"),
            (13, "corrections", "0013_corrections.sql"),
            (30, "page_claims", "0030_page_claims.sql"),
            (40, "request_counters", "0040_request_counters.sql"),
            (41, "spikes", "0041_spikes.sql"),
            (46, "last_brand_index", "0046_last_brand_index.sql"),
            (47, "rescore_due", "0047_rescore_due.sql"),
            (48, "alert_claims", "0048_alert_claims.sql"),
        )
    };
    (@in $dir:literal; $(($version:literal, $name:literal, $file:literal)),* $(,)?) => {
        &[$($crate::schema::Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $dir, "/", $file)),
        }),*]
    };
}
pub(crate) use migrations;
