//! The application as a value: `App::build(settings)`, `app.port()`, `app.run_until_stopped()`.

use crate::api::{self, AppState};
use crate::config::Settings;
use crate::desk::Desk;
use crate::pipeline::Pipeline;
use crate::signature::Verifier;
use anyhow::Context;
use earshot_analyze::Analyzer;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub struct App {
    listener: TcpListener,
    state: AppState,
    connectors: crate::connectors::Connectors,
    /// Turns true when the server stops: connectors and the bus's tasks end.
    stop: tokio::sync::watch::Sender<bool>,
    /// Cluster mode: the live-event fan-out, running from [`App::with_desk_on_bus`] on so no
    /// event of another process is missed once the app exists.
    bus_tasks: Vec<tokio::task::JoinHandle<()>>,
    leases: crate::lease::Leases,
}

/// Where `earshot train` writes its model and the analyzer looks for it.
pub use crate::retrain::model_path;

/// Builds the analyzer from the configured terms: the shipped model, or the team's adapted
/// one (`earshot train`) when it exists.
pub fn analyzer(settings: &Settings) -> anyhow::Result<Analyzer> {
    let analyzer = Analyzer::new(&settings.terms());
    let path = model_path(&settings.data_dir);
    if path.exists() {
        let model = earshot_analyze::Model::load(&path).with_context(|| {
            format!(
                "cannot load the trained model at {}: retrain with `earshot train` or delete it",
                path.display()
            )
        })?;
        tracing::info!(path = %path.display(), "using trained model");
        return Ok(analyzer.with_model(model));
    }
    Ok(analyzer)
}

/// The pipeline and desk over an opened store: what the server, the CLI and tests share.
/// Replies go out through the configured connectors.
pub async fn desk(settings: &Settings) -> anyhow::Result<Arc<Desk>> {
    desk_with(settings, crate::connectors::responders(settings)?).await
}

/// [`desk`] with the given responders (tests stand in for networks this way).
pub async fn desk_with(
    settings: &Settings,
    responders: crate::responder::Responders,
) -> anyhow::Result<Arc<Desk>> {
    let url = settings.db_url();
    // The store's error already names the (redacted) target and what went wrong.
    let store = settings.store.open(&url).await?;
    // Brand terms and response targets edited on the web Settings page win over the file.
    let mut effective = settings.clone();
    crate::overrides::apply_stored(&*store, &mut effective).await?;
    let settings = &effective;
    let policy = settings.triage_policy()?;
    let alerts = crate::alerts::Alerts::start(&settings.alerts)?;
    let feedback = crate::feedback::FeedbackLoop::new(store.clone())
        .with_team_language(settings.brand.team_language());
    let pipeline = Pipeline::new(
        Arc::new(analyzer(settings)?),
        settings.brand_identity(),
        policy,
        store,
    );
    let brand = settings
        .brand
        .handles
        .first()
        .cloned()
        .unwrap_or_else(|| "brand".into());
    let mut desk = Desk::build(pipeline, responders, brand)
        .feedback(feedback)
        .alerts(alerts)
        .surveys(crate::survey::Surveys::new(&settings.survey)?);
    if let Some(rules) = settings.triage()? {
        desk = desk.triage(crate::triage::TriageDesk::new(rules));
    }
    let desk = Arc::new(desk.finish());
    Ok(desk)
}

