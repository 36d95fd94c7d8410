//! What every HTTP handler holds, the API's and the pages' alike: the desk, the settings
//! the server started with, and the edge's policy.

use crate::config::Settings;
use crate::desk::Desk;
use crate::signature::Verifier;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub desk: Arc<Desk>,
    pub settings: Arc<Settings>,
    /// `None` when no webhook secret is configured: signed posts are then refused with a hint.
    pub verifier: Option<Verifier>,
    /// Health of each configured connector.
    pub connector_health: Arc<Vec<earshot_connect::source::Health>>,
    /// `[http]`: hosts served, proxies trusted, cookies, session idle time.
    pub http: Arc<crate::http_policy::HttpPolicy>,
    /// Cluster mode: the bus heard posts are published to (the intake answers once it took
    /// them). `None`: one process, posts are committed in the request.
    pub bus: Option<Arc<crate::bus::Bus>>,
    /// The roles (singleton work) this process may hold: `/readyz` and `/metrics` show them.
    pub leases: crate::lease::Leases,
    /// What this process counted, for `/metrics`.
    pub telemetry: Arc<crate::telemetry::Telemetry>,
}

impl AppState {
    /// The brand's first handle in force (an admin's edit from the Settings page, see
    /// `crate::overrides`, else earshot.toml's): who replies are sent as.
    pub fn brand_handle(&self) -> Option<String> {
        match self.desk.pipeline().in_force() {
            Some(f) => f.brand.handles.first().cloned(),
            None => self.settings.brand.handles.first().cloned(),
        }
    }

    /// The team's time zone in force (charts and metrics are drawn in it).
    pub fn timezone(&self) -> chrono_tz::Tz {
        match self.desk.pipeline().in_force() {
            Some(f) => f.response.timezone.parse().unwrap_or(chrono_tz::UTC),
            None => self.settings.timezone(),
        }
    }
}
