//! `GET /api/v1/metrics/satisfaction`: CSAT (share of 4–5 scores), mean score and the
//! would-buy-again share of the surveys sent in a range, split by agent, request, network or
//! language; JSON or CSV.

use super::{ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use earshot_core::csv::quoted as csv_field;
use earshot_store::survey::{Satisfaction, SatisfactionGroup};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SatisfactionParams {
    /// RFC 3339 time or YYYY-MM-DD; default 30 days before `to`.
    from: Option<String>,
    /// RFC 3339 time or YYYY-MM-DD; default now.
    to: Option<String>,
    /// agent, request, network or language; default: one `all` row.
    by: Option<String>,
    /// json (default) or csv.
    format: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SatisfactionReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<SatisfactionGroup>,
    pub total: Satisfaction,
    pub groups: Vec<Satisfaction>,
}

fn time(field: &str, v: &str) -> Result<DateTime<Utc>, ApiError> {
    crate::metrics::parse_bound(v).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{field}: {v:?} is not a date (2026-11-01) or RFC 3339 time"
        ))
    })
}

/// The range a metrics request names: `to` defaults to now, `from` to 30 days before it.
pub(crate) fn range(
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let to = to.map(|v| time("to", v)).transpose()?.unwrap_or(now);
    let from = from
        .map(|v| time("from", v))
        .transpose()?
        .or_else(|| to.checked_sub_signed(Duration::days(30)))
        .ok_or_else(|| ApiError::bad_request("to is too early: give from as well"))?;
    if from >= to {
        return Err(ApiError::bad_request("from must be before to"));
    }
    Ok((from, to))
}

fn share(v: Option<f64>) -> String {
    v.map(|s| format!("{s:.4}")).unwrap_or_default()
}

impl SatisfactionReport {
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "key,label,sent,answered,score_1,score_2,score_3,score_4,score_5,csat,mean_score,buy_again_yes,buy_again_no,buy_again_share,response_rate\n",
        );
        let rows = if self.by.is_some() {
            &self.groups[..]
        } else {
            std::slice::from_ref(&self.total)
        };
        for s in rows {
            let mut fields = vec![
                csv_field(&s.key),
                csv_field(s.label.as_deref().unwrap_or("")),
                s.sent.to_string(),
                s.answered.to_string(),
            ];
            fields.extend(s.scores.iter().map(u64::to_string));
            fields.extend([
                share(s.csat),
                s.mean_score.map(|m| format!("{m:.2}")).unwrap_or_default(),
                s.buy_again_yes.to_string(),
                s.buy_again_no.to_string(),
                share(s.buy_again_share),
                share(s.response_rate),
            ]);
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }
}

/// The satisfaction of everything and of each group, for the API and the dashboard.
pub async fn report(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    by: Option<SatisfactionGroup>,
) -> Result<SatisfactionReport, earshot_store::StoreError> {
    let store = state.desk.store();
    let total = crate::metrics::satisfaction_total(store.as_ref(), from, to).await?;
    let groups = match by {
        Some(g) => store.satisfaction(from, to, Some(g)).await?,
        None => vec![],
    };
    Ok(SatisfactionReport {
        from,
        to,
        by,
        total,
        groups,
    })
}

/// `GET /api/v1/metrics/satisfaction`.
pub async fn satisfaction(
    State(state): State<AppState>,
    params: Result<Query<SatisfactionParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params?;
    let (from, to) = range(p.from.as_deref(), p.to.as_deref(), Utc::now())?;
    let by = match p.by.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(w) => Some(SatisfactionGroup::parse(w).ok_or_else(|| {
            ApiError::bad_request(format!(
                "by: {w:?}: use agent, request, network or language"
            ))
        })?),
    };
    let report = report(&state, from, to, by).await?;
    json_or_csv(p.format.as_deref(), &report, || report.to_csv())
}

/// A report as `format` asks: JSON (the default) or CSV (`csv` makes it).
pub(super) fn json_or_csv(
    format: Option<&str>,
    report: &impl Serialize,
    csv: impl FnOnce() -> String,
) -> Result<Response, ApiError> {
    match format.unwrap_or("json") {
        "json" => Ok(Json(report).into_response()),
        "csv" => Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv()).into_response()),
        other => Err(ApiError::bad_request(format!(
            "format: {other:?}: use json or csv"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_peoples_words_and_defuses_formulas() {
        let mut s = Satisfaction::empty("=cmd()");
        s.label = Some("Seat \"back\"".into());
        s.sent = 2;
        s.scores = [0, 0, 0, 1, 0];
        s.answered = 1;
        s.csat = Some(1.0);
        s.mean_score = Some(4.0);
        let r = SatisfactionReport {
            from: Utc::now(),
            to: Utc::now(),
            by: Some(SatisfactionGroup::Agent),
            total: Satisfaction::empty("all"),
            groups: vec![s],
        };
        let csv = r.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2, "{csv}");
        assert_eq!(
            lines[1],
            "\"'=cmd()\",\"Seat \"\"back\"\"\",2,1,0,0,0,1,0,1.0000,4.00,0,0,,"
        );
        assert_eq!(lines[0].split(',').count(), 15);
        assert_eq!(lines[1].matches(',').count(), 14, "{csv}");
    }
}