impl App {
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        let desk = desk(&settings).await?;
        Self::with_desk(settings, desk).await
    }

    pub async fn with_desk(settings: Settings, desk: Arc<Desk>) -> anyhow::Result<App> {
        // Cluster mode (PostgreSQL + [bus]): the work that must run once holds leases
        // (`lease.rs`), heard posts and live events go through the bus.
        match settings.mode()? {
            crate::cluster::Mode::Cluster => {
                let bus = crate::bus::Bus::connect(&settings.bus).await?;
                Self::with_desk_on_bus(settings, desk, Arc::new(bus)).await
            }
            _ => Self::assemble(settings, desk, None).await,
        }
    }

    /// [`App::with_desk`] as one process of a cluster: heard posts go through `bus` (the
    /// intake answers once it took them; this process's workers ingest from it) and live
    /// events reach every process; the work that must run once holds leases.
    pub async fn with_desk_on_bus(
        settings: Settings,
        desk: Arc<Desk>,
        bus: Arc<crate::bus::Bus>,
    ) -> anyhow::Result<App> {
        let mut app = Self::assemble(settings, desk, Some(bus.clone())).await?;
        let pipeline = app.state.desk.pipeline().clone();
        app.bus_tasks = bus.start_fan_out(pipeline, app.stop.subscribe()).await?;
        Ok(app)
    }

    async fn assemble(
        mut settings: Settings,
        desk: Arc<Desk>,
        bus: Option<Arc<crate::bus::Bus>>,
    ) -> anyhow::Result<App> {
        // Plain HTTP beyond loopback needs a TLS proxy in front or an explicit opt-in.
        settings.check_listen()?;
        settings.check_api_token()?;
        let http = Arc::new(settings.http_policy()?);
        // The stored web edits win over the file here too: the pages show what runs, and a
        // desk built elsewhere picks them up.
        let applied = crate::overrides::apply_stored(&**desk.store(), &mut settings).await?;
        if !applied.is_empty() {
            desk.pipeline()
                .reconfigure(&settings.brand, &settings.response)?;
            for a in &applied {
                tracing::info!(setting = %a.key, by = %a.updated_by, "using a setting stored from the web");
            }
        }
        let verifier = match Verifier::new(
            settings.webhook.secret.expose(),
            settings.webhook.tolerance_seconds,
        ) {
            Ok(v) => Some(v),
            Err(crate::signature::SignatureError::NoSecret) => {
                tracing::warn!(
                    "no webhook.secret configured: POST /api/v1/posts will refuse every request"
                );
                None
            }
            Err(e) => return Err(e).context("webhook.secret"),
        };
        let listener = TcpListener::bind(&settings.listen).await.with_context(|| {
            format!(
                "cannot listen on {}: is another earshot running? try --listen 127.0.0.1:0",
                settings.listen
            )
        })?;
        let connectors = crate::connectors::Connectors::build(&settings)?;
        let telemetry = crate::telemetry::Telemetry::start(desk.pipeline());
        let leases = crate::lease::Leases::for_store(&settings.db_url(), settings.store.options());
        Ok(App {
            listener,
            state: AppState {
                desk,
                settings: Arc::new(settings),
                verifier,
                connector_health: Arc::new(connectors.health()),
                http,
                bus,
                leases: leases.clone(),
                telemetry,
            },
            connectors,
            stop: tokio::sync::watch::channel(false).0,
            bus_tasks: vec![],
            leases,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn address(&self) -> String {
        self.listener
            .local_addr()
            .map(|a| format!("http://{a}"))
            .unwrap_or_else(|_| "http://?".into())
    }

    pub fn desk(&self) -> &Arc<Desk> {
        &self.state.desk
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let every = self.state.settings.housekeeping.every()?;
        let desk = self.state.desk.clone();
        let health = self.state.connector_health.clone();
        // The connectors' health first, then the desk's own ticks (see `Desk::ticks`).
        let mut ticks = vec![crate::housekeeping::Tick::new(
            "checking the connectors",
            move |now| {
                let (desk, health) = (desk.clone(), health.clone());
                async move {
                    desk.alerts().check_connectors(&health, now);
                    Ok::<(), std::convert::Infallible>(())
                }
            },
        )];
        // The desk's ticks run in one process at a time (see `crate::lease`).
        let leases = self.leases.clone();
        ticks.extend(self.state.desk.ticks().into_iter().map(|tick| {
            let lease = leases.role(&crate::housekeeping::Tick::role(tick.what()));
            tick.under(lease)
        }));
        let stop = self.stop;
        let stopped = stop.subscribe();
        // Processes sharing a store group asks under one lease; alone, grouping stays direct.
        let grouping = (!leases.in_process_only()).then(|| {
            crate::feedback::catch_up::spawn(
                self.state.desk.feedback().clone(),
                leases.role("grouping"),
                stopped.clone(),
            )
        });
        // ... and count spikes under one lease, reading what every process stored. Alone, the
        // spikes an earlier run left active are over: nobody follows them any more.
        if leases.in_process_only() {
            if let Err(e) = self.state.desk.feedback().end_spikes_left_active().await {
                tracing::warn!(error = %e, "cannot end the spikes an earlier run left active");
            }
        }
        let spikes = (!leases.in_process_only()).then(|| {
            crate::feedback::spikes::spawn(
                self.state.desk.feedback().clone(),
                self.state.desk.alerts().clone(),
                self.state.desk.pipeline().clone(),
                leases.role("spikes"),
                stopped.clone(),
            )
        });
        let pipeline = self.state.desk.pipeline().clone();
        let mut bus_tasks = self.bus_tasks;
        match &self.state.bus {
            Some(bus) => {
                bus_tasks.extend(bus.start_ingest(pipeline.clone(), stopped.clone()));
                let sink = crate::sink::PipelineSink::through(bus.clone(), pipeline);
                self.connectors
                    .start_into(Arc::new(sink), stopped.clone(), &leases);
            }
            None => self.connectors.start(pipeline, stopped.clone(), &leases),
        }
        // Every role is asked for: take what is free before the first pass.
        if let Err(e) = leases.keep().await {
            tracing::warn!(error = %e, "cannot take leases yet: singleton work waits");
        }
        let keeper = leases.spawn_keeper(stopped);
        let housekeeping = tokio::spawn(crate::housekeeping::run_every(ticks, every));
        let retraining = crate::retrain::spawn_schedule(
            self.state.desk.clone(),
            self.state.settings.data_dir.clone(),
            self.state.settings.analysis.retrain_from_corrections,
        );
        // Request spans name the path without secrets (the survey link's token, query values).
        let router = api::router(self.state).layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |request: &axum::http::Request<axum::body::Body>| {
                    tracing::debug_span!(
                        "request",
                        method = %request.method(),
                        path = %crate::http_policy::loggable_path(request.uri()),
                    )
                },
            ),
        );
        // Connection info gives the sign-in rate limit the client's address.
        let result = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(stop_requested())
        .await;
        let _ = stop.send(true);
        // The ingest workers finish the batch in hand (committed, then acknowledged).
        for task in bus_tasks {
            let _ = task.await;
        }
        housekeeping.abort();
        for task in [grouping, spikes].into_iter().flatten() {
            let _ = task.await;
        }
        // Hand the roles over now rather than when PostgreSQL notices this process is gone.
        if tokio::time::timeout(Duration::from_secs(5), keeper)
            .await
            .is_err()
        {
            tracing::warn!("leases not released within 5 s: they end with the connection");
        }
        if let Some(r) = retraining {
            r.abort();
        }
        result.context("server stopped")
    }
}

/// Ctrl-C, or SIGTERM (what systemd and `docker stop` send): the server then stops taking
/// requests, the ingest workers finish their batch and the leases are released at once.
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
